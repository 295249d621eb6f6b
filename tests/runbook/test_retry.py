"""Retries: only classified errors are retried, with growing waits, and every retry says why."""

from __future__ import annotations

import threading

import pytest

from runbook.clock import FakeClock
from runbook.errors import Interrupted, PermanentError, StepTimeout, TransientError, WaitTimeout
from runbook.retry import Classifier, RetryPolicy, call_with_retries


def test_builtin_rules() -> None:
    c = Classifier()
    assert c.classify(TransientError("Throttling: Rate exceeded", reason="throttled")) == "throttled"
    assert c.classify(TransientError("503 from the API")) == "503 from the API"
    assert c.classify(ConnectionResetError(104, "Connection reset by peer")) == "connection reset"
    assert c.classify(ConnectionRefusedError(111, "refused")) == "connection refused"
    assert c.classify(TimeoutError("timed out")) == "timed out"
    assert c.classify(PermanentError("AccessDenied")) is None
    assert c.classify(ValueError("bad value")) is None
    assert c.classify(KeyboardInterrupt()) is None


def test_project_rules_in_order_and_regex_on_the_message() -> None:
    c = Classifier()
    c.add_regex("throttling", r"ThrottlingException|Rate exceeded")
    c.add("eventual consistency", lambda e: isinstance(e, LookupError) and "not found yet" in str(e))
    c.add_regex("anything rate", r"rate")
    assert c.classify(RuntimeError("An error occurred (ThrottlingException)")) == "throttling"
    assert c.classify(RuntimeError("rate exceeded")) == "throttling"  # case-insensitive; first rule wins
    assert c.classify(KeyError("role not found yet")) == "eventual consistency"
    assert c.rules[-3:] == ["throttling", "eventual consistency", "anything rate"]


def test_explicit_causes_are_followed() -> None:
    c = Classifier()
    wrapped = RuntimeError("HTTP request failed")
    wrapped.__cause__ = ConnectionResetError("reset")  # what `raise … from exc` records
    assert c.classify(wrapped) == "connection reset"


def test_engine_verdicts_are_never_retried_even_if_a_rule_matches() -> None:
    c = Classifier().add_regex("timeouts", "timeout|not ready|stopped")
    assert c.classify(StepTimeout("step x did not finish within its timeout")) is None
    assert c.classify(WaitTimeout("cluster not ready after 600s")) is None
    assert c.classify(Interrupted("stopped")) is None


def test_transient_errors_are_retried_with_exponential_backoff_and_reported() -> None:
    clock = FakeClock()
    calls: list[int] = []
    retries: list[tuple] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise TransientError(f"throttled #{len(calls)}", reason="throttled")
        return "ok"

    result = call_with_retries(
        flaky,
        policy=RetryPolicy(max_attempts=4, initial=2, maximum=60, jitter=0),
        classifier=Classifier(),
        clock=clock,
        on_retry=lambda attempt, reason, exc, delay: retries.append((attempt, reason, str(exc), delay)),
    )
    assert result == "ok" and len(calls) == 3
    assert clock.sleeps == [2.0, 4.0]
    assert retries == [(1, "throttled", "throttled #1", 2.0), (2, "throttled", "throttled #2", 4.0)]


def test_jitter_and_maximum_bound_the_waits() -> None:
    clock = FakeClock()

    def always() -> None:
        raise ConnectionResetError("reset")

    with pytest.raises(ConnectionResetError):
        call_with_retries(
            always,
            policy=RetryPolicy(max_attempts=6, initial=1, maximum=5, jitter=0.5),
            classifier=Classifier(),
            clock=clock,
        )
    assert len(clock.sleeps) == 5
    lows = [1, 2, 4, 5, 5]
    for wait, low in zip(clock.sleeps, lows, strict=False):
        assert low <= wait <= min(5, low + 0.5)


def test_a_permanent_error_is_raised_at_once_unchanged() -> None:
    clock = FakeClock()
    original = PermanentError("AccessDenied: not authorized to perform eks:CreateCluster", hint="fix the role")
    calls: list[int] = []

    def denied() -> None:
        calls.append(1)
        raise original

    with pytest.raises(PermanentError) as err:
        call_with_retries(denied, policy=RetryPolicy(max_attempts=5), classifier=Classifier(), clock=clock)
    assert err.value is original and err.value.hint == "fix the role"
    assert len(calls) == 1 and clock.sleeps == []


def test_exhausted_attempts_reraise_the_last_error() -> None:
    errors = [TransientError(f"5xx #{i}", reason="server error") for i in range(3)]
    it = iter(errors)

    def failing() -> None:
        raise next(it)

    with pytest.raises(TransientError) as err:
        call_with_retries(failing, policy=RetryPolicy(max_attempts=3, jitter=0), classifier=Classifier(), clock=FakeClock())
    assert err.value is errors[-1]


def test_cancel_wakes_the_backoff_sleep() -> None:
    cancel = threading.Event()
    calls: list[int] = []

    def fails_then_cancelled() -> None:
        calls.append(1)
        cancel.set()  # Ctrl-C arrives while the attempt fails
        raise TransientError("throttled")

    with pytest.raises(Interrupted):
        call_with_retries(
            fails_then_cancelled, policy=RetryPolicy(max_attempts=3), classifier=Classifier(), clock=FakeClock(), cancel=cancel
        )
    assert len(calls) == 1


def test_real_clock_sleep_is_cut_short_by_cancel() -> None:
    import time

    from runbook.clock import Clock

    cancel = threading.Event()
    threading.Timer(0.05, cancel.set).start()
    start = time.monotonic()
    with pytest.raises(Interrupted):
        call_with_retries(
            lambda: (_ for _ in ()).throw(ConnectionResetError("reset")),
            policy=RetryPolicy(max_attempts=3, initial=30, jitter=0),
            classifier=Classifier(),
            clock=Clock(),
            cancel=cancel,
        )
    assert time.monotonic() - start < 2


def test_nothing_runs_when_already_cancelled() -> None:
    cancel = threading.Event()
    cancel.set()
    called: list[int] = []
    with pytest.raises(Interrupted):
        call_with_retries(
            lambda: called.append(1), policy=RetryPolicy(), classifier=Classifier(), clock=FakeClock(), cancel=cancel
        )
    assert called == []


def test_policy_needs_one_attempt() -> None:
    with pytest.raises(ValueError, match="max_attempts must be at least 1, not 0"):
        RetryPolicy(max_attempts=0)


def test_a_retry_within_a_step_stops_when_the_step_has_no_time_left() -> None:
    """call_within_step: the policy's budget is cut to the step's remaining time, on its clock."""
    from runbook.retry import call_within_step

    clock = FakeClock()
    deadline = clock.monotonic() + 20

    class Ctx:
        def __init__(self) -> None:
            self.clock, self.cancel = clock, None

        def remaining(self) -> float:
            return deadline - clock.monotonic()

    calls: list[float] = []

    def flaky() -> None:
        calls.append(clock.monotonic())
        raise TransientError("Rate exceeded", reason="throttled")

    policy = RetryPolicy(max_attempts=100, initial=1.0, maximum=4.0, jitter=0.0, budget_s=300.0)
    with pytest.raises(TransientError):
        call_within_step(flaky, policy=policy, classifier=Classifier(), ctx=Ctx(), what="read")
    assert len(calls) > 3 and calls[-1] <= deadline and clock.monotonic() <= deadline
    # Without a step context: the policy as it is, on the real clock.
    assert call_within_step(lambda: "done", policy=policy, classifier=Classifier(), ctx=None) == "done"
