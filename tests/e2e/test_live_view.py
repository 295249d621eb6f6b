"""The live view as a person sees it: `kyeol deploy --env dev` in a real pseudo-terminal of
160×50 and of 80×10, its output fed to a terminal emulator (pyte), the screen captured many
times during the deploy and once at the end.

What must hold on every captured screen: at most one table header (no stale half-tables left
behind by redraws), no step row twice, the table no taller than half the terminal, and the
log lines above it (not erased by it). The final screen shows the summary. On the large
terminal a Terraform step's "waiting for" names the resource Terraform is creating (from
``terraform apply -json``).
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import termios
import time
from pathlib import Path

import pytest

from tests.e2e.world import STEP_IDS, World

pyte = pytest.importorskip("pyte", reason="pyte (a test dependency in pyproject.toml) emulates the terminal")

pytestmark = pytest.mark.slow

HEADER = re.compile(r"^\s*ph\s+step\s+status\s+elapsed")
LOG_LINE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")  # the console log's timestamp
ROW = re.compile(r"^\s*\d+\s+(\S+)\s+(pending|running|done|failed|retrying|interrupted|planned)\b")


def run_in_terminal(world: World, columns: int, lines: int, **env: str) -> tuple[int, list[list[str]], list[str]]:
    """kyeol deploy at a terminal of ``columns``×``lines``: (exit code, screens during, final screen)."""
    argv = world.argv("deploy", "--env", "dev")
    argv[argv.index("--log-format") + 1] = "auto"  # a terminal: console logs and the live view
    environ = world.env(CI=None, TERM="xterm-256color", COLUMNS=None, LINES=None, NO_COLOR=None, **env)
    pid, fd = pty.fork()
    if pid == 0:  # the child: set the terminal's size, then become kyeol
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
        os.chdir(world.tmp)
        os.execve(argv[0], argv, environ)
    screen = pyte.Screen(columns, lines)
    stream = pyte.ByteStream(screen)
    screens: list[list[str]] = []
    last = 0.0
    deadline = time.monotonic() + 400
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            stream.feed(chunk)
        if time.monotonic() - last >= 0.25:
            screens.append(list(screen.display))
            last = time.monotonic()
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), screens, list(screen.display)


def check_screens(screens: list[list[str]], lines: int) -> int:
    """Every captured screen is clean; returns how many showed log lines above a live table."""
    with_logs_above = 0
    for shot in screens:
        headers = [i for i, line in enumerate(shot) if HEADER.match(line)]
        assert len(headers) <= 1, "stale table headers:\n" + "\n".join(shot)
        if not headers:
            continue
        top = headers[0]
        table = [line for line in shot[top + 1 :] if ROW.match(line) or line.strip().startswith("…")]
        ids = [ROW.match(line).group(1) for line in table if ROW.match(line)]
        assert len(ids) == len(set(ids)), "a step row twice:\n" + "\n".join(shot)
        assert 1 + len(table) <= max(3, lines // 2), "the table is taller than half the terminal:\n" + "\n".join(shot)
        above = [line for line in shot[:top] if line.strip()]
        if any(LOG_LINE.search(line) for line in above):
            with_logs_above += 1
    return with_logs_above


@pytest.mark.parametrize(("columns", "lines"), [(160, 50), (80, 10)])
def test_the_live_view_stays_readable_during_a_deploy(
    moto_server: str, tmp_path: Path, plugin_cache: Path, columns: int, lines: int
) -> None:
    world = World(tmp_path, moto_server, plugin_cache=plugin_cache)
    try:
        code, screens, final = run_in_terminal(world, columns, lines, SEED_SLOW=json.dumps({"eks": 3}))
        report = world.reports()[-1]
    finally:
        world.close()
    shown = "\n".join(final)
    assert code == 0, shown
    tables = [s for s in screens if any(HEADER.match(line) for line in s)]
    assert len(tables) >= 5, f"the table was seen on {len(tables)} of {len(screens)} screens"
    assert check_screens(screens, lines) >= len(tables) // 2, "log lines must stay visible above the table"
    # The final screen: the summary (its last lines on a small terminal), no table left under it.
    assert any(re.match(rf"^ok: {len(STEP_IDS)} done in \d", line) for line in final), shown
    assert any(line.startswith("report: ") for line in final), shown
    assert not any(HEADER.match(line) for line in final[final.index(next(l for l in final if l.startswith("ok: "))) :])
    # The report of a real run lists what was done: Terraform's resources for the Terraform steps.
    changes = {step["id"]: step["changes"] for step in report["steps"]}
    assert all(changes.values()), changes
    assert any(c["action"] == "create" and "." in c["target"] for c in changes["mgmt.registry"]), changes["mgmt.registry"]
    if columns >= 160:
        waiting = [
            line
            for s in screens
            for line in s
            if ROW.match(line) and re.search(r"\bcreating (module\.|aws_|terraform_data)", line)
        ]
        assert waiting, "a Terraform step's 'waiting for' names the resource being created"
