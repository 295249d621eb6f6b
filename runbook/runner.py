"""The scheduler: runs a selection of the step graph, checkpointing every transition.

Every step whose needs are done starts at once, up to ``parallelism`` together. A step is
first *checked*; only when reality is not as wanted is it planned (dry-run) or applied and
verified (with retries for transient errors and a per-step deadline). The state document is
saved after every transition, so a killed run leaves a valid file that says where it was.

Threads: the scheduler runs in the caller's thread and owns every decision; steps run in a
thread pool and report back through a queue. Timeouts and Ctrl-C are enforced from the
scheduler by setting a step's cancel event, which adapters honour at their next safe point.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from runbook.clock import Clock
from runbook.errors import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PENDING,
    EXIT_STEP_FAILED,
    Interrupted,
    RunbookError,
    StepTimeout,
    Unavailable,
    UsageError,
)
from runbook.graph import Graph
from runbook.progress import NullProgress, Progress
from runbook.redact import Redactor
from runbook.retry import Classifier, RetryPolicy, call_with_retries
from runbook.step import SHARED, CheckResult, Plan, Step, StepContext

PENDING = "pending"
RUNNING = "running"
DONE = "done"
FAILED = "failed"
INTERRUPTED = "interrupted"
PLANNED = "planned"

# Outcomes: how a step's status came about in this run (for listings and the report).
UNCHANGED = "unchanged"  # was done with the same inputs; its check agreed (or was trusted)
FOUND_DONE = "found done"  # was due, but its check found reality already as wanted
APPLIED = "applied"
NO_CHANGES = "no changes"  # dry-run: nothing would change
NOT_RUN = "not run"
TIMED_OUT = "timed out"
_NOT_STARTED = "not started"  # a worker found the run stopping before the step began
_BUDGETED_ATTEMPTS = 1000  # with a retry time budget: a guard against a loop, not a limit


@dataclass
class RunOptions:
    """What to run and how. ``recheck=False`` trusts done steps whose inputs are unchanged."""

    dry_run: bool = False
    parallelism: int = 4
    only: Sequence[str] | str | None = None
    from_: str | None = None
    to: str | None = None
    recheck: bool = True


@dataclass
class StepResult:
    """One step's part of a run, as the report and the CLI listing need it."""

    id: str
    phase: int
    title: str
    scope: str
    status: str = PENDING
    outcome: str = NOT_RUN
    attempts: int = 0
    started_at: str | None = None
    finished_at: str | None = None
    duration_s: float | None = None
    changed: bool = False
    changes: list[dict[str, str]] = field(default_factory=list)
    plan_unknown: str = ""
    notes: list[str] = field(default_factory=list)
    error: dict[str, str] | None = None
    retries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def pending_changes(self) -> bool:
        return self.status == PLANNED and (bool(self.changes) or bool(self.plan_unknown))

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class RunResult:
    """The whole run: overall status, exit code and every selected step in runbook order."""

    run_id: str
    command: str
    env: str | None
    dry_run: bool
    status: str
    started_at: str
    finished_at: str
    duration_s: float
    steps: list[StepResult]

    @property
    def changed(self) -> bool:
        return any(s.changed for s in self.steps)

    @property
    def pending_changes(self) -> bool:
        return any(s.pending_changes for s in self.steps)

    @property
    def failed_scopes(self) -> list[str]:
        """The scopes (e.g. environments) with a failed step, in the order of the steps."""
        return list(dict.fromkeys(s.scope for s in self.steps if s.status == FAILED))

    @property
    def exit_code(self) -> int:
        """0 ok, 1 a step failed, 4 a dry-run found pending changes, 130 interrupted.

        The CLI decides whether 4 is used (``--detailed-exitcode``) or reported as 0.
        """
        if self.status == INTERRUPTED:
            return EXIT_INTERRUPTED
        if any(s.status == FAILED for s in self.steps):
            return EXIT_STEP_FAILED
        if self.dry_run and self.pending_changes:
            return EXIT_PENDING
        return EXIT_OK

    def step(self, step_id: str) -> StepResult:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "command": self.command,
            "env": self.env,
            "dry_run": self.dry_run,
            "status": self.status,
            "exit_code": self.exit_code,
            "changed": self.changed,
            "pending_changes": self.pending_changes,
            "failed_scopes": self.failed_scopes,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_s": self.duration_s,
            "steps": [s.as_dict() for s in self.steps],
        }


@dataclass
class _Outcome:
    """What a worker reports back: how the step ended and what it produced."""

    kind: str  # UNCHANGED | FOUND_DONE | APPLIED | PLANNED | FAILED | _NOT_STARTED
    outputs: dict[str, Any] | None = None
    plan: Plan | None = None
    notes: list[str] = field(default_factory=list)
    error: BaseException | None = None


class _StepRun:
    """The scheduler's book-keeping for one step in this run."""

    def __init__(self, step: Step, previous: dict[str, Any] | None, log: Any) -> None:
        self.step = step
        self.previous = previous
        self.log = log
        self.cancel = threading.Event()
        self.fingerprint = ""
        self.started_mono: float | None = None
        self.started_at: str | None = None
        self.deadline: float | None = None
        self.attempts = 0
        self.operation = "check"
        self.retries: list[dict[str, Any]] = []
        self.applied: list[dict[str, str]] = []  # what apply reported changing (StepContext.changed)
        self.finalized = False
        self.worker_alive = False  # submitted and not yet reported back

    @property
    def id(self) -> str:
        return self.step.id


class Runner:
    """Runs steps as a DAG with checkpoints, retries, deadlines and clean interrupts.

    The caller holds the state lock (``store.acquire``) around :meth:`run`; the runner only
    loads and saves the document. ``request_stop`` may be called from a signal handler.
    """

    def __init__(
        self,
        steps: Sequence[Step],
        *,
        store: Any,
        run_id: str,
        env: str | None,
        clock: Clock,
        log: Any,
        redactor: Redactor,
        classifier: Classifier,
        options: RunOptions,
        progress: Progress | None = None,
        command: str = "deploy",
        on_finish: Callable[[RunResult], None] | None = None,
        retry_policy: RetryPolicy | None = None,
        stop_grace_s: float = 60.0,
    ) -> None:
        if options.parallelism < 1:
            raise UsageError(f"--parallelism must be at least 1, not {options.parallelism}")
        self._graph = Graph(steps)
        self._store = store
        self._run_id = run_id
        self._env = env
        self._clock = clock
        self._redactor = redactor
        self._classifier = classifier
        self._options = options
        self._progress: Progress = progress or NullProgress()
        self._command = command
        self._on_finish = on_finish
        self._policy = retry_policy or RetryPolicy()
        self._stop_grace_s = stop_grace_s
        self._log = log.bind(run_id=run_id, env=env)
        self._lock = threading.RLock()
        # SimpleQueue: put() is safe from a signal handler that interrupts a get().
        self._events: queue.SimpleQueue[tuple[str, _StepRun | None, _Outcome | None]] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._stop_deadline: float | None = None
        self._runs: dict[str, _StepRun] = {}
        self._results: dict[str, StepResult] = {}
        self._satisfied: set[str] = set()
        self._doc: dict[str, Any] = {}

    @property
    def graph(self) -> Graph:
        return self._graph

    # -- public ----------------------------------------------------------------------------

    def request_stop(self) -> None:
        """Stop scheduling, cancel running steps, record them interrupted once they stop.

        A second call stops waiting for running steps to reach a safe point.
        """
        if self._stopping.is_set():
            self._stop_deadline = float("-inf")
        self._stopping.set()
        for run in list(self._runs.values()):
            if not run.finalized:
                run.cancel.set()
        self._events.put(("wake", None, None))

    def run(self) -> RunResult:
        """Run the selection; returns the result (it raises only for usage errors)."""
        if self._results:
            raise RuntimeError("a Runner runs once; build a new one for the next run")
        opts = self._options
        selected = self._graph.select(only=opts.only, from_=opts.from_, to=opts.to)
        self._doc = self._store.load()
        self._doc.setdefault("steps", {})
        # A dry-run says what the real run would: unmet needs are refused the same way.
        self._require_prerequisites(selected)

        started_mono = self._clock.monotonic()
        started_at = self._now()
        for sid in selected:
            step = self._graph[sid]
            self._results[sid] = StepResult(id=sid, phase=step.phase, title=step.title, scope=step.scope)
        with self._lock:
            self._doc["last_run"] = {
                "run_id": self._run_id,
                "command": self._command,
                "env": self._env,
                "dry_run": opts.dry_run,
                "status": RUNNING,
                "started_at": started_at,
                # What was selected, so `resume` continues exactly this run.
                "selection": {
                    "only": list(_as_list(opts.only)),
                    "from": opts.from_,
                    "to": opts.to,
                    "parallelism": opts.parallelism,
                },
            }
            self._save()
        self._log.info(
            "run started",
            command=self._command,
            dry_run=opts.dry_run,
            steps=len(selected),
            parallelism=opts.parallelism,
        )
        statuses = {sid: (self._doc["steps"].get(sid) or {}).get("status", PENDING) for sid in selected}
        self._progress.run_started([self._graph[sid] for sid in selected], statuses)

        self._schedule(selected)

        result = self._build_result(selected, started_at, started_mono)
        with self._lock:
            self._doc["last_run"].update(status=result.status, finished_at=result.finished_at)
            self._save()
        self._log.info(
            "run finished",
            status=result.status,
            exit_code=result.exit_code,
            duration_s=result.duration_s,
            changed=result.changed,
        )
        self._progress.run_finished(result.status)
        if self._on_finish is not None:
            self._on_finish(result)
        return result

    # -- scheduling ------------------------------------------------------------------------

    def _require_prerequisites(self, selected: list[str]) -> None:
        chosen = set(selected)
        for sid in selected:
            for need in self._graph[sid].needs:
                if need in chosen:
                    continue
                status = (self._doc["steps"].get(need) or {}).get("status", "never run")
                if status != DONE:
                    raise UsageError(
                        f"step {sid!r} needs {need!r}, which is not done (status: {status})",
                        hint=f"run {need!r} first, or widen the selection (e.g. --from {need})",
                    )

    def _schedule(self, selected: list[str]) -> None:
        waiting = list(selected)
        chosen = set(selected)
        outside = {n for sid in selected for n in self._graph[sid].needs if n not in chosen}
        self._satisfied = set(outside)  # checked by _require_prerequisites (or lenient in dry-run)
        tails = self._graph.tail_lengths(among=chosen)
        # Longest remaining chain first, then runbook order (``waiting`` is in runbook order).
        waiting.sort(key=lambda sid: -tails[sid])
        live: dict[str, _StepRun] = {}  # runs whose worker has not reported back (timed-out ones included)
        executor = ThreadPoolExecutor(max_workers=self._options.parallelism, thread_name_prefix="runbook-step")
        try:
            while True:
                if not self._stopping.is_set():
                    self._start_ready(waiting, live, executor)
                active = [r for r in live.values() if not r.finalized]
                if not active:
                    break
                try:
                    kind, run, outcome = self._events.get(timeout=self._wait_time(active))
                except queue.Empty:
                    kind, run, outcome = "tick", None, None
                except KeyboardInterrupt:
                    self.request_stop()
                    continue
                if kind == "finished" and run is not None and outcome is not None:
                    live.pop(run.id, None)
                    if run.finalized:
                        run.log.info("timed-out step stopped", outcome=outcome.kind)
                    else:
                        self._finish(run, outcome, waiting)
                self._enforce_deadlines(waiting)
                self._enforce_stop_grace()
        finally:
            for run in live.values():
                if not run.finalized:  # only on an internal error: do not leave steps running
                    run.cancel.set()
            self._drain(live)
            executor.shutdown(wait=False, cancel_futures=True)
        for sid in waiting:
            result = self._results[sid]
            if self._stopping.is_set() and not result.notes:
                result.notes.append("not started: the run was interrupted")

    def _start_ready(self, waiting: list[str], live: dict[str, _StepRun], executor: ThreadPoolExecutor) -> None:
        active = sum(1 for r in live.values() if not r.finalized)
        for sid in list(waiting):
            if active >= self._options.parallelism:
                return
            step = self._graph[sid]
            if not all(n in self._satisfied for n in step.needs):
                continue
            waiting.remove(sid)
            with self._lock:
                previous = self._doc["steps"].get(sid)
            # A step of one scope (env) logs under it: a run over several says whose line it is.
            scoped = {"env": step.scope} if step.scope != SHARED else {}
            run = _StepRun(step, dict(previous) if previous else None, self._log.bind(step=sid, **scoped))
            run.worker_alive = True
            self._runs[sid] = run
            live[sid] = run
            active += 1
            executor.submit(self._work, run)

    def _wait_time(self, active: list[_StepRun]) -> float:
        now = self._clock.monotonic()
        limits = [r.deadline - now for r in active if r.deadline is not None]
        if self._stop_deadline is not None:
            limits.append(self._stop_deadline - time.monotonic())
        # Re-evaluate at least every half second: a worker sets its deadline when it begins.
        return max(0.0, min(limits + [0.5]))

    def _enforce_deadlines(self, waiting: list[str]) -> None:
        now = self._clock.monotonic()
        for run in list(self._runs.values()):
            if run.finalized or run.deadline is None or now < run.deadline:
                continue
            run.cancel.set()
            timeout = run.step.timeout_s
            error = StepTimeout(
                f"step {run.id} did not finish within its timeout of {timeout:g}s (during {run.operation})",
                hint="re-run to re-check it; if it is only slow, raise the step's timeout",
            )
            self._fail(run, error, waiting, outcome=TIMED_OUT)

    def _enforce_stop_grace(self) -> None:
        # Real time, not the injected clock: this bounds how long a person waits after Ctrl-C.
        if not self._stopping.is_set():
            return
        now = time.monotonic()
        if self._stop_deadline is None:
            self._stop_deadline = now + self._stop_grace_s
        if now < self._stop_deadline:
            return
        for run in list(self._runs.values()):
            if not run.finalized and run.worker_alive:
                self._interrupt(
                    run,
                    Interrupted(f"step {run.id} did not reach a safe point within {self._stop_grace_s:g}s of the stop"),
                )

    def _drain(self, live: dict[str, _StepRun]) -> None:
        """Give cancelled workers (timed out or interrupted) a bounded time to return."""
        if self._stopping.is_set() and self._stop_deadline is not None:
            end = self._stop_deadline  # the stop's grace period bounds this wait too
        else:
            end = time.monotonic() + min(self._stop_grace_s, 10.0)
        while live and time.monotonic() < end and self._stop_deadline != float("-inf"):
            try:
                kind, run, _ = self._events.get(timeout=max(0.0, min(0.5, end - time.monotonic())))
            except queue.Empty:
                continue
            except KeyboardInterrupt:
                self._stop_deadline = float("-inf")
                break
            if kind == "finished" and run is not None:
                live.pop(run.id, None)

    # -- the worker ------------------------------------------------------------------------

    def _work(self, run: _StepRun) -> None:
        try:
            outcome = self._execute(run)
        except BaseException as exc:  # noqa: BLE001 - every failure is reported to the scheduler
            outcome = _Outcome(FAILED, error=exc)
        finally:
            run.worker_alive = False
        self._events.put(("finished", run, outcome))

    def _execute(self, run: _StepRun) -> _Outcome:
        step, dry_run = run.step, self._options.dry_run
        if run.cancel.is_set():
            return _Outcome(_NOT_STARTED)
        run.started_mono = self._clock.monotonic()
        run.started_at = self._now()
        if step.timeout_s and step.timeout_s > 0:
            run.deadline = run.started_mono + step.timeout_s
            self._events.put(("began", run, None))  # the scheduler now watches this deadline
        run.fingerprint = step.fingerprint()
        previous = run.previous or {}
        same = previous.get("status") == DONE and previous.get("fingerprint") == run.fingerprint
        run.log.info(
            "step started",
            phase=step.phase,
            previous_status=previous.get("status", "never run"),
            inputs_changed=bool(previous.get("fingerprint")) and previous.get("fingerprint") != run.fingerprint,
        )
        self._progress.step_started(run.id, 1)
        if same and not self._options.recheck:
            return _Outcome(UNCHANGED)
        if not same and not dry_run:
            self._mark_running(run)

        notes: list[str] = []
        check: CheckResult | None = None
        # Done before with other inputs: the step is due again. Its check only says whether
        # reality matches the *old* inputs, so it is skipped; plan/apply decide what changes.
        inputs_changed = previous.get("status") == DONE and bool(previous.get("fingerprint")) and not same
        if inputs_changed:
            notes.append("inputs changed since the last apply")
        else:
            run.operation = "check"
            try:
                check = self._with_retries(run, lambda: step.check(self._context(run, 1)), "check")
            except Unavailable as exc:
                if not dry_run:
                    raise
                notes.append(f"could not check offline: {exc.message}")
                check = None
        if check is not None and check.done:
            return _Outcome(UNCHANGED if same else FOUND_DONE, outputs=dict(check.outputs), notes=notes)
        if check is not None and check.reason:
            notes.append(check.reason)

        if dry_run:
            run.operation = "plan"
            try:
                plan = self._with_retries(run, lambda: step.plan(self._context(run, 1)), "plan")
            except Unavailable as exc:
                plan = Plan(unknown=exc.message, notes=[f"could not check offline: {exc.message}"])
            return _Outcome(PLANNED, plan=plan, notes=notes + list(plan.notes))

        if same:  # done before, but the check says reality drifted: this is a transition
            self._mark_running(run)

        def attempt() -> dict[str, Any]:
            run.attempts += 1
            if run.attempts > 1:
                self._progress.step_started(run.id, run.attempts)
            ctx = self._context(run, run.attempts)
            run.operation = "apply"
            produced = dict(step.apply(ctx) or {})
            run.operation = "verify"
            produced.update(step.verify(ctx) or {})
            return produced

        outputs = self._with_retries(run, attempt, "apply")
        return _Outcome(APPLIED, outputs=outputs, notes=notes)

    def _with_retries(self, run: _StepRun, fn: Callable[[], Any], what: str) -> Any:
        policy = dataclasses.replace(self._policy, max_attempts=max(1, run.step.max_attempts))
        budget = run.step.retry_budget_s
        if budget:
            # The budget, not the count, is the limit; the count only guards against a loop.
            policy = dataclasses.replace(policy, max_attempts=max(policy.max_attempts, _BUDGETED_ATTEMPTS), budget_s=budget)

        def on_retry(attempt: int, reason: str, exc: BaseException, delay: float) -> None:
            message = self._redactor.redact(str(exc))
            run.retries.append(
                {"operation": run.operation, "attempt": attempt, "reason": reason, "delay_s": round(delay, 3), "error": message}
            )
            of = f"{policy.max_attempts}" if policy.budget_s is None else f"{policy.budget_s:g}s budget"
            run.log.warning(
                f"retry {attempt + 1}/{of} because {reason}",
                operation=run.operation,
                attempt=attempt,
                max_attempts=policy.max_attempts,
                reason=reason,
                delay_s=round(delay, 3),
                error=message,
            )
            self._progress.retrying(run.id, attempt, reason, delay)

        return call_with_retries(
            fn,
            policy=policy,
            classifier=self._classifier,
            clock=self._clock,
            cancel=run.cancel,
            on_retry=on_retry,
            what=f"{what} of {run.id}",
        )

    def _context(self, run: _StepRun, attempt: int) -> StepContext:
        with self._lock:
            outputs = {sid: rec.get("outputs") or {} for sid, rec in self._doc["steps"].items()}
        return StepContext(
            run_id=self._run_id,
            step_id=run.id,
            env=self._env,
            dry_run=self._options.dry_run,
            clock=self._clock,
            log=run.log.bind(attempt=attempt),
            outputs=outputs,
            cancel=run.cancel,
            deadline=run.deadline,
            attempt=attempt,
            on_waiting=self._progress.step_waiting,
            on_secret=self._redactor.add,
            on_change=lambda change: self._applied(run, change),
            previous_status=_status_before_plans(run.previous),
        )

    def _applied(self, run: _StepRun, change: Any) -> None:
        entry = self._redactor.redact_obj(change.as_dict())
        with self._lock:
            if entry not in run.applied:
                run.applied.append(entry)

    # -- recording -------------------------------------------------------------------------

    def _finish(self, run: _StepRun, outcome: _Outcome, waiting: list[str]) -> None:
        if outcome.kind == _NOT_STARTED:
            run.finalized = True
            self._results[run.id].notes.append("not started: the run was interrupted")
            return
        if outcome.error is not None:
            if isinstance(outcome.error, Interrupted) or self._stopping.is_set():
                self._interrupt(run, outcome.error)
                if not self._stopping.is_set():  # a step was interrupted from outside: stop the run
                    self.request_stop()
            else:
                self._fail(run, outcome.error, waiting)
            return
        result = self._results[run.id]
        result.notes.extend(self._redactor.redact(n) for n in outcome.notes if n)
        if outcome.kind == PLANNED:
            self._finish_planned(run, outcome.plan or Plan())
        else:
            self._finish_done(run, outcome)
        self._satisfied.add(run.id)

    def _finish_done(self, run: _StepRun, outcome: _Outcome) -> None:
        result = self._timed_result(run, DONE, outcome.kind)
        result.changed = outcome.kind == APPLIED
        if outcome.kind == APPLIED:
            # What was done: the changes the apply reported, or at least that it was applied.
            result.changes = list(run.applied) or [{"action": APPLIED, "target": run.id, "detail": run.step.title}]
        if not self._options.dry_run:
            with self._lock:
                record = self._record(run)
                previous_outputs = dict(record.get("outputs") or {})
                new = self._redactor.redact_obj(outcome.outputs or {})
                if outcome.kind == APPLIED:
                    outputs = new or previous_outputs
                else:  # a check's outputs refresh what was known
                    outputs = {**previous_outputs, **new}
                transition = outcome.kind != UNCHANGED or record.get("status") != DONE
                if transition:
                    record.update(
                        status=DONE,
                        attempts=run.attempts,
                        started_at=result.started_at,
                        finished_at=result.finished_at,
                        duration_s=result.duration_s,
                        fingerprint=run.fingerprint,
                        outputs=outputs,
                        changes=list(result.changes),
                        error=None,
                        run_id=self._run_id,
                    )
                    self._save()
                elif outputs != previous_outputs:
                    record["outputs"] = outputs
                    self._save()
        run.log.info(
            "step finished",
            status=DONE,
            outcome=outcome.kind,
            attempts=run.attempts,
            duration_s=result.duration_s,
        )
        self._progress.step_finished(run.id, DONE, outcome.kind)

    def _finish_planned(self, run: _StepRun, plan: Plan) -> None:
        changes = [self._redactor.redact_obj(c.as_dict()) for c in plan.changes]
        unknown = self._redactor.redact(plan.unknown)
        status = PLANNED if plan.pending else DONE
        result = self._timed_result(run, status, PLANNED if plan.pending else NO_CHANGES)
        result.changes = changes
        result.plan_unknown = unknown
        if plan.pending:
            with self._lock:
                earlier = (self._doc["steps"].get(run.id) or {}).get("status")
                record = self._record(run)
                if earlier and earlier != PLANNED:  # what the step was before this plan
                    record["previous_status"] = earlier
                record.update(
                    status=PLANNED,
                    changes=changes,
                    plan_unknown=unknown,
                    notes=list(result.notes),
                    planned_at=result.finished_at,
                    run_id=self._run_id,
                )
                self._save()
        run.log.info(
            "step planned",
            changes=len(changes),
            unknown=unknown or None,
            duration_s=result.duration_s,
        )
        self._progress.step_finished(run.id, status, f"{len(changes)} change(s)" + (" + unknown" if unknown else ""))

    def _fail(self, run: _StepRun, exc: BaseException, waiting: list[str], *, outcome: str = FAILED) -> None:
        result = self._timed_result(run, FAILED, outcome)
        result.error = self._describe(run, exc)
        blocked = [d for d in self._graph.dependents(run.id) if d in waiting]
        for dep in blocked:
            waiting.remove(dep)
            self._results[dep].notes.append(f"not run: needs {run.id}, which failed")
        if not self._options.dry_run:  # a dry-run records only plans: a failed plan changes nothing
            with self._lock:
                record = self._record(run)
                record.update(
                    status=FAILED,
                    attempts=run.attempts,
                    started_at=result.started_at,
                    finished_at=result.finished_at,
                    duration_s=result.duration_s,
                    error=result.error,
                    run_id=self._run_id,
                )
                if run.fingerprint:
                    record["fingerprint"] = run.fingerprint
                for dep in blocked:
                    dep_record = self._doc["steps"].get(dep)
                    if dep_record is None or dep_record.get("status") != DONE:
                        self._record_for(self._graph[dep]).update(status=PENDING, error=None)
                self._save()
        log_fields: dict[str, Any] = {
            "error_type": result.error["type"],
            "error": result.error["message"],
            "hint": result.error["hint"],
            "operation": result.error["operation"],
            "attempts": run.attempts,
            "blocked": blocked or None,
        }
        if not isinstance(exc, RunbookError):
            log_fields["exc_info"] = exc  # an unexpected error: keep the traceback in the log
        run.log.error("step failed", **log_fields)
        self._progress.step_finished(run.id, FAILED, result.error["message"][:120])

    def _interrupt(self, run: _StepRun, exc: BaseException) -> None:
        run.cancel.set()
        result = self._timed_result(run, INTERRUPTED, INTERRUPTED)
        result.error = self._describe(run, exc)
        if self._options.dry_run:
            run.log.warning("step interrupted", operation=run.operation)
            self._progress.step_finished(run.id, INTERRUPTED, "")
            return
        with self._lock:
            record = self._record(run)
            record.update(
                status=INTERRUPTED,
                attempts=run.attempts,
                started_at=result.started_at,
                finished_at=result.finished_at,
                duration_s=result.duration_s,
                error=result.error,
                run_id=self._run_id,
            )
            self._save()
        run.log.warning("step interrupted", operation=run.operation, attempts=run.attempts)
        self._progress.step_finished(run.id, INTERRUPTED, "")

    def _mark_running(self, run: _StepRun) -> None:
        with self._lock:
            if run.finalized:
                return
            record = self._record(run)
            record.update(
                status=RUNNING,
                attempts=0,
                started_at=run.started_at,
                finished_at=None,
                duration_s=None,
                error=None,
                run_id=self._run_id,
            )
            self._save()

    def _timed_result(self, run: _StepRun, status: str, outcome: str) -> StepResult:
        """Mark ``run`` final and fill its result's status, outcome, attempts and timings."""
        with self._lock:  # a worker checks `finalized` under this lock before it records anything
            run.finalized = True
        result = self._results[run.id]
        result.status = status
        result.outcome = outcome
        result.attempts = run.attempts
        result.retries = list(run.retries)
        result.started_at = run.started_at
        result.finished_at = self._now()
        if run.started_mono is not None:
            result.duration_s = round(self._clock.monotonic() - run.started_mono, 3)
        return result

    def _describe(self, run: _StepRun, exc: BaseException) -> dict[str, str]:
        message = str(exc) or repr(exc)
        if isinstance(exc, RunbookError):
            # Every recorded failure says what to do next, even when the error brought no hint.
            hint = (
                exc.hint or f"read the error of step {run.id} above and in the log ({run.operation}), fix its cause, then resume"
            )
        else:
            hint = f"an unexpected {type(exc).__name__} in step {run.id}: see the log for the traceback"
        return {
            "type": type(exc).__name__,
            "message": self._redactor.redact(message),
            "hint": self._redactor.redact(hint),
            "operation": run.operation,
        }

    def _record(self, run: _StepRun) -> dict[str, Any]:
        return self._record_for(run.step)

    def _record_for(self, step: Step) -> dict[str, Any]:
        records: dict[str, dict[str, Any]] = self._doc["steps"]
        record = records.get(step.id)
        if record is None:
            record = records[step.id] = {
                "status": PENDING,
                "phase": step.phase,
                "scope": step.scope,
                "attempts": 0,
                "started_at": None,
                "finished_at": None,
                "duration_s": None,
                "fingerprint": None,
                "outputs": {},
                "changes": [],
                "error": None,
                "run_id": self._run_id,
            }
        return record

    def _save(self) -> None:
        with self._lock:
            self._doc["updated_at"] = self._now()
            self._store.save(self._doc)

    def _build_result(self, selected: list[str], started_at: str, started_mono: float) -> RunResult:
        steps = [self._results[sid] for sid in selected]
        if self._stopping.is_set():
            status = INTERRUPTED
        elif any(s.status == FAILED for s in steps):
            status = FAILED
        elif self._options.dry_run and any(s.pending_changes for s in steps):
            status = "pending"
        else:
            status = "ok"
        return RunResult(
            run_id=self._run_id,
            command=self._command,
            env=self._env,
            dry_run=self._options.dry_run,
            status=status,
            started_at=started_at,
            finished_at=self._now(),
            duration_s=round(self._clock.monotonic() - started_mono, 3),
            steps=steps,
        )

    def _now(self) -> str:
        return self._clock.now().isoformat(timespec="milliseconds")


def _status_before_plans(record: dict[str, Any] | None) -> str | None:
    """The record's status, looking through a dry-run's "planned" to what the step was before."""
    record = record or {}
    status = record.get("status")
    if status == PLANNED:
        return record.get("previous_status") or None
    return status


def _as_list(value: Sequence[str] | str | None) -> list[str]:
    if not value:
        return []
    return [value] if isinstance(value, str) else list(value)
