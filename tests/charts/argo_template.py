"""Argo CD's ApplicationSet Go templates, evaluated by a real Go ``text/template`` + sprig engine.

Model of argoproj/argo-cd@v3.4.4 ``applicationset/utils/utils.go``: with ``goTemplate: true``
every string of the template (map values, list items *and* map keys) is parsed on its own and
executed with the generator's parameters as the dot, with the ApplicationSet's
``goTemplateOptions`` applied (``Render.Replace``); non-strings are kept; the result of a
string is a string (nothing is re-typed). The functions are sprig's ``GenericFuncMap`` less
``env``, ``expandenv`` and ``getHostByName``, plus ``normalize``, ``slugify``, ``toYaml``,
``fromYaml`` and ``fromYamlArray`` (``init`` there).

No Go toolchain runs here, but Helm's Go SDK does (``helm_python``): each string becomes a
named template of a throwaway chart, rendered by Helm's engine (Go ``text/template`` with
sprig) through ``include`` — which, unlike a template file's output, keeps Go's ``<no value>``
marker (helm/helm@v4.2.3 ``pkg/engine/engine.go`` strips it only from files and ``tpl``). Where
Helm's engine differs from Argo CD's, this module says so instead of guessing:

* functions Helm adds that Argo CD lacks (``include``, ``tpl``, ``required``, ``lookup``,
  ``toToml`` …, ``fromJsonArray``, ``getHostByName``) are refused as Go's parser would refuse
  them ("function not defined"); Argo CD's own ``normalize``/``slugify`` are not modelled and
  raise :class:`NotModelled`;
* Helm runs with ``missingkey=zero``. A missing key prints ``<no value>``; with Argo CD's
  ``missingkey=error`` that is an execution error ("map has no entry for key"). Here it is an
  error for ``index`` of a missing label or annotation too, where Argo CD (whose labels and
  annotations are ``map[string]string``) would quietly yield "" — deliberately stricter: an
  empty role ARN or region must fail a test, not deploy.
"""

from __future__ import annotations

import base64
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

# Helm's engine functions that Argo CD's template has not: helm@v4.2.3 pkg/engine/funcs.go
# `extra` and engine.go's late-bound ones, less what sprig v3.3.0 (both pin it) already has
# (toJson, mustToJson, fromJson since sprig 3.2.0), plus sprig's getHostByName, which Argo CD deletes.
NOT_IN_ARGO_CD = frozenset(
    {
        "include",
        "tpl",
        "required",
        "lookup",
        "toToml",
        "mustToToml",
        "fromToml",
        "mustToYaml",
        "toYamlPretty",
        "fromJsonArray",
        "getHostByName",
    }
)
# Argo CD's own additions that Helm's engine has not.
ARGO_CD_ONLY = frozenset({"normalize", "slugify"})
_KEYWORDS = frozenset(
    {"if", "else", "end", "range", "with", "define", "template", "block", "break", "continue", "nil", "true", "false"}
)
_ACTION = re.compile(r"\{\{(.*?)\}\}", re.S)
_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`|\'(?:[^\'\\]|\\.)*\'|/\*.*?\*/', re.S)
_IDENT = re.compile(r"(?<![\w.$])([A-Za-z_]\w*)")
_NO_VALUE = "<no value>"


class TemplateError(Exception):
    """Argo CD would refuse this template (parse or execution error)."""


class NotModelled(TemplateError):
    """The template uses something this model cannot evaluate faithfully."""


def functions_used(text: str) -> set[str]:
    """Identifiers called as functions in the actions of ``text`` (literals and comments removed)."""
    found: set[str] = set()
    for action in _ACTION.findall(text):
        bare = _LITERAL.sub(" ", action)
        found |= {name for name in _IDENT.findall(bare) if name not in _KEYWORDS}
    return found


def _check_functions(text: str) -> None:
    used = functions_used(text)
    refused = sorted(used & NOT_IN_ARGO_CD)
    if refused:
        raise TemplateError(f"template {text!r}: function {refused[0]!r} not defined (Argo CD's goTemplate has no {refused[0]})")
    unmodelled = sorted(used & ARGO_CD_ONLY)
    if unmodelled:
        raise NotModelled(f"template {text!r}: {unmodelled[0]} is Argo CD's own function, which this model does not evaluate")
    if re.search(r"\{\{-?\s*(define|block|template)\b", text):
        raise NotModelled(f"template {text!r}: named templates are not modelled")


def missing_key_option(options: list[str]) -> str:
    """The ``missingkey=`` option in force (Go's default is ``invalid``, printing ``<no value>``)."""
    value = "invalid"
    for option in options:
        if option.startswith("missingkey="):
            value = option.split("=", 1)[1]
    if value == "default":
        value = "invalid"
    if value not in ("invalid", "zero", "error"):
        raise TemplateError(f"unrecognized option: {value!r} (goTemplateOptions)")
    return value


def render_strings(texts: list[str], params: dict[str, Any], options: list[str]) -> list[str]:
    """Each of ``texts`` executed as its own Go template with ``params`` as the dot."""
    from tests.charts.render import RenderFailed, render

    missing = missing_key_option(options)
    if not texts:
        return []
    for text in texts:
        _check_functions(text)
    with tempfile.TemporaryDirectory(prefix="kyeol-gotemplate-") as tmp:
        chart = Path(tmp) / "gotemplate"
        (chart / "templates").mkdir(parents=True)
        (chart / "Chart.yaml").write_text("apiVersion: v2\nname: gotemplate\nversion: 0.0.1\n")
        (chart / "templates" / "_strings.tpl").write_text(
            "".join(f'{{{{ define "s{i}" }}}}{text}{{{{ end }}}}\n' for i, text in enumerate(texts))
        )
        (chart / "templates" / "out.yaml").write_text(
            "".join(f's{i}: {{{{ include "s{i}" .Values.params | b64enc | quote }}}}\n' for i in range(len(texts)))
        )
        try:
            rendered = render(
                chart, {"params": params}, release="gotemplate", namespace="default", kube_version="1.34", cached=False
            )
        except RenderFailed as exc:
            raise TemplateError(f"Go template failed: {exc}") from None
    (out,) = rendered.objects or [{}]
    results = []
    for i, text in enumerate(texts):
        value = base64.b64decode(out[f"s{i}"]).decode("utf-8")
        if _NO_VALUE in value and missing == "error":
            raise TemplateError(f"template {text!r}: map has no entry for a key it reads (missingkey=error)")
        results.append(value)
    return results


def strings_in(node: Any, found: list[str]) -> None:
    """Every string of ``node`` that Argo CD templates: values, list items and map keys."""
    if isinstance(node, str):
        found.append(node)
    elif isinstance(node, list):
        for item in node:
            strings_in(item, found)
    elif isinstance(node, dict):
        for key, value in node.items():
            strings_in(value, found)
            if isinstance(key, str):
                found.append(key)


def replace_strings(node: Any, table: Callable[[str], str]) -> Any:
    if isinstance(node, str):
        return table(node)
    if isinstance(node, list):
        return [replace_strings(item, table) for item in node]
    if isinstance(node, dict):
        return {(table(k) if isinstance(k, str) else k): replace_strings(v, table) for k, v in node.items() if v is not None}
    return node


def render_tree(node: Any, params: dict[str, Any], options: list[str]) -> Any:
    """``node`` with every string rendered (``deeplyReplace``); nil map values are dropped."""
    texts: list[str] = []
    strings_in(node, texts)
    unique = sorted(set(texts))
    done = dict(zip(unique, render_strings(unique, params, options), strict=False))
    return replace_strings(node, done.__getitem__)


def yaml_text(node: Any) -> str:
    return yaml.safe_dump(node, sort_keys=False)
