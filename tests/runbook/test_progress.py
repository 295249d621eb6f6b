"""The terminal view: a compact table, redrawn in place, never more than a few times a second."""

from __future__ import annotations

import io
import time

import pytest

from runbook.clock import Clock, FakeClock
from runbook.progress import NullProgress, TtyProgress, make_progress
from runbook.step import Step


class S(Step):
    def __init__(self, id: str, phase: int) -> None:
        self.id = id
        self.phase = phase


STEPS = [S("bootstrap", 1), S("mgmt.infra", 2), S("dev.infra", 3)]


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_table_shows_phase_step_status_elapsed_and_what_it_waits_for() -> None:
    clock = FakeClock()
    view = TtyProgress(io.StringIO(), clock=clock, tick=False, width=200)
    view.run_started(STEPS, {"bootstrap": "done"})
    view.step_started("mgmt.infra")
    view.step_started("dev.infra")
    clock.advance(75)
    view.step_waiting("dev.infra", "EKS cluster jung-dev-eks ACTIVE")
    view.step_finished("mgmt.infra", "done", "applied")
    clock.advance(600)
    lines = view.render()
    assert lines[0].split()[:4] == ["ph", "step", "status", "elapsed"]
    assert "1 done" not in lines[0] and "2 done" in lines[0] and "1 running" in lines[0] and "11:15" in lines[0]
    rows = {line.split()[1]: line for line in lines[1:]}
    assert rows["bootstrap"].split() == ["1", "bootstrap", "done"]  # done before this run: no elapsed
    assert rows["mgmt.infra"].split() == ["2", "mgmt.infra", "done", "1:15", "applied"]  # frozen at finish
    assert rows["dev.infra"].split()[:4] == ["3", "dev.infra", "running", "11:15"]
    assert rows["dev.infra"].endswith("EKS cluster jung-dev-eks ACTIVE")


def test_retrying_and_long_runs() -> None:
    clock = FakeClock()
    view = TtyProgress(io.StringIO(), clock=clock, tick=False, width=200)
    view.run_started(STEPS, {})
    view.step_started("dev.infra")
    view.retrying("dev.infra", 1, "throttled", 4.2)
    clock.advance(3725)
    row = view.render()[3]
    assert row.split()[:4] == ["3", "dev.infra", "retrying", "1:02:05"]
    assert row.endswith("retry 2 in 4s: throttled")
    view.step_started("dev.infra", 2)
    assert "running #2" in view.render()[3]


def test_redraws_are_throttled_and_overwrite_the_previous_table() -> None:
    clock = FakeClock()
    out = io.StringIO()
    view = TtyProgress(out, clock=clock, tick=False, min_interval=0.25, width=200)
    view.run_started(STEPS, {})
    first = out.getvalue()
    assert first.count("\n") == 4 and "\x1b[" not in first
    for _ in range(20):  # a burst of events inside one interval draws nothing more
        view.step_waiting("dev.infra", "EKS cluster ACTIVE")
    assert out.getvalue() == first
    clock.advance(0.3)
    view.step_waiting("dev.infra", "EKS cluster ACTIVE")
    second = out.getvalue()[len(first):]
    assert second.startswith("\x1b[4F\x1b[J")  # back up over the 4 drawn lines, clear, redraw
    view.run_finished("ok")  # the final state is always drawn
    assert out.getvalue().count("\x1b[4F") == 2


def test_lines_never_wrap() -> None:
    view = TtyProgress(io.StringIO(), clock=FakeClock(), tick=False, width=40)
    view.run_started(STEPS, {})
    view.step_waiting("dev.infra", "x" * 200)
    assert all(len(line) <= 39 for line in view.render())


def test_ticker_keeps_elapsed_time_moving_and_stops() -> None:
    out = Tty()
    view = TtyProgress(out, clock=Clock(), min_interval=0.02)
    view.run_started(STEPS, {})
    view.step_started("dev.infra")
    time.sleep(0.15)
    draws = out.getvalue().count("\x1b[J")
    assert draws >= 3  # redrawn with no events
    view.run_finished("ok")
    settled = out.getvalue()
    time.sleep(0.06)
    assert out.getvalue() == settled


@pytest.mark.parametrize(
    "stream, term, kind",
    [(io.StringIO(), "xterm", NullProgress), (Tty(), "xterm", TtyProgress), (Tty(), "dumb", NullProgress)],
)
def test_make_progress_draws_only_on_a_real_terminal(stream, term, kind, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", term)
    assert isinstance(make_progress(stream), kind)


def test_null_progress_accepts_every_event_of_the_protocol() -> None:
    from runbook.progress import Progress

    events = {name for name in vars(Progress) if not name.startswith("_")}
    assert events <= set(dir(NullProgress)) and events <= set(dir(TtyProgress))
    sink = NullProgress()
    sink.run_started(STEPS, {})
    sink.step_started("a", 1)
    sink.step_waiting("a", "x")
    sink.retrying("a", 1, "r", 1.0)
    sink.step_finished("a", "done", "")
    sink.run_finished("ok")
