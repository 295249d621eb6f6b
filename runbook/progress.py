"""What a person at a terminal sees while a run goes on: one compact table, redrawn in place.

The runner reports events to a :class:`Progress` sink; logs stay the record. Off a TTY (CI,
pipes) nothing is drawn: :class:`NullProgress` accepts the events and drops them.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
from dataclasses import dataclass
from typing import IO, Mapping, Protocol, Sequence

from runbook.clock import Clock
from runbook.step import Step


class Progress(Protocol):
    """The events a runner reports, from the scheduler and from worker threads."""

    def run_started(self, steps: Sequence[Step], statuses: Mapping[str, str]) -> None: ...
    def step_started(self, step_id: str, attempt: int = 1) -> None: ...
    def step_waiting(self, step_id: str, what: str) -> None: ...
    def retrying(self, step_id: str, attempt: int, reason: str, delay: float) -> None: ...
    def step_finished(self, step_id: str, status: str, detail: str = "") -> None: ...
    def run_finished(self, status: str) -> None: ...


class NullProgress:
    """A sink that shows nothing (no terminal, or --log-format json)."""

    def run_started(self, steps: Sequence[Step], statuses: Mapping[str, str]) -> None:
        """Nothing to draw."""

    def step_started(self, step_id: str, attempt: int = 1) -> None:
        """Nothing to draw."""

    def step_waiting(self, step_id: str, what: str) -> None:
        """Nothing to draw."""

    def retrying(self, step_id: str, attempt: int, reason: str, delay: float) -> None:
        """Nothing to draw."""

    def step_finished(self, step_id: str, status: str, detail: str = "") -> None:
        """Nothing to draw."""

    def run_finished(self, status: str) -> None:
        """Nothing to draw."""


@dataclass
class _Row:
    phase: int
    step_id: str
    status: str
    started: float | None = None
    finished: float | None = None
    waiting: str = ""


class TtyProgress:
    """Redraws a table of (phase, step, status, elapsed, waiting for) at most ``1/min_interval``
    times a second; a background ticker keeps the elapsed times moving between events."""

    def __init__(
        self,
        stream: IO[str],
        *,
        clock: Clock | None = None,
        min_interval: float = 0.25,
        tick: bool = True,
        width: int | None = None,
    ) -> None:
        self._stream = stream
        self._clock = clock or Clock()
        self._min_interval = min_interval
        self._tick = tick
        self._width = width
        self._rows: dict[str, _Row] = {}
        self._lock = threading.Lock()
        self._drawn_lines = 0
        self._last_draw = float("-inf")
        self._run_started = 0.0
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    # -- events ----------------------------------------------------------------------------

    def run_started(self, steps: Sequence[Step], statuses: Mapping[str, str]) -> None:
        with self._lock:
            self._run_started = self._clock.monotonic()
            self._rows = {s.id: _Row(s.phase, s.id, statuses.get(s.id, "pending")) for s in steps}
        self._redraw(force=True)
        if self._tick and self._ticker is None:
            self._ticker = threading.Thread(target=self._tick_loop, name="progress", daemon=True)
            self._ticker.start()

    def step_started(self, step_id: str, attempt: int = 1) -> None:
        with self._lock:
            row = self._row(step_id)
            row.status = "running" if attempt <= 1 else f"running #{attempt}"
            row.started = row.started if row.started is not None else self._clock.monotonic()
            row.finished = None
            row.waiting = ""
        self._redraw()

    def step_waiting(self, step_id: str, what: str) -> None:
        with self._lock:
            self._row(step_id).waiting = what
        self._redraw()

    def retrying(self, step_id: str, attempt: int, reason: str, delay: float) -> None:
        with self._lock:
            row = self._row(step_id)
            row.status = "retrying"
            row.waiting = f"retry {attempt + 1} in {delay:.0f}s: {reason}"
        self._redraw()

    def step_finished(self, step_id: str, status: str, detail: str = "") -> None:
        with self._lock:
            row = self._row(step_id)
            row.status = status
            row.finished = self._clock.monotonic() if row.started is not None else None
            row.waiting = detail
        self._redraw()

    def run_finished(self, status: str) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=2)
            self._ticker = None
        self._redraw(force=True)

    # -- drawing ---------------------------------------------------------------------------

    def render(self) -> list[str]:
        """The table as lines (without colour), newest state."""
        with self._lock:
            now = self._clock.monotonic()
            rows = list(self._rows.values())
            total = now - self._run_started
        width = self._width or shutil.get_terminal_size((100, 24)).columns
        id_width = max([len(r.step_id) for r in rows] + [4])
        counts: dict[str, int] = {}
        for r in rows:
            key = r.status.split()[0]
            counts[key] = counts.get(key, 0) + 1
        summary = " · ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        lines = [f"{'ph':>2}  {'step':<{id_width}}  {'status':<11} {'elapsed':>7}  {summary} · {_clock(total)}"]
        for r in rows:
            if r.started is None:
                elapsed = ""
            else:
                elapsed = _clock((r.finished if r.finished is not None else now) - r.started)
            lines.append(f"{r.phase:>2}  {r.step_id:<{id_width}}  {r.status:<11} {elapsed:>7}  {r.waiting}".rstrip())
        return [line[: max(10, width - 1)] for line in lines]

    def _redraw(self, *, force: bool = False) -> None:
        now = self._clock.monotonic()
        if not force and now - self._last_draw < self._min_interval:
            return
        lines = self.render()
        with self._lock:
            self._last_draw = now
            out = []
            if self._drawn_lines:
                out.append(f"\x1b[{self._drawn_lines}F\x1b[J")  # back to the table's first line, clear below
            out.append("\n".join(lines) + "\n")
            self._drawn_lines = len(lines)
            self._stream.write("".join(out))
            self._stream.flush()

    def _tick_loop(self) -> None:
        while not self._stop.wait(self._min_interval):
            self._redraw()

    def _row(self, step_id: str) -> _Row:
        row = self._rows.get(step_id)
        if row is None:  # a step the table did not list (should not happen): show it anyway
            row = self._rows[step_id] = _Row(0, step_id, "pending")
        return row


def make_progress(stream: IO[str] | None = None) -> Progress:
    """A live table on an interactive terminal, nothing elsewhere (CI, pipes, TERM=dumb)."""
    stream = stream or sys.stderr
    interactive = hasattr(stream, "isatty") and stream.isatty() and os.environ.get("TERM", "") != "dumb"
    return TtyProgress(stream) if interactive else NullProgress()


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
