"""Phase 7 with real kustomize rendering, moto's ECR and the GitHub API stand-in: present
tags need nothing, missing ones are built through the workflow and re-checked in ECR."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path
from typing import Any

import boto3
import pytest

from runbook.clock import FakeClock
from runbook.errors import PermanentError, Unavailable, WaitTimeout
from runbook.step import StepContext
from steps.adapters.github import token_instructions
from steps.phases.phase7_images import RUN_TIMEOUT_S, ImagesStep, WantedImage, build, collect_images, parse_image
from steps.wiring.config import load_config
from steps.wiring.services import Services
from tests.standins.fake_github import FakeGitHub, RunScript

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "ghp_" + "Q" * 36
REGISTRY = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com"
TAGS = {"saleor-api": "3.23.28", "saleor-dashboard": "3.23.27", "saleor-storefront": "1.0.0-dev"}

BASE = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: %(name)s}
spec:
  selector: {matchLabels: {app: %(name)s}}
  template:
    metadata: {labels: {app: %(name)s}}
    spec:
      containers:
        - name: %(name)s
          image: %(name)s
"""


def write_app_tree(root: Path, *, registry: str = REGISTRY, tags: dict[str, str] = TAGS) -> Path:
    """A small app tree shaped like kyeol-app-gitops (§6): base Deployments + a migration Job,
    and a dev overlay whose images: list names the ECR repositories and tags."""
    base = root / "apps" / "saleor" / "base"
    overlay = root / "apps" / "saleor" / "overlays" / "dev"
    base.mkdir(parents=True)
    overlay.mkdir(parents=True)
    names = list(TAGS)
    for name in names:
        (base / f"{name}.yaml").write_text(BASE % {"name": name})
    (base / "migrate.yaml").write_text(
        textwrap.dedent("""
        apiVersion: batch/v1
        kind: Job
        metadata: {name: saleor-migrate}
        spec:
          template:
            spec:
              restartPolicy: Never
              initContainers: [{name: wait, image: "busybox:1.37"}]
              containers: [{name: migrate, image: saleor-api, command: [python3, manage.py, migrate]}]
        """)
    )
    (base / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
        + "".join(f"  - {n}.yaml\n" for n in names)
        + "  - migrate.yaml\n"
    )
    images = "".join(f'  - name: {n}\n    newName: {registry}/jung-{n}\n    newTag: "{tags[n]}"\n' for n in names if n in tags)
    (overlay / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: saleor\n"
        "resources:\n  - ../../base\nimages:\n" + images
    )
    return root


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app_tree(tmp_path: Path) -> Path:
    return write_app_tree(tmp_path / "app")


@pytest.fixture
def ecr(moto_endpoint: str):
    client = boto3.client("ecr", region_name="ap-northeast-1", endpoint_url=moto_endpoint)
    for name in TAGS:
        client.create_repository(repositoryName=f"jung-{name}")
    return client


def push(ecr, repository: str, tag: str) -> None:
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"digest": "sha256:" + "0" * 64, "size": 1, "mediaType": "application/vnd.oci.image.config.v1+json"},
        "layers": [],
        "annotations": {"tag": f"{repository}:{tag}"},
    }
    ecr.put_image(repositoryName=repository, imageManifest=json.dumps(manifest), imageTag=tag)


def push_from_inputs(ecr):
    """The stand-in's success hook: what images.yml's build jobs do — push the requested tags."""

    def hook(inputs: dict[str, str]) -> None:
        for pair in inputs["tags"].split(","):
            name, tag = pair.split("=")
            push(ecr, f"jung-{name}", tag)

    return hook


@pytest.fixture
def fake(clock: FakeClock):
    with FakeGitHub(token=TOKEN, repository="kyeol/kyeol", now=lambda: clock.now().timestamp()) as server:
        yield server


def make_step(
    app_tree: Path,
    moto_endpoint: str,
    clock: FakeClock,
    fake: FakeGitHub | None = None,
    *,
    token: str | None = TOKEN,
    dry_run: bool = False,
) -> ImagesStep:
    config = load_config(ROOT / "kyeol.toml", app_repo=str(app_tree))
    environ = {**os.environ, "AWS_ENDPOINT_URL": moto_endpoint}
    environ.pop("GITHUB_TOKEN", None)
    environ.pop("GH_TOKEN", None)
    if token:
        environ["GITHUB_TOKEN"] = token
    if fake is not None:
        environ["KYEOL_GITHUB_API_URL"] = fake.url
    services = Services(config, dry_run=dry_run, clock=clock, environ=environ)
    return ImagesStep(services, config.env("dev"))


def context(step: ImagesStep, clock: FakeClock, *, dry_run: bool = False) -> StepContext:
    return StepContext(
        run_id="run-7",
        step_id=step.id,
        env="dev",
        dry_run=dry_run,
        clock=clock,
        log=None,
        outputs={},
        deadline=clock.monotonic() + step.timeout_s,
    )


# -- wanted images ---------------------------------------------------------------------------


def test_the_step_is_wired_as_phase_7(app_tree: Path, moto_endpoint: str, clock: FakeClock) -> None:
    config = load_config(ROOT / "kyeol.toml", app_repo=str(app_tree))
    (step,) = build(Services(config, clock=clock, environ={}), config.env("dev"))
    assert (step.id, step.phase, step.needs, step.scope) == ("dev.images", 7, ("mgmt.registry",), "dev")
    assert step.timeout_s >= RUN_TIMEOUT_S


def test_wanted_images_are_what_the_overlay_renders(app_tree: Path, moto_endpoint: str, clock: FakeClock) -> None:
    step = make_step(app_tree, moto_endpoint, clock)
    wanted = step.wanted(context(step, clock))
    assert wanted == [
        WantedImage("saleor-api", REGISTRY, "jung-saleor-api", "3.23.28"),
        WantedImage("saleor-dashboard", REGISTRY, "jung-saleor-dashboard", "3.23.27"),
        WantedImage("saleor-storefront", REGISTRY, "jung-saleor-storefront", "1.0.0-dev"),
    ]


def test_the_fingerprint_follows_the_overlay(app_tree: Path, moto_endpoint: str, clock: FakeClock) -> None:
    step = make_step(app_tree, moto_endpoint, clock)
    before = step.fingerprint()
    overlay = app_tree / "apps/saleor/overlays/dev/kustomization.yaml"
    overlay.write_text(overlay.read_text().replace("3.23.28", "3.23.29"))
    assert step.fingerprint() != before


def test_collect_and_parse_images() -> None:
    repos = {"jung-saleor-api": "saleor-api"}
    docs = [
        {
            "spec": {
                "template": {
                    "spec": {
                        "initContainers": [{"image": f"{REGISTRY}/jung-saleor-api:1.2.3"}, {"image": "busybox:1"}],
                        "containers": [{"image": f"{REGISTRY}/jung-saleor-api:1.2.3"}, {"image": "other.io/jung-saleor-apix:1"}],
                    }
                }
            }
        }
    ]
    assert collect_images(docs, repos) == [f"{REGISTRY}/jung-saleor-api:1.2.3"]
    assert parse_image(f"{REGISTRY}/jung-saleor-api:1.2.3", repos).tag == "1.2.3"
    with pytest.raises(PermanentError, match="must be <registry>/<repository>:<tag>"):
        parse_image(f"{REGISTRY}/jung-saleor-api", repos)
    with pytest.raises(PermanentError):
        parse_image(f"{REGISTRY}/jung-saleor-api@sha256:" + "a" * 64, repos)


def test_an_overlay_pulling_from_another_registry_is_refused(tmp_path: Path, moto_endpoint: str, clock: FakeClock) -> None:
    tree = write_app_tree(tmp_path / "app", registry="999999999999.dkr.ecr.ap-northeast-1.amazonaws.com")
    step = make_step(tree, moto_endpoint, clock)
    with pytest.raises(PermanentError, match="pulls from 999999999999.*MGMT's ECR is 123456789012"):
        step.check(context(step, clock))


def test_a_missing_overlay_is_named(tmp_path: Path, moto_endpoint: str, clock: FakeClock) -> None:
    step = make_step(tmp_path, moto_endpoint, clock)
    with pytest.raises(PermanentError, match="overlays/dev does not exist"):
        step.check(context(step, clock))


@pytest.mark.skipif(
    not (ROOT / "kyeol-app-gitops/apps/saleor/overlays/dev/kustomization.yaml").is_file(),
    reason="app overlay not in this tree yet",
)
def test_the_real_dev_overlay_wants_the_architecture_tags(moto_endpoint: str, clock: FakeClock) -> None:
    step = make_step(ROOT / "kyeol-app-gitops", moto_endpoint, clock)
    wanted = {w.name: w.tag for w in step.wanted(context(step, clock))}
    assert wanted == TAGS


# -- check / apply -----------------------------------------------------------------------------


def test_present_tags_need_no_dispatch(app_tree: Path, moto_endpoint: str, ecr, fake: FakeGitHub, clock: FakeClock) -> None:
    for name, tag in TAGS.items():
        push(ecr, f"jung-{name}", tag)
    step = make_step(app_tree, moto_endpoint, clock, fake)
    checked = step.check(context(step, clock))
    assert checked.done and checked.outputs["images"]["saleor-api"] == f"{REGISTRY}/jung-saleor-api:3.23.28"
    assert step.apply(context(step, clock)) == checked.outputs
    assert fake.requests == []


def test_missing_tags_are_built_by_the_workflow_and_rechecked(
    app_tree: Path, moto_endpoint: str, ecr, fake: FakeGitHub, clock: FakeClock
) -> None:
    push(ecr, "jung-saleor-api", "3.23.28")
    push(ecr, "jung-saleor-dashboard", "3.23.27")
    fake.script_next_run(
        RunScript(statuses=("queued", "in_progress", "in_progress", "completed"), on_success=push_from_inputs(ecr))
    )
    step = make_step(app_tree, moto_endpoint, clock, fake)
    checked = step.check(context(step, clock))
    assert not checked.done and "jung-saleor-storefront:1.0.0-dev" in checked.reason
    outputs = step.apply(context(step, clock))
    (dispatch,) = fake.dispatches
    assert dispatch["ref"] == "main"
    assert dispatch["inputs"]["env"] == "dev" and dispatch["inputs"]["tags"] == "saleor-storefront=1.0.0-dev"
    (run,) = fake.runs.values()
    assert dispatch["inputs"]["correlation_id"] in run.title
    assert outputs["workflow_run"] == f"https://github.com/kyeol/kyeol/actions/runs/{run.id}"
    assert outputs["images"]["saleor-storefront"] == f"{REGISTRY}/jung-saleor-storefront:1.0.0-dev"
    assert step.check(context(step, clock)).done


def dispatch_before(fake: FakeGitHub, env: str, tags: str) -> None:
    """A dispatch by an earlier kyeol (killed since): its run goes on without it."""
    import httpx

    httpx.post(
        f"{fake.url}/repos/kyeol/kyeol/actions/workflows/images.yml/dispatches",
        headers={"Authorization": f"Bearer {TOKEN}"},
        json={"ref": "main", "inputs": {"env": env, "tags": tags, "correlation_id": f"kyeol-{env}-0123456789"}},
    ).raise_for_status()


def test_a_run_an_interrupted_kyeol_dispatched_is_followed_not_dispatched_again(
    app_tree: Path, moto_endpoint: str, ecr, fake: FakeGitHub, clock: FakeClock
) -> None:
    fake.script_next_run(
        RunScript(statuses=("in_progress", "in_progress", "completed"), on_success=push_from_inputs(ecr), listed_after=0)
    )
    dispatch_before(fake, "dev", ",".join(f"{name}={tag}" for name, tag in TAGS.items()))
    step = make_step(app_tree, moto_endpoint, clock, fake)
    outputs = step.apply(context(step, clock))
    assert len(fake.dispatches) == 1, "nothing dispatched again"
    (run,) = fake.runs.values()
    assert outputs["workflow_run"] == f"https://github.com/kyeol/kyeol/actions/runs/{run.id}"
    assert step.check(context(step, clock)).done


def test_a_run_for_another_env_is_not_followed(
    app_tree: Path, moto_endpoint: str, ecr, fake: FakeGitHub, clock: FakeClock
) -> None:
    fake.script_next_run(RunScript(statuses=("in_progress",), listed_after=0))
    dispatch_before(fake, "stage", "saleor-api=3.23.28")
    fake.script_next_run(RunScript(on_success=push_from_inputs(ecr)))
    step = make_step(app_tree, moto_endpoint, clock, fake)
    step.apply(context(step, clock))
    assert [d["inputs"]["env"] for d in fake.dispatches] == ["stage", "dev"]


def test_a_failed_run_fails_the_step_naming_the_job(
    app_tree: Path, moto_endpoint: str, ecr, fake: FakeGitHub, clock: FakeClock
) -> None:
    fake.script_next_run(
        RunScript(
            conclusion="failure",
            jobs=(("plan", "success"), ("build (saleor-api)", "success"), ("build (saleor-storefront)", "failure")),
        )
    )
    step = make_step(app_tree, moto_endpoint, clock, fake)
    with pytest.raises(PermanentError) as err:
        step.apply(context(step, clock))
    assert "failed job(s): build (saleor-storefront)" in str(err.value)
    assert "https://github.com/kyeol/kyeol/actions/runs/" in str(err.value)


def test_a_successful_run_that_pushed_nothing_is_caught_by_the_recheck(
    app_tree: Path, moto_endpoint: str, ecr, fake: FakeGitHub, clock: FakeClock
) -> None:
    step = make_step(app_tree, moto_endpoint, clock, fake)
    with pytest.raises(PermanentError, match="succeeded, but ECR still lacks jung-saleor-api:3.23.28, jung-saleor-dashboard"):
        step.apply(context(step, clock))


def test_without_a_token_the_step_says_exactly_what_to_provide(
    app_tree: Path, moto_endpoint: str, ecr, fake: FakeGitHub, clock: FakeClock
) -> None:
    step = make_step(app_tree, moto_endpoint, clock, fake, token=None)
    with pytest.raises(Unavailable) as err:
        step.apply(context(step, clock))
    assert "set GITHUB_TOKEN to a token with actions:write on kyeol/kyeol (fine-grained: Actions read/write)" in str(err.value)
    assert fake.requests == []


def test_the_rate_limit_is_waited_out_on_the_injected_clock(
    app_tree: Path, moto_endpoint: str, ecr, fake: FakeGitHub, clock: FakeClock
) -> None:
    fake.exhaust_rate_limit(until=clock.now().timestamp() + 600)
    fake.script_next_run(RunScript(on_success=push_from_inputs(ecr)))
    step = make_step(app_tree, moto_endpoint, clock, fake)
    start = clock.monotonic()
    step.apply(context(step, clock))
    assert clock.sleeps[0] >= 600
    assert 600 <= clock.monotonic() - start < step.timeout_s
    # The look for a run already under way waits out the limit; then the dispatch goes through.
    assert [(method, status) for method, _, status in fake.requests[:3]] == [("GET", 403), ("GET", 200), ("POST", 204)]


def test_a_run_that_never_ends_fails_at_the_deadline(
    app_tree: Path, moto_endpoint: str, ecr, fake: FakeGitHub, clock: FakeClock
) -> None:
    fake.script_next_run(RunScript(statuses=("queued", "in_progress")))
    step = make_step(app_tree, moto_endpoint, clock, fake)
    start = clock.monotonic()
    with pytest.raises(WaitTimeout, match="GitHub Actions run"):
        step.apply(context(step, clock))
    assert clock.monotonic() - start <= RUN_TIMEOUT_S + 60


def test_missing_repositories_mean_missing_images_but_block_apply(
    app_tree: Path, moto_endpoint: str, fake: FakeGitHub, clock: FakeClock
) -> None:
    step = make_step(app_tree, moto_endpoint, clock, fake)
    checked = step.check(context(step, clock))
    assert not checked.done and "jung-saleor-api:3.23.28" in checked.reason
    with pytest.raises(PermanentError, match="jung-saleor-api, jung-saleor-dashboard, jung-saleor-storefront missing") as err:
        step.apply(context(step, clock))
    assert "mgmt.registry" in err.value.hint
    assert fake.requests == []


# -- dry-run ---------------------------------------------------------------------------------


def test_dry_run_says_what_is_present_and_missing(app_tree: Path, moto_endpoint: str, ecr, clock: FakeClock) -> None:
    push(ecr, "jung-saleor-api", "3.23.28")
    step = make_step(app_tree, moto_endpoint, clock, token=None, dry_run=True)
    plan = step.plan(context(step, clock, dry_run=True))
    assert "present in ECR: jung-saleor-api:3.23.28" in plan.notes
    assert "missing in ECR: jung-saleor-dashboard:3.23.27, jung-saleor-storefront:1.0.0-dev" in plan.notes
    assert plan.changes[0].target == "GitHub workflow images.yml"
    assert f"apply will stop here: {token_instructions('kyeol/kyeol')}" in plan.notes


def test_dry_run_with_everything_present_plans_nothing(app_tree: Path, moto_endpoint: str, ecr, clock: FakeClock) -> None:
    for name, tag in TAGS.items():
        push(ecr, f"jung-{name}", tag)
    step = make_step(app_tree, moto_endpoint, clock, dry_run=True)
    plan = step.plan(context(step, clock, dry_run=True))
    assert not plan.pending and "missing in ECR: none" in plan.notes


def test_dry_run_offline_says_it_could_not_check(
    app_tree: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clock: FakeClock
) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    config = load_config(ROOT / "kyeol.toml", app_repo=str(app_tree))
    environ = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    step = ImagesStep(Services(config, dry_run=True, clock=clock, environ=environ), config.env("dev"))
    ctx = context(step, clock, dry_run=True)
    with pytest.raises(Unavailable):
        step.check(ctx)
    plan = step.plan(ctx)
    assert plan.pending
    assert any(n.startswith("could not check offline:") for n in plan.notes)
    assert "wanted: jung-saleor-api:3.23.28, jung-saleor-dashboard:3.23.27, jung-saleor-storefront:1.0.0-dev" in plan.notes


def test_a_run_that_finishes_between_the_ecr_check_and_the_run_listing_is_not_dispatched_again(
    app_tree: Path, moto_endpoint: str, ecr, fake: FakeGitHub, clock: FakeClock
) -> None:
    """Issue 10 (3): a killed kyeol's run finishes on GitHub's clock; if it finishes after kyeol
    found the images missing and before it lists the runs under way, it is neither followed
    nor re-checked — and a second dispatch follows. The ECR check must come after the listing."""
    fake.script_next_run(RunScript(complete_after_s=600, on_success=push_from_inputs(ecr), listed_after=0))
    dispatch_before(fake, "dev", ",".join(f"{name}={tag}" for name, tag in TAGS.items()))
    step = make_step(app_tree, moto_endpoint, clock, fake)
    real_missing = step.missing
    looks: list[int] = []

    def missing_then_the_run_finishes(*args: object, **kw: object) -> object:
        absent = real_missing(*args, **kw)
        if not looks:
            (run,) = fake.runs.values()
            clock.advance(601)  # the run completes on its own clock, right now, and pushes
            assert run.status == "completed"
            fake._complete(run)
        looks.append(len(absent))
        return absent

    step.missing = missing_then_the_run_finishes  # type: ignore[method-assign]
    step.apply(context(step, clock))
    assert len(fake.dispatches) == 1, "nothing dispatched again"


def test_ecr_is_read_with_mgmts_credentials(
    app_tree: Path, moto_endpoint: str, ecr, monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    """The images live in MGMT's ECR: with credentials profiles, it is read as MGMT, not as dev
    and not with the ambient credentials."""
    import dataclasses

    for name, tag in TAGS.items():
        push(ecr, f"jung-{name}", tag)
    step = make_step(app_tree, moto_endpoint, clock)
    config = step.config
    for name in ("mgmt", "dev"):
        config.envs[name] = dataclasses.replace(config.envs[name], profile=f"kyeol-{name}")
    real, used = step.services.aws, []

    def aws(region: str | None = None, *, profile: str = "") -> Any:
        used.append(profile)
        return real(region)  # moto answers any credentials: the profile is only recorded

    monkeypatch.setattr(step.services, "aws", aws)
    assert step.check(context(step, clock)).done
    assert used and set(used) == {"kyeol-mgmt"}, used
