"""Fixtures of the end-to-end tests: one world per test module (servers started once), on the
session's moto server, with one Terraform plugin cache for every world."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.world import World


@pytest.fixture(scope="session")
def plugin_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tf-plugin-cache")


@pytest.fixture(scope="module")
def world(moto_server: str, tmp_path_factory: pytest.TempPathFactory, plugin_cache: Path) -> Iterator[World]:
    """A fresh world for the module; moto is reset when it is made, so tests of other modules
    that reset moto must not run in between (pytest runs a module's tests together)."""
    built = World(tmp_path_factory.mktemp("e2e"), moto_server, plugin_cache=plugin_cache)
    try:
        yield built
    finally:
        built.close()
