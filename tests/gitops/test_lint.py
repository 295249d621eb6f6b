"""Policy and lint gates over the GitOps trees: checkov (Kubernetes checks on the rendered
output, and its kustomize framework on the trees themselves) with zero failures and only
reasoned suppressions, and yamllint with the committed .yamllint.yaml."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests import toolchain
from tests.gitops import support
from tests.gitops.test_render import EXPECTED_KUSTOMIZATIONS

SKIP_ANNOTATION = re.compile(r"^checkov\.io/skip\d+$")
SKIP_VALUE = re.compile(r"^(CKV2?_K8S_\d+)=(.+)$")
# Suppressions the trees may carry, each with the reason it is acceptable.
ALLOWED_SKIPS = {
    "CKV_K8S_35",  # Saleor reads its credentials from environment variables only
    "CKV_K8S_43",  # images are pinned by immutable tag (the promotion unit), not by digest
}


def _checkov(args: list[str], cwd: Path) -> list[dict[str, Any]]:
    done = subprocess.run(
        [str(toolchain.checkov_bin()), *args, "--compact", "--quiet", "-o", "json"],
        cwd=cwd,
        env=toolchain.checkov_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode in (0, 1), f"checkov could not run ({done.returncode}):\n{done.stderr[-2000:]}"
    report = json.loads(done.stdout)
    return report if isinstance(report, list) else [report]


def _failures(reports: list[dict[str, Any]]) -> list[str]:
    return [
        f"{c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}"
        for r in reports
        for c in r.get("results", {}).get("failed_checks", [])
    ]


@pytest.fixture(scope="module")
def rendered_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every kustomization's output, one file each, as the cluster would receive it."""
    out = tmp_path_factory.mktemp("rendered")
    for folder in sorted(EXPECTED_KUSTOMIZATIONS):
        (out / (folder.replace("/", "__") + ".yaml")).write_text(support.render_text(support.ROOT / folder), encoding="utf-8")
    return out


@pytest.mark.slow
def test_checkov_kubernetes_checks_pass_on_the_rendered_output(rendered_dir: Path):
    reports = _checkov(["-d", str(rendered_dir), "--framework", "kubernetes"], cwd=rendered_dir)
    assert not _failures(reports), "\n".join(_failures(reports))
    summary = reports[0]["summary"]
    assert summary["parsing_errors"] == 0
    assert summary["resource_count"] > 50 and summary["passed"] > 500, summary


@pytest.mark.slow
def test_checkov_kustomize_framework_passes_on_both_trees():
    for tree in (support.APP / "apps" / "saleor", support.PLATFORM):
        reports = _checkov(["-d", str(tree), "--framework", "kustomize"], cwd=support.ROOT)
        assert not _failures(reports), "\n".join(_failures(reports))


def test_every_checkov_suppression_is_an_annotation_with_a_reason():
    seen = set()
    for folder in sorted(EXPECTED_KUSTOMIZATIONS):
        for doc in support.render(support.ROOT / folder):
            for key, value in (doc["metadata"].get("annotations") or {}).items():
                if not key.startswith("checkov.io/"):
                    continue
                where = f"{folder}: {doc['kind']}/{doc['metadata']['name']} {key}"
                assert SKIP_ANNOTATION.match(key), where
                match = SKIP_VALUE.match(value)
                assert match, f"{where}: must be CKV_K8S_xx=<reason>"
                check, reason = match.groups()
                assert len(reason.split()) >= 5, f"{where}: the reason must say why"
                assert check in ALLOWED_SKIPS, f"{where}: {check} is not an accepted suppression"
                seen.add(check)
    assert seen == ALLOWED_SKIPS, "an accepted suppression no longer used should leave ALLOWED_SKIPS"
    # No comment-style suppressions hide anywhere in the sources either.
    for tree in (support.PLATFORM, support.APP):
        for path in tree.rglob("*.yaml"):
            assert "checkov:skip" not in path.read_text(encoding="utf-8"), path


def _yamllint(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "yamllint", "-c", str(support.ROOT / ".yamllint.yaml"), "-f", "parsable", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_yamllint_is_clean_on_the_trees_and_workflows():
    paths = [support.PLATFORM, support.APP]
    workflows = support.ROOT / ".github" / "workflows"
    if workflows.is_dir():
        paths.append(workflows)
    done = _yamllint(paths)
    assert done.returncode == 0, done.stdout + done.stderr


def test_yamllint_is_clean_on_the_rendered_output(rendered_dir: Path):
    done = _yamllint([rendered_dir])
    assert done.returncode == 0, done.stdout + done.stderr


def test_yamllint_config_catches_what_it_should(tmp_path: Path):
    """Negative control: the committed config is not a blanket pass."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("key: value\nkey: again\nlist:\n   - wrong indent\n", encoding="utf-8")
    done = _yamllint([bad])
    assert done.returncode != 0
    assert "duplication of key" in done.stdout and "indentation" in done.stdout
