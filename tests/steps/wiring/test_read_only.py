"""--read-only: every adapter chokepoint refuses a write (subprocess, AWS, Kubernetes, GitHub),
reads still work, Terraform plans run with -lock=false, and the CLI says no lock is taken."""

from __future__ import annotations

import base64
import sys
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from runbook.cli import Invocation
from steps.adapters.aws import AwsSession
from steps.adapters.github import GitHub
from steps.adapters.kube import KubeClient
from steps.adapters.process import ProcessRunner, ReadOnlyRefused
from steps.wiring.cli import app

ROOT = Path(__file__).resolve().parents[3]


def test_read_only_implies_dry_run() -> None:
    assert Invocation(command="deploy", read_only=True).dry_run is True


def test_the_process_chokepoint_refuses_a_mutating_command_and_runs_a_read(tmp_path: Path) -> None:
    runner = ProcessRunner(read_only=True)
    marker = tmp_path / "touched"
    with pytest.raises(ReadOnlyRefused, match="read-only run: refused to run `.*touch"):
        runner.run(["touch", str(marker)], timeout=10, mutating=True)
    assert not marker.exists()
    done = runner.run([sys.executable, "-c", "print('read')"], timeout=30, mutating=False)
    assert done.stdout == "read"
    # A plain dry-run still only skips the write (the steps' plans rely on that).
    assert ProcessRunner(dry_run=True).run(["touch", str(marker)], timeout=10).skipped_dry_run and not marker.exists()


def test_an_aws_session_refuses_writes_before_sending_them(moto_server: str) -> None:
    import boto3

    bucket = f"ro-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=moto_server, region_name="ap-northeast-1").create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
    )
    session = AwsSession("ap-northeast-1", endpoint_url=moto_server, read_only=True)
    s3 = session.client("s3")
    assert bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert s3.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200
    for call in (lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"x"), lambda: s3.delete_bucket(Bucket=bucket)):
        with pytest.raises(ReadOnlyRefused, match=r"refused to call AWS s3:(PutObject|DeleteBucket)"):
            call()
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    with pytest.raises(ReadOnlyRefused, match="dynamodb:PutItem"):
        session.client("dynamodb").put_item(TableName="t", Item={"LockID": {"S": "x"}})


def test_kubernetes_writes_are_refused_before_any_request() -> None:
    client = KubeClient(name="c", endpoint="https://127.0.0.1:9", ca_data=base64.b64encode(b"x").decode(), token=lambda: "t")
    client.read_only = True
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n"}}
    with pytest.raises(ReadOnlyRefused, match="apply ConfigMap n/a on c"):
        client.apply(obj)
    with pytest.raises(ReadOnlyRefused, match="patch"):
        client.merge_patch("v1", "ConfigMap", "a", "n", {"data": {}})
    with pytest.raises(ReadOnlyRefused, match="delete"):
        client.delete("v1", "ConfigMap", "a", "n")


def test_a_github_dispatch_is_refused() -> None:
    gh = GitHub("ghp_" + "x" * 36, api_url="http://127.0.0.1:9", repository="o/r", read_only=True)
    with pytest.raises(ReadOnlyRefused, match="POST .*dispatches on GitHub"):
        gh.dispatch_workflow("images.yml", "main", {"env": "dev"}, timeout=1)


def test_terraform_plans_of_a_read_only_runner_skip_the_state_lock(tmp_path: Path) -> None:
    from steps.adapters.terraform import Terraform

    seen: list[list[str]] = []

    class Recording(ProcessRunner):
        def run(self, argv, **kw):  # type: ignore[no-untyped-def, override]
            seen.append([str(a) for a in argv])
            from steps.adapters.process import Completed

            return Completed(argv=list(argv), returncode=0, stdout='{"terraform_version": "1.11.4"}')

    tf = Terraform(Recording(read_only=True), binary=sys.executable)
    tf.plan(tmp_path)
    plan = next(a for a in seen if "plan" in a)
    assert "-lock=false" in plan and not any(a.startswith("-lock-timeout") for a in plan)


def test_the_cli_says_no_lock_is_taken_and_writes_no_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    state = tmp_path / "state.json"
    result = CliRunner().invoke(
        app,
        [
            "deploy",
            "--env",
            "dev",
            "--read-only",
            "--state",
            str(state),
            "--config",
            str(ROOT / "kyeol.toml"),
            "--summary",
            str(tmp_path / "s.md"),
            "--runs-dir",
            str(tmp_path / "runs"),
            "--log-format",
            "json",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "read-only: no lock taken" in result.stdout
    assert not state.exists() and not Path(f"{state}.lock").exists()
    summary = (tmp_path / "s.md").read_text()
    assert "read-only: no lock taken, Terraform plans with -lock=false" in summary
    report = CliRunner().invoke(
        app,
        ["report", "--runs-dir", str(tmp_path / "runs"), "--format", "markdown", "--config", str(ROOT / "kyeol.toml")],
        catch_exceptions=False,
    )
    assert report.exit_code == 0 and report.stdout.strip() == summary.strip()
    as_json = CliRunner().invoke(app, ["report", "--runs-dir", str(tmp_path / "runs"), "--format", "json"])
    assert '"read_only": true' in as_json.stdout
    missing = CliRunner().invoke(app, ["report", "nope", "--runs-dir", str(tmp_path / "runs")])
    assert missing.exit_code == 2


def test_a_summary_that_cannot_be_written_is_a_warning_not_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        app,
        [
            "deploy",
            "--env",
            "dev",
            "--read-only",
            "--state",
            str(tmp_path / "s.json"),
            "--config",
            str(ROOT / "kyeol.toml"),
            "--summary",
            str(tmp_path / "no" / "such" / "dir.md"),
            "--runs-dir",
            str(tmp_path / "runs"),
            "--log-format",
            "json",
        ],
    )
    assert result.exit_code == 0 and result.exception is None, result.output
    assert "could not write the summary" in result.stderr


def test_every_terraform_a_read_only_run_builds_is_read_only() -> None:
    """Envs that name a credentials profile get a Terraform of their own: it is read-only too."""
    import dataclasses

    from steps.wiring.config import load_config
    from steps.wiring.services import Services

    config = load_config(ROOT / "kyeol.toml")
    services = Services(config, read_only=True, environ={"AWS_DEFAULT_REGION": "ap-northeast-1"})
    with_profile = dataclasses.replace(config.envs["dev"], profile="kyeol-dev")
    ambient, own = services.terraform_for(config.envs["mgmt"]), services.terraform_for(with_profile)
    assert own is not ambient and own.process.base_env["AWS_PROFILE"] == "kyeol-dev"
    assert ambient.process.read_only and own.process.read_only
    with pytest.raises(ReadOnlyRefused):
        own.process.run(["touch", "/nonexistent/kyeol-ro"], timeout=10, mutating=True)
