"""What the kernel says about a process: the lock and the temp-folder sweep both decide by it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runbook import processes

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")


def reaped_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_this_process_is_alive_and_a_reaped_one_is_not() -> None:
    assert processes.alive(os.getpid()) and processes.exists(os.getpid()) is True
    gone = reaped_pid()
    assert processes.exists(gone) is False and not processes.alive(gone)
    assert processes.stat(gone) is None


def test_a_zombie_exists_but_is_not_alive() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 30
        while (info := processes.stat(child.pid)) is not None and not processes.exited(info[1]):
            assert time.monotonic() < deadline, "the child never exited"
            time.sleep(0.01)
        assert processes.exists(child.pid) is True  # not reaped yet: the pid is still taken
        assert not processes.alive(child.pid)
    finally:
        child.wait()


def test_start_ticks_tell_a_later_process_from_an_earlier_one() -> None:
    mine = processes.stat(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        theirs = processes.stat(child.pid)
        assert mine is not None and theirs is not None
        assert theirs[0] >= mine[0] and processes.stat(os.getpid()) == mine  # fixed for a process's life
        assert theirs[1] not in ("Z", "X")
    finally:
        child.kill()
        child.wait()


def test_the_boot_id_is_stable_and_ticks_map_to_a_time_near_now() -> None:
    assert processes.boot_id() and processes.boot_id() == processes.boot_id()
    mine = processes.stat(os.getpid())
    assert mine is not None
    started = processes.ticks_to_time(mine[0])
    # This process began before now and, in any sane clock, within the last day.
    assert started is not None and time.time() - 86400 < started <= time.time() + 1
