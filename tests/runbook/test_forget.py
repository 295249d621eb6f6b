"""Forgetting step records: a step that tears down what others built (``undoes``) makes their
records stop claiming a result, so the next run applies them again."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from runbook import cli as core
from runbook.state import forget, new_document, record
from runbook.step import CheckResult, Step, StepContext
from tests.runbook.test_cli import Project, Session


def test_forget_resets_records_to_pending_keeping_phase_and_scope() -> None:
    doc = new_document("test 1.0")
    built = record(doc, "walls", phase=2, scope="dev")
    built.update(
        status="done",
        attempts=2,
        fingerprint="sha256:abc",
        outputs={"height": 3},
        duration_s=1.5,
        finished_at="2026-01-01T00:00:00Z",
        previous_status="planned",
        notes=["x"],
    )
    record(doc, "never", phase=3, scope="dev")
    assert forget(doc, ["walls", "never", "unknown", "walls"], because="demolished", at="2026-01-02T00:00:00Z") == ["walls"]
    walls = doc["steps"]["walls"]
    assert walls["status"] == "pending" and walls["outputs"] == {} and walls["fingerprint"] is None
    assert (walls["phase"], walls["scope"], walls["attempts"], walls["duration_s"]) == (2, "dev", 0, None)
    assert (walls["forgotten_at"], walls["forgotten_because"]) == ("2026-01-02T00:00:00Z", "demolished")
    assert "previous_status" not in walls and "notes" not in walls
    assert "unknown" not in doc["steps"]  # nothing is invented
    assert forget(doc, ["walls"]) == []  # already forgotten: unchanged


class Demolish(Step):
    """Undoes ``walls`` and ``roof``: done when neither is in the world."""

    def __init__(self, world: dict[str, Any], fail: Exception | None = None) -> None:
        self.id, self.phase, self.needs, self.title = "demolish", 9, (), "take the house down"
        self.world = world
        self.fail = fail
        self.undoes = ("walls", "roof")
        self.max_attempts = 1

    def check(self, ctx: StepContext) -> CheckResult:
        return CheckResult(not any(k in self.world for k in self.undoes), "still standing")

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        if self.fail is not None:
            raise self.fail
        for sid in self.undoes:
            self.world.pop(sid, None)
        return {"demolished": True}


class DemolishSession(Session):
    def steps(self) -> list[Step]:
        return [*super().steps(), Demolish(self.world, self.fail.get("demolish"))]


class DemolishProject(Project):
    def open(self, inv: core.Invocation) -> Session:
        self.calls.clear()
        s = DemolishSession(self.tmp, self.world, self.calls, dict(self.fail), self.preflight_result, self.confirm_error)
        self.sessions.append(s)
        return s


def run(project: Project, **kw: Any) -> int:
    invocation = core.Invocation(
        command=kw.pop("command", "deploy"), env="dev", state=str(project.state), runs_dir=str(project.tmp / "runs"), **kw
    )
    return core.guarded(lambda: core.run(project, invocation, out=io.StringIO()), err=io.StringIO())


def statuses(project: Project) -> dict[str, str]:
    return {sid: rec["status"] for sid, rec in json.loads(project.state.read_text())["steps"].items()}


def test_a_done_undoing_step_makes_the_next_run_apply_what_it_undid(tmp_path: Path) -> None:
    project = DemolishProject(tmp_path)
    assert run(project, only=("ground", "walls", "roof")) == 0
    assert statuses(project) == {"ground": "done", "walls": "done", "roof": "done"}

    before = project.state.read_bytes()
    assert run(project, only=("demolish",), dry_run=True) == 0
    assert project.state.read_bytes() == before  # a dry-run forgets nothing

    assert run(project, command="destroy", only=("demolish",)) == 0
    doc = json.loads(project.state.read_text())
    assert statuses(project) == {"ground": "done", "walls": "pending", "roof": "pending", "demolish": "done"}
    assert doc["steps"]["walls"]["outputs"] == {} and "demolish undid it" in doc["steps"]["walls"]["forgotten_because"]

    assert run(project, only=("ground", "walls", "roof")) == 0
    assert statuses(project)["walls"] == "done" and "walls" in project.world  # applied again


def test_a_failed_undoing_step_forgets_nothing(tmp_path: Path) -> None:
    from runbook.errors import PermanentError

    project = DemolishProject(tmp_path)
    assert run(project, only=("ground", "walls", "roof")) == 0
    project.fail["demolish"] = PermanentError("the crane broke")
    assert run(project, only=("demolish",)) == 1
    assert statuses(project) == {"ground": "done", "walls": "done", "roof": "done", "demolish": "failed"}
