"""`.ci/run` itself: CI is the gate every change passes, so its own shell must not fail for
reasons that have nothing to do with the project (a SIGPIPE once turned CI red after 1 s)."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

CI_RUN = Path(__file__).resolve().parents[1] / ".ci" / "run"


def section(name: str) -> str:
    """The lines of `.ci/run` from `echo "== <name>"` up to the next section."""
    lines, taken = CI_RUN.read_text().splitlines(), []
    inside = False
    for line in lines:
        if line.startswith('echo "== '):
            inside = line.startswith(f'echo "== {name}')
        if inside:
            taken.append(line)
    assert taken, f"no section {name!r} in .ci/run"
    return "\n".join(taken)


def chatty_tool(bin_dir: Path, name: str, lines: int) -> None:
    """A stand-in for a version command that writes more than one pipe buffer, as a tool with
    a warning banner or a long version report may: whatever reads only its first line and
    leaves makes the writer die of SIGPIPE."""
    tool = bin_dir / name
    tool.write_text(f'#!/bin/sh\ni=0\nwhile [ $i -lt {lines} ]; do echo "{name} version line $i"; i=$((i+1)); done\n')
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)


def test_the_toolchain_report_survives_tools_that_print_more_than_one_line(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("python3", "terraform", "kubectl", "node"):
        chatty_tool(bin_dir, name, lines=20_000)
    script = "set -euo pipefail\n" + section("toolchain") + "\n"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-2000:]}"
    assert "terraform version line 0" in done.stdout


def test_a_failed_install_fails_ci(tmp_path: Path) -> None:
    """The install line must not be able to swallow pip's failure (a `| grep … || true` did)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    pip = bin_dir / "pip"
    pip.write_text("#!/bin/sh\necho 'ERROR: No matching distribution found for kyeol' >&2\nexit 1\n")
    pip.chmod(pip.stat().st_mode | stat.S_IEXEC)
    install = [line for line in section("install").splitlines() if line.startswith("pip install")]
    assert install, "no pip install line in .ci/run"
    script = "set -euo pipefail\n" + "\n".join(install) + "\necho installed\n"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "installed" not in done.stdout
