"""Where the Terraform tree, the fixtures and the committed provider schema live."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "kyeol-infra-terraform"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
