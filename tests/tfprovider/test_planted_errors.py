"""Errors planted into a copy of a real root are caught by the real Terraform, in its own words.

Each case adds a file (or edits one line) in a copy of ``envs/bootstrap`` and runs
``terraform validate`` (or ``plan`` where Terraform only sees the problem when planning),
through the provider stand-in: the messages are Terraform's, the schema facts behind them
(attribute names and types, required arguments, computed ids, write-only arguments) are the
stand-in's. A control case shows the root is clean without the plant.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.tfprovider import gate
from tests.tfprovider.conftest import INFRA

pytestmark = pytest.mark.slow
ROOT = "envs/bootstrap"

PLANTS = {
    "unsupported_attribute": (
        "validate",
        'output "planted" {\n  value = aws_dynamodb_table.lock.no_such_attribute\n}\n',
        ["Unsupported attribute", 'This object has no argument, nested block, or exported attribute named\n"no_such_attribute"'],
    ),
    "wrong_type": (
        "validate",
        (
            'resource "aws_s3_bucket_versioning" "planted" {\n  bucket = "planted"\n  versioning_configuration {\n'
            '    status = ["Enabled"]\n  }\n}\n'
        ),
        ["Incorrect attribute value type", "string required"],
    ),
    "missing_required_argument": (
        "validate",
        'resource "aws_dynamodb_table" "planted" {\n  billing_mode = "PAY_PER_REQUEST"\n}\n',
        ["Missing required argument", 'The argument "name" is required'],
    ),
    "for_each_over_apply_time_values": (
        "plan",
        (
            'resource "aws_s3_bucket_versioning" "planted" {\n  for_each = toset([aws_s3_bucket.state.arn])\n'
            '  bucket   = each.value\n  versioning_configuration {\n    status = "Enabled"\n  }\n}\n'
        ),
        ["Invalid for_each argument", "cannot be determined until apply"],
    ),
    "dependency_cycle": (
        "validate",
        (
            'resource "aws_s3_bucket" "planted_a" {\n  bucket = aws_s3_bucket.planted_b.id\n}\n'
            'resource "aws_s3_bucket" "planted_b" {\n  bucket = aws_s3_bucket.planted_a.id\n}\n'
        ),
        ["Cycle: aws_s3_bucket.planted_"],
    ),
    "undeclared_module_argument": (
        "validate",
        None,
        ["Unsupported argument", 'An argument named "not_declared" is not expected here.'],
    ),
    "failing_variable_validation": ("plan", None, ["Invalid value for variable", "name_prefix must be a lowercase letter"]),
    "ephemeral_value_in_a_normal_argument": (
        "validate",
        (
            'ephemeral "aws_secretsmanager_random_password" "planted" {\n  password_length = 32\n}\n'
            'resource "aws_secretsmanager_secret_version" "planted" {\n  secret_id     = "planted"\n'
            "  secret_string = ephemeral.aws_secretsmanager_random_password.planted.random_password\n}\n"
        ),
        ["Invalid use of ephemeral value", "Ephemeral values are not valid"],
    ),
}
# The same ephemeral value in the write-only argument is accepted: the write-only flag is served.
CONTROL_WRITE_ONLY = (
    'ephemeral "aws_secretsmanager_random_password" "planted" {\n  password_length = 32\n}\n'
    'resource "aws_secretsmanager_secret_version" "planted" {\n  secret_id                = "planted"\n'
    "  secret_string_wo         = ephemeral.aws_secretsmanager_random_password.planted.random_password\n"
    "  secret_string_wo_version = 1\n}\n"
)


@pytest.fixture(scope="module")
def root(standin, tmp_path_factory) -> Path:
    tree_copy = gate.copy_tree(INFRA, tmp_path_factory.mktemp("planted"))
    root_dir = tree_copy / ROOT
    gate.terraform(standin, root_dir, "init", "-input=false", "-no-color")
    return root_dir


def run(standin, root_dir: Path, command: str, *extra: str) -> subprocess.CompletedProcess[str]:
    args = ["validate", "-no-color"] if command == "validate" else ["plan", "-input=false", "-no-color", *extra]
    return subprocess.run(["terraform", *args], cwd=root_dir, env=standin.env(), capture_output=True, text=True, timeout=300)


def test_the_root_is_clean_without_a_plant(standin, root: Path) -> None:
    proc = run(standin, root, "validate")
    assert proc.returncode == 0, proc.stderr


def test_an_ephemeral_value_in_a_write_only_argument_is_accepted(standin, root: Path) -> None:
    planted = root / "planted.tf"
    planted.write_text(CONTROL_WRITE_ONLY)
    try:
        proc = run(standin, root, "validate")
    finally:
        planted.unlink()
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("case", sorted(PLANTS))
def test_planted_error_is_caught_with_terraforms_own_message(standin, root: Path, case: str) -> None:
    command, text, expected = PLANTS[case]
    main_tf = root / "main.tf"
    original = main_tf.read_text()
    planted = root / "planted.tf"
    extra: list[str] = []
    if case == "undeclared_module_argument":
        anchor = "  retention_days     = var.access_log_retention_days\n"
        assert anchor in original, "the plant's anchor moved: update the test"
        main_tf.write_text(original.replace(anchor, anchor + "  not_declared       = true\n"))
    elif case == "failing_variable_validation":
        extra = ["-var=name_prefix=Not_A_Prefix"]
    else:
        planted.write_text(text)
    try:
        proc = run(standin, root, command, *extra)
    finally:
        main_tf.write_text(original)
        planted.unlink(missing_ok=True)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, f"{case}: terraform {command} accepted the plant:\n{output[-3000:]}"
    for words in expected:
        assert words in output, f"{case}: {words!r} not in terraform's output:\n{output[-3000:]}"


def test_a_type_the_stand_in_does_not_serve_is_refused_loudly(standin, root: Path) -> None:
    """Serving only the tree's types cannot hide a gap: an unserved type fails validate."""
    planted = root / "planted.tf"
    planted.write_text('resource "aws_instance" "planted" {}\n')
    try:
        proc = run(standin, root, "validate")
    finally:
        planted.unlink()
    assert proc.returncode != 0 and "Invalid resource type" in proc.stderr, proc.stderr
