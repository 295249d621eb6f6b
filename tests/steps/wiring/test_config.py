"""The configuration file: the runbook's facts load, derive the right names, and a bad
value is refused naming the key and the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook.errors import EXIT_USAGE, ConfigError
from steps.wiring.config import load_config

ROOT = Path(__file__).resolve().parents[3]


def test_repository_config_holds_runbook_section_1_and_3():
    cfg = load_config(ROOT / "kyeol.toml")
    assert (cfg.prefix, cfg.domain, cfg.region) == ("jung-", "mgz-g2-u3.shop", "ap-northeast-1")
    hosts = {n: (e.service_url, e.api_url) for n, e in cfg.envs.items() if e.is_target}
    assert hosts == {
        "dev": ("https://dev.mgz-g2-u3.shop", "https://dev-api.mgz-g2-u3.shop"),
        "stage": ("https://stage.mgz-g2-u3.shop", "https://stage-api.mgz-g2-u3.shop"),
        "prod": ("https://mgz-g2-u3.shop", "https://api.mgz-g2-u3.shop"),
    }
    sizing = {
        n: (
            e.node_type,
            e.nodes_min,
            e.nodes_max,
            e.rds_class or None,
            e.rds_multi_az,
            e.cache_node_type or None,
            e.cache_replicas,
        )
        for n, e in cfg.envs.items()
    }
    assert sizing == {
        "dev": ("t3.medium", 2, 2, "db.t3.small", False, "cache.t3.micro", 0),
        "stage": ("t3.medium", 2, 4, "db.t3.medium", True, "cache.t3.small", 1),
        "prod": ("t3.medium", 3, 5, "db.t3.medium", True, "cache.t3.small", 1),
        "mgmt": ("t3.medium", 2, 2, None, False, None, 0),
    }
    assert cfg.env("prod").protected and not cfg.env("dev").protected


def test_derived_names_start_with_prefix_and_origins_never_equal_public_hosts():
    cfg = load_config(ROOT / "kyeol.toml")
    prod = cfg.env("prod")
    assert prod.origin_hosts == ("origin.mgz-g2-u3.shop", "origin-api.mgz-g2-u3.shop")
    assert cfg.env("dev").origin_hosts == ("origin-dev.mgz-g2-u3.shop", "origin-dev-api.mgz-g2-u3.shop")
    for env in cfg.envs.values():
        assert env.cluster_name == f"jung-{env.name}-eks"
        assert not set(env.origin_hosts) & set(env.public_hosts)
        for purpose in ("lbc", "external-dns", "argocd-deployer"):
            assert env.role_name(purpose).startswith("jung-")
    assert cfg.state_bucket == "jung-kyeol-tfstate-123456789012"
    assert cfg.lock_table.startswith("jung-")


def _write(tmp_path: Path, text: str) -> Path:
    base = (ROOT / "kyeol.toml").read_text()
    path = tmp_path / "kyeol.toml"
    path.write_text(base.replace(*text.split("=>", 1)) if "=>" in text else text)
    return path


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ('region = "ap-northeast-1"=>region = "tokyo"', "project.region"),
        ('prefix = "jung-"=>prefix = "Jung"', "project.prefix"),
        ('cidr = "10.10.0.0/16"=>cidr = "10.10.0.0/99"', "envs.dev.cidr"),
        ('cidr = "10.10.0.0/16"=>cidr = "8.8.0.0/16"', "envs.dev.cidr"),
        ("nodes_max = 5=>nodes_max = 1", "envs.prod.nodes_min"),
        ('service_host = "dev.mgz-g2-u3.shop"=>service_host = "dev.example.com"', "envs.dev.service_host"),
        ('rds_class = "db.t3.small"=>rds_class = "t3.small"', "envs.dev.rds_class"),
        ('rds_multi_az = false=>rds_multi_az = "no"', "envs.dev.rds_multi_az"),
        ("[envs.stage]=>[envs.qa]", "envs.qa"),
    ],
)
def test_bad_value_names_key_and_file(tmp_path, change, key):
    path = _write(tmp_path, change)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.exit_code == EXIT_USAGE
    assert key in str(err.value) and str(path) in str(err.value)


def test_malformed_toml_and_missing_file_are_usage_errors(tmp_path):
    bad = tmp_path / "kyeol.toml"
    bad.write_text("[project\nprefix=")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml")


def test_mgmt_may_not_declare_a_database(tmp_path):
    path = _write(tmp_path, 'nodes_max = 2\n\n[envs.dev]=>nodes_max = 2\nrds_class = "db.t3.small"\n\n[envs.dev]')
    with pytest.raises(ConfigError, match="envs.mgmt.rds_class"):
        load_config(path)


def test_tree_overrides_resolve_against_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config(ROOT / "kyeol.toml", infra_repo="elsewhere/infra")
    assert cfg.paths.infra_repo == tmp_path / "elsewhere" / "infra"
    assert cfg.paths.app_repo == ROOT / "kyeol-app-gitops"


def test_an_env_profile_is_validated_and_needs_mgmts_profile(tmp_path):
    """An env in another account names its credentials profile; MGMT (state bucket, ECR,
    Argo CD) must then name its own, or another account's run could not reach it."""
    from runbook.errors import ConfigError

    base = (ROOT / "kyeol.toml").read_text()
    path = tmp_path / "kyeol.toml"
    path.write_text(base.replace("[envs.stage]\n", '[envs.stage]\nprofile = "kyeol-stage"\n'))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.key == "envs.mgmt.profile"
    path.write_text(base.replace("[envs.stage]\n", '[envs.stage]\nprofile = "bad profile"\n'))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.key == "envs.stage.profile"
    path.write_text(
        base.replace("[envs.stage]\n", '[envs.stage]\nprofile = "kyeol-stage"\n').replace(
            "[envs.mgmt]\n", '[envs.mgmt]\nprofile = "kyeol-mgmt"\n'
        )
    )
    config = load_config(path)
    assert config.env("stage").profile == "kyeol-stage" and config.owner("shared").profile == "kyeol-mgmt"
