"""Ordering and replacement rules Terraform cannot check by itself (issue 8, defects 8 and 9).

The graph is tests.infra.dependencies (Terraform's reference rules, followed through module
calls). Each rule is first shown to catch a planted mistake, then holds on the real tree.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.infra import conformance as c
from tests.infra.dependencies import Graph, Node, references
from tests.infra.evaluate import instantiate
from tests.infra.hcl import Block


def real_copy(tmp_path: Path, infra_tree: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(infra_tree, tree, ignore=shutil.ignore_patterns(".terraform*"))
    return tree


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not once in {path}"
    path.write_text(text.replace(old, new))


# --- Defect 8: prod's PG NAT and its node group ---------------------------------------------------


def pg_nat_order_problems(tree: Path) -> list[str]:
    """What of prod's PG NAT may start before what it needs.

    Upstream rules: an Elastic IP or NAT gateway in a VPC whose internet gateway is not yet
    attached fails with ``Gateway.NotAttached`` — hashicorp/terraform-provider-aws@v6.69.1
    website/docs/r/eip.html.markdown ("EIP may require IGW to exist prior to association. Use
    depends_on to set an explicit dependency on the IGW.") and r/nat_gateway.html.markdown
    ("it's recommended to denote that the NAT Gateway depends on the Internet Gateway for the
    VPC in which the NAT Gateway's subnet is located"). A managed node group whose nodes boot
    before the vpc-cni add-on is configured keeps the max-pods and CNI settings of the AMI's
    defaults (r/eks_addon.html.markdown, and the default group's own `depends_on`).
    """
    graph = Graph(instantiate(c.env_root(tree, "prod")))
    problems = []
    for tf_type in ("aws_eip", "aws_nat_gateway"):
        nodes = graph.resources("pg-nat", tf_type)
        if not nodes:
            problems.append(f"prod: no {tf_type} in modules/pg-nat")
        for node in nodes:
            if not graph.waits_for_type(node, "vpc", "aws_internet_gateway"):
                problems.append(
                    f"{node}: does not depend on the VPC's aws_internet_gateway (Gateway.NotAttached on a first apply)"
                )
    groups = [(d, n) for d in ("eks", "pg-nat") for n in graph.resources(d, "aws_eks_node_group")]
    if len(groups) < 2:
        problems.append(f"prod: {len(groups)} node groups, expected the default group and the PG egress group")
    for _, node in groups:
        if not graph.waits_for_type(node, "eks", "aws_eks_addon", "before_nodes"):
            problems.append(f"{node}: does not wait for the vpc-cni add-on (aws_eks_addon.before_nodes)")
    return problems


def test_pg_nat_without_the_internet_gateway_dependency_is_reported(tmp_path: Path, infra_tree: Path) -> None:
    tree = real_copy(tmp_path, infra_tree)
    main = tree / "modules/pg-nat/main.tf"
    text = main.read_text()
    main.write_text(text.replace("  depends_on = [var.internet_gateway_id]\n", ""))
    found = pg_nat_order_problems(tree)
    assert any("aws_eip.this: does not depend on the VPC's aws_internet_gateway" in p for p in found), found
    assert any("aws_nat_gateway.this: does not depend on the VPC's aws_internet_gateway" in p for p in found), found


def test_pg_egress_group_not_waiting_for_vpc_cni_is_reported(tmp_path: Path, infra_tree: Path) -> None:
    tree = real_copy(tmp_path, infra_tree)
    edit(tree / "modules/pg-nat/main.tf", ", var.vpc_cni_addon_id]", "]")
    assert pg_nat_order_problems(tree) == [
        "module.environment.module.pg_nat.aws_eks_node_group.this: does not wait for the vpc-cni add-on (aws_eks_addon.before_nodes)"
    ]


def test_prod_pg_nat_waits_for_the_internet_gateway_and_vpc_cni(infra_tree: Path) -> None:
    assert pg_nat_order_problems(infra_tree) == []


def test_the_graph_follows_variables_outputs_and_depends_on_across_modules(infra_tree: Path) -> None:
    graph = Graph(instantiate(c.env_root(infra_tree, "prod")))
    route = Node("module.environment.module.pg_nat", "resource", "aws_route.internet")
    waits = {str(n) for n in graph.waits_for(route)}
    assert "module.environment.module.pg_nat.aws_nat_gateway.this" in waits
    assert "module.environment.module.vpc.aws_vpc.this" in waits  # var.vpc_id → module.vpc output → resource
    assert "module.environment.module.eks.aws_eks_cluster.this" not in waits


# --- Defect 9: secrets written from the same ephemeral value as a replaceable resource ------------


def _lifecycle_triggers(block: Block) -> set[tuple[str, str]]:
    life = block.child("lifecycle")
    raw = life.value("replace_triggered_by", []) if life else []
    return {(h, n) for h, n, _ in references(raw)}


def write_only_pairs_problems(tree: Path) -> list[str]:
    """Secret versions that would keep an old value when the resource sharing it is replaced.

    Upstream rule: a write-only argument is never stored and is sent only when its version
    argument changes — hashicorp/terraform-provider-aws@v6.69.1
    website/docs/r/secretsmanager_secret_version.html.markdown (``secret_string_wo_version``:
    "Used together with secret_string_wo to trigger an update. Increment this value when an
    update to secret_string_wo is required") and r/elasticache_replication_group.html.markdown /
    r/db_instance.html.markdown (``auth_token_wo_version``, ``password_wo_version``). A replaced
    replication group or instance is created with *this* apply's ephemeral value, while the
    secret version, whose version number did not change, keeps the old one: the app then
    authenticates with a token the new group never had. Terraform's
    ``lifecycle.replace_triggered_by`` (developer.hashicorp.com/terraform/language/meta-arguments/
    lifecycle) is the one way to tie the secret's replacement to the resource's.
    """
    problems = []
    for env in c.TARGET_ENVS:
        for inst in instantiate(c.env_root(tree, env)).walk():
            writers: dict[str, list[str]] = {}
            for block in inst.top("resource"):
                if block.labels[0] == "aws_secretsmanager_secret_version":
                    continue
                for name, attr in block.attrs.items():
                    if name.endswith("_wo"):
                        for head, eph, _ in references(attr.value):
                            if head == "ephemeral":
                                writers.setdefault(eph, []).append(".".join(block.labels))
            for block in inst.resources("aws_secretsmanager_secret_version"):
                shared = {
                    w
                    for head, eph, _ in references(block.value("secret_string_wo"))
                    if head == "ephemeral"
                    for w in writers.get(eph, [])
                }
                missing = sorted(w for w in shared if tuple(w.split(".", 1)) not in _lifecycle_triggers(block))
                problems += [
                    f"{env}: {inst.address}.{'.'.join(block.labels)} is not replaced with {w} "
                    "(lifecycle.replace_triggered_by): a replaced resource gets a new write-only value, the "
                    "secret keeps the old one"
                    for w in missing
                ]
    return sorted(set(problems))


def test_a_valkey_secret_not_replaced_with_its_group_is_reported(tmp_path: Path, infra_tree: Path) -> None:
    tree = real_copy(tmp_path, infra_tree)
    edit(tree / "modules/valkey/main.tf", "    replace_triggered_by = [aws_elasticache_replication_group.this.id]\n", "")
    found = write_only_pairs_problems(tree)
    assert [p.split(":")[0] for p in found] == ["dev", "prod", "stage"], found
    assert (
        "module.environment.module.valkey.aws_secretsmanager_secret_version.connection is not replaced with "
        "aws_elasticache_replication_group.this"
    ) in found[0]


def test_an_rds_secret_not_replaced_with_its_instance_is_reported(tmp_path: Path, infra_tree: Path) -> None:
    tree = real_copy(tmp_path, infra_tree)
    edit(tree / "modules/rds/main.tf", "    replace_triggered_by = [aws_db_instance.this.resource_id]\n", "")
    found = write_only_pairs_problems(tree)
    assert len(found) == 3 and all(
        "module.rds.aws_secretsmanager_secret_version.connection is not replaced with aws_db_instance.this" in p for p in found
    ), found


@pytest.mark.parametrize("env", c.TARGET_ENVS)
def test_every_secret_is_replaced_with_the_resource_sharing_its_write_only_value(infra_tree: Path, env: str) -> None:
    assert [p for p in write_only_pairs_problems(infra_tree) if p.startswith(f"{env}:")] == []
