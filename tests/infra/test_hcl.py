"""tests/infra/hcl.py: blocks told apart from arguments, with lines; suppressions; references."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.infra.hcl import is_literal, load_tfvars, parse_text, references, suppressions

TEXT = """\
resource "aws_eks_cluster" "this" {
  name = "${var.prefix}eks"
  vpc_config = {
    subnet_ids = ["a"]
  }
  encryption_config {
    resources = ["secrets"]
  }
  policy = <<EOT
{"Version": "2012-10-17"}
EOT
}
"""


def test_blocks_and_arguments_keep_their_kind_and_line() -> None:
    root = parse_text(TEXT)
    (cluster,) = root.children("resource")
    assert (cluster.labels, cluster.line) == (("aws_eks_cluster", "this"), 1)
    assert set(cluster.attrs) == {"name", "vpc_config", "policy"}  # `vpc_config = {…}` is an argument here
    assert cluster.attrs["vpc_config"].value == {"subnet_ids": ["a"]}
    assert cluster.attrs["vpc_config"].line == 3
    assert [(b.type, b.line) for b in cluster.blocks] == [("encryption_config", 6)]
    assert cluster.value("name") == "${var.prefix}eks"
    assert cluster.value("policy").strip() == '{"Version": "2012-10-17"}'  # heredoc read as a string


def test_syntax_error_names_the_file() -> None:
    with pytest.raises(ValueError, match=r"broken\.tf: HCL syntax error"):
        parse_text('resource "x" {\n  a = \n', Path("broken.tf"))


def test_tfvars_and_literals(tmp_path: Path) -> None:
    (tmp_path / "terraform.tfvars").write_text('a = "x"\nb = 2\nc = true\nd = ["p"]\n')
    assert load_tfvars(tmp_path / "terraform.tfvars") == {"a": "x", "b": 2, "c": True, "d": ["p"]}
    assert is_literal("jung-dev") and is_literal(3) and not is_literal("${var.x}-y")


def test_references_balance_nested_braces() -> None:
    assert references("${merge(var.a, { b = 1 })}-${var.c}") == ["merge(var.a, { b = 1 })", "var.c"]
    assert references({"k": ["${module.m.o}"]}) == ["module.m.o"]


def test_suppressions_with_and_without_reason(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_s3_bucket" "b" {\n  #checkov:skip=CKV_AWS_18:access logs live in the log bucket\n'
        '  # checkov:skip=CKV_AWS_144\n  bucket = "jung-b"\n}\n'
    )
    found = suppressions(tmp_path)
    assert [(s.line, s.check, s.reason) for s in found] == [
        (2, "CKV_AWS_18", "access logs live in the log bucket"),
        (3, "CKV_AWS_144", ""),
    ]
