"""`kyeol destroy --env dev` end to end, through the real CLI, on a deployed world.

In order, on one world: deploy dev; a dry-run of the destroy lists what would go and touches
nothing; the destroy drains (Saleor first, its ALB gone, then the add-ons), deregisters and
runs terraform destroy, and `kyeol status` then says the env's deploy steps are due while the
shared ones stay done; a deploy builds the env again; a destroy killed while it waits for the
ALB to go is finished by `kyeol resume`. prod is refused before anything is touched.
"""

from __future__ import annotations

import json
import signal

import boto3
import pytest

from tests.e2e.world import DEV, STEP_IDS, World

pytestmark = pytest.mark.slow

SHARED = ("bootstrap", "global", "mgmt.registry", "mgmt.infra", "argocd")
UNDONE = ("dev.infra", "dev.register", "dev.addons", "dev.sync", "dev.verify")
DESTROY = ("dev.drain", "dev.deregister", "dev.infra.destroy")
ARGO = "argoproj.io/v1alpha1"


def load_balancers(world: World) -> list[str]:
    client = boto3.client("elbv2", region_name=DEV.region, endpoint_url=world.moto)
    return sorted(lb["LoadBalancerName"] for lb in client.describe_load_balancers()["LoadBalancers"])


def dev_state_objects(world: World) -> list[str]:
    s3 = boto3.client("s3", region_name=DEV.region, endpoint_url=world.moto)
    body = s3.get_object(Bucket="jung-kyeol-tfstate-123456789012", Key="envs/dev/terraform.tfstate")["Body"].read()
    return [r["type"] + "." + r["name"] for r in json.loads(body).get("resources", []) if r.get("mode") == "managed"]


def origin_records(world: World) -> list[str]:
    """ExternalDNS's records of dev's origin names in the shared zone."""
    r53 = boto3.client("route53", region_name="us-east-1", endpoint_url=world.moto)
    (zone,) = [z for z in r53.list_hosted_zones_by_name(DNSName=DEV.domain + ".")["HostedZones"] if z["Name"] == DEV.domain + "."]
    records = r53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]
    return sorted(r["Name"] for r in records if r["Name"].startswith("origin-dev"))


def statuses(world: World) -> dict[str, str]:
    result = world.kyeol("status", "--format", "json")
    assert result.code == 0, result
    return {sid: rec["status"] for sid, rec in json.loads(result.stdout)["steps"].items()}


def test_deploy_dev_first(world: World) -> None:
    result = world.kyeol("deploy", "--env", "dev")
    assert result.code == 0, result
    assert load_balancers(world) == [world.lbc.name]  # the LB controller's ALB for the Saleor Ingress
    assert origin_records(world) == [f"{DEV.origin_api_host}.", f"{DEV.origin_service_host}."]  # ExternalDNS's
    assert world.mgmt.get(ARGO, "Application", "external-dns-dev", "argocd") is not None


def test_a_dry_run_of_the_destroy_lists_what_would_go_and_touches_nothing(world: World) -> None:
    state = world.state.read_bytes()
    writes, seeds = world.kube_writes(), world.seeds("started")
    result = world.kyeol("destroy", "--env", "dev", "--dry-run")
    assert result.code == 0, result
    assert world.state.read_bytes() == state and world.kube_writes() == writes and world.seeds("started") == seeds
    assert load_balancers(world) == [world.lbc.name] and dev_state_objects(world)
    for line in (
        "delete Application argocd/saleor-dev on jung-mgmt-eks",
        f"delete ELBv2 load balancer {world.lbc.name}",
        "update Secret argocd/cluster-jung-dev-eks on jung-mgmt-eks",
        "delete Secret argocd/cluster-jung-dev-eks",
        "delete module.eks",
    ):
        assert line in " ".join(result.stdout.split()), (line, result)
    report = world.reports()[-1]
    assert report["command"] == "destroy" and [s["id"] for s in report["steps"]] == list(DESTROY)
    assert all(s["status"] == "planned" for s in report["steps"])
    detailed = world.kyeol("destroy", "--env", "dev", "--dry-run", "--detailed-exitcode")
    assert detailed.code == 4, detailed


def test_destroy_tears_down_dev_and_only_dev(world: World) -> None:
    result = world.kyeol("destroy", "--env", "dev")
    assert result.code == 0, result
    report = world.reports()[-1]
    assert [(s["id"], s["status"], s["outcome"]) for s in report["steps"]] == [(sid, "done", "applied") for sid in DESTROY]

    assert load_balancers(world) == [] and world.lbc.deleted == 1
    assert origin_records(world) == [], "ExternalDNS deleted the origin records before the add-ons went"
    assert world.mgmt.get(ARGO, "Application", "saleor-dev", "argocd") is None
    assert not [a for a in world.mgmt.objects(ARGO, "Application", "argocd") if a["metadata"]["name"].endswith("-dev")]
    assert world.mgmt.get("v1", "Secret", "cluster-jung-dev-eks", "argocd") is None
    assert dev_state_objects(world) == []
    # The shared platform stays: Argo CD, the app-of-apps, MGMT's state.
    assert world.mgmt.get(ARGO, "Application", "platform-root", "argocd") is not None
    assert world.helm.releases()["argocd/argocd"]["status"] == "deployed"

    found = statuses(world)
    assert {sid: found[sid] for sid in UNDONE} == dict.fromkeys(UNDONE, "pending")
    assert {sid: found[sid] for sid in SHARED} == dict.fromkeys(SHARED, "done")
    assert found["dev.images"] == "done"  # the images live in MGMT's ECR and survive
    assert {sid: found[sid] for sid in DESTROY} == dict.fromkeys(DESTROY, "done")
    text = world.kyeol("status")
    assert "· dev.infra" in text.stdout and "✔ mgmt.infra" in text.stdout, text

    again = world.kyeol("destroy", "--env", "dev")
    assert again.code == 0, again
    assert [s["outcome"] for s in world.reports()[-1]["steps"]] == ["unchanged"] * 3  # checked, nothing to do


def test_a_deploy_after_the_destroy_builds_dev_again(world: World) -> None:
    result = world.kyeol("deploy", "--env", "dev")
    assert result.code == 0, result
    outcomes = {s["id"]: s["outcome"] for s in world.reports()[-1]["steps"]}
    # Registration alone brings the add-ons back (the ApplicationSets follow the Secret's labels),
    # so dev.addons, due again, may find them there; every other step is applied again.
    assert {sid: outcomes[sid] for sid in UNDONE} == {**dict.fromkeys(UNDONE, "applied"), "dev.addons": outcomes["dev.addons"]}
    assert outcomes["dev.addons"] in ("applied", "found done")
    assert {sid: outcomes[sid] for sid in SHARED + ("dev.images",)} == dict.fromkeys(SHARED + ("dev.images",), "unchanged")
    # The deploy undid the teardown: its records no longer claim dev is destroyed.
    assert statuses(world) == {**dict.fromkeys(STEP_IDS, "done"), **dict.fromkeys(DESTROY, "pending")}
    assert load_balancers(world) == [world.lbc.name] and dev_state_objects(world)


def test_a_destroy_killed_while_the_alb_goes_is_finished_by_resume(world: World) -> None:
    world.lbc.delete_after_s = 4  # the controller takes a while to delete the ALB
    running = world.start("destroy", "--env", "dev")
    running.wait_until(
        lambda: (
            world.status_of("dev.drain") == "running"
            and world.mgmt.get(ARGO, "Application", "saleor-dev", "argocd") is None
            and load_balancers(world) == [world.lbc.name]
        ),
        "dev.drain waiting for the ALB to go",
    )
    running.signal(signal.SIGKILL)
    running.wait()
    doc = world.state_doc()
    assert doc["steps"]["dev.drain"]["status"] == "running" and doc["last_run"]["command"] == "destroy"
    assert statuses(world)["dev.sync"] == "done"  # nothing was forgotten by the killed run

    resumed = world.kyeol("resume")
    assert resumed.code == 0, resumed
    report = world.reports()[-1]
    assert report["command"] == "destroy" and [(s["id"], s["status"]) for s in report["steps"]] == [
        (sid, "done") for sid in DESTROY
    ]
    assert load_balancers(world) == [] and dev_state_objects(world) == []
    found = statuses(world)
    assert {sid: found[sid] for sid in UNDONE} == dict.fromkeys(UNDONE, "pending")
    assert world.state_doc()["last_run"]["command"] == "destroy"


def test_prod_is_refused_without_confirmation_and_with_it(world: World) -> None:
    state, writes = world.state.read_bytes(), world.kube_writes()
    refused = world.kyeol("destroy", "--env", "prod")
    assert refused.code == 2, refused
    # The real reason at once: no confirmation is asked for a destroy that cannot happen.
    assert "prevent_destroy" in refused.stderr and "prod is protected" not in refused.stderr
    confirmed = world.kyeol("destroy", "--env", "prod", "--confirm-env", "prod")
    assert confirmed.code == 2, confirmed
    assert "prevent_destroy" in confirmed.stderr and "nothing was touched" in confirmed.stderr
    assert world.state.read_bytes() == state and world.kube_writes() == writes
