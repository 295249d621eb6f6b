"""Phase 1 with the real Terraform CLI on the fixture's envs/bootstrap, making the bucket in moto."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runbook.errors import PermanentError
from steps.phases import phase1_bootstrap
from steps.phases.terraform_root import INPUTS_OUTPUT
from tests.fixtures.infra.seed import Seed
from tests.fixtures.infra.world import World, make_world

pytestmark = pytest.mark.slow


@pytest.fixture
def world(tmp_path: Path, moto_endpoint: str) -> World:
    return make_world(tmp_path, moto_endpoint)


def bootstrap(world: World, *, dry_run: bool = False) -> phase1_bootstrap.Bootstrap:
    services = world.services(dry_run=dry_run)
    return phase1_bootstrap.Bootstrap(services, world.config.env("dev"))


def test_the_step_is_phase_1_with_realistic_timing(world: World) -> None:
    step = bootstrap(world)
    assert (step.id, step.phase, step.needs, step.scope) == ("bootstrap", 1, (), "shared")
    assert step.estimate_s == 60 and step.timeout_s == 600
    assert step.inputs()["facts"] == {
        "state_bucket": "jung-kyeol-tfstate-123456789012",
        "lock_table": "jung-kyeol-tflock",
        "region": "ap-northeast-1",
    }


def test_check_plan_apply_verify_then_a_second_run_is_a_no_op(world: World) -> None:
    step = bootstrap(world)
    check = step.check(world.context(step))
    assert not check.done
    assert check.reason == (
        "state bucket jung-kyeol-tfstate-123456789012 does not exist; lock table jung-kyeol-tflock does not exist"
    )

    plan = bootstrap(world, dry_run=True).plan(world.context(step, dry_run=True))
    assert [(c.action, c.target) for c in plan.changes] == [("create", "module.backend.terraform_data.this")]
    assert "output state_bucket: create" in plan.notes
    assert not (world.infra / "envs/bootstrap/terraform.tfstate").exists(), "a dry-run plan creates nothing"

    result = world.run([step])
    assert result.exit_code == 0
    assert result.step("bootstrap").outcome == "applied"
    outputs = world.store.outputs("bootstrap")
    assert outputs["state_bucket"] == "jung-kyeol-tfstate-123456789012"
    assert outputs["lock_table"] == "jung-kyeol-tflock"
    assert outputs["region"] == "ap-northeast-1"
    assert outputs["kms_key_arn"].startswith("arn:aws:kms:ap-northeast-1:123456789012:key/")
    assert outputs[INPUTS_OUTPUT] == step.fingerprint()
    state = world.infra / "envs/bootstrap/terraform.tfstate"
    assert state.exists(), "bootstrap keeps its state next to its code"
    serial = json.loads(state.read_text())["serial"]
    assert world.services().aws().check_state_backend("jung-kyeol-tfstate-123456789012", "jung-kyeol-tflock") == []

    again = world.run([bootstrap(world)])
    assert again.step("bootstrap").outcome == "unchanged" and not again.changed
    direct = bootstrap(world)
    ctx = world.context(direct)
    applies = len(world.log.commands("apply"))
    direct.apply(ctx)  # even when asked to apply: the plan is empty, so nothing is applied
    assert len(world.log.commands("apply")) == applies
    assert json.loads(state.read_text())["serial"] == serial


def test_a_backend_made_elsewhere_counts_as_done(world: World) -> None:
    """Another machine bootstrapped (its local state is not here): the AWS API is the proof."""
    from tests.fixtures.infra.seed import seed_bootstrap

    made = seed_bootstrap(
        Seed(world.endpoint, "ap-northeast-1"),
        {"state_bucket": "jung-kyeol-tfstate-123456789012", "lock_table": "jung-kyeol-tflock"},
    )
    step = bootstrap(world)
    check = step.check(world.context(step))
    assert check.done
    assert check.outputs["state_bucket"] == "jung-kyeol-tfstate-123456789012"
    assert check.outputs[INPUTS_OUTPUT] == step.fingerprint()
    # The other roots encrypt their state with the bucket's own customer key, found or applied.
    assert check.outputs["kms_key_arn"] == made["kms_key_arn"]


def test_a_backend_made_elsewhere_names_its_key_as_an_arn_however_the_bucket_names_it(world: World) -> None:
    """A bucket's default encryption may name its key by id or alias; the S3 backend wants the ARN."""
    from tests.fixtures.infra.seed import seed_bootstrap

    seeds = Seed(world.endpoint, "ap-northeast-1")
    made = seed_bootstrap(seeds, {"state_bucket": "jung-kyeol-tfstate-123456789012", "lock_table": "jung-kyeol-tflock"})
    key_id = made["kms_key_arn"].rsplit("/", 1)[1]
    seeds.client("kms").create_alias(AliasName="alias/elsewhere-state", TargetKeyId=key_id)
    for named in (key_id, "alias/elsewhere-state"):
        seeds.client("s3").put_bucket_encryption(
            Bucket="jung-kyeol-tfstate-123456789012",
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": named}}]
            },
        )
        step = bootstrap(world)
        check = step.check(world.context(step))
        assert check.done and check.outputs["kms_key_arn"] == made["kms_key_arn"], named


def test_a_backend_on_the_aws_managed_key_records_no_key(world: World) -> None:
    """aws:kms without a key id is the AWS-managed aws/s3 key: the backends then use it too."""
    from tests.fixtures.infra.seed import seed_bootstrap

    seeds = Seed(world.endpoint, "ap-northeast-1")
    seed_bootstrap(seeds, {"state_bucket": "jung-kyeol-tfstate-123456789012", "lock_table": "jung-kyeol-tflock"})
    seeds.client("s3").put_bucket_encryption(
        Bucket="jung-kyeol-tfstate-123456789012",
        ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]},
    )
    step = bootstrap(world)
    check = step.check(world.context(step))
    assert check.done and "kms_key_arn" not in check.outputs


def test_verify_checks_the_backend_again(world: World) -> None:
    world.run([bootstrap(world)])
    s3 = Seed(world.endpoint, "ap-northeast-1").client("s3")
    s3.put_bucket_versioning(Bucket="jung-kyeol-tfstate-123456789012", VersioningConfiguration={"Status": "Suspended"})
    step = bootstrap(world)
    check = step.check(world.context(step))
    assert not check.done and "is not versioned (status Suspended)" in check.reason
    with pytest.raises(PermanentError, match="not as required after apply: .*not versioned") as caught:
        step.verify(world.context(step))
    assert "versioning" in caught.value.hint


def test_changed_files_make_the_step_due(world: World) -> None:
    step = bootstrap(world)
    before = step.fingerprint()
    (world.infra / "envs/bootstrap/README.md").write_text("notes are not inputs")
    assert step.fingerprint() == before
    module = world.infra / "modules/seeded/main.tf"
    module.write_text(module.read_text() + "\n# a change in a module the root uses\n")
    assert step.fingerprint() != before
    assert "modules/seeded/main.tf" in step.inputs()["files"]
    world.store.doc["steps"]["bootstrap"] = {"status": "done", "outputs": {INPUTS_OUTPUT: before}}
    check = step.check(world.context(step))
    assert not check.done and "changed since the last apply" in check.reason


# -- issue 10 (1): a cut-short apply is never satisfied by the AWS probe ---------------------


@pytest.mark.parametrize("record", ["running", "interrupted", "failed"])
def test_after_a_cut_short_apply_resources_missing_from_the_state_stop_with_import_commands(world: World, record: str) -> None:
    """The apply was killed after the seed made the backend but before Terraform saved its state:
    the AWS probe passes, yet Terraform manages nothing. The step must not be called done; it
    stops, naming each resource the plan would create again and the `terraform import` for it."""
    from tests.fixtures.infra.seed import seed_bootstrap

    seed_bootstrap(
        Seed(world.endpoint, "ap-northeast-1"),
        {"state_bucket": "jung-kyeol-tfstate-123456789012", "lock_table": "jung-kyeol-tflock"},
    )
    (world.infra / "envs/bootstrap/terraform.tfstate").write_text("")  # what a kill mid-write leaves
    step = bootstrap(world)
    with pytest.raises(PermanentError) as stopped:
        step.check(world.context(step, previous_status=record))
    assert "module.backend.terraform_data.this" in stopped.value.message
    assert "terraform -chdir=" in stopped.value.hint and " import " in stopped.value.hint
    assert "module.backend.terraform_data.this" in stopped.value.hint


def test_after_a_cut_short_apply_state_and_plan_agreeing_is_done(world: World) -> None:
    """The kill came after Terraform saved its state: a plan with no changes proves the step."""
    result = world.run([bootstrap(world)])
    assert result.exit_code == 0
    world.store.doc["steps"]["bootstrap"]["outputs"] = {}  # the outputs were never recorded
    step = bootstrap(world)
    check = step.check(world.context(step, previous_status="interrupted"))
    assert check.done, check.reason
    assert check.outputs["state_bucket"] == "jung-kyeol-tfstate-123456789012"
    assert check.outputs["kms_key_arn"].startswith("arn:aws:kms:")
    assert check.outputs[INPUTS_OUTPUT] == step.fingerprint()


def test_after_a_cut_short_apply_with_the_world_half_made_the_step_is_due(world: World) -> None:
    """The kill came between the bucket and the table: not done, and the apply goes on."""
    Seed(world.endpoint, "ap-northeast-1").client("s3").create_bucket(
        Bucket="jung-kyeol-tfstate-123456789012", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
    )
    step = bootstrap(world)
    check = step.check(world.context(step, previous_status="interrupted"))
    assert not check.done


def test_the_runner_tells_check_how_the_last_apply_ended(world: World) -> None:
    """Through the engine: a record saying `interrupted` reaches check (no probe-only "found done")."""
    from tests.fixtures.infra.seed import seed_bootstrap

    seed_bootstrap(
        Seed(world.endpoint, "ap-northeast-1"),
        {"state_bucket": "jung-kyeol-tfstate-123456789012", "lock_table": "jung-kyeol-tflock"},
    )
    world.store.doc["steps"]["bootstrap"] = {"status": "interrupted", "phase": 1, "attempts": 1, "outputs": {}}
    result = world.run([bootstrap(world)])
    assert result.step("bootstrap").status == "failed"
    assert "terraform import" in result.step("bootstrap").error["hint"] or " import " in result.step("bootstrap").error["hint"]


# -- account: the audit baseline beside everything after bootstrap ---------------------------


def account(world: World) -> phase1_bootstrap.AccountBaseline:
    return phase1_bootstrap.AccountBaseline(world.services(), world.config.env("dev"))


def test_the_account_step_needs_only_bootstrap_and_passes_kyeols_buckets(world: World) -> None:
    step = account(world)
    assert (step.id, step.phase, step.needs, step.scope, step.root) == ("account", 1, ("bootstrap",), "shared", "envs/account")
    variables = step.variables(world.context(step))
    assert variables["data_event_buckets"] == [
        "jung-kyeol-tfstate-123456789012",
        "jung-dev-saleor-media-123456789012",
        "jung-dev-saleor-private-123456789012",
        "jung-prod-saleor-media-123456789012",
        "jung-prod-saleor-private-123456789012",
        "jung-stage-saleor-media-123456789012",
        "jung-stage-saleor-private-123456789012",
    ]
    assert all(
        variables[k] for k in ("create_trail", "create_guardduty_detector", "create_config_recorder", "create_access_analyzer")
    )


def test_account_applies_the_baseline_and_its_evidence_passes(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from steps.adapters import security

    monkeypatch.setattr(security, "_analyzers", lambda _aws: [])  # moto has no Access Analyzer
    step = account(world)
    assert not step.check(world.context(step)).done
    result = world.run([bootstrap(world), step])
    assert result.exit_code == 0, result
    assert result.step("account").outcome == "applied"
    outputs = world.store.outputs("account")
    assert outputs["audit_bucket"] == "jung-kyeol-audit-123456789012"
    assert outputs["existing_controls"] == {}
    assert step.check(world.context(step)).done


def test_a_detector_someone_else_runs_is_reported_and_not_created_again(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from steps.adapters import security

    monkeypatch.setattr(security, "_analyzers", lambda _aws: [])
    detector = (
        Seed(world.endpoint, "ap-northeast-1")
        .client("guardduty")
        .create_detector(Enable=True, Tags={"owner": "security-team"})["DetectorId"]
    )
    step = account(world)
    result = world.run([bootstrap(world), step])
    assert result.exit_code == 0, result
    assert world.store.outputs("account")["existing_controls"] == {"guardduty": f"GuardDuty detector {detector} (ENABLED)"}
    assert step.variables(world.context(step))["create_guardduty_detector"] is False
    gd = Seed(world.endpoint, "ap-northeast-1").client("guardduty")
    assert gd.list_detectors()["DetectorIds"] == [detector], "no second detector"
