"""The Terraform tree builds what the runbook says (§1 hosts, §2.2 security, §3 sizing, names, region).

Each check first meets a small tree with a planted deviation (written in the test, so the
deviation is visible next to the assertion) and must report it; then the real tree, per
environment, must give no problem. Values are traced from terraform.tfvars through module calls
to the resource arguments, so a right tfvars value wired to the wrong argument is caught too.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from textwrap import dedent

import pytest

from steps.wiring.config import KyeolConfig, load_config
from tests.infra import conformance as c
from tests.infra.evaluate import instantiate
from tests.infra.paths import ROOT

ARCHITECTURE = ROOT / "docs" / "architecture.md"


@pytest.fixture(scope="module")
def config() -> KyeolConfig:
    return load_config(ROOT / "kyeol.toml")


def write(tree: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = tree / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text).lstrip())
    return tree


def tfvars(values: dict) -> str:
    def hcl(v):
        return str(v).lower() if isinstance(v, bool) else f'"{v}"' if isinstance(v, str) else str(v)

    return "".join(f"{k} = {hcl(v)}\n" for k, v in values.items())


# --- kyeol.toml and tfvars ----------------------------------------------------------------------


def test_kyeol_toml_agrees_with_the_runbook(config: KyeolConfig) -> None:
    assert c.check_config_matches_runbook(config) == []


def test_kyeol_toml_deviation_is_reported(tmp_path: Path) -> None:
    text = (ROOT / "kyeol.toml").read_text()
    stage = text.index("[envs.stage]")
    text = text[:stage] + text[stage:].replace("rds_multi_az = true", "rds_multi_az = false", 1)
    (tmp_path / "kyeol.toml").write_text(text)
    problems = c.check_config_matches_runbook(load_config(tmp_path / "kyeol.toml"))
    assert len(problems) == 1 and "[envs.stage]" in problems[0] and "rds_multi_az=False" in problems[0]


def test_expected_tfvars_are_the_runbook_values(config: KyeolConfig) -> None:
    assert c.expected_tfvars(config, "stage") == {
        "name_prefix": "jung-",
        "environment": "stage",
        "region": "ap-northeast-1",
        "vpc_cidr": "10.20.0.0/16",
        "node_instance_type": "t3.medium",
        "node_min_size": 2,
        "node_max_size": 4,
        "rds_instance_class": "db.t3.medium",
        "rds_multi_az": True,
        "cache_node_type": "cache.t3.small",
        "cache_num_cache_clusters": 2,
        "service_host": "stage.mgz-g2-u3.shop",
        "api_host": "stage-api.mgz-g2-u3.shop",
        "domain": "mgz-g2-u3.shop",
    }
    assert "rds_instance_class" not in c.expected_tfvars(config, "mgmt")


def test_tfvars_deviations_are_reported(tmp_path: Path, config: KyeolConfig) -> None:
    good = c.expected_tfvars(config, "prod") | {"node_desired_size": 3}
    write(tmp_path, {"envs/prod/terraform.tfvars": tfvars(good)})
    assert c.check_tfvars(tmp_path, config, "prod") == []
    write(
        tmp_path,
        {
            "envs/prod/terraform.tfvars": tfvars(
                good | {"node_max_size": 4, "api_host": "prod-api.mgz-g2-u3.shop", "node_desired_size": 6}
            )
        },
    )
    problems = c.check_tfvars(tmp_path, config, "prod")
    assert [p.split(": ", 1)[1].split(" ")[0] for p in problems] == ["node_max_size", "api_host", "node_desired_size"]
    mgmt = c.expected_tfvars(config, "mgmt") | {"node_desired_size": 2, "rds_instance_class": "db.t3.small"}
    write(tmp_path, {"envs/mgmt/terraform.tfvars": tfvars(mgmt)})
    assert c.check_tfvars(tmp_path, config, "mgmt") == [
        f"{tmp_path}/envs/mgmt/terraform.tfvars: MGMT has no database, cache or public hosts, but sets ['rds_instance_class']"
    ]


# --- §3 sizing traced into the modules ------------------------------------------------------------

MODULES = {
    "modules/db/main.tf": """
        resource "aws_db_instance" "this" {
          identifier     = "${var.name}-postgres"
          engine         = "postgres"
          instance_class = var.instance_class
          multi_az       = var.multi_az
        }
        """,
    "modules/db/variables.tf": """
        variable "name" {}
        variable "instance_class" {}
        variable "multi_az" {
          default = false
        }
        """,
    "modules/cache/main.tf": """
        locals {
          replicated = var.num_cache_clusters > 1
        }
        resource "aws_elasticache_replication_group" "this" {
          replication_group_id       = "${var.name}-valkey"
          description                = "cache"
          engine                     = "valkey"
          node_type                  = var.node_type
          num_cache_clusters         = var.num_cache_clusters
          automatic_failover_enabled = local.replicated
          multi_az_enabled           = local.replicated
        }
        """,
    "modules/cache/variables.tf": """
        variable "name" {}
        variable "node_type" {}
        variable "num_cache_clusters" {}
        """,
    "modules/nodes/main.tf": """
        resource "aws_eks_node_group" "default" {
          node_group_name = "${var.name}-default"
          instance_types  = [var.instance_type]
          scaling_config {
            min_size     = var.min
            max_size     = var.max
            desired_size = var.min
          }
        }
        """,
    "modules/nodes/variables.tf": """
        variable "name" {}
        variable "instance_type" {}
        variable "min" {}
        variable "max" {}
        """,
}


def env_tree(tmp_path: Path, env: str, values: dict, *, extra_root: str = "") -> Path:
    """A miniature env root wired like the real ones: tfvars → root variables → module inputs."""
    return write(
        tmp_path,
        MODULES
        | {
            f"envs/{env}/terraform.tfvars": tfvars(values),
            f"envs/{env}/variables.tf": "".join(
                f'variable "{k}" {{}}\n'
                for k in (
                    "name_prefix",
                    "environment",
                    "node_instance_type",
                    "node_min_size",
                    "node_max_size",
                    "rds_instance_class",
                    "rds_multi_az",
                    "cache_node_type",
                    "cache_num_cache_clusters",
                )
            ),
            f"envs/{env}/main.tf": """
            locals {
              name = "${var.name_prefix}${var.environment}"
            }
            module "nodes" {
              source        = "../../modules/nodes"
              name          = local.name
              instance_type = var.node_instance_type
              min           = var.node_min_size
              max           = var.node_max_size
            }
            module "db" {
              source         = "../../modules/db"
              name           = local.name
              instance_class = var.rds_instance_class
              multi_az       = var.rds_multi_az
            }
            module "cache" {
              source             = "../../modules/cache"
              name               = local.name
              node_type          = var.cache_node_type
              num_cache_clusters = var.cache_num_cache_clusters
            }
            """
            + extra_root,
        },
    )


STAGE = {
    "name_prefix": "jung-",
    "environment": "stage",
    "node_instance_type": "t3.medium",
    "node_min_size": 2,
    "node_max_size": 4,
    "rds_instance_class": "db.t3.medium",
    "rds_multi_az": True,
    "cache_node_type": "cache.t3.small",
    "cache_num_cache_clusters": 2,
}


def sizing_problems(tree: Path, env: str) -> list[str]:
    root = instantiate(tree / "envs" / env)
    return c.check_node_groups(root, env) + c.check_database(root, env) + c.check_cache(root, env)


def test_sizing_traced_through_modules(tmp_path: Path) -> None:
    assert sizing_problems(env_tree(tmp_path, "stage", STAGE), "stage") == []


def test_sizing_deviations_are_reported_at_the_resource(tmp_path: Path) -> None:
    tree = env_tree(
        tmp_path, "stage", STAGE | {"rds_instance_class": "db.t3.small", "cache_num_cache_clusters": 1, "node_max_size": 3}
    )
    problems = sizing_problems(tree, "stage")
    assert problems == [
        (
            f"{tree}/envs/stage: node groups add up to 2-3 nodes (module.nodes.aws_eks_node_group.default 2-3); "
            "runbook §3 wants t3.medium x 2-4 in total for stage"
        ),
        f"{(tree / 'modules/db/main.tf').resolve()}:1 (module.db.aws_db_instance.this): instance_class = 'db.t3.small', runbook §3 wants 'db.t3.medium' for stage",
        f"{(tree / 'modules/cache/main.tf').resolve()}:4 (module.cache.aws_elasticache_replication_group.this): automatic_failover_enabled = False, runbook §3 wants True for stage",
        f"{(tree / 'modules/cache/main.tf').resolve()}:4 (module.cache.aws_elasticache_replication_group.this): multi_az_enabled = False, runbook §3 wants True for stage",
        f"{(tree / 'modules/cache/main.tf').resolve()}:4 (module.cache.aws_elasticache_replication_group.this): num_cache_clusters = 1: stage wants a primary and at least one replica (replication)",
    ]


PROD = STAGE | {"environment": "prod", "node_min_size": 3, "node_max_size": 5, "pg_min": 1, "pg_max": 2}
EGRESS_GROUP = """
    variable "pg_min" {}
    variable "pg_max" {}
    module "pg" {
      source        = "../../modules/nodes"
      count         = COUNT
      name          = "${local.name}-pg"
      instance_type = TYPE
      min           = var.pg_min
      max           = var.pg_max
    }
    """


def prod_with_egress_group(
    tmp_path: Path, values: dict, *, count: str = "1", instance_type: str = "var.node_instance_type", derived: bool = False
) -> Path:
    """The prod miniature with a second node group (the PG egress one); *derived* sizes the main group as total - egress."""
    tree = env_tree(
        tmp_path, "prod", values, extra_root=dedent(EGRESS_GROUP).replace("COUNT", count).replace("TYPE", instance_type)
    )
    if derived:
        main = tree / "envs/prod/main.tf"
        main.write_text(
            main.read_text()
            .replace("min           = var.node_min_size", "min           = var.node_min_size - var.pg_min")
            .replace("max           = var.node_max_size", "max           = var.node_max_size - var.pg_max")
        )
    return tree


def test_every_node_group_counts_towards_the_runbook_total(tmp_path: Path) -> None:
    tree = prod_with_egress_group(tmp_path, PROD)  # main group 3-5 plus an egress group 1-2: 4-7 nodes
    assert c.check_node_groups(instantiate(tree / "envs/prod"), "prod") == [
        (
            f"{tree}/envs/prod: node groups add up to 4-7 nodes (module.nodes.aws_eks_node_group.default 3-5, "
            "module.pg.aws_eks_node_group.default 1-2); runbook §3 wants t3.medium x 3-5 in total for prod"
        )
    ]


def test_main_group_sized_as_the_total_minus_the_egress_group_passes(tmp_path: Path) -> None:
    tree = prod_with_egress_group(tmp_path, PROD | {"pg_max": 1}, derived=True)  # 2-4 + 1-1
    assert c.check_node_groups(instantiate(tree / "envs/prod"), "prod") == []
    tree = prod_with_egress_group(tmp_path / "more", PROD | {"pg_max": 1, "node_max_size": 6}, derived=True)
    (problem,) = c.check_node_groups(instantiate(tree / "envs/prod"), "prod")
    assert "node groups add up to 3-6 nodes" in problem and "module.pg.aws_eks_node_group.default 1-1" in problem


def test_node_group_of_a_module_switched_off_does_not_count(tmp_path: Path) -> None:
    tree = prod_with_egress_group(tmp_path, PROD, count="0")
    assert c.check_node_groups(instantiate(tree / "envs/prod"), "prod") == []


def test_node_group_count_or_type_the_runbook_cannot_see_is_reported(tmp_path: Path) -> None:
    tree = prod_with_egress_group(tmp_path, PROD, count="length(data.aws_subnets.pg.ids)")
    (problem,) = c.check_node_groups(instantiate(tree / "envs/prod"), "prod")
    assert problem.endswith(
        "(module.pg.aws_eks_node_group.default): how many of this node group exist is only known "
        "after apply (prod: data.aws_subnets.pg.ids); runbook §3 counts every node"
    )
    tree = prod_with_egress_group(tmp_path / "large", PROD | {"pg_max": 1}, instance_type='"t3.large"', derived=True)
    (problem,) = c.check_node_groups(instantiate(tree / "envs/prod"), "prod")
    assert problem.endswith(
        "(module.pg.aws_eks_node_group.default): instance_types ['t3.large'] != runbook §3 ['t3.medium'] for prod"
    )


def test_right_value_on_the_wrong_argument_is_caught(tmp_path: Path) -> None:
    tree = env_tree(tmp_path, "stage", STAGE)
    main = tree / "modules/db/main.tf"
    main.write_text(main.read_text().replace("multi_az       = var.multi_az\n", ""))  # forgets to pass it on
    assert sizing_problems(tree, "stage") == [
        f"{main.resolve()}:1 (module.db.aws_db_instance.this): multi_az = False, runbook §3 wants True for stage"
    ]


def test_value_that_cannot_be_traced_is_reported(tmp_path: Path) -> None:
    tree = env_tree(tmp_path, "stage", STAGE)
    main = tree / "modules/db/main.tf"
    main.write_text(main.read_text().replace("var.instance_class", "data.aws_rds_orderable_db_instance.x.instance_class"))
    (problem,) = sizing_problems(tree, "stage")
    assert "could not trace instance_class to a value (db: data.aws_rds_orderable_db_instance.x.instance_class)" in problem


def test_mgmt_with_a_database_is_reported(tmp_path: Path) -> None:
    tree = env_tree(tmp_path, "mgmt", STAGE | {"environment": "mgmt", "node_max_size": 2})
    problems = c.check_mgmt_has_no_data_stores(instantiate(tree / "envs/mgmt"))
    assert [p.split(": ", 1)[1] for p in problems] == ["MGMT runs Argo CD only; runbook §3 gives it no RDS/Valkey"] * 2


# --- names and region -----------------------------------------------------------------------------


def test_name_prefix(tmp_path: Path) -> None:
    tree = write(
        tmp_path,
        {
            "envs/dev/main.tf": """
        locals {
          repos = { for image in ["api", "web"] : image => "${var.name_prefix}${image}" }
        }
        variable "name_prefix" {
          default = "jung-"
        }
        variable "images" {}
        resource "aws_ecr_repository" "ok" {
          for_each = local.repos
          name     = each.value
        }
        resource "aws_kms_alias" "ok" {
          name = "alias/${var.name_prefix}dev"
        }
        resource "aws_cloudwatch_log_group" "waf_ok" {
          name = "aws-waf-logs-${var.name_prefix}edge"
        }
        resource "aws_s3_bucket_versioning" "reference_ok" {
          bucket = aws_s3_bucket.logs.id
        }
        resource "aws_route53_record" "dns_name_ok" {
          name = "dev.mgz-g2-u3.shop"
        }
        resource "aws_s3_bucket" "logs" {
          bucket = "kyeol-logs"
        }
        resource "aws_iam_role" "unknown" {
          for_each = toset(var.images)
          name     = each.key
        }
        """
        },
    )
    problems = c.check_name_prefix(instantiate(tree / "envs/dev"))
    assert [p.split(": ", 1)[1] for p in problems] == [
        "bucket = 'kyeol-logs' does not start with `jung-`",
        "name could not be traced to a `jung-` prefix (var.images (not set in root))",
    ]


def test_region_deviation_is_reported(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "envs/dev/terraform.tfvars": 'region = "us-west-2"\n',
            "envs/dev/main.tf": 'variable "region" {}\nprovider "aws" {\n  region = "ap-northeast-1"\n}\n',
        },
    )
    assert c.check_region(tmp_path, "dev") == [f"{tmp_path}/envs/dev: var.region = 'us-west-2', runbook wants ap-northeast-1"]


# --- §2.2: WAF, PG NAT, OIDC; §1 CloudFront aliases -----------------------------------------------

WAF_MODULE = {
    "modules/waf/main.tf": """
        resource "aws_wafv2_web_acl" "this" {
          provider = aws.edge
          name     = "jung-cloudfront-waf"
          scope    = var.scope
        }
        """,
    "modules/waf/variables.tf": 'variable "scope" {\n  default = "CLOUDFRONT"\n}\n',
}


def test_waf_in_global_us_east_1_through_a_passed_provider(tmp_path: Path) -> None:
    write(
        tmp_path,
        WAF_MODULE
        | {
            "global/us-east-1/main.tf": """
        provider "aws" {
          region = "ap-northeast-1"
        }
        provider "aws" {
          alias  = "virginia"
          region = "us-east-1"
        }
        module "waf" {
          source    = "../../modules/waf"
          providers = { aws.edge = aws.virginia }
        }
        """
        },
    )
    assert c.check_waf(tmp_path) == []


def test_waf_deviations_are_reported(tmp_path: Path) -> None:
    write(
        tmp_path,
        WAF_MODULE
        | {
            "global/us-east-1/main.tf": """
            provider "aws" {
              alias  = "virginia"
              region = "ap-northeast-1"
            }
            module "waf" {
              source    = "../../modules/waf"
              scope     = "REGIONAL"
              providers = { aws.edge = aws.virginia }
            }
            """,
            "envs/dev/main.tf": """
            resource "aws_wafv2_web_acl" "stray" {
              name   = "jung-dev-waf"
              scope  = "CLOUDFRONT"
              region = "us-east-1"
            }
            """,
        },
    )
    problems = [p.split(": ", 1)[1] for p in c.check_waf(tmp_path)]
    assert problems == [
        "the CloudFront WAF belongs in global/us-east-1, not envs/dev",
        "scope = 'REGIONAL', a WAF in front of CloudFront needs CLOUDFRONT",
        "created in region 'ap-northeast-1'; CloudFront WAFs must be in us-east-1 (runbook §2.2)",
    ]


def test_pg_nat_only_in_prod(tmp_path: Path) -> None:
    pg = {"modules/pg-nat/main.tf": 'resource "aws_eip" "pg" {\n  domain = "vpc"\n}\n'}
    call = 'module "pg_nat" {\n  source = "../../modules/pg-nat"\n  count  = var.on ? 1 : 0\n}\nvariable "on" {}\n'
    write(
        tmp_path,
        pg
        | {f"envs/{e}/main.tf": call for e in ("dev", "prod", "stage")}
        | {
            "envs/dev/terraform.tfvars": "on = true\n",
            "envs/prod/terraform.tfvars": "on = false\n",
            "envs/stage/terraform.tfvars": "on = false\n",
        },
    )
    problems = c.check_pg_nat(tmp_path)
    assert [p.split(": ", 1)[1] for p in problems] == [
        "modules/pg-nat is PROD only (runbook §2.2), found in dev",
        "no modules/pg-nat instance (runbook §2.2: dedicated PG NAT in PROD)",
    ]


def test_oidc_providers(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "envs/mgmt/main.tf": """
        resource "aws_eks_cluster" "this" {
          name = "jung-mgmt-eks"
        }
        resource "aws_iam_openid_connect_provider" "irsa" {
          url            = aws_eks_cluster.this.identity[0].oidc[0].issuer
          client_id_list = ["sts.amazonaws.com"]
        }
        resource "aws_iam_openid_connect_provider" "github" {
          url            = "https://token.actions.githubusercontent.com"
          client_id_list = ["sigstore"]
        }
        """
        },
    )
    root = instantiate(tmp_path / "envs/mgmt")
    assert [p.split(": ", 1)[1] for p in c.check_oidc(root, "mgmt")] == [
        "client_id_list = ['sigstore'] must contain sts.amazonaws.com"
    ]
    write(
        tmp_path,
        {"envs/dev/main.tf": 'resource "aws_iam_openid_connect_provider" "x" {\n  url = var.issuer\n}\nvariable "issuer" {}\n'},
    )
    (problem,) = c.check_oidc(instantiate(tmp_path / "envs/dev"), "dev")
    assert "no IAM OIDC provider for the EKS issuer (IRSA, runbook §2.2) in dev" in problem


def test_cloudfront_aliases_must_be_the_env_hosts(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "envs/prod/main.tf": """
        resource "aws_cloudfront_distribution" "service" {
          aliases = ["www.mgz-g2-u3.shop"]
        }
        resource "aws_cloudfront_distribution" "api" {
          aliases = ["api.mgz-g2-u3.shop"]
        }
        """
        },
    )
    (problem,) = c.check_cloudfront_aliases(instantiate(tmp_path / "envs/prod"), "prod")
    assert "CloudFront aliases ['api.mgz-g2-u3.shop', 'www.mgz-g2-u3.shop'] != runbook §1 hosts" in problem


# --- docs/architecture.md §4 ------------------------------------------------------------------------


def test_architecture_outputs_table_is_read() -> None:
    table = c.architecture_outputs(ARCHITECTURE)
    assert set(table) == {
        "envs/bootstrap",
        "envs/account",
        "global/us-east-1",
        "envs/mgmt",
        "envs/dev",
        "envs/stage",
        "envs/prod",
    }
    assert table["envs/bootstrap"] == ["state_bucket", "lock_table", "kms_key_arn", "region"]
    assert "ecr_repository_urls" in table["envs/mgmt"] and "image" not in table["envs/mgmt"]
    assert table["envs/prod"][-1] == "pg_nat_eip" and "null" not in table["envs/prod"]


def test_missing_architecture_output_is_reported(tmp_path: Path, infra_tree: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(infra_tree, tree, ignore=shutil.ignore_patterns(".terraform*"))
    outputs = tree / "envs/dev/outputs.tf"
    text = outputs.read_text()
    start = text.index('output "rds_endpoint"')
    outputs.write_text(text[:start] + text[text.index("\n}\n", start) + 3 :])
    assert c.check_outputs(tree, ARCHITECTURE) == [
        f"{tree}/envs/dev: outputs ['rds_endpoint'] of docs/architecture.md §4 are missing"
    ]


# --- the real tree --------------------------------------------------------------------------------


@pytest.mark.parametrize("env", c.CLUSTER_ENVS)
def test_real_env_matches_the_runbook(infra_tree: Path, config: KyeolConfig, env: str) -> None:
    root = instantiate(c.env_root(infra_tree, env))
    problems = c.check_tfvars(infra_tree, config, env) + c.check_region(infra_tree, env)
    problems += c.check_node_groups(root, env) + c.check_oidc(root, env) + c.check_name_prefix(root)
    if env == "mgmt":
        problems += c.check_mgmt_has_no_data_stores(root)
    else:
        problems += c.check_database(root, env) + c.check_cache(root, env) + c.check_cloudfront_aliases(root, env)
    assert not problems, "\n".join(problems)


def test_real_tree_edge_pg_nat_outputs_and_names(infra_tree: Path) -> None:
    problems = c.check_waf(infra_tree) + c.check_pg_nat(infra_tree) + c.check_outputs(infra_tree, ARCHITECTURE)
    for root in (c.env_root(infra_tree, "bootstrap"), infra_tree / "global" / c.EDGE_REGION):
        problems += c.check_name_prefix(instantiate(root))
    assert not problems, "\n".join(problems)
