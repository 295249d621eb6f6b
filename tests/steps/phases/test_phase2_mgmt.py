"""Phase 2 with the real Terraform CLI: S3 state in moto, targeted ECR first, then MGMT EKS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runbook.errors import UsageError
from steps.phases import phase1_bootstrap, phase2_mgmt
from steps.phases.terraform_root import INPUTS_OUTPUT, TerraformRootStep
from tests.fixtures.infra.seed import Seed
from tests.fixtures.infra.world import World, lock_items, make_world, s3_keys

pytestmark = pytest.mark.slow

BUCKET = "jung-kyeol-tfstate-123456789012"


def steps(world: World, **kw) -> list[TerraformRootStep]:
    services = world.services(**kw)
    env = world.config.env("dev")
    return [phase1_bootstrap.Bootstrap(services, env), *phase2_mgmt.build(services, env)]


@pytest.fixture
def world(tmp_path: Path, moto_endpoint: str) -> World:
    return make_world(tmp_path, moto_endpoint)


def test_graph_and_timing(world: World) -> None:
    by_id = {s.id: s for s in steps(world)}
    assert by_id["global"].needs == ("bootstrap",) and by_id["global"].root == "global/us-east-1"
    assert by_id["mgmt.registry"].needs == ("bootstrap",)
    assert by_id["mgmt.registry"].targets == ("module.ecr", "module.github_oidc", "module.vpc")
    assert by_id["mgmt.infra"].needs == ("mgmt.registry",)
    assert {s.phase for s in by_id.values() if s.id != "bootstrap"} == {2}
    # VPC + NAT gateways (~2.5 min) move from the cluster's apply into the registry's.
    assert by_id["mgmt.infra"].estimate_s == 13 * 60 and by_id["mgmt.registry"].estimate_s == 150
    assert by_id["mgmt.infra"].timeout_s >= 30 * 60  # EKS alone may take 15 min; provider timeout 30


def test_backend_config_comes_from_bootstrap_outputs(world: World) -> None:
    step = steps(world)[2]
    ctx = world.context(step, {"bootstrap": {"state_bucket": "b-1", "lock_table": "t-1", "region": "ap-northeast-1"}})
    config = step.backend_config(ctx)
    assert config is not None
    assert {k: config[k] for k in ("bucket", "key", "region", "dynamodb_table", "use_lockfile", "encrypt")} == {
        "bucket": "b-1",
        "key": "envs/mgmt/terraform.tfstate",
        "region": "ap-northeast-1",
        "dynamodb_table": "t-1",
        "use_lockfile": True,
        "encrypt": True,
    }
    assert config["endpoints"] == {"s3": world.endpoint, "dynamodb": world.endpoint}  # KYEOL_TF_BACKEND_EXTRA
    world.environ["KYEOL_TF_BACKEND_EXTRA"] = "[1, 2]"
    with pytest.raises(UsageError, match="must be a JSON object"):
        steps(world)[2].backend_config(ctx)
    world.environ["KYEOL_TF_BACKEND_EXTRA"] = "{not json"
    with pytest.raises(UsageError, match="is not valid JSON"):
        steps(world)[2].backend_config(ctx)


def test_dry_run_before_bootstrap_says_the_plan_is_unknown(world: World) -> None:
    result = world.run(steps(world, dry_run=True), dry_run=True)
    assert result.step("bootstrap").changes[0]["action"] == "create"
    for sid in ("global", "mgmt.registry", "mgmt.infra"):
        assert "state bucket comes from bootstrap" in result.step(sid).plan_unknown
    assert result.exit_code == 4  # pending changes
    assert "jung-kyeol-tfstate-123456789012" not in [
        b["Name"] for b in Seed(world.endpoint, "ap-northeast-1").client("s3").list_buckets()["Buckets"]
    ]


def test_registry_first_then_mgmt_cluster_then_nothing_to_do(world: World) -> None:
    aws = world.services().aws()
    first = world.run(steps(world), to="mgmt.registry")
    assert first.exit_code == 0
    assert [s.id for s in first.steps] == ["bootstrap", "global", "mgmt.registry"]
    registry = world.store.outputs("mgmt.registry")
    assert set(registry["ecr_repository_urls"]) == {"saleor-api", "saleor-dashboard", "saleor-storefront"}
    assert registry["ecr_repository_urls"]["saleor-api"].endswith("/jung-saleor-api")
    assert registry["github_actions_role_arn"] == "arn:aws:iam::123456789012:role/jung-mgmt-github-ecr-push"
    assert aws.eks_cluster("jung-mgmt-eks") is None, "-target kept the cluster out of the registry step"
    # MGMT's NAT addresses exist before its cluster: the env roots admit Argo CD from them.
    (nat_ip,) = registry["nat_public_ips"]
    assert aws.missing_elastic_ips([nat_ip]) == []

    second = world.run(steps(world))
    assert second.step("mgmt.infra").outcome == "applied"
    mgmt = world.store.outputs("mgmt.infra")
    cluster = aws.eks_cluster("jung-mgmt-eks")
    assert cluster is not None and cluster["status"] == "ACTIVE"
    assert mgmt["cluster_status"] == "ACTIVE" and mgmt["cluster_version"] == cluster["version"]
    assert mgmt["cluster_endpoint"] == cluster["endpoint"].rstrip("/")
    assert mgmt["cluster_certificate_authority_data"] == cluster["certificate_authority_data"]
    assert mgmt["cluster_oidc_issuer_url"] == cluster["oidc_issuer_url"]
    assert mgmt["argocd_manager_role_arn"] == "arn:aws:iam::123456789012:role/jung-mgmt-argocd-manager"
    assert mgmt["vpc_id"].startswith("vpc-") and mgmt["region"] == "ap-northeast-1"
    assert set(mgmt) >= set(phase2_mgmt.MGMT_OUTPUTS)
    edge = world.store.outputs("global")
    assert edge["waf_web_acl_arn"].startswith("arn:aws:wafv2:us-east-1:123456789012:global/webacl/jung-cloudfront-waf/")
    assert edge["cloudfront_certificate_arn"].startswith("arn:aws:acm:us-east-1:")

    keys = s3_keys(world.endpoint, BUCKET)
    assert {"envs/mgmt/terraform.tfstate", "global/us-east-1/terraform.tfstate"} <= set(keys)
    assert not [k for k in keys if k.endswith(".tflock")], "locks are released after each run"
    digests = {i["LockID"]["S"] for i in lock_items(world.endpoint, "jung-kyeol-tflock")}
    assert f"{BUCKET}/envs/mgmt/terraform.tfstate-md5" in digests

    commands = len([r for r in world.log.records if r["event"] == "run"])
    third = world.run(steps(world))
    assert {s.outcome for s in third.steps} == {"unchanged"} and not third.changed
    assert len([r for r in world.log.records if r["event"] == "run"]) == commands, "a no-op run runs no terraform at all"


def test_a_released_nat_address_makes_the_registry_due(world: World) -> None:
    """Argo CD's egress address is part of what the registry step promises the env roots."""
    assert world.run(steps(world), to="mgmt.registry").exit_code == 0
    (nat_ip,) = world.store.outputs("mgmt.registry")["nat_public_ips"]
    ec2 = Seed(world.endpoint, "ap-northeast-1").client("ec2")
    (address,) = ec2.describe_addresses(Filters=[{"Name": "public-ip", "Values": [nat_ip]}])["Addresses"]
    ec2.release_address(AllocationId=address["AllocationId"])
    step = steps(world)[2]
    check = step.check(world.context(step))
    assert not check.done and check.reason == f"MGMT's NAT addresses {nat_ip} are no longer allocated"


def test_a_changed_root_file_is_planned_again_and_applies_nothing_new(world: World) -> None:
    world.run(steps(world))
    applies = len(world.log.commands("apply"))
    outputs = world.store.outputs("mgmt.infra")
    (world.infra / "envs/mgmt/main.tf").write_text((world.infra / "envs/mgmt/main.tf").read_text() + "\n# reviewed\n")
    result = world.run(steps(world))
    assert result.step("mgmt.registry").outcome == "applied"  # re-planned: its root changed
    assert result.step("mgmt.infra").outcome == "applied"
    assert result.step("global").outcome == "unchanged"
    assert len(world.log.commands("apply")) == applies, "the plans were empty: terraform apply never ran"
    assert world.store.outputs("mgmt.infra")[INPUTS_OUTPUT] != outputs[INPUTS_OUTPUT]


def test_terraform_outputs_stay_authoritative_for_the_endpoint(tmp_path: Path, moto_endpoint: str) -> None:
    """Later phases talk to a fake Kubernetes API: the test hands its URL in through TF_VAR_*."""
    world = make_world(
        tmp_path, moto_endpoint, TF_VAR_cluster_endpoint="https://127.0.0.1:6443", TF_VAR_cluster_ca_data="Q0EtREFUQQ=="
    )
    world.run(steps(world))
    mgmt = world.store.outputs("mgmt.infra")
    assert mgmt["cluster_endpoint"] == "https://127.0.0.1:6443"
    assert mgmt["cluster_certificate_authority_data"] == "Q0EtREFUQQ=="
    warned = world.log.events("Terraform output differs from the EKS API")
    assert {w["output"] for w in warned} == {"cluster_endpoint", "cluster_certificate_authority_data"}


def test_state_object_is_real_terraform_state(world: World) -> None:
    world.run(steps(world), to="global")
    s3 = Seed(world.endpoint, "ap-northeast-1").client("s3")
    state = json.loads(s3.get_object(Bucket=BUCKET, Key="global/us-east-1/terraform.tfstate")["Body"].read())
    assert state["outputs"]["hosted_zone_id"]["value"] == world.store.outputs("global")["hosted_zone_id"]
    head = s3.head_object(Bucket=BUCKET, Key="global/us-east-1/terraform.tfstate")
    assert head["ServerSideEncryption"] in ("AES256", "aws:kms")  # encrypt = true


def test_a_cluster_without_its_node_group_is_not_done(world: World) -> None:
    """Issue 10 (1): an ACTIVE control plane with no (or a failed) node group runs nothing:
    a kill between the cluster and its node group must leave mgmt.infra due."""
    assert world.run(steps(world)).exit_code == 0
    eks = Seed(world.endpoint, "ap-northeast-1").client("eks")
    for name in eks.list_nodegroups(clusterName="jung-mgmt-eks")["nodegroups"]:
        eks.delete_nodegroup(clusterName="jung-mgmt-eks", nodegroupName=name)
    step = steps(world)[3]
    check = step.check(world.context(step))
    assert not check.done and "node group" in check.reason
