"""What every Terraform step shares: input digests, backend settings, recorded cluster facts."""

from __future__ import annotations

import getpass
import json
import socket
import uuid
from pathlib import Path
from typing import Any

import pytest

from runbook.errors import UsageError
from steps.phases.terraform_root import backend_extra, cluster_outputs, terraform_files
from tests.fixtures.infra.world import FIXTURE, RecordingLog


def test_digest_follows_local_modules_with_paths_relative_to_the_tree() -> None:
    files = terraform_files(FIXTURE / "envs/dev", base=FIXTURE)
    assert set(files) == {
        "envs/dev/main.tf",
        "envs/dev/variables.tf",
        "envs/dev/outputs.tf",
        "envs/dev/knobs.tf",
        "envs/dev/settings.tf",
        "envs/dev/terraform.tfvars",
        "modules/seeded/main.tf",
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
    cluster = {
        "name": "jung-dev-eks",
        "status": "ACTIVE",
        "version": "1.33",
        "endpoint": "https://abc.eks/",
        "certificate_authority_data": "Q0E=",
        "oidc_issuer_url": "https://oidc.eks/id/X",
    }
    log = RecordingLog()
    recorded = cluster_outputs({"cluster_endpoint": "https://abc.eks"}, cluster, log)
    assert recorded == {
        "cluster_status": "ACTIVE",
        "cluster_version": "1.33",
        "cluster_certificate_authority_data": "Q0E=",
        "cluster_oidc_issuer_url": "https://oidc.eks/id/X",
    }
    assert log.records == []  # a trailing slash is not a disagreement
    recorded = cluster_outputs({"cluster_endpoint": "https://127.0.0.1:6443"}, cluster, log)
    assert "cluster_endpoint" not in recorded
    assert [r["output"] for r in log.events("Terraform output differs from the EKS API")] == ["cluster_endpoint"]


# -- a state lock left by a run that is gone ------------------------------------------------------

LOCK_BUCKET = "jung-kyeol-tfstate-123456789012"
LOCK_KEY = "global/us-east-1/terraform.tfstate"


def leave_lock(endpoint: str, *, lock_file: bool, item: bool = True, who: str = "") -> str:
    """What a terraform that died holding the lock of global/us-east-1 leaves: the DynamoDB item
    and the S3 lock file, or one of them when it died halfway through releasing them."""
    import boto3

    lock_id = str(uuid.uuid4())
    info = json.dumps(
        {
            "ID": lock_id,
            "Operation": "OperationTypeApply",
            "Info": "",
            "Who": who or f"{getpass.getuser()}@{socket.gethostname()}",
            "Version": "1.11.4",
            "Created": "2026-11-26T08:00:00.000000000Z",
            "Path": f"{LOCK_BUCKET}/{LOCK_KEY}",
        }
    )
    dynamodb = boto3.client("dynamodb", region_name="ap-northeast-1", endpoint_url=endpoint)
    if item:
        dynamodb.put_item(TableName="jung-kyeol-tflock", Item={"LockID": {"S": f"{LOCK_BUCKET}/{LOCK_KEY}"}, "Info": {"S": info}})
    if lock_file:
        s3 = boto3.client("s3", region_name="ap-northeast-1", endpoint_url=endpoint)
        s3.put_object(Bucket=LOCK_BUCKET, Key=f"{LOCK_KEY}.tflock", Body=info.encode())
    return lock_id


def bootstrapped_world(tmp_path: Path, moto_endpoint: str) -> tuple[Any, Any, list[Any]]:
    """A world whose state backend exists, with no lock wait, and its bootstrap + global steps
    (global is the root the lock tests apply)."""
    from steps.phases import phase1_bootstrap, phase2_mgmt
    from tests.fixtures.infra.world import World, make_world

    world: World = make_world(tmp_path, moto_endpoint, KYEOL_TF_LOCK_TIMEOUT="0")
    services, env = world.services(), world.config.env("dev")
    bootstrap, edge = phase1_bootstrap.Bootstrap(services, env), phase2_mgmt.build(services, env)[0]
    assert world.run([bootstrap, edge], only=["bootstrap"]).exit_code == 0
    return world, services, [bootstrap, edge]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("lock_file", "item"),
    [(True, True), (False, True), (True, False)],
    ids=["both-locks", "dynamodb-item-only", "lock-file-only"],
)
def test_a_lock_whose_holder_is_gone_is_released_and_the_apply_goes_on(
    tmp_path: Path, moto_endpoint: str, lock_file: bool, item: bool
) -> None:
    from tests.fixtures.infra.world import lock_items, s3_keys

    world, _, steps = bootstrapped_world(tmp_path, moto_endpoint)
    lock_id = leave_lock(moto_endpoint, lock_file=lock_file, item=item)

    result = world.run(steps, only=["global"])
    assert result.exit_code == 0 and result.step("global").outcome == "applied"
    (released,) = world.log.events("releasing the Terraform state lock of a run that is gone")
    assert released["lock_id"] == lock_id and "no terraform process" in released["why"]
    assert f"{LOCK_KEY}.tflock" not in s3_keys(moto_endpoint, LOCK_BUCKET)
    assert [i for i in lock_items(moto_endpoint, "jung-kyeol-tflock") if i["LockID"]["S"] == f"{LOCK_BUCKET}/{LOCK_KEY}"] == []
    assert LOCK_KEY in s3_keys(moto_endpoint, LOCK_BUCKET), "the apply ran and saved its state"


@pytest.mark.slow
def test_a_dead_holders_lock_met_by_the_apply_is_released_and_planned_again(tmp_path: Path, moto_endpoint: str) -> None:
    world, services, steps = bootstrapped_world(tmp_path, moto_endpoint)
    terraform, left = services.terraform, []
    real_plan, applies = terraform.plan, len(world.log.commands("apply"))

    def plan_then_a_lock_is_left(*args: object, **kwargs: object) -> object:
        planned = real_plan(*args, **kwargs)
        if not left:  # between the plan and its apply, as when a retried lock write meets itself
            left.append(leave_lock(moto_endpoint, lock_file=True))
        return planned

    terraform.plan = plan_then_a_lock_is_left  # type: ignore[method-assign]
    result = world.run(steps, only=["global"])
    assert result.exit_code == 0 and result.step("global").outcome == "applied"
    (released,) = world.log.events("releasing the Terraform state lock of a run that is gone")
    assert released["lock_id"] == left[0]
    assert len(world.log.commands("apply")) - applies == 2, "the apply that met the lock, then the one that applied"


@pytest.mark.slow
def test_a_lock_held_from_another_machine_is_never_taken(tmp_path: Path, moto_endpoint: str) -> None:
    from tests.fixtures.infra.world import s3_keys

    world, _, steps = bootstrapped_world(tmp_path, moto_endpoint)
    lock_id = leave_lock(moto_endpoint, lock_file=True, who="ci@runner-7")

    result = world.run(steps, only=["global"])
    assert result.exit_code == 1 and result.step("global").error["type"] == "StateLocked"
    assert lock_id in result.step("global").error["message"]
    assert world.log.events("releasing the Terraform state lock of a run that is gone") == []
    assert f"{LOCK_KEY}.tflock" in s3_keys(moto_endpoint, LOCK_BUCKET), "a colleague's lock stays"
