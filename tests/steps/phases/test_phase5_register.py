"""Phase 5 (cluster registration): the Argo CD cluster Secret on the MGMT stand-in API."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from runbook.errors import OutputUnknown, PermanentError
from steps.phases.phase5_register import RegisterStep, build, cluster_secret, decoded_data, verify_registration
from steps.wiring.config import load_config
from tests.standins.kube_world import ROOT, KubeWorld, drive

DEPLOYER = "arn:aws:iam::123456789012:role/jung-dev-argocd-deployer"


@pytest.fixture
def world(tmp_path: Path):
    w = KubeWorld(tmp_path)
    w.mgmt.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argocd"}})  # made by phase 4
    yield w
    w.close()


def step_for(world: KubeWorld, *, dry_run: bool = False) -> RegisterStep:
    (step,) = build(world.services(dry_run=dry_run), world.env)
    assert isinstance(step, RegisterStep)
    return step


def stored_secret(world: KubeWorld) -> dict:
    return world.mgmt.get("v1", "Secret", "cluster-jung-dev-eks", "argocd")


def test_the_secret_is_exactly_the_documented_one(world: KubeWorld) -> None:
    step = step_for(world)
    assert (step.id, step.needs, step.scope) == ("dev.register", ("argocd", "dev.infra"), "dev")
    outcome = drive(step, world.context(step))
    assert outcome.kind == "applied"
    stored = stored_secret(world)
    ca = world.cluster.ca_data
    assert stored["type"] == "Opaque"
    assert decoded_data(stored) == {
        "name": "jung-dev-eks",
        "server": world.cluster.url,
        "config": '{"awsAuthConfig": {"clusterName": "jung-dev-eks", "roleARN": "' + DEPLOYER + '"}, '
        '"tlsClientConfig": {"insecure": false, "caData": "' + ca + '"}}',
    }
    assert stored["metadata"]["labels"] == {
        "argocd.argoproj.io/secret-type": "cluster",
        "kyeol.io/env": "dev",
        "kyeol.io/cluster": "jung-dev-eks",
        "kyeol.io/addon-aws-load-balancer-controller": "true",
        "kyeol.io/addon-external-dns": "true",
        "kyeol.io/addon-external-secrets": "true",
        "kyeol.io/addon-metrics-server": "true",
        "kyeol.io/addon-cluster-autoscaler": "true",
    }
    assert stored["metadata"]["annotations"] == {
        "kyeol.io/aws-region": "ap-northeast-1",
        "kyeol.io/aws-account-id": "123456789012",
        "kyeol.io/vpc-id": "vpc-0a1b2c3d4e5f60718",
        "kyeol.io/hosted-zone-id": "Z0123456789ABCDEFGHIJ",
        "kyeol.io/lbc-role-arn": "arn:aws:iam::123456789012:role/jung-dev-lbc",
        "kyeol.io/external-dns-role-arn": "arn:aws:iam::123456789012:role/jung-dev-external-dns",
        "kyeol.io/external-secrets-role-arn": "arn:aws:iam::123456789012:role/jung-dev-external-secrets",
        "kyeol.io/cluster-autoscaler-role-arn": "arn:aws:iam::123456789012:role/jung-dev-cluster-autoscaler",
        "kyeol.io/domain-filters": "origin-dev.mgz-g2-u3.shop,origin-dev-api.mgz-g2-u3.shop",
        "kyeol.io/txt-owner-id": "jung-dev-eks",
    }
    patch = world.mgmt.requests_matching("PATCH", "/secrets/cluster-jung-dev-eks")[-1]
    assert patch.content_type == "application/apply-patch+yaml" and patch.query == {"fieldManager": "kyeol"}
    # verify reached the env cluster's API with kyeol's own EKS token
    assert outcome.outputs["kubernetes_version"] == world.cluster.git_version
    assert outcome.outputs["deployer_role_arn"] == DEPLOYER
    assert world.cluster.requests_matching("GET", "/version") and all(
        t.startswith("k8s-aws-v1.") for t in world.cluster.tokens_seen
    )


def test_a_second_run_finds_it_done_and_writes_nothing(world: KubeWorld) -> None:
    step = step_for(world)
    drive(step, world.context(step))
    writes = world.mgmt.writes
    assert drive(step_for(world), world.context(step)).kind == "done"
    assert world.mgmt.writes == writes


def test_a_changed_secret_is_due_and_put_back(world: KubeWorld) -> None:
    step = step_for(world)
    drive(step, world.context(step))
    world.mgmt.mutate(
        "v1", "Secret", "cluster-jung-dev-eks", "argocd", lambda s: s["metadata"]["labels"].update({"kyeol.io/env": "prod"})
    )
    check = step.check(world.context(step))
    assert not check.done and check.reason == "label kyeol.io/env is 'prod', want 'dev'"
    assert drive(step, world.context(step)).kind == "applied"
    assert stored_secret(world)["metadata"]["labels"]["kyeol.io/env"] == "dev"


def test_verification_refuses_what_argo_cd_could_not_use(world: KubeWorld) -> None:
    infra = world.outputs["dev.infra"]
    good = world.mgmt.put(cluster_secret(world.env, infra))
    assert verify_registration(world.env, good) == {"role_arn": DEPLOYER, "server": world.cluster.url}
    wrong_role = world.mgmt.put(
        cluster_secret(
            world.env, {**infra, "argocd_deployer_role_arn": "arn:aws:iam::123456789012:role/jung-prod-argocd-deployer"}
        )
    )
    with pytest.raises(PermanentError, match="is not the ARN of role jung-dev-argocd-deployer"):
        verify_registration(world.env, wrong_role)
    not_pem = world.mgmt.put(
        cluster_secret(world.env, {**infra, "cluster_certificate_authority_data": base64.b64encode(b"hello").decode()})
    )
    with pytest.raises(PermanentError, match="caData is not a base64 PEM certificate"):
        verify_registration(world.env, not_pem)
    broken = dict(good, data={**good["data"], "config": base64.b64encode(b"{not json").decode()})
    with pytest.raises(PermanentError, match="config is not the awsAuthConfig"):
        verify_registration(world.env, broken)


def test_infra_outputs_must_name_the_configured_cluster(world: KubeWorld) -> None:
    step = step_for(world)
    wrong = {**world.outputs, "dev.infra": {**world.outputs["dev.infra"], "cluster_name": "jung-stage-eks"}}
    with pytest.raises(PermanentError, match="recorded cluster 'jung-stage-eks'"):
        step.check(world.context(step, outputs=wrong))


def test_dry_run_writes_nothing_and_says_what_it_would_create(world: KubeWorld) -> None:
    before = world.mgmt.snapshot()
    step = step_for(world, dry_run=True)
    outcome = drive(step, world.context(step, dry_run=True))
    assert outcome.kind == "planned" and world.mgmt.snapshot() == before
    (change,) = outcome.plan.changes
    assert (change.action, change.target) == ("create", "Secret argocd/cluster-jung-dev-eks on jung-mgmt-eks")
    # Before dev.infra has outputs the plan still says what it would do.
    partial = {"mgmt.infra": world.outputs["mgmt.infra"]}
    with pytest.raises(OutputUnknown):
        step.check(world.context(step, dry_run=True, outputs=partial))
    blind = step.plan(world.context(step, dry_run=True, outputs=partial))
    assert blind.changes[0].action == "create" and "jung-dev-argocd-deployer" in blind.changes[0].detail
    assert world.mgmt.snapshot() == before


def test_prod_filters_only_its_origin_names() -> None:
    config = load_config(ROOT / "kyeol.toml")
    infra = {
        key: f"x-{key}"
        for key in (
            "cluster_endpoint",
            "vpc_id",
            "hosted_zone_id",
            "lbc_role_arn",
            "external_dns_role_arn",
            "external_secrets_role_arn",
            "cluster_autoscaler_role_arn",
        )
    }
    infra.update(
        cluster_certificate_authority_data="Q0E=",
        argocd_deployer_role_arn="arn:aws:iam::123456789012:role/jung-prod-argocd-deployer",
    )
    secret = cluster_secret(config.env("prod"), infra)
    assert secret["metadata"]["annotations"]["kyeol.io/domain-filters"] == "origin.mgz-g2-u3.shop,origin-api.mgz-g2-u3.shop"
    assert json.loads(secret["stringData"]["config"])["awsAuthConfig"] == {
        "clusterName": "jung-prod-eks",
        "roleARN": infra["argocd_deployer_role_arn"],
    }
    assert secret["metadata"]["name"] == "cluster-jung-prod-eks"
