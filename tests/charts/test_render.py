"""tests/charts/render.py: Helm's engine with the cluster's capabilities, as `helm template` prints."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.charts.render import RenderFailed, kube_semver, render


def _chart(tmp_path: Path) -> Path:
    chart = tmp_path / "demo"
    (chart / "templates").mkdir(parents=True)
    (chart / "crds").mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 1.0.0\nappVersion: v9\n")
    (chart / "crds" / "crd.yaml").write_text(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: things.example.com}\n"
        "spec: {group: example.com, scope: Cluster, names: {kind: Thing, plural: things}, versions: []}\n"
    )
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Release.Name }}}\n"
        "data:\n  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n  ns: {{ .Release.Namespace | quote }}\n"
        '  required: {{ required "need .Values.must" .Values.must | quote }}\n'
    )
    (chart / "templates" / "list.yaml").write_text(
        "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: example.com/v1, kind: Thing, metadata: {name: t}}\n"
        "- apiVersion: v1\n  kind: ServiceAccount\n  metadata: {name: hook, annotations: {helm.sh/hook: pre-install}}\n"
    )
    (chart / "templates" / "NOTES.txt").write_text("hello")
    return chart


def test_render_uses_the_clusters_kubernetes_version_namespace_and_shipped_crds(tmp_path: Path):
    out = render(_chart(tmp_path), {"must": "x"}, release="rel", namespace="team", kube_version="1.34", cached=False)
    assert (out.chart, out.version, out.app_version) == ("demo", "1.0.0", "v9")
    assert [o["kind"] for o in out.objects] == ["CustomResourceDefinition", "ConfigMap", "Thing", "ServiceAccount"]
    cm = out.one("ConfigMap", "rel")
    assert cm["data"] == {"kube": "v1.34.0", "ns": "team", "required": "x"}
    assert cm["metadata"]["namespace"] == "team"  # namespaced objects land in the release namespace
    assert "namespace" not in out.one("Thing", "t")["metadata"]  # its CRD says Cluster scope
    assert [o["metadata"]["name"] for o in out.hooks] == ["hook"] and out.one("ServiceAccount", "hook") not in out.installed


def test_a_template_failure_is_a_render_failure(tmp_path: Path):
    with pytest.raises(RenderFailed, match="need .Values.must"):
        render(_chart(tmp_path), {}, release="rel", namespace="team", kube_version="1.34", cached=False)


def test_kube_versions_as_terraform_writes_them():
    assert kube_semver("1.34") == "v1.34.0" and kube_semver("v1.33.5") == "v1.33.5"
