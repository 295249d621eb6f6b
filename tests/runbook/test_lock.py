"""The state lock: exclusive, names its holder, taken over only from a provably dead holder."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from runbook.errors import EXIT_LOCKED, LockHeld
from runbook.lock import FileLock, LockHolder, dead_reason

ROOT = Path(__file__).resolve().parents[2]
HOST = socket.gethostname()


class RecordingLog:
    def __init__(self) -> None:
        self.records: list[tuple[str, str, dict[str, Any]]] = []

    def warning(self, event: str, **fields: Any) -> None:
        self.records.append(("warning", event, fields))


def holder(run_id: str, **changes: Any) -> LockHolder:
    h = LockHolder.for_this_process(run_id, "deploy")
    for key, value in changes.items():
        setattr(h, key, value)
    return h


def plant(path: Path, h: LockHolder, *, age_s: float = 0.0) -> None:
    path.write_text(json.dumps(h.as_dict()))
    if age_s:
        past = time.time() - age_s
        os.utime(path, (past, past))


def exited_pid() -> int:
    """The pid of a process that has run and is gone (reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_acquire_writes_the_holder_and_release_removes_it(tmp_path: Path) -> None:
    lock = FileLock(tmp_path / "state.json.lock")
    me = holder("run-1")
    lock.acquire(me)
    assert json.loads((tmp_path / "state.json.lock").read_text()) == me.as_dict()
    assert lock.holder() == me
    lock.acquire(me)  # the same holder again: already ours
    assert lock.release("run-1") is True
    assert not (tmp_path / "state.json.lock").exists() and lock.holder() is None
    assert lock.release("run-1") is False


def test_a_second_run_is_refused_with_everything_about_the_holder(tmp_path: Path) -> None:
    path = tmp_path / "state.json.lock"
    first = LockHolder(
        run_id="20261126T0100Z-aa",
        user="alice",
        host=HOST,
        pid=os.getpid(),
        started_at="2026-11-26T01:00:00+00:00",
        command="deploy",
    )
    # started_at must not predate this (live) process, or it would look like a reused pid:
    first.started_at = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    FileLock(path).acquire(first)
    with pytest.raises(LockHeld) as err:
        FileLock(path).acquire(holder("run-2"))
    message = err.value.message
    assert err.value.exit_code == EXIT_LOCKED
    for part in (
        str(tmp_path / "state.json"),
        "20261126T0100Z-aa",
        "alice",
        HOST,
        f"pid {os.getpid()}",
        first.started_at,
        "deploy",
    ):
        assert part in message
    assert "unlock --force" in err.value.hint
    assert json.loads(path.read_text())["run_id"] == "20261126T0100Z-aa"  # untouched


def test_release_never_removes_another_runs_lock(tmp_path: Path) -> None:
    log = RecordingLog()
    lock = FileLock(tmp_path / "s.lock", log=log)
    lock.acquire(holder("run-1"))
    assert lock.release("run-2") is False
    assert lock.holder().run_id == "run-1"
    assert log.records[0][1] == "not releasing a state lock held by another run"


def test_force_unlock_removes_any_lock_and_says_whose(tmp_path: Path) -> None:
    lock = FileLock(tmp_path / "s.lock")
    assert lock.force_unlock() is None
    lock.acquire(holder("run-1"))
    removed = FileLock(tmp_path / "s.lock").force_unlock()
    assert removed is not None and removed.run_id == "run-1"
    assert not (tmp_path / "s.lock").exists()


def test_a_lock_of_a_dead_pid_on_this_host_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "state.json.lock"
    stale = holder("crashed-run", pid=exited_pid())
    plant(path, stale)
    log = RecordingLog()
    lock = FileLock(path, log=log)
    lock.acquire(holder("run-2"))
    assert lock.holder().run_id == "run-2"
    assert lock.taken_over == stale
    level, event, fields = log.records[0]
    assert (level, event) == ("warning", "took over a stale state lock")
    assert "crashed-run" in fields["stale"] and f"pid {stale.pid} no longer exists" in fields["reason"]


ON_PROC = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="process start times come from /proc")


@ON_PROC
def test_a_reused_pid_does_not_keep_a_stale_lock(tmp_path: Path) -> None:
    # This process is alive, but its start (in clock ticks since boot) is not the holder's.
    me = holder("old-run")
    assert me.start_ticks > 0 and me.boot_id
    stale = holder("old-run", start_ticks=me.start_ticks - 1)
    assert "now belongs to another process" in dead_reason(stale)
    plant(tmp_path / "s.lock", stale)
    lock = FileLock(tmp_path / "s.lock", log=RecordingLog())
    lock.acquire(holder("new-run"))
    assert lock.taken_over == stale and lock.holder().run_id == "new-run"


@ON_PROC
def test_a_wall_clock_step_never_makes_a_live_holder_look_dead(tmp_path: Path) -> None:
    """CI stop 18: a VM's clock stepped forward mid-run and a racer took over a live lock.

    The wall clock (the lock's started_at against /proc's boot time plus start ticks) may jump
    at any moment; the holder's start ticks and the boot id do not. A live holder whose
    started_at reads as long before its process began is still alive.
    """
    live = holder("live-run", started_at="2001-01-01T00:00:00+00:00")
    assert dead_reason(live) is None
    plant(tmp_path / "s.lock", live)
    with pytest.raises(LockHeld, match="live-run"):
        FileLock(tmp_path / "s.lock").acquire(holder("run-2"))


@ON_PROC
def test_a_lock_written_without_start_ticks_is_judged_by_its_start_time(tmp_path: Path) -> None:
    """Locks of earlier versions name no start ticks: the wall-clock rule still applies to them."""
    old = holder("old-run", started_at="2001-01-01T00:00:00+00:00", start_ticks=0, boot_id="")
    assert "now belongs to a process started at" in dead_reason(old)
    assert dead_reason(holder("old-live", start_ticks=0, boot_id="")) is None
    legacy = {k: v for k, v in holder("legacy").as_dict().items() if k not in ("start_ticks", "boot_id")}
    parsed = LockHolder.from_dict(legacy)
    assert (parsed.start_ticks, parsed.boot_id) == (0, "")


@ON_PROC
def test_a_lock_from_an_earlier_boot_is_judged_by_pid_and_start_time(tmp_path: Path) -> None:
    """Start ticks count from boot: after a reboot they mean nothing, the wall-clock rule decides."""
    rebooted = holder("before-reboot", boot_id="0" * 36, start_ticks=1, pid=exited_pid())
    assert "no longer exists" in dead_reason(rebooted)
    same_pid = holder("before-reboot", boot_id="0" * 36, start_ticks=1, started_at="2001-01-01T00:00:00+00:00")
    assert "now belongs to a process started at" in dead_reason(same_pid)
    assert dead_reason(holder("recent", boot_id="0" * 36, start_ticks=1)) is None


def test_a_live_holder_or_one_on_another_host_is_never_taken_over(tmp_path: Path) -> None:
    assert dead_reason(holder("live")) is None
    elsewhere = holder("remote", host=HOST + "-ci-runner", pid=exited_pid())
    assert dead_reason(elsewhere) is None  # its pid means nothing here
    plant(tmp_path / "s.lock", elsewhere)
    with pytest.raises(LockHeld, match="remote"):
        FileLock(tmp_path / "s.lock").acquire(holder("run-2"))
    assert FileLock(tmp_path / "s.lock").holder() == elsewhere


def test_an_unreadable_lock_is_held_until_forced(tmp_path: Path) -> None:
    path = tmp_path / "s.lock"
    path.write_text("{half a holder")
    past = time.time() - 60
    os.utime(path, (past, past))
    with pytest.raises(LockHeld) as err:
        FileLock(path).acquire(holder("run-2"))
    assert "cannot be read" in err.value.message and "unlock --force" in err.value.hint
    assert FileLock(path).holder() is None
    assert FileLock(path).force_unlock() is None and not path.exists()


def test_a_reader_waits_for_a_lock_being_written(tmp_path: Path) -> None:
    """A lock created a moment ago but still empty is its creator mid-write: wait, then read it."""
    import threading

    path = tmp_path / "s.lock"
    path.write_text("")
    writer = holder("run-1")
    threading.Timer(0.2, lambda: path.write_text(json.dumps(writer.as_dict()))).start()
    assert FileLock(path).holder() == writer


RACER = """
import os, sys, time
sys.path.insert(0, sys.argv[1])
from runbook.errors import LockHeld
from runbook.lock import FileLock, LockHolder

class Quiet:
    def warning(self, *args, **kwargs):
        pass

base, rounds, me = sys.argv[2], int(sys.argv[3]), sys.argv[4]
print("ready", flush=True)
for r in range(rounds):
    go = os.path.join(base, f"go-{r}")
    while not os.path.exists(go):
        time.sleep(0.0002)
    lock = FileLock(os.path.join(base, f"state-{r}.json.lock"), log=Quiet())
    try:
        lock.acquire(LockHolder.for_this_process(f"{me}-{r}", "deploy"))
        print(f"{r} won", flush=True)
    except LockHeld:
        print(f"{r} held", flush=True)
"""


@pytest.mark.slow
def test_racing_processes_exactly_one_wins_also_when_taking_over_a_dead_lock(tmp_path: Path) -> None:
    rounds, racers = 90, 3
    dead = exited_pid()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(ROOT), str(tmp_path), str(rounds), f"p{i}"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(racers)
    ]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        for r in range(rounds):
            lock_path = tmp_path / f"state-{r}.json.lock"
            if r % 3:  # two rounds in three: everybody finds a dead holder's lock and tries to take it over
                plant(lock_path, holder(f"dead-{r}", pid=dead))
            (tmp_path / f"go-{r}").touch()
            answers = {f"p{i}": p.stdout.readline().split()[1] for i, p in enumerate(procs)}  # type: ignore[union-attr]
            winners = [name for name, answer in answers.items() if answer == "won"]
            assert len(winners) == 1, f"round {r}: {answers}"
            assert json.loads(lock_path.read_text())["run_id"] == f"{winners[0]}-{r}"
    finally:
        for p in procs:
            p.kill()
            p.wait()


def test_a_process_killed_while_writing_its_lock_leaves_no_torn_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 10 (5): the lock's holder is written before the lock exists (temp file + link).

    A death between creating the lock and writing it (SystemExit stands for SIGKILL here: no
    handler runs) must leave either no lock or a readable one — never an empty file.
    """
    path = tmp_path / "s.lock"

    def killed(fd: int) -> None:
        raise SystemExit("killed")

    monkeypatch.setattr("runbook.lock.os.fsync", killed)
    with pytest.raises(SystemExit):
        FileLock(path).acquire(holder("run-1"))
    monkeypatch.undo()
    assert not path.exists() or FileLock(path).holder() is not None
    FileLock(path).acquire(holder("run-2"))
    assert FileLock(path).holder() == holder("run-2", started_at=FileLock(path).holder().started_at)


def test_a_torn_lock_left_by_an_older_version_is_named_and_removable(tmp_path: Path) -> None:
    path = tmp_path / "s.lock"
    path.write_text("")
    past = time.time() - 60
    os.utime(path, (past, past))
    lock = FileLock(path)
    assert lock.holder() is None
    assert "empty" in (lock.torn() or "")
    with pytest.raises(LockHeld) as err:
        lock.acquire(holder("run-2"))
    assert "unlock" in err.value.hint
    assert lock.remove_torn() and not path.exists()
    lock.acquire(holder("run-3"))


def test_a_young_empty_lock_is_not_called_torn(tmp_path: Path) -> None:
    path = tmp_path / "s.lock"
    path.write_text("")
    # An older version's writer may still be at work on it: never removed.
    assert not FileLock(path).remove_torn() and path.exists()
