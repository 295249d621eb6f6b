"""Several environments in one run, end to end through the real CLI (issue 15): dev and stage
on one moto, one MGMT and one Argo CD, each env with its own Kubernetes API stand-in, LB
controller, ExternalDNS and site (:meth:`tests.e2e.world.World._add_env`).

In order, on one world: bad selections touch nothing; `kyeol deploy --env dev --env stage`
with a fault in stage's sync (its Application turns Degraded) fails stage only — dev's chain
runs to a passing verification in the same run, and the summary, the report and the exit code
name stage; without the fault the next run finishes stage and `kyeol verify` passes for both;
then `kyeol destroy --env dev` (issue 8 defect 2) leaves stage's ALB certificate, its public
and origin records and its site as they were, and stage still verifies.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from steps.wiring.project import runbook_order
from tests.e2e.world import DEV, STAGE, World

pytestmark = pytest.mark.slow

SHARED = ("bootstrap", "account", "global", "mgmt.registry", "mgmt.infra", "argocd")
CHAIN = ("infra", "register", "addons", "images", "sync", "verify")
CRASHING = {
    "group": "apps",
    "kind": "Deployment",
    "namespace": "saleor",
    "name": "saleor-api",
    "status": "Synced",
    "health": {"status": "Degraded", "message": 'Deployment "saleor-api" exceeded its progress deadline'},
}


@pytest.fixture(scope="module")
def world(moto_server: str, tmp_path_factory: pytest.TempPathFactory, plugin_cache: Path) -> Iterator[World]:
    built = World(tmp_path_factory.mktemp("e2e-multi"), moto_server, plugin_cache=plugin_cache, envs=("dev", "stage"))
    try:
        yield built
    finally:
        built.close()


def chain(env: str) -> list[str]:
    return [f"{env}.{s}" for s in CHAIN]


def statuses(world: World) -> dict[str, str]:
    return {sid: rec["status"] for sid, rec in world.state_doc()["steps"].items()}


def certificates(world: World) -> dict[str, str]:
    """The env ALB certificates in ap-northeast-1, by the domain they are for."""
    acm = boto3.client("acm", region_name=DEV.region, endpoint_url=world.moto)
    return {c["DomainName"]: c["CertificateArn"] for c in acm.list_certificates()["CertificateSummaryList"]}


def records(world: World, env: Any) -> list[str]:
    """The env's records in the shared zone: its public aliases and ExternalDNS's origin names."""
    r53 = boto3.client("route53", region_name="us-east-1", endpoint_url=world.moto)
    (zone,) = [z for z in r53.list_hosted_zones_by_name(DNSName=env.domain + ".")["HostedZones"] if z["Name"] == env.domain + "."]
    names = {*env.public_hosts, *env.origin_hosts}
    return sorted(
        f"{r['Name'].rstrip('.')} {r['Type']}"
        for r in r53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]
        if r["Name"].rstrip(".") in names
    )


def distributions(world: World, env: Any) -> list[str]:
    cf = boto3.client("cloudfront", region_name="us-east-1", endpoint_url=world.moto)
    return sorted(
        i["Id"]
        for i in cf.list_distributions()["DistributionList"].get("Items") or []
        if (i.get("Aliases", {}).get("Items") or [""])[0] in env.public_hosts
    )


@pytest.mark.parametrize(
    "args",
    [("--env", "dev", "--env", "dev"), ("--env", "all", "--env", "stage"), ("--env", "dev", "--env", "prod"), ("--env", "all")],
)
def test_bad_selections_exit_2_and_touch_nothing(world: World, args: tuple[str, ...]) -> None:
    result = world.kyeol("deploy", *args)
    assert result.code == 2, result
    assert not world.state.exists() and world.seeds("started") == [] and world.kube_writes() == []
    assert world.helm.argvs("upgrade") == [] and world.github.dispatches == []


def test_a_fault_in_stages_sync_fails_stage_only_and_dev_ends_verified(world: World) -> None:
    world.argo.behaviours[STAGE.argocd_app_name] = world.saleor_behaviour(
        health="Degraded", health_message="one or more resources are degraded", resources=(CRASHING,)
    )
    result = world.kyeol("deploy", "--env", "dev", "--env", "stage", timeout=600)
    assert result.code == 1, result
    report = world.reports()[-1]
    assert report["env"] == "dev,stage" and report["failed_scopes"] == ["stage"]
    steps = {s["id"]: s for s in report["steps"]}
    assert list(steps) == [sid for sid in runbook_order() if sid in steps]  # one graph, in runbook order
    assert sorted(steps) == sorted([*SHARED, *chain("dev"), *chain("stage")])
    # dev's whole chain ran to its verification in the same run; stage stopped at its sync.
    assert {sid: steps[sid]["status"] for sid in [*SHARED, *chain("dev")]} == dict.fromkeys([*SHARED, *chain("dev")], "done")
    assert steps["stage.sync"]["status"] == "failed" and "saleor-stage is Degraded" in steps["stage.sync"]["error"]["message"]
    assert steps["stage.verify"]["status"] == "pending"
    assert steps["stage.verify"]["notes"] == ["not run: needs stage.sync, which failed"]
    assert world.state_doc()["steps"]["dev.verify"]["outputs"]["verified"] is True
    # The summary names the env that failed and the one that finished.
    assert "  dev: ok" in result.stdout.splitlines(), result
    assert any(line.startswith("  stage: FAILED at stage.sync") for line in result.stdout.splitlines()), result
    # The two chains ran side by side: stage's infra was applying while dev's was.
    dev_infra, stage_infra = steps["dev.infra"], steps["stage.infra"]
    assert stage_infra["started_at"] < dev_infra["finished_at"] and dev_infra["started_at"] < stage_infra["finished_at"]
    # Each env's cluster got its own registration and Ingress; the shared steps ran once.
    assert world.mgmt.get("v1", "Secret", "cluster-jung-dev-eks", "argocd") is not None
    assert world.mgmt.get("v1", "Secret", "cluster-jung-stage-eks", "argocd") is not None
    assert len(world.helm.argvs("upgrade")) == 1 and world.seeds().count("bootstrap") == 1
    assert world.seeds().count("eks") == 3 and world.seeds().count("edge") == 2
    verify = world.kyeol("verify", "--env", "dev", "--output", "json")
    assert verify.code == 0, verify


def test_without_the_fault_the_next_run_finishes_stage_and_both_verify(world: World) -> None:
    world.argo.behaviours[STAGE.argocd_app_name] = world.saleor_behaviour()
    result = world.kyeol("deploy", "--env", "dev", "--env", "stage", timeout=600)
    assert result.code == 0, result
    outcomes = {s["id"]: s["outcome"] for s in world.reports()[-1]["steps"]}
    assert outcomes["stage.sync"] == "applied" and outcomes["stage.verify"] == "applied"
    assert {outcomes[sid] for sid in [*SHARED, *chain("dev")]} == {"unchanged"}
    assert statuses(world) == dict.fromkeys([*SHARED, *chain("dev"), *chain("stage")], "done")

    verify = world.kyeol("verify", "--env", "dev", "--env", "stage", "--output", "json")
    assert verify.code == 0, verify
    payload = json.loads(verify.stdout)
    assert payload["ok"] is True and payload["failed_envs"] == [] and [p["env"] for p in payload["envs"]] == ["dev", "stage"]

    status = world.kyeol("status")
    lines = status.stdout.splitlines()
    assert [line for line in lines if line.endswith(":")] == ["shared:", "dev:", "stage:"], status
    assert sum(1 for line in lines if " bootstrap " in line) == 1


def test_destroying_dev_leaves_stages_certificate_records_and_site(world: World) -> None:
    certs = certificates(world)
    # Per-env ALB certificates (issue 8 defect 2): one for each env's own origin names.
    assert DEV.origin_service_host in certs and STAGE.origin_service_host in certs
    assert certs[DEV.origin_service_host] != certs[STAGE.origin_service_host]
    stage_records, stage_distributions = records(world, STAGE), distributions(world, STAGE)
    assert stage_records == sorted(
        [f"{h} {t}" for h in STAGE.public_hosts for t in ("A", "AAAA")]
        # ExternalDNS v0.21.0 publishes an ALB target as an alias A record (provider/aws/aws.go)
        + [f"{h} A" for h in STAGE.origin_hosts]
    )
    assert len(stage_distributions) == 2 and records(world, DEV)

    result = world.kyeol("destroy", "--env", "dev", timeout=600)
    assert result.code == 0, result
    after = certificates(world)
    assert DEV.origin_service_host not in after, "dev's teardown deletes its own certificate"
    assert after[STAGE.origin_service_host] == certs[STAGE.origin_service_host]
    assert records(world, DEV) == [] and distributions(world, DEV) == []
    assert records(world, STAGE) == stage_records and distributions(world, STAGE) == stage_distributions
    assert world.lbcs["stage"].arns and world.apis["stage"].get("networking.k8s.io/v1", "Ingress", "saleor", "saleor")
    assert world.mgmt.get("argoproj.io/v1alpha1", "Application", STAGE.argocd_app_name, "argocd") is not None

    found = statuses(world)
    assert {found[sid] for sid in chain("stage")} == {"done"}
    assert {found[sid] for sid in ("dev.infra", "dev.sync", "dev.verify")} == {"pending"}
    verify = world.kyeol("verify", "--env", "stage")
    assert verify.code == 0 and "stage: verified" in verify.stdout, verify
    again = world.kyeol("deploy", "--env", "stage", timeout=600)
    assert again.code == 0, again
    assert {s["outcome"] for s in world.reports()[-1]["steps"]} == {"unchanged"}
