"""Module interfaces of the Terraform tree: what `terraform validate` would catch, offline.

A fixture tree with planted mistakes must give exactly the expected problems (no more, no
fewer), its correct twin none; then the real tree must give none.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.infra.interfaces import Layout, check_backend, check_moved, check_tree
from tests.infra.paths import FIXTURES

GOOD = FIXTURES / "interfaces" / "good"
BAD = FIXTURES / "interfaces" / "bad"


def codes(tree: Path) -> list[tuple[str, int, str]]:
    return [(p.file.relative_to(tree).as_posix(), p.line, p.code) for p in check_tree(tree)]


def test_correct_fixture_has_no_problems() -> None:
    assert check_tree(GOOD) == []


def test_every_planted_mistake_is_found_once() -> None:
    assert codes(BAD) == [
        ("envs/bootstrap/outputs.tf", 0, "missing-file"),
        ("envs/bootstrap/versions.tf", 2, "unexpected-backend"),  # bootstrap makes the bucket: local state
        ("envs/dev/main.tf", 1, "missing-input"),  # cidr (no default) not passed
        ("envs/dev/main.tf", 4, "unknown-input"),  # vpc_cidr is not a variable of modules/net
        ("envs/dev/migrations.tf", 3, "moved-to-unknown"),  # module.network
        ("envs/dev/migrations.tf", 7, "moved-from-declared"),  # module.net is still there
        ("envs/dev/migrations.tf", 8, "moved-to-unknown"),  # module.net[0], but net has no count
        ("envs/dev/outputs.tf", 3, "unknown-output"),  # module.net.id
        ("envs/dev/outputs.tf", 8, "unknown-module"),  # module.network
        ("envs/dev/outputs.tf", 13, "undeclared-variable"),  # var.region
        ("envs/dev/terraform.tfvars", 4, "tfvars-undeclared"),  # node_count
        ("envs/dev/versions.tf", 3, "backend-hardcoded"),  # bucket is per account: kyeol passes it
        ("modules/net/variables.tf", 6, "variable-without-type"),
        ("modules/net/variables.tf", 10, "variable-without-description"),
    ]


def test_messages_say_what_to_fix() -> None:
    text = "\n".join(str(p) for p in check_tree(BAD))
    assert 'module "net" passes "vpc_cidr", which net does not declare' in text
    assert 'module "net" does not pass required variable "cidr" of net' in text
    assert '"module.net.id": module net has no output "id"' in text
    assert 'backend "bucket" is passed by kyeol with -backend-config' in text
    assert 'moved to "module.network.aws_vpc.main", which is not declared: no module "network" in dev' in text
    assert 'moved to "module.net[0]", which is not declared: module "net" in dev has no count/for_each: drop the key' in text


# A root calling a composition module that calls a counted one: module.stack.module.net[0].aws_vpc.this.
NESTED = {
    "envs/dev/main.tf": 'module "stack" {\n  source = "../../modules/stack"\n}\n',
    "modules/stack/main.tf": 'module "net" {\n  source = "../net"\n  count  = 1\n}\n',
    "modules/net/main.tf": ('resource "aws_vpc" "this" {\n  cidr_block = "10.0.0.0/16"\n}\ndata "aws_region" "current" {}\n'),
}


def moved_problems(tmp_path: Path, source: str, target: str) -> list[str]:
    files = NESTED | {"envs/dev/migrations.tf": f"moved {{\n  from = {source}\n  to   = {target}\n}}\n"}
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return [p.message for p in check_moved(tmp_path / "envs/dev")]


@pytest.mark.parametrize("target", ["module.stack.module.net[0].aws_vpc.this", "module.stack.module.net[0]", "module.stack"])
def test_moved_into_nested_modules_resolves(tmp_path: Path, target: str) -> None:
    assert moved_problems(tmp_path, "module.net", target) == []


@pytest.mark.parametrize(
    ("source", "target", "why"),
    [
        (
            "module.net",
            "module.stack.module.net.aws_vpc.this",
            'module "net" in stack has count/for_each: name one instance (e.g. [0])',
        ),
        ("module.net", "module.stack.module.net[0].aws_vpc.main", 'no resource "aws_vpc" "main" in net'),
        ("module.net", "module.stack.module.network[0]", 'no module "network" in stack'),
        ("module.net", "module.stack.module.net[0].data.aws_region.here", 'no data "aws_region" "here" in net'),
        ("module.net", "module.stack.module.net[0].aws_vpc", '"aws_vpc" is not a resource address'),
    ],
)
def test_moved_to_an_undeclared_nested_address_is_reported(tmp_path: Path, source: str, target: str, why: str) -> None:
    assert moved_problems(tmp_path, source, target) == [f'moved to "{target}", which is not declared: {why}']


def test_moved_from_an_address_still_declared_is_reported(tmp_path: Path) -> None:
    assert moved_problems(tmp_path, "module.stack", "module.stack.module.net[0]") == [
        'moved from "module.stack", which is still declared: Terraform refuses the move'
    ]


def test_env_root_without_backend_is_reported(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(GOOD, tree)
    versions = tree / "envs" / "dev" / "versions.tf"
    versions.write_text(versions.read_text().replace('  backend "s3" {}\n\n', ""))
    assert [p.code for p in check_backend(tree / "envs" / "dev", local_state=False)] == ["missing-backend"]
    assert ("envs/dev/versions.tf", 0, "missing-backend") in codes(tree)


def test_real_tree_has_the_runbook_layout(infra_tree: Path) -> None:
    layout = Layout(infra_tree)
    roots = {p.relative_to(infra_tree).as_posix() for p in layout.roots}
    assert roots == {"envs/bootstrap", "envs/account", "envs/mgmt", "envs/dev", "envs/stage", "envs/prod", "global/us-east-1"}
    modules = {p.name for p in layout.modules}
    expected = {"vpc", "eks", "irsa", "rds", "valkey", "ecr", "edge", "dns-acm", "github-oidc", "pg-nat"}
    assert expected <= modules, f"modules missing: {sorted(expected - modules)}"


def test_real_tree_interfaces_are_consistent(infra_tree: Path) -> None:
    problems = check_tree(infra_tree)
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(map(str, problems))
