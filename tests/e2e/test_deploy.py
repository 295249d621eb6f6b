"""`kyeol deploy --env dev` end to end, through the real CLI: all nine phases against real
terraform, moto, kubectl kustomize, git and HTTPS, and the Kubernetes/helm/GitHub stand-ins.

The tests of this module share one world and run in order: a dry-run of the empty world, the
first deploy, a second deploy that changes nothing, `kyeol verify`, a dry-run of the deployed
world, then faults injected into the deployed world (a flaky Kubernetes API, a wrong
certificate, a Degraded application).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.e2e.world import DEV, STEP_IDS, World

pytestmark = pytest.mark.slow

PLACEHOLDER = "kyeol-origin-verify-pending"


def origin_secret(world: World) -> dict[str, str]:
    sm = boto3.client("secretsmanager", region_name=DEV.region, endpoint_url=world.moto)
    return json.loads(sm.get_secret_value(SecretId=DEV.secret_name("origin-verify"))["SecretString"])


def ecr_tags(world: World) -> dict[str, list[str]]:
    ecr = boto3.client("ecr", region_name=DEV.region, endpoint_url=world.moto)
    return {
        repo: sorted(i.get("imageTag", "") for i in ecr.list_images(repositoryName=repo)["imageIds"])
        for repo in ("jung-saleor-api", "jung-saleor-dashboard", "jung-saleor-storefront")
    }


def last_report(world: World) -> dict[str, Any]:
    return world.reports()[-1]


def test_a_dry_run_of_the_empty_world_plans_every_step_and_touches_nothing(world: World) -> None:
    detailed = world.kyeol("deploy", "--env", "dev", "--dry-run", "--detailed-exitcode")
    assert detailed.code == 4, detailed
    plain = world.kyeol("deploy", "--env", "dev", "--dry-run")
    assert plain.code == 0, plain
    report = last_report(world)
    assert report["dry_run"] is True and [s["id"] for s in report["steps"]] == list(STEP_IDS)
    assert all(s["status"] == "planned" for s in report["steps"]), [(s["id"], s["status"]) for s in report["steps"]]
    assert not world.state.exists()
    assert world.seeds("started") == [] and world.kube_writes() == []
    assert world.helm.argvs("upgrade") == [] and world.github.dispatches == []


def test_deploy_runs_all_nine_phases_and_ends_verified(world: World) -> None:
    result = world.kyeol("deploy", "--env", "dev")
    assert result.code == 0, result
    report = last_report(world)
    assert report["command"] == "deploy" and report["status"] == "ok" and report["exit_code"] == 0
    assert [(s["id"], s["status"], s["outcome"]) for s in report["steps"]] == [(sid, "done", "applied") for sid in STEP_IDS]
    assert sorted({s["phase"] for s in report["steps"]}) == list(range(1, 10))
    assert report["summary"]["changed"] == 12 and report["identity"]["account"] == "123456789012"
    verify = next(s for s in report["steps"] if s["id"] == "dev.verify")
    assert verify["changed"]

    status = world.kyeol("status", "--format", "json")
    assert status.code == 0, status
    steps = json.loads(status.stdout)["steps"]
    assert {sid: rec["status"] for sid, rec in steps.items()} == dict.fromkeys(STEP_IDS, "done")
    assert steps["dev.verify"]["outputs"]["verified"] is True
    text = world.kyeol("status")
    assert text.code == 0 and all(f"✔ {sid}" in text.stdout for sid in STEP_IDS), text

    # What the phases did in the world, once each.
    assert sorted(world.seeds()) == sorted(
        ["bootstrap", "account", "global", "ecr", "github_oidc", "vpc", "eks", "eks", "data", "edge"]
    )
    assert len(world.helm.argvs("upgrade")) == 1 and world.helm.releases()["argocd/argocd"]["status"] == "deployed"
    # helm installed the real argo-cd chart: its workloads (what phase 4 waited on) and its argocd-cm.
    controller = world.mgmt.get("apps/v1", "StatefulSet", "argocd-application-controller", "argocd")
    assert controller["metadata"]["labels"]["helm.sh/chart"] == "argo-cd-10.1.1"
    argocd_cm = world.mgmt.get("v1", "ConfigMap", "argocd-cm", "argocd")["data"]
    assert argocd_cm["admin.enabled"] == "false" and argocd_cm["exec.enabled"] == "false"  # the reviewed values, rendered
    assert world.mgmt.get("v1", "Secret", "cluster-jung-dev-eks", "argocd") is not None
    assert len(world.github.dispatches) == 1
    assert ecr_tags(world) == {
        "jung-saleor-api": ["3.23.28"],
        "jung-saleor-dashboard": ["3.23.27"],
        "jung-saleor-storefront": ["1.0.0-dev"],
    }
    assert [op["sync"]["revision"] for op in world.argo.operations_seen] == [world.revision]
    secret = origin_secret(world)
    ingress = world.dev.get("networking.k8s.io/v1", "Ingress", "saleor", "saleor")
    conditions = {
        k: v for k, v in ingress["metadata"]["annotations"].items() if k.startswith("alb.ingress.kubernetes.io/conditions.")
    }
    assert len(conditions) == 3 and all(secret["value"] in v and PLACEHOLDER not in v for v in conditions.values())
    # The origin header's value is a secret: nowhere in kyeol's output, state or reports.
    for text in (result.stdout, result.stderr, world.state.read_text(), *(p.read_text() for p in world.runs.glob("*.json"))):
        assert secret["value"] not in text

    # The account baseline the deploy applied is evidence an auditor can be handed: the real CLI
    # checks it read-only and records it in a run report.
    security = world.kyeol("verify", "--env", "dev", "--security", "--output", "json", "--runs-dir", str(world.runs))
    assert security.code == 0, security
    evidence = json.loads(security.stdout)
    assert evidence["ok"] is True and [c["control"] for c in evidence["controls"]] == [
        "cloudtrail",
        "guardduty",
        "config",
        "s3-account-pab",
        "ebs-encryption",
    ]
    assert json.loads(Path(evidence["report"]).read_text())["security"]["failed_controls"] == []


def test_a_second_deploy_applies_nothing(world: World) -> None:
    seeds, upgrades, dispatches = world.seeds("started"), world.helm.argvs("upgrade"), list(world.github.dispatches)
    writes = world.kube_writes()
    result = world.kyeol("deploy", "--env", "dev")
    assert result.code == 0, result
    report = last_report(world)
    assert [(s["id"], s["outcome"]) for s in report["steps"]] == [(sid, "unchanged") for sid in STEP_IDS]
    assert report["summary"]["changed"] == 0
    assert world.seeds("started") == seeds  # no terraform_data was created: no apply ran
    assert not [e for e in result.log() if e.get("event") == "terraform apply done"]
    assert world.helm.argvs("upgrade") == upgrades and len(upgrades) == 1
    assert world.github.dispatches == dispatches and len(dispatches) <= 1
    assert world.kube_writes() == writes  # reads only, on both clusters


def test_verify_passes_every_link_as_json(world: World) -> None:
    result = world.kyeol("verify", "--env", "dev", "--output", "json")
    assert result.code == 0, result
    payload = json.loads(result.stdout)
    assert payload["ok"] is True and payload["failed_links"] == []
    links = [(link["target"], link["link"], link["status"]) for link in payload["links"]]
    assert links == [
        (host, link, "pass") for host in (DEV.service_host, DEV.api_host) for link in ("DNS", "TLS", "edge", "HTTP", "HSTS")
    ]
    assert all(link["ok"] for link in payload["links"])


def test_a_dry_run_of_the_deployed_world_plans_nothing(world: World) -> None:
    plain = world.kyeol("deploy", "--env", "dev", "--dry-run")
    assert plain.code == 0, plain
    detailed = world.kyeol("deploy", "--env", "dev", "--dry-run", "--detailed-exitcode")
    assert detailed.code == 0, detailed
    report = last_report(world)
    assert [(s["id"], s["status"], s["changes"]) for s in report["steps"]] == [(sid, "done", []) for sid in STEP_IDS]
    assert report["summary"]["planned"] == 0


def test_a_flaky_kubernetes_api_is_retried_and_the_deploy_passes(world: World) -> None:
    # The cluster registration went missing (someone deleted it): the deploy must re-create it
    # while MGMT's API answers 503 twice.
    assert world.mgmt.delete("v1", "Secret", "cluster-jung-dev-eks", "argocd")
    world.mgmt.fail_next(2, 503)
    result = world.kyeol("deploy", "--env", "dev")
    assert result.code == 0, result
    assert [r.status for r in world.mgmt.requests if r.status == 503] == [503, 503]
    retries = [e for e in result.log() if e.get("level") == "warning" and "retr" in e.get("event", "")]
    assert retries and all("503" in e.get("reason", "") for e in retries), retries
    report = last_report(world)
    assert {s["id"]: s["outcome"] for s in report["steps"]}["dev.register"] == "applied"
    assert world.mgmt.get("v1", "Secret", "cluster-jung-dev-eks", "argocd") is not None


@pytest.mark.parametrize("wrong", ["another name", "another CA"])
def test_a_wrong_certificate_fails_verify_naming_the_tls_link(world: World, wrong: str) -> None:
    import trustme

    issuer = world.ca if wrong == "another name" else trustme.CA()
    names = ("shop.example.org", "api.example.org") if wrong == "another name" else (DEV.service_host, DEV.api_host)
    site = world.serve(issuer.issue_cert(*names))
    result = world.kyeol("verify", "--env", "dev", "--output", "json", KYEOL_VERIFY_RESOLVE=site.resolve_override())
    assert result.code == 1, result
    payload = json.loads(result.stdout)
    assert payload["ok"] is False and payload["failed_links"] == ["TLS"]
    tls = [link for link in payload["links"] if link["link"] == "TLS"]
    assert [link["target"] for link in tls] == [DEV.service_host, DEV.api_host]
    assert all(link["status"] == "fail" and "not trusted" in link["detail"] for link in tls), tls
    later = {link["link"]: link["status"] for link in payload["links"] if link["link"] in ("HTTP", "HSTS")}
    assert later == {"HTTP": "skipped", "HSTS": "skipped"}
    table = world.kyeol("verify", "--env", "dev", KYEOL_VERIFY_RESOLVE=site.resolve_override())
    assert table.code == 1 and "dev: FAILED at TLS" in table.stdout, table


def test_an_application_turning_degraded_fails_phase_8_naming_the_resource(world: World) -> None:
    crashing = {
        "group": "apps",
        "kind": "Deployment",
        "namespace": "saleor",
        "name": "saleor-api",
        "status": "Synced",
        "health": {"status": "Degraded", "message": 'Deployment "saleor-api" exceeded its progress deadline'},
    }
    world.argo.behaviours[DEV.argocd_app_name] = world.saleor_behaviour(
        health="Degraded", health_message="one or more resources are degraded", resources=(crashing,)
    )
    world.mgmt.degrade_application(DEV.argocd_app_name, resource=crashing, message="one or more resources are degraded")
    result = world.kyeol("deploy", "--env", "dev")
    assert result.code == 1, result
    steps = {s["id"]: s for s in last_report(world)["steps"]}
    assert steps["dev.sync"]["status"] == "failed"
    message = steps["dev.sync"]["error"]["message"]
    assert "saleor-dev is Degraded" in message
    assert 'Deployment saleor/saleor-api Synced/Degraded: Deployment "saleor-api" exceeded its progress deadline' in message
    assert steps["dev.verify"]["status"] == "pending"
    assert "dev.sync" in result.stdout and "exceeded its progress deadline" in result.stdout
