"""The generic command layer (``runbook.cli``), in process, with the real state store and lock.

A small project (four steps over three phases) acts on an in-memory "world" so checks tell
the truth; its session records what the command layer asked of it, and in which order, so
the guards can be shown to run before anything is loaded, locked or touched.
"""

from __future__ import annotations

import io
import json
import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from runbook import cli as core
from runbook.clock import Clock
from runbook.errors import (
    EXIT_INTERRUPTED,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_PENDING,
    EXIT_STEP_FAILED,
    EXIT_USAGE,
    ConfigError,
    Interrupted,
    LockHeld,
    OutputUnknown,
    PermanentError,
    RunbookError,
    StateError,
    StepTimeout,
    TransientError,
    Unavailable,
    UsageError,
    WaitTimeout,
)
from runbook.lock import FileLock, LockHolder
from runbook.logs import configure_logging, get_logger
from runbook.redact import Redactor
from runbook.retry import Classifier
from runbook.runner import RunResult, StepResult
from runbook.state import FileStateStore
from runbook.step import Change, CheckResult, Plan, Step, StepContext

TITLES = {1: "Ground", 2: "Walls", 3: "Roof"}


class WorldStep(Step):
    """Done when the world holds its id; apply puts it there (or raises ``fail``)."""

    def __init__(
        self, sid: str, phase: int, needs: tuple[str, ...], world: dict[str, Any], fail: RunbookError | None = None
    ) -> None:
        self.id, self.phase, self.needs = sid, phase, needs
        self.title = f"build the {sid}"
        self.world = world
        self.fail = fail
        self.max_attempts = 1
        self.estimate_s = 60.0 * phase

    def check(self, ctx: StepContext) -> CheckResult:
        if self.id in self.world:
            return CheckResult(True, outputs={"made_by": self.world[self.id]})
        return CheckResult(False, f"{self.id} is not built yet")

    def plan(self, ctx: StepContext) -> Plan:
        return Plan(changes=[Change("create", self.id, "from scratch")])

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        if self.fail is not None:
            raise self.fail
        hook = self.world.get("_during_apply")
        if hook:
            hook(self, ctx)
        self.world[self.id] = ctx.run_id
        return {"made_by": ctx.run_id}


@dataclass
class Session:
    """The Session protocol, recording every call the command layer makes."""

    tmp: Path
    world: dict[str, Any]
    calls: list[str]
    fail: dict[str, RunbookError] = field(default_factory=dict)
    preflight_result: Callable[[bool], dict[str, Any]] | None = None
    confirm_error: RunbookError | None = None
    preflight_steps: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.redactor = Redactor()
        self.clock = Clock()
        self.log_stream = io.StringIO()
        configure_logging("json", self.redactor, stream=self.log_stream)
        self.log = get_logger(tool="test")

    def steps(self) -> list[Step]:
        self.calls.append("steps")
        w = self.world
        return [
            WorldStep("ground", 1, (), w, self.fail.get("ground")),
            WorldStep("walls", 2, ("ground",), w, self.fail.get("walls")),
            WorldStep("garden", 2, ("ground",), w, self.fail.get("garden")),
            WorldStep("roof", 3, ("walls",), w, self.fail.get("roof")),
        ]

    def store(self) -> Any:
        self.calls.append("store")
        return RecordingStore(self.tmp / "state.json", self.calls)

    def classifier(self) -> Any:
        return Classifier()

    def preflight(self, steps: Sequence[Step], *, dry_run: bool) -> dict[str, Any]:
        self.calls.append("preflight")
        self.preflight_steps = [s.id for s in steps]
        if self.preflight_result is not None:
            return self.preflight_result(dry_run)
        return {"account": "000000000000"}

    def confirm(self) -> None:
        self.calls.append("confirm")
        if self.confirm_error is not None:
            raise self.confirm_error

    def phase_titles(self) -> dict[int, str]:
        return dict(TITLES)


class RecordingStore(FileStateStore):
    """The real file store; notes loads, saves and lock calls in the session's call list."""

    def __init__(self, path: Path, calls: list[str]) -> None:
        super().__init__(path, tool="test 1.0")
        self.calls = calls

    def load(self) -> dict[str, Any]:
        self.calls.append("load")
        return super().load()

    def save(self, doc: dict[str, Any]) -> None:
        self.calls.append("save")
        super().save(doc)

    def acquire(self, holder: Any) -> None:
        self.calls.append("acquire")
        super().acquire(holder)

    def release(self, run_id: str) -> None:
        self.calls.append("release")
        super().release(run_id)


class Project:
    name = "testtool"
    version = "1.0"

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.world: dict[str, Any] = {}
        self.calls: list[str] = []
        self.sessions: list[Session] = []
        self.fail: dict[str, RunbookError] = {}
        self.preflight_result: Callable[[bool], dict[str, Any]] | None = None
        self.confirm_error: RunbookError | None = None

    def open(self, inv: core.Invocation) -> Session:
        self.calls.clear()
        self.calls.append("open")
        s = Session(self.tmp, self.world, self.calls, dict(self.fail), self.preflight_result, self.confirm_error)
        self.sessions.append(s)
        return s

    @property
    def state(self) -> Path:
        return self.tmp / "state.json"

    @property
    def lock(self) -> Path:
        return self.tmp / "state.json.lock"


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


def inv(project: Project, **kw: Any) -> core.Invocation:
    kw.setdefault("env", "dev")
    return core.Invocation(
        command=kw.pop("command", "deploy"),
        state=str(project.state),
        runs_dir=str(project.tmp / "runs"),
        **kw,
    )


def run(project: Project, **kw: Any) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = core.guarded(lambda: core.run(project, inv(project, **kw), out=out), err=err)
    return code, out.getvalue(), err.getvalue()


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# -- print_result -------------------------------------------------------------------------


def test_a_run_prints_phases_in_runbook_order_with_notes_errors_and_hints(project: Project) -> None:
    project.fail["walls"] = PermanentError("the bricks did not arrive", hint="order bricks, then resume")

    code, out, _ = run(project)

    assert code == EXIT_STEP_FAILED
    lines = out.splitlines()
    assert lines[0].startswith("RUN deploy env=dev run=")
    headers = [line for line in lines if line.startswith("Phase ")]
    assert headers == ["Phase 1: Ground", "Phase 2: Walls", "Phase 3: Roof"]
    text = "\n".join(lines)
    assert text.index("ground") < text.index("walls") < text.index("garden") < text.index("roof")
    # ground was done: the summary says what was done, not its check's note from before the apply
    assert "note: ground is not built yet" not in text
    ground = next(i for i, line in enumerate(lines) if line.strip().startswith("✔ ground"))
    assert lines[ground + 1].split()[:2] == ["applied", "ground"]
    walls = next(i for i, line in enumerate(lines) if line.strip().startswith("✘ walls"))
    assert "failed" in lines[walls]
    assert lines[walls + 1].strip() == "error: the bricks did not arrive"
    assert lines[walls + 2].strip() == "hint: order bricks, then resume"
    assert "not run: needs walls, which failed" in text
    assert "✔ garden" in text  # the independent branch still finished
    assert lines[-4].startswith("failed: ") and "1 failed" in lines[-4] and "2 done" in lines[-4]
    report = Path(lines[-3].removeprefix("report: "))
    assert report.parent == project.tmp / "runs" and json.loads(report.read_text())["status"] == "failed"
    # what to do next: the failed step's hint, then resume
    assert lines[-2:] == [
        "next: walls: order bricks, then resume",
        "next: then `testtool resume` retries walls and goes on from there",
    ]


def test_print_result_sorts_by_phase_keeping_runbook_order_inside_a_phase() -> None:
    def step(sid: str, phase: int, **kw: Any) -> StepResult:
        return StepResult(id=sid, phase=phase, title=sid, scope="shared", **kw)

    result = RunResult(
        run_id="r1",
        command="deploy",
        env="dev",
        dry_run=True,
        status="pending",
        started_at="t0",
        finished_at="t1",
        duration_s=1.25,
        steps=[
            step(
                "c", 3, status="planned", outcome="planned", changes=[{"action": "create", "target": "c.thing", "detail": "new"}]
            ),
            step("a2", 1, status="done", outcome="no changes"),
            step("a1", 1, status="planned", outcome="planned", plan_unknown="until a2 is applied"),
        ],
    )
    out = io.StringIO()
    core.print_result(result, out=out, titles={1: "One", 3: "Three"}, notes=["could not check offline: x"])
    lines = out.getvalue().splitlines()

    assert lines[0] == "PLAN deploy env=dev run=r1"
    assert lines[1] == "  note: could not check offline: x"
    ids = [line.split()[1] for line in lines if line.startswith("  ") and line.split()[0] in "✔~✘…!·"]
    assert ids == ["a2", "a1", "c"]
    assert "      unknown until applied: until a2 is applied" in lines
    assert any(line.split() == ["create", "c.thing", "–", "new"] for line in lines)
    assert lines[-1] == "changes to apply: 1 done, 2 planned in 1.2s"


def test_print_result_wording_no_doubled_status_long_ids_aligned_and_next_steps() -> None:
    def step(sid: str, **kw: Any) -> StepResult:
        return StepResult(id=sid, phase=1, title=sid, scope="shared", **kw)

    long_id = "stage.infra.destroy.with-a-long-name"
    result = RunResult(
        run_id="r2",
        command="deploy",
        env="dev",
        dry_run=False,
        status="interrupted",
        started_at="t0",
        finished_at="t1",
        duration_s=3.0,
        steps=[
            step(
                "a",
                status="done",
                outcome="applied",
                notes=["bucket x does not exist"],
                changes=[{"action": "create", "target": "aws_s3_bucket.state"}],
            ),
            step(long_id, status="interrupted", outcome="interrupted"),
            step("c", status="pending", outcome="not run"),
        ],
    )
    out = io.StringIO()
    core.print_result(result, out=out, titles={1: "One"}, tool="kyeol")
    text = out.getvalue()
    lines = text.splitlines()
    rows = [line for line in lines if line.startswith("  ") and line.split()[0] in "✔~✘…!·"]
    assert len({row.index(row.split()[2]) for row in rows}) == 1, rows  # the status column lines up
    assert "interrupted interrupted" not in text and "planned planned" not in text
    assert "bucket x does not exist" not in text  # a note about the world before the apply
    assert any(line.split() == ["create", "aws_s3_bucket.state"] for line in lines)
    assert lines[-1] == "next: `kyeol resume` continues from the checkpoint (finished steps are not done again)"


def test_print_result_names_the_scope_that_failed_and_the_ones_that_finished() -> None:
    def step(sid: str, scope: str, status: str) -> StepResult:
        return StepResult(id=sid, phase=1, title=sid, scope=scope, status=status, outcome=status)

    result = RunResult(
        run_id="r1",
        command="deploy",
        env="dev,stage",
        dry_run=False,
        status="failed",
        started_at="t0",
        finished_at="t1",
        duration_s=2.0,
        steps=[
            step("root", "shared", "done"),
            step("dev.a", "dev", "done"),
            step("stage.a", "stage", "failed"),
            step("stage.b", "stage", "pending"),
        ],
    )
    out = io.StringIO()
    core.print_result(result, out=out, titles={})
    lines = out.getvalue().splitlines()
    verdicts = lines.index("  dev: ok")
    assert lines[verdicts - 1].startswith("failed:")  # right under the run's outcome, before what to do next
    assert lines[verdicts : verdicts + 2] == ["  dev: ok", "  stage: FAILED at stage.a; not run: stage.b"]
    planned = RunResult(**{**vars(result), "steps": [step("dev.a", "dev", "planned"), step("stage.a", "stage", "done")]})
    assert core.scope_verdicts(planned) == ["  dev: 1 planned", "  stage: ok"]
    # One scope only: no per-scope lines (the summary line says it all).
    single = RunResult(**{**vars(result), "steps": result.steps[:2]})
    assert core.scope_verdicts(single) == []


def test_status_groups_steps_by_scope_with_the_shared_steps_once(project: Project) -> None:
    store = FileStateStore(project.state, tool="test 1.0")
    doc = store.load()
    doc["steps"] = {
        "stage.a": {"status": "failed", "phase": 2, "scope": "stage", "error": {"message": "boom"}},
        "root": {"status": "done", "phase": 1, "scope": "shared"},
        "dev.a": {"status": "done", "phase": 2, "scope": "dev"},
    }
    store.save(doc)
    out = io.StringIO()
    core.status(store, out=out, order=["root", "dev.a", "stage.a"])
    lines = [line for line in out.getvalue().splitlines() if not line.startswith(("state:", "lock:"))]
    assert [line.split()[0] if not line.startswith(" ") else line.split()[1] for line in lines] == [
        "shared:",
        "root",
        "dev:",
        "dev.a",
        "stage:",
        "stage.a",
        "boom",
    ]


# -- dry-run --------------------------------------------------------------------------------


def test_dry_run_writes_no_state_and_takes_no_lock(project: Project) -> None:
    assert run(project)[0] == EXIT_OK  # a real deploy: state and backup exist
    project.world.pop("roof")  # drift: the plan has something to do
    # Someone else holds the lock; a dry-run must not care, and must not touch it.
    FileLock(project.lock).acquire(LockHolder.for_this_process("other-run", "deploy"))
    before = snapshot(project.tmp)
    mtimes = {name: (project.tmp / name).stat().st_mtime_ns for name in before}

    code, out, _ = run(project, dry_run=True, detailed_exitcode=True)

    assert code == EXIT_PENDING, out
    assert "save" not in project.calls and "acquire" not in project.calls
    assert snapshot(project.tmp) == before
    assert {name: (project.tmp / name).stat().st_mtime_ns for name in before} == mtimes
    assert "roof" not in project.world  # nothing applied
    assert "~ roof" in out and "create roof – from scratch" in " ".join(out.split())


def test_a_dry_run_from_nothing_creates_no_state_file_and_no_lock_file(project: Project) -> None:
    code, out, _ = run(project, dry_run=True)

    assert code == EXIT_OK  # pending changes, but --detailed-exitcode was not asked for
    assert out.startswith("PLAN deploy")
    assert not project.state.exists() and not project.lock.exists()
    assert not (project.tmp / "state.json.bak").exists()
    assert project.world == {}


@pytest.mark.parametrize(
    ("dry_run", "detailed", "drift", "expected"),
    [
        (True, True, True, EXIT_PENDING),
        (True, False, True, EXIT_OK),
        (True, True, False, EXIT_OK),
        (False, True, True, EXIT_OK),
    ],
    ids=["plan-pending-detailed", "plan-pending-plain", "plan-nothing-detailed", "real-run-detailed"],
)
def test_detailed_exitcode_is_4_only_when_a_dry_run_has_pending_changes(
    project: Project, dry_run: bool, detailed: bool, drift: bool, expected: int
) -> None:
    assert run(project)[0] == EXIT_OK
    if drift:
        project.world.pop("garden")
    code, out, _ = run(project, dry_run=dry_run, detailed_exitcode=detailed)
    assert code == expected, out


# -- guards run before anything is touched ----------------------------------------------------


def test_a_failed_confirmation_stops_before_preflight_state_or_lock(project: Project) -> None:
    assert run(project)[0] == EXIT_OK
    before = snapshot(project.tmp)
    project.confirm_error = UsageError("prod is protected", hint="pass --confirm-env prod")

    code, _, err = run(project)

    assert code == EXIT_USAGE
    assert err.splitlines() == ["error: prod is protected", "hint: pass --confirm-env prod"]
    assert project.calls == ["open", "confirm"]
    assert snapshot(project.tmp) == before


def test_a_corrupt_state_is_refused_before_preflight_and_left_untouched(project: Project) -> None:
    project.state.write_bytes(b'{"schema_version": 1, "steps": {')
    before = project.state.read_bytes()

    code, _, err = run(project)

    assert code == EXIT_USAGE
    assert "corrupt" in err and str(project.state) in err and "hint: " in err
    assert "preflight" not in project.calls and "acquire" not in project.calls
    assert project.state.read_bytes() == before and not project.lock.exists()


def test_an_unknown_schema_version_is_refused_with_exit_2_even_in_a_dry_run(project: Project) -> None:
    project.state.write_text(json.dumps({"schema_version": 99, "tool": "testtool 9.0", "steps": {}}))
    before = project.state.read_bytes()

    code, _, err = run(project, dry_run=True)

    assert code == EXIT_USAGE
    assert "schema_version 99" in err
    assert project.state.read_bytes() == before


def test_preflight_sees_only_the_selected_steps(project: Project) -> None:
    assert run(project)[0] == EXIT_OK
    assert project.sessions[-1].preflight_steps == ["ground", "walls", "garden", "roof"]

    code, _, _ = run(project, only=("garden",))

    assert code == EXIT_OK
    assert project.sessions[-1].preflight_steps == ["garden"]


def test_preflight_notes_and_offline_identity_become_plan_notes_in_a_dry_run(project: Project) -> None:
    def offline(dry_run: bool) -> dict[str, Any]:
        raise Unavailable("no credentials found", hint="log in")

    project.preflight_result = offline
    code, out, _ = run(project, dry_run=True)
    assert code == EXIT_OK
    assert "note: could not check the identity offline: no credentials found" in out

    code, _, err = run(project)  # a real run cannot go on without it: bad input, nothing touched
    assert code == EXIT_USAGE
    assert "error: refusing to run: no credentials found" in err and "hint: log in" in err
    assert project.world == {}

    project.preflight_result = lambda dry_run: {"account": "1", "notes": ["could not check offline: tool x is missing"]}
    code, out, _ = run(project, dry_run=True)
    assert "note: could not check offline: tool x is missing" in out
    report = json.loads(Path(out.splitlines()[-1].removeprefix("report: ")).read_text())
    assert report["identity"] == {"account": "1"}
    assert report["notes"] == ["could not check offline: tool x is missing"]


# -- the lock around a real run ------------------------------------------------------------------


def test_a_real_run_holds_the_lock_while_it_runs_and_releases_it(project: Project) -> None:
    seen: list[dict[str, Any]] = []

    def look(step: Step, ctx: StepContext) -> None:
        seen.append(json.loads(project.lock.read_text()))

    project.world["_during_apply"] = look
    code, _, _ = run(project)

    assert code == EXIT_OK
    assert seen and all(h["pid"] == os.getpid() and h["command"] == "deploy dev" for h in seen)
    run_id = json.loads(project.state.read_text())["last_run"]["run_id"]
    assert {h["run_id"] for h in seen} == {run_id}
    assert not project.lock.exists()
    assert project.calls.count("acquire") == 1 and project.calls.count("release") == 1


def test_the_lock_is_released_when_the_runner_refuses_the_selection(project: Project) -> None:
    code, _, err = run(project, only=("roof",))  # its needs were never done

    assert code == EXIT_USAGE
    assert "needs 'walls'" in err
    assert "release" in project.calls and not project.lock.exists()


def test_a_lock_held_by_a_live_run_exits_3_and_runs_nothing(project: Project) -> None:
    holder = LockHolder.for_this_process("20260101T000000Z-abcdef", "deploy")
    FileLock(project.lock).acquire(holder)

    code, out, err = run(project)

    assert code == EXIT_LOCKED
    assert out == "" and project.world == {}
    assert holder.run_id in err and f"pid {os.getpid()}" in err
    assert json.loads(project.lock.read_text())["run_id"] == holder.run_id


def test_signal_handlers_are_restored_after_a_run(project: Project) -> None:
    before = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    assert run(project)[0] == EXIT_OK
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_a_signal_during_a_run_records_the_step_interrupted_and_exits_130(project: Project) -> None:
    def interrupt_me(step: Step, ctx: StepContext) -> None:
        if step.id == "walls":
            os.kill(os.getpid(), signal.SIGTERM)
            if ctx.clock.sleep(30, ctx.cancel):
                raise Interrupted("walls stopped half-built")

    project.world["_during_apply"] = interrupt_me
    code, _out, _ = run(project)

    assert code == EXIT_INTERRUPTED
    doc = json.loads(project.state.read_text())
    assert doc["last_run"]["status"] == "interrupted"
    assert doc["steps"]["walls"]["status"] == "interrupted"
    assert "walls" not in project.world and "roof" not in project.world
    assert not project.lock.exists()


# -- status -------------------------------------------------------------------------------------


def test_status_text_lists_steps_in_the_given_order_with_errors_and_the_lock(project: Project) -> None:
    project.fail["walls"] = PermanentError("no bricks")
    run(project)
    run_id = json.loads(project.state.read_text())["last_run"]["run_id"]
    store = FileStateStore(project.state)

    out = io.StringIO()
    assert core.status(store, out=out, order=["roof", "walls", "ground", "garden"]) == EXIT_OK
    lines = out.getvalue().splitlines()
    assert lines[0] == f"state: {project.state}"
    assert lines[1].startswith(f"last run: {run_id} deploy env=dev status=failed started=")
    assert lines[2] == "lock: free"
    listed = [line.split()[1] for line in lines[3:] if not line.strip().startswith("error:")]
    assert listed == ["roof", "walls", "ground", "garden"]
    assert "      error: no bricks" in lines
    assert any(line.split()[:4] == ["✘", "walls", "failed", "phase"] for line in lines)

    holder = LockHolder.for_this_process("live-run", "deploy")
    FileLock(project.lock).acquire(holder)
    out = io.StringIO()
    core.status(store, out=out)
    assert f"lock: {holder.describe()}" in out.getvalue().splitlines()


def test_status_json_is_the_checkpoint_and_the_lock_holder(project: Project) -> None:
    run(project)
    holder = LockHolder.for_this_process("live-run", "resume")
    FileLock(project.lock).acquire(holder)

    out = io.StringIO()
    core.status(FileStateStore(project.state), fmt="json", out=out)
    payload = json.loads(out.getvalue())

    assert payload["state"] == str(project.state)
    assert payload["schema_version"] == 1
    assert payload["lock"] == holder.as_dict()
    assert payload["last_run"]["status"] == "ok"
    assert {sid: rec["status"] for sid, rec in payload["steps"].items()} == dict.fromkeys(
        ["ground", "walls", "garden", "roof"], "done"
    )


def test_status_of_a_fresh_state_says_nothing_ran(project: Project) -> None:
    out = io.StringIO()
    core.status(FileStateStore(project.state), out=out)
    assert out.getvalue().splitlines() == [f"state: {project.state}", "lock: free", "no step has run yet"]
    assert not project.state.exists()


# -- steps ----------------------------------------------------------------------------------------


def steps_of(project: Project) -> list[Step]:
    return project.open(inv(project)).steps()


def test_show_steps_text_lists_phases_needs_and_the_critical_path(project: Project) -> None:
    out = io.StringIO()
    assert core.show_steps(steps_of(project), titles=TITLES, out=out) == EXIT_OK
    lines = out.getvalue().splitlines()
    assert lines[:6] == [
        "Phase 1: Ground",
        " *ground           build the ground",
        "Phase 2: Walls",
        " *walls            build the walls  needs: ground",
        "  garden           build the garden  needs: ground",
        "Phase 3: Roof",
    ]
    # estimates: 1, 2, 2, 3 minutes; the longest chain is ground → walls → roof, each marked *
    assert lines[6] == " *roof             build the roof  needs: walls"
    assert lines[-1] == "* critical path ≈ 6.0 min (ground → walls → roof); all steps one after another ≈ 8.0 min"


def test_show_steps_mermaid_and_json(project: Project) -> None:
    out = io.StringIO()
    core.show_steps(steps_of(project), fmt="mermaid", titles=TITLES, out=out)
    text = out.getvalue()
    assert text.startswith("flowchart TD\n")
    assert '  subgraph phase2["Phase 2: Walls"]' in text
    assert text.count(" --> ") == 3
    # The critical path (ground → walls → roof) is marked with the `critical` class, garden is not.
    marked = text.split("  class ")[1].split(" critical")[0].split(",")
    node = {
        line.split('["')[1].split("<br/>")[0]: line.split('["')[0].strip()
        for line in text.splitlines()
        if '["' in line and "subgraph" not in line
    }
    assert sorted(marked) == sorted(node[s] for s in ("ground", "walls", "roof"))
    assert "classDef critical" in text

    out = io.StringIO()
    core.show_steps(steps_of(project), fmt="json", out=out)
    graph = json.loads(out.getvalue())
    assert graph["order"] == ["ground", "walls", "garden", "roof"]
    assert graph["critical_path"] == {"length_s": 360.0, "steps": ["ground", "walls", "roof"]}
    assert [s["needs"] for s in graph["steps"]] == [[], ["ground"], ["ground"], ["walls"]]


def test_show_steps_refuses_an_unknown_format(project: Project) -> None:
    with pytest.raises(UsageError, match="unknown format 'dot'"):
        core.show_steps(steps_of(project), fmt="dot", out=io.StringIO())


# -- guarded --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (UsageError("bad --env", hint="use dev"), EXIT_USAGE),
        (StateError("state is corrupt", hint="restore the .bak"), EXIT_USAGE),
        (LockHeld("locked by run r1", hint="wait"), EXIT_LOCKED),
        (Interrupted("stopped", hint="resume"), EXIT_INTERRUPTED),
        (PermanentError("access denied", hint="fix the policy"), EXIT_STEP_FAILED),
        (TransientError("throttled", reason="throttling", hint="retry later"), EXIT_STEP_FAILED),
        (Unavailable("no network", hint="go online"), EXIT_STEP_FAILED),
        (OutputUnknown("no outputs", hint="apply it first"), EXIT_STEP_FAILED),
        (WaitTimeout("never ready", hint="look at it"), EXIT_STEP_FAILED),
        (StepTimeout("too slow", hint="raise the timeout"), EXIT_STEP_FAILED),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v),
)
def test_guarded_maps_each_error_to_its_exit_code_and_prints_error_and_hint(error: RunbookError, code: int) -> None:
    err = io.StringIO()

    def body() -> int:
        raise error

    assert core.guarded(body, err=err) == code
    assert err.getvalue() == f"error: {error.message}\nhint: {error.hint}\n"


def test_guarded_names_the_key_and_file_of_a_config_error_and_skips_an_empty_hint() -> None:
    err = io.StringIO()

    def config() -> int:
        raise ConfigError("expected int, got str 'two'", key="envs.dev.nodes_min", path="/x/kyeol.toml")

    assert core.guarded(config, err=err) == EXIT_USAGE
    assert err.getvalue().splitlines()[0] == "error: expected int, got str 'two' (envs.dev.nodes_min in /x/kyeol.toml)"

    err = io.StringIO()

    def bare() -> int:
        raise PermanentError("plain")

    assert core.guarded(bare, err=err) == EXIT_STEP_FAILED
    assert err.getvalue() == "error: plain\n"


def test_guarded_turns_ctrl_c_into_130_and_passes_return_codes_through() -> None:
    err = io.StringIO()

    def ctrl_c() -> int:
        raise KeyboardInterrupt

    assert core.guarded(ctrl_c, err=err) == EXIT_INTERRUPTED
    assert err.getvalue() == "interrupted\n"
    assert core.guarded(lambda: 4, err=io.StringIO()) == 4


def test_guarded_lets_a_bug_surface_as_a_traceback() -> None:
    def bug() -> int:
        raise ZeroDivisionError("oops")

    with pytest.raises(ZeroDivisionError):
        core.guarded(bug, err=io.StringIO())


# -- unlock ---------------------------------------------------------------------------------------


def test_unlock_asks_for_confirmation_and_keeps_the_lock_on_no(project: Project) -> None:
    holder = LockHolder.for_this_process("live-run", "deploy")
    FileLock(project.lock).acquire(holder)
    asked: list[str] = []
    out = io.StringIO()

    code = core.unlock(FileStateStore(project.state), force=True, out=out, confirm=lambda q: asked.append(q) or False)

    assert code == EXIT_USAGE
    assert asked == [f"Remove the lock held by {holder.describe()}?"]
    assert "left the lock in place" in out.getvalue() and project.lock.exists()


def test_unlock_refusal_hint_names_the_force_option_not_a_product(project: Project) -> None:
    FileLock(project.lock).acquire(LockHolder.for_this_process("live-run", "deploy"))
    with pytest.raises(UsageError) as caught:
        core.unlock(FileStateStore(project.state), force=False, out=io.StringIO())
    assert "unlock --force" in caught.value.hint
    assert "live-run" in caught.value.message


def test_status_and_unlock_handle_a_torn_lock(project: Project) -> None:
    """Issue 10 (5): an empty lock an older version left is named by status and removed by unlock."""
    import os
    import time

    project.lock.write_text("")
    past = time.time() - 60
    os.utime(project.lock, (past, past))
    out = io.StringIO()
    core.status(FileStateStore(project.state), out=out)
    assert "lock: unreadable" in out.getvalue() and "free" not in out.getvalue()
    out = io.StringIO()
    assert core.unlock(FileStateStore(project.state), force=False, out=out) == EXIT_OK
    assert "removed" in out.getvalue() and not project.lock.exists()
