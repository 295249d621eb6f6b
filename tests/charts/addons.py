"""From the add-on ApplicationSets to the Helm releases Argo CD would render for one cluster.

Models of Argo CD v3.4.4 (argoproj/argo-cd@v3.4.4), each cited where it is used:

* the cluster generator (``applicationset/generators/cluster.go``): cluster Secrets in
  ``argocd`` labelled ``argocd.argoproj.io/secret-type: cluster`` and matching the selector;
  parameters ``name``, ``nameNormalized``, ``server``, ``project`` and, with goTemplate,
  ``metadata.labels``/``metadata.annotations`` (each only when non-empty), plus the generator's
  ``values`` templated first (``value_interpolation.go``);
* the template rendering (``applicationset/utils/utils.go``) — :mod:`tests.charts.argo_template`;
* the repo server's ``helm template`` (``reposerver/repository/repository.go`` ``helmTemplate``):
  release name ``helm.releaseName`` or the Application's name, namespace ``helm.namespace`` or
  the destination's, ``$ref/…`` value files from the ``ref`` source, then ``valuesObject``
  (or ``values``) as the last values file, then ``parameters`` as ``--set``/``--set-string``,
  ``--include-crds``, the destination's Kubernetes version.

The ``ref`` sources must be this repository (the trees are read from the working copy).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from steps.adapters.helm import merge_values
from tests.charts import argo_template, source
from tests.charts.render import Rendered, render

ROOT = Path(__file__).resolve().parents[2]
APPSETS = ROOT / "kyeol-platform-gitops" / "argocd" / "applications"
THIS_REPO = re.compile(r"^https://github\.com/kyeol/kyeol(\.git)?/?$")
SECRET_TYPE = ("argocd.argoproj.io/secret-type", "cluster")


class ModelError(Exception):
    """The ApplicationSet uses something this model does not cover (say so rather than guess)."""


@dataclass
class HelmRelease:
    """One Helm source of a generated Application, ready to render."""

    application: str
    repo: str
    chart: str
    version: str
    release: str
    namespace: str
    values: dict[str, Any]
    value_files: list[Path]
    values_object: dict[str, Any]

    def chart_dir(self) -> Path:
        return source.chart_dir(self.chart, self.version, self.repo)

    def render(self, kube_version: str, values: dict[str, Any] | None = None) -> Rendered:
        return render(
            self.chart_dir(),
            self.values if values is None else values,
            release=self.release,
            namespace=self.namespace,
            kube_version=kube_version,
        )


def load_appsets(folder: Path = APPSETS) -> list[dict[str, Any]]:
    """Every ApplicationSet in the add-on folder (whatever files it holds)."""
    found = []
    for path in sorted(folder.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc and doc.get("kind") == "ApplicationSet":
                found.append(doc)
    return found


def _selector_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """metav1.LabelSelector: matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist)."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        ok = {
            "In": lambda: labels.get(key) in values,
            "NotIn": lambda: labels.get(key) not in values,
            "Exists": lambda: key in labels,
            "DoesNotExist": lambda: key not in labels,
        }.get(op)
        if ok is None:
            raise ModelError(f"label selector operator {op!r}")
        if not ok():
            return False
    return True


def cluster_params(secret: dict[str, Any]) -> dict[str, Any]:
    """The cluster generator's parameters for one cluster Secret (goTemplate form)."""
    data = secret.get("stringData") or {}
    meta = secret.get("metadata") or {}
    name = str(data.get("name", ""))
    metadata: dict[str, Any] = {}
    if meta.get("annotations"):
        metadata["annotations"] = dict(meta["annotations"])
    if meta.get("labels"):
        metadata["labels"] = dict(meta["labels"])
    sanitized = re.sub(r"[^-a-z0-9.]", "-", name.lower())[:253].strip("-.")  # utils.SanitizeName
    return {
        "name": name,
        "nameNormalized": sanitized,
        "server": str(data.get("server", "")),
        "project": str(data.get("project", "")),
        "metadata": metadata,
    }


def generate(appset: dict[str, Any], secrets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Applications an ApplicationSet generates for these cluster Secrets."""
    spec = appset["spec"]
    name = appset["metadata"]["name"]
    if not spec.get("goTemplate"):
        raise ModelError(f"ApplicationSet {name}: only goTemplate: true is modelled")
    if spec.get("templatePatch") or spec.get("strategy"):
        raise ModelError(f"ApplicationSet {name}: templatePatch/strategy are not modelled")
    options = list(spec.get("goTemplateOptions") or [])
    apps = []
    for generator in spec.get("generators") or []:
        if set(generator) != {"clusters"}:
            raise ModelError(f"ApplicationSet {name}: generator {sorted(generator)} is not modelled (clusters only)")
        clusters = generator["clusters"] or {}
        selector = clusters.get("selector") or {}
        if not selector:
            raise ModelError(f"ApplicationSet {name}: a selector-less cluster generator also selects the local cluster")
        for secret in secrets:
            labels = (secret.get("metadata") or {}).get("labels") or {}
            if labels.get(SECRET_TYPE[0]) != SECRET_TYPE[1] or not _selector_matches(selector, labels):
                continue
            params = cluster_params(secret)
            if clusters.get("values"):
                keys = list(clusters["values"])
                rendered = argo_template.render_strings([str(clusters["values"][k]) for k in keys], params, options)
                params["values"] = dict(zip(keys, rendered, strict=False))
            template = clusters.get("template") or spec["template"]
            app = argo_template.render_tree(template, params, options)
            metadata = dict(app.get("metadata") or {})
            metadata.setdefault("namespace", appset["metadata"].get("namespace", "argocd"))
            apps.append(
                {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": metadata, "spec": app.get("spec") or {}}
            )
    return apps


def _ref_roots(sources: list[dict[str, Any]], app: str) -> dict[str, Path]:
    roots = {}
    for src in sources:
        if src.get("ref"):
            if not THIS_REPO.match(str(src.get("repoURL", ""))):
                raise ModelError(f"{app}: ref source {src['ref']} is {src.get('repoURL')}, not this repository")
            roots[src["ref"]] = ROOT
    return roots


def _value_file(raw: str, refs: dict[str, Path], app: str) -> Path:
    match = re.match(r"^\$([\w-]+)/(.*)$", raw)
    if not match:
        raise ModelError(f"{app}: value file {raw!r} is not a $ref/ path (chart-relative files are not modelled)")
    if match.group(1) not in refs:
        raise ModelError(f"{app}: value file {raw!r} names no ref source")
    return refs[match.group(1)] / match.group(2)


def helm_releases(app: dict[str, Any]) -> list[HelmRelease]:
    """Every Helm-chart source of an Application, with the values the repo server would pass."""
    spec = app["spec"]
    sources = list(spec.get("sources") or ([spec["source"]] if spec.get("source") else []))
    name = app["metadata"]["name"]
    refs = _ref_roots(sources, name)
    out = []
    for src in sources:
        if not src.get("chart"):
            continue
        helm = src.get("helm") or {}
        files = [_value_file(raw, refs, name) for raw in helm.get("valueFiles") or []]
        values: dict[str, Any] = {}
        for path in files:
            if not path.is_file():
                if helm.get("ignoreMissingValueFiles"):
                    continue
                raise AssertionError(f"{name}: value file {path.relative_to(ROOT)} does not exist")
            values = merge_values(values, yaml.safe_load(path.read_text(encoding="utf-8")) or {})
        extra = helm.get("valuesObject")
        if extra is None and helm.get("values"):
            extra = yaml.safe_load(helm["values"]) or {}
        values = merge_values(values, extra or {})
        if helm.get("parameters") or helm.get("fileParameters"):
            import helm_python

            for param in helm.get("parameters") or []:
                parse = helm_python.parse_set_string_values if param.get("forceString") else helm_python.parse_set_string
                values = merge_values(values, parse(f"{param['name']}={param['value']}"))
            if helm.get("fileParameters"):
                raise ModelError(f"{name}: helm.fileParameters are not modelled")
        out.append(
            HelmRelease(
                application=name,
                repo=str(src["repoURL"]),
                chart=str(src["chart"]),
                version=str(src.get("targetRevision", "")),
                release=str(helm.get("releaseName") or name),
                namespace=str(helm.get("namespace") or (spec.get("destination") or {}).get("namespace") or "default"),
                values=values,
                value_files=files,
                values_object=dict(extra or {}),
            )
        )
    return out


def appset_chart_dir(chart: str) -> Path:
    """The source of ``chart`` at the version (and from the repository) its ApplicationSet
    pins, from the mirror or the cache (:func:`tests.charts.source.chart_dir`: never a skip)."""
    from tests.charts.source import chart_dir

    for appset in load_appsets():
        for src in appset["spec"]["template"]["spec"].get("sources") or [appset["spec"]["template"]["spec"].get("source")]:
            if src and src.get("chart") == chart:
                return chart_dir(chart, str(src["targetRevision"]), str(src["repoURL"]))
    raise LookupError(f"no ApplicationSet in {APPSETS} installs chart {chart!r}")
