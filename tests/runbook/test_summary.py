"""runbook.summary: the Markdown run summary, its counts, what drifted, what was not checked,
and the Gantt chart — the chart parsed by mermaid itself (tests/runbook/mermaid_check.mjs)."""

from __future__ import annotations

from typing import Any

from runbook.summary import counts, critical_path, drifted, gantt, outcome, render_markdown, unchecked
from tests.runbook.mermaid_support import mermaid


def step(sid: str, phase: int, start: float, end: float, **kw: Any) -> dict[str, Any]:
    base = "2026-12-02T05:00:00+00:00"
    from datetime import datetime, timedelta

    t0 = datetime.fromisoformat(base)
    return {
        "id": sid,
        "phase": phase,
        "title": sid,
        "status": kw.pop("status", "done"),
        "outcome": kw.pop("outcome", "applied"),
        "attempts": kw.pop("attempts", 1),
        "started_at": (t0 + timedelta(seconds=start)).isoformat(),
        "finished_at": (t0 + timedelta(seconds=end)).isoformat(),
        "duration_s": end - start,
        "changes": kw.pop("changes", []),
        "notes": kw.pop("notes", []),
        "retries": kw.pop("retries", []),
        "plan_unknown": kw.pop("plan_unknown", ""),
        "error": kw.pop("error", None),
        **kw,
    }


def report(steps: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    return {
        "run_id": "20261202T050000Z-abc123",
        "command": "deploy",
        "env": "dev",
        "dry_run": kw.pop("dry_run", False),
        "exit_code": kw.pop("exit_code", 0),
        "status": "ok",
        "started_at": "2026-12-02T05:00:00+00:00",
        "duration_s": 100.0,
        "notes": kw.pop("notes", []),
        "summary": {"total": len(steps), "changed": 2},
        "where": {"tool": "kyeol 0.1.0"},
        "steps": steps,
        **kw,
    }


NEEDS = {"a": (), "b": ("a",), "c": ("a",), "d": ("b", "c")}
RUN = [step("a", 1, 0, 10), step("b", 2, 10, 20), step("c", 2, 10, 60), step("d", 3, 60, 70)]


def test_the_critical_path_follows_the_needs_that_finished_last() -> None:
    assert critical_path(RUN, NEEDS) == ["a", "c", "d"]
    # Without the graph: the chain of steps that finished before the next one started.
    assert critical_path(RUN) == ["a", "c", "d"]


def test_counts_are_terraform_words_and_a_replace_adds_and_destroys() -> None:
    changes = [{"action": a} for a in ("create", "update", "replace", "delete", "run", "read")]
    assert counts(changes) == {"add": 2, "change": 1, "destroy": 2, "other": 2}


def test_outcome_words() -> None:
    assert outcome({"exit_code": 0, "dry_run": True}).startswith("no changes")
    assert outcome({"exit_code": 4, "dry_run": True}).startswith("changes pending")
    assert outcome({"exit_code": 1, "steps": [{"id": "dev.infra", "status": "failed"}]}) == "failed at dev.infra"


def test_drift_names_every_pending_change_and_unchecked_what_could_not_be_read() -> None:
    planned = [
        step(
            "dev.infra",
            3,
            0,
            5,
            status="planned",
            outcome="planned",
            changes=[{"action": "update", "target": "aws_ssm_parameter.knob", "detail": ""}],
        ),
        step(
            "dev.sync",
            8,
            5,
            6,
            status="planned",
            outcome="planned",
            changes=[{"action": "run", "target": "sync saleor-dev", "detail": "OutOfSync"}],
        ),
        step(
            "dev.verify",
            9,
            6,
            7,
            status="planned",
            outcome="planned",
            plan_unknown="no DNS offline",
            notes=["could not check offline: no DNS offline"],
        ),
    ]
    doc = report(planned, dry_run=True, exit_code=4, notes=["could not check the AWS identity offline: x"])
    assert drifted(doc) == [
        ("dev.infra", "update aws_ssm_parameter.knob"),
        ("dev.sync", "run sync saleor-dev – OutOfSync"),
        ("dev.verify", "unknown: no DNS offline"),
    ]
    assert unchecked(doc) == ["could not check the AWS identity offline: x", "dev.verify: no DNS offline"]
    assert drifted(report(planned, dry_run=False)) == []


def test_markdown_has_the_outcome_tables_per_phase_and_the_chart() -> None:
    steps = [dict(s) for s in RUN]
    steps[1]["changes"] = [{"action": "create", "target": "module.x.aws_s3_bucket.y", "detail": "a|b"}]
    steps[2]["attempts"] = 2
    steps[2]["retries"] = [{"operation": "apply", "attempt": 1, "reason": "throttled", "delay_s": 2.0}]
    text = render_markdown(
        report(steps), titles={1: "One", 2: "Two", 3: "Three"}, needs=NEEDS, kind_of=lambda s, c: "Terraform resources"
    )
    assert text.startswith("## kyeol deploy --env dev: succeeded")
    assert "| outcome | succeeded (exit 0) |" in text
    assert "**Phase 2: Two**" in text and "| step | status | outcome | duration | attempts | changes |" in text
    assert "| b | ✅ done | applied | 10.0 s | 1 | +1 |" in text
    assert "| c | ✅ done | applied | 50.0 s | 2 | – |" in text
    assert "| b | Terraform resources | 1 | 0 | 0 | 0 |" in text
    assert "| c | 1 | throttled | 2.0 s |" in text
    assert "a\\|b" in text  # a pipe in a cell is escaped, the table keeps its columns
    assert "Critical path: a → c → d" in text
    assert text.count("```mermaid") == 1


def test_the_gantt_chart_is_what_mermaid_parses_with_the_critical_path_marked() -> None:
    steps = [dict(s) for s in RUN] + [step("never", 4, 0, 0, started_at=None, finished_at=None, status="pending")]
    steps[3]["status"] = "failed"
    chart = gantt(report(steps), {1: "Bootstrap: state; #1", 2: "Two", 3: "Three"}, NEEDS)
    parsed = mermaid(chart)
    assert parsed["ok"] and parsed["type"] == "gantt" and parsed["dateFormat"] == "x", parsed
    tasks = {t["task"].split(" ")[0]: t for t in parsed["tasks"]}
    assert set(tasks) == {"a", "b", "c", "d"}  # a step that never started is not drawn
    assert {k for k, t in tasks.items() if t["crit"]} == {"a", "c", "d"}
    assert (tasks["c"]["start"], tasks["c"]["end"]) == (10_000, 60_000)
    assert tasks["a"]["done"] and not tasks["d"]["done"]


def test_mermaid_refuses_what_the_check_relies_on_it_refusing() -> None:
    assert not mermaid("gantt\n    dateFormat x\n    section a\n    bad :t0, zz, yy\n")["ok"]


def test_the_committed_example_summary_is_a_valid_render() -> None:
    """docs/examples/summary-deploy-dev.md: the tables a reader expects and a chart mermaid reads."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "examples" / "summary-deploy-dev.md").read_text()
    for heading in (
        "## kyeol deploy --env dev: succeeded",
        "### Changes made",
        "### Steps",
        "### Could not be checked",
        "### Timeline",
    ):
        assert heading in text
    chart = text.split("```mermaid\n", 1)[1].split("\n```", 1)[0]
    parsed = mermaid(chart)
    assert parsed["ok"] and len(parsed["tasks"]) == 11 and any(t["crit"] for t in parsed["tasks"])
