"""Phase 4 (Argo CD on MGMT) against the helm and Kubernetes API stand-ins."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
import yaml

from runbook.errors import PermanentError, WaitTimeout
from steps.phases.phase4_argocd import CHART_VERSION, READY_TIMEOUT_S, ArgoCdStep, build, values_differences
from steps.wiring.config import ARGOCD_SERVICE_ACCOUNTS
from tests.standins.fake_kube_api import WorkloadBecomesReady
from tests.standins.kube_world import ROOT, KubeWorld, drive

ROLE = "arn:aws:iam::123456789012:role/jung-mgmt-argocd-manager"


@pytest.fixture
def world(tmp_path: Path):
    w = KubeWorld(tmp_path)
    yield w
    w.close()


def step_for(world: KubeWorld, *, dry_run: bool = False, config=None) -> ArgoCdStep:
    (step,) = build(world.services(dry_run=dry_run, config=config), world.env)
    assert isinstance(step, ArgoCdStep)
    return step


def own_platform_tree(world: KubeWorld) -> object:
    """A copy of the platform tree this test may edit, and the config pointing at it."""
    tree = world.tmp / "platform"
    shutil.copytree(ROOT / "kyeol-platform-gitops", tree)
    return dataclasses.replace(world.config, paths=dataclasses.replace(world.config.paths, platform_repo=tree))


def test_installs_once_and_a_second_run_is_a_no_op(world: KubeWorld) -> None:
    step = step_for(world)
    assert step.id == "argocd" and step.needs == ("mgmt.infra",) and step.scope == "shared"
    first = drive(step, world.context(step))
    assert first.kind == "applied"
    assert first.outputs == {"release": "argocd/argocd", "chart_version": CHART_VERSION, "app_version": "v3.4.4", "revision": 1}
    upgrade = world.helm.argvs("upgrade")
    assert len(upgrade) == 1
    argv = upgrade[0]
    assert argv[argv.index("--values") + 1] == str(ROOT / "kyeol-platform-gitops/clusters/mgmt/argocd-values.yaml")
    assert [a for a in argv if a.startswith(("server.", "controller.", "applicationSet."))] == [
        f"{key}.serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn={ROLE}"
        for key in ("controller", "server", "applicationSet")
    ]
    for sa in ARGOCD_SERVICE_ACCOUNTS:  # the IRSA role reached the three service accounts
        assert (
            world.mgmt.get("v1", "ServiceAccount", sa, "argocd")["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == ROLE
        )
    assert any("ready" in what for _, what in world.waits)

    second = drive(step_for(world), world.context(step))
    assert second.kind == "done" and second.outputs["revision"] == 1
    assert len(world.helm.argvs("upgrade")) == 1


def test_changed_values_make_the_step_due_again(world: KubeWorld) -> None:
    config = own_platform_tree(world)
    drive(step_for(world, config=config), world.context(step_for(world, config=config)))
    values_file = config.paths.platform_repo / "clusters/mgmt/argocd-values.yaml"
    doc = yaml.safe_load(values_file.read_text())
    doc["server"]["replicas"] = 2
    values_file.write_text(yaml.safe_dump(doc))
    step = step_for(world, config=config)
    check = step.check(world.context(step))
    assert not check.done and "values differ from argocd-values.yaml at server.replicas" in check.reason
    assert drive(step, world.context(step)).kind == "applied"
    assert len(world.helm.argvs("upgrade")) == 2
    assert world.helm.releases()["argocd/argocd"]["values"]["server"]["replicas"] == 2
    assert drive(step, world.context(step)).kind == "done"


def test_a_new_irsa_role_or_another_chart_version_is_drift(world: KubeWorld) -> None:
    step = step_for(world)
    drive(step, world.context(step))
    moved = {**world.outputs, "mgmt.infra": {**world.outputs["mgmt.infra"], "argocd_manager_role_arn": ROLE + "-2"}}
    reason = step.check(world.context(step, outputs=moved)).reason
    assert "values differ" in reason and "controller.serviceAccount.annotations.eks.amazonaws.com/role-arn" in reason
    world.helm.seed_release("argocd", "argocd", chart="argo-cd", version="10.0.2", values=step.wanted_values(ROLE))
    assert step.check(world.context(step)).reason == "chart argo-cd 10.0.2 is installed, argo-cd 10.1.1 is wanted"


def test_waits_for_the_workloads_to_become_ready(world: KubeWorld) -> None:
    world.helm.configure(workloads_ready=False)
    for kind, name in (
        ("Deployment", "argocd-server"),
        ("Deployment", "argocd-repo-server"),
        ("StatefulSet", "argocd-application-controller"),
    ):
        world.mgmt.add_controller(WorkloadBecomesReady(kind, "argocd", name, ready_after_reads=3))
    step = step_for(world)
    assert drive(step, world.context(step)).kind == "applied"
    assert world.clock.sleeps  # polled with backoff on the fake clock


def test_workloads_that_never_become_ready_fail_at_the_deadline_naming_them(world: KubeWorld) -> None:
    world.helm.configure(workloads_ready=False)
    step = step_for(world)
    start = world.clock.monotonic()
    with pytest.raises(WaitTimeout) as timeout:
        drive(step, world.context(step))
    assert "Deployment argocd/argocd-server: 0/1 ready" in timeout.value.message
    assert "StatefulSet argocd/argocd-application-controller: 0/1 ready" in timeout.value.message
    assert world.clock.monotonic() - start >= READY_TIMEOUT_S


def leave_pending(world: KubeWorld) -> dict:
    """Another helm (the one a killed kyeol started, say) is upgrading the release right now."""
    values = world.helm.releases()["argocd/argocd"]["values"]
    world.helm.seed_release("argocd", "argocd", chart="argo-cd", version=CHART_VERSION, values=values, status="pending-upgrade")
    return values


def test_a_release_pending_in_another_helm_is_waited_for_not_installed_again(world: KubeWorld) -> None:
    step = step_for(world)
    drive(step, world.context(step))
    values = leave_pending(world)
    sleep = world.clock.sleep

    def the_other_helm_finishes(seconds: float, cancel: object = None) -> bool:
        world.helm.seed_release("argocd", "argocd", chart="argo-cd", version=CHART_VERSION, values=values)
        return sleep(seconds, cancel)

    world.clock.sleep = the_other_helm_finishes  # type: ignore[method-assign]
    outcome = drive(step_for(world), world.context(step))
    assert outcome.kind == "applied" and world.helm.releases()["argocd/argocd"]["status"] == "deployed"
    assert len(world.helm.argvs("upgrade")) == 1, "no second upgrade (helm would refuse it anyway)"
    assert any("helm operation in progress on argocd/argocd" in what for _, what in world.waits)


def test_a_release_left_pending_for_good_fails_with_the_rollback_to_do(world: KubeWorld) -> None:
    step = step_for(world)
    drive(step, world.context(step))
    leave_pending(world)
    with pytest.raises(WaitTimeout) as timeout:
        drive(step_for(world), world.context(step))
    assert "helm release argocd/argocd is pending-upgrade" in timeout.value.message
    assert "helm rollback argocd <revision> -n argocd" in timeout.value.hint
    assert len(world.helm.argvs("upgrade")) == 1


def test_dry_run_changes_nothing_and_says_what_it_would_install(world: KubeWorld) -> None:
    before, writes = world.mgmt.snapshot(), world.mgmt.writes
    step = step_for(world, dry_run=True)
    outcome = drive(step, world.context(step, dry_run=True))
    assert outcome.kind == "planned"
    (change,) = outcome.plan.changes
    assert change.action == "create" and "argo/argo-cd --version 10.1.1" in change.detail and ROLE in change.detail
    assert "is not installed" in change.detail
    assert world.helm.argvs("upgrade") == [] and world.mgmt.snapshot() == before and world.mgmt.writes == writes
    # Before MGMT exists at all, the plan still names the chart and marks the role as unknown.
    blind = step.plan(world.context(step, dry_run=True, outputs={}))
    assert blind.changes[0].action == "create" and "<argocd_manager_role_arn of mgmt.infra>" in blind.changes[0].detail
    assert any("could not read the live release" in n for n in blind.notes)


def test_values_differences() -> None:
    assert values_differences({"a": {"b": 1, "c": [1]}}, {"a": {"b": 1, "c": [1]}}) == []
    assert values_differences({"a": {"b": 1}, "x": 1}, {"a": {"b": 2}, "y": 1}) == ["a.b", "x", "y"]


# -- issue 10 (4): a release a killed run left pending ---------------------------------------


def leave_pending_install(world: KubeWorld) -> None:
    """The first install of a kyeol killed with its whole process tree: helm recorded
    pending-install (helm v3 pkg/action/install.go sets it before it creates anything and
    waits) and died; no helm will ever finish it, and a first install has nothing to roll back to."""
    world.helm.seed_release("argocd", "argocd", chart="argo-cd", version=CHART_VERSION, values={}, status="pending-install")


def test_a_first_install_left_pending_by_a_dead_run_is_uninstalled_and_installed_again(world: KubeWorld) -> None:
    leave_pending_install(world)
    step = step_for(world)
    start = world.clock.monotonic()
    outcome = drive(step, world.context(step, previous_status="interrupted"))
    assert outcome.kind == "applied"
    assert world.helm.releases()["argocd/argocd"]["status"] == "deployed"
    assert len(world.helm.argvs("uninstall")) == 1 and len(world.helm.argvs("upgrade")) == 1
    assert world.clock.monotonic() - start < 60, "no wait for a helm that is gone"
    assert any(event == "helm release left pending by a run that is gone" for _, event, _ in world.log.events)


def test_an_upgrade_left_pending_by_a_dead_run_fails_at_once_naming_the_rollback(world: KubeWorld) -> None:
    step = step_for(world)
    drive(step, world.context(step))
    leave_pending(world)
    start = world.clock.monotonic()
    with pytest.raises(PermanentError) as stopped:
        drive(step_for(world), world.context(step, previous_status="interrupted"))
    assert not isinstance(stopped.value, WaitTimeout)
    assert world.clock.monotonic() - start < 60
    assert "pending-upgrade" in stopped.value.message and "no helm works on it" in stopped.value.message
    assert "helm rollback argocd" in stopped.value.hint
    assert len(world.helm.argvs("upgrade")) == 1


def test_a_live_helm_is_waited_for_and_the_wait_is_logged(world: KubeWorld, tmp_path: Path) -> None:
    """A helm still at work on this machine (kyeol alone was killed; its helm goes on) is
    waited for even after a cut-short apply; the log says what the wait waits for."""
    import subprocess

    step = step_for(world)
    drive(step, world.context(step))
    values = leave_pending(world)
    (tmp_path / "other").mkdir()
    fake = tmp_path / "other" / "helm"
    fake.write_text("#!/bin/sh\nsleep 60\n")
    fake.chmod(0o755)
    other = subprocess.Popen([str(fake), "upgrade", "--install", "argocd", "argo-cd", "--namespace", "argocd"])
    try:
        sleep = world.clock.sleep

        def the_other_helm_finishes(seconds: float, cancel: object = None) -> bool:
            world.helm.seed_release("argocd", "argocd", chart="argo-cd", version=CHART_VERSION, values=values)
            return sleep(seconds, cancel)

        world.clock.sleep = the_other_helm_finishes  # type: ignore[method-assign]
        outcome = drive(step_for(world), world.context(step, previous_status="interrupted"))
    finally:
        other.kill()
        other.wait()
    assert outcome.kind == "applied" and len(world.helm.argvs("upgrade")) == 1
    assert not world.helm.argvs("uninstall")
    waits = [kw for _, event, kw in world.log.events if event == "waiting" and "argocd/argocd" in kw.get("what", "")]
    assert waits and str(other.pid) in waits[0]["what"]
