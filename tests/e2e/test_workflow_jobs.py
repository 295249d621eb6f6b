"""The kyeol jobs of .github/workflows/kyeol.yml, end to end: each job's own command
(.github/scripts/kyeol_job.sh, the script the workflow runs) against the e2e world, with kyeol's
checkpoint and lock in S3 (moto, ``--state s3://…``, steps/adapters/s3_state.py) and GitHub's
job environment (``GITHUB_ACTIONS=true``, ``$GITHUB_STEP_SUMMARY``) as a runner sets it.

In order, on one world: the push-to-main deploy of dev; a pull-request plan of the deployed env
(no changes, exit 0); a changed tfvars value (kyeol exits 4, the summary names the resource, the
plan job still passes, the drift job fails); the drift job after an Argo CD app went OutOfSync
(named); and a plan taken while a deploy holds kyeol's lock and Terraform's (it neither waits nor
fails, and leaves both locks to their holder).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.e2e.world import CONFIG, DEV, STEP_IDS, World
from tests.runbook.mermaid_support import mermaid

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
JOB = ROOT / ".github" / "scripts" / "kyeol_job.sh"
BUCKET = "kyeol-e2e-shared-state"
KEY = "kyeol/state.json"
STATE = f"s3://{BUCKET}/{KEY}"
TFVARS = "envs/dev/terraform.tfvars"


class Job:
    """One run of a workflow job's kyeol command, as GitHub's runner would start it."""

    def __init__(self, world: World, mode: str, env: str = "dev", **environ: str) -> None:
        summary = world.tmp / f"summary-{mode}-{uuid.uuid4().hex[:6]}.md"
        summary.write_text("")
        self.summary_file = summary
        run_env = world.env(
            KYEOL_STATE=STATE,
            KYEOL_RUNS_DIR=str(world.runs),
            GITHUB_ACTIONS="true",
            CI="true",
            GITHUB_STEP_SUMMARY=str(summary),
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            **environ,
        )
        self.argv = [
            "bash",
            str(JOB),
            mode,
            env,
            "--config",
            str(CONFIG),
            "--infra-repo",
            str(world.infra),
            "--log-format",
            "json",
        ]
        self.env = run_env
        self.cwd = world.tmp

    def run(self, timeout: float = 300.0) -> Job:
        started = time.monotonic()
        done = subprocess.run(self.argv, cwd=self.cwd, env=self.env, capture_output=True, text=True, timeout=timeout)
        self.code, self.stdout, self.stderr = done.returncode, done.stdout, done.stderr
        self.seconds = time.monotonic() - started
        return self

    def start(self) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    @property
    def summary(self) -> str:
        return self.summary_file.read_text()

    def report(self) -> dict[str, Any]:
        match = re.search(r"^report: (\S+)$", self.stdout, re.M)
        assert match, self
        return json.loads(Path(self.cwd, match.group(1)).read_text())

    def __repr__(self) -> str:
        return (
            f"job {' '.join(self.argv[2:4])} -> {getattr(self, 'code', '?')}\n--- stdout\n{getattr(self, 'stdout', '')[-5000:]}"
            f"\n--- stderr\n{getattr(self, 'stderr', '')[-4000:]}"
        )


def s3(world: World) -> Any:
    return boto3.client(
        "s3", region_name=DEV.region, endpoint_url=world.moto, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


def state_version(world: World) -> str:
    return s3(world).head_object(Bucket=BUCKET, Key=KEY)["ETag"]


def objects(world: World, bucket: str = BUCKET) -> dict[str, str]:
    listed = s3(world).list_objects_v2(Bucket=bucket).get("Contents") or []
    return {o["Key"]: o["ETag"] for o in listed}


@pytest.fixture(scope="module")
def shared(world: World) -> World:
    """The world with an S3 bucket for kyeol's shared checkpoint (bootstrap's bucket holds Terraform's)."""
    client = s3(world)
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": DEV.region})
    client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return world


def test_the_push_job_deploys_dev_into_the_shared_state_with_a_summary(shared: World) -> None:
    job = Job(shared, "deploy").run(timeout=600)
    assert job.code == 0, job
    doc = json.loads(s3(shared).get_object(Bucket=BUCKET, Key=KEY)["Body"].read())
    assert {sid: doc["steps"][sid]["status"] for sid in STEP_IDS} == dict.fromkeys(STEP_IDS, "done")
    assert not shared.state.exists()  # nothing went to a laptop's state.json
    assert KEY + ".lock" not in objects(shared)  # released
    # Actions: one folded group per step (runbook order), no live view, the JSON report kept.
    groups = re.findall(r"^::group::phase \d+ (\S+): done", job.stdout, re.M)
    assert groups == list(STEP_IDS) and job.stdout.count("::endgroup::") == len(STEP_IDS)
    assert "\x1b[" not in job.stdout  # no terminal redraws
    report = job.report()
    assert report["exit_code"] == 0 and report["status"] == "ok"

    text = job.summary
    assert text.startswith("## kyeol deploy --env dev: succeeded")
    assert "| outcome | succeeded (exit 0) |" in text
    for phase in range(1, 10):
        assert f"**Phase {phase}: " in text
    assert text.count("| step | status | outcome | duration | attempts | changes |") == 9
    assert "| step | kind | add | change | destroy | other |" in text
    assert re.search(r"^\| dev\.infra \| Terraform resources \| [1-9]\d* \| 0 \| 0 \| 0 \|$", text, re.M), text
    assert re.search(r"^\| dev\.sync \| Argo CD syncs \| 0 \| 0 \| 0 \| 1 \|$", text, re.M), text
    assert re.search(r"^\| dev\.images \| images \|", text, re.M), text
    # The Gantt chart, as mermaid itself reads it: every step a task, the critical path marked.
    chart = text.split("```mermaid\n", 1)[1].split("\n```", 1)[0]
    parsed = mermaid(chart)
    assert parsed["ok"] and parsed["type"] == "gantt", parsed
    tasks = {t["task"].split(" ")[0]: t for t in parsed["tasks"]}
    assert set(tasks) == set(STEP_IDS)
    path = re.search(r"^Critical path: (.+)$", text, re.M).group(1).split(" → ")  # type: ignore[union-attr]
    assert path[0] == "bootstrap" and path[-1] == "dev.verify"
    assert {k for k, t in tasks.items() if t["crit"]} == set(path)
    assert all(t["done"] for t in tasks.values())
    # `kyeol report` renders the stored report the same way.
    again = subprocess.run(
        [
            *job.argv[:0],
            str(Path(sys.executable).parent / "kyeol"),
            "report",
            report["run_id"],
            "--runs-dir",
            str(shared.runs),
            "--config",
            str(CONFIG),
        ],
        capture_output=True,
        text=True,
        env=job.env,
        cwd=shared.tmp,
        timeout=120,
    )
    assert again.returncode == 0 and again.stdout.strip() == text.strip(), again.stderr
    example = os.environ.get("KYEOL_WRITE_EXAMPLE_SUMMARY")  # how docs/examples/summary-deploy-dev.md was made
    if example:
        Path(example).write_text(text)


def test_a_pull_request_plan_of_the_deployed_env_shows_no_changes(shared: World) -> None:
    before, writes = objects(shared), shared.kube_writes()
    job = Job(shared, "plan").run()
    assert job.code == 0, job
    report = job.report()
    assert report["exit_code"] == 0 and report["read_only"] is True
    assert [(s["id"], s["changes"]) for s in report["steps"]] == [(sid, []) for sid in STEP_IDS]
    assert "read-only: no lock taken" in job.stdout
    assert "no changes: reality matches the code" in job.summary
    assert "### Pending changes\n\nnone" in job.summary
    assert objects(shared) == before  # no state write, no lock object
    assert shared.kube_writes() == writes
    assert not [
        e
        for e in (json.loads(line) for line in job.stderr.splitlines() if line.startswith("{"))
        if "-lock-timeout" in str(e.get("command", ""))
    ]


def test_a_changed_tfvars_value_is_pending_named_and_fails_only_the_drift_job(shared: World) -> None:
    tfvars = shared.infra / TFVARS
    original = tfvars.read_text()
    tfvars.write_text(original.replace("nodes_max           = 2", "nodes_max           = 3"))
    try:
        before = objects(shared)
        plan = Job(shared, "plan").run()
        assert plan.code == 0, plan  # the pull-request check fails only on errors
        report = plan.report()
        assert report["exit_code"] == 4
        infra = next(s for s in report["steps"] if s["id"] == "dev.infra")
        assert infra["status"] == "planned" and any("module.eks" in c["target"] for c in infra["changes"]), infra
        text = plan.summary
        assert "changes pending" in text and "### What differs from the code" in text
        assert re.search(r"^\| dev\.infra \| (update|replace) module\.eks\.terraform_data\.this \|$", text, re.M), text
        assert "::notice title=kyeol%3A changes pending::" in plan.stdout
        drift = Job(shared, "drift").run()
        assert drift.code == 4, drift
        assert "::error title=kyeol drift (dev)::dev differs from the code" in drift.stdout
        assert objects(shared) == before
    finally:
        tfvars.write_text(original)


def test_the_nightly_drift_job_names_an_argo_cd_app_that_went_out_of_sync(shared: World) -> None:
    app = DEV.argocd_app_name

    def out_of_sync(doc: dict[str, Any]) -> None:
        doc.setdefault("status", {}).setdefault("sync", {})["status"] = "OutOfSync"

    shared.mgmt.mutate("argoproj.io/v1alpha1", "Application", app, "argocd", out_of_sync)
    drift = Job(shared, "drift").run()
    assert drift.code == 4, drift
    sync = next(s for s in drift.report()["steps"] if s["id"] == "dev.sync")
    assert sync["status"] == "planned"
    text = drift.summary
    line = next(line for line in text.splitlines() if line.startswith("| dev.sync | run sync "))
    assert app in line and "OutOfSync" in line, text
    # Put it back: the deploy job syncs it again.
    assert Job(shared, "deploy").run(timeout=600).code == 0


def test_a_plan_while_a_deploy_holds_the_locks_neither_waits_nor_fails(shared: World) -> None:
    # A change for the deploy to apply (dev.infra is due again), and an apply that lasts until told.
    tfvars = shared.infra / TFVARS
    tfvars.write_text(tfvars.read_text().replace("nodes_max           = 2", "nodes_max           = 3"))
    hold = shared.tmp / "hold-dev-apply"
    hold.write_text("held by the test\n")
    deploy = Job(shared, "deploy", TF_VAR_hold_file=str(hold), TF_VAR_hold_max_s="400").start()
    try:
        tf_bucket = f"jung-kyeol-tfstate-{DEV.account_id}"
        end = time.monotonic() + 240
        while not (KEY + ".lock" in objects(shared) and "envs/dev/terraform.tfstate.tflock" in objects(shared, tf_bucket)):
            assert deploy.poll() is None, deploy.communicate()
            assert time.monotonic() < end, "the deploy never held both locks"
            time.sleep(0.2)
        kyeol_lock = s3(shared).get_object(Bucket=BUCKET, Key=KEY + ".lock")["Body"].read()

        plan = Job(shared, "plan").run()
        assert plan.code == 0, plan
        report = plan.report()
        assert report["exit_code"] in (0, 4) and not [s for s in report["steps"] if s["status"] == "failed"], report
        assert "read-only: no lock taken" in plan.stdout
        log = plan.stderr
        assert "Error acquiring the state lock" not in log and "locked by" not in log
        assert deploy.poll() is None  # still applying: the plan ran beside it
        assert s3(shared).get_object(Bucket=BUCKET, Key=KEY + ".lock")["Body"].read() == kyeol_lock
        assert "envs/dev/terraform.tfstate.tflock" in objects(shared, tf_bucket)
    finally:
        hold.unlink(missing_ok=True)
    out, err = deploy.communicate(timeout=300)
    assert deploy.returncode == 0, out[-3000:] + err[-3000:]
