"""Fixtures for the GitOps tree tests: the configuration, the rendered overlays, the add-on
Applications the ApplicationSets generate for every environment, and the CRD validators."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from steps.wiring.config import ADDONS, TARGET_ENVS, KyeolConfig, load_config
from tests import toolchain
from tests.gitops import support


@pytest.fixture(scope="session")
def config() -> KyeolConfig:
    return load_config(support.ROOT / "kyeol.toml")


@pytest.fixture(scope="session")
def overlays() -> dict[str, list[dict[str, Any]]]:
    """Each environment's Saleor overlay, rendered by the real kustomize."""
    return {env: support.render(support.APP / "apps" / "saleor" / "overlays" / env) for env in TARGET_ENVS}


@pytest.fixture(scope="session")
def saleor_apps() -> dict[str, dict[str, Any]]:
    """The Saleor Application of each environment (kyeol-app-gitops/argocd/applications)."""
    folder = support.APP / "argocd" / "applications"
    return {env: support.load_docs(folder / f"saleor-{env}.yaml")[0] for env in TARGET_ENVS}


@pytest.fixture(scope="session")
def appsets() -> list[dict[str, Any]]:
    return support.render(support.PLATFORM / "argocd" / "applications")


@pytest.fixture(scope="session")
def app_of_apps() -> list[dict[str, Any]]:
    return support.render(support.PLATFORM / "argocd" / "app-of-apps")


@pytest.fixture(scope="session")
def cluster_secrets(config: KyeolConfig) -> list[dict[str, Any]]:
    """The cluster Secrets phase 5 writes, every add-on enabled."""
    return [support.cluster_secret(config.env(env), ADDONS) for env in TARGET_ENVS]


@pytest.fixture(scope="session")
def addon_apps(appsets: list[dict[str, Any]], cluster_secrets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The add-on Applications the ApplicationSets generate (stand-in controller)."""
    return [app for appset in appsets for app in support.generate_applications(appset, cluster_secrets)]


@pytest.fixture(scope="session")
def node_modules() -> Path:
    return toolchain.node_modules()
