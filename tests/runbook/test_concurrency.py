"""One run at a time, between real processes: the lock file, its holder, take-over and unlock.

Every run here is a subprocess of ``tests/runbook/crashproject.py`` using the real
``FileStateStore`` and its lock; the test process itself plays a live or dead holder by
writing a lock through the same ``FileLock`` API.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from runbook.lock import FileLock, LockHolder
from tests.runbook import crashproject as cp

pytestmark = pytest.mark.slow

ALL_STEPS = [sid for sid, _, _ in cp.GRAPH]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    d = tmp_path / "proj"
    d.mkdir()
    return d


def lock_path(directory: Path) -> Path:
    return directory / (cp.STATE + ".lock")


def plant_lock(directory: Path, *, pid: int, host: str | None = None, run_id: str = "20250101T000000Z-old000") -> LockHolder:
    # This process's boot id and start ticks: a dead pid reused later (pid_max may be 32768)
    # is then still told apart from the holder.
    holder = LockHolder.for_this_process(run_id, "deploy")
    holder.user = getpass.getuser()
    holder.host = host or socket.gethostname()
    holder.pid = pid
    FileLock(lock_path(directory)).acquire(holder)
    assert lock_path(directory).exists()
    return holder


def dead_pid() -> int:
    """The pid of a process that has finished (and been reaped): provably not running."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# -- two runs at once ---------------------------------------------------------------------


def test_two_deploys_at_once_one_runs_the_other_exits_3_naming_the_holder(workdir: Path) -> None:
    procs = [cp.start(workdir, "deploy", CRASH_SLOW="seed:2.5") for _ in range(2)]
    done = [cp.finish(p) for p in procs]

    codes = sorted(d.returncode for d in done)
    assert codes == [0, 3], [d.stdout + d.stderr for d in done]
    winner = next(d for d in done if d.returncode == 0)
    loser = next(d for d in done if d.returncode == 3)
    winner_run = cp.read_state(workdir)["last_run"]["run_id"]

    error = next(line for line in loser.stderr.splitlines() if line.startswith("error: "))
    assert winner_run in error
    assert f"pid {winner.pid}" in error
    assert getpass.getuser() in error and socket.gethostname() in error
    started = re.search(r"started (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[^) ]*)", error)
    assert started, error
    moment = datetime.fromisoformat(started.group(1))
    assert abs(datetime.now(UTC) - moment) < timedelta(minutes=1)
    assert any(line.startswith("hint: ") and "unlock --force" in line for line in loser.stderr.splitlines())
    assert "RUN deploy" not in loser.stdout, "the refused run did nothing"

    assert sorted(cp.read_effects(workdir)) == sorted((sid, winner_run) for sid in ALL_STEPS)
    assert not lock_path(workdir).exists()


def test_a_dry_run_reads_while_a_deploy_holds_the_lock(workdir: Path) -> None:
    deploy = cp.start(workdir, "deploy", CRASH_SLOW="left.ship:60")
    cp.wait_until(lambda: cp.step_status(workdir, "left.ship") == "running", proc=deploy, what="left.ship running")
    lock_before = lock_path(workdir).read_bytes()

    plan = cp.run(workdir, "deploy", "--dry-run", "--detailed-exitcode")

    assert plan.returncode == 4, plan.stdout + plan.stderr  # left.ship and join still to do
    assert lock_path(workdir).read_bytes() == lock_before, "a dry-run neither takes nor touches the lock"
    os.kill(deploy.pid, 15)
    assert cp.finish(deploy).returncode == 130


# -- stale and foreign locks --------------------------------------------------------------


def test_a_stale_lock_of_a_dead_process_is_taken_over(workdir: Path) -> None:
    stale = plant_lock(workdir, pid=dead_pid())

    done = cp.run(workdir, "deploy")

    assert done.returncode == 0, done.stdout + done.stderr
    warning = next(json.loads(l) for l in done.stderr.splitlines() if "took over a stale state lock" in l)
    assert stale.run_id in warning["stale"] and f"pid {stale.pid}" in warning["reason"]
    assert sorted(sid for sid, _ in cp.read_effects(workdir)) == sorted(ALL_STEPS)
    assert not lock_path(workdir).exists()


def test_a_lock_held_on_another_host_is_never_taken_over(workdir: Path) -> None:
    plant_lock(workdir, pid=dead_pid(), host="build-runner-7")
    before = lock_path(workdir).read_bytes()

    refused = cp.run(workdir, "deploy")

    assert refused.returncode == 3
    assert "build-runner-7" in refused.stderr
    assert lock_path(workdir).read_bytes() == before
    assert cp.read_effects(workdir) == []


# -- unlock -------------------------------------------------------------------------------


def test_unlock_without_force_refuses_a_live_holder_with_exit_2(workdir: Path) -> None:
    holder = plant_lock(workdir, pid=os.getpid())  # this test process: alive

    refused = cp.run(workdir, "unlock")

    assert refused.returncode == 2
    assert holder.run_id in refused.stderr and f"pid {os.getpid()}" in refused.stderr
    assert "hint: " in refused.stderr and "--force" in refused.stderr
    assert lock_path(workdir).exists()


def test_unlock_without_force_removes_a_provably_dead_holder(workdir: Path) -> None:
    holder = plant_lock(workdir, pid=dead_pid())

    done = cp.run(workdir, "unlock")

    assert done.returncode == 0, done.stderr
    assert holder.run_id in done.stdout and "no longer exists" in done.stdout
    assert not lock_path(workdir).exists()


def test_unlock_force_needs_confirmation_and_force_yes_removes_a_live_looking_lock(workdir: Path) -> None:
    holder = plant_lock(workdir, pid=os.getpid())
    status = cp.run(workdir, "status")
    assert f"lock: {holder.describe()}" in status.stdout

    unconfirmed = cp.run(workdir, "unlock", "--force")
    assert unconfirmed.returncode == 2
    assert lock_path(workdir).exists()

    removed = cp.run(workdir, "unlock", "--force", "--yes")
    assert removed.returncode == 0, removed.stderr
    assert f"removed the lock held by {holder.describe()}" in removed.stdout
    assert not lock_path(workdir).exists()
    assert "lock: free" in cp.run(workdir, "status").stdout


def test_unlock_of_a_free_state_says_so(workdir: Path) -> None:
    done = cp.run(workdir, "unlock", "--force", "--yes")
    assert done.returncode == 0
    assert "not locked" in done.stdout
