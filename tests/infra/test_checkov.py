"""checkov over the Terraform tree: zero failed checks; every suppression inline, with a reason.

checkov runs from its own virtualenv (it would downgrade boto3 in ours) and offline. A fixture
with a planted misconfiguration, a reasonless suppression and a suppression of a check that
never runs there proves each assertion can fail. The number of suppressions in the real tree is
reported in pytest's terminal summary (the infra_summary fixture), so it stays visible in every run.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.infra.hcl import Suppression, suppressions
from tests.infra.paths import FIXTURES
from tests.toolchain import checkov_bin, checkov_env

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class CheckovReport:
    failed: list[dict[str, Any]] = field(repr=False)
    skipped: list[dict[str, Any]] = field(repr=False)
    passed: int
    parsing_errors: list[str]


def run_checkov(directory: Path, cwd: Path) -> CheckovReport:
    """checkov -d DIR --framework terraform -o json, run outside the tree so no stray config applies."""
    result = subprocess.run(
        [str(checkov_bin()), "-d", str(directory), "--framework", "terraform", "-o", "json", "--compact"],
        capture_output=True,
        text=True,
        timeout=300,
        env=checkov_env(),
        cwd=cwd,
    )
    if result.returncode not in (0, 1):
        raise AssertionError(f"checkov failed to run (exit {result.returncode}):\n{result.stderr[-3000:]}")
    doc = json.loads(result.stdout)
    reports = doc if isinstance(doc, list) else [doc]
    failed, skipped, passed, errors = [], [], 0, []
    for report in reports:
        results = report.get("results", {})  # absent when checkov found nothing to scan
        failed += results.get("failed_checks", [])
        skipped += results.get("skipped_checks", [])
        passed += len(results.get("passed_checks", []))
        errors += results.get("parsing_errors", [])
    return CheckovReport(failed, skipped, passed, errors)


def describe(check: dict[str, Any]) -> str:
    first, last = check.get("file_line_range", [0, 0])
    return (
        f"{check.get('file_abs_path') or check.get('file_path')}:{first}-{last}: {check['check_id']} "
        f"{check.get('check_name', '')} [{check.get('resource', '')}]"
    )


def unmatched(found: list[Suppression], report: CheckovReport) -> list[Suppression]:
    """Suppressions that checkov did not apply: a mistyped id, or a check that never runs on that resource."""
    applied = {
        (str(Path(s["file_abs_path"]).resolve()), s["check_id"], line)
        for s in report.skipped
        for line in range(s["file_line_range"][0], s["file_line_range"][1] + 1)
    }
    return [s for s in found if (str(s.file.resolve()), s.check, s.line) not in applied]


@pytest.fixture(scope="module")
def tree_report(infra_tree: Path, tmp_path_factory: pytest.TempPathFactory) -> CheckovReport:
    return run_checkov(infra_tree, tmp_path_factory.mktemp("checkov"))


def test_no_failed_checks(tree_report: CheckovReport) -> None:
    assert not tree_report.parsing_errors, tree_report.parsing_errors
    assert tree_report.passed > 0, "checkov evaluated nothing: wrong directory?"
    if tree_report.failed:
        pytest.fail(f"{len(tree_report.failed)} failed check(s):\n" + "\n".join(describe(c) for c in tree_report.failed))


def test_every_suppression_is_inline_with_a_reason_and_used(
    infra_tree: Path, tree_report: CheckovReport, infra_summary: list[str]
) -> None:
    found = suppressions(infra_tree)
    stray_config = sorted(str(p) for p in infra_tree.rglob(".checkov.y*ml"))
    assert not stray_config, f"suppress inline (#checkov:skip=ID:reason) instead of a config file: {stray_config}"
    by_check: dict[str, int] = {}
    for s in found:
        by_check[s.check] = by_check.get(s.check, 0) + 1
    line = (
        f"checkov: {tree_report.passed} passed, {len(tree_report.failed)} failed, "
        f"{len(found)} inline suppression(s) in {infra_tree.name}: " + ", ".join(f"{k}×{v}" for k, v in sorted(by_check.items()))
    )
    infra_summary.append(line)
    print(line)
    reasonless = [f"{s.file}:{s.line}: {s.check}" for s in found if not s.reason]
    assert not reasonless, "suppressions need a reason (#checkov:skip=ID:why):\n" + "\n".join(reasonless)
    unused = [f"{s.file}:{s.line}: {s.check}" for s in unmatched(found, tree_report)]
    assert not unused, "suppressions checkov did not apply (wrong id or resource):\n" + "\n".join(unused)


def test_planted_problems_are_caught(tmp_path: Path) -> None:
    fixture = FIXTURES / "checkov" / "bad"
    report = run_checkov(fixture, tmp_path)
    failed = {(c["check_id"], c["resource"]) for c in report.failed}
    assert ("CKV_AWS_24", "aws_security_group.ssh_open") in failed  # port 22 open to the world
    assert ("CKV_AWS_24", "aws_security_group.ssh_reasonless") not in failed  # suppressed, but…
    found = suppressions(fixture)
    assert [(s.check, s.reason) for s in found] == [("CKV_AWS_24", ""), ("CKV_AWS_999", "no such check")]
    assert [s.check for s in found if not s.reason] == ["CKV_AWS_24"]  # …without a reason
    assert [s.check for s in unmatched(found, report)] == ["CKV_AWS_999"]
    assert "CKV_AWS_24" in describe(next(c for c in report.failed if c["check_id"] == "CKV_AWS_24"))
