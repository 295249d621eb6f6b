"""Phase 8 (Saleor sync): the real Application manifest, a real Git repository for the
revision, and the Argo CD controller stand-in on the MGMT API stand-in; for the origin header,
the real Ingress rendered from the dev overlay by kustomize, Secrets Manager in moto, and the
env cluster's API stand-in."""

from __future__ import annotations

import copy
import dataclasses
import json
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from runbook.errors import PermanentError, WaitTimeout
from runbook.state import FileStateStore, new_document, record
from steps.phases.phase8_app_sync import (
    INGRESS_API,
    ORIGIN_FIELD_MANAGER,
    PLACEHOLDER,
    SYNC_TIMEOUT_S,
    OriginHeader,
    SyncStep,
    build,
    rewrite_condition,
)
from tests.gitops.support import render
from tests.standins.fake_kube_api import SALEOR_MIGRATION_HOOKS, AppBehaviour, ArgoCdController, FakeKubeAPI, RecordedRequest
from tests.standins.kube_world import ROOT, KubeWorld, drive

SECRET = "jung-dev-origin-verify"
CONDITIONS = tuple(f"alb.ingress.kubernetes.io/conditions.saleor-{svc}" for svc in ("api", "dashboard", "storefront"))


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=kyeol-test", "-c", "user.email=test@example.invalid", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def git_ingress() -> dict[str, Any]:
    """The Saleor Ingress exactly as Argo CD gets it from Git (the dev overlay, rendered)."""
    (ingress,) = [d for d in render(ROOT / "kyeol-app-gitops/apps/saleor/overlays/dev") if d["kind"] == "Ingress"]
    return ingress


@dataclass
class ArgoCdDeploys:
    """Stand-in for Argo CD's sync writing the app's Ingress to the destination cluster: while
    a sync of saleor-dev runs, the Ingress from Git is server-side applied on the env cluster
    with Argo CD's own field manager (so it owns the annotations)."""

    cluster: FakeKubeAPI
    done: bool = False

    def __call__(self, api: FakeKubeAPI, request: RecordedRequest) -> None:
        app = api.get("argoproj.io/v1alpha1", "Application", "saleor-dev", "argocd")
        operation = ((app or {}).get("status") or {}).get("operationState") or {}
        if self.done or operation.get("phase") != "Running":
            return
        self.cluster.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "saleor"}})
        self.cluster.apply(git_ingress(), "argocd-controller")
        self.done = True


def put_secret(endpoint: str, doc: Any, *, raw: str | None = None) -> None:
    sm = boto3.client("secretsmanager", endpoint_url=endpoint, region_name="ap-northeast-1")
    text = raw if raw is not None else json.dumps(doc)
    try:
        sm.put_secret_value(SecretId=SECRET, SecretString=text)
    except sm.exceptions.ResourceNotFoundException:
        sm.create_secret(Name=SECRET, SecretString=text)


def delete_secret(endpoint: str) -> None:
    sm = boto3.client("secretsmanager", endpoint_url=endpoint, region_name="ap-northeast-1")
    sm.delete_secret(SecretId=SECRET, ForceDeleteWithoutRecovery=True)


@pytest.fixture
def world(tmp_path: Path, moto_endpoint: str):
    """MGMT with Argo CD's namespace, a Git repository whose main is the wanted revision, an
    app tree whose Application points at that repository, and the env's origin-verify secret
    (as Terraform's edge module writes it) in Secrets Manager."""
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
    w.endpoint = moto_endpoint
    w.value = secrets.token_hex(24)  # 48 characters, like Terraform's random password
    put_secret(moto_endpoint, {"header": "X-Origin-Verify", "value": w.value})
    yield w
    w.close()


def step_for(world: KubeWorld, *, dry_run: bool = False) -> SyncStep:
    (step,) = build(world.services(dry_run=dry_run), world.env)
    assert isinstance(step, SyncStep)
    return step


def controller(world: KubeWorld, **kw: object) -> ArgoCdController:
    behaviour = AppBehaviour(**{"auto_sync": False, "hooks": SALEOR_MIGRATION_HOOKS, "converge_after_reads": 2, **kw})
    argo = world.mgmt.add_controller(ArgoCdController(revision=world.revision, default=behaviour))
    world.mgmt.add_controller(ArgoCdDeploys(world.cluster))
    return argo


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
        "operationState": {
            "phase": "Succeeded",
            "syncResult": {"revision": world.revision, "resources": list(SALEOR_MIGRATION_HOOKS)},
        },
    }
    world.mgmt.put({**manifest, "status": status})
    world.cluster.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "saleor"}})
    ingress = git_ingress()
    for key in CONDITIONS:
        ingress["metadata"]["annotations"][key] = ingress["metadata"]["annotations"][key].replace(PLACEHOLDER, world.value)
    world.cluster.put(ingress)
    dry = step_for(world, dry_run=True)
    reads: list[str] = []
    dry.services.aws(world.env.region).client("secretsmanager").meta.events.register(
        "before-call.secrets-manager.GetSecretValue", lambda **kw: reads.append("GetSecretValue")
    )
    planned = drive(dry, world.context(dry, dry_run=True))
    assert planned.kind == "done" and planned.reason.endswith("(a dry-run does not read its value to compare)")
    assert reads == [] and world.redactor.redact(world.value) == world.value
    step = step_for(world)
    outcome = drive(step, world.context(step))
    assert outcome.kind == "done" and "origin header set on saleor/saleor" in outcome.reason
    assert [r for r in world.mgmt.requests if r.method != "GET"] == []
    assert [r for r in world.cluster.requests if r.method != "GET"] == []


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
    crashing = {
        "kind": "Deployment",
        "namespace": "saleor",
        "name": "saleor-api",
        "status": "Synced",
        "health": {"status": "Degraded", "message": 'Deployment "saleor-api" exceeded its progress deadline'},
    }
    controller(world, health="Degraded", health_message="one or more resources are degraded", resources=(crashing,))
    step = step_for(world)
    started = world.clock.monotonic()
    with pytest.raises(PermanentError) as failed:
        drive(step, world.context(step))
    assert not isinstance(failed.value, WaitTimeout)
    assert "saleor-dev is Degraded" in failed.value.message
    assert (
        'Deployment saleor/saleor-api Synced/Degraded: Deployment "saleor-api" exceeded its progress deadline'
        in failed.value.message
    )
    assert "jung-dev-eks" in failed.value.hint
    assert world.clock.monotonic() - started < SYNC_TIMEOUT_S


def test_a_failed_migration_hook_fails_the_sync_naming_the_job(world: KubeWorld) -> None:
    failed_job = copy.deepcopy(SALEOR_MIGRATION_HOOKS[1])
    failed_job.update(hookPhase="Failed", message="Job has reached the specified backoff limit")
    controller(
        world,
        operation_phase="Failed",
        operation_message="one or more synchronization tasks completed unsuccessfully",
        hooks=(SALEOR_MIGRATION_HOOKS[0], failed_job),
        health="Missing",
    )
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
        ("update", "Ingresses labelled kyeol.io/origin-verify=true in saleor on jung-dev-eks"),
    ]
    assert outcome.plan.changes[1].detail.startswith(f"to {world.revision[:12]}")
    assert outcome.plan.changes[2].detail.startswith(f"once the sync creates them: the value of Secrets Manager {SECRET}")
    assert f"main is {world.revision[:12]}" in outcome.plan.notes
    assert world.mgmt.snapshot() == before and [r for r in world.mgmt.requests if r.method != "GET"] == []
    assert [r for r in world.cluster.requests if r.method != "GET"] == []


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


# -- the CloudFront origin header on the ALB Ingress -------------------------------------------


class SeeThrough:
    """A redactor that remembers what it is given and masks nothing: with it, a value that is
    absent from the logs, the state and the report was never written there at all."""

    def __init__(self) -> None:
        self.added: list[str] = []

    def add(self, value: str | None) -> None:
        if value:
            self.added.append(value)

    def add_pattern(self, pattern: Any) -> None:
        """Secret shapes are ignored too: this redactor masks nothing at all."""

    def redact(self, text: str) -> str:
        return text

    def redact_obj(self, obj: Any) -> Any:
        return obj

    def __bool__(self) -> bool:
        return True


def live_annotations(world: KubeWorld) -> dict[str, str]:
    return world.cluster.get(INGRESS_API, "Ingress", "saleor", "saleor")["metadata"]["annotations"]


def header_values(world: KubeWorld) -> dict[str, list[str]]:
    live = live_annotations(world)
    return {key: json.loads(live[key])[0]["httpHeaderConfig"]["values"] for key in CONDITIONS}


def origin_applies(world: KubeWorld) -> list[RecordedRequest]:
    return [r for r in world.cluster.requests if r.method == "PATCH" and r.query.get("fieldManager") == ORIGIN_FIELD_MANAGER]


def synced(world: KubeWorld, *, ingress: dict[str, Any] | None = None) -> None:
    """saleor-dev already Synced and Healthy at the revision; the Ingress as Argo CD wrote it."""
    manifest = yaml.safe_load((world.config.paths.app_repo / "argocd/applications/saleor-dev.yaml").read_text())
    status = {
        "sync": {"status": "Synced", "revision": world.revision},
        "health": {"status": "Healthy"},
        "operationState": {
            "phase": "Succeeded",
            "syncResult": {"revision": world.revision, "resources": list(SALEOR_MIGRATION_HOOKS)},
        },
    }
    world.mgmt.put({**manifest, "status": status})
    world.cluster.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "saleor"}})
    world.cluster.apply(ingress or git_ingress(), "argocd-controller")


def test_the_origin_header_replaces_the_placeholder_once_while_the_application_converges(world: KubeWorld) -> None:
    controller(world)
    health_at_patch: list[str] = []

    def watch(api: FakeKubeAPI, request: RecordedRequest) -> None:
        if request.method == "PATCH":
            app = world.mgmt.get("argoproj.io/v1alpha1", "Application", "saleor-dev", "argocd")
            health_at_patch.append(app["status"]["health"]["status"])

    world.cluster.add_controller(watch)
    step = step_for(world)
    assert drive(step, world.context(step)).kind == "applied"
    (patch,) = origin_applies(world)
    # Set during the sync, before the Application was Healthy: the ALB admits CloudFront sooner.
    assert health_at_patch == ["Missing"]
    assert patch.path == "/apis/networking.k8s.io/v1/namespaces/saleor/ingresses/saleor"
    assert patch.content_type == "application/apply-patch+yaml" and patch.query.get("force", "").lower() == "true"
    assert set(patch.body["metadata"]) == {"name", "namespace", "annotations"} and set(patch.body) == {
        "apiVersion",
        "kind",
        "metadata",
    }
    assert sorted(patch.body["metadata"]["annotations"]) == sorted(CONDITIONS)
    git, live = git_ingress()["metadata"]["annotations"], live_annotations(world)
    for key in CONDITIONS:  # the placeholder, and only it, became the value
        assert live[key] == git[key].replace(PLACEHOLDER, world.value)
    assert header_values(world) == {key: [world.value] for key in CONDITIONS}
    assert {k: v for k, v in live.items() if k not in CONDITIONS} == {k: v for k, v in git.items() if k not in CONDITIONS}
    writes = world.cluster.writes
    again = drive(step_for(world), world.context(step))
    assert again.kind == "done" and "origin header set on saleor/saleor" in again.reason
    assert world.cluster.writes == writes and len(origin_applies(world)) == 1


def test_a_placeholder_put_back_is_replaced_again_and_the_other_annotations_stay(world: KubeWorld) -> None:
    controller(world)
    step = step_for(world)
    drive(step, world.context(step))
    # Argo CD re-applies the Ingress from Git (a self-heal without RespectIgnoreDifferences).
    world.cluster.apply(git_ingress(), "argocd-controller", force=True)
    check = step_for(world).check(world.context(step))
    assert not check.done
    assert (
        "the origin header is not set, so the ALB denies CloudFront: "
        f"{PLACEHOLDER} is still in Ingress saleor/saleor (saleor-api, saleor-dashboard, saleor-storefront)"
    ) in check.reason
    assert drive(step_for(world), world.context(step)).kind == "applied"
    assert header_values(world) == {key: [world.value] for key in CONDITIONS}
    # Someone puts the placeholder back in one annotation only: kyeol re-applies all three, so
    # server-side apply keeps the two it still owns instead of dropping them.
    one = {
        "apiVersion": INGRESS_API,
        "kind": "Ingress",
        "metadata": {
            "name": "saleor",
            "namespace": "saleor",
            "annotations": {CONDITIONS[0]: git_ingress()["metadata"]["annotations"][CONDITIONS[0]]},
        },
    }
    world.cluster.apply(one, "kubectl-edit", force=True)
    assert (
        step_for(world)
        .check(world.context(step))
        .reason.endswith(f"{PLACEHOLDER} is still in Ingress saleor/saleor (saleor-api)")
    )
    assert drive(step_for(world), world.context(step)).kind == "applied"
    assert header_values(world) == {key: [world.value] for key in CONDITIONS}
    assert len(origin_applies(world)) == 3
    assert drive(step_for(world), world.context(step)).kind == "done"


def test_a_rotated_secret_replaces_the_old_value(world: KubeWorld) -> None:
    controller(world)
    step = step_for(world)
    drive(step, world.context(step))
    old, new = world.value, secrets.token_hex(24)
    put_secret(world.endpoint, {"header": "X-Origin-Verify", "value": new})
    check = step_for(world).check(world.context(step))
    assert not check.done and check.reason.endswith(
        "the origin header in Ingress saleor/saleor (saleor-api, saleor-dashboard, saleor-storefront) "
        f"is not the value of Secrets Manager {SECRET} (rotated since it was set?)"
    )
    assert old not in check.reason and new not in check.reason
    assert drive(step_for(world), world.context(step)).kind == "applied"
    assert header_values(world) == {key: [new] for key in CONDITIONS}


def test_a_missing_secret_stops_before_anything_changes(world: KubeWorld) -> None:
    delete_secret(world.endpoint)
    controller(world)
    step = step_for(world)
    with pytest.raises(PermanentError) as failed:
        drive(step, world.context(step))
    assert failed.value.message.startswith(f"Secrets Manager secret {SECRET} does not exist in ap-northeast-1")
    assert "apply envs/dev first" in failed.value.hint and "--from dev.infra" in failed.value.hint
    assert [r for r in world.mgmt.requests if r.method != "GET"] == []
    assert [r for r in world.cluster.requests if r.method != "GET"] == []


def test_dry_run_names_the_ingress_to_patch_and_never_reads_the_value(world: KubeWorld) -> None:
    synced(world)
    before = world.cluster.snapshot()
    step = step_for(world, dry_run=True)
    reads: list[str] = []
    client = step.services.aws(world.env.region).client("secretsmanager")
    client.meta.events.register("before-call.secrets-manager.GetSecretValue", lambda **kw: reads.append("GetSecretValue"))
    outcome = drive(step, world.context(step, dry_run=True))
    assert outcome.kind == "planned" and f"{PLACEHOLDER} is still in Ingress saleor/saleor" in outcome.reason
    ((action, target, detail),) = [(c.action, c.target, c.detail) for c in outcome.plan.changes]
    assert (action, target) == ("update", "Ingress saleor/saleor on jung-dev-eks")
    assert detail == (
        ", ".join(sorted(CONDITIONS)) + f": the value of Secrets Manager {SECRET} in place of {PLACEHOLDER} "
        f"(server-side apply, field manager {ORIGIN_FIELD_MANAGER})"
    )
    assert reads == [] and world.redactor.redact(world.value) == world.value  # never read, never registered
    assert world.cluster.snapshot() == before and [r for r in world.cluster.requests if r.method != "GET"] == []
    # Without the secret the plan says so, still without reading anything secret.
    delete_secret(world.endpoint)
    notes = drive(step_for(world, dry_run=True), world.context(step, dry_run=True)).plan.notes
    assert any(n.startswith(f"Secrets Manager {SECRET} does not exist yet: apply envs/dev first") for n in notes)
    assert reads == []


def test_the_value_never_reaches_logs_state_report_or_errors(world: KubeWorld, tmp_path: Path) -> None:
    from runbook.report import build_report, write_report
    from runbook.retry import Classifier, RetryPolicy
    from runbook.runner import Runner, RunOptions
    from steps.wiring import errors_catalog
    from steps.wiring.project import build_steps

    world.redactor = SeeThrough()  # nothing is masked: what is absent was never written
    controller(world)
    store = FileStateStore(tmp_path / "state.json")
    doc = new_document()
    for sid in ("mgmt.infra", "dev.infra", "dev.addons", "dev.images"):
        record(doc, sid).update(status="done", outputs=world.outputs.get(sid, {}))
    store.save(doc)

    def run(run_id: str) -> str:
        runner = Runner(
            build_steps(world.services(), "dev"),
            store=store,
            run_id=run_id,
            env="dev",
            clock=world.clock,
            log=world.log,
            redactor=world.redactor,
            classifier=errors_catalog.register(Classifier()),
            options=RunOptions(only="dev.sync"),
            retry_policy=RetryPolicy(max_attempts=2, initial=0.01, maximum=0.01, jitter=0.0),
        )
        result = runner.run()
        report = write_report(tmp_path / "runs", build_report(result, tool="kyeol test"), redactor=world.redactor)
        return f"{result.status}\n{report.read_text()}\n{store.path.read_text()}\n{world.log.text()}"

    first = run("run-1")
    assert header_values(world) == {key: [world.value] for key in CONDITIONS}
    assert world.value in world.redactor.added  # registered for redaction the moment it was read
    assert world.value not in first and '"status": "done"' in first
    # A failing run: the secret is for another header than Git's conditions.
    world.cluster.apply(git_ingress(), "argocd-controller", force=True)
    put_secret(world.endpoint, {"header": "X-Other-Header", "value": world.value})
    second = run("run-2")
    assert "carries kyeol-origin-verify-pending outside an http-header condition on X-Other-Header" in second
    assert world.value not in second
    step = step_for(world)
    with pytest.raises(PermanentError) as failed:
        drive(step, world.context(step))
    assert world.value not in f"{failed.value.message} {failed.value.hint} {failed.value!r}"
    assert world.value not in world.log.text()


@pytest.mark.parametrize(
    ("doc", "raw", "message"),
    [
        (
            {"header": "X-Origin-Verify", "value": "abc*" + "x" * 20},
            None,
            'the "value" of Secrets Manager secret jung-dev-origin-verify is a 24-character string',
        ),
        ({"header": "X-Origin-Verify", "value": "short-but-secret"[:12]}, None, "is a 12-character string; the ALB needs 16-128"),
        (
            {"header": "X-Origin-Verify", "value": 12345678901234567890},
            None,
            'the "value" of Secrets Manager secret jung-dev-origin-verify is int',
        ),
        ({"value": "v" * 48}, None, 'Secrets Manager secret jung-dev-origin-verify has no valid "header"'),
        (
            None,
            "plain text, not json: s3cr3t-s3cr3t-s3cr3t",
            "the value of Secrets Manager secret jung-dev-origin-verify is not valid JSON",
        ),
        (None, '["s3cr3t-s3cr3t-s3cr3t"]', "is JSON list, not an object"),
    ],
)
def test_a_malformed_secret_is_refused_without_showing_it(world: KubeWorld, doc: Any, raw: str | None, message: str) -> None:
    put_secret(world.endpoint, doc, raw=raw)
    step = step_for(world)
    with pytest.raises(PermanentError) as failed:
        step.origin_header(world.context(step))
    assert message in failed.value.message and failed.value.hint
    shown = f"{failed.value.message} {failed.value.hint} {failed.value!r}"
    for secret_part in ("abc*", "short-but-se", "12345678901234567890", "v" * 48, "s3cr3t"):
        assert secret_part not in shown


def test_an_application_without_a_labelled_ingress_is_an_error(world: KubeWorld) -> None:
    behaviour = AppBehaviour(auto_sync=False, hooks=SALEOR_MIGRATION_HOOKS, converge_after_reads=2)
    world.mgmt.add_controller(ArgoCdController(revision=world.revision, default=behaviour))  # no Ingress ever appears
    step = step_for(world)
    with pytest.raises(PermanentError) as failed:
        drive(step, world.context(step))
    assert failed.value.message == (
        "saleor-dev is Synced and Healthy but no Ingress in saleor on jung-dev-eks is labelled "
        "kyeol.io/origin-verify=true, so the ALB can never be given CloudFront's origin header"
    )
    assert "apps/saleor/base/ingress.yaml" in failed.value.hint


def test_an_ingress_that_names_another_secret_is_an_error(world: KubeWorld) -> None:
    ingress = git_ingress()
    ingress["metadata"]["annotations"]["kyeol.io/origin-verify-secret-name"] = "jung-prod-origin-verify"
    synced(world, ingress=ingress)
    step = step_for(world)
    with pytest.raises(PermanentError, match="Ingress saleor/saleor on jung-dev-eks names secret 'jung-prod-origin-verify'"):
        step.check(world.context(step))


ORIGIN = OriginHeader(SECRET, "X-Origin-Verify", "Zq" * 24)
GIT_VALUE = (
    '[{"field":"http-header","httpHeaderConfig":{"httpHeaderName":"X-Origin-Verify","values":["kyeol-origin-verify-pending"]}}]'
)


def test_rewriting_keeps_everything_but_the_placeholder() -> None:
    assert rewrite_condition(GIT_VALUE, ORIGIN, "a") == GIT_VALUE.replace(PLACEHOLDER, ORIGIN.value)
    richer = json.dumps(
        [
            {
                "field": "http-header",
                "httpHeaderConfig": {"httpHeaderName": "x-origin-verify", "values": [PLACEHOLDER, "kept-1234567890"]},
            },
            {"field": "source-ip", "sourceIpConfig": {"values": ["10.0.0.0/8"]}},
        ]
    )
    assert json.loads(rewrite_condition(richer, ORIGIN, "a")) == [
        {
            "field": "http-header",
            "httpHeaderConfig": {"httpHeaderName": "x-origin-verify", "values": [ORIGIN.value, "kept-1234567890"]},
        },
        {"field": "source-ip", "sourceIpConfig": {"values": ["10.0.0.0/8"]}},
    ]
    done = GIT_VALUE.replace(PLACEHOLDER, ORIGIN.value)
    assert rewrite_condition(done, ORIGIN, "a") is done  # already right: the same text, no write
    rotated = rewrite_condition(GIT_VALUE.replace(PLACEHOLDER, "an-older-value-0123456789"), ORIGIN, "a")
    assert json.loads(rotated)[0]["httpHeaderConfig"]["values"] == [ORIGIN.value]
    assert rewrite_condition('[{"field":"source-ip","sourceIpConfig":{"values":["10.0.0.0/8"]}}]', ORIGIN, "a") is None
    assert rewrite_condition("not json", ORIGIN, "a") is None
    assert ORIGIN.value not in repr(ORIGIN)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            GIT_VALUE.replace("X-Origin-Verify", "X-Something-Else"),
            "carries kyeol-origin-verify-pending outside an http-header condition on X-Origin-Verify",
        ),
        (
            "[{values: kyeol-origin-verify-pending}]",
            "carries kyeol-origin-verify-pending but is not a JSON list of ALB conditions",
        ),
    ],
)
def test_a_placeholder_kyeol_cannot_place_is_an_error(raw: str, message: str) -> None:
    with pytest.raises(PermanentError) as failed:
        rewrite_condition(raw, ORIGIN, "annotation x of Ingress saleor/saleor")
    assert failed.value.message.startswith("annotation x of Ingress saleor/saleor") and message in failed.value.message
    assert ORIGIN.value not in f"{failed.value.message} {failed.value.hint}"


@pytest.mark.parametrize("lost", [1, 2])
def test_a_lost_answer_to_the_sync_request_starts_no_second_sync(world: KubeWorld, lost: int) -> None:
    """Issue 10 (3): the API server carries the `.operation` patch out and the answer is lost
    (504). Argo CD runs one sync per `.operation` (argoproj/argo-cd v3.4
    controller/appcontroller.go: processRequestedAppOperation copies it into
    status.operationState and setOperationState clears it when the phase completes), so
    writing it again would run the PreSync migration again. kyeol re-reads the Application,
    finds its own request (in `.operation` or `status.operationState.operation`) and waits."""
    # The sync runs and is cleared on the next request, before any client retry can land.
    argo = controller(world, converge_after_reads=0, instant_operations=True)
    world.cluster.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "saleor"}})
    world.cluster.apply(git_ingress(), "argocd-controller")  # what the sync deploys
    world.mgmt.lose_answers("PATCH", "/applications/saleor-dev", times=lost, content_type="merge-patch")
    step = step_for(world)
    outcome = drive(step, world.context(step))
    assert outcome.kind == "applied"
    print("REQ", [(r.method, r.path[-30:], r.status) for r in world.mgmt.requests if "saleor-dev" in r.path])
    assert len(argo.operations_seen) == 1, argo.operations_seen
    assert len(sync_patches(world)) == 1


def test_a_sync_request_is_conditional_on_the_version_it_read(world: KubeWorld) -> None:
    """The patch carries the resourceVersion kyeol read: an Application changed meanwhile (a
    sync started by someone else) refuses it with 409 instead of getting a second operation."""
    controller(world)
    step = step_for(world)
    drive(step, world.context(step))
    (patch,) = sync_patches(world)
    assert patch.body["metadata"]["resourceVersion"]
