"""Phase 8 (Saleor sync): the real Application manifest, a real Git repository for the
revision, and the Argo CD controller stand-in on the MGMT API stand-in."""

from __future__ import annotations

import copy
import dataclasses
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from runbook.errors import PermanentError, WaitTimeout
from steps.phase8_app_sync import SYNC_TIMEOUT_S, SyncStep, build
from tests.standins.fake_kube_api import AppBehaviour, ArgoCdController
from tests.standins.kube_world import ROOT, KubeWorld, drive

HOOKS = (
    {"group": "", "version": "v1", "kind": "ServiceAccount", "namespace": "saleor", "name": "saleor-migrate", "hookType": "PreSync",
     "hookPhase": "Succeeded", "status": "Synced", "syncPhase": "PreSync"},
    {"group": "batch", "version": "v1", "kind": "Job", "namespace": "saleor", "name": "saleor-migrate", "hookType": "PreSync",
     "hookPhase": "Succeeded", "status": "Synced", "syncPhase": "PreSync", "message": "job completed"},
)


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", "-c", "user.name=kyeol-test", "-c", "user.email=test@example.invalid", *args], cwd=cwd,
                          check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def world(tmp_path: Path):
    """MGMT with Argo CD's namespace, a Git repository whose main is the wanted revision, and an
    app tree whose Application points at that repository."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git("init", "-q", "-b", "main", cwd=repo)
    git("commit", "-q", "--allow-empty", "-m", "saleor 3.23", cwd=repo)
    url = f"file://{repo}"
    apps = tmp_path / "app-gitops"
    shutil.copytree(ROOT / "kyeol-app-gitops", apps)
    app_file = apps / "argocd/applications/saleor-dev.yaml"
    app_file.write_text(app_file.read_text().replace("https://github.com/kyeol/kyeol.git", url))
    w = KubeWorld(tmp_path)
    w.config = dataclasses.replace(w.config, git_repo_url=url, paths=dataclasses.replace(w.config.paths, app_repo=apps))
    w.mgmt.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argocd"}})
    w.revision = git("rev-parse", "HEAD", cwd=repo)
    w.repo = repo
    yield w
    w.close()


def step_for(world: KubeWorld, *, dry_run: bool = False) -> SyncStep:
    (step,) = build(world.services(dry_run=dry_run), world.env)
    assert isinstance(step, SyncStep)
    return step


def controller(world: KubeWorld, **kw: object) -> ArgoCdController:
    behaviour = AppBehaviour(**{"auto_sync": False, "hooks": HOOKS, "converge_after_reads": 2, **kw})
    return world.mgmt.add_controller(ArgoCdController(revision=world.revision, default=behaviour))


def sync_patches(world: KubeWorld) -> list:
    return [r for r in world.mgmt.requests if r.method == "PATCH" and r.content_type == "application/merge-patch+json"]


def test_an_out_of_sync_application_is_synced_to_the_resolved_revision(world: KubeWorld) -> None:
    argo = controller(world)
    step = step_for(world)
    assert (step.id, step.needs) == ("dev.sync", ("dev.addons", "dev.images"))
    outcome = drive(step, world.context(step))
    assert outcome.kind == "applied"
    assert outcome.outputs == {"application": "argocd/saleor-dev", "revision": world.revision}
    (patch,) = sync_patches(world)
    assert patch.path.endswith("/applications/saleor-dev")
    assert patch.body["operation"]["sync"]["revision"] == world.revision
    assert patch.body["operation"]["initiatedBy"] == {"username": "kyeol"}
    assert argo.operations_seen[0]["sync"]["revision"] == world.revision
    live = world.mgmt.get("argoproj.io/v1alpha1", "Application", "saleor-dev", "argocd")
    assert live["spec"]["destination"] == {"name": "jung-dev-eks", "namespace": "saleor"}
    assert live["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io"]
    assert any("saleor-dev to be Synced and Healthy" in what for _, what in world.waits)
    assert drive(step_for(world), world.context(step)).kind == "done"
    assert len(sync_patches(world)) == 1


def test_an_application_already_synced_at_the_revision_is_left_alone(world: KubeWorld) -> None:
    controller(world)
    manifest = yaml.safe_load((world.config.paths.app_repo / "argocd/applications/saleor-dev.yaml").read_text())
    status = {
        "sync": {"status": "Synced", "revision": world.revision},
        "health": {"status": "Healthy"},
        "operationState": {"phase": "Succeeded", "syncResult": {"revision": world.revision, "resources": list(HOOKS)}},
    }
    world.mgmt.put({**manifest, "status": status})
    step = step_for(world)
    assert drive(step, world.context(step)).kind == "done"
    assert [r for r in world.mgmt.requests if r.method != "GET"] == []


def test_a_new_commit_syncs_an_application_that_is_at_an_older_one(world: KubeWorld) -> None:
    argo = controller(world)
    step = step_for(world)
    drive(step, world.context(step))
    git("commit", "-q", "--allow-empty", "-m", "bump", cwd=world.repo)
    newer = git("rev-parse", "HEAD", cwd=world.repo)
    check = step_for(world).check(world.context(step))
    assert not check.done and f"synced revision is {world.revision[:12]}, want {newer[:12]}" in check.reason
    assert drive(step_for(world), world.context(step)).outputs["revision"] == newer
    assert [op["sync"]["revision"] for op in argo.operations_seen] == [world.revision, newer]


def test_a_degraded_application_fails_naming_the_resource(world: KubeWorld) -> None:
    crashing = {"kind": "Deployment", "namespace": "saleor", "name": "saleor-api", "status": "Synced",
                "health": {"status": "Degraded", "message": 'Deployment "saleor-api" exceeded its progress deadline'}}
    controller(world, health="Degraded", health_message="one or more resources are degraded", resources=(crashing,))
    step = step_for(world)
    started = world.clock.monotonic()
    with pytest.raises(PermanentError) as failed:
        drive(step, world.context(step))
    assert not isinstance(failed.value, WaitTimeout)
    assert "saleor-dev is Degraded" in failed.value.message
    assert 'Deployment saleor/saleor-api Synced/Degraded: Deployment "saleor-api" exceeded its progress deadline' in failed.value.message
    assert "jung-dev-eks" in failed.value.hint
    assert world.clock.monotonic() - started < SYNC_TIMEOUT_S


def test_a_failed_migration_hook_fails_the_sync_naming_the_job(world: KubeWorld) -> None:
    failed_job = copy.deepcopy(HOOKS[1])
    failed_job.update(hookPhase="Failed", message="Job has reached the specified backoff limit")
    controller(world, operation_phase="Failed", operation_message="one or more synchronization tasks completed unsuccessfully",
               hooks=(HOOKS[0], failed_job), health="Missing")
    step = step_for(world)
    with pytest.raises(PermanentError) as failed:
        drive(step, world.context(step))
    assert "the sync of saleor-dev failed" in failed.value.message
    assert "PreSync hook Job saleor/saleor-migrate Failed: Job has reached the specified backoff limit" in failed.value.message
    assert "migration Job" in failed.value.hint


def test_a_sync_that_never_finishes_ends_at_the_deadline(world: KubeWorld) -> None:
    controller(world, converge_after_reads=10**6)
    step = step_for(world)
    with pytest.raises(WaitTimeout, match="saleor-dev to be Synced and Healthy .* not ready after 1500s: a sync is running"):
        drive(step, world.context(step))


def test_dry_run_changes_nothing_and_names_the_revision(world: KubeWorld) -> None:
    controller(world)
    before = world.mgmt.snapshot()
    step = step_for(world, dry_run=True)
    outcome = drive(step, world.context(step, dry_run=True))
    assert outcome.kind == "planned"
    assert [(c.action, c.target) for c in outcome.plan.changes] == [
        ("create", "Application argocd/saleor-dev on jung-mgmt-eks"),
        ("run", "sync saleor-dev"),
    ]
    assert outcome.plan.changes[1].detail.startswith(f"to {world.revision[:12]}")
    assert f"main is {world.revision[:12]}" in outcome.plan.notes
    assert world.mgmt.snapshot() == before and [r for r in world.mgmt.requests if r.method != "GET"] == []


def test_the_manifest_must_track_the_configured_repository_and_revision(world: KubeWorld) -> None:
    step = step_for(world)
    elsewhere = dataclasses.replace(world.config, git_revision="release-1")
    (other,) = build(world.services(config=elsewhere), world.env)
    with pytest.raises(PermanentError, match="tracks file://.*@main, but kyeol is configured for .*@release-1"):
        other.check(world.context(other))
    world.config = dataclasses.replace(world.config, git_revision="nope")
    app_file = world.config.paths.app_repo / "argocd/applications/saleor-dev.yaml"
    app_file.write_text(app_file.read_text().replace("targetRevision: main", "targetRevision: nope"))
    with pytest.raises(PermanentError, match="revision 'nope' does not exist"):
        step_for(world).expected_revision()
    assert step.expected_revision() == world.revision
