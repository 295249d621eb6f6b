"""The provider stand-in, built once per test session into a scratch folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tfprovider.build import Build, build

INFRA = Path(__file__).resolve().parents[2] / "kyeol-infra-terraform"
_LINES = pytest.StashKey[list[str]]()


@pytest.fixture(scope="session")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """Protocol compiled, schema subset of the types the tree uses, mirror and CLI config."""
    assert (INFRA / "envs").is_dir(), f"{INFRA} is missing: the gate has nothing to run"
    return build(tmp_path_factory.mktemp("tfprovider"), INFRA)


@pytest.fixture
def gate_summary(request: pytest.FixtureRequest) -> list[str]:
    """Lines for the terminal summary (time per root)."""
    return request.config.stash.setdefault(_LINES, [])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = terminalreporter.config.stash.get(_LINES, [])
    if lines:
        terminalreporter.write_sep("-", "real terraform gate (provider stand-in)")
        for line in lines:
            terminalreporter.write_line(line)
