"""The Terraform tree gives kyeol-app-gitops what it relies on (tests/infra/app_contract.py).

Each check first meets a small tree (or a copy of the real one) with a planted deviation, written
next to the assertion, and must report it; then the real tree must give no problem, against the
ExternalSecrets that `kubectl kustomize` really renders for each overlay.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from textwrap import dedent

import pytest

from tests.gitops.support import APP, render
from tests.infra import app_contract as a
from tests.infra import conformance as c
from tests.infra.evaluate import instantiate


def write(tree: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = tree / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text).lstrip())
    return tree


def real_copy(tmp_path: Path, infra_tree: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(infra_tree, tree, ignore=shutil.ignore_patterns(".terraform*"))
    return tree


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not once in {path}"
    path.write_text(text.replace(old, new))


def overlay(env: str) -> list[dict]:
    return render(APP / "apps" / "saleor" / "overlays" / env)


# --- NetworkPolicy enforcement: the vpc-cni add-on's configuration ------------------------------

GOOD_CNI = '{ enableNetworkPolicy = "true", env = { ENABLE_PREFIX_DELEGATION = "true", WARM_PREFIX_TARGET = "1" } }'


def eks_tree(tmp_path: Path, cni: str = GOOD_CNI, addons: str = "{ vpc-cni = local.cni, coredns = null }") -> Path:
    """A root calling an add-on module wired like modules/eks: a for_each over a map of configurations."""
    return write(
        tmp_path,
        {
            "envs/dev/main.tf": 'module "eks" {\n  source = "../../modules/eks"\n}\n',
            "modules/eks/addons.tf": f"""
            variable "cni_override" {{
              default = null
            }}
            locals {{
              cni    = jsonencode({cni})
              addons = {addons}
            }}
            resource "aws_eks_addon" "this" {{
              for_each             = local.addons
              cluster_name         = "jung-dev-eks"
              addon_name           = each.key
              configuration_values = each.value
            }}
            """,
        },
    )


def netpol_problems(tree: Path) -> list[str]:
    return [p.split(": ", 1)[1] for p in a.check_network_policy_enforced(instantiate(tree / "envs/dev"), "dev")]


def test_vpc_cni_with_the_network_policy_agent_passes(tmp_path: Path) -> None:
    assert netpol_problems(eks_tree(tmp_path)) == []


@pytest.mark.parametrize(
    ("cni", "shown"),
    [
        ('{ env = { ENABLE_PREFIX_DELEGATION = "true" } }', "None"),
        ('{ enableNetworkPolicy = "false", env = { ENABLE_PREFIX_DELEGATION = "true" } }', "'false'"),
        ('{ enableNetworkPolicy = true, env = { ENABLE_PREFIX_DELEGATION = "true" } }', "True"),  # the schema wants the string
    ],
)
def test_network_policy_agent_off_is_reported(tmp_path: Path, cni: str, shown: str) -> None:
    assert netpol_problems(eks_tree(tmp_path, cni)) == [
        (
            f'vpc-cni enableNetworkPolicy = {shown}, expected "true": without the network policy agent the '
            "NetworkPolicies of the GitOps trees are accepted and not enforced in dev"
        )
    ]


def test_turning_policies_on_must_keep_prefix_delegation(tmp_path: Path) -> None:
    assert netpol_problems(eks_tree(tmp_path, '{ enableNetworkPolicy = "true" }')) == [
        'vpc-cni env.ENABLE_PREFIX_DELEGATION = None, expected "true" (a t3.medium holds 17 pods without it)'
    ]


def test_missing_or_untraceable_vpc_cni_configuration_is_reported(tmp_path: Path) -> None:
    tree = eks_tree(tmp_path / "none", addons="{ coredns = null }")
    assert netpol_problems(tree) == ["no vpc-cni aws_eks_addon in dev, so nothing enforces NetworkPolicies"]
    tree = eks_tree(tmp_path / "unknown", addons="{ vpc-cni = data.aws_ssm_parameter.cni.value }")
    (problem,) = netpol_problems(tree)
    assert problem.startswith("could not trace configuration_values to a value (eks: data.aws_ssm_parameter.cni.value")


def test_the_real_module_without_the_agent_is_caught(tmp_path: Path, infra_tree: Path) -> None:
    tree = real_copy(tmp_path, infra_tree)
    edit(tree / "modules/eks/addons.tf", '    enableNetworkPolicy = "true"\n', "")
    (problem,) = a.check_network_policy_enforced(instantiate(tree / "envs/prod"), "prod")
    assert f"{(tree / 'modules/eks/addons.tf').resolve()}:" in problem
    assert "(module.environment.module.eks.aws_eks_addon.before_nodes): vpc-cni enableNetworkPolicy = None" in problem


@pytest.mark.parametrize("env", c.CLUSTER_ENVS)
def test_real_clusters_enforce_network_policies(infra_tree: Path, env: str) -> None:
    problems = a.check_network_policy_enforced(instantiate(c.env_root(infra_tree, env)), env)
    assert not problems, "\n".join(problems)


# --- The database password: one ephemeral value, write-only into the instance and the secret ----

DB_MODULE = dedent("""
    variable "name" {}
    variable "password_version" {
      default = 1
    }
    ephemeral "aws_secretsmanager_random_password" "master" {
      password_length     = 40
      exclude_punctuation = true
    }
    ephemeral "aws_secretsmanager_random_password" "other" {
      password_length = 40
    }
    resource "aws_db_instance" "this" {
      identifier          = "${var.name}-postgres"
      engine              = "postgres"
      db_name             = "saleor"
      username            = "saleor"
      password_wo         = ephemeral.aws_secretsmanager_random_password.master.random_password
      password_wo_version = var.password_version
    }
    resource "aws_secretsmanager_secret" "connection" {
      name = "${var.name}-saleor-db"
    }
    resource "aws_secretsmanager_secret_version" "connection" {
      secret_id = aws_secretsmanager_secret.connection.id
      secret_string_wo = jsonencode({
        host     = aws_db_instance.this.address
        port     = "5432"
        dbname   = "saleor"
        username = "saleor"
        password = ephemeral.aws_secretsmanager_random_password.master.random_password
      })
      secret_string_wo_version = var.password_version
    }
    """)


def db_tree(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    text = DB_MODULE
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return write(
        tmp_path,
        {
            "envs/dev/main.tf": 'module "rds" {\n  source = "../../modules/rds"\n  name   = "jung-dev"\n}\n',
            "modules/rds/main.tf": text,
        },
    )


def db_problems(tree: Path) -> list[str]:
    return [p.split(": ", 1)[1] for p in a.check_database_password(instantiate(tree / "envs/dev"), "dev")]


def test_one_write_only_password_in_instance_and_secret_passes(tmp_path: Path) -> None:
    assert db_problems(db_tree(tmp_path)) == []


def test_rds_managed_password_is_reported(tmp_path: Path) -> None:
    tree = db_tree(
        tmp_path,
        (
            (
                "  password_wo         = ephemeral.aws_secretsmanager_random_password.master.random_password\n"
                "  password_wo_version = var.password_version\n"
            ),
            "  manage_master_user_password = true\n",
        ),
    )
    assert db_problems(tree) == [
        (
            "manage_master_user_password is on: RDS would keep the password in a secret named rds!db-<uuid> "
            "(unknown to the GitOps tree) and rotate it under running pods"
        ),
        "password_wo = None does not come from an ephemeral resource",
        "no password_wo_version: the password could never be rotated",
        (
            "secret_string_wo_version = '${var.password_version}' but password_wo_version = None: "
            "a rotation must write the instance and jung-dev-saleor-db together"
        ),
    ]


def test_password_that_would_be_kept_in_state_is_reported(tmp_path: Path) -> None:
    tree = db_tree(tmp_path, ("  password_wo         = ", "  password            = "))
    problems = db_problems(tree)
    assert problems[:2] == [
        "sets `password`, which Terraform keeps in state; use password_wo",
        "password_wo = None does not come from an ephemeral resource",
    ]
    tree = db_tree(
        tmp_path / "plain-secret",
        ("  secret_string_wo = jsonencode", "  secret_string = jsonencode"),
        ("  secret_string_wo_version = var.password_version\n", ""),
    )
    assert db_problems(tree) == [
        ("jung-dev-saleor-db is written with secret_string, which Terraform keeps in state; use secret_string_wo")
    ]


def test_secret_holding_another_password_user_or_version_is_reported(tmp_path: Path) -> None:
    tree = db_tree(
        tmp_path,
        (
            "    password = ephemeral.aws_secretsmanager_random_password.master",
            "    password = ephemeral.aws_secretsmanager_random_password.other",
        ),
        ('    username = "saleor"\n    password', '    username = "postgres"\n    password'),
        ("  secret_string_wo_version = var.password_version", "  secret_string_wo_version = 2"),
    )
    assert db_problems(tree) == [
        (
            "jung-dev-saleor-db password = <unknown rds: ephemeral.aws_secretsmanager_random_password.other.random_password>, "
            "not the value the instance gets (<unknown rds: ephemeral.aws_secretsmanager_random_password.master.random_password>): "
            "the app would log in with another password"
        ),
        "jung-dev-saleor-db username = 'postgres', the instance's username is 'saleor'",
        (
            "secret_string_wo_version = 2 but password_wo_version = '${var.password_version}': "
            "a rotation must write the instance and jung-dev-saleor-db together"
        ),
    ]


def test_missing_connection_secret_is_reported(tmp_path: Path) -> None:
    tree = db_tree(tmp_path, ('  name = "${var.name}-saleor-db"', '  name = "${var.name}-database"'))
    assert db_problems(tree) == ["Terraform writes no jung-dev-saleor-db (the app's ExternalSecret reads it)"]


@pytest.mark.parametrize("env", c.TARGET_ENVS)
def test_real_database_password_is_write_only_and_shared(infra_tree: Path, env: str) -> None:
    problems = a.check_database_password(instantiate(c.env_root(infra_tree, env)), env)
    assert not problems, "\n".join(problems)


# --- Every key an ExternalSecret template reads is written by Terraform --------------------------


def external_secret(name: str, remotes: list[str], template: dict[str, str]) -> dict:
    return {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": name},
        "spec": {
            "target": {"template": {"engineVersion": "v2", "data": template}},
            "dataFrom": [{"extract": {"key": r}} for r in remotes],
        },
    }


DB_URL = "postgres://{{ .username | urlquery }}:{{ .password | urlquery }}@{{ .host }}:{{ .port }}/{{ .dbname }}"


def test_template_keys_and_remotes_are_read_from_rendered_external_secrets() -> None:
    docs = [
        external_secret("saleor-db", ["jung-dev-saleor-db"], {"DATABASE_URL": DB_URL}),
        {
            "kind": "ExternalSecret",
            "metadata": {"name": "single"},
            "spec": {"data": [{"secretKey": "T", "remoteRef": {"key": "jung-dev-x", "property": "token"}}]},
        },
        {"kind": "ConfigMap", "metadata": {"name": "not-a-secret"}, "data": {"X": "{{ .nope }}"}},
    ]
    assert a.external_secret_reads(docs) == [
        a.SecretRead("saleor-db", ("jung-dev-saleor-db",), frozenset({"username", "password", "host", "port", "dbname"})),
        a.SecretRead("single", ("jung-dev-x",), frozenset({"token"})),
    ]


def test_keys_the_secret_lacks_are_reported(tmp_path: Path) -> None:
    tree = db_tree(tmp_path, ("    password = ephemeral.aws_secretsmanager_random_password.master.random_password\n", ""))
    root = instantiate(tree / "envs/dev")
    assert a.check_external_secret_keys(
        root, [external_secret("saleor-db", ["jung-dev-saleor-db"], {"DATABASE_URL": DB_URL})], "dev"
    ) == [
        (
            "ExternalSecret saleor-db (dev) reads ['password'] from ['jung-dev-saleor-db'], which Terraform does not write "
            "(keys there: ['dbname', 'host', 'port', 'username'])"
        )
    ]
    (problem,) = a.check_external_secret_keys(
        root, [external_secret("saleor-cache", ["jung-dev-saleor-cache"], {"U": "{{ .auth_token }}"})], "dev"
    )
    assert problem.startswith("ExternalSecret saleor-cache (dev): extracts 'jung-dev-saleor-cache', which no secret of ")


def test_real_secret_without_the_password_key_is_caught(tmp_path: Path, infra_tree: Path) -> None:
    """The layout of the real modules/rds is read too: dropping the key breaks both database ExternalSecrets."""
    tree = real_copy(tmp_path, infra_tree)
    edit(tree / "modules/rds/main.tf", "    password = ephemeral.aws_secretsmanager_random_password.master.random_password\n", "")
    problems = a.check_external_secret_keys(instantiate(tree / "envs/dev"), overlay("dev"), "dev")
    assert [p.split(" reads ")[0] for p in problems] == [
        "ExternalSecret saleor-db (dev)",
        "ExternalSecret saleor-migrate-env (dev)",
    ]
    assert all("reads ['password'] from" in p for p in problems)


@pytest.mark.parametrize("env", c.TARGET_ENVS)
def test_real_external_secrets_find_every_key_they_read(infra_tree: Path, env: str) -> None:
    docs = overlay(env)
    assert {r.name for r in a.external_secret_reads(docs)} >= {"saleor-db", "saleor-cache", "saleor-app", "saleor-migrate-env"}
    problems = a.check_external_secret_keys(instantiate(c.env_root(infra_tree, env)), docs, env)
    assert not problems, "\n".join(problems)


def test_extract_rewrites_are_applied_to_the_written_keys(infra_tree: Path) -> None:
    """External Secrets renames extracted keys by ``dataFrom[].rewrite`` (Go regexp): the
    migration Job reads the cache entry as ``cache_*``; without the rewrite those keys exist
    nowhere and the check says so."""
    docs = copy.deepcopy(overlay("dev"))
    assert not a.check_external_secret_keys(instantiate(c.env_root(infra_tree, "dev")), docs, "dev")
    [migrate] = [d for d in docs if d["kind"] == "ExternalSecret" and d["metadata"]["name"] == "saleor-migrate-env"]
    for source in migrate["spec"]["dataFrom"]:
        source.pop("rewrite", None)
    problems = a.check_external_secret_keys(instantiate(c.env_root(infra_tree, "dev")), docs, "dev")
    assert len(problems) == 1 and problems[0].startswith(
        "ExternalSecret saleor-migrate-env (dev) reads ['cache_auth_token', 'cache_host', 'cache_port']"
    )
