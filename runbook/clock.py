"""Time, injectable: the real clock for runs, a fake one for tests of waits and deadlines."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


class Clock:
    """Wall and monotonic time, and a sleep that wakes early when cancelled."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float, cancel: threading.Event | None = None) -> bool:
        """Sleep; returns True if woken by ``cancel`` instead of the timer."""
        if seconds <= 0:
            return bool(cancel and cancel.is_set())
        if cancel is None:
            time.sleep(seconds)
            return False
        return cancel.wait(seconds)


class FakeClock(Clock):
    """A clock that only moves when slept on: deadlines can be tested in microseconds."""

    def __init__(self, start: float = 1000.0) -> None:
        self._t = start
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        with self._lock:
            return self._t

    def now(self) -> datetime:
        return datetime.fromtimestamp(1_767_225_600 + self.monotonic(), UTC)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._t += seconds

    def sleep(self, seconds: float, cancel: threading.Event | None = None) -> bool:
        if cancel is not None and cancel.is_set():
            return True
        self.sleeps.append(seconds)
        self.advance(max(0.0, seconds))
        return False
