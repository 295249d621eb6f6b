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


@pytest.fixture(autouse=True)
def _stop_every_view(monkeypatch: pytest.MonkeyPatch):
    """A started view redirects sys.stderr through rich until it is finished: finish them all."""
    views: list[TtyProgress] = []
    original = TtyProgress.__init__

    def init(self, *args, **kw):  # type: ignore[no-untyped-def]
        original(self, *args, **kw)
        views.append(self)

    monkeypatch.setattr(TtyProgress, "__init__", init)
    yield
    for view in views:
        view.run_finished("ok")


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


def test_the_table_is_never_taller_than_half_the_terminal_and_keeps_active_rows() -> None:
    steps = [S(f"step{i}", i) for i in range(12)]
    view = TtyProgress(io.StringIO(), clock=FakeClock(), tick=False, width=80, height=10)
    view.run_started(steps, {})
    view.step_started("step9")
    view.step_finished("step2", "failed", "boom")
    lines = view.render()
    assert len(lines) <= 5  # half of 10 lines: the log lines above keep the other half
    assert lines[0].split()[:2] == ["ph", "step"]
    shown = [line.split()[1] for line in lines[1:-1]]
    assert "step9" in shown and "step2" in shown  # running and failed rows are never the ones dropped
    assert shown == sorted(shown, key=lambda sid: int(sid[4:]))  # still in runbook order
    assert lines[-1].strip().startswith("… 9 more: 9 pending")


def test_long_ids_keep_the_columns_aligned() -> None:
    steps = [S("a", 1), S("stage.infra.destroy.with-a-very-long-id", 3)]
    view = TtyProgress(io.StringIO(), clock=FakeClock(), tick=False, width=200, height=40)
    view.run_started(steps, {})
    lines = view.render()
    assert len({line.index("pending") for line in lines[1:]}) == 1


def test_lines_never_wrap_and_are_cut_at_a_word() -> None:
    view = TtyProgress(io.StringIO(), clock=FakeClock(), tick=False, width=60)
    view.run_started(STEPS, {})
    view.step_waiting("dev.infra", "terraform apply module.eks.aws_eks_cluster.this (2m10s)")
    lines = view.render()
    view.run_finished("ok")
    assert all(len(line) <= 59 for line in lines)
    assert lines[3].endswith("…") and lines[3][:-1].endswith(("terraform", "apply"))


def test_the_live_view_draws_through_rich_and_prints_log_lines_above_it() -> None:
    from runbook.logs import configure_logging, get_logger

    out = Tty()
    configure_logging("console", stream=out)
    view = TtyProgress(out, clock=FakeClock(), tick=False, width=100, height=30)
    view.run_started(STEPS, {})
    get_logger().info("a line while the table is live")
    view.step_started("dev.infra")
    view.run_finished("ok")
    get_logger().info("after the view")
    text = out.getvalue()
    assert "a line while the table is live" in text and "after the view" in text
    # The log line was printed by the live console (above the region), not written through it:
    # rich moved the cursor back up over the table before printing it.
    before_line = text[: text.index("a line while the table is live")]
    assert "\x1b[2K" in before_line and "bootstrap" in before_line


def test_the_live_view_keeps_elapsed_time_moving_and_stops() -> None:
    out = Tty()
    view = TtyProgress(out, clock=Clock(), min_interval=0.05, width=100, height=30)
    view.run_started(STEPS, {})
    view.step_started("dev.infra")
    time.sleep(0.6)
    assert out.getvalue().count("ph  step") >= 3  # redrawn by rich's refresh thread, with no events
    view.run_finished("ok")
    settled = out.getvalue()
    time.sleep(0.2)
    assert out.getvalue() == settled and settled.endswith("\x1b[?25h")  # stopped, cursor shown again


@pytest.mark.parametrize(
    ("stream", "term", "kind"),
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
