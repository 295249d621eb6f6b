"""The Terraform adapter, driving the real terraform CLI on small built-in-only roots.

Local state for most cases; the S3 backend pointed at moto for state and lock behaviour.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from runbook.clock import Clock
from runbook.errors import Unavailable
from runbook.redact import Redactor
from runbook.retry import Classifier
from runbook.step import Change, StepContext
from steps.adapters.process import ProcessRunner
from steps.adapters.terraform import (
    LockInfo,
    StateLocked,
    Terraform,
    TerraformError,
    error_diagnostics,
    parse_lock_info,
    render_backend_value,
)
from steps.wiring import errors_catalog
from tests.fixtures.infra import seed as seeding
from tests.fixtures.infra.world import RecordingLog, backend_extra, lock_items, s3_keys

pytestmark = pytest.mark.slow

BUCKET = "jung-kyeol-tfstate-123456789012"
TABLE = "jung-kyeol-tflock"

LOCAL_ROOT = """
variable "greeting" {
  type    = string
  default = "hello"
}

resource "terraform_data" "a" {
  input = var.greeting
}

resource "terraform_data" "b" {
  triggers_replace = [var.greeting]
}

output "greeting" {
  value = terraform_data.a.output
}

output "token" {
  value     = "s3cr3t-${var.greeting}-token"
  sensitive = true
}
"""

S3_ROOT = """
terraform {
  backend "s3" {}
}

variable "hold_file" {
  type    = string
  default = ""
}

resource "terraform_data" "x" {
  input = "v1"
}

resource "terraform_data" "hold" {
  count = var.hold_file != "" ? 1 : 0
  provisioner "local-exec" {
    command = "while [ -e '${var.hold_file}' ]; do sleep 0.1; done"
  }
}
"""


def write_root(path: Path, text: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "main.tf").write_text(text)
    return path


def make_tf(env: dict[str, str] | None = None, *, dry_run: bool = False, **kw) -> tuple[Terraform, RecordingLog, Redactor]:
    log, redactor = RecordingLog(), Redactor()
    process = ProcessRunner(redactor=redactor, log=log, dry_run=dry_run, base_env=env if env is not None else dict(os.environ))
    return Terraform(process, log=log, **kw), log, redactor


def context(redactor: Redactor, *, dry_run: bool = False, deadline: float | None = None) -> StepContext:
    clock = Clock()
    return StepContext(
        run_id="t",
        step_id="tf",
        env="dev",
        dry_run=dry_run,
        clock=clock,
        log=RecordingLog(),
        outputs={},
        deadline=deadline,
        on_secret=redactor.add,
    )


# -- version --------------------------------------------------------------------------------


def test_version_of_the_installed_terraform() -> None:
    tf, _, _ = make_tf()
    version = tf.version()
    assert tuple(int(n) for n in version.split(".")[:2]) >= (1, 11)


def test_missing_terraform_is_unavailable_with_an_install_hint(tmp_path: Path) -> None:
    tf, _, redactor = make_tf(binary=str(tmp_path / "no-such-terraform"))
    with pytest.raises(Unavailable, match="not installed") as caught:
        tf.version()
    assert "install Terraform >= 1.11" in caught.value.hint
    assert "KYEOL_TERRAFORM" in caught.value.hint
    with pytest.raises(Unavailable):  # every command checks first
        tf.init(write_root(tmp_path / "r", LOCAL_ROOT), None, context(redactor))
    process = ProcessRunner(which=lambda name: None)
    with pytest.raises(Unavailable, match="terraform is not installed"):
        Terraform(process).version()


@pytest.mark.parametrize("printed", ['{"terraform_version": "1.10.5", "platform": "linux_amd64"}', "Terraform v0.12.31"])
def test_terraform_older_than_1_11_is_refused(tmp_path: Path, printed: str) -> None:
    # Stand-in for an old terraform binary: prints what that version prints for `version -json`.
    fake = tmp_path / "terraform"
    fake.write_text(f"#!/bin/sh\necho '{printed}'\n")
    fake.chmod(0o755)
    tf, _, _ = make_tf(binary=str(fake))
    with pytest.raises(Unavailable, match=r"too old: kyeol needs >= 1\.11") as caught:
        tf.version()
    assert "install Terraform" in caught.value.hint


# -- plan / apply / output --------------------------------------------------------------------


def test_plan_apply_output_and_a_second_run_that_changes_nothing(tmp_path: Path) -> None:
    root = write_root(tmp_path / "root", LOCAL_ROOT)
    tf, log, redactor = make_tf()
    ctx = context(redactor)
    tf.init(root, None, ctx)
    tf.init(root, None, ctx)  # idempotent, and not run twice in one run
    assert len(log.commands("init")) == 1

    plan = tf.plan(root, ctx, variables={"greeting": "hello"})
    assert plan.changed and plan.path is not None and plan.path.exists()
    assert sorted(plan.creates) == ["terraform_data.a", "terraform_data.b"]
    assert plan.output_changes == {"greeting": "create", "token": "create"}
    assert plan.summary() == "2 to create"
    saved = plan.path
    assert tf.apply(root, plan, ctx) is True
    assert not saved.exists(), "the saved plan (it may hold secrets) is deleted after apply"

    outputs = tf.output(root, ctx)
    assert dict(outputs) == {"greeting": "hello"}
    assert outputs.sensitive == ["token"]
    assert redactor.redact("token=s3cr3t-hello-token") == "token=***", "sensitive values are registered for redaction"
    assert not [r for r in log.records if "s3cr3t" in repr(r)], "output -json and show -json are never logged"

    again = tf.plan(root, ctx, variables={"greeting": "hello"})
    assert not again.changed and again.path is None and again.summary() == "no changes"
    applies_before = len(log.commands("apply"))
    assert tf.apply(root, again, ctx) is False
    assert len(log.commands("apply")) == applies_before, "no terraform apply runs for an empty plan"

    changed = tf.plan(root, ctx, variables={"greeting": "hi"})
    assert (changed.updates, changed.replaces, changed.creates) == (["terraform_data.a"], ["terraform_data.b"], [])
    assert changed.output_changes == {"greeting": "update", "token": "update"}
    tf.apply(root, changed, ctx)
    assert tf.output(root, ctx)["greeting"] == "hi"
    run_lines = [r for r in log.records if r["event"] == "run"]
    assert all(r["command"].split()[1] in ("version", "init", "plan", "show", "apply", "output") for r in run_lines)
    assert all("-no-color" in r["command"] for r in run_lines if r["command"].split()[1] != "version")


def test_apply_reports_what_terraform_is_doing_from_its_machine_readable_output(tmp_path: Path) -> None:
    """`terraform apply -json` (hashicorp/terraform@v1.11 internal/command/views/json/hook.go): the
    step's "waiting for" names the resource being created and, every 10 s, for how long."""
    root = write_root(
        tmp_path / "root",
        'resource "terraform_data" "slow" {\n  provisioner "local-exec" {\n'
        '    command = "sleep 11"\n  }\n}\nresource "terraform_data" "quick" {}\n',
    )
    tf, tf_log, redactor = make_tf()
    seen: list[tuple[str, str]] = []
    changes: list[Change] = []
    ctx = StepContext(
        run_id="t",
        step_id="tf",
        env="dev",
        dry_run=False,
        clock=Clock(),
        log=RecordingLog(),
        outputs={},
        on_waiting=lambda step, what: seen.append((step, what)),
        on_secret=redactor.add,
        on_change=changes.append,
    )
    tf.init(root, None, ctx)
    assert tf.apply(root, tf.plan(root, ctx), ctx) is True
    shown = [what for _, what in seen]
    assert any(w.startswith("creating terraform_data.slow") for w in shown), shown
    assert any(w.startswith("creating terraform_data.slow (1") for w in shown), shown  # apply_progress, 10 s
    assert shown[-1] == "terraform apply"  # every operation complete
    # Terraform's messages are still logged (as text), and what was done is reported to the step.
    assert any(r["event"].startswith("terraform_data.slow: Creation complete") for r in tf_log.records)
    assert sorted(c.target for c in changes) == ["terraform_data.quick", "terraform_data.slow"]
    assert {c.action for c in changes} == {"create"}


def test_a_failed_json_apply_still_names_terraforms_error(tmp_path: Path) -> None:
    root = write_root(
        tmp_path / "root", 'resource "terraform_data" "bad" {\n  provisioner "local-exec" {\n    command = "exit 3"\n  }\n}\n'
    )
    tf, _, redactor = make_tf()
    ctx = context(redactor)
    tf.init(root, None, ctx)
    with pytest.raises(TerraformError) as caught:
        tf.apply(root, tf.plan(root, ctx), ctx)
    assert "local-exec provisioner error" in caught.value.message and caught.value.hint


def test_dry_run_plans_without_lock_and_never_applies(tmp_path: Path) -> None:
    root = write_root(tmp_path / "root", LOCAL_ROOT)
    tf, log, redactor = make_tf(dry_run=True)
    ctx = context(redactor, dry_run=True)
    tf.init(root, None, ctx)
    plan = tf.plan(root, ctx)
    assert plan.changed and len(plan.creates) == 2
    assert "-lock=false" in log.commands("plan")[0].split()
    assert tf.apply(root, plan, ctx) is False
    assert [r["command"].split()[1] for r in log.events("dry-run: would run")] == ["apply"]
    assert not (root / "terraform.tfstate").exists(), "nothing was applied"


def test_commands_are_bounded_by_the_step_deadline(tmp_path: Path) -> None:
    root = write_root(
        tmp_path / "root", 'resource "terraform_data" "slow" {\n  provisioner "local-exec" {\n    command = "sleep 30"\n  }\n}\n'
    )
    tf, _, redactor = make_tf()
    ctx = context(redactor, deadline=Clock().monotonic() + 60)
    tf.init(root, None, ctx)
    plan = tf.plan(root, ctx)
    ctx.deadline = Clock().monotonic() + 2
    started = time.monotonic()
    from runbook.errors import StepTimeout

    with pytest.raises(StepTimeout, match="did not finish within"):
        tf.apply(root, plan, ctx)
    assert time.monotonic() - started < 25


# -- errors --------------------------------------------------------------------------------


def test_configuration_error_is_permanent_and_readable(tmp_path: Path) -> None:
    root = write_root(tmp_path / "root", 'resource "terraform_data" "x" {\n  nodes = 3\n}\n')
    tf, _, redactor = make_tf()
    ctx = context(redactor)
    tf.init(root, None, ctx)
    with pytest.raises(TerraformError) as caught:
        tf.plan(root, ctx)
    err = caught.value
    assert f"terraform plan failed in {root}" in err.message
    assert 'Unsupported argument: An argument named "nodes" is not expected here.' in err.message
    assert err.errors == ['Unsupported argument: An argument named "nodes" is not expected here.']
    assert errors_catalog.register(Classifier()).classify(err) is None


def test_throttled_apply_is_classified_transient(tmp_path: Path) -> None:
    root = write_root(
        tmp_path / "root",
        'resource "terraform_data" "x" {\n  provisioner "local-exec" {\n'
        "    command = \"echo 'api error Throttling: Rate exceeded' >&2; exit 1\"\n  }\n}\n",
    )
    tf, _, redactor = make_tf()
    ctx = context(redactor)
    tf.init(root, None, ctx)
    with pytest.raises(TerraformError) as caught:
        tf.apply(root, tf.plan(root, ctx), ctx)
    assert "local-exec provisioner error" in caught.value.message
    assert "Rate exceeded" in caught.value.message
    assert errors_catalog.register(Classifier()).classify(caught.value) == "throttling"


def test_no_aws_credentials_for_the_s3_backend_is_unavailable(tmp_path: Path, moto_endpoint: str) -> None:
    root = write_root(tmp_path / "root", S3_ROOT)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_EC2_METADATA_DISABLED="true",
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_CONFIG_FILE=str(tmp_path / "none"),
    )
    tf, _, redactor = make_tf(env)
    config = {"bucket": BUCKET, "key": "x/terraform.tfstate", "region": "ap-northeast-1", **backend_extra(moto_endpoint)}
    with pytest.raises(Unavailable, match="could not reach AWS") as caught:
        tf.init(root, config, context(redactor))
    assert "No valid credential sources found" in caught.value.message
    assert "credentials" in caught.value.hint


# -- S3 backend in moto: state and lock ----------------------------------------------------


@pytest.fixture
def s3_root(tmp_path: Path, moto_endpoint: str) -> tuple[Path, dict[str, object], dict[str, str]]:
    seeding.seed_bootstrap(seeding.Seed(moto_endpoint, "ap-northeast-1"), {"state_bucket": BUCKET, "lock_table": TABLE})
    config = {
        "bucket": BUCKET,
        "key": "tests/lock/terraform.tfstate",
        "region": "ap-northeast-1",
        "dynamodb_table": TABLE,
        "use_lockfile": True,
        "encrypt": True,
        **backend_extra(moto_endpoint),
    }
    return write_root(tmp_path / "root", S3_ROOT), config, dict(os.environ)


def _start_holder(root: Path, env: dict[str, str], hold: Path, endpoint: str) -> subprocess.Popen[bytes]:
    """A second, live terraform run that holds the state lock while ``hold`` exists."""
    hold.write_text("held")
    proc = subprocess.Popen(
        ["terraform", "apply", "-auto-approve", "-input=false", "-no-color", f"-var=hold_file={hold}"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    end = time.monotonic() + 30
    while "tests/lock/terraform.tfstate.tflock" not in s3_keys(endpoint, BUCKET):
        assert proc.poll() is None, "the holder exited before taking the lock"
        assert time.monotonic() < end, "the holder never took the lock"
        time.sleep(0.1)
    return proc


def test_s3_backend_in_moto_keeps_state_and_a_live_lock_fails_after_the_bounded_wait(
    s3_root: tuple[Path, dict[str, object], dict[str, str]], moto_endpoint: str, tmp_path: Path
) -> None:
    root, config, env = s3_root
    tf, _, redactor = make_tf(env)
    ctx = context(redactor)
    tf.init(root, config, ctx)
    tf.apply(root, tf.plan(root, ctx), ctx)
    assert "tests/lock/terraform.tfstate" in s3_keys(moto_endpoint, BUCKET), "state lives in the moto bucket"
    digests = [i for i in lock_items(moto_endpoint, TABLE) if i["LockID"]["S"].endswith("-md5")]
    assert digests == [{"LockID": {"S": f"{BUCKET}/tests/lock/terraform.tfstate-md5"}, "Digest": digests[0]["Digest"]}]

    hold = tmp_path / "hold"
    holder = _start_holder(root, env, hold, moto_endpoint)
    try:
        locks = [i for i in lock_items(moto_endpoint, TABLE) if i["LockID"]["S"] == f"{BUCKET}/tests/lock/terraform.tfstate"]
        assert len(locks) == 1, "both locks are taken: the S3 lock file and the DynamoDB item"
        lock_id = json.loads(locks[0]["Info"]["S"])["ID"]
        patient, _, _ = make_tf(env, lock_timeout_s=1)
        started = time.monotonic()
        with pytest.raises(StateLocked) as caught:
            patient.plan(root, ctx)
        waited = time.monotonic() - started
        assert 1 <= waited < 20, "the wait is bounded by -lock-timeout"
        err = caught.value
        assert err.lock.id == lock_id
        assert lock_id in err.message and "OperationTypeApply" in err.message
        assert err.lock.who in err.message and "@" in err.lock.who
        assert "still held after waiting 1s" in err.message
        assert not err.holder_gone
        assert "still working" in err.hint and "force-unlock" not in err.hint
        assert errors_catalog.register(Classifier()).classify(err) is None, "a held lock is never retried"
    finally:
        hold.unlink()
        holder.wait(timeout=30)
    assert "tests/lock/terraform.tfstate.tflock" not in s3_keys(moto_endpoint, BUCKET), "the holder released it"


def test_a_lock_left_by_a_killed_run_suggests_force_unlock(
    s3_root: tuple[Path, dict[str, object], dict[str, str]], moto_endpoint: str, tmp_path: Path
) -> None:
    root, config, env = s3_root
    tf, _, redactor = make_tf(env, lock_timeout_s=0)
    ctx = context(redactor)
    tf.init(root, config, ctx)
    hold = tmp_path / "hold"
    holder = _start_holder(root, env, hold, moto_endpoint)
    os.killpg(holder.pid, signal.SIGKILL)  # a crashed run: no chance to release the lock
    holder.wait(timeout=10)
    hold.unlink()
    with pytest.raises(StateLocked) as caught:
        tf.plan(root, ctx)
    err = caught.value
    assert err.holder_gone
    assert f"terraform -chdir={root} force-unlock {err.lock.id}" in err.hint
    assert "the holder is gone" in err.hint


# -- parsing -------------------------------------------------------------------------------

LOCK_TEXT = """
Error: Error acquiring the state lock

Error message: operation error S3: PutObject, https response error
StatusCode: 412, RequestID: unX, api error PreconditionFailed: At least one of the pre-conditions you
specified did not hold
Lock Info:
  ID:        5a52c25f-0b50-7bb3-26fb-7179e7a666ce
  Path:      jung-kyeol-tfstate-123456789012/envs/dev/terraform.tfstate
  Operation: OperationTypeApply
  Who:       ci@runner-7
  Version:   1.11.4
  Created:   2026-11-26 07:29:26.276977501 +0000 UTC
  Info:


Terraform acquires a state lock to protect the state from being written
by multiple users at the same time.
"""


def test_lock_info_is_parsed_and_aged() -> None:
    lock = parse_lock_info(LOCK_TEXT)
    assert lock == LockInfo(
        id="5a52c25f-0b50-7bb3-26fb-7179e7a666ce",
        path="jung-kyeol-tfstate-123456789012/envs/dev/terraform.tfstate",
        operation="OperationTypeApply",
        who="ci@runner-7",
        version="1.11.4",
        created="2026-11-26 07:29:26.276977501 +0000 UTC",
    )
    assert lock.host == "runner-7"
    assert lock.age(datetime(2026, 11, 26, 7, 32, 38, tzinfo=UTC)) == "3m12s"
    assert lock.age(datetime(2026, 11, 26, 9, 30, 0, tzinfo=UTC)) == "2h00m"
    assert parse_lock_info("Error: something else") is None
    remote = StateLocked("envs/dev", lock, 300)
    assert "only if that run is gone for good" in remote.hint and f"force-unlock {lock.id}" in remote.hint


def test_error_diagnostics_fold_terraform_errors_onto_one_line() -> None:
    text = (
        'Warning: Deprecated Parameter\n\n  on main.tf line 2:\n\nThe parameter "dynamodb_table" is deprecated.\n\n'
        "Error: local-exec provisioner error\n\n  with terraform_data.fail,\n  on main.tf line 4, in resource "
        '"terraform_data" "fail":\n   4:   provisioner "local-exec" {\n\nError running command \'x\': exit\n'
        "status 1. Output: Throttling: Rate exceeded\n\nError: second problem\n"
    )
    assert error_diagnostics(text) == [
        "local-exec provisioner error: Error running command 'x': exit status 1. Output: Throttling: Rate exceeded",
        "second problem",
    ]


def test_backend_values_render_as_terraform_expects() -> None:
    assert render_backend_value(True) == "true"
    assert render_backend_value("jung-kyeol-tflock") == "jung-kyeol-tflock"
    assert render_backend_value(3) == "3"
    assert render_backend_value({"s3": "http://127.0.0.1:5000", "dynamodb": "http://127.0.0.1:5000"}) == (
        '{s3="http://127.0.0.1:5000",dynamodb="http://127.0.0.1:5000"}'
    )
    assert render_backend_value(["a", True]) == '["a",true]'


def test_lock_wait_is_bounded_and_configurable() -> None:
    assert Terraform(ProcessRunner(base_env={})).lock_timeout_s == 300
    assert Terraform(ProcessRunner(base_env={"KYEOL_TF_LOCK_TIMEOUT": "45"})).lock_timeout_s == 45
    assert Terraform(ProcessRunner(base_env={"KYEOL_TF_LOCK_TIMEOUT": "45"}), lock_timeout_s=2).lock_timeout_s == 2
    from runbook.errors import UsageError

    for bad in ("soon", "-1", "86400"):
        with pytest.raises(UsageError, match="KYEOL_TF_LOCK_TIMEOUT"):
            Terraform(ProcessRunner(base_env={"KYEOL_TF_LOCK_TIMEOUT": bad}))


# -- issue 10 (2): read-only commands retried in place ---------------------------------------

FLAKY = Path(__file__).resolve().parents[2] / "standins" / "flaky" / "terraform"


def flaky_tf(tmp_path: Path, first: dict[str, object]) -> tuple[Terraform, RecordingLog, Redactor]:
    from runbook.retry import RetryPolicy

    env = {**os.environ, "FLAKY_TERRAFORM": json.dumps({"first": first, "counter": str(tmp_path / "counts")})}
    return make_tf(
        env, binary=str(FLAKY), read_retry=RetryPolicy(max_attempts=50, initial=0.01, maximum=0.05, jitter=0.01, budget_s=30)
    )


def test_transient_failures_of_read_only_commands_are_retried_in_place(tmp_path: Path) -> None:
    """init, plan (and its show) and output each meet two throttling/connection-reset errors
    and succeed without the step attempt being thrown away."""
    root = write_root(tmp_path / "r", LOCAL_ROOT)
    tf, log, redactor = flaky_tf(tmp_path, {"init": 2, "plan": 2, "show": 2, "output": 2})
    ctx = context(redactor)
    tf.init(root, None, ctx)
    plan = tf.plan(root, ctx)
    assert plan.changed and plan.creates
    tf.apply(root, plan, ctx)
    assert tf.output(root, ctx)["greeting"] == "hello"
    retried = [r for r in log.records if r["event"] == "terraform command failed transiently; retrying it"]
    assert sorted({r["terraform"] for r in retried}) == ["init", "output", "plan", "show"]
    assert len(retried) == 8


def test_a_permanent_failure_of_a_read_is_raised_at_once(tmp_path: Path) -> None:
    root = write_root(tmp_path / "r", LOCAL_ROOT)
    tf, _log, redactor = flaky_tf(tmp_path, {"output": "permanent"})
    tf.init(root, None, context(redactor))
    with pytest.raises(TerraformError, match="AccessDenied"):
        tf.output(root, context(redactor))
    assert (tmp_path / "counts" / "output").read_text() == "1"
