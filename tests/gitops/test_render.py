"""Every kustomization of the two GitOps trees renders with the real kustomize, and every object
validates: built-in kinds strictly against the Kubernetes version EKS runs, Argo CD and
External Secrets kinds against their upstream CRD schemas."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from tests import toolchain
from tests.gitops import support

EXPECTED_KUSTOMIZATIONS = {
    "kyeol-app-gitops/apps/saleor/base",
    "kyeol-app-gitops/apps/saleor/overlays/dev",
    "kyeol-app-gitops/apps/saleor/overlays/stage",
    "kyeol-app-gitops/apps/saleor/overlays/prod",
    "kyeol-platform-gitops/argocd/app-of-apps",
    "kyeol-platform-gitops/argocd/applications",
    "kyeol-platform-gitops/clusters/dev/external-secrets",
    "kyeol-platform-gitops/clusters/stage/external-secrets",
    "kyeol-platform-gitops/clusters/prod/external-secrets",
}


def _rel(path: Path) -> str:
    return str(path.relative_to(support.ROOT))


def test_the_trees_hold_the_kustomizations_the_runbook_layout_needs():
    assert {_rel(p) for p in support.kustomization_dirs()} == EXPECTED_KUSTOMIZATIONS


@pytest.mark.parametrize("folder", sorted(EXPECTED_KUSTOMIZATIONS))
def test_kustomization_renders_and_validates_strictly(folder: str):
    docs = support.render(support.ROOT / folder)
    assert docs, f"{folder} renders nothing"
    for doc in docs:
        if support.is_crd_object(doc):
            continue  # checked against the CRD schemas below
        try:
            kubernetes_validate.validate(doc, support.KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(
                f"{folder}: {doc['kind']}/{doc['metadata']['name']} is invalid for Kubernetes {support.KUBERNETES_VERSION}: {exc.message}"
            )
        except kubernetes_validate.SchemaNotFoundError:
            pytest.fail(
                f"{folder}: {doc['apiVersion']}/{doc['kind']} is not a Kubernetes {support.KUBERNETES_VERSION} kind nor a known CRD"
            )


def _crd_objects(addon_apps: list[dict[str, Any]], saleor_apps: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    docs = [d for folder in EXPECTED_KUSTOMIZATIONS for d in support.render(support.ROOT / folder) if support.is_crd_object(d)]
    return docs + addon_apps + list(saleor_apps.values())


def test_argo_cd_and_external_secrets_objects_match_the_upstream_crd_schemas(addon_apps, saleor_apps, node_modules):
    docs = _crd_objects(addon_apps, saleor_apps)
    kinds = {d["kind"] for d in docs}
    assert kinds == {"Application", "AppProject", "ApplicationSet", "ExternalSecret", "ClusterSecretStore"}
    report = support.crd_validate(docs, node_modules)
    failures = [f"{r['kind']}/{r['name']}: {r['error']}" for r in report["results"] if not r["ok"]]
    assert not failures, "\n".join(failures)
    assert len(report["results"]) == len(docs)


def test_the_crd_validators_reject_what_argo_cd_and_external_secrets_would(node_modules):
    """Negative control: the validators are real, not a pass-through."""
    broken_app = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "broken", "namespace": "argocd"},
        "spec": {
            "project": "apps",
            "source": {"repoURL": "https://example.invalid/x.git"},
            "syncPolicy": {"automated": {"prune": "yes"}},
        },
    }
    broken_store = {
        "apiVersion": support.ESO_API_VERSION,
        "kind": "ClusterSecretStore",
        "metadata": {"name": "broken"},
        "spec": {"provider": {"aws": {"service": "SecretsManager"}}},
    }
    v1beta1 = dict(broken_store, apiVersion="external-secrets.io/v1beta1")
    results = support.crd_validate([broken_app, broken_store, v1beta1], node_modules)["results"]
    assert [r["ok"] for r in results] == [False, False, False]
    assert "destination" in results[0]["error"] and "prune" in results[0]["error"]
    assert "region" in results[1]["error"]
    assert "no validator" in results[2]["error"]


def test_crd_validator_versions_match_the_pinned_argo_cd_and_external_secrets(node_modules):
    assert support.CRD_VALIDATORS == toolchain.NPM_PACKAGES
    installed = support.crd_validate([], node_modules)["versions"]
    assert installed == support.CRD_VALIDATORS
    # @kubernetes-models/argo-cd is generated from the Go module github.com/argoproj/argo-cd/v<N>:
    # its major must be the pinned chart's app major (v3.4.4 → v3).
    app_major = re.match(r"v(\d+)\.", support.ARGOCD_APP_VERSION).group(1)
    schemas = {p.name for p in (node_modules / "@kubernetes-models" / "argo-cd" / "_schemas").iterdir()}
    assert any(name.startswith(f"ComGithubArgoprojArgoCdV{app_major}PkgApis") for name in schemas)
    assert not any(re.match(rf"ComGithubArgoprojArgoCdV(?!{app_major}Pkg)\d+Pkg", name) for name in schemas)
    # The External Secrets chart serves only external-secrets.io/v1: the validators must cover it.
    eso = node_modules / "@kubernetes-models" / "external-secrets" / "external-secrets.io" / "v1"
    assert (eso / "ExternalSecret.js").is_file() and (eso / "ClusterSecretStore.js").is_file()
    manifest = json.loads((node_modules / "@kubernetes-models" / "external-secrets" / "package.json").read_text())
    assert "github.com/external-secrets/external-secrets/apis/externalsecrets/v1" in manifest["go-generate"]["input"]


def test_every_external_secrets_object_uses_the_api_version_the_pinned_chart_serves(overlays):
    platform = [
        d for env in ("dev", "stage", "prod") for d in support.render(support.PLATFORM / "clusters" / env / "external-secrets")
    ]
    eso_docs = [d for docs in overlays.values() for d in docs if d["apiVersion"].startswith("external-secrets.io/")] + platform
    assert eso_docs
    assert {d["apiVersion"] for d in eso_docs} == {support.ESO_API_VERSION}


def test_validation_targets_the_kubernetes_version_the_eks_module_pins():
    versions = {}
    for variables in sorted(support.INFRA.glob("envs/*/variables.tf")):
        text = variables.read_text(encoding="utf-8")
        block = re.search(r'variable\s+"kubernetes_version"\s*{(.*?)\n}', text, re.S)
        if block:
            default = re.search(r'default\s*=\s*"([0-9.]+)"', block.group(1))
            if default:
                versions[variables.parent.name] = default.group(1)
    if not versions:
        pytest.skip("kyeol-infra-terraform declares no kubernetes_version default")
    assert set(versions.values()) == {support.KUBERNETES_VERSION}, versions
