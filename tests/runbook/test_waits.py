"""Waits: read state first, poll with backoff, name what was not ready at the deadline."""

from __future__ import annotations

import threading
import time

import pytest

from runbook.clock import Clock, FakeClock
from runbook.errors import Interrupted, PermanentError, TransientError, WaitTimeout
from runbook.retry import Classifier
from runbook.waits import wait_for


def statuses(*values: str):
    """A probe answering from a list of cluster statuses, the last one repeated."""
    seen: list[str] = []

    def probe() -> tuple[bool, str]:
        status = values[min(len(seen), len(values) - 1)]
        seen.append(status)
        return status == "ACTIVE", f"cluster jung-dev-eks is {status}"

    probe.seen = seen  # type: ignore[attr-defined]
    return probe


def test_ready_at_once_means_no_sleep() -> None:
    clock = FakeClock()
    probe = statuses("ACTIVE")
    detail = wait_for(probe, what="EKS cluster", timeout=600, clock=clock)
    assert detail == "cluster jung-dev-eks is ACTIVE"
    assert probe.seen == ["ACTIVE"] and clock.sleeps == []


def test_polls_with_backoff_until_ready() -> None:
    clock = FakeClock()
    probe = statuses("CREATING", "CREATING", "CREATING", "ACTIVE")
    polls: list[tuple] = []
    wait_for(
        probe,
        what="EKS cluster",
        timeout=600,
        clock=clock,
        interval=5,
        max_interval=15,
        on_poll=lambda n, ready, detail: polls.append((n, ready)),
    )
    assert clock.sleeps == [5, 10, 15]
    assert polls == [(1, False), (2, False), (3, False), (4, True)]


def test_deadline_raises_wait_timeout_with_the_last_detail() -> None:
    clock = FakeClock()
    start = clock.monotonic()
    probe = statuses("CREATING", "CREATING", "FAILED: capacity in ap-northeast-1a")
    with pytest.raises(WaitTimeout) as err:
        wait_for(probe, what="RDS instance jung-dev-rds", timeout=60, clock=clock, interval=5, max_interval=30)
    assert (
        err.value.message
        == "RDS instance jung-dev-rds not ready after 60s: cluster jung-dev-eks is FAILED: capacity in ap-northeast-1a"
    )
    assert err.value.hint
    # 5, 10, 20, then only what is left before the deadline; one last probe at the deadline
    assert clock.sleeps == [5, 10, 20, 25]
    assert clock.monotonic() - start == 60
    assert len(probe.seen) == 5


def test_step_deadline_caps_the_timeout() -> None:
    clock = FakeClock()
    with pytest.raises(WaitTimeout, match="not ready after 12s"):
        wait_for(statuses("CREATING"), what="node group", timeout=900, clock=clock, deadline=clock.monotonic() + 12, interval=5)
    assert sum(clock.sleeps) == 12


def test_transient_probe_errors_are_reported_and_polling_goes_on() -> None:
    clock = FakeClock()
    answers = iter([ConnectionResetError("reset by peer"), TransientError("Throttling", reason="throttled"), (True, "ok")])
    polls: list[str] = []

    def probe() -> tuple[bool, str]:
        item = next(answers)
        if isinstance(item, Exception):
            raise item
        return item

    assert wait_for(probe, what="API", timeout=100, clock=clock, on_poll=lambda n, r, d: polls.append(d)) == "ok"
    assert polls[0] == "probe failed (connection reset): reset by peer"
    assert polls[1] == "probe failed (throttled): Throttling"


def test_transient_errors_are_still_bounded_by_the_deadline() -> None:
    clock = FakeClock()

    def probe() -> tuple[bool, str]:
        raise ConnectionRefusedError("connection refused")

    with pytest.raises(WaitTimeout, match=r"API not ready after 30s: probe failed \(connection refused\)"):
        wait_for(probe, what="API", timeout=30, clock=clock)


def test_a_permanent_probe_error_is_raised_at_once() -> None:
    clock = FakeClock()

    def probe() -> tuple[bool, str]:
        raise PermanentError("AccessDenied")

    with pytest.raises(PermanentError, match="AccessDenied"):
        wait_for(probe, what="API", timeout=30, clock=clock)
    assert clock.sleeps == []


def test_project_classifier_decides_what_is_transient() -> None:
    classifier = Classifier().add_regex("not found yet", "ResourceNotFound")
    answers = iter([RuntimeError("ResourceNotFoundException: role"), (True, "found")])

    def probe() -> tuple[bool, str]:
        item = next(answers)
        if isinstance(item, Exception):
            raise item
        return item

    assert wait_for(probe, what="role", timeout=30, clock=FakeClock(), classifier=classifier) == "found"


def test_cancel_raises_interrupted() -> None:
    cancel = threading.Event()

    def probe() -> tuple[bool, str]:
        cancel.set()
        return False, "CREATING"

    with pytest.raises(Interrupted, match="stopped waiting for EKS cluster"):
        wait_for(probe, what="EKS cluster", timeout=600, clock=FakeClock(), cancel=cancel)


def test_real_clock_wait_wakes_on_cancel_at_once() -> None:
    cancel = threading.Event()
    threading.Timer(0.05, cancel.set).start()
    start = time.monotonic()
    with pytest.raises(Interrupted):
        wait_for(lambda: (False, "CREATING"), what="EKS cluster", timeout=600, clock=Clock(), cancel=cancel, interval=30)
    assert time.monotonic() - start < 2
