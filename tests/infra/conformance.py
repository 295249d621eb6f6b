"""Does the Terraform tree build what the runbook says? Checks over tfvars and evaluated module code.

Each check takes the tree (and the kyeol configuration where it matters) and returns a list of
problem strings, each naming the file or module instance and what differs from the runbook
(``shared/seed/runbook-en.md``): §1 hostnames, §2.2 OIDC / WAF in us-east-1 / PG NAT only in
prod, §3 sizing, the ``jung-`` prefix and region, and the outputs of ``docs/architecture.md`` §4.
Values are traced through tfvars, variables, locals and module calls by tests.infra.evaluate.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from steps.wiring.config import KyeolConfig
from tests.infra.evaluate import Instance, Unknown, instantiate
from tests.infra.hcl import Block, load_tfvars
from tests.infra.interfaces import outputs

# Runbook facts, transcribed from the runbook text (the tests also compare kyeol.toml with them).
PREFIX = "jung-"
DOMAIN = "mgz-g2-u3.shop"
REGION = "ap-northeast-1"
EDGE_REGION = "us-east-1"
HOSTS = {  # runbook §1
    "dev": ("dev.mgz-g2-u3.shop", "dev-api.mgz-g2-u3.shop"),
    "stage": ("stage.mgz-g2-u3.shop", "stage-api.mgz-g2-u3.shop"),
    "prod": ("mgz-g2-u3.shop", "api.mgz-g2-u3.shop"),
}


@dataclass(frozen=True)
class Sizing:
    """One column of runbook §3."""

    node_type: str
    nodes_min: int
    nodes_max: int
    rds_class: str | None = None
    rds_multi_az: bool = False
    cache_node_type: str | None = None
    cache_replicated: bool = False


SIZING = {  # runbook §3
    "dev": Sizing("t3.medium", 2, 2, "db.t3.small", False, "cache.t3.micro", False),
    "stage": Sizing("t3.medium", 2, 4, "db.t3.medium", True, "cache.t3.small", True),
    "prod": Sizing("t3.medium", 3, 5, "db.t3.medium", True, "cache.t3.small", True),
    "mgmt": Sizing("t3.medium", 2, 2),
}
CLUSTER_ENVS = ("mgmt", "dev", "stage", "prod")
TARGET_ENVS = ("dev", "stage", "prod")
DATABASE_TYPES = (
    "aws_db_instance",
    "aws_rds_cluster",
    "aws_elasticache_replication_group",
    "aws_elasticache_cluster",
    "aws_elasticache_serverless_cache",
)
NAME_ATTRS = ("name", "identifier", "bucket", "name_prefix")
# `name` here is a DNS name, or scoped inside a parent resource (an inline policy of a role), not an AWS resource name.
NAME_EXEMPT = {"aws_route53_zone", "aws_route53_record", "aws_iam_role_policy", "aws_iam_user_policy", "aws_iam_group_policy"}
GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"


def env_root(tree: Path, env: str) -> Path:
    return tree / "envs" / env


def all_roots(tree: Path) -> list[Path]:
    return [env_root(tree, e) for e in ("bootstrap", *CLUSTER_ENVS)] + [tree / "global" / EDGE_REGION]


def where(inst: Instance, block: Block) -> str:
    addr = f"{inst.address}." if inst.address else ""
    return f"{block.file}:{block.line} ({addr}{'.'.join(block.labels)})"


def instances_of(root: Instance, tf_type: str) -> Iterator[tuple[Instance, Block, dict[str, Any]]]:
    """Every (module instance, resource block, scope) of one resource type that will exist.

    Blocks whose instance count is only known after apply are yielded once, with unknown each/count.
    """
    for inst in root.walk():
        for block in inst.resources(tf_type):
            scopes = inst.scopes(block)
            if isinstance(scopes, Unknown):
                scopes = [{"each": {"key": scopes, "value": scopes}, "count": {"index": scopes}}]
            for scope in scopes:
                yield inst, block, scope


def traced(value: Any, what: str, place: str) -> str | None:
    """A problem when a value could not be traced to a constant."""
    return f"{place}: could not trace {what} to a value ({value.source})" if isinstance(value, Unknown) else None


# --- kyeol.toml ↔ runbook ↔ tfvars --------------------------------------------------------------


def check_config_matches_runbook(config: KyeolConfig) -> list[str]:
    problems = []
    if (config.prefix, config.domain, config.region) != (PREFIX, DOMAIN, REGION):
        problems.append(
            f"kyeol.toml prefix/domain/region {(config.prefix, config.domain, config.region)} != runbook {(PREFIX, DOMAIN, REGION)}"
        )
    for env, size in SIZING.items():
        e = config.env(env)
        got = Sizing(
            e.node_type,
            e.nodes_min,
            e.nodes_max,
            e.rds_class or None,
            e.rds_multi_az,
            e.cache_node_type or None,
            e.cache_replicas > 0,
        )
        if got != size:
            problems.append(f"kyeol.toml [envs.{env}] {got} != runbook §3 {size}")
        if env in HOSTS and (e.service_host, e.api_host) != HOSTS[env]:
            problems.append(f"kyeol.toml [envs.{env}] hosts {(e.service_host, e.api_host)} != runbook §1 {HOSTS[env]}")
    return problems


def expected_tfvars(config: KyeolConfig, env: str) -> dict[str, Any]:
    """What envs/<env>/terraform.tfvars must say, from kyeol.toml (itself checked against the runbook)."""
    e = config.env(env)
    want: dict[str, Any] = {
        "name_prefix": config.prefix,
        "environment": env,
        "region": config.region,
        "vpc_cidr": e.cidr,
        "node_instance_type": e.node_type,
        "node_min_size": e.nodes_min,
        "node_max_size": e.nodes_max,
    }
    if env in TARGET_ENVS:
        want.update(
            {
                "rds_instance_class": e.rds_class,
                "rds_multi_az": e.rds_multi_az,
                "cache_node_type": e.cache_node_type,
                "cache_num_cache_clusters": e.cache_replicas + 1,
                "service_host": e.service_host,
                "api_host": e.api_host,
                "domain": config.domain,
            }
        )
    return want


def check_tfvars(tree: Path, config: KyeolConfig, env: str) -> list[str]:
    path = env_root(tree, env) / "terraform.tfvars"
    if not path.is_file():
        return [f"{path}: missing (the env's sizes and hosts live there)"]
    tfvars = load_tfvars(path)
    problems = [
        f"{path}: {key} = {tfvars.get(key, '<unset>')!r}, expected {value!r} (kyeol.toml [envs.{env}] / runbook)"
        for key, value in expected_tfvars(config, env).items()
        if tfvars.get(key) != value
    ]
    desired = tfvars.get("node_desired_size")
    if not (isinstance(desired, int) and tfvars.get("node_min_size", 0) <= desired <= tfvars.get("node_max_size", -1)):
        problems.append(f"{path}: node_desired_size = {desired!r} is not within node_min_size..node_max_size")
    if env == "mgmt":
        stray = sorted(k for k in tfvars if k.startswith(("rds_", "cache_")) or k in ("service_host", "api_host"))
        if stray:
            problems.append(f"{path}: MGMT has no database, cache or public hosts, but sets {stray}")
    return problems


# --- §3 sizing, as the module code really applies it ----------------------------------------------


def copies(inst: Instance) -> int | Unknown:
    """How many times a module instance exists: the product of count/for_each of the calls above it.

    The evaluator expands every local module call once, switched off or not; counting nodes must
    not count the node group of a module called with ``count = 0``.
    """
    n = 1
    while inst.parent is not None and inst.call is not None:
        scopes = inst.parent.scopes(inst.call)
        if isinstance(scopes, Unknown):
            return scopes
        n *= len(scopes)
        inst = inst.parent
    return n


def _group_address(inst: Instance, block: Block, scope: dict[str, Any]) -> str:
    key = scope.get("each", {}).get("key", scope.get("count", {}).get("index"))
    index = "" if key is None else f"[{key!r}]" if isinstance(key, str) else f"[{key}]"
    return f"{inst.address + '.' if inst.address else ''}{'.'.join(block.labels)}{index}"


def check_node_groups(root: Instance, env: str) -> list[str]:
    """Runbook §3's "t3.medium x 3-5" is the whole cluster: every node group counts towards it.

    The min and max sizes of all node groups of the env (the prod PG egress group included) must
    add up to the runbook's range, and every group must run the runbook's instance type.
    """
    size = SIZING[env]
    problems: list[str] = []
    parts: list[tuple[str, int, int]] = []  # (address, min, max) of every node group instance
    found = False
    for inst in root.walk():
        for block in inst.resources("aws_eks_node_group"):
            found = True
            place = where(inst, block)
            times, scopes = copies(inst), inst.scopes(block)
            if isinstance(times, Unknown) or isinstance(scopes, Unknown):
                unknown = times if isinstance(times, Unknown) else scopes
                problems.append(
                    f"{place}: how many of this node group exist is only known after apply "
                    f"({unknown.source}); runbook §3 counts every node"
                )
                continue
            scaling = block.child("scaling_config")
            if scaling is None:
                problems.append(f"{place}: no scaling_config")
                continue
            for scope in scopes * times:
                types = inst.attr(block, "instance_types", scope=scope)
                got = [inst.attr(scaling, k, scope=scope) for k in ("min_size", "max_size", "desired_size")]
                untraced = [
                    p
                    for value, what in (
                        (types, "instance_types"),
                        *zip(got, ("min_size", "max_size", "desired_size"), strict=False),
                    )
                    if (p := traced(value, what, place))
                ]
                problems += untraced
                if isinstance(types, list) and types != [size.node_type]:
                    problems.append(f"{place}: instance_types {types} != runbook §3 [{size.node_type!r}] for {env}")
                if untraced:
                    continue
                low, high, desired = got
                if not low <= desired <= high:
                    problems.append(f"{place}: desired_size {desired} is not within min_size..max_size {low}-{high}")
                parts.append((_group_address(inst, block, scope), low, high))
    if not found:
        return [f"{root.directory}: no aws_eks_node_group in {env}"]
    if problems:
        return problems
    total = (sum(p[1] for p in parts), sum(p[2] for p in parts))
    if total != (size.nodes_min, size.nodes_max):
        breakdown = ", ".join(f"{address} {low}-{high}" for address, low, high in parts)
        problems.append(
            f"{root.directory}: node groups add up to {total[0]}-{total[1]} nodes ({breakdown}); "
            f"runbook §3 wants {size.node_type} x {size.nodes_min}-{size.nodes_max} in total for {env}"
        )
    return problems


def check_database(root: Instance, env: str) -> list[str]:
    size = SIZING[env]
    dbs = list(instances_of(root, "aws_db_instance"))
    if len(dbs) != 1:
        return [f"{root.directory}: {len(dbs)} aws_db_instance in {env}, expected exactly 1 (runbook §3)"]
    inst, block, scope = dbs[0]
    place = where(inst, block)
    problems = []
    for key, want in (("engine", "postgres"), ("instance_class", size.rds_class), ("multi_az", size.rds_multi_az)):
        got = inst.attr(block, key, default=False if key == "multi_az" else None, scope=scope)
        if p := traced(got, key, place):
            problems.append(p)
        elif got != want:
            problems.append(f"{place}: {key} = {got!r}, runbook §3 wants {want!r} for {env}")
    return problems


def check_cache(root: Instance, env: str) -> list[str]:
    size = SIZING[env]
    groups = list(instances_of(root, "aws_elasticache_replication_group"))
    if len(groups) != 1:
        return [f"{root.directory}: {len(groups)} aws_elasticache_replication_group in {env}, expected exactly 1 (runbook §3)"]
    inst, block, scope = groups[0]
    place = where(inst, block)
    problems = []
    values = {
        k: inst.attr(block, k, default=None, scope=scope)
        for k in ("engine", "node_type", "num_cache_clusters", "automatic_failover_enabled", "multi_az_enabled")
    }
    for key, got in values.items():
        if p := traced(got, key, place):
            problems.append(p)
    if problems:
        return problems
    nodes = values["num_cache_clusters"]
    want = {
        "engine": "valkey",
        "node_type": size.cache_node_type,
        "automatic_failover_enabled": size.cache_replicated,
        "multi_az_enabled": size.cache_replicated,
    }
    for key, value in want.items():
        got = values[key] if values[key] is not None else (False if key.endswith("enabled") else None)
        if got != value:
            problems.append(f"{place}: {key} = {got!r}, runbook §3 wants {value!r} for {env}")
    if (nodes is None or nodes < 2) if size.cache_replicated else nodes not in (None, 1):
        problems.append(
            f"{place}: num_cache_clusters = {nodes!r}: {env} wants "
            + ("a primary and at least one replica (replication)" if size.cache_replicated else "a single node")
        )
    return problems


def check_mgmt_has_no_data_stores(root: Instance) -> list[str]:
    return [
        f"{where(inst, block)}: MGMT runs Argo CD only; runbook §3 gives it no RDS/Valkey"
        for tf_type in DATABASE_TYPES
        for inst, block, _scope in instances_of(root, tf_type)
    ]


# --- names, region, edge, OIDC, PG NAT ------------------------------------------------------------


# Prefixes AWS imposes before the project's own (WAF logging needs log groups named aws-waf-logs-*).
AWS_MANDATED_PREFIXES = ("aws-waf-logs-",)
_REFERENCE = re.compile(r"^[\w-]+: (?:data\.)?aws_\w+\.")


def _prefixed(value: str) -> bool:
    """``jung-x``, or a path-like name with a ``jung-`` segment (``alias/jung-dev``, ``/aws/eks/jung-dev-eks/cluster``)."""
    for mandated in AWS_MANDATED_PREFIXES:
        value = value.removeprefix(mandated)
    return value.startswith(PREFIX) or any(seg.startswith(PREFIX) for seg in value.split("/")[1:])


def _is_reference(value: Unknown) -> bool:
    """``bucket = aws_s3_bucket.state.id``: names a resource declared (and checked) elsewhere, or looked up."""
    return not value.prefix and bool(_REFERENCE.match(value.source))


def check_name_prefix(root: Instance) -> list[str]:
    """Every resource name/identifier/bucket/name_prefix, evaluated per instance, starts with ``jung-``."""
    problems = []
    for inst in root.walk():
        for block in inst.resources():
            if block.labels[0] in NAME_EXEMPT:
                continue
            scopes = inst.scopes(block)
            if isinstance(scopes, Unknown):
                scopes = [{"each": {"key": scopes, "value": scopes}, "count": {"index": scopes}}]
            for scope in scopes:
                for key in NAME_ATTRS:
                    if key not in block.attrs:
                        continue
                    value = inst.attr(block, key, scope=scope)
                    known = value.prefix if isinstance(value, Unknown) else value
                    if isinstance(value, Unknown) and _is_reference(value):
                        continue
                    if isinstance(value, Unknown) and not known:
                        problems.append(
                            f"{where(inst, block)}: {key} could not be traced to a `{PREFIX}` prefix ({value.source})"
                        )
                    elif not (isinstance(known, str) and _prefixed(known)):
                        shown = f"{known}…" if isinstance(value, Unknown) else value
                        problems.append(f"{where(inst, block)}: {key} = {shown!r} does not start with `{PREFIX}`")
    return problems


def check_region(tree: Path, env: str) -> list[str]:
    root = instantiate(env_root(tree, env))
    problems = []
    region = root.variables.get("region")
    if region != REGION:
        problems.append(f"{env_root(tree, env)}: var.region = {region!r}, runbook wants {REGION}")
    provider_region = root.provider_config_region("")
    if provider_region != REGION:
        problems.append(
            f"{env_root(tree, env)}: the default aws provider's region is {provider_region!r}, runbook wants {REGION}"
        )
    return problems


def check_waf(tree: Path) -> list[str]:
    problems, found = [], 0
    for root_dir in all_roots(tree):
        if not root_dir.is_dir():
            continue
        root = instantiate(root_dir)
        for inst, block, scope in instances_of(root, "aws_wafv2_web_acl"):
            place = where(inst, block)
            if root_dir.name != EDGE_REGION:
                problems.append(f"{place}: the CloudFront WAF belongs in global/{EDGE_REGION}, not {root_dir.relative_to(tree)}")
                continue
            found += 1
            scope_value = inst.attr(block, "scope", scope=scope)
            if scope_value != "CLOUDFRONT":
                problems.append(f"{place}: scope = {scope_value!r}, a WAF in front of CloudFront needs CLOUDFRONT")
            region = inst.provider_region(block)
            if region != EDGE_REGION:
                problems.append(f"{place}: created in region {region!r}; CloudFront WAFs must be in {EDGE_REGION} (runbook §2.2)")
    if not found:
        problems.append(f"{tree / 'global' / EDGE_REGION}: no aws_wafv2_web_acl (runbook §2.2: WAFv2 in front of CloudFront)")
    return problems


def pg_nat_instances(root: Instance) -> list[Instance]:
    out = []
    for inst in root.walk():
        if inst.directory.name != "pg-nat" or inst.parent is None or inst.call is None:
            continue
        scopes = inst.parent.scopes(inst.call)
        if isinstance(scopes, Unknown) or scopes:
            out.append(inst)
    return out


def check_pg_nat(tree: Path) -> list[str]:
    problems = []
    for env in CLUSTER_ENVS:
        if not env_root(tree, env).is_dir():
            continue
        found = pg_nat_instances(instantiate(env_root(tree, env)))
        if env == "prod" and not found:
            problems.append(f"{env_root(tree, env)}: no modules/pg-nat instance (runbook §2.2: dedicated PG NAT in PROD)")
        if env != "prod":
            problems += [
                f"{i.call.file}:{i.call.line}: modules/pg-nat is PROD only (runbook §2.2), found in {env}"
                for i in found
                if i.call
            ]
    return problems


def check_oidc(root: Instance, env: str) -> list[str]:
    providers = [
        (inst, block, scope, inst.attr(block, "url", scope=scope))
        for inst, block, scope in instances_of(root, "aws_iam_openid_connect_provider")
    ]
    problems = []
    irsa = [p for p in providers if isinstance(p[3], Unknown) and "aws_eks_cluster" in p[3].source and "issuer" in p[3].source]
    if not irsa:
        problems.append(
            f"{root.directory}: no IAM OIDC provider for the EKS issuer (IRSA, runbook §2.2) in {env}: "
            f"urls {[p[3] for p in providers]}"
        )
    github = [p for p in providers if p[3] == GITHUB_OIDC_URL]
    if env == "mgmt" and not github:
        problems.append(f"{root.directory}: no IAM OIDC provider for GitHub Actions ({GITHUB_OIDC_URL}) in MGMT (runbook §2.2)")
    for inst, block, scope, _url in irsa + github:
        clients = inst.attr(block, "client_id_list", scope=scope)
        if not (isinstance(clients, list) and "sts.amazonaws.com" in clients):
            problems.append(f"{where(inst, block)}: client_id_list = {clients!r} must contain sts.amazonaws.com")
    return problems


def check_cloudfront_aliases(root: Instance, env: str) -> list[str]:
    aliases: set[str] = set()
    problems = []
    for inst, block, scope in instances_of(root, "aws_cloudfront_distribution"):
        value = inst.attr(block, "aliases", default=[], scope=scope)
        if p := traced(value, "aliases", where(inst, block)):
            problems.append(p)
        elif isinstance(value, list):
            aliases.update(v for v in value if isinstance(v, str))
    if not problems and aliases != set(HOSTS[env]):
        problems.append(
            f"{root.directory}: CloudFront aliases {sorted(aliases)} != runbook §1 hosts {list(HOSTS[env])} for {env}"
        )
    return problems


# --- docs/architecture.md §4 ------------------------------------------------------------------------


def architecture_outputs(doc: Path) -> dict[str, list[str]]:
    """The §4 table of docs/architecture.md: root path → output names (parenthesised notes dropped)."""
    text = doc.read_text(encoding="utf-8")
    section = text.split("## 4.", 1)[1].split("\n## ", 1)[0]
    table: dict[str, list[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 or not cells[0].startswith(("envs/", "global/")):
            continue
        names = re.findall(r"`([a-z][a-z0-9_]*)`", re.sub(r"\([^)]*\)", "", cells[1]))
        first, *more = [r.strip() for r in cells[0].split(",")]
        base = first.rsplit("/", 1)[0]
        for root in [first, *(f"{base}/{m}" for m in more)]:
            table[root] = names
    return table


def check_outputs(tree: Path, doc: Path) -> list[str]:
    problems = []
    for root, names in architecture_outputs(doc).items():
        have = set(outputs(tree / root)) if (tree / root).is_dir() else set()
        missing = [n for n in names if n not in have]
        if missing:
            problems.append(f"{tree / root}: outputs {missing} of docs/architecture.md §4 are missing")
    return problems
