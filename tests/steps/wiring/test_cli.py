"""The real ``kyeol`` entry point: usage errors, guards and exit codes, in process and as a subprocess.

In process: ``typer.testing.CliRunner`` on ``steps.wiring.cli.app``. As a subprocess: the installed
``.venv/bin/kyeol`` and ``python -m steps.wiring.cli``. Every refusal is shown to leave the state
file byte for byte as it was (or never created), because "nothing was touched" is what
exit code 2 promises.

Tests that build the whole nine-phase graph are skipped, naming the module, while a phase
module is still missing; they run as soon as every ``steps/phase*.py`` exists.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from runbook.cli import Invocation
from runbook.errors import EXIT_OK, EXIT_USAGE, UsageError
from runbook.step import Step
from steps.wiring import cli
from steps.wiring.cli import app
from steps.wiring.kyeol import KyeolSession
from steps.wiring.project import _PHASE_MODULES

ROOT = Path(__file__).resolve().parents[3]
KYEOL = ROOT / ".venv" / "bin" / "kyeol"
MISSING_PHASES = [m for m in _PHASE_MODULES if importlib.util.find_spec(m) is None]
needs_all_phases = pytest.mark.skipif(
    bool(MISSING_PHASES), reason=f"the step graph needs every phase module; missing: {', '.join(MISSING_PHASES)}"
)


def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)


def cli_output(result: Any) -> str:
    """stdout and stderr of a CliRunner result (click 8.2 keeps them apart; older mixes them)."""
    try:
        return result.stdout + result.stderr
    except ValueError:
        return result.output


def config_copy(tmp_path: Path, **replace: str) -> Path:
    """kyeol.toml with some text replaced, its tree paths pointing back at this repository."""
    text = (ROOT / "kyeol.toml").read_text()
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    for key in ("infra_repo", "platform_repo", "app_repo"):
        folder = {
            "infra_repo": "kyeol-infra-terraform",
            "platform_repo": "kyeol-platform-gitops",
            "app_repo": "kyeol-app-gitops",
        }[key]
        text = text.replace(f'{key} = "{folder}"', f'{key} = "{ROOT / folder}"')
    path = tmp_path / "kyeol.toml"
    path.write_text(text)
    return path


def subprocess_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "KYEOL_"))}
    env.update(CI="1", AWS_DEFAULT_REGION="ap-northeast-1", AWS_EC2_METADATA_DISABLED="true")
    env.update(extra)
    return env


def kyeol(*args: str, cwd: Path = ROOT, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KYEOL), *args], cwd=cwd, env=subprocess_env(**env), capture_output=True, text=True, timeout=timeout
    )


# -- help and usage -------------------------------------------------------------------------


def test_help_lists_every_command() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("deploy", "resume", "verify", "status", "steps", "unlock"):
        assert command in result.output


@pytest.mark.slow
def test_the_installed_entry_point_and_python_m_both_answer_help() -> None:
    installed = kyeol("--help")
    module = subprocess.run(
        [sys.executable, "-m", "steps.wiring.cli", "--help"], cwd=ROOT, env=subprocess_env(), capture_output=True, text=True
    )
    assert installed.returncode == 0 and module.returncode == 0
    assert "deploy" in installed.stdout and "deploy" in module.stdout
    assert "Usage: kyeol" in installed.stdout


def test_no_arguments_shows_the_help_and_exits_0() -> None:
    result = invoke()
    assert result.exit_code == EXIT_OK
    assert "Usage" in cli_output(result) and "deploy" in cli_output(result)


def test_an_unknown_environment_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke("deploy", "--env", "qa", "--state", str(tmp_path / "state.json"))
    assert result.exit_code == EXIT_USAGE
    text = cli_output(result)
    assert "'qa'" in text and "dev" in text and "prod" in text
    assert not (tmp_path / "state.json").exists()


@pytest.mark.slow
def test_an_unknown_environment_exits_2_from_the_real_executable(tmp_path: Path) -> None:
    done = kyeol("deploy", "--env", "qa", "--state", str(tmp_path / "state.json"))
    assert done.returncode == EXIT_USAGE
    assert "'qa'" in done.stderr


# -- configuration ------------------------------------------------------------------------------


def test_a_malformed_config_value_exits_2_naming_the_key_and_the_file(tmp_path: Path) -> None:
    bad = config_copy(tmp_path, **{"nodes_min = 3": 'nodes_min = "three"'})
    state = tmp_path / "state.json"

    result = invoke("deploy", "--env", "dev", "--dry-run", "--config", str(bad), "--state", str(state))

    assert result.exit_code == EXIT_USAGE
    text = cli_output(result)
    assert "error: " in text and "envs.prod.nodes_min" in text and str(bad) in text
    assert "hint: " in text
    assert not state.exists()


def test_a_config_that_is_not_toml_exits_2_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[project\nprefix = 'jung-'\n")
    result = invoke("deploy", "--env", "dev", "--config", str(bad), "--state", str(tmp_path / "s.json"))
    assert result.exit_code == EXIT_USAGE
    assert str(bad) in cli_output(result) and "not valid TOML" in cli_output(result)


@pytest.mark.slow
def test_a_missing_config_file_exits_2_from_the_real_executable(tmp_path: Path) -> None:
    done = kyeol("deploy", "--env", "dev", "--config", str(tmp_path / "nope.toml"), "--state", str(tmp_path / "s.json"))
    assert done.returncode == EXIT_USAGE
    assert "nope.toml" in done.stderr and "not found" in done.stderr


# -- the checkpoint ------------------------------------------------------------------------------


CORRUPT = {
    "truncated": b'{"schema_version": 1, "steps": {"bootstrap": {"status": "do',
    "future": json.dumps({"schema_version": 7, "tool": "kyeol 9.0.0", "steps": {}}).encode(),
    "not-a-checkpoint": b'["just", "a", "list"]',
}


@pytest.mark.parametrize("kind", sorted(CORRUPT))
@pytest.mark.parametrize("command", ["deploy", "deploy-dry-run", "resume", "status"])
def test_a_corrupt_or_unknown_version_state_exits_2_and_is_left_untouched(tmp_path: Path, kind: str, command: str) -> None:
    state = tmp_path / "state.json"
    state.write_bytes(CORRUPT[kind])
    args = {
        "deploy": ["deploy", "--env", "dev"],
        "deploy-dry-run": ["deploy", "--env", "dev", "--dry-run"],
        "resume": ["resume"],
        "status": ["status"],
    }[command]
    config = ["--config", str(config_copy(tmp_path))] if command != "status" else []
    runs = ["--runs-dir", str(tmp_path / "runs")] if command != "status" else []

    result = invoke(*args, *config, *runs, "--state", str(state))

    assert result.exit_code == EXIT_USAGE, cli_output(result)
    text = cli_output(result)
    assert f"error: state {state}" in text or f"error: state file {state}" in text
    if kind == "future":
        assert "schema_version 7" in text
    assert state.read_bytes() == CORRUPT[kind]
    # no lock, no backup, no report: only what the test put there
    assert {p.name for p in tmp_path.iterdir()} == {"state.json"} | ({"kyeol.toml"} if config else set())


@pytest.mark.slow
def test_status_of_a_corrupt_state_exits_2_from_the_real_executable(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_bytes(CORRUPT["truncated"])
    done = subprocess.run(
        [sys.executable, "-m", "steps.wiring.cli", "status", "--state", str(state)],
        cwd=ROOT,
        env=subprocess_env(),
        capture_output=True,
        text=True,
    )
    assert done.returncode == EXIT_USAGE
    assert "corrupt" in done.stderr and "hint: " in done.stderr
    assert state.read_bytes() == CORRUPT["truncated"]


def test_status_of_a_fresh_state_and_resume_with_nothing_to_resume(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    shown = invoke("status", "--state", str(state))
    assert shown.exit_code == EXIT_OK
    assert "no step has run yet" in shown.output and "lock: free" in shown.output

    as_json = invoke("status", "--state", str(state), "--format", "json")
    assert json.loads(as_json.output)["steps"] == {}

    resumed = invoke("resume", "--state", str(state))
    assert resumed.exit_code == EXIT_USAGE
    assert "nothing to resume" in cli_output(resumed)
    assert not state.exists()


# -- protected environments ----------------------------------------------------------------------


@pytest.mark.parametrize("confirm", [[], ["--confirm-env", "stage"]], ids=["unconfirmed", "wrong-name"])
def test_prod_without_its_name_confirmed_exits_2_before_anything(tmp_path: Path, confirm: list[str]) -> None:
    state = tmp_path / "state.json"
    # Any AWS call would go to a closed port and fail differently: the refusal comes first.
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "KYEOL_TERRAFORM": "/nonexistent/terraform"}

    result = invoke("deploy", "--env", "prod", *confirm, "--config", str(config_copy(tmp_path)), "--state", str(state), env=env)

    assert result.exit_code == EXIT_USAGE, cli_output(result)
    assert "--confirm-env prod" in cli_output(result)
    assert not state.exists() and not (tmp_path / "state.json.lock").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["deploy", "--env", "dev", "--env", "dev"], "--env dev is given more than once"),
        (["deploy", "--env", "all", "--env", "stage"], "--env all cannot be combined with --env stage"),
        (["deploy", "--env", "dev", "--env", "prod"], "prod is protected"),
        (["deploy", "--env", "all"], "prod is protected"),
        (["deploy", "--env", "all", "--confirm-env", "stage"], "does not match"),
        (["resume", "--env", "dev"], "No such option"),
        (["destroy", "--env", "dev", "--env", "stage"], "takes one environment at a time"),
        (["destroy", "--env", "dev", "--env", "dev"], "--env dev is given more than once"),
        (["verify", "--env", "stage", "--env", "stage"], "--env stage is given more than once"),
        (["steps", "--env", "all", "--env", "dev"], "--env all cannot be combined"),
    ],
)
def test_bad_multi_env_input_exits_2_and_leaves_the_state_bytes(tmp_path: Path, args: list[str], message: str) -> None:
    """Issue 15 / issue 13: a repeated --env is never silently the last one; `all` beside names,
    prod unconfirmed among several envs: exit 2 before any check, the state file byte for byte."""
    state = tmp_path / "state.json"
    state.write_bytes(b'{"schema_version": 1, "tool": "kyeol", "steps": {}}\n')
    before = state.read_bytes()
    config = config_copy(tmp_path)
    extra = [] if args[0] in ("verify", "steps") else ["--state", str(state)]
    done = kyeol(
        *args, *extra, "--config", str(config), AWS_ENDPOINT_URL="http://127.0.0.1:9", KYEOL_TERRAFORM="/nonexistent/terraform"
    )
    assert done.returncode == EXIT_USAGE, done.stdout + done.stderr
    assert message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert state.read_bytes() == before and not (tmp_path / "state.json.lock").exists()
    assert not (tmp_path / ".kyeol").exists()


def test_steps_of_several_envs_is_one_graph_with_the_critical_path_marked(tmp_path: Path) -> None:
    config = str(config_copy(tmp_path))
    text = invoke("steps", "--env", "dev", "--env", "stage", "--config", config)
    assert text.exit_code == EXIT_OK, cli_output(text)
    lines = text.stdout.splitlines()
    assert sum(1 for line in lines if line.split()[:1] == ["*bootstrap"]) == 1  # shared steps once
    critical = [line.split()[0].lstrip("*") for line in lines if line.startswith(" *")]
    # stage's Multi-AZ database makes its chain the longest.
    assert critical == ["bootstrap", "global", "stage.infra", "stage.register", "stage.addons", "stage.sync", "stage.verify"]
    as_json = json.loads(invoke("steps", "--env", "all", "--format", "json", "--config", config).stdout)
    ids = [s["id"] for s in as_json["steps"]]
    assert ids.count("argocd") == 1 and {"dev.verify", "stage.verify", "prod.verify"} <= set(ids)
    assert as_json["critical_path"]["steps"][-1].endswith(".verify")
    mermaid = invoke("steps", "--env", "all", "--format", "mermaid", "--config", config).stdout
    assert "classDef critical" in mermaid and mermaid.count("argocd<br/>") == 1


# -- preflight: tools and identity (the session, with stand-in steps of chosen phases) -------------


class PhaseStep(Step):
    """A stand-in step: only its id, phase and scope matter to the preflight."""

    def __init__(self, sid: str, phase: int, scope: str = "shared") -> None:
        self.id, self.phase, self.scope = sid, phase, scope


def session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, dry_run: bool, config: Path | None = None, **env: str
) -> KyeolSession:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    inv = Invocation(
        command="deploy",
        env="dev",
        dry_run=dry_run,
        log_format="json",
        state=str(tmp_path / "state.json"),
        extra={"config": str(config or config_copy(tmp_path))},
    )
    return KyeolSession(inv)


def test_a_real_run_without_terraform_is_refused_before_any_aws_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = session(
        tmp_path, monkeypatch, dry_run=False, KYEOL_TERRAFORM="/nonexistent/terraform", AWS_ENDPOINT_URL="http://127.0.0.1:9"
    )
    steps = [PhaseStep("bootstrap", 1), PhaseStep("dev.infra", 3, "dev"), PhaseStep("dev.verify", 9, "dev")]

    with pytest.raises(UsageError) as caught:
        s.preflight(steps, dry_run=False)

    assert caught.value.exit_code == EXIT_USAGE
    assert "terraform" in caught.value.message and "/nonexistent/terraform" in caught.value.message
    assert "bootstrap" in caught.value.message and "dev.infra" in caught.value.message
    assert "KYEOL_TERRAFORM" in caught.value.hint


def test_tools_are_required_only_by_the_phases_that_use_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    s = session(tmp_path, monkeypatch, dry_run=False, PATH=str(empty), AWS_ENDPOINT_URL="http://127.0.0.1:9")
    s.services.environ.pop("KYEOL_HELM", None)
    s.services.environ.pop("KYEOL_TERRAFORM", None)

    with pytest.raises(UsageError) as helm:
        s.preflight([PhaseStep("argocd", 4)], dry_run=False)
    assert "helm" in helm.value.message and "argocd" in helm.value.message
    assert "terraform" not in helm.value.message and "kubectl" not in helm.value.message

    with pytest.raises(UsageError) as kubectl:
        s.preflight([PhaseStep("dev.addons", 6, "dev"), PhaseStep("dev.sync", 8, "dev")], dry_run=False)
    assert "kubectl" in kubectl.value.message and "dev.addons" in kubectl.value.message
    assert "helm" not in kubectl.value.message

    with pytest.raises(UsageError) as every:
        s.preflight([PhaseStep("bootstrap", 1), PhaseStep("argocd", 4), PhaseStep("dev.images", 7, "dev")], dry_run=False)
    assert all(tool in every.value.message for tool in ("terraform", "helm", "kubectl"))


def test_a_dry_run_only_notes_missing_tools_and_an_offline_identity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var, raising=False)
    s = session(
        tmp_path,
        monkeypatch,
        dry_run=True,
        KYEOL_TERRAFORM="/nonexistent/terraform",
        KYEOL_HELM="/nonexistent/helm",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
        AWS_CONFIG_FILE="/nonexistent",
    )

    found = s.preflight([PhaseStep("bootstrap", 1), PhaseStep("argocd", 4)], dry_run=True)

    notes = found.pop("notes")
    assert found == {}
    assert any(n.startswith("could not check offline: terraform") and "/nonexistent/terraform" in n for n in notes)
    assert any(n.startswith("could not check offline: helm") for n in notes)
    assert any(n.startswith("could not check the AWS identity offline") for n in notes)


def test_the_identity_is_checked_against_the_configured_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moto_endpoint: str
) -> None:
    other = config_copy(tmp_path, **{'account_id = "123456789012"': 'account_id = "111111111111"'})
    s = session(tmp_path, monkeypatch, dry_run=False, config=other)

    with pytest.raises(UsageError) as caught:
        s.preflight([PhaseStep("dev.infra", 3, "dev")], dry_run=False)

    assert "123456789012" in caught.value.message and "111111111111" in caught.value.message
    assert "dev.infra" in caught.value.message

    (tmp_path / "ok").mkdir()
    right = session(tmp_path / "ok", monkeypatch, dry_run=False)
    identity = right.preflight([PhaseStep("dev.infra", 3, "dev")], dry_run=False)
    assert identity["account"] == "123456789012" and identity.get("notes", []) == []


# -- the whole graph through the real CLI (needs every phase module) --------------------------------


@needs_all_phases
@pytest.mark.slow
def test_a_real_deploy_without_terraform_exits_2_and_touches_nothing(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    done = kyeol(
        "deploy",
        "--env",
        "dev",
        "--config",
        str(config_copy(tmp_path)),
        "--state",
        str(state),
        "--runs-dir",
        str(tmp_path / "runs"),
        KYEOL_TERRAFORM="/nonexistent/terraform",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_ENDPOINT_URL="http://127.0.0.1:9",
    )
    assert done.returncode == EXIT_USAGE, done.stdout + done.stderr
    assert "error: " in done.stderr and "terraform" in done.stderr and "/nonexistent/terraform" in done.stderr
    assert "hint: " in done.stderr
    assert not state.exists() and not (tmp_path / "state.json.lock").exists()


@needs_all_phases
@pytest.mark.slow
def test_a_deploy_with_credentials_of_another_account_exits_2_and_leaves_the_state(tmp_path: Path, moto_endpoint: str) -> None:
    other = config_copy(tmp_path, **{'account_id = "123456789012"': 'account_id = "111111111111"'})
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"schema_version": 1, "tool": "kyeol 0.1.0", "updated_at": None, "last_run": None, "steps": {}}))
    before = state.read_bytes()

    done = kyeol(
        "deploy",
        "--env",
        "dev",
        "--only",
        "dev.infra",
        "--config",
        str(other),
        "--state",
        str(state),
        "--runs-dir",
        str(tmp_path / "runs"),
        AWS_ENDPOINT_URL=moto_endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
    )

    assert done.returncode == EXIT_USAGE, done.stdout + done.stderr
    assert "refusing to run" in done.stderr and "123456789012" in done.stderr and "111111111111" in done.stderr
    assert state.read_bytes() == before and not (tmp_path / "state.json.lock").exists()


@needs_all_phases
@pytest.mark.slow
def test_a_dry_run_with_no_aws_credentials_plans_all_nine_phases_offline(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    done = kyeol(
        "deploy",
        "--env",
        "dev",
        "--dry-run",
        "--config",
        str(config_copy(tmp_path)),
        "--state",
        str(state),
        "--runs-dir",
        str(tmp_path / "runs"),
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
        AWS_CONFIG_FILE="/nonexistent",
        AWS_EC2_METADATA_DISABLED="true",
        timeout=300,
    )

    assert done.returncode == EXIT_OK, done.stdout + done.stderr
    assert done.stdout.startswith("PLAN deploy env=dev")
    headers = [line for line in done.stdout.splitlines() if line.startswith("Phase ")]
    assert [int(h.split()[1].rstrip(":")) for h in headers] == list(range(1, 10))
    assert "could not check the AWS identity offline" in done.stdout
    assert "could not check offline" in done.stdout
    assert not state.exists() and not (tmp_path / "state.json.lock").exists()


@needs_all_phases
def test_steps_lists_the_nine_phases_and_the_mermaid_graph(tmp_path: Path) -> None:
    text = invoke("steps", "--env", "dev", "--config", str(config_copy(tmp_path)))
    assert text.exit_code == 0, cli_output(text)
    assert [line.split(":")[0] for line in text.output.splitlines() if line.startswith("Phase ")] == [
        f"Phase {n}" for n in range(1, 10)
    ]
    mermaid = invoke("steps", "--env", "dev", "--format", "mermaid", "--config", str(config_copy(tmp_path)))
    assert mermaid.output.startswith("flowchart TD")


def test_the_cli_module_imports_no_cloud_sdk() -> None:
    code = "import sys, steps.wiring.cli; print(sorted(m for m in ('boto3', 'botocore', 'kubernetes') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=subprocess_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert cli.app.info.name == "kyeol"


# -- status formats and unlock through the real commands -------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_status_accepts_the_formats_the_readme_documents(tmp_path: Path, fmt: str) -> None:
    result = invoke("status", "--state", str(tmp_path / "state.json"), "--format", fmt)
    assert result.exit_code == EXIT_OK, cli_output(result)
    if fmt == "json":
        assert json.loads(result.output)["lock"] is None
    else:
        assert result.output.startswith(f"state: {tmp_path / 'state.json'}")


def plant_lock(state: Path, pid: int) -> Any:
    from runbook.lock import FileLock, LockHolder

    holder = LockHolder.for_this_process("20260101T000000Z-held00", "deploy")
    holder.pid = pid
    FileLock(Path(str(state) + ".lock")).acquire(holder)
    return holder


def finished_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_unlock_refuses_a_live_holder_and_needs_yes_off_a_terminal(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    holder = plant_lock(state, os.getpid())
    lock = Path(str(state) + ".lock")

    plain = invoke("unlock", "--state", str(state))
    assert plain.exit_code == EXIT_USAGE and holder.run_id in cli_output(plain) and lock.exists()

    unconfirmed = invoke("unlock", "--force", "--state", str(state))
    assert unconfirmed.exit_code == EXIT_USAGE and "--yes" in cli_output(unconfirmed) and lock.exists()

    forced = invoke("unlock", "--force", "--yes", "--state", str(state))
    assert forced.exit_code == EXIT_OK and f"removed the lock held by {holder.describe()}" in forced.output
    assert not lock.exists()


def test_unlock_removes_the_lock_of_a_run_that_is_gone(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    holder = plant_lock(state, finished_pid())

    done = invoke("unlock", "--state", str(state))

    assert done.exit_code == EXIT_OK, cli_output(done)
    assert f"removed the stale lock held by {holder.describe()}" in done.output
    assert not Path(str(state) + ".lock").exists()


@needs_all_phases
def test_a_deploy_while_another_run_holds_the_lock_exits_3_naming_it(tmp_path: Path, moto_endpoint: str) -> None:
    state = tmp_path / "state.json"
    holder = plant_lock(state, os.getpid())

    result = invoke(
        "deploy",
        "--env",
        "dev",
        "--only",
        "dev.verify",
        "--config",
        str(config_copy(tmp_path)),
        "--state",
        str(state),
        "--runs-dir",
        str(tmp_path / "runs"),
    )

    assert result.exit_code == 3, cli_output(result)
    text = cli_output(result)
    assert holder.run_id in text and f"pid {os.getpid()}" in text and holder.started_at in text
    assert not state.exists()


@needs_all_phases
def test_an_unknown_step_in_a_selection_exits_2_before_any_check(tmp_path: Path) -> None:
    result = invoke(
        "deploy",
        "--env",
        "dev",
        "--only",
        "dev.infar",
        "--config",
        str(config_copy(tmp_path)),
        "--state",
        str(tmp_path / "state.json"),
        env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"},
    )
    assert result.exit_code == EXIT_USAGE
    assert "did you mean 'dev.infra'" in cli_output(result)


SLOW_IMPORT = """
import importlib.abc, os, sys, time

class SlowTyper(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "typer":
            open(os.environ["KYEOL_TEST_MARK"], "w").close()
            time.sleep(10)
        return None

sys.meta_path.insert(0, SlowTyper())
"""


@pytest.mark.parametrize("how", ["console script", "module"])
def test_sigterm_in_the_first_moment_exits_130(tmp_path: Path, how: str) -> None:
    """Issue 10 (6): a SIGTERM while kyeol is still importing (its first second) exits 130, as a
    Ctrl-C does, instead of dying by the signal (a CI step would see 143). The import of typer is
    held open by a sitecustomize, so the signal lands there on a loaded machine too."""
    import signal
    import time

    if how == "console script" and not KYEOL.is_file():
        pytest.skip("no installed console script in .venv/bin")
    (tmp_path / "sitecustomize.py").write_text(SLOW_IMPORT)
    mark = tmp_path / "importing"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]), "KYEOL_TEST_MARK": str(mark)}
    argv = [str(KYEOL)] if how == "console script" else [sys.executable, "-m", "steps.wiring.cli"]
    proc = subprocess.Popen(
        [*argv, "status", "--state", str(tmp_path / "state.json")],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    end = time.monotonic() + 60
    while not mark.exists() and proc.poll() is None and time.monotonic() < end:
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()[-2000:]
    assert b"Traceback" not in err
