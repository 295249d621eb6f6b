"""What a person at a terminal sees while a run goes on: one compact live table, log lines above it.

The runner reports events to a :class:`Progress` sink; logs stay the record. Off a TTY (CI,
pipes) nothing is drawn: :class:`NullProgress` accepts the events and drops them.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any, Protocol

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
    def stop(self) -> None: ...


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

    def stop(self) -> None:
        """Nothing drawn, nothing to take down."""


@dataclass
class _Row:
    phase: int
    step_id: str
    status: str
    started: float | None = None
    finished: float | None = None
    waiting: str = ""
    order: int = 0  # when it last changed in this run (for choosing rows when not all fit)


class TtyProgress:
    """A table of (phase, step, status, elapsed, waiting for), kept live at the bottom of the
    terminal by rich's :class:`rich.live.Live` (no hand-written cursor control).

    Log lines are printed *above* the table: while the view is live, the console log sink of
    :mod:`runbook.logs` is pointed at the Live console (:func:`runbook.logs.route_console`), and
    anything else written to stderr goes through rich's redirection. The table never takes more
    than half the terminal's height (so recent log lines stay readable above it) and never more
    than its width: rows that do not fit are summarised in one line, running and failed steps
    first. Rich is imported only when a view is drawn, so commands without one start fast.
    """

    def __init__(
        self,
        stream: IO[str],
        *,
        clock: Clock | None = None,
        min_interval: float = 0.25,
        tick: bool = True,
        width: int | None = None,
        height: int | None = None,
    ) -> None:
        self._stream = stream
        self._clock = clock or Clock()
        self._min_interval = min_interval
        self._tick = tick
        self._width = width
        self._height = height
        self._rows: dict[str, _Row] = {}
        self._lock = threading.Lock()
        self._run_started = 0.0
        self._live: Any = None
        self._console: Any = None  # the terminal the view draws on (its size crops the table)
        self._unroute: Any = None
        self._changes = 0  # events so far: a row's ``order`` says when it last changed

    # -- events ----------------------------------------------------------------------------

    def run_started(self, steps: Sequence[Step], statuses: Mapping[str, str]) -> None:
        with self._lock:
            self._run_started = self._clock.monotonic()
            self._rows = {s.id: _Row(s.phase, s.id, statuses.get(s.id, "pending")) for s in steps}
        self._start_live()

    def step_started(self, step_id: str, attempt: int = 1) -> None:
        with self._lock:
            row = self._row(step_id)
            row.status = "running" if attempt <= 1 else f"running #{attempt}"
            row.started = row.started if row.started is not None else self._clock.monotonic()
            row.finished = None
            row.waiting = ""
            row.order = self._next_order()
        self._refresh()

    def step_waiting(self, step_id: str, what: str) -> None:
        with self._lock:
            self._row(step_id).waiting = what
        self._refresh()

    def retrying(self, step_id: str, attempt: int, reason: str, delay: float) -> None:
        with self._lock:
            row = self._row(step_id)
            row.status = "retrying"
            row.waiting = f"retry {attempt + 1} in {delay:.0f}s: {reason}"
        self._refresh()

    def step_finished(self, step_id: str, status: str, detail: str = "") -> None:
        with self._lock:
            row = self._row(step_id)
            row.status = status
            row.finished = self._clock.monotonic() if row.started is not None else None
            row.waiting = detail
            row.order = self._next_order()
        self._refresh()

    def run_finished(self, status: str) -> None:
        self.stop()

    def stop(self) -> None:
        """Leave the last table on screen, give the terminal back; safe to call again."""
        live, self._live = self._live, None
        if live is not None:
            live.stop()  # its last refresh draws the final state, which stays on screen
        if self._unroute is not None:
            self._unroute()
            self._unroute = None

    # -- drawing ---------------------------------------------------------------------------

    def size(self) -> tuple[int, int]:
        """(columns, lines) of the terminal (or the fixed size given)."""
        if self._console is not None and (self._width is None or self._height is None):
            size = self._console.size
            return self._width or size.width, self._height or size.height
        fallback = shutil.get_terminal_size((100, 24))
        return self._width or fallback.columns, self._height or fallback.lines

    def render(self) -> list[str]:
        """The table as plain lines, newest state, cropped to the terminal: never wider, and
        never taller than half of it (at least a header and two rows)."""
        with self._lock:
            now = self._clock.monotonic()
            rows = list(self._rows.values())
            total = now - self._run_started
        width, height = self.size()
        limit = max(3, height // 2)
        id_width = max([len(r.step_id) for r in rows] + [4])
        counts: dict[str, int] = {}
        for r in rows:
            key = r.status.split()[0]
            counts[key] = counts.get(key, 0) + 1
        summary = " · ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        lines = [f"{'ph':>2}  {'step':<{id_width}}  {'status':<11} {'elapsed':>7}  {summary} · {_clock(total)}"]
        shown = rows
        if len(rows) + 1 > limit:
            shown = _most_relevant(rows, limit - 2)
        for r in shown:
            if r.started is None:
                elapsed = ""
            else:
                elapsed = _clock((r.finished if r.finished is not None else now) - r.started)
            lines.append(f"{r.phase:>2}  {r.step_id:<{id_width}}  {r.status:<11} {elapsed:>7}  {r.waiting}".rstrip())
        if len(shown) < len(rows):
            hidden: dict[str, int] = {}
            for r in rows:
                if r not in shown:
                    hidden[r.status.split()[0]] = hidden.get(r.status.split()[0], 0) + 1
            lines.append(f"    … {len(rows) - len(shown)} more: " + ", ".join(f"{n} {k}" for k, n in sorted(hidden.items())))
        return [_fit(line, max(10, width - 1)) for line in lines]

    def _renderable(self) -> Any:
        from rich.text import Text

        return Text("\n".join(self.render()), no_wrap=True, overflow="crop")

    def _start_live(self) -> None:
        if self._live is not None:
            return
        from rich.console import Console
        from rich.live import Live

        from runbook.logs import route_console

        console = self._console = Console(file=self._stream, force_terminal=True, highlight=False, soft_wrap=False)
        self._live = Live(
            console=console,
            get_renderable=self._renderable,
            auto_refresh=self._tick,
            refresh_per_second=1 / self._min_interval,
            redirect_stdout=False,  # the summary is printed after the view stops
            redirect_stderr=True,  # stray writes to stderr appear above the table, not through it
            vertical_overflow="crop",
            transient=False,
        )
        self._live.start(refresh=True)

        from rich.text import Text

        def to_console(text: str) -> None:
            live = self._live
            if live is None:  # the view stopped meanwhile: straight to the terminal
                self._stream.write(text)
                self._stream.flush()
                return
            live.console.print(Text.from_ansi(text.rstrip("\n")))

        self._unroute = route_console(to_console)

    def _refresh(self) -> None:
        live = self._live
        if live is not None and not self._tick:
            live.refresh()

    def _next_order(self) -> int:
        self._changes += 1
        return self._changes

    def _row(self, step_id: str) -> _Row:
        row = self._rows.get(step_id)
        if row is None:  # a step the table did not list (should not happen): show it anyway
            row = self._rows[step_id] = _Row(0, step_id, "pending")
        return row


_ACTIVE = ("running", "retrying", "failed", "interrupted")


def _most_relevant(rows: list[_Row], n: int) -> list[_Row]:
    """``n`` rows to show when not all fit, in table order: active and failed steps first, then
    the latest to change, then the next pending ones."""
    n = max(1, n)
    ranked = sorted(
        range(len(rows)),
        key=lambda i: (
            rows[i].status.split()[0] not in _ACTIVE,
            -rows[i].order,  # latest change first (0 = never changed in this run)
            i,
        ),
    )
    keep = set(ranked[:n])
    return [r for i, r in enumerate(rows) if i in keep]


def _fit(line: str, width: int) -> str:
    """One line no wider than ``width``: a long end is cut at a word boundary and marked with …"""
    if len(line) <= width:
        return line
    cut = line[: width - 1]
    space = cut.rfind(" ")
    if space > width // 2:
        cut = cut[:space]
    return cut + "…"


def make_progress(stream: IO[str] | None = None) -> Progress:
    """A live table on an interactive terminal, nothing elsewhere (CI, pipes, TERM=dumb)."""
    stream = stream or sys.stderr
    interactive = stream is not None and hasattr(stream, "isatty") and stream.isatty() and os.environ.get("TERM", "") != "dumb"
    return TtyProgress(stream) if interactive else NullProgress()


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
