"""What this host's kernel says about a process: alive or not, and which process a pid names.

A pid alone names a process only while it runs; once it is reaped the kernel may hand it to
another (``pid_max`` can be as small as 32768). The start in clock ticks since boot, with the
boot id, names one process for good — and unlike a start time read as wall-clock, no clock
step moves it. Where ``/proc`` is absent the answers fall back to what ``kill(pid, 0)`` tells.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path


@functools.cache
def boot_id() -> str | None:
    """The kernel's id of this boot (a reboot changes it), where /proc tells it."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        return None


def stat(pid: int) -> tuple[int, str] | None:
    """(start in clock ticks after boot, state letter) of a process, where /proc tells it."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
        fields = text[text.rindex(")") + 2 :].split()  # the name may hold spaces and parentheses
        return int(fields[19]), fields[0]  # field 22 of stat(5): starttime; field 3: state
    except (OSError, ValueError, IndexError):
        return None


def exists(pid: int) -> bool | None:
    """Whether the pid names a process (another user's counts); None if the kernel won't say."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return None
    return True


def exited(state: str) -> bool:
    """A zombie (exited, not yet reaped) or a dead task: it will never run again."""
    return state in ("Z", "X")


def alive(pid: int) -> bool:
    """The pid names a process that may still run: it exists and has not exited."""
    if exists(pid) is False:
        return False
    info = stat(pid)
    return info is None or not exited(info[1])


def ticks_to_time(ticks: int) -> float | None:
    """A start in ticks after boot as a UNIX timestamp (moves when the wall clock is stepped)."""
    try:
        lines = Path("/proc/stat").read_text().splitlines()
        boot = next(float(line.split()[1]) for line in lines if line.startswith("btime "))
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")
