"""Waiting for the world to converge: read the current state first, then poll with backoff.

A probe answers ``(ready, detail)``; ``detail`` is the resource's own status message, so a
wait that runs out can say exactly what was still not ready and why.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from runbook.clock import Clock
from runbook.errors import Interrupted, WaitTimeout
from runbook.retry import Classifier

Probe = Callable[[], "tuple[bool, str]"]
# on_poll(poll number, ready, detail) – for logs and the progress view.
OnPoll = Callable[[int, bool, str], None]

_DEFAULT_CLASSIFIER = Classifier()


def wait_for(
    probe: Probe,
    *,
    what: str,
    timeout: float,
    clock: Clock,
    cancel: threading.Event | None = None,
    interval: float = 5.0,
    max_interval: float = 30.0,
    backoff: float = 2.0,
    deadline: float | None = None,
    on_poll: OnPoll | None = None,
    classifier: Classifier | None = None,
    hint: str = "",
) -> str:
    """Probe now, then every ``interval`` seconds (growing by ``backoff`` up to ``max_interval``)
    until the probe says ready; returns its last detail.

    ``deadline`` (a ``clock.monotonic()`` value, e.g. ``ctx.deadline``) caps ``timeout`` so a
    wait never outlives its step. A probe that raises a transient error (per ``classifier``)
    counts as "not ready"; any other error is raised at once.
    """
    classifier = classifier or _DEFAULT_CLASSIFIER
    start = clock.monotonic()
    end = start + max(0.0, timeout)
    if deadline is not None:
        end = min(end, deadline)
    delay = max(0.0, interval)
    polls = 0
    while True:
        if cancel is not None and cancel.is_set():
            raise Interrupted(f"stopped waiting for {what}: the run is stopping")
        polls += 1
        try:
            ready, detail = probe()
        except Exception as exc:  # classified below, re-raised unless transient
            reason = classifier.classify(exc)
            if reason is None:
                raise
            ready, detail = False, f"probe failed ({reason}): {exc}"
        if on_poll is not None:
            on_poll(polls, ready, detail)
        if ready:
            return detail
        remaining = end - clock.monotonic()
        if remaining <= 0:
            raise WaitTimeout(
                f"{what} not ready after {end - start:g}s: {detail}",
                hint=hint or "it may still be converging: run again to resume waiting, or look at the detail above",
            )
        if clock.sleep(min(delay, remaining), cancel):
            raise Interrupted(f"stopped waiting for {what}: the run is stopping")
        delay = min(max_interval, delay * backoff) if delay > 0 else min(max_interval, 1.0)
