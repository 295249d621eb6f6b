"""`kyeol destroy`: its help, its guards and exit codes (every refusal leaves the state as it was),
the identity guard per destroy step, the tools it needs, and `resume` continuing a destroy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runbook.cli import Invocation
from runbook.errors import EXIT_OK, EXIT_USAGE
from steps.wiring.kyeol import KyeolSession, missing_tools
from steps.wiring.project import accounts_touched, runbook_order
from tests.steps.wiring.test_cli import cli_output, config_copy, invoke, kyeol


def test_destroy_help_says_it_tears_down_one_env_and_never_the_shared_steps() -> None:
    result = invoke("destroy", "--help")
    assert result.exit_code == EXIT_OK
    text = " ".join(result.output.split())
    assert "Tear down ONE environment" in text and "--dry-run" in text and "--confirm-env" in text
    assert "MGMT" in text and "never destroyed" in text and "serve every environment" in text
    assert "prod is refused" in text
    assert "destroy" in invoke("--help").output


def test_an_unknown_environment_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke("destroy", "--env", "mgmt", "--config", str(config_copy(tmp_path)), "--state", str(tmp_path / "s.json"))
    assert result.exit_code == EXIT_USAGE
    assert not (tmp_path / "s.json").exists()


@pytest.mark.parametrize("confirm", [[], ["--confirm-env", "stage"]], ids=["unconfirmed", "wrong-name"])
def test_prod_unconfirmed_is_refused_for_the_real_reason_without_asking_for_its_name(tmp_path: Path, confirm: list[str]) -> None:
    """Asking to type "prod" for a destroy that is refused anyway would only waste the reader's time."""
    state = tmp_path / "state.json"
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "KYEOL_TERRAFORM": "/nonexistent/terraform"}
    result = invoke("destroy", "--env", "prod", *confirm, "--config", str(config_copy(tmp_path)), "--state", str(state), env=env)
    assert result.exit_code == EXIT_USAGE, cli_output(result)
    assert "prevent_destroy" in cli_output(result) and "does not match" not in cli_output(result)
    assert not state.exists() and not (tmp_path / "state.json.lock").exists()


@pytest.mark.parametrize("extra", [["--confirm-env", "prod"], ["--dry-run"]], ids=["confirmed", "dry-run"])
def test_prod_is_refused_even_confirmed_because_of_prevent_destroy(tmp_path: Path, extra: list[str]) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"schema_version": 1, "tool": "kyeol 0.1.0", "updated_at": None, "last_run": None, "steps": {}}))
    before = state.read_bytes()
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "KYEOL_TERRAFORM": "/nonexistent/terraform"}
    result = invoke(
        "destroy",
        "--env",
        "prod",
        *extra,
        "--config",
        str(config_copy(tmp_path)),
        "--state",
        str(state),
        "--runs-dir",
        str(tmp_path / "runs"),
        env=env,
    )
    assert result.exit_code == EXIT_USAGE, cli_output(result)
    output = " ".join(cli_output(result).split())
    assert "PG-NAT Elastic IP" in output and "prevent_destroy" in output and "nothing was touched" in output
    assert "hint: " in output and "state rm" in output
    assert state.read_bytes() == before and not (tmp_path / "runs").exists()


def session(tmp_path: Path, env: str = "dev") -> KyeolSession:
    inv = Invocation(
        command="destroy",
        env=env,
        log_format="json",
        state=str(tmp_path / "state.json"),
        extra={"config": str(config_copy(tmp_path))},
    )
    return KyeolSession(inv)


def test_the_destroy_session_builds_the_teardown_and_names_its_phases(tmp_path: Path) -> None:
    s = session(tmp_path)
    steps = s.steps()
    assert [x.id for x in steps] == ["dev.drain", "dev.deregister", "dev.infra.destroy"]
    titles = s.phase_titles()
    assert {10, 11, 12} <= set(titles) and "Drain" in titles[10] and "terraform destroy" in titles[12]
    # The identity guard covers MGMT (Argo CD) and the env's account, as for a deploy.
    touched = accounts_touched(s.config, steps)
    assert touched == {"123456789012": {"dev.drain", "dev.deregister", "dev.infra.destroy"}}
    # terraform is required for the destroy of the env root (and nothing needs kubectl or helm).
    found = missing_tools({"PATH": str(tmp_path)}, steps)
    assert [(tool, users) for tool, _, users in found] == [("terraform", ["dev.infra.destroy"])]
    order = runbook_order()
    assert order.index("dev.verify") < order.index("dev.drain") < order.index("dev.deregister") < order.index("dev.infra.destroy")


def test_the_identity_guard_refuses_another_account_for_the_destroy(tmp_path: Path) -> None:
    other = config_copy(tmp_path, **{'[envs.dev]\naccount_id = "123456789012"': '[envs.dev]\naccount_id = "111111111111"'})
    inv = Invocation(
        command="destroy", env="dev", log_format="json", state=str(tmp_path / "state.json"), extra={"config": str(other)}
    )
    s = KyeolSession(inv)
    touched = accounts_touched(s.config, s.steps())
    # drain reads the env's load balancers and writes to MGMT's Argo CD: both accounts are checked.
    assert touched == {"123456789012": {"dev.drain", "dev.deregister"}, "111111111111": {"dev.drain", "dev.infra.destroy"}}


@pytest.mark.slow
def test_resume_continues_a_destroy_and_says_so(tmp_path: Path) -> None:
    """The checkpoint says the last run was a destroy: `kyeol resume` builds the teardown again
    (a dry-run of it would be refused for prod just like the destroy itself)."""
    state = tmp_path / "state.json"
    state.write_text(
        json.dumps(
            {
                "schema_version": 1,
                "tool": "kyeol 0.1.0",
                "updated_at": None,
                "steps": {},
                "last_run": {
                    "run_id": "r1",
                    "command": "destroy",
                    "env": "prod",
                    "status": "interrupted",
                    "dry_run": False,
                    "started_at": None,
                    "selection": {"only": [], "from": None, "to": None, "parallelism": 1},
                },
            }
        )
    )
    before = state.read_bytes()
    done = kyeol(
        "resume",
        "--confirm-env",
        "prod",
        "--config",
        str(config_copy(tmp_path)),
        "--state",
        str(state),
        "--runs-dir",
        str(tmp_path / "runs"),
        AWS_ENDPOINT_URL="http://127.0.0.1:9",
    )
    assert done.returncode == EXIT_USAGE, done.stdout + done.stderr
    assert "kyeol does not destroy prod" in done.stderr  # it was the teardown that resumed, not a deploy
    assert state.read_bytes() == before
