"""The runner: DAG scheduling, checkpoints, retries, deadlines, dry-run, failures and stops.

The steps here act on a small in-memory "world" (which inputs each step last applied), so
``check`` answers truthfully, like a real step would. The state store is an in-memory
implementation of the StateStore protocol (docs/architecture.md §2) that keeps every saved
version, JSON round-tripped, so tests can see each checkpoint exactly as it would be written.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from runbook.clock import Clock, FakeClock
from runbook.errors import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PENDING,
    EXIT_STEP_FAILED,
    EXIT_USAGE,
    Interrupted,
    LockHeld,
    PermanentError,
    TransientError,
    Unavailable,
    UsageError,
)
from runbook.redact import Redactor
from runbook.retry import Classifier, RetryPolicy
from runbook.runner import Runner, RunOptions, RunResult
from runbook.step import Change, CheckResult, Plan, Step, StepContext
from runbook.waits import wait_for

# -- test doubles --------------------------------------------------------------------------


@dataclass
class Holder:
    run_id: str
    user: str = "tester"
    host: str = "localhost"
    pid: int = os.getpid()
    started_at: str = ""


class MemoryStore:
    """The StateStore protocol in memory; every save is JSON round-tripped and kept."""

    location = "memory://state.json"

    def __init__(self, doc: dict[str, Any] | None = None) -> None:
        self.doc: dict[str, Any] = json.loads(json.dumps(doc)) if doc else {"schema_version": 1, "tool": "test", "steps": {}}
        self.saves: list[dict[str, Any]] = []
        self._holder: Holder | None = None
        self._lock = threading.Lock()

    def load(self) -> dict[str, Any]:
        return json.loads(json.dumps(self.doc))

    def save(self, doc: dict[str, Any]) -> None:
        snapshot = json.loads(json.dumps(doc))  # fails loudly on anything not JSON
        with self._lock:
            self.doc = snapshot
            self.saves.append(snapshot)

    def acquire(self, holder: Holder) -> None:
        if self._holder is not None and self._holder.run_id != holder.run_id:
            raise LockHeld(f"state is locked by run {self._holder.run_id}")
        self._holder = holder

    def release(self, run_id: str) -> None:
        if self._holder is not None and self._holder.run_id == run_id:
            self._holder = None

    def holder(self) -> Holder | None:
        return self._holder

    def force_unlock(self) -> Holder | None:
        previous, self._holder = self._holder, None
        return previous

    def status(self, step_id: str) -> str | None:
        return (self.doc["steps"].get(step_id) or {}).get("status")


class RecordingLog:
    """A structlog-like logger that records (level, event, bound + given fields)."""

    def __init__(self, records: list[dict[str, Any]] | None = None, bound: dict[str, Any] | None = None) -> None:
        self.records = records if records is not None else []
        self.bound = bound or {}

    def bind(self, **fields: Any) -> RecordingLog:
        return RecordingLog(self.records, {**self.bound, **fields})

    def _emit(self, level: str, event: str, **fields: Any) -> None:
        self.records.append({"level": level, "event": event, **self.bound, **fields})

    def debug(self, event: str, **fields: Any) -> None:
        self._emit("debug", event, **fields)

    def info(self, event: str, **fields: Any) -> None:
        self._emit("info", event, **fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._emit("warning", event, **fields)

    def error(self, event: str, **fields: Any) -> None:
        self._emit("error", event, **fields)

    def events(self, **match: Any) -> list[dict[str, Any]]:
        return [r for r in self.records if all(r.get(k) == v for k, v in match.items())]


class RecordingProgress:
    def __init__(self) -> None:
        self.events: list[tuple] = []

    def run_started(self, steps, statuses) -> None:
        self.events.append(("run_started", [s.id for s in steps]))

    def step_started(self, step_id: str, attempt: int = 1) -> None:
        self.events.append(("started", step_id, attempt))

    def step_waiting(self, step_id: str, what: str) -> None:
        self.events.append(("waiting", step_id, what))

    def retrying(self, step_id: str, attempt: int, reason: str, delay: float) -> None:
        self.events.append(("retrying", step_id, attempt, reason))

    def step_finished(self, step_id: str, status: str, detail: str = "") -> None:
        self.events.append(("finished", step_id, status))

    def run_finished(self, status: str) -> None:
        self.events.append(("run_finished", status))


class World:
    """Reality for the fake steps: the inputs each step last applied."""

    def __init__(self) -> None:
        self.applied: dict[str, Any] = {}


Hook = Callable[[StepContext], Any]


class FakeStep(Step):
    def __init__(
        self,
        id: str,
        phase: int = 1,
        needs: tuple[str, ...] = (),
        *,
        world: World,
        wanted: Any = "v1",
        outputs: dict[str, Any] | None = None,
        apply: Hook | None = None,
        check: Hook | None = None,
        plan: Hook | None = None,
        verify: Hook | None = None,
        max_attempts: int = 3,
        timeout_s: float = 30.0,
    ) -> None:
        self.id, self.phase, self.needs = id, phase, needs
        self.world = world
        self.wanted = wanted
        self.outputs = outputs if outputs is not None else {"name": f"{id}-resource"}
        self.hooks = {"apply": apply, "check": check, "plan": plan, "verify": verify}
        self.max_attempts = max_attempts
        self.timeout_s = timeout_s
        self.calls: list[str] = []

    def inputs(self) -> Any:
        return {"wanted": self.wanted}

    def _hook(self, name: str, ctx: StepContext) -> tuple[bool, Any]:
        self.calls.append(name)
        hook = self.hooks[name]
        return (hook is not None, hook(ctx) if hook is not None else None)

    def check(self, ctx: StepContext) -> CheckResult:
        hooked, value = self._hook("check", ctx)
        if hooked and value is not None:
            return value
        applied = self.world.applied.get(self.id, None)
        if applied == self.wanted:
            return CheckResult(True, outputs=dict(self.outputs))
        return CheckResult(False, "not applied yet" if applied is None else f"applied {applied}, wanted {self.wanted}")

    def plan(self, ctx: StepContext) -> Plan:
        hooked, value = self._hook("plan", ctx)
        if hooked and value is not None:
            return value
        action = "create" if self.id not in self.world.applied else "update"
        return Plan(changes=[Change(action, self.id, f"to {self.wanted}")])

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        _, extra = self._hook("apply", ctx)
        self.world.applied[self.id] = self.wanted
        return {**self.outputs, **(extra or {})}

    def verify(self, ctx: StepContext) -> dict[str, Any]:
        _, extra = self._hook("verify", ctx)
        return dict(extra or {})


FAST = RetryPolicy(max_attempts=3, initial=0.01, maximum=0.05, jitter=0)


def make_runner(
    steps: list[Step],
    *,
    store: MemoryStore | None = None,
    clock: Clock | None = None,
    log: RecordingLog | None = None,
    classifier: Classifier | None = None,
    progress: Any = None,
    redactor: Redactor | None = None,
    run_id: str = "run-1",
    policy: RetryPolicy = FAST,
    on_finish: Callable[[RunResult], None] | None = None,
    stop_grace_s: float = 5.0,
    **options: Any,
) -> Runner:
    return Runner(
        steps,
        store=store if store is not None else MemoryStore(),
        run_id=run_id,
        env="dev",
        clock=clock or Clock(),
        log=log or RecordingLog(),
        redactor=redactor or Redactor(),
        classifier=classifier or Classifier(),
        options=RunOptions(**options),
        progress=progress,
        on_finish=on_finish,
        retry_policy=policy,
        stop_grace_s=stop_grace_s,
    )


def run_locked(runner: Runner, store: MemoryStore, run_id: str = "run-1") -> RunResult:
    """What the CLI does: hold the state lock around the run."""
    store.acquire(Holder(run_id))
    try:
        return runner.run()
    finally:
        store.release(run_id)


def chain(world: World, *ids: str, **kwargs: Any) -> list[FakeStep]:
    steps: list[FakeStep] = []
    for i, sid in enumerate(ids):
        steps.append(FakeStep(sid, i + 1, (ids[i - 1],) if i else (), world=world, **kwargs))
    return steps


def kyeol_like(world: World, apply: Callable[[str], Hook] | None = None) -> list[FakeStep]:
    """The 11-step dev graph of docs/architecture.md §1."""
    spec = [
        ("bootstrap", 1, ()),
        ("global", 2, ("bootstrap",)),
        ("mgmt.registry", 2, ("bootstrap",)),
        ("mgmt.infra", 2, ("mgmt.registry",)),
        ("dev.infra", 3, ("bootstrap", "global")),
        ("argocd", 4, ("mgmt.infra",)),
        ("dev.register", 5, ("argocd", "dev.infra")),
        ("dev.addons", 6, ("dev.register",)),
        ("dev.images", 7, ("mgmt.registry",)),
        ("dev.sync", 8, ("dev.addons", "dev.images")),
        ("dev.verify", 9, ("dev.sync",)),
    ]
    return [FakeStep(sid, phase, needs, world=world, apply=apply(sid) if apply else None) for sid, phase, needs in spec]


# -- a plain run ---------------------------------------------------------------------------


def test_fresh_run_applies_in_order_hands_outputs_on_and_checkpoints() -> None:
    world = World()
    seen_running: list[str | None] = []
    store = MemoryStore()

    def use_a(ctx: StepContext) -> dict[str, Any]:
        seen_running.append(store.status(ctx.step_id))  # saved as running before apply runs
        return {"endpoint": f"https://{ctx.output('a', 'name')}"}

    steps = chain(world, "a", "b", "c")
    steps[1].hooks["apply"] = use_a
    finished: list[tuple[RunResult, str]] = []

    def on_finish(result: RunResult) -> None:
        finished.append((result, store.holder().run_id))

    result = run_locked(make_runner(steps, store=store, on_finish=on_finish), store)

    assert result.exit_code == EXIT_OK and result.status == "ok" and result.changed
    assert [s.id for s in result.steps] == ["a", "b", "c"]
    assert all(s.status == "done" and s.outcome == "applied" and s.attempts == 1 for s in result.steps)
    assert seen_running == ["running"]
    assert finished == [(result, "run-1")]  # on_finish ran before run() returned, under the caller's lock
    record = store.doc["steps"]["b"]
    assert record["status"] == "done" and record["run_id"] == "run-1" and record["attempts"] == 1
    assert record["outputs"] == {"name": "b-resource", "endpoint": "https://a-resource"}
    assert record["fingerprint"] == steps[1].fingerprint()
    assert store.doc["last_run"]["status"] == "ok" and store.doc["last_run"]["env"] == "dev"
    # every transition was a checkpoint: b went pending → running → done in separate saves
    b_states = [s["steps"]["b"]["status"] for s in store.saves if "b" in s["steps"]]
    assert b_states[0] == "running" and b_states[-1] == "done"
    assert all(s.calls == ["check", "apply", "verify"] for s in steps)


def test_independent_steps_run_together() -> None:
    world = World()
    spans: dict[str, tuple[float, float]] = {}

    def sleeper(ctx: StepContext) -> None:
        start = time.monotonic()
        time.sleep(1.0)
        spans[ctx.step_id] = (start, time.monotonic())

    steps = [FakeStep(sid, 1, world=world, apply=sleeper) for sid in ("left", "right")]
    t0 = time.monotonic()
    result = make_runner(steps, parallelism=4).run()
    wall = time.monotonic() - t0
    assert result.exit_code == EXIT_OK
    (s1, e1), (s2, e2) = spans["left"], spans["right"]
    assert max(s1, s2) < min(e1, e2), "independent steps did not overlap"
    assert wall < 1.8  # one sleep, not two (with room for a loaded machine's scheduling)

    spans.clear()
    world.applied.clear()
    make_runner(steps, store=MemoryStore(), parallelism=1).run()
    (s1, e1), (s2, e2) = spans["left"], spans["right"]
    assert e1 <= s2, "parallelism=1 must run one step at a time"


def test_parallelism_is_a_bound() -> None:
    world = World()
    lock = threading.Lock()
    current = [0]
    peak = [0]

    def busy(ctx: StepContext) -> None:
        with lock:
            current[0] += 1
            peak[0] = max(peak[0], current[0])
        time.sleep(0.05)
        with lock:
            current[0] -= 1

    steps = [FakeStep(f"s{i}", 1, world=world, apply=busy) for i in range(6)]
    assert make_runner(steps, parallelism=2).run().exit_code == EXIT_OK
    assert peak[0] == 2


def test_whole_graph_runs_near_its_critical_path() -> None:
    """Reference durations scaled 1 min → 20 ms: the run takes about the critical path
    (31.5 min), not the sequential sum (54.5 min)."""
    minutes = {
        "bootstrap": 1,
        "global": 1,
        "mgmt.registry": 0.5,
        "mgmt.infra": 13.5,
        "dev.infra": 14,
        "argocd": 2,
        "dev.register": 0.5,
        "dev.addons": 3,
        "dev.images": 8,
        "dev.sync": 9,
        "dev.verify": 2,
    }
    scale = 0.04
    world = World()
    spans: dict[str, tuple[float, float]] = {}

    def timed(sid: str) -> Hook:
        def apply(ctx: StepContext) -> None:
            began = time.monotonic()
            time.sleep(minutes[sid] * scale)
            spans[sid] = (began, time.monotonic())

        return apply

    steps = kyeol_like(world, apply=timed)
    runner = make_runner(steps, parallelism=4)
    t0 = time.monotonic()
    result = runner.run()
    wall = time.monotonic() - t0
    critical, _path = runner.graph.critical_path({sid: m * scale for sid, m in minutes.items()})
    assert result.exit_code == EXIT_OK
    assert critical == pytest.approx(31.5 * scale)
    assert wall >= critical

    def overlap(a: str, b: str) -> bool:
        return spans[a][0] < spans[b][1] and spans[b][0] < spans[a][1]

    # Independent long steps run at once, whatever the machine's load ...
    assert overlap("mgmt.infra", "dev.infra") and overlap("dev.images", "dev.infra")
    # ... and the run is nearer its critical path than the sequential sum (a ratio, not a
    # tight bound: a loaded 2-core machine adds scheduling delay to every step).
    sequential = 54.5 * scale
    assert wall < (critical + sequential) / 2, f"{wall:.2f}s: critical path {critical:.2f}s, sequential {sequential:.2f}s"


# -- retries -------------------------------------------------------------------------------


def test_transient_failures_are_retried_with_backoff_and_logged_with_the_reason() -> None:
    world = World()
    clock = FakeClock()
    log = RecordingLog()
    failures = iter([TransientError("Rate exceeded", reason="throttled"), TransientError("Rate exceeded", reason="throttled")])

    def throttled(ctx: StepContext) -> None:
        error = next(failures, None)
        if error:
            raise error

    step = FakeStep("a", world=world, apply=throttled, max_attempts=3)
    store = MemoryStore()
    progress = RecordingProgress()
    result = make_runner(
        [step], store=store, clock=clock, log=log, progress=progress, policy=RetryPolicy(initial=1, maximum=30, jitter=0)
    ).run()

    a = result.step("a")
    assert a.status == "done" and a.attempts == 3
    assert [r["reason"] for r in a.retries] == ["throttled", "throttled"]
    assert clock.sleeps == [1.0, 2.0]  # exponential backoff, on the injected clock
    retries = [r for r in log.records if r["event"].startswith("retry ")]
    assert [r["event"] for r in retries] == ["retry 2/3 because throttled", "retry 3/3 because throttled"]
    assert all(r["run_id"] == "run-1" and r["env"] == "dev" and r["step"] == "a" for r in retries)
    assert store.doc["steps"]["a"]["attempts"] == 3
    assert ("retrying", "a", 1, "throttled") in progress.events and ("started", "a", 2) in progress.events
    assert step.calls == ["check", "apply", "apply", "apply", "verify"]


def test_project_rules_make_foreign_errors_retryable() -> None:
    world = World()
    calls: list[int] = []

    def flaky(ctx: StepContext) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("An error occurred (ThrottlingException): Rate exceeded")

    classifier = Classifier().add_regex("aws throttling", r"ThrottlingException")
    result = make_runner([FakeStep("a", world=world, apply=flaky)], classifier=classifier).run()
    assert result.step("a").attempts == 2 and result.step("a").retries[0]["reason"] == "aws throttling"


def test_transient_check_errors_are_retried_too() -> None:
    world = World()
    answers = iter([ConnectionResetError("reset by peer")])

    def check(ctx: StepContext) -> None:
        error = next(answers, None)
        if error:
            raise error

    step = FakeStep("a", world=world, check=check)
    result = make_runner([step]).run()
    assert result.step("a").status == "done"
    assert result.step("a").retries[0]["operation"] == "check"
    assert step.calls[:2] == ["check", "check"]


def test_a_permanent_error_fails_at_once_with_the_original_message() -> None:
    world = World()
    clock = FakeClock()
    log = RecordingLog()
    message = "AccessDenied: user is not authorized to perform: eks:CreateCluster"

    def denied(ctx: StepContext) -> None:
        raise PermanentError(message, hint="grant eks:CreateCluster to the deploy role")

    store = MemoryStore()
    result = make_runner([FakeStep("a", world=world, apply=denied, max_attempts=5)], store=store, clock=clock, log=log).run()
    a = result.step("a")
    assert result.exit_code == EXIT_STEP_FAILED and result.status == "failed"
    assert a.status == "failed" and a.attempts == 1 and clock.sleeps == []
    assert a.error == {
        "type": "PermanentError",
        "message": message,
        "hint": "grant eks:CreateCluster to the deploy role",
        "operation": "apply",
    }
    assert store.doc["steps"]["a"]["status"] == "failed" and store.doc["steps"]["a"]["error"] == a.error
    failed = log.events(event="step failed")
    assert failed and failed[0]["error"] == message and failed[0]["step"] == "a"


def test_an_unexpected_exception_is_a_failure_with_its_traceback_logged() -> None:
    world = World()
    log = RecordingLog()

    def buggy(ctx: StepContext) -> None:
        raise KeyError("cluster_endpoint")

    result = make_runner([FakeStep("a", world=world, apply=buggy)], log=log).run()
    a = result.step("a")
    assert a.status == "failed" and a.error["type"] == "KeyError" and "traceback" in a.error["hint"]
    assert isinstance(log.events(event="step failed")[0]["exc_info"], KeyError)


def test_unavailable_in_a_real_run_is_a_failure_with_its_hint() -> None:
    world = World()

    def offline(ctx: StepContext) -> None:
        raise Unavailable("no AWS credentials", hint="set AWS_PROFILE")

    result = make_runner([FakeStep("a", world=world, check=offline)]).run()
    assert result.step("a").status == "failed"
    assert result.step("a").error["hint"] == "set AWS_PROFILE" and result.step("a").error["operation"] == "check"


# -- deadlines -----------------------------------------------------------------------------


def test_per_step_timeout_cancels_the_step_and_fails_it() -> None:
    world = World()
    seen: dict[str, Any] = {}

    def stuck(ctx: StepContext) -> None:
        seen["deadline_left"] = ctx.remaining()
        ctx.cancel.wait(10)  # an adapter waiting on something slow, honouring cancel
        seen["cancelled"] = ctx.cancel.is_set()

    steps = [
        FakeStep("slow", 1, world=world, apply=stuck, timeout_s=0.2),
        FakeStep("after", 2, ("slow",), world=world),
        FakeStep("other", 1, world=world),
    ]
    store = MemoryStore()
    t0 = time.monotonic()
    result = make_runner(steps, store=store).run()
    assert time.monotonic() - t0 < 2
    slow = result.step("slow")
    assert slow.status == "failed" and slow.outcome == "timed out"
    assert slow.error["type"] == "StepTimeout" and "0.2s" in slow.error["message"] and slow.error["operation"] == "apply"
    assert 0.15 <= slow.duration_s < 1.0
    assert 0 < seen["deadline_left"] <= 0.2 and seen["cancelled"] is True
    assert result.step("after").status == "pending" and result.step("other").status == "done"
    assert store.status("slow") == "failed" and store.status("after") == "pending"
    assert "after" not in world.applied


# -- dry-run -------------------------------------------------------------------------------


def test_dry_run_never_applies_and_records_plans() -> None:
    world = World()
    steps = chain(world, "a", "b", "c")
    store = MemoryStore()
    result = make_runner(steps, store=store, dry_run=True).run()
    assert result.exit_code == EXIT_PENDING and result.status == "pending" and not result.changed
    assert world.applied == {}
    for step in steps:
        assert "apply" not in step.calls and "verify" not in step.calls
        assert step.calls == ["check", "plan"]
        record = store.doc["steps"][step.id]
        assert record["status"] == "planned" and "previous_status" not in record
        assert record["changes"] == [{"action": "create", "target": step.id, "detail": "to v1"}]
    assert [s.status for s in result.steps] == ["planned"] * 3
    assert result.step("a").notes == ["not applied yet"]
    # only plans and the run record were written: nothing ever said running or done
    assert {r["status"] for s in store.saves for r in s["steps"].values()} == {"planned"}


def test_dry_run_after_a_deploy_shows_only_what_changed() -> None:
    world = World()
    steps = chain(world, "a", "b", "c")
    store = MemoryStore()
    make_runner(steps, store=store).run()
    steps[1].wanted = "v2"  # a changed input
    result = make_runner(steps, store=store, dry_run=True, run_id="run-2").run()
    assert [(s.id, s.status, s.outcome) for s in result.steps] == [
        ("a", "done", "unchanged"),
        ("b", "planned", "planned"),
        ("c", "done", "unchanged"),
    ]
    assert result.step("b").changes == [{"action": "update", "target": "b", "detail": "to v2"}]
    assert result.exit_code == EXIT_PENDING
    b = store.doc["steps"]["b"]
    assert b["status"] == "planned" and b["previous_status"] == "done"
    assert b["outputs"] == {"name": "b-resource"}  # what later steps need is kept
    assert world.applied["b"] == "v1"


def test_dry_run_offline_marks_plans_unknown_never_failed() -> None:
    world = World()

    def no_credentials(ctx: StepContext) -> None:
        raise Unavailable("no AWS credentials found")

    def needs_endpoint(ctx: StepContext) -> Plan:
        ctx.output("a", "endpoint")  # a was never applied: OutputUnknown
        raise AssertionError("unreachable")

    steps = [
        FakeStep("a", 1, world=world, check=no_credentials),
        FakeStep("b", 2, ("a",), world=world, check=no_credentials, plan=needs_endpoint),
    ]
    store = MemoryStore()
    result = make_runner(steps, store=store, dry_run=True).run()
    assert result.exit_code == EXIT_PENDING and not any(s.status == "failed" for s in result.steps)
    a, b = result.step("a"), result.step("b")
    assert a.status == "planned" and a.notes[0] == "could not check offline: no AWS credentials found"
    assert b.status == "planned" and b.plan_unknown == "outputs of step 'a' are not known yet"
    assert "could not check offline: outputs of step 'a' are not known yet" in b.notes
    assert store.doc["steps"]["b"]["plan_unknown"] == b.plan_unknown


def test_dry_run_with_nothing_to_do_exits_0() -> None:
    world = World()
    steps = chain(world, "a", "b")
    store = MemoryStore()
    make_runner(steps, store=store).run()
    saves_before = len(store.saves)
    result = make_runner(steps, store=store, dry_run=True).run()
    assert result.exit_code == EXIT_OK and result.status == "ok" and not result.pending_changes
    assert len(store.saves) == saves_before + 2  # the run record only


def test_dry_run_plan_error_fails_but_writes_no_failure_to_state() -> None:
    world = World()

    def broken(ctx: StepContext) -> Plan:
        raise PermanentError("terraform plan: Error: Unsupported argument")

    steps = chain(world, "a", "b")
    store = MemoryStore()
    make_runner(steps, store=store).run()
    steps[0].wanted = "v2"
    steps[0].hooks["plan"] = broken
    result = make_runner(steps, store=store, dry_run=True).run()
    assert result.exit_code == EXIT_STEP_FAILED
    assert result.step("a").status == "failed" and result.step("b").status == "pending"
    assert store.status("a") == "done" and store.status("b") == "done"  # a dry-run changes no status


# -- what is due ---------------------------------------------------------------------------


def test_a_changed_input_makes_a_done_step_due_again() -> None:
    world = World()
    steps = chain(world, "a", "b", "c")
    store = MemoryStore()
    make_runner(steps, store=store).run()
    for step in steps:
        step.calls.clear()
    old = store.doc["steps"]["b"]["fingerprint"]
    steps[1].wanted = "v2"
    result = make_runner(steps, store=store, run_id="run-2").run()
    assert [(s.id, s.outcome) for s in result.steps] == [("a", "unchanged"), ("b", "applied"), ("c", "unchanged")]
    # Its check would only compare reality with the old inputs: skipped, apply decides.
    assert steps[1].calls == ["apply", "verify"] and "apply" not in steps[0].calls + steps[2].calls
    assert store.doc["steps"]["b"]["fingerprint"] == steps[1].fingerprint() != old
    assert world.applied["b"] == "v2"


def test_a_step_left_running_is_rechecked_never_trusted() -> None:
    world = World()
    steps = chain(world, "a", "b")
    store = MemoryStore()
    make_runner(steps, store=store).run()
    # A crash: b was marked running (same inputs) and its apply had in fact finished.
    store.doc["steps"]["b"]["status"] = "running"
    steps[1].calls.clear()
    result = make_runner(steps, store=store, recheck=False).run()
    assert result.step("b").outcome == "found done" and steps[1].calls == ["check"]
    assert store.status("b") == "done"

    # The same crash, but the apply had not got through: the step is applied again.
    store.doc["steps"]["b"]["status"] = "running"
    del world.applied["b"]
    steps[1].calls.clear()
    result = make_runner(steps, store=store, recheck=False).run()
    assert result.step("b").outcome == "applied" and steps[1].calls == ["check", "apply", "verify"]


def test_drift_found_by_the_check_reapplies_a_done_step() -> None:
    world = World()
    steps = chain(world, "a")
    store = MemoryStore()
    make_runner(steps, store=store).run()
    del world.applied["a"]  # someone deleted it by hand
    steps[0].calls.clear()
    result = make_runner(steps, store=store).run()
    assert result.step("a").outcome == "applied" and steps[0].calls == ["check", "apply", "verify"]
    statuses = [s["steps"]["a"]["status"] for s in store.saves[-3:]]
    assert "running" in statuses and store.status("a") == "done"


def test_recheck_false_trusts_done_steps_with_unchanged_inputs() -> None:
    world = World()
    steps = chain(world, "a", "b")
    store = MemoryStore()
    make_runner(steps, store=store).run()
    for step in steps:
        step.calls.clear()
    result = make_runner(steps, store=store, recheck=False).run()
    assert [s.outcome for s in result.steps] == ["unchanged", "unchanged"]
    assert steps[0].calls == [] and steps[1].calls == []
    # A changed input is due even when done steps are trusted.
    steps[1].wanted = "v2"
    result = make_runner(steps, store=store, recheck=False).run()
    assert [s.outcome for s in result.steps] == ["unchanged", "applied"]
    assert steps[0].calls == [] and steps[1].calls == ["apply", "verify"]


def test_a_check_refreshes_recorded_outputs() -> None:
    world = World()
    steps = chain(world, "a")
    store = MemoryStore()
    make_runner(steps, store=store).run()
    steps[0].outputs = {"name": "a-resource", "endpoint": "https://new"}
    make_runner(steps, store=store).run()
    assert store.doc["steps"]["a"]["outputs"] == {"name": "a-resource", "endpoint": "https://new"}
    assert store.doc["steps"]["a"]["run_id"] == "run-1"  # still the run that applied it


# -- failures ------------------------------------------------------------------------------


def test_a_failure_stops_its_dependents_and_lets_independent_branches_finish() -> None:
    world = World()

    def fails(ctx: StepContext) -> None:
        raise PermanentError("helm: release failed")

    def slow(ctx: StepContext) -> None:
        time.sleep(0.1)

    steps = [
        FakeStep("a", 1, world=world),
        FakeStep("b", 2, ("a",), world=world),
        FakeStep("c", 3, ("b",), world=world),
        FakeStep("e", 3, ("b",), world=world),
        FakeStep("d", 3, ("a",), world=world, apply=slow),
    ]
    store = MemoryStore()
    make_runner(steps[:3], store=store).run()  # a, b, c done earlier; e, d never ran
    steps[1].wanted = "v2"
    steps[1].hooks["apply"] = fails
    for step in steps:
        step.calls.clear()
    result = make_runner(steps, store=store, run_id="run-2").run()

    assert result.exit_code == EXIT_STEP_FAILED
    assert [(s.id, s.status) for s in result.steps] == [
        ("a", "done"),
        ("b", "failed"),
        ("c", "pending"),
        ("e", "pending"),
        ("d", "done"),
    ]
    assert result.step("c").notes == ["not run: needs b, which failed"]
    assert "e" not in world.applied and steps[2].calls == steps[3].calls == []
    assert world.applied["d"] == "v1"
    assert store.status("b") == "failed"
    assert store.status("c") == "done"  # still true in reality: its own inputs did not change
    assert store.status("e") == "pending"


def test_a_failure_in_one_scope_stops_only_that_scopes_later_steps_and_the_others_finish() -> None:
    """Several scopes (environments) in one graph: shared root, one chain per scope. The
    engine's failure propagation follows each step's needs, never the whole run: dev's chain
    finishes after stage's middle step failed, and the result names the failed scope."""
    world = World()
    both_running = threading.Barrier(2, timeout=10)

    def meet(ctx: StepContext) -> None:
        both_running.wait()  # dev.b and stage.b run at the same time, or this times out

    def fails(ctx: StepContext) -> None:
        meet(ctx)
        raise PermanentError("stage sync failed")

    steps = [FakeStep("root", 1, world=world)]
    for scope in ("dev", "stage"):
        chain_steps = [
            FakeStep(f"{scope}.a", 2, ("root",), world=world),
            FakeStep(f"{scope}.b", 3, (f"{scope}.a",), world=world, apply=fails if scope == "stage" else meet),
            FakeStep(f"{scope}.c", 4, (f"{scope}.b",), world=world),
        ]
        for step in chain_steps:
            step.scope = scope
        steps += chain_steps
    log = RecordingLog()
    result = make_runner(steps, log=log, parallelism=4).run()

    assert result.exit_code == EXIT_STEP_FAILED
    status = {s.id: s.status for s in result.steps}
    assert status == {
        "root": "done",
        "dev.a": "done",
        "dev.b": "done",
        "dev.c": "done",
        "stage.a": "done",
        "stage.b": "failed",
        "stage.c": "pending",
    }
    assert result.step("stage.c").notes == ["not run: needs stage.b, which failed"]
    assert result.failed_scopes == ["stage"] and result.as_dict()["failed_scopes"] == ["stage"]
    # Each step's log lines carry its own scope as env; the shared step keeps the run's.
    assert {r["env"] for r in log.events(event="step finished", step="dev.c")} == {"dev"}
    assert {r["env"] for r in log.events(event="step failed", step="stage.b")} == {"stage"}
    assert {r["env"] for r in log.events(event="step finished", step="root")} == {"dev"}


def test_secrets_never_reach_state_results_or_logs() -> None:
    world = World()
    secret = "hunter2-very-secret"
    log = RecordingLog()

    def leaky(ctx: StepContext) -> dict[str, Any]:
        ctx.secret(secret)
        return {"password": secret}

    def fails(ctx: StepContext) -> None:
        raise PermanentError(f"login with {secret} refused", hint=f"rotate {secret}")

    steps = [FakeStep("a", 1, world=world, apply=leaky), FakeStep("b", 2, ("a",), world=world, apply=fails)]
    store = MemoryStore()
    result = make_runner(steps, store=store, log=log).run()
    dumped = json.dumps([store.saves, result.as_dict(), log.records], default=str)
    assert secret not in dumped
    assert store.doc["steps"]["a"]["outputs"]["password"] == "***"
    assert result.step("b").error["message"] == "login with *** refused"


# -- stopping ------------------------------------------------------------------------------


def _stopper(runner: Runner, ready: list[threading.Event], twice: bool = False) -> threading.Thread:
    def stop() -> None:
        for event in ready:
            assert event.wait(5)
        runner.request_stop()
        if twice:
            runner.request_stop()

    thread = threading.Thread(target=stop)
    thread.start()
    return thread


def test_request_stop_interrupts_running_steps_and_exits_130() -> None:
    world = World()
    started = {sid: threading.Event() for sid in ("a", "b", "quick")}
    stop_seen = threading.Event()

    def long_wait(ctx: StepContext) -> None:
        started[ctx.step_id].set()
        wait_for(
            lambda: (False, "CREATING"),
            what=f"{ctx.step_id} cluster",
            timeout=60,
            clock=ctx.clock,
            cancel=ctx.cancel,
            interval=10,
        )

    def finishes_anyway(ctx: StepContext) -> None:
        started["quick"].set()
        stop_seen.wait(5)
        time.sleep(0.05)  # reaches its end after the stop: this truly finished

    steps = [
        FakeStep("a", 1, world=world, apply=long_wait),
        FakeStep("b", 1, world=world, apply=long_wait),
        FakeStep("quick", 1, world=world, apply=finishes_anyway),
        FakeStep("c", 2, ("a", "b"), world=world),
    ]
    store = MemoryStore()
    runner = make_runner(steps, store=store)
    stopper = _stopper(runner, list(started.values()))
    threading.Thread(target=lambda: (stopper.join(), stop_seen.set())).start()
    t0 = time.monotonic()
    result = run_locked(runner, store)
    stopper.join()
    assert time.monotonic() - t0 < 3
    assert result.exit_code == EXIT_INTERRUPTED and result.status == "interrupted"
    assert [(s.id, s.status) for s in result.steps] == [
        ("a", "interrupted"),
        ("b", "interrupted"),
        ("quick", "done"),
        ("c", "pending"),
    ]
    assert result.step("a").error["type"] == "Interrupted"
    assert store.status("a") == "interrupted" and store.status("b") == "interrupted" and store.status("quick") == "done"
    assert store.status("c") is None and "c" not in world.applied
    assert store.doc["last_run"]["status"] == "interrupted"
    assert store.holder() is None


def test_a_second_stop_does_not_wait_for_a_step_that_ignores_cancel() -> None:
    world = World()
    started = threading.Event()

    def stubborn(ctx: StepContext) -> None:
        started.set()
        time.sleep(3.0)

    store = MemoryStore()
    runner = make_runner([FakeStep("a", world=world, apply=stubborn)], store=store, stop_grace_s=30)
    stopper = _stopper(runner, [started], twice=True)
    t0 = time.monotonic()
    result = runner.run()
    stopper.join()
    assert time.monotonic() - t0 < 2.0  # well before the stubborn step's 3 s
    assert result.exit_code == EXIT_INTERRUPTED and result.step("a").status == "interrupted"
    time.sleep(3.2)  # the stubborn worker ends later; its result must not overwrite the record
    assert store.status("a") == "interrupted"


def test_sigint_handler_calling_request_stop_interrupts_the_run() -> None:
    world = World()
    started = threading.Event()

    def long_wait(ctx: StepContext) -> None:
        started.set()
        wait_for(lambda: (False, "PENDING"), what="certificate", timeout=60, clock=ctx.clock, cancel=ctx.cancel)

    runner = make_runner([FakeStep("a", world=world, apply=long_wait)])
    previous = signal.signal(signal.SIGINT, lambda signum, frame: runner.request_stop())
    try:
        threading.Thread(target=lambda: started.wait(5) and os.kill(os.getpid(), signal.SIGINT)).start()
        result = runner.run()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert result.exit_code == EXIT_INTERRUPTED and result.step("a").status == "interrupted"


def test_a_step_raising_interrupted_stops_the_run() -> None:
    world = World()

    def interrupted(ctx: StepContext) -> None:
        raise Interrupted("terraform got SIGINT")

    steps = [FakeStep("a", 1, world=world, apply=interrupted), FakeStep("b", 2, ("a",), world=world)]
    result = make_runner(steps).run()
    assert result.exit_code == EXIT_INTERRUPTED
    assert result.step("a").status == "interrupted" and result.step("b").status == "pending"


# -- selection -----------------------------------------------------------------------------


def test_only_runs_the_named_steps_when_their_needs_are_done() -> None:
    world = World()
    steps = chain(world, "a", "b", "c")
    store = MemoryStore()
    make_runner(steps, store=store).run()
    steps[1].wanted = "v2"
    for step in steps:
        step.calls.clear()
    result = make_runner(steps, store=store, only=["b"]).run()
    assert [s.id for s in result.steps] == ["b"] and result.step("b").outcome == "applied"
    assert steps[0].calls == [] and steps[2].calls == []


def test_a_selection_whose_needs_are_not_done_is_a_usage_error_before_anything_runs() -> None:
    world = World()
    steps = chain(world, "a", "b", "c")
    store = MemoryStore()
    with pytest.raises(UsageError) as err:
        make_runner(steps, store=store, from_="b").run()
    assert err.value.exit_code == EXIT_USAGE
    assert "'b' needs 'a', which is not done (status: never run)" in err.value.message
    assert "--from a" in err.value.hint
    assert store.saves == [] and all(step.calls == [] for step in steps)
    # A dry-run says what the real run would (issue 13): the same refusal, nothing planned.
    with pytest.raises(UsageError) as dry:
        make_runner(steps, store=store, dry_run=True, from_="b", to="b").run()
    assert dry.value.message == err.value.message
    assert store.saves == [] and all(step.calls == [] for step in steps)


# -- logs, progress, overhead --------------------------------------------------------------


def test_logs_carry_run_env_step_and_attempt() -> None:
    world = World()
    log = RecordingLog()
    progress = RecordingProgress()

    def waits(ctx: StepContext) -> None:
        ctx.waiting_for("EKS cluster ACTIVE")
        ctx.log.info("polling")

    steps = chain(world, "a", "b")
    steps[1].hooks["apply"] = waits
    make_runner(steps, log=log, progress=progress).run()
    assert log.events(event="run started")[0]["run_id"] == "run-1"
    for record in log.events(event="step started") + log.events(event="step finished"):
        assert record["run_id"] == "run-1" and record["env"] == "dev" and record["step"] in ("a", "b")
    polling = log.events(event="polling")[0]
    assert polling["step"] == "b" and polling["attempt"] == 1
    assert progress.events[0] == ("run_started", ["a", "b"])
    assert progress.events[-1] == ("run_finished", "ok")
    assert ("waiting", "b", "EKS cluster ACTIVE") in progress.events
    b_events = [e for e in progress.events if e[1:2] == ("b",)]
    assert b_events[0][0] == "started" and b_events[-1] == ("finished", "b", "done")


def test_a_no_op_rerun_of_eleven_done_steps_is_fast() -> None:
    world = World()
    steps = kyeol_like(world)
    store = MemoryStore()
    assert make_runner(steps, store=store).run().exit_code == EXIT_OK
    for step in steps:
        step.calls.clear()
    saves = len(store.saves)
    timings = []
    for i in range(3):
        t0 = time.perf_counter()
        result = make_runner(steps, store=store, run_id=f"rerun-{i}").run()
        timings.append(time.perf_counter() - t0)
        assert result.exit_code == EXIT_OK and not result.changed
    assert all(s.outcome == "unchanged" for s in result.steps)
    assert all(step.calls == ["check"] * 3 for step in steps)  # checked, never applied
    assert len(store.saves) == saves + 3 * 2  # only the run record, at start and end
    assert min(timings) < 0.5, f"engine overhead {min(timings) * 1000:.1f} ms"


def test_a_retry_budget_outlasts_many_transient_errors_and_then_stops() -> None:
    """Issue 10 (2): with ``retry_budget_s`` a step's transient errors are retried for a time
    (exponential backoff with jitter, capped), not for a small count; past it the step fails."""
    world = World()
    clock = FakeClock()
    failures = [TransientError("Rate exceeded", reason="throttled")] * 8

    def throttled(ctx: StepContext) -> None:
        if failures:
            raise failures.pop()

    step = FakeStep("a", world=world, apply=throttled, max_attempts=3, timeout_s=3600)
    step.retry_budget_s = 600.0
    policy = RetryPolicy(initial=1, maximum=30, jitter=0)
    result = make_runner([step], clock=clock, policy=policy).run()
    assert result.step("a").status == "done" and result.step("a").attempts == 9
    assert max(clock.sleeps) == 30.0  # the interval is capped

    endless = FakeStep(
        "b",
        world=World(),
        apply=lambda ctx: (_ for _ in ()).throw(TransientError("503", reason="5xx")),
        max_attempts=3,
        timeout_s=3600,
    )
    endless.retry_budget_s = 120.0
    clock = FakeClock()
    result = make_runner([endless], clock=clock, policy=policy).run()
    b = result.step("b")
    assert b.status == "failed" and b.attempts > 3
    assert sum(clock.sleeps) <= 120.0
