"""The step contract: what a unit of the runbook must be able to answer.

A step is idempotent. The engine asks, in this order:

* ``check``  – read-only and cheap: is reality already as wanted? (also re-run after a crash)
* ``plan``   – read-only: what would change (dry-run), or "unknown until X is applied";
* ``apply``  – make it so; safe to repeat; returns outputs for later steps;
* ``verify`` – the postcondition after apply; returns (more) outputs.

Steps receive their collaborators (configuration, adapters) when they are built; the
:class:`StepContext` carries only what the engine owns: run identity, dry-run, deadline,
cancellation, outputs of earlier steps, logging and progress.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runbook.errors import OutputUnknown

if TYPE_CHECKING:
    from runbook.clock import Clock

SHARED = "shared"
# Record statuses that say an apply may have begun and not ended.
CUT_SHORT = frozenset({"running", "interrupted", "failed"})


@dataclass(frozen=True)
class Change:
    """One thing a step would create, update, delete or run."""

    action: str  # create | update | delete | replace | run | read
    target: str
    detail: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"action": self.action, "target": self.target, "detail": self.detail}


@dataclass
class Plan:
    """What a step would do. ``unknown`` says why it cannot be known yet."""

    changes: list[Change] = field(default_factory=list)
    unknown: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def pending(self) -> bool:
        return bool(self.changes) or bool(self.unknown)

    def as_dict(self) -> dict[str, Any]:
        return {
            "changes": [c.as_dict() for c in self.changes],
            "unknown": self.unknown,
            "notes": list(self.notes),
        }


@dataclass
class CheckResult:
    """The answer of ``check``: done or not, why, and outputs when done."""

    done: bool
    reason: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)


class StepContext:
    """What the engine hands a running step. Built by the runner, one per attempt."""

    def __init__(
        self,
        *,
        run_id: str,
        step_id: str,
        env: str | None,
        dry_run: bool,
        clock: Clock,
        log: Any,
        outputs: Mapping[str, Mapping[str, Any]],
        cancel: threading.Event | None = None,
        deadline: float | None = None,
        attempt: int = 1,
        on_waiting: Callable[[str, str], None] | None = None,
        on_secret: Callable[[str], None] | None = None,
        on_change: Callable[[Change], None] | None = None,
        previous_status: str | None = None,
    ) -> None:
        self.run_id = run_id
        self.step_id = step_id
        self.env = env
        self.dry_run = dry_run
        self.clock = clock
        self.log = log
        self.cancel = cancel or threading.Event()
        self.deadline = deadline
        self.attempt = attempt
        self._outputs = outputs
        # How the step's record stood when this run began ("done", "running", "interrupted",
        # "failed", ... or None when it never ran): a check must not trust a probe of the
        # world alone when the last apply may have been cut short.
        self.previous_status = previous_status
        self._last_waiting = ""
        self._on_waiting = on_waiting
        self._on_secret = on_secret
        self._on_change = on_change

    @property
    def apply_cut_short(self) -> bool:
        """Did the step's last apply start and not finish (running at a kill, interrupted, failed)?"""
        return self.previous_status in CUT_SHORT

    def outputs_of(self, step_id: str) -> Mapping[str, Any]:
        """All recorded outputs of an earlier step; raises OutputUnknown if it has none."""
        found = self._outputs.get(step_id)
        if not found:
            raise OutputUnknown(
                f"outputs of step {step_id!r} are not known yet",
                hint=f"they appear once {step_id} has been applied",
            )
        return found

    def output(self, step_id: str, key: str) -> Any:
        """One output of an earlier step; raises OutputUnknown if it is not recorded."""
        values = self.outputs_of(step_id)
        if key not in values:
            raise OutputUnknown(
                f"step {step_id!r} recorded no output {key!r}",
                hint=f"re-apply {step_id} (deploy --from {step_id})",
            )
        return values[key]

    def remaining(self) -> float | None:
        """Seconds left before the step's deadline, or None when it has none."""
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - self.clock.monotonic())

    def waiting_for(self, what: str) -> None:
        """Tell the progress view what this step is waiting on right now — and the log, each
        time it changes, so a run without a terminal (CI, a log file) says what it waits for."""
        if self._on_waiting:
            self._on_waiting(self.step_id, what)
        if what != self._last_waiting and self.log is not None:
            self._last_waiting = what
            self.log.info("waiting", what=what)

    def changed(self, action: str, target: str, detail: str = "") -> None:
        """Tell the run what an apply changed (create/update/delete/replace/run), for its report."""
        if self._on_change:
            self._on_change(Change(action, target, detail))

    def secret(self, value: str) -> str:
        """Register a secret value so it is redacted from every log line and report."""
        if value and self._on_secret:
            self._on_secret(value)
        return value


class Step:
    """Base class of every runbook step. Subclasses override the four operations."""

    id: str = ""
    phase: int = 0
    title: str = ""
    needs: tuple[str, ...] = ()
    scope: str = SHARED
    max_attempts: int = 3
    # When set, transient errors are retried for this many seconds (exponential backoff with
    # jitter, capped interval; the step's deadline bounds it too) instead of ``max_attempts``
    # times: a bad hour of throttling is outlasted by time, not by a small count.
    retry_budget_s: float | None = None
    timeout_s: float = 1800.0
    # Typical duration from reality (reference/durations.md); used for ETA and benchmarks.
    estimate_s: float = 60.0
    # True for steps that only prove the result (a verify command runs only these).
    verification: bool = False
    # Steps whose result this one takes away (a teardown, or a rebuild after one): once it is
    # done in a real run, their records are reset to pending (runbook.cli.forget_undone).
    undoes: tuple[str, ...] = ()

    def inputs(self) -> Any:
        """What the inputs fingerprint covers (config values, file digests). JSON-able."""
        return {}

    def fingerprint(self) -> str:
        """A stable digest of :meth:`inputs`; a changed fingerprint makes the step due."""
        blob = json.dumps(self.inputs(), sort_keys=True, default=str).encode()
        return "sha256:" + hashlib.sha256(blob).hexdigest()

    def check(self, ctx: StepContext) -> CheckResult:
        return CheckResult(done=False, reason="no check defined")

    def plan(self, ctx: StepContext) -> Plan:
        return Plan(changes=[Change("run", self.id)])

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        raise NotImplementedError(f"{type(self).__name__}.apply")

    def verify(self, ctx: StepContext) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        return f"<Step {self.id} phase={self.phase}>"


def digest_files(paths: list[Any], *, suffixes: tuple[str, ...] = ()) -> dict[str, str]:
    """sha256 of every file under the given paths (recursively), for fingerprints."""
    from pathlib import Path

    result: dict[str, str] = {}
    for root in paths:
        root = Path(root)
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for f in files:
            if any(part.startswith(".terraform") for part in f.parts):
                continue
            if suffixes and f.suffix not in suffixes:
                continue
            result[str(f)] = hashlib.sha256(f.read_bytes()).hexdigest()
    return result
