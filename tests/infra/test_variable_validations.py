"""The tree's variable validations, evaluated by real terraform on built-in-only copies.

No provider can be downloaded here, so `terraform plan` cannot run on the real roots. Variable
validations need no provider: each test copies real `variable` blocks from the tree (verbatim)
into an empty root, and `terraform plan` evaluates them as it would before a real deploy.
Two things are proved: prod's node totals leave the main node group a sane share (runbook §3
counts the PG egress node), and the name validations accept any kyeol.toml prefix of the
right shape instead of hard-coding `jung-`.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.infra import conformance as c
from tests.infra.evaluate import instantiate
from tests.infra.paths import INFRA


def variable_blocks(path: Path, names: tuple[str, ...]) -> str:
    """The text of the named `variable` blocks of a file (terraform fmt puts each block's `}` alone at column 0)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out = []
    for name in names:
        start = lines.index(f'variable "{name}" {{')
        end = lines.index("}", start)
        out.append("\n".join(lines[start : end + 1]))
    return "\n\n".join(out) + "\n"


def plan(root: Path, values: dict[str, object]) -> subprocess.CompletedProcess[str]:
    argv = ["terraform", f"-chdir={root}", "plan", "-input=false", "-no-color", "-lock=false", "-refresh=false"]
    argv += [f"-var={key}={value}" for key, value in values.items()]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def rejected(result: subprocess.CompletedProcess[str]) -> str:
    """Terraform's validation error, whitespace-normalised (it wraps long messages); '' if the plan passed."""
    if result.returncode == 0:
        return ""
    text = " ".join((result.stdout + result.stderr).split())
    assert "Invalid value for variable" in text, text  # failed for the validation, not for anything else
    return text


def validation_line(root: Path, name: str) -> str:
    """`<file>:<line>` of a variable's `validation` block: terraform names it in the error,
    wherever the value came from."""
    for path in sorted(root.glob("*.tf")):
        lines = path.read_text(encoding="utf-8").splitlines()
        if f'variable "{name}" {{' in lines:
            start = lines.index(f'variable "{name}" {{')
            return f"{path.name}:{lines.index('  validation {', start) + 1}"
    raise AssertionError(f"no variable {name} in {root}")


def root_copy(tmp_path: Path, root: str) -> Path:
    """A root's variable files (variables.tf, and env.tf where the root has one) and
    terraform.tfvars: the real inputs, without resources or providers."""
    copy = tmp_path / root.replace("/", "-")
    copy.mkdir()
    for name in ("variables.tf", "env.tf", "terraform.tfvars"):
        if (INFRA / root / name).exists():
            shutil.copy(INFRA / root / name, copy / name)
    return copy


def module_copy(tmp_path: Path, module: str, names: tuple[str, ...]) -> Path:
    copy = tmp_path / module
    copy.mkdir()
    (copy / "variables.tf").write_text(variable_blocks(INFRA / "modules" / module / "variables.tf", names))
    return copy


# What a site sets before its first real deploy (the tfvars ship a documentation range).
OPERATORS = {"operator_cidrs": '["54.250.10.0/28"]'}
CLUSTER_ROOTS = ("envs/mgmt", "envs/dev", "envs/stage", "envs/prod")


def site_values(root: str) -> dict[str, str]:
    return OPERATORS if root in CLUSTER_ROOTS else {}


# --- prod: runbook §3's 3-5 nodes include the PG egress group -----------------------------------


def test_prod_main_group_gets_the_total_minus_the_egress_group() -> None:
    environment = instantiate(c.env_root(INFRA, "prod")).children["environment"]  # modules/saleor-environment
    assert environment.inputs["create_pg_nat"] is True
    eks, pg = environment.children["eks"].inputs, environment.children["pg_nat"].inputs
    sizes = ("node_min_size", "node_max_size", "node_desired_size")
    assert [eks[k] for k in sizes] == [2, 4, 2]
    assert [pg[k] for k in sizes] == [1, 1, 1]


@pytest.mark.parametrize(
    ("values", "variable", "message"),
    [
        ({}, None, None),
        ({"pg_node_max_size": 2}, None, None),  # main 2-3 plus egress 1-2 is still 3-5 in total
        ({"node_min_size": 2, "node_desired_size": 2}, "pg_node_min_size", "leave the main node group at least 2"),
        (
            {"pg_node_min_size": 2, "pg_node_max_size": 2, "pg_node_desired_size": 2},
            "pg_node_min_size",
            "leave the main node group at least 2",
        ),
        ({"pg_node_max_size": 4}, "pg_node_max_size", "(the main group's maximum) at least"),
        ({"pg_node_max_size": 2, "pg_node_desired_size": 2}, "pg_node_desired_size", "(the main group's desired size) between"),
        ({"node_desired_size": 5, "pg_node_max_size": 2}, "pg_node_desired_size", "(the main group's desired size) between"),
    ],
)
def test_prod_node_split_validations(tmp_path: Path, values: dict, variable: str | None, message: str | None) -> None:
    copy = root_copy(tmp_path, "envs/prod")
    error = rejected(plan(copy, OPERATORS | values))
    if variable is None:
        assert error == ""
    else:
        assert f"validation rule at {validation_line(copy, variable)}," in error, error
        assert message in error, error


# --- the name prefix is kyeol.toml's, of the right shape ------------------------------------------

ROOTS = ("envs/bootstrap", "envs/mgmt", "envs/dev", "envs/stage", "envs/prod", "global/us-east-1")


@pytest.mark.parametrize("root", ROOTS)
def test_roots_take_any_prefix_of_the_right_shape(tmp_path: Path, root: str) -> None:
    copy = root_copy(tmp_path, root)
    site = site_values(root)
    assert rejected(plan(copy, site)) == "", "the real tfvars must pass once the site's operators are set"
    assert rejected(plan(copy, site | {"name_prefix": "acme-"})) == ""
    for bad in ("Jung-", "jung", "j-", "jung_-", "-jung-"):
        assert "name_prefix must be a lowercase letter" in rejected(plan(copy, site | {"name_prefix": bad})), bad


@pytest.mark.parametrize("root", CLUSTER_ROOTS)
def test_the_shipped_operator_placeholder_is_refused_until_a_site_sets_its_own(tmp_path: Path, root: str) -> None:
    """A cluster whose public endpoint admits only TEST-NET locks kyeol out at phase 4: refuse it at plan."""
    copy = root_copy(tmp_path, root)
    shipped = rejected(plan(copy, {}))
    assert "operator_cidrs holds a documentation range" in shipped and "terraform.tfvars" in shipped
    for doc in ('["192.0.2.0/24"]', '["198.51.100.7/32"]', '["54.250.10.0/28", "203.0.113.128/25"]'):
        assert "documentation range" in rejected(plan(copy, {"operator_cidrs": doc})), doc
    for real in ('["54.250.10.0/28"]', '["198.51.101.0/24", "192.0.3.9/32"]'):
        assert rejected(plan(copy, {"operator_cidrs": real})) == "", real
    assert "0.0.0.0/0 is not allowed" in rejected(plan(copy, {"operator_cidrs": '["0.0.0.0/0"]'}))


def test_bootstrap_state_store_names_follow_the_prefix(tmp_path: Path) -> None:
    copy = root_copy(tmp_path, "envs/bootstrap")
    acme = {"name_prefix": "acme-", "state_bucket": "acme-kyeol-tfstate-123456789012", "lock_table": "acme-kyeol-tflock"}
    assert rejected(plan(copy, acme)) == ""
    assert "state_bucket must be" in rejected(plan(copy, acme | {"state_bucket": "jung-kyeol-tfstate-123456789012"}))
    assert "state_bucket must be" in rejected(plan(copy, acme | {"state_bucket": "acme-kyeol-tfstate-1234"}))
    assert "lock_table must be" in rejected(plan(copy, acme | {"lock_table": "jung-kyeol-tflock"}))


ENV_NAME = "a name prefix (lowercase, ending in `-`, e.g. `jung-`) then dev, stage or prod"
MODULE_CASES = [
    # (module, variable blocks, good inputs, bad inputs, error text)
    *[
        (
            m,
            ("name",),
            [{"name": "acme-dev"}, {"name": "jung-prod"}, {"name": "ab1-stage"}],
            [{"name": "acme-qa"}, {"name": "Acme-dev"}, {"name": "acmedev"}, {"name": "acme-dev-eks"}],
            ENV_NAME,
        )
        for m in ("edge", "valkey", "app-secrets", "rds", "saleor-media")
    ],
    (
        "pg-nat",
        ("name",),
        [{"name": "acme-prod"}, {"name": "jung-prod"}],
        [{"name": "acme-dev"}, {"name": "jung-stage"}, {"name": "prod"}],
        "the dedicated PG NAT exists in PROD only",
    ),
    (
        "irsa",
        ("name_prefix",),
        [{"name_prefix": "acme-"}],
        [{"name_prefix": "acme"}, {"name_prefix": "ACME-"}],
        "name_prefix must be a lowercase letter",
    ),
    (
        "kms",
        ("name",),
        [{"name": "acme-dev"}, {"name": "acme-kyeol-tfstate"}],
        [{"name": "acme"}, {"name": "Acme-dev"}],
        "The key name must start with the name prefix",
    ),
    (
        "vpc",
        ("name",),
        [{"name": "acme-stage"}],
        [{"name": "stage"}, {"name": "acme_stage"}],
        "The name must start with the name prefix",
    ),
    (
        "eks",
        ("name",),
        [{"name": "acme-dev-eks"}],
        [{"name": "acme-dev"}, {"name": "eks"}],
        "The cluster name must look like `<prefix><env>-eks`",
    ),
    (
        "edge",
        ("web_acl_name",),
        [{"web_acl_name": "acme-cloudfront-waf"}],
        [{"web_acl_name": "waf"}, {"web_acl_name": "JUNG-cloudfront-waf"}],
        "web_acl_name must start with the name prefix",
    ),
    (
        "ecr",
        ("name_prefix", "repository_names"),
        [{"name_prefix": "acme-", "repository_names": '["acme-saleor-api","acme-saleor-storefront"]'}],
        [
            {"name_prefix": "acme-", "repository_names": '["acme-saleor-api","jung-saleor-storefront"]'},
            {"name_prefix": "acme-", "repository_names": "[]"},
        ],
        "Repository names must start with name_prefix",
    ),
    (
        "github-oidc",
        ("name_prefix", "role_name"),
        [{"name_prefix": "acme-", "role_name": "acme-mgmt-github-ecr-push"}],
        [{"name_prefix": "acme-", "role_name": "jung-mgmt-github-ecr-push"}],
        "role_name must start with name_prefix",
    ),
    # Saleor media: one path segment as the prefix (AWS_LOCATION = the URL folder), real ARNs and endpoints.
    (
        "access-logs",
        ("bucket",),
        [{"bucket": "acme-kyeol-tfstate-logs-123456789012"}],
        [{"bucket": "Acme_logs"}, {"bucket": "-acme-logs"}, {"bucket": "ab"}],
        "bucket must be a valid S3 bucket name",
    ),
    (
        "access-logs",
        ("source_bucket_arns",),
        [{"source_bucket_arns": '["arn:aws:s3:::acme-dev-saleor-media-123456789012"]'}],
        [{"source_bucket_arns": "[]"}, {"source_bucket_arns": '["arn:aws:s3:::acme-media/*"]'}],
        "source_bucket_arns must be S3 bucket ARNs",
    ),
    (
        "saleor-media",
        ("key_prefix",),
        [{"key_prefix": "media"}],
        [{"key_prefix": "media/"}, {"key_prefix": "/media"}, {"key_prefix": "a/b"}, {"key_prefix": ""}],
        "key_prefix must be one path segment",
    ),
    (
        "saleor-media",
        ("cloudfront_distribution_arn",),
        [{"cloudfront_distribution_arn": "arn:aws:cloudfront::123456789012:distribution/E2QWRUHAPOMQZL"}],
        [
            {"cloudfront_distribution_arn": "arn:aws:cloudfront::123456789012:distribution/*"},
            {"cloudfront_distribution_arn": "E2QWRUHAPOMQZL"},
        ],
        "cloudfront_distribution_arn must be a CloudFront distribution ARN",
    ),
    (
        "edge",
        ("media_bucket_regional_domain_name",),
        [{"media_bucket_regional_domain_name": "acme-dev-saleor-media-123456789012.s3.ap-northeast-1.amazonaws.com"}],
        [
            {"media_bucket_regional_domain_name": "acme-dev-saleor-media-123456789012"},
            {"media_bucket_regional_domain_name": "acme-dev-saleor-media-123456789012.s3-website-ap-northeast-1.amazonaws.com"},
        ],
        "media_bucket_regional_domain_name must be a bucket's regional S3 endpoint",
    ),
    (
        "irsa",
        ("saleor_media_bucket_arn",),
        [{"saleor_media_bucket_arn": "arn:aws:s3:::acme-dev-saleor-media-123456789012"}],
        [
            {"saleor_media_bucket_arn": "arn:aws:s3:::acme-dev-saleor-media-123456789012/media/*"},
            {"saleor_media_bucket_arn": "arn:aws:s3:::*"},
        ],
        "saleor_media_bucket_arn must be an S3 bucket ARN",
    ),
    # Cluster Autoscaler: the tag conditions name one env cluster.
    (
        "irsa",
        ("cluster_autoscaler_cluster_name",),
        [{"cluster_autoscaler_cluster_name": "acme-dev-eks"}],
        [{"cluster_autoscaler_cluster_name": "*"}, {"cluster_autoscaler_cluster_name": "acme-mgmt-eks"}],
        "cluster_autoscaler_cluster_name must be `<prefix><env>-eks`",
    ),
    # Saleor private storage: a bucket ARN (no key), a KMS key ARN (not an alias).
    (
        "irsa",
        ("saleor_private_bucket_arn",),
        [{"saleor_private_bucket_arn": "arn:aws:s3:::acme-dev-saleor-private-123456789012"}],
        [
            {"saleor_private_bucket_arn": "arn:aws:s3:::acme-dev-saleor-private-123456789012/media/*"},
            {"saleor_private_bucket_arn": "arn:aws:s3:::*"},
        ],
        "saleor_private_bucket_arn must be an S3 bucket ARN",
    ),
    (
        "saleor-private-media",
        ("kms_key_arn",),
        [{"kms_key_arn": "arn:aws:kms:ap-northeast-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}],
        [{"kms_key_arn": "alias/acme-dev"}, {"kms_key_arn": "arn:aws:kms:ap-northeast-1:123456789012:alias/acme-dev"}],
        "kms_key_arn must be a KMS key ARN",
    ),
    (
        "saleor-private-media",
        ("name",),
        [{"name": "acme-dev"}],
        [{"name": "acme-qa"}, {"name": "Acme-dev"}],
        "name must be `<prefix><env>`",
    ),
]


@pytest.mark.parametrize(
    ("module", "names", "good", "bad", "message"), MODULE_CASES, ids=[f"{case[0]}.{case[1][-1]}" for case in MODULE_CASES]
)
def test_module_names_take_any_prefix_of_the_right_shape(
    tmp_path: Path, module: str, names: tuple[str, ...], good: list[dict], bad: list[dict], message: str
) -> None:
    copy = module_copy(tmp_path, module, names)
    for values in good:
        assert rejected(plan(copy, values)) == "", values
    for values in bad:
        assert message in rejected(plan(copy, values)), values


def test_no_validation_hard_codes_the_runbook_prefix() -> None:
    """The value `jung-` lives in kyeol.toml and the tfvars (checked by the conformance tests), not in conditions."""
    offenders = [
        f"{path.relative_to(INFRA)}:{number}"
        for path in sorted(INFRA.rglob("*.tf"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if line.strip().startswith("condition") and "jung" in line
    ]
    assert offenders == []
