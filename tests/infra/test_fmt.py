"""`terraform fmt` is the style of the Terraform tree (and of the fixtures, which mimic it)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.infra.paths import FIXTURES


def fmt_check(directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["terraform", "fmt", "-check", "-recursive", "-diff", "-no-color", str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_infra_tree_is_formatted(infra_tree: Path) -> None:
    result = fmt_check(infra_tree)
    assert result.returncode == 0, f"run `terraform fmt -recursive {infra_tree.name}`:\n{result.stdout}{result.stderr}"


def test_fixtures_are_formatted() -> None:
    result = fmt_check(FIXTURES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_fmt_check_catches_misaligned_arguments(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('resource "terraform_data" "x" {\n  input = 1\n  triggers_replace = 2\n}\n')
    result = fmt_check(tmp_path)
    assert result.returncode != 0
    assert "main.tf" in result.stdout
