"""Retries only for errors known to be transient, with exponential backoff and jitter.

The :class:`Classifier` decides; it answers with the *reason* that matched, so every retry
can be logged as "retry k/N because <reason>". Anything it does not recognise is raised at
once, unchanged: retrying an access-denied error only delays the bad news.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter
from tenacity.stop import stop_base

from runbook.clock import Clock
from runbook.errors import Interrupted, StepTimeout, TransientError, WaitTimeout

T = TypeVar("T")

# A rule's predicate answers truthy when it matches; a non-empty string answer becomes the reason.
Predicate = Callable[[BaseException], Any]

# Verdicts the engine itself reached: retrying them would undo a deadline or a Ctrl-C.
_NEVER_RETRIED = (Interrupted, StepTimeout, WaitTimeout)
# How far the chain of explicit causes (``raise … from exc``) is followed.
_MAX_CAUSE_DEPTH = 4


class Classifier:
    """Ordered rules ``(name, predicate)``; the first that matches gives the reason.

    Built-in rules: :class:`TransientError` (its ``reason``), connection resets, refusals and
    aborts, broken pipes and socket time-outs. Projects add their own (throttling codes,
    5xx answers, eventual-consistency messages) with :meth:`add` or :meth:`add_regex`.
    """

    def __init__(self, *, builtins: bool = True) -> None:
        self._rules: list[tuple[str, Predicate]] = []
        if builtins:
            self.add("transient", lambda e: isinstance(e, TransientError) and (e.reason or "transient"))
            self.add_type("connection reset", ConnectionResetError)
            self.add_type("connection refused", ConnectionRefusedError)
            self.add_type("connection aborted", ConnectionAbortedError)
            self.add_type("broken pipe", BrokenPipeError)
            self.add_type("timed out", TimeoutError)  # socket.timeout is TimeoutError

    @property
    def rules(self) -> list[str]:
        return [name for name, _ in self._rules]

    def add(self, name: str, predicate: Predicate) -> Classifier:
        """Add a rule after the existing ones; returns self so rules can be chained."""
        self._rules.append((name, predicate))
        return self

    def add_type(self, name: str, *types: type[BaseException]) -> Classifier:
        """A rule matching exceptions of the given types."""
        return self.add(name, lambda e: isinstance(e, types))

    def add_regex(self, name: str, pattern: str, *, flags: int = re.IGNORECASE) -> Classifier:
        """A rule matching ``str(exc)`` against ``pattern`` (case-insensitive by default)."""
        regex = re.compile(pattern, flags)
        return self.add(name, lambda e: regex.search(str(e)) is not None)

    def classify(self, exc: BaseException) -> str | None:
        """The reason ``exc`` is worth retrying, or None when it is not.

        The exception itself is tried against every rule first, then its explicit causes.
        """
        current: BaseException | None = exc
        for _ in range(_MAX_CAUSE_DEPTH + 1):
            if current is None or not isinstance(current, Exception) or isinstance(current, _NEVER_RETRIED):
                return None
            for name, predicate in self._rules:
                verdict = predicate(current)
                if verdict:
                    return verdict if isinstance(verdict, str) else name
            current = current.__cause__
        return None


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry: ``max_attempts`` tries in all, waits growing
    from ``initial`` seconds (doubling) up to ``maximum``, plus up to ``jitter`` random seconds.

    ``budget_s``: a time budget as well — no new attempt starts once this many seconds (on
    the injected clock) have passed since the first began, nor when the next wait would end
    past it. A bad hour of throttling is outlasted by time, not by a count of tries.
    """

    max_attempts: int = 3
    initial: float = 2.0
    maximum: float = 60.0
    jitter: float = 1.0
    budget_s: float | None = None

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {self.max_attempts}")


# on_retry(attempt that failed, reason, the error, seconds until the next attempt)
OnRetry = Callable[[int, str, BaseException, float], None]


def call_with_retries(
    fn: Callable[[], T],
    *,
    policy: RetryPolicy,
    classifier: Classifier,
    clock: Clock,
    cancel: threading.Event | None = None,
    on_retry: OnRetry | None = None,
    what: str = "operation",
) -> T:
    """Call ``fn`` until it succeeds, an error is not transient, or the attempts run out.

    The last error is re-raised as it was. Sleeping between attempts uses ``clock`` and
    wakes on ``cancel``, raising :class:`Interrupted`.
    """
    if cancel is not None and cancel.is_set():
        raise Interrupted(f"{what} was not started: the run is stopping")

    def sleep(seconds: float) -> None:
        if clock.sleep(seconds, cancel):
            raise Interrupted(f"stopped waiting to retry {what}: the run is stopping")

    def before_sleep(state: RetryCallState) -> None:
        if on_retry is None or state.outcome is None:
            return
        exc = state.outcome.exception()
        if exc is None:  # a retry is always after a failed attempt; this narrows the type
            return
        delay = state.next_action.sleep if state.next_action is not None else 0.0
        on_retry(state.attempt_number, classifier.classify(exc) or "transient", exc, float(delay))

    started = clock.monotonic()
    wait = _exponential_jitter(policy)

    def out_of_budget(state: RetryCallState) -> bool:
        if policy.budget_s is None:
            return False
        return clock.monotonic() - started + float(wait(state)) > policy.budget_s

    retrying = Retrying(
        sleep=sleep,
        stop=stop_after_attempt(policy.max_attempts) | stop_when(out_of_budget),
        wait=wait,
        retry=retry_if_exception(lambda e: classifier.classify(e) is not None),
        before_sleep=before_sleep,
        reraise=True,
    )
    return retrying(fn)


def call_within_step(
    fn: Callable[[], T],
    *,
    policy: RetryPolicy,
    classifier: Classifier,
    ctx: Any,
    on_retry: OnRetry | None = None,
    what: str = "operation",
) -> T:
    """:func:`call_with_retries` for an operation retried in place inside a step: the policy's
    budget is cut to the time the step has left, and the step's clock and cancel are used."""
    remaining = ctx.remaining() if ctx is not None and hasattr(ctx, "remaining") else None
    if remaining is not None and policy.budget_s is not None:
        policy = dataclasses.replace(policy, budget_s=max(0.0, min(policy.budget_s, remaining)))
    return call_with_retries(
        fn,
        policy=policy,
        classifier=classifier,
        clock=getattr(ctx, "clock", None) or Clock(),
        cancel=getattr(ctx, "cancel", None),
        on_retry=on_retry,
        what=what,
    )


class stop_when(stop_base):  # noqa: N801 - named like tenacity's own stop conditions
    """Stop when ``predicate(retry_state)`` is true (combinable with ``|``)."""

    def __init__(self, predicate: Callable[[RetryCallState], bool]) -> None:
        self.predicate = predicate

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self.predicate(retry_state)


def _exponential_jitter(policy: RetryPolicy) -> wait_exponential_jitter:
    # tenacity 9.1 renamed `initial` to `multiplier` (the old name warns); 8.x knows only `initial`.
    try:
        return wait_exponential_jitter(multiplier=policy.initial, max=policy.maximum, jitter=policy.jitter)
    except TypeError:
        return wait_exponential_jitter(initial=policy.initial, max=policy.maximum, jitter=policy.jitter)
