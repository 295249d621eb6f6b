"""Phase 3 with the real Terraform CLI and the engine: EKS, RDS and Valkey proven against moto."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from steps.phases import phase1_bootstrap, phase2_mgmt, phase3_env_infra
from steps.phases.phase3_env_infra import ENV_OUTPUTS
from steps.phases.terraform_root import TerraformRootStep
from tests.fixtures.infra.seed import Seed
from tests.fixtures.infra.world import World, make_world, s3_keys

pytestmark = pytest.mark.slow

BUCKET = "jung-kyeol-tfstate-123456789012"


def steps(world: World, env: str = "dev") -> list[TerraformRootStep]:
    services = world.services()
    cfg = world.config.env(env)
    global_edge, registry, _ = phase2_mgmt.build(services, cfg)
    return [phase1_bootstrap.Bootstrap(services, cfg), global_edge, registry, *phase3_env_infra.build(services, cfg)]


@pytest.fixture
def world(tmp_path: Path, moto_endpoint: str) -> World:
    return make_world(tmp_path, moto_endpoint)


def test_one_step_per_env_with_realistic_timing(world: World) -> None:
    services = world.services()
    dev = phase3_env_infra.build(services, world.config.env("dev"))[0]
    prod = phase3_env_infra.build(services, world.config.env("prod"))[0]
    assert (dev.id, dev.phase, dev.scope, dev.root, dev.needs) == (
        "dev.infra",
        3,
        "dev",
        "envs/dev",
        ("bootstrap", "global", "mgmt.registry"),
    )
    assert prod.id == "prod.infra" and prod.root == "envs/prod"
    assert dev.estimate_s == 14 * 60 and prod.estimate_s > dev.estimate_s  # Multi-AZ RDS outlasts EKS
    assert dev.timeout_s >= 40 * 60 and prod.timeout_s > dev.timeout_s
    assert dev.inputs()["facts"]["rds"] == ["db.t3.small", False]
    assert prod.inputs()["facts"]["valkey"] == ["cache.t3.small", 1]


def test_dev_infra_applies_is_proven_and_a_second_run_does_nothing(world: World) -> None:
    result = world.run(steps(world))
    assert result.exit_code == 0, result.step("dev.infra").error
    assert result.step("dev.infra").outcome == "applied"
    out = world.store.outputs("dev.infra")
    assert set(out) >= set(ENV_OUTPUTS)
    assert out["cluster_name"] == "jung-dev-eks" and out["cluster_status"] == "ACTIVE"
    assert out["rds_instance_id"] == "jung-dev-saleor"
    assert set(out["cloudfront_distribution_ids"]) == {"service", "api"}
    assert set(out["secret_arns"]) == {"saleor-app", "saleor-db", "saleor-cache", "origin-verify"}
    assert out["lbc_role_arn"] == "arn:aws:iam::123456789012:role/jung-dev-lbc"
    assert out["cluster_autoscaler_role_arn"] == "arn:aws:iam::123456789012:role/jung-dev-cluster-autoscaler"
    assert out["argocd_deployer_role_arn"] == "arn:aws:iam::123456789012:role/jung-dev-argocd-deployer"
    assert out["hosted_zone_id"] == world.store.outputs("global")["hosted_zone_id"]
    assert "pg_nat_eip" not in out  # null outside prod: Terraform records no value
    aws = world.services().aws()
    db = aws.rds_instance(out["rds_instance_id"])
    assert db is not None and (db["status"], db["multi_az"], db["instance_class"]) == ("available", False, "db.t3.small")
    group = aws.replication_group(out["valkey_replication_group_id"])
    assert group is not None and (group["status"], group["node_count"]) == ("available", 1)
    assert "envs/dev/terraform.tfstate" in s3_keys(world.endpoint, BUCKET)

    runs = len(world.log.events("run"))
    again = world.run(steps(world))
    assert {s.outcome for s in again.steps} == {"unchanged"} and not again.changed
    assert len(world.log.events("run")) == runs, "nothing changed: no terraform command ran"


def test_the_env_cluster_admits_mgmt_nat_addresses_without_anyone_copying_them(world: World) -> None:
    """Argo CD on MGMT calls the env cluster's public endpoint from MGMT's NAT: kyeol passes the
    addresses mgmt.registry made, so the first deploy needs no tfvars edit and second apply."""
    assert world.run(steps(world)).exit_code == 0
    (nat_ip,) = world.store.outputs("mgmt.registry")["nat_public_ips"]
    aws = world.services().aws()
    cluster = aws.eks_cluster("jung-dev-eks")
    assert cluster is not None and cluster["endpoint_public_access"]
    assert sorted(cluster["public_access_cidrs"]) == sorted(["203.0.113.0/24", f"{nat_ip}/32"])

    # Someone narrows the endpoint by hand (or MGMT's NAT changed): the step is due again ...
    Seed(world.endpoint, "ap-northeast-1").client("eks").update_cluster_config(
        name="jung-dev-eks", resourcesVpcConfig={"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]}
    )
    step = steps(world)[-1]
    check = step.check(world.context(step))
    assert not check.done
    assert check.reason == (
        f"the public API endpoint of jung-dev-eks does not admit MGMT's NAT address(es) {nat_ip}/32, "
        "so Argo CD could not reach it"
    )


def test_a_root_that_ignores_mgmt_nat_cidrs_fails_naming_the_address(world: World) -> None:
    main = world.infra / "envs/dev/main.tf"
    main.write_text(main.read_text().replace("concat(var.operator_cidrs, var.mgmt_nat_cidrs)", "var.operator_cidrs"))
    result = world.run(steps(world))
    failed = result.step("dev.infra")
    assert failed.status == "failed" and failed.error is not None
    assert "does not admit MGMT's NAT address(es)" in failed.error["message"]
    assert "mgmt_nat_cidrs" in failed.error["hint"]


def test_stage_with_multi_az_and_a_replica_is_proven(world: World) -> None:
    # The fixture's own envs/stage root: envs/dev's code with runbook §3's STAGE values.
    tfvars = (world.infra / "envs/stage/terraform.tfvars").read_text()
    assert re.search(r"(?m)^rds_multi_az\s*=\s*true$", tfvars) and re.search(r"(?m)^cache_replicas\s*=\s*1$", tfvars)
    result = world.run(steps(world, "stage"))
    assert result.exit_code == 0, result.step("stage.infra").error
    out = world.store.outputs("stage.infra")
    group = world.services().aws().replication_group(out["valkey_replication_group_id"])
    assert group is not None and (group["node_count"], group["automatic_failover"], group["multi_az"]) == (2, True, True)
    assert world.services().aws().rds_instance(out["rds_instance_id"])["multi_az"] is True


def test_multi_az_that_disagrees_with_the_config_is_a_clear_error(world: World) -> None:
    tfvars = world.infra / "envs/dev/terraform.tfvars"
    tfvars.write_text(tfvars.read_text().replace("rds_multi_az        = false", "rds_multi_az        = true"))
    result = world.run(steps(world))
    failed = result.step("dev.infra")
    assert failed.status == "failed" and failed.attempts == 1, "a mismatch is not retried"
    assert failed.error is not None
    assert "RDS instance jung-dev-saleor is Multi-AZ, but envs.dev.rds_multi_az = false" in failed.error["message"]
    assert "runbook §3" in failed.error["message"]
    assert "terraform.tfvars" in failed.error["hint"] and "kyeol.toml" in failed.error["hint"]
    assert result.exit_code == 1


def test_transient_failures_are_retried_by_the_engine_until_the_apply_passes(tmp_path: Path, moto_endpoint: str) -> None:
    world = make_world(tmp_path, moto_endpoint, TF_VAR_fail_transient_times="2")
    result = world.run(steps(world))
    step = result.step("dev.infra")
    assert step.status == "done" and step.attempts == 3, (step.error, step.retries)
    assert [r["reason"] for r in step.retries] == ["throttling", "throttling"]
    assert all("Rate exceeded" in r["error"] for r in step.retries)
    assert world.log.events("retry 2/900s budget because throttling")
    assert world.services().aws().eks_cluster("jung-dev-eks")["status"] == "ACTIVE"


def test_a_permanent_failure_stops_at_once_with_a_readable_message(tmp_path: Path, moto_endpoint: str) -> None:
    world = make_world(tmp_path, moto_endpoint, TF_VAR_fail_permanent="true")
    result = world.run(steps(world))
    step = result.step("dev.infra")
    assert step.status == "failed" and step.attempts == 1 and step.retries == []
    assert step.error is not None
    assert step.error["message"].startswith(f"terraform apply failed in {world.infra / 'envs/dev'} (exit 1): ")
    assert "AccessDeniedException" in step.error["message"] and "eks:CreateCluster" in step.error["message"]
    assert step.error["hint"]
    assert result.exit_code == 1


def test_dry_run_plans_the_env_root_without_touching_anything(world: World) -> None:
    before = world.run(steps(world), dry_run=True)
    assert "outputs of step 'bootstrap' are not known yet" in before.step("dev.infra").plan_unknown
    world.run(steps(world)[:1])  # bootstrap for real: the backend exists, global's data does not
    halfway = world.run(steps(world), dry_run=True)
    assert halfway.step("dev.infra").plan_unknown == "unknown until global is applied: envs/dev reads what it creates"
    world.run(steps(world)[:2])  # and global; MGMT's NAT addresses (mgmt.registry) are not known yet
    waiting = world.run(steps(world), dry_run=True)
    assert waiting.step("dev.infra").plan_unknown.startswith("unknown until mgmt.registry is applied")
    world.run(steps(world)[:3])
    dry = world.run(steps(world), dry_run=True)
    planned = dry.step("dev.infra")
    assert planned.status == "planned" and planned.plan_unknown == ""
    assert {c["target"] for c in planned.changes} == {
        "module.eks.terraform_data.this",
        "module.data.terraform_data.this",
        "module.edge.terraform_data.this",
    }
    assert {c["action"] for c in planned.changes} == {"create"}
    assert dry.exit_code == 4
    assert world.services().aws().eks_cluster("jung-dev-eks") is None, "a dry-run creates nothing"
    assert "envs/dev/terraform.tfstate" not in s3_keys(world.endpoint, BUCKET)
    assert not [k for k in s3_keys(world.endpoint, BUCKET) if k.endswith(".tflock")], "and takes no lock"


def test_verify_waits_for_the_database_and_names_what_is_not_ready(world: World) -> None:
    from runbook.clock import FakeClock
    from runbook.errors import WaitTimeout

    world.run(steps(world))
    Seed(world.endpoint, "ap-northeast-1").client("rds").stop_db_instance(DBInstanceIdentifier="jung-dev-saleor")
    step = steps(world)[-1]
    check = step.check(world.context(step))
    assert not check.done and check.reason == "RDS instance jung-dev-saleor is stopped"
    clock = FakeClock()  # the wait's 40 minutes pass in fake time
    with pytest.raises(WaitTimeout) as caught:
        step.verify(world.context(step, clock=clock))
    assert caught.value.message.startswith("RDS instance jung-dev-saleor available not ready after 2400s")
    assert caught.value.message.endswith("RDS instance jung-dev-saleor is stopped")
    assert "RDS console" in caught.value.hint
    assert sum(clock.sleeps) >= 2400 and max(clock.sleeps) <= 30  # polled with backoff up to 30 s


def test_an_env_cluster_without_its_node_group_is_not_done(world: World) -> None:
    """Issue 10 (1): the env cluster's node group is part of what dev.infra promises."""
    assert world.run(steps(world)).exit_code == 0
    eks = Seed(world.endpoint, "ap-northeast-1").client("eks")
    for name in eks.list_nodegroups(clusterName="jung-dev-eks")["nodegroups"]:
        eks.delete_nodegroup(clusterName="jung-dev-eks", nodegroupName=name)
    step = steps(world)[-1]
    check = step.check(world.context(step))
    assert not check.done and "node group" in check.reason


def test_every_aws_read_of_a_root_uses_the_credentials_of_the_account_it_is_in(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With credentials profiles, MGMT's roots read AWS as MGMT and an env's roots as that env,
    like their Terraform and the account guard: never with the ambient credentials."""
    import dataclasses

    assert world.run(steps(world)).exit_code == 0
    for name in ("mgmt", "dev"):
        world.config.envs[name] = dataclasses.replace(world.config.envs[name], profile=f"kyeol-{name}")
    services = world.services()
    real, used = services.aws, []

    def aws(region: str | None = None, *, profile: str = "") -> Any:
        used.append(profile)
        return real(region)  # moto answers any credentials: the profile is only recorded

    monkeypatch.setattr(services, "aws", aws)
    mgmt, dev = world.config.env("mgmt"), world.config.env("dev")
    bootstrap, (global_edge, registry, _), (dev_infra,) = (
        phase1_bootstrap.Bootstrap(services, mgmt),
        phase2_mgmt.build(services, dev),
        phase3_env_infra.build(services, dev),
    )
    outputs = {sid: rec.get("outputs") or {} for sid, rec in world.store.doc["steps"].items()}
    for step, account in (
        (bootstrap, "kyeol-mgmt"),
        (global_edge, "kyeol-mgmt"),
        (registry, "kyeol-mgmt"),
        (dev_infra, "kyeol-dev"),
    ):
        used.clear()
        ready, detail, _found = step.probe(world.context(step), outputs[step.id])
        assert ready, detail
        assert used and set(used) == {account}, (step.id, used)
    used.clear()
    dev_infra.prove(world.context(dev_infra), outputs[dev_infra.id])
    assert used and set(used) == {"kyeol-dev"}, used
