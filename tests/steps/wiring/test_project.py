"""The guards before anything is touched: prod confirmation and the AWS identity check,
and the graph of the whole runbook."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook.errors import EXIT_USAGE, Unavailable, UsageError
from runbook.graph import Graph
from steps.wiring.config import load_config
from steps.wiring.project import (
    PHASES,
    accounts_touched,
    build_steps,
    check_identity,
    confirm_protected,
    env_label,
    parse_envs,
    runbook_order,
    split_envs,
)
from steps.wiring.services import Services

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def services():
    return Services(load_config(ROOT / "kyeol.toml"), dry_run=True, environ={"AWS_DEFAULT_REGION": "ap-northeast-1"})


def test_prod_needs_its_name_confirmed_not_just_yes():
    with pytest.raises(UsageError, match="explicit confirmation") as err:
        confirm_protected("prod", True, None, interactive=False)
    assert "--confirm-env prod" in err.value.hint
    with pytest.raises(UsageError, match="does not match"):
        confirm_protected("prod", True, "stage", interactive=False)
    confirm_protected("prod", True, "prod", interactive=False)
    confirm_protected("dev", False, None, interactive=False)


def test_prod_confirmation_at_a_terminal_takes_the_typed_name():
    confirm_protected("prod", True, None, interactive=True, prompt=lambda text: "prod")
    with pytest.raises(UsageError) as err:
        confirm_protected("prod", True, None, interactive=True, prompt=lambda text: "yes")
    assert err.value.exit_code == EXIT_USAGE


def test_the_nine_phases_in_runbook_order(services):
    steps = build_steps(services, "dev")
    graph = Graph(steps)
    phases = [graph[s].phase for s in graph.order()]
    assert phases == sorted(phases)
    assert set(phases) == set(PHASES) == set(range(1, 10))
    ids = set(graph.order())
    assert {"bootstrap", "global", "mgmt.registry", "mgmt.infra", "argocd"} <= ids
    assert {f"dev.{s}" for s in ("infra", "register", "addons", "images", "sync", "verify")} <= ids
    assert not any(i.startswith(("stage.", "prod.")) for i in ids)
    order = runbook_order()
    assert [i for i in order if i in ids] == graph.order()


def test_mgmt_and_env_infra_are_independent_and_images_start_early(services):
    graph = Graph(build_steps(services, "dev"))

    def ancestors(sid):
        seen, todo = set(), list(graph[sid].needs)
        while todo:
            n = todo.pop()
            if n not in seen:
                seen.add(n)
                todo.extend(graph[n].needs)
        return seen

    assert "mgmt.infra" not in ancestors("dev.infra") and "dev.infra" not in ancestors("mgmt.infra")
    assert "mgmt.infra" not in ancestors("dev.images")
    assert {"dev.addons", "dev.images"} <= ancestors("dev.sync")
    length, path = graph.critical_path({s.id: s.estimate_s for s in graph.steps})
    total = sum(s.estimate_s for s in graph.steps)
    assert length < total * 0.75, (length, total, path)


def test_unknown_env_is_a_usage_error(services):
    with pytest.raises(UsageError, match="unknown environment 'qa'"):
        build_steps(services, "qa")


def test_accounts_touched_by_shared_and_env_steps(services):
    steps = build_steps(services, "dev")
    touched = accounts_touched(services.config, steps)
    assert touched == {"123456789012": {s.id for s in steps}}


def test_region_of_the_shell_must_match(services):
    services.environ["AWS_REGION"] = "us-west-2"
    with pytest.raises(UsageError, match="us-west-2"):
        check_identity(services, build_steps(services, "dev"))


def test_identity_matches_moto_account(moto_endpoint):
    svc = Services(load_config(ROOT / "kyeol.toml"))
    steps = build_steps(svc, "dev")
    assert check_identity(svc, steps)["account"] == "123456789012"


def test_wrong_account_is_refused_naming_both(moto_endpoint, tmp_path):
    text = (ROOT / "kyeol.toml").read_text().replace("123456789012", "210987654321")
    path = tmp_path / "kyeol.toml"
    path.write_text(text)
    svc = Services(load_config(path))
    with pytest.raises(UsageError) as err:
        check_identity(svc, build_steps(svc, "dev"))
    assert "123456789012" in err.value.message and "210987654321" in err.value.message
    assert err.value.exit_code == EXIT_USAGE


def test_no_credentials_is_unavailable_not_a_crash(monkeypatch):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    svc = Services(load_config(ROOT / "kyeol.toml"))
    with pytest.raises(Unavailable):
        check_identity(svc, build_steps(svc, "dev"))


# -- several environments in one run --------------------------------------------------------------


def test_repeated_env_values_become_one_run_in_runbook_order():
    assert parse_envs(["stage", "dev"]) == ("dev", "stage")
    assert parse_envs(["all"]) == ("dev", "stage", "prod")
    assert split_envs(env_label(parse_envs(["prod", "dev"]))) == ("dev", "prod")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["dev", "dev"], "--env dev is given more than once"),
        (["dev", "stage", "dev"], "--env dev is given more than once"),
        (["all", "dev"], "--env all cannot be combined with --env dev"),
        (["all", "all"], "--env all is given more than once"),
        (["dev", "qa"], "unknown environment 'qa'"),
        ([], "no environment given"),
    ],
)
def test_bad_env_selections_are_usage_errors(values, message):
    with pytest.raises(UsageError) as err:
        parse_envs(values)
    assert message in err.value.message and err.value.exit_code == EXIT_USAGE and err.value.hint


def test_several_envs_are_one_graph_with_the_shared_steps_once_and_independent_chains(services):
    graph = Graph(build_steps(services, "dev,stage,prod"))
    shared = {"bootstrap", "account", "global", "mgmt.registry", "mgmt.infra", "argocd"}
    assert {s.id for s in graph.steps if s.scope == "shared"} == shared
    for env in ("dev", "stage", "prod"):
        own = {s.id for s in graph.steps if s.scope == env}
        assert own == {f"{env}.{s}" for s in ("infra", "register", "addons", "images", "sync", "verify")}
        # An env's chain needs shared steps and its own, never another env's: a failure in one
        # env cannot block another.
        for sid in own:
            assert all(n in shared or n.startswith(f"{env}.") for n in graph[sid].needs), (sid, graph[sid].needs)
    assert graph.order() == [i for i in runbook_order() if i in graph]
    # The shared steps are the same steps whichever env built them (same inputs, same fingerprint).
    for sid in shared:
        one = {s.id: s for s in build_steps(services, "stage")}[sid]
        assert one.fingerprint() == graph[sid].fingerprint()


def test_one_env_graph_is_unchanged_by_the_multi_env_build(services):
    assert [s.id for s in build_steps(services, ["dev"])] == [s.id for s in build_steps(services, "dev")]


# -- an env in another account: its own credentials profile ----------------------------------------

AWS_PROFILES = """[profile kyeol-mgmt]
aws_access_key_id = testing
aws_secret_access_key = testing
region = ap-northeast-1
[profile kyeol-stage]
role_arn = arn:aws:iam::{stage_account}:role/kyeol-deployer
source_profile = kyeol-mgmt
region = ap-northeast-1
"""


def multi_account_config(tmp_path, *, stage_account="210987654321", profile_account="210987654321"):
    """kyeol.toml with stage in its own account behind profile kyeol-stage (an assumed role,
    as an organisation's deploy role would be), and ~/.aws/config with both profiles."""
    text = (ROOT / "kyeol.toml").read_text()
    text = text.replace(
        '[envs.mgmt]\naccount_id = "123456789012"', '[envs.mgmt]\nprofile = "kyeol-mgmt"\naccount_id = "123456789012"'
    )
    text = text.replace(
        '[envs.stage]\naccount_id = "123456789012"', f'[envs.stage]\nprofile = "kyeol-stage"\naccount_id = "{stage_account}"'
    )
    path = tmp_path / "kyeol.toml"
    path.write_text(text)
    aws_config = tmp_path / "aws-config"
    aws_config.write_text(AWS_PROFILES.format(stage_account=profile_account))
    return path, aws_config


def test_each_env_is_checked_with_its_own_profile(moto_endpoint, tmp_path, monkeypatch):
    """moto answers GetCallerIdentity for an assumed role with the role's account, so the
    guard sees 210987654321 only through stage's own session."""
    path, aws_config = multi_account_config(tmp_path)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(aws_config))
    config = load_config(path)
    assert config.env("stage").profile == "kyeol-stage" and config.env("dev").profile == ""
    svc = Services(config)
    identity = check_identity(svc, build_steps(svc, "dev,stage"))
    assert identity["account"] == "123456789012"
    assert identity["identities"]["stage"]["account"] == "210987654321"
    assert identity["identities"]["stage"]["profile"] == "kyeol-stage"
    assert "assumed-role/kyeol-deployer" in identity["identities"]["stage"]["arn"]
    assert identity["identities"]["dev"]["account"] == "123456789012"
    # Stage's AWS calls and Terraform runs use that profile; MGMT's and dev's do not.
    assert svc.aws_for(config.env("stage")).profile == "kyeol-stage"
    assert svc.aws_for(config.env("dev")).profile is None
    assert svc.terraform_for(config.env("stage")).process.base_env["AWS_PROFILE"] == "kyeol-stage"
    assert svc.terraform_for(config.env("mgmt")).process.base_env["AWS_PROFILE"] == "kyeol-mgmt"


def test_an_env_whose_profile_is_for_another_account_is_refused_naming_it(moto_endpoint, tmp_path, monkeypatch):
    path, aws_config = multi_account_config(tmp_path, profile_account="111122223333")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(aws_config))
    svc = Services(load_config(path))
    with pytest.raises(UsageError) as err:
        check_identity(svc, build_steps(svc, "dev,stage"))
    assert "profile 'kyeol-stage'" in err.value.message and "111122223333" in err.value.message
    assert "210987654321 (stage)" in err.value.message and "stage.infra" in err.value.message
    assert err.value.exit_code == EXIT_USAGE
    # dev alone never asks stage's profile.
    assert check_identity(svc, build_steps(svc, "dev"))["account"] == "123456789012"


def test_a_profile_that_is_not_configured_is_unavailable(moto_endpoint, tmp_path, monkeypatch):
    path, _ = multi_account_config(tmp_path)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "missing"))
    svc = Services(load_config(path))
    with pytest.raises(Unavailable, match="profile 'kyeol-mgmt' is not configured"):
        check_identity(svc, build_steps(svc, "stage"))
