"""What an apply says it changed (StepContext.changed) becomes the step's changes in a real
run's result and report, redacted and once each; a step that reports nothing still says it
was applied (what was done, never an empty list after an apply)."""

from __future__ import annotations

from typing import Any

from runbook.clock import Clock
from runbook.redact import Redactor
from runbook.retry import Classifier
from runbook.runner import Runner, RunOptions
from runbook.step import CheckResult, Step, StepContext
from tests.runbook.test_runner import MemoryStore, RecordingLog


class Creates(Step):
    id, phase = "infra", 1

    def check(self, ctx: StepContext) -> CheckResult:
        return CheckResult(False, "nothing yet")

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        ctx.changed("create", "aws_vpc.this", "envs/dev")
        ctx.changed("create", "aws_vpc.this", "envs/dev")  # reported twice: kept once
        ctx.changed("update", "Secret argocd/cluster-x", "token hunter2")
        return {"ok": True}


class Quiet(Step):
    id, phase, needs = "quiet", 2, ("infra",)

    def check(self, ctx: StepContext) -> CheckResult:
        return CheckResult(False, "due")

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        return {}  # changes nothing, so records none


def test_an_apply_records_its_changes_in_the_result() -> None:
    redactor = Redactor()
    redactor.add("hunter2")
    runner = Runner(
        [Creates(), Quiet()],
        store=MemoryStore(),
        run_id="r1",
        env="dev",
        clock=Clock(),
        log=RecordingLog(),
        redactor=redactor,
        classifier=Classifier(),
        options=RunOptions(),
    )
    result = runner.run()
    infra, quiet = result.step("infra"), result.step("quiet")
    assert infra.status == "done" and infra.changed
    assert [(c["action"], c["target"]) for c in infra.changes] == [
        ("create", "aws_vpc.this"),
        ("update", "Secret argocd/cluster-x"),
    ]
    assert "hunter2" not in str(infra.changes)
    assert quiet.changes == [{"action": "applied", "target": "quiet", "detail": ""}]
