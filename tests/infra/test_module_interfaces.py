"""Module interfaces of the Terraform tree: what `terraform validate` would catch, offline.

A fixture tree with planted mistakes must give exactly the expected problems (no more, no
fewer), its correct twin none; then the real tree must give none.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.infra.interfaces import Layout, check_backend, check_tree
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
    assert roots == {"envs/bootstrap", "envs/mgmt", "envs/dev", "envs/stage", "envs/prod", "global/us-east-1"}
    modules = {p.name for p in layout.modules}
    expected = {"vpc", "eks", "irsa", "rds", "valkey", "ecr", "edge", "dns-acm", "github-oidc", "pg-nat"}
    assert expected <= modules, f"modules missing: {sorted(expected - modules)}"


def test_real_tree_interfaces_are_consistent(infra_tree: Path) -> None:
    problems = check_tree(infra_tree)
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(map(str, problems))
