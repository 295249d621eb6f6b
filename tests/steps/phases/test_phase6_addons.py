"""Phase 6 (platform add-ons): real ``kubectl kustomize`` of the platform tree, server-side
apply on the MGMT stand-in, children's status read directly, the LBC webhook gate on the env
stand-in — all waits on a FakeClock."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from runbook.errors import PermanentError, WaitTimeout
from steps.phases.phase6_addons import CHILDREN_TIMEOUT_S, WEBHOOK_TIMEOUT_S, AddonsStep, build
from steps.wiring.config import ADDONS
from tests.standins.fake_kube_api import AppBehaviour, ArgoCdController, CreateWhenPresent, EndpointsBecomeReady
from tests.standins.kube_world import KubeWorld, drive

REVISION = "3f1c2a9be4d5c6b7a8f9e0d1c2b3a4f5e6d7c8b9"
STUCK = {
    "kind": "Deployment",
    "namespace": "external-dns",
    "name": "external-dns",
    "status": "Synced",
    "health": {"status": "Progressing", "message": "Waiting for rollout to finish: 0 of 1 updated replicas are available..."},
}


@pytest.fixture
def world(tmp_path: Path):
    w = KubeWorld(tmp_path)
    w.mgmt.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argocd"}})
    yield w
    w.close()


def children(env: str = "dev") -> list[dict]:
    return [
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {
                "name": f"{addon}-{env}",
                "namespace": "argocd",
                "labels": {"kyeol.io/env": env, "kyeol.io/addon": addon},
            },
            "spec": {"project": "platform", "destination": {"name": f"jung-{env}-eks"}, "source": {"targetRevision": "main"}},
        }
        for addon in ADDONS
    ]


def argo(world: KubeWorld, **behaviours: AppBehaviour) -> ArgoCdController:
    """The ApplicationSets (children appear once the root exists) and the application controller."""
    world.mgmt.add_controller(CreateWhenPresent(("argoproj.io/v1alpha1", "Application", "platform-root", "argocd"), children()))
    return world.mgmt.add_controller(
        ArgoCdController(revision=REVISION, behaviours=behaviours, default=AppBehaviour(converge_after_reads=2))
    )


def webhook(world: KubeWorld, ready_after_reads: int = 2) -> None:
    world.cluster.add_controller(
        EndpointsBecomeReady("kube-system", "aws-load-balancer-webhook-service", ready_after_reads=ready_after_reads)
    )


def step_for(world: KubeWorld, *, dry_run: bool = False) -> AddonsStep:
    (step,) = build(world.services(dry_run=dry_run), world.env)
    assert isinstance(step, AddonsStep)
    return step


def test_applies_the_app_of_apps_and_waits_for_every_child_and_the_webhook(world: KubeWorld) -> None:
    argo(world)
    webhook(world)
    step = step_for(world)
    assert (step.id, step.needs) == ("dev.addons", ("dev.register",))
    outcome = drive(step, world.context(step))
    assert outcome.kind == "applied"
    assert outcome.outputs["addons"] == [f"{a}-dev" for a in ADDONS]
    assert outcome.outputs["lbc_webhook"] == "Endpoints kube-system/aws-load-balancer-webhook-service: 1 ready address(es)"
    assert {p["metadata"]["name"] for p in world.mgmt.objects("argoproj.io/v1alpha1", "AppProject", "argocd")} == {
        "apps",
        "platform",
    }
    root = world.mgmt.get("argoproj.io/v1alpha1", "Application", "platform-root", "argocd")
    assert root["spec"]["source"]["path"] == "kyeol-platform-gitops/argocd/applications"
    applies = [r for r in world.mgmt.requests if r.method == "PATCH" and r.content_type == "application/apply-patch+yaml"]
    assert [r.path.rsplit("/", 2)[-2:] for r in applies] == [
        ["appprojects", "apps"],
        ["appprojects", "platform"],
        ["applications", "platform-root"],
    ]
    assert all(r.query == {"fieldManager": "kyeol"} for r in applies)
    assert any("add-on Applications of dev" in what for _, what in world.waits)
    assert any("aws-load-balancer-webhook-service" in what for _, what in world.waits)
    assert world.clock.sleeps and sum(world.clock.sleeps) < CHILDREN_TIMEOUT_S
    writes = world.mgmt.writes
    assert drive(step_for(world), world.context(step)).kind == "done"
    assert world.mgmt.writes == writes


def test_a_child_stuck_progressing_fails_at_the_deadline_naming_it_and_its_resource(world: KubeWorld) -> None:
    argo(
        world,
        **{"external-dns-dev": AppBehaviour(health="Progressing", health_message="Waiting for rollout", resources=(STUCK,))},
    )
    webhook(world)
    step = step_for(world)
    started, wall = world.clock.monotonic(), time.monotonic()
    with pytest.raises(WaitTimeout) as timeout:
        drive(step, world.context(step))
    message = timeout.value.message
    assert message.startswith("add-on Applications of dev")
    assert "4/5 ready" in message
    assert "external-dns-dev: Synced/Progressing, Waiting for rollout" in message
    assert (
        "Deployment external-dns/external-dns Synced/Progressing: Waiting for rollout to finish: 0 of 1 updated replicas are available"
        in message
    )
    assert "kyeol.io/env=dev" in timeout.value.hint
    assert world.clock.monotonic() - started >= CHILDREN_TIMEOUT_S
    assert time.monotonic() - wall < 30  # fake time: nothing really slept for 15 minutes


def test_the_envs_other_applications_are_not_waited_for(world: KubeWorld) -> None:
    # saleor-dev carries the same env label; its health is phase 8's business, not the add-ons'.
    argo(world, **{"saleor-dev": AppBehaviour(health="Degraded", health_message="one or more resources are degraded")})
    webhook(world)
    world.mgmt.put(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "saleor-dev", "namespace": "argocd", "labels": {"kyeol.io/env": "dev"}},
            "spec": {"project": "apps", "destination": {"name": "jung-dev-eks"}},
        }
    )
    step = step_for(world)
    outcome = drive(step, world.context(step))
    assert outcome.kind == "applied" and "saleor-dev" not in outcome.outputs["children"]
    assert drive(step_for(world), world.context(step)).kind == "done"


def test_children_not_created_yet_are_named(world: KubeWorld) -> None:
    world.mgmt.add_controller(ArgoCdController(revision=REVISION))  # no ApplicationSets: the children never appear
    step = step_for(world)
    with pytest.raises(WaitTimeout, match=r"0/5 ready; not created yet: aws-load-balancer-controller-dev, external-dns-dev"):
        drive(step, world.context(step))


def test_a_failed_child_sync_stops_the_wait_at_once(world: KubeWorld) -> None:
    failing = AppBehaviour(
        health="Degraded",
        operation_phase="Failed",
        operation_message="one or more objects failed to apply",
        resources=({"kind": "CustomResourceDefinition", "name": "externalsecrets.external-secrets.io", "status": "OutOfSync"},),
    )
    argo(world, **{"external-secrets-dev": failing})
    webhook(world)
    step = step_for(world)
    started = world.clock.monotonic()
    with pytest.raises(PermanentError) as failed:
        drive(step, world.context(step))
    assert not isinstance(failed.value, WaitTimeout)
    assert (
        "external-secrets-dev: Synced/Degraded" in failed.value.message
        and "one or more objects failed to apply" in failed.value.message
    )
    assert "CustomResourceDefinition externalsecrets.external-secrets.io OutOfSync" in failed.value.message
    assert world.clock.monotonic() - started < CHILDREN_TIMEOUT_S


def test_the_lbc_webhook_gate_waits_for_ready_endpoints(world: KubeWorld) -> None:
    argo(world)
    webhook(world, ready_after_reads=10**6)  # the Service exists, its pods never become ready
    step = step_for(world)
    with pytest.raises(WaitTimeout) as timeout:
        drive(step, world.context(step))
    assert (
        "aws-load-balancer-webhook-service" in timeout.value.message and "no ready address (1 not ready)" in timeout.value.message
    )
    assert "aws-load-balancer-controller" in timeout.value.hint
    # Everything else is done; only the webhook keeps the step due.
    check = step.check(world.context(step))
    assert not check.done and check.reason.startswith("Endpoints kube-system/aws-load-balancer-webhook-service: no ready address")
    assert world.clock.sleeps and max(world.clock.sleeps) <= 30 and WEBHOOK_TIMEOUT_S < CHILDREN_TIMEOUT_S


def test_dry_run_renders_but_applies_nothing(world: KubeWorld) -> None:
    before = world.mgmt.snapshot()
    step = step_for(world, dry_run=True)
    outcome = drive(step, world.context(step, dry_run=True))
    assert outcome.kind == "planned"
    assert [(c.action, c.target) for c in outcome.plan.changes] == [
        ("create", "AppProject argocd/apps on jung-mgmt-eks"),
        ("create", "AppProject argocd/platform on jung-mgmt-eks"),
        ("create", "Application argocd/platform-root on jung-mgmt-eks"),
    ]
    assert any("Synced+Healthy" in n for n in outcome.plan.notes) and any(
        "aws-load-balancer-webhook-service" in n for n in outcome.plan.notes
    )
    assert world.mgmt.snapshot() == before
    assert not [r for r in world.mgmt.requests if r.method != "GET"]
