"""Fixtures: the releases kyeol would install, rendered once per session with the real charts.

MGMT: Argo CD from phase 4's own helm install (its argv, decoded as helm decodes it). dev,
stage, prod: every Helm source of every Application the add-on ApplicationSets generate for
the cluster Secret phase 5 writes (its labels and annotations from Terraform's facts).
A chart that cannot be found fails the session's tests with how to provide it.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest

from steps.phases import phase5_register
from steps.phases.phase4_argocd import HELM_TIMEOUT_S, ArgoCdStep
from steps.wiring.config import TARGET_ENVS, KyeolConfig, load_config
from tests.charts import addons, clusters, helm_cli, source
from tests.charts.render import Rendered, load, render
from tests.gitops import support


@dataclass
class Release:
    """One release: where it came from, its chart, its render."""

    cluster: str
    name: str
    chart_dir: Any
    rendered: Rendered
    kube_version: str
    helm: addons.HelmRelease | None = None

    @property
    def chart(self) -> Any:
        return load(str(self.chart_dir))


@pytest.fixture(scope="session")
def config() -> KyeolConfig:
    return load_config(support.ROOT / "kyeol.toml")


def chart_dir(chart: str, version: str, repo: str):
    try:
        return source.chart_dir(chart, version, repo)
    except source.ChartUnavailable as exc:
        message = str(exc)
    pytest.fail(message, pytrace=False)  # never a skip: the checks must run


def argocd_argv(config: KyeolConfig) -> list[str]:
    """The argv phase 4 gives helm (with MGMT's IRSA role as Terraform names it)."""
    step = ArgoCdStep(SimpleNamespace(config=config), config.mgmt)  # type: ignore[arg-type]  # it reads .config only
    (role,) = [name for name, subjects in clusters.irsa_roles("mgmt").items() if any(ns == "argocd" for ns, _ in subjects)]
    install = step.chart_install(clusters.role_arn(config.mgmt, role))
    return install.argv("helm", rollback_flag="--atomic", timeout=HELM_TIMEOUT_S)[1:]


@pytest.fixture(scope="session")
def argocd(config: KyeolConfig) -> Release:
    args = helm_cli.HelmArgs.parse(argocd_argv(config))
    _, name, chart = args.positional  # upgrade RELEASE CHART
    folder = chart_dir(chart, args.one("--version"), args.one("--repo"))
    kube_version = clusters.kubernetes_version("mgmt")
    rendered = render(folder, args.values(), release=name, namespace=args.one("-n", "--namespace"), kube_version=kube_version)
    return Release("mgmt", name, folder, rendered, kube_version)


def cluster_secrets(config: KyeolConfig) -> list[dict[str, Any]]:
    return [
        phase5_register.cluster_secret(config.env(env), clusters.infra_outputs(config.env(env), phase5_register.INFRA_OUTPUTS))
        for env in TARGET_ENVS
    ]


@pytest.fixture(scope="session")
def addon_releases(config: KyeolConfig) -> dict[str, list[Release]]:
    """env → every add-on release on its cluster."""
    secrets = cluster_secrets(config)
    found: dict[str, list[Release]] = {env: [] for env in TARGET_ENVS}
    for appset in addons.load_appsets():
        for app in addons.generate(appset, secrets):
            env = app["metadata"]["labels"]["kyeol.io/env"]
            kube_version = clusters.kubernetes_version(env)
            for helm in addons.helm_releases(app):
                folder = chart_dir(helm.chart, helm.version, helm.repo)
                found[env].append(Release(env, helm.release, folder, helm.render(kube_version), kube_version, helm))
    return found


@pytest.fixture(scope="session")
def node_modules():
    from tests import toolchain

    return toolchain.node_modules()
