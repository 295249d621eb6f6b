"""runbook.actions: GitHub's workflow commands (groups, annotations, escaping) and where the
summary goes (actions/toolkit@main packages/core/src/command.ts escapeData / escapeProperty)."""

from __future__ import annotations

import io

from runbook.actions import command, emit, in_actions, summary_target

REPORT = {
    "exit_code": 1,
    "notes": ["could not check the AWS identity offline: no credentials"],
    "steps": [
        {
            "id": "dev.infra",
            "phase": 3,
            "status": "failed",
            "outcome": "failed",
            "duration_s": 2.5,
            "attempts": 2,
            "changes": [{"action": "create", "target": "aws_eks_cluster.this", "detail": ""}],
            "notes": ["could not check offline: x"],
            "retries": [{"operation": "apply", "attempt": 1, "reason": "throttled"}],
            "error": {"message": "terraform apply failed: a\nb", "hint": "read the log, 100%"},
        },
        {"id": "argocd", "phase": 4, "status": "done", "outcome": "unchanged", "attempts": 1},
    ],
}


def test_escaping_follows_the_toolkit() -> None:
    assert command("error", "50% a\r\nb", title="step: a, b") == "::error title=step%3A a%2C b::50%25 a%0D%0Ab"
    assert command("notice", "m") == "::notice::m"


def test_one_group_per_step_then_annotations_naming_step_and_hint() -> None:
    out = io.StringIO()
    emit(REPORT, out=out, titles={3: "Environment infra"}, tool="kyeol")
    lines = out.getvalue().splitlines()
    assert lines.count("::endgroup::") == 2
    assert lines[0] == "::group::phase 3 dev.infra: failed (failed, 2.5s)"
    assert "phase: Environment infra" in lines and " create aws_eks_cluster.this" in lines
    error = next(line for line in lines if line.startswith("::error "))
    assert error == (
        "::error title=kyeol step dev.infra failed::dev.infra: terraform apply failed: a%0Ab%0Ahint: read the log, 100%25"
    )
    warnings = [line for line in lines if line.startswith("::warning ")]
    assert any("retried apply: throttled" in w for w in warnings)
    assert any(w.startswith("::warning title=kyeol%3A not checked::could not check the AWS identity") for w in warnings)


def test_summary_target_prefers_the_option_then_the_job_summary_in_actions_only() -> None:
    actions = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": "/tmp/step"}
    assert summary_target("s.md", actions) == ("s.md", False)
    assert summary_target(None, actions) == ("/tmp/step", True)
    assert summary_target(None, {"GITHUB_STEP_SUMMARY": "/tmp/step"}) == (None, False)
    assert in_actions(actions) and not in_actions({"CI": "true"})
