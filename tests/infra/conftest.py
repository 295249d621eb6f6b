"""Fixtures for the checks of kyeol-infra-terraform/: where the tree is, the provider schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.infra.paths import INFRA
from tests.infra.schema_check import Schema


@pytest.fixture(scope="session")
def infra_tree() -> Path:
    """The real Terraform tree; its absence is a failure, not a skip."""
    assert (INFRA / "envs").is_dir(), f"{INFRA} is missing or has no envs/ (runbook §4.1 layout)"
    return INFRA


@pytest.fixture(scope="session")
def schema() -> Schema:
    return Schema.load()


_SUMMARY = pytest.StashKey[list[str]]()


@pytest.fixture
def infra_summary(request: pytest.FixtureRequest) -> list[str]:
    """Lines a test wants in the terminal summary of every run (e.g. the checkov suppression count)."""
    return request.config.stash.setdefault(_SUMMARY, [])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = terminalreporter.config.stash.get(_SUMMARY, [])
    if lines:
        terminalreporter.write_sep("-", "kyeol-infra-terraform")
        for line in lines:
            terminalreporter.write_line(line)
