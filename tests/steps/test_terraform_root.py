"""What every Terraform step shares: input digests, backend settings, recorded cluster facts."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook.errors import UsageError
from steps.terraform_root import backend_extra, cluster_outputs, terraform_files
from tests.fixtures.infra.world import FIXTURE, RecordingLog


def test_digest_follows_local_modules_with_paths_relative_to_the_tree() -> None:
    files = terraform_files(FIXTURE / "envs/dev", base=FIXTURE)
    assert set(files) == {
        "envs/dev/main.tf", "envs/dev/variables.tf", "envs/dev/outputs.tf", "envs/dev/knobs.tf",
        "envs/dev/settings.tf", "envs/dev/terraform.tfvars", "modules/seeded/main.tf",
    }
    assert all(len(digest) == 64 for digest in files.values())


def test_digest_changes_with_tf_and_tfvars_files_only(tmp_path: Path) -> None:
    root, module = tmp_path / "envs/x", tmp_path / "modules/m"
    root.mkdir(parents=True)
    module.mkdir(parents=True)
    (root / "main.tf").write_text('module "m" {\n  source = "../../modules/m"\n}\n')
    (module / "main.tf").write_text("# module\n")
    before = terraform_files(root, base=tmp_path)
    (root / "notes.md").write_text("not an input")
    (root / ".terraform.lock.hcl").write_text("not an input either")
    assert terraform_files(root, base=tmp_path) == before
    (root / "terraform.tfvars").write_text('size = "small"\n')
    with_vars = terraform_files(root, base=tmp_path)
    assert set(with_vars) - set(before) == {"envs/x/terraform.tfvars"}
    (module / "main.tf").write_text("# module, changed\n")
    assert terraform_files(root, base=tmp_path)["modules/m/main.tf"] != with_vars["modules/m/main.tf"]


def test_backend_extra_is_a_json_object_or_nothing() -> None:
    assert backend_extra({}) == {}
    assert backend_extra({"KYEOL_TF_BACKEND_EXTRA": ' {"use_path_style": true} '}) == {"use_path_style": True}
    with pytest.raises(UsageError, match="not valid JSON"):
        backend_extra({"KYEOL_TF_BACKEND_EXTRA": "use_path_style=true"})
    with pytest.raises(UsageError, match="must be a JSON object, not list"):
        backend_extra({"KYEOL_TF_BACKEND_EXTRA": "[]"})


def test_cluster_facts_fill_gaps_and_terraform_stays_authoritative() -> None:
    cluster = {"name": "jung-dev-eks", "status": "ACTIVE", "version": "1.33", "endpoint": "https://abc.eks/",
               "certificate_authority_data": "Q0E=", "oidc_issuer_url": "https://oidc.eks/id/X"}
    log = RecordingLog()
    recorded = cluster_outputs({"cluster_endpoint": "https://abc.eks"}, cluster, log)
    assert recorded == {"cluster_status": "ACTIVE", "cluster_version": "1.33",
                        "cluster_certificate_authority_data": "Q0E=", "cluster_oidc_issuer_url": "https://oidc.eks/id/X"}
    assert log.records == []  # a trailing slash is not a disagreement
    recorded = cluster_outputs({"cluster_endpoint": "https://127.0.0.1:6443"}, cluster, log)
    assert "cluster_endpoint" not in recorded
    assert [r["output"] for r in log.events("Terraform output differs from the EKS API")] == ["cluster_endpoint"]
