"""Render a chart exactly as Helm would, with Helm's own Go engine (``helm_python``), offline.

``helm_python.Chart.render`` takes the release name and namespace but not the capabilities;
the C ABI under it (``helm_render`` of helm-c-sdk 0.2.2, which decodes its options strictly
and refuses an unknown key) also accepts ``kube_version`` and ``api_versions``, the
``--kube-version``/``--api-versions`` of ``helm template``. :func:`render` passes them through
``helm_python._native`` so ``.Capabilities.KubeVersion`` is the cluster's, not the SDK's
default (v1.36). The result is what ``helm template --include-crds`` prints, as objects: the
chart's ``crds/`` first, then every template, hooks marked, and the release namespace set on
namespaced objects that name none (what helm's kube client and Argo CD do when applying).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# libyaml's loader: the Argo CD CRDs are megabytes of YAML (pure-Python parsing takes seconds).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
HOOK_ANNOTATION = "helm.sh/hook"
# Built-in kinds that are cluster-scoped (Kubernetes API reference); CRDs say their own scope.
CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "Node",
        "PersistentVolume",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "APIService",
        "PriorityClass",
        "StorageClass",
        "CSIDriver",
        "CSINode",
        "IngressClass",
        "RuntimeClass",
        "VolumeAttachment",
        "CertificateSigningRequest",
        "FlowSchema",
        "PriorityLevelConfiguration",
    }
)


class RenderFailed(Exception):
    """Helm refused the values or a template failed (its message says which)."""


@dataclass
class Rendered:
    """One release as Helm would install it."""

    chart: str
    version: str
    app_version: str
    release: str
    namespace: str
    values: dict[str, Any]  # the user-supplied values
    objects: list[dict[str, Any]] = field(default_factory=list)  # CRDs, then templates (hooks included)
    # (kind, name) → the template that rendered it, relative to the chart ("templates/x.yaml")
    sources: dict[tuple[str, str], str] = field(default_factory=dict)

    def of_kind(self, *kinds: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o.get("kind") in kinds]

    def one(self, kind: str, name: str) -> dict[str, Any]:
        found = [o for o in self.objects if o.get("kind") == kind and o["metadata"]["name"] == name]
        assert len(found) == 1, f"{self.chart}: expected one {kind}/{name}, found {len(found)}"
        return found[0]

    @property
    def hooks(self) -> list[dict[str, Any]]:
        return [o for o in self.objects if is_hook(o)]

    @property
    def installed(self) -> list[dict[str, Any]]:
        """What helm applies as the release's resources (hooks run apart and are not kept)."""
        return [o for o in self.objects if not is_hook(o)]


def _parsed(text: str) -> list[Any]:
    """YAML documents of ``text``; content-addressed JSON copies under the chart cache make a
    repeated parse (the Argo CD CRDs, megabytes, in every helm stand-in run) cost a JSON load."""
    from tests.charts.source import cache_root

    digest = hashlib.sha256(text.encode()).hexdigest()
    path = cache_root() / "parsed" / f"{digest}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    docs = list(yaml.load_all(text, Loader=_LOADER))
    if len(text) > 20_000:  # only the big ones are worth a file
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{digest}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(docs), encoding="utf-8")
            os.replace(tmp, path)
        except (OSError, TypeError, ValueError):
            pass  # not JSON-able (a YAML timestamp, say) or no room: parse next time
    return docs


def _documents(text: str) -> list[dict[str, Any]]:
    """The objects of a multi-document YAML text; a ``kind: List`` counts as its items."""
    found: list[dict[str, Any]] = []
    for doc in _parsed(text):
        if doc and doc.get("kind") == "List" and isinstance(doc.get("items"), list):
            found += [item for item in doc["items"] if item]
        elif doc:
            found.append(doc)
    return found


def is_hook(obj: dict[str, Any]) -> bool:
    return HOOK_ANNOTATION in ((obj.get("metadata") or {}).get("annotations") or {})


@functools.cache
def load(path: str) -> Any:
    """A loaded chart (immutable in the SDK, so one per process is shared)."""
    import helm_python

    return helm_python.Chart.load(path)


def kube_semver(version: str) -> str:
    """``1.34`` (how Terraform pins EKS) → ``v1.34.0`` (what Helm's capabilities take)."""
    parts = version.lstrip("v").split(".")
    return "v" + ".".join((parts + ["0", "0"])[:3])


def render(
    chart_path: Path,
    values: dict[str, Any],
    *,
    release: str,
    namespace: str,
    kube_version: str,
    api_versions: tuple[str, ...] = (),
    cached: bool = True,
) -> Rendered:
    """``helm template RELEASE CHART -n NAMESPACE --kube-version K --include-crds`` with ``values``."""
    import helm_python
    from helm_python import _native

    chart = load(str(Path(chart_path).resolve())) if cached else helm_python.Chart.load(chart_path)
    meta = chart.metadata
    opts: dict[str, Any] = {
        "name": release,
        "namespace": namespace,
        "kube_version": kube_semver(kube_version),
        "is_install": True,
    }
    if api_versions:
        opts["api_versions"] = list(api_versions)
    try:
        manifests: dict[str, str] = json.loads(
            _native.call_string("helm_render", chart._raw(), json.dumps(values), json.dumps(opts))
        )
    except helm_python.HelmError as exc:
        raise RenderFailed(f"{meta['name']} {meta['version']}: {exc}") from None
    objects: list[dict[str, Any]] = []
    sources: dict[tuple[str, str], str] = {}
    for crd in chart.crds:
        objects += _documents(crd["data"])
    for path in sorted(manifests):
        if not path.endswith((".yaml", ".yml", ".json")):
            continue  # NOTES.txt
        try:
            found = _documents(manifests[path])
            objects += found
            for obj in found:
                sources[(obj.get("kind", ""), (obj.get("metadata") or {}).get("name", ""))] = path.split("/", 1)[1]
        except yaml.YAMLError as exc:
            raise RenderFailed(f"{meta['name']} {meta['version']}: {path} renders invalid YAML: {exc}") from None
    cluster_kinds = CLUSTER_SCOPED | {
        o["spec"]["names"]["kind"]
        for o in objects
        if o.get("kind") == "CustomResourceDefinition" and o.get("spec", {}).get("scope") == "Cluster"
    }
    for obj in objects:
        meta_obj = obj.setdefault("metadata", {})
        if obj.get("kind") not in cluster_kinds and not meta_obj.get("namespace"):
            meta_obj["namespace"] = namespace
    return Rendered(
        meta["name"], meta["version"], str(meta.get("appVersion") or ""), release, namespace, values, objects, sources
    )
