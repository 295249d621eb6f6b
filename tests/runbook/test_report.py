"""The run report: what ran, who, where, per-step results and a summary; redacted, atomic."""

from __future__ import annotations

import io
import json
import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runbook.clock import FakeClock
from runbook.errors import TransientError
from runbook.redact import Redactor
from runbook.report import build_report, latest_reports, read_report, report_path, summarize, write_report
from runbook.retry import Classifier, RetryPolicy
from runbook.runner import Runner, RunOptions, RunResult, StepResult
from runbook.state import FileStateStore
from runbook.step import CheckResult, Step, StepContext

SECRET = "db-master-Pa55word-xyz"


def a_result() -> RunResult:
    steps = [
        StepResult(
            id="bootstrap",
            phase=1,
            title="Bootstrap",
            scope="shared",
            status="done",
            outcome="unchanged",
            attempts=0,
            duration_s=0.4,
        ),
        StepResult(
            id="dev.infra",
            phase=3,
            title="DEV infra",
            scope="dev",
            status="done",
            outcome="applied",
            attempts=2,
            duration_s=812.4,
            changed=True,
            retries=[{"operation": "apply", "attempt": 1, "reason": "throttled", "delay_s": 2.0, "error": "Throttling"}],
        ),
        StepResult(
            id="dev.register",
            phase=5,
            title="Register",
            scope="dev",
            status="failed",
            outcome="failed",
            attempts=1,
            duration_s=3.2,
            error={
                "type": "PermanentError",
                "message": f"login with {SECRET} refused",
                "hint": "check the role",
                "operation": "apply",
            },
        ),
        StepResult(id="dev.addons", phase=6, title="Add-ons", scope="dev", notes=["not run: needs dev.register, which failed"]),
    ]
    return RunResult(
        run_id="20261126T010203Z-abc123",
        command="deploy",
        env="dev",
        dry_run=False,
        status="failed",
        started_at="2026-11-26T01:02:03.000+00:00",
        finished_at="2026-11-26T01:16:00.000+00:00",
        duration_s=837.0,
        steps=steps,
    )


def test_build_report_says_what_who_where_and_summarises() -> None:
    report = build_report(
        a_result(), tool="kyeol 0.1.0", identity={"account": "123456789012", "region": "ap-northeast-1"}, notes=["n1"]
    )
    assert (report["command"], report["env"], report["run_id"], report["status"], report["exit_code"]) == (
        "deploy",
        "dev",
        "20261126T010203Z-abc123",
        "failed",
        1,
    )
    assert report["who"]["user"] and report["where"] == {"host": socket.gethostname(), "cwd": os.getcwd(), "tool": "kyeol 0.1.0"}
    assert report["identity"]["account"] == "123456789012" and report["notes"] == ["n1"]
    assert report["summary"] == {
        "total": 4,
        "changed": 1,
        "unchanged": 1,
        "planned": 0,
        "failed": 1,
        "interrupted": 0,
        "not_run": 1,
        "retries": 1,
    }
    infra = report["steps"][1]
    assert infra["id"] == "dev.infra" and infra["attempts"] == 2 and infra["duration_s"] == 812.4 and infra["changed"] is True
    assert infra["retries"][0]["reason"] == "throttled"
    assert report["steps"][2]["error"]["hint"] == "check the role"
    assert report["steps"][3]["notes"] == ["not run: needs dev.register, which failed"]


def test_build_report_accepts_a_plain_dict() -> None:
    data = a_result().as_dict()
    report = build_report(data, tool="t 1", user="ci", host="runner-3", cwd="/src")
    assert report["who"] == {"user": "ci"} and report["where"] == {"host": "runner-3", "cwd": "/src", "tool": "t 1"}
    assert report["summary"]["failed"] == 1 and len(report["steps"]) == 4
    with pytest.raises(TypeError):
        build_report(42, tool="t")


def test_summary_counts_dry_run_plans() -> None:
    steps = [{"status": "planned"}, {"status": "planned"}, {"status": "done", "changed": False}, {"status": "interrupted"}]
    assert summarize(steps) == {
        "total": 4,
        "changed": 0,
        "unchanged": 1,
        "planned": 2,
        "failed": 0,
        "interrupted": 1,
        "not_run": 0,
        "retries": 0,
    }


def test_write_report_is_atomic_and_redacted(tmp_path: Path) -> None:
    redactor = Redactor()
    redactor.add(SECRET)
    redactor.add_pattern(r"AKIA[0-9A-Z]{16}")
    report = build_report(
        a_result(),
        tool="kyeol 0.1.0",
        identity={"arn": "arn:aws:sts::123456789012:assumed-role/x"},
        notes=[f"note {SECRET}", "key AKIAIOSFODNN7EXAMPLE"],
    )
    path = write_report(tmp_path / "runs", report, redactor=redactor)
    assert path == tmp_path / "runs" / "20261126T010203Z-abc123.json"
    text = path.read_text()
    assert SECRET not in text and "AKIAIOSFODNN7EXAMPLE" not in text
    written = read_report(path)
    assert written["steps"][2]["error"]["message"] == "login with *** refused"
    assert written["notes"] == ["note ***", "key ***"]
    assert written["identity"]["arn"] == "arn:aws:sts::123456789012:assumed-role/x"
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [path.name]  # no temp file left behind
    assert report["notes"][0] == f"note {SECRET}"  # the caller's dict is not modified


def test_report_names_are_safe_file_names(tmp_path: Path) -> None:
    assert report_path(tmp_path, "../../etc/passwd").parent == tmp_path
    assert report_path(tmp_path, "a/b c").name == "a_b_c.json"
    with pytest.raises(ValueError, match="a report needs a run_id"):
        write_report(tmp_path, {"status": "ok"})


def test_latest_reports_are_newest_first(tmp_path: Path) -> None:
    assert latest_reports(tmp_path / "missing", 5) == []
    for i, run_id in enumerate(["r-old", "r-mid", "r-new"]):
        path = write_report(tmp_path, {"run_id": run_id})
        os.utime(path, (1_700_000_000 + i * 60, 1_700_000_000 + i * 60))
    assert [p.stem for p in latest_reports(tmp_path, 2)] == ["r-new", "r-mid"]
    assert [p.stem for p in latest_reports(tmp_path, 10)] == ["r-new", "r-mid", "r-old"]


# -- the real runner, the real file store, the report of what happened -----------------------


class Flaky(Step):
    """A step that fails once with a transient error, then applies and reveals a secret."""

    def __init__(self, sid: str, phase: int, needs: tuple[str, ...] = ()) -> None:
        self.id, self.phase, self.title, self.needs = sid, phase, sid.title(), needs
        self.failures = 1

    def check(self, ctx: StepContext) -> CheckResult:
        return CheckResult(done=False, reason="not there yet")

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        if self.failures:
            self.failures -= 1
            raise TransientError("Throttling: rate exceeded", reason="throttled")
        password = ctx.secret(SECRET)
        ctx.log.info(f"created user with {password}")
        return {"endpoint": f"{self.id}.example.internal", "note": f"password {password}"}


@pytest.fixture
def _restore_logging() -> Iterator[None]:
    yield
    import structlog

    structlog.reset_defaults()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if type(h).__name__ == "_ToStructlog"]:
        root.removeHandler(handler)


@pytest.mark.usefixtures("_restore_logging")
def test_a_real_run_checkpoints_to_the_file_store_and_reports_without_secrets(tmp_path: Path) -> None:
    from runbook.logs import configure_logging, get_logger

    store = FileStateStore(tmp_path / "state.json", tool="tester 1.0")
    redactor = Redactor()
    logs = io.StringIO()
    configure_logging("json", redactor, stream=logs)
    steps = [Flaky("one", 1), Flaky("two", 2, needs=("one",))]
    runner = Runner(
        steps,
        store=store,
        run_id="run-42",
        env="dev",
        clock=FakeClock(),
        log=get_logger(),
        redactor=redactor,
        classifier=Classifier(),
        options=RunOptions(parallelism=2),
        command="deploy",
        retry_policy=RetryPolicy(max_attempts=3, initial=0.01, maximum=0.01, jitter=0.0),
    )
    result = runner.run()
    assert result.exit_code == 0
    doc = FileStateStore(tmp_path / "state.json").load()  # valid after every one of the runner's saves
    assert doc["last_run"]["run_id"] == "run-42" and doc["steps"]["two"]["status"] == "done"
    assert doc["steps"]["two"]["outputs"]["note"] == "password ***"
    assert (tmp_path / "state.json.bak").exists()

    path = write_report(tmp_path / "runs", build_report(result, tool="tester 1.0"), redactor=redactor)
    report = read_report(path)
    assert report["summary"]["changed"] == 2 and report["summary"]["retries"] == 2
    assert [s["attempts"] for s in report["steps"]] == [2, 2]
    for text in (path.read_text(), (tmp_path / "state.json").read_text(), logs.getvalue()):
        assert SECRET not in text
    assert any(json.loads(line).get("event") == "created user with ***" for line in logs.getvalue().splitlines())
