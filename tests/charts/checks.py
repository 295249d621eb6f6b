"""Checks over a rendered release: its values against the chart, its objects against their schemas.

**Values.** Helm silently ignores a key its templates never read, so a typo deploys the
chart's default. Every key of the user-supplied values must exist in the chart's
``values.yaml``, recursively, with the same shape (a map where the chart has a map, a scalar or
list where it has one), except below a *free-form* map. A map is free-form when

* its default in ``values.yaml`` is empty (``{}``) or null — ``podAnnotations``,
  ``nodeSelector``, ``defaultTags``, ``extraArgs`` … take keys the chart cannot list; or
* the chart's templates hand the whole map on: ``range … := .Values.<path>``,
  ``toYaml .Values.<path>``, ``.Values.<path> | toYaml`` (or ``toJson``, ``tpl``, ``omit``,
  ``deepCopy``, ``merge``), ``with .Values.<path>`` around ``toYaml .``; e.g. argo-cd's
  ``configs.cm`` (``omit .Values.configs.cm "create" "annotations"``), whose defaults are only
  a few of the keys argocd-cm takes; or
* the chart's ``values.schema.json`` declares it a map of some schema (``additionalProperties``
  being a schema; a bare ``true`` is what schema generators write everywhere, so it does not count).

Lists are atomic in Helm (a user list replaces the default), so their items are not compared.
Values also pass the chart's ``values.schema.json`` (validated by Helm's SDK) where it has one.

**Objects.** Built-in kinds: kubernetes-validate, strict, for the cluster's Kubernetes version.
Kinds defined by a CRD the release ships: that CRD's ``openAPIV3Schema`` with jsonschema,
unknown fields refused unless the schema preserves them (a structural schema prunes them, the
API server's strict field validation refuses them). Argo CD / External Secrets kinds: the npm
validators tests/gitops uses (compiled from their CRDs). A map passed on whole still meets
kubernetes-validate downstream (a typo under ``resources`` is an unknown container field there).

**Workloads.** Every container has cpu and memory requests and limits; every long-running
container has a readiness and a liveness probe wherever its chart can render one.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate

from tests.gitops import support

# kubernetes-validate re-reads its schema files (the 3 MB _definitions.json included) for every
# object; they are read-only, so one read per file per process is enough (~5 s saved).
if not hasattr(kubernetes_validate.utils.schema_contents, "cache_info"):
    kubernetes_validate.utils.schema_contents = functools.lru_cache(maxsize=None)(kubernetes_validate.utils.schema_contents)

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
BATCH_KINDS = ("Job", "CronJob")
CRD_VALIDATOR_GROUPS = support.CRD_API_GROUPS  # argoproj.io, external-secrets.io


# -- values ------------------------------------------------------------------------------------


@functools.cache
def _template_text(chart_dir: str) -> str:
    texts = []
    for path in sorted(Path(chart_dir).rglob("templates/**/*")):
        if path.is_file() and path.suffix in (".yaml", ".yml", ".tpl", ".txt", ".json"):
            texts.append(path.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(texts)


_VALUES = r"\$?\.Values\.([\w.]*\w)"
_WHOLE = (
    re.compile(r"range\s+(?:\$\w+\s*,\s*)?(?:\$\w+\s*:=\s*)?\(?\s*" + _VALUES + r"(?![\w.])"),
    re.compile(r"(?:toYaml|toJson|toPrettyJson|tpl|omit|deepCopy|merge|mergeOverwrite)\s+\(?\s*" + _VALUES + r"(?![\w.])"),
    re.compile(_VALUES + r"\s*\)?\s*\|\s*(?:toYaml|toJson|toPrettyJson)\b"),
)
_WITH = re.compile(r"\{\{-?\s*with\s+\(?\s*" + _VALUES + r"\s*\)?\s*-?\}\}")
_END = re.compile(r"\{\{-?\s*end\b")
_DOT_TO_YAML = re.compile(r"(?:toYaml|toJson)\s+\.(?![\w.])")


@functools.cache
def whole_paths(chart_dir: Path) -> frozenset[str]:
    """``.Values`` paths the chart's templates hand on whole: range/toYaml/toJson/tpl/omit/merge of
    it, or ``with`` it around ``toYaml .`` (up to the first ``end``)."""
    text = _template_text(str(chart_dir))
    found = {m.group(1) for pattern in _WHOLE for m in pattern.finditer(text)}
    for m in _WITH.finditer(text):
        end = _END.search(text, m.end())
        if _DOT_TO_YAML.search(text, m.end(), end.start() if end else len(text)):
            found.add(m.group(1))
    return frozenset(found)


def passed_whole(chart_dir: Path, path: tuple[str, ...]) -> bool:
    return ".".join(path) in whole_paths(Path(chart_dir))


def _schema_node(schema: dict[str, Any] | None, path: tuple[str, ...]) -> dict[str, Any] | None:
    node = schema
    for part in path:
        if not isinstance(node, dict):
            return None
        props = node.get("properties") or {}
        node = props.get(part) if part in props else None
    return node


def unknown_values(
    values: Any, defaults: Any, *, chart_dir: Path, schema: dict[str, Any] | None = None, path: tuple[str, ...] = ()
) -> list[str]:
    """Keys of ``values`` the chart does not have, and shapes that differ from its defaults."""
    problems: list[str] = []
    if not isinstance(values, dict):
        return problems
    for key, value in values.items():
        here = path + (str(key),)
        dotted = ".".join(here)
        if not isinstance(defaults, dict) or key not in defaults:
            problems.append(f"{dotted}: not a value of the chart (helm would ignore it)")
            continue
        default = defaults[key]
        if default is None or default == {}:
            continue  # free-form or unset: the chart takes whatever is given
        if isinstance(default, dict) != isinstance(value, dict) or (
            isinstance(default, list) and not isinstance(value, list) and value is not None
        ):
            problems.append(f"{dotted}: the chart has a {type(default).__name__} here, the values give a {type(value).__name__}")
            continue
        if isinstance(value, dict):
            node = _schema_node(schema, here)
            if passed_whole(chart_dir, here) or (isinstance(node, dict) and isinstance(node.get("additionalProperties"), dict)):
                continue
            problems += unknown_values(value, default, chart_dir=chart_dir, schema=schema, path=here)
    return problems


def schema_problems(chart: Any, values: dict[str, Any]) -> list[str]:
    """values.schema.json violations (Helm's validator over the coalesced values), [] without a schema."""
    import helm_python

    if chart.schema is None:
        return []
    try:
        chart.validate_schema(chart.merge_values(values))
    except helm_python.HelmError as exc:
        return [f"values.schema.json: {exc}"]
    return []


# -- objects -----------------------------------------------------------------------------------


def crd_schemas(objects: list[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(group, version, kind) → openAPIV3Schema of every CustomResourceDefinition among ``objects``."""
    found = {}
    for obj in objects:
        if obj.get("kind") != "CustomResourceDefinition":
            continue
        spec = obj.get("spec") or {}
        for version in spec.get("versions") or []:
            schema = ((version.get("schema") or {}).get("openAPIV3Schema")) or {}
            found[(spec["group"], version["name"], spec["names"]["kind"])] = schema
    return found


def _closed(schema: Any) -> Any:
    """A CRD schema as JSON Schema that refuses unknown fields (structural pruning, strict apply)."""
    if isinstance(schema, list):
        return [_closed(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _closed(v) for k, v in schema.items()}
    if "properties" in schema and "additionalProperties" not in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    if schema.get("nullable"):
        out.pop("type", None)  # OpenAPI nullable: null is allowed besides the declared type
    return out


def _with_metadata(schema: dict[str, Any]) -> dict[str, Any]:
    closed = copy.deepcopy(_closed(schema))
    props = closed.setdefault("properties", {})
    props.setdefault("apiVersion", {"type": "string"})
    props.setdefault("kind", {"type": "string"})
    props["metadata"] = {"type": "object"}  # checked by the API server's own ObjectMeta rules
    return closed


def object_problems(
    objects: list[dict[str, Any]], kube_version: str, crds: dict[tuple[str, str, str], dict[str, Any]]
) -> tuple[list[str], list[dict[str, Any]]]:
    """Problems of every object, and the Argo CD / ESO objects left for the npm validators."""
    problems: list[str] = []
    for_node: list[dict[str, Any]] = []
    for obj in objects:
        api_version, kind = obj.get("apiVersion", ""), obj.get("kind", "")
        group, _, version = api_version.rpartition("/")
        what = f"{kind}/{(obj.get('metadata') or {}).get('name')}"
        if (group, version, kind) in crds:
            validator = jsonschema.Draft7Validator(_with_metadata(crds[(group, version, kind)]))
            for error in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path)):
                problems.append(f"{what}: {'.'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}")
            continue
        if group in CRD_VALIDATOR_GROUPS:
            for_node.append(obj)
            continue
        try:
            kubernetes_validate.validate(obj, kube_version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{what}: invalid for Kubernetes {kube_version}: {exc.message} (at {'.'.join(map(str, exc.path))})")
        except kubernetes_validate.SchemaNotFoundError:
            problems.append(
                f"{what}: {api_version} {kind} is neither a Kubernetes {kube_version} kind nor a CRD this release ships"
            )
    return problems, for_node


def pod_specs(obj: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if obj.get("kind") in WORKLOAD_KINDS + ("Job",):
        yield obj["spec"]["template"]["spec"]
    elif obj.get("kind") == "CronJob":
        yield obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]


_INCLUDE = re.compile(r'(?:include|template)\s+"([^"]+)"')
_DEFINE = re.compile(r'\{\{-?\s*define\s+"([^"]+)"\s*-?\}\}(.*?)\{\{-?\s*end\s*-?\}\}', re.S)


@functools.cache
def _defines(chart_dir: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in _DEFINE.finditer(_template_text(chart_dir))}


def chart_can_render(chart_dir: Path, template: str | None, probe: str) -> bool:
    """Does the template that renders a workload (or a named template it includes) ever write
    ``probe``? A probe the chart cannot render at all is upstream's choice, not a values gap —
    e.g. argo-helm's application controller (no liveness probe, like Argo CD's own manifests: a
    restart drops its cluster cache) or cluster-autoscaler's (liveness only)."""
    if template is None:
        return True
    path = Path(chart_dir) / template
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    defines = _defines(str(chart_dir))
    texts = [text] + [defines.get(name, "") for name in _INCLUDE.findall(text)]
    return any(probe in t for t in texts)


def workload_problems(
    objects: list[dict[str, Any]], chart_dir: Path | None = None, sources: dict[tuple[str, str], str] | None = None
) -> list[str]:
    """Every container has requests and limits; every long-running container has a readiness and
    a liveness probe wherever its chart can render one (:func:`chart_can_render`)."""
    problems = []
    for obj in objects:
        for spec in pod_specs(obj):
            what = f"{obj['kind']}/{obj['metadata']['name']}"
            for group in ("initContainers", "containers"):
                for container in spec.get(group) or []:
                    resources = container.get("resources") or {}
                    for part in ("requests", "limits"):
                        if not {"cpu", "memory"} <= set(resources.get(part) or {}):
                            problems.append(f"{what} {container['name']}: resources.{part} lacks cpu or memory")
                    if group == "containers" and obj["kind"] in WORKLOAD_KINDS:
                        for probe in ("readinessProbe", "livenessProbe"):
                            template = (sources or {}).get((obj["kind"], obj["metadata"]["name"]))
                            if not container.get(probe) and (chart_dir is None or chart_can_render(chart_dir, template, probe)):
                                problems.append(f"{what} {container['name']}: no {probe}")
    return problems
