"""Roots and provider types are discovered by scanning the tree, so what another branch adds
(envs/account, a new resource type) is gated and served without anyone keeping a list."""

from __future__ import annotations

from pathlib import Path

from tests.tfprovider import gate, tree
from tests.tfprovider.conftest import INFRA


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_roots_are_the_folders_outside_modules_that_require_providers(tmp_path: Path) -> None:
    versions = 'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws" }\n  }\n}\n'
    write(tmp_path / "envs/dev/versions.tf", versions)
    write(tmp_path / "envs/account/versions.tf", versions)  # a root another branch adds
    write(tmp_path / "global/us-east-1/versions.tf", versions)
    write(tmp_path / "modules/vpc/versions.tf", versions)  # a module, not a root
    write(tmp_path / "envs/notes/README.md", "no terraform here\n")
    roots = tree.roots(tmp_path)
    assert roots == ["envs/account", "envs/dev", "global/us-east-1"]
    assert gate.root_order(roots) == ["envs/account", "global/us-east-1", "envs/dev"]


def test_used_types_by_provider_prefix(tmp_path: Path) -> None:
    write(
        tmp_path / "modules/x/main.tf",
        'resource "aws_s3_bucket" "a" {}\ndata "aws_region" "r" {}\nephemeral "tls_private_key" "k" {}\n'
        'resource "terraform_data" "t" {}\n# resource "aws_commented" "out" {}\n',
    )
    assert tree.used_types(tmp_path, "aws") == {"resource": {"aws_s3_bucket"}, "data": {"aws_region"}, "ephemeral": set()}
    assert tree.used_types(tmp_path, "tls")["ephemeral"] == {"tls_private_key"}


def test_the_real_tree_has_the_runbook_roots() -> None:
    assert {"envs/bootstrap", "global/us-east-1", "envs/mgmt", "envs/dev", "envs/stage", "envs/prod"} <= set(tree.roots(INFRA))
