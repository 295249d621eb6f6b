"""Argo CD ApplicationSet Go templates, evaluated by a real Go ``text/template`` engine.

Argo CD v3.4.4 (argoproj/argo-cd@v3.4.4 applicationset/utils/utils.go, ``Render.Replace`` and
``deeplyReplace``) parses every string field of an ApplicationSet's ``template`` on its own with
Go's text/template, the ``goTemplateOptions`` (here ``missingkey=error``) and sprig v3.3.0's
``GenericFuncMap`` minus ``env``/``expandenv``/``getHostByName``, plus ``normalize``, ``slugify``,
``toYaml``, ``fromYaml`` and ``fromYamlArray``. The cluster generator's parameters are ``name``,
``nameNormalized``, ``server``, ``project`` and ``metadata.labels``/``metadata.annotations`` of
the cluster Secret (applicationset/generators/cluster.go).

No Go toolchain is installed here, so the engine is Helm's (helm-python-sdk binds Helm's Go SDK):
each field is rendered as a one-template chart inside ``{{ with .Values.params }}`` so that ``.``
is the generator's parameters, as in Argo CD. Helm adds functions Argo CD lacks (``required``,
``include``, ``tpl``, ``lookup``, ``toToml``...), so :func:`functions_used` lets a test refuse
any function outside :data:`ARGOCD_FUNCS`. Helm renders with ``missingkey=zero``; the two
agree for ``index`` (a missing map key is the element's zero value under both options), which is
what the templates use. Go's builtins ``index``/``and``/``or`` evaluate as in Argo CD.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

GO_BUILTINS = frozenset("and call html index slice js len not or print printf println urlquery eq ge gt le lt ne".split())
# sprig v3.3.0 functions.go genericMap (Masterminds/sprig@v3.3.0): the names only.
SPRIG_GENERIC = frozenset(
    """
abbrev abbrevboth add add1 add1f addf adler32sum ago all any append atoi b32dec b32enc b64dec
b64enc base bcrypt biggest buildCustomCert camelcase cat ceil chunk clean coalesce compact concat
contains date dateInZone dateModify date_in_zone date_modify decryptAES deepCopy deepEqual default
derivePassword dict dig dir div divf duration durationRound empty encryptAES env expandenv ext fail
first float64 floor fromJson genCA genCAWithKey genPrivateKey genSelfSignedCert
genSelfSignedCertWithKey genSignedCert genSignedCertWithKey get getHostByName has hasKey hasPrefix
hasSuffix hello htmlDate htmlDateInZone htpasswd indent initial initials int int64 isAbs join
kebabcase keys kindIs kindOf last list lower max maxf merge mergeOverwrite min minf mod mul mulf
mustAppend mustChunk mustCompact mustDateModify mustDeepCopy mustFirst mustFromJson mustHas
mustInitial mustLast mustMerge mustMergeOverwrite mustPrepend mustRegexFind mustRegexFindAll
mustRegexMatch mustRegexReplaceAll mustRegexReplaceAllLiteral mustRegexSplit mustRest mustReverse
mustSlice mustToDate mustToJson mustToPrettyJson mustToRawJson mustUniq mustWithout
must_date_modify nindent nospace now omit osBase osClean osDir osExt osIsAbs pick pluck plural
prepend quote randAlpha randAlphaNum randAscii randBytes randInt randNumeric regexFind regexFindAll
regexMatch regexQuoteMeta regexReplaceAll regexReplaceAllLiteral regexSplit repeat replace rest
reverse round semver semverCompare seq set sha1sum sha256sum sha512sum shuffle slice snakecase
sortAlpha split splitList splitn squote sub subf substr swapcase ternary title toDate toDecimal
toJson toPrettyJson toRawJson toString toStrings trim trimAll trimPrefix trimSuffix trimall trunc
tuple typeIs typeIsLike typeOf uniq unixEpoch unset until untilStep untitle upper urlJoin urlParse
uuidv4 values without wrap wrapWith
""".split()
)
ARGOCD_FUNCS = (
    GO_BUILTINS
    | (SPRIG_GENERIC - {"env", "expandenv", "getHostByName"})
    | {"normalize", "slugify", "toYaml", "fromYaml", "fromYamlArray"}
)

_ACTION = re.compile(r"\{\{-?(.*?)-?\}\}", re.DOTALL)
_KEYWORDS = frozenset("if else end range with define template block break continue nil true false".split())


class TemplateError(Exception):
    """A field failed to evaluate, as Argo CD's ApplicationSet controller would report it."""


def functions_used(text: str) -> set[str]:
    """Identifiers in function position in ``text``'s actions (string literals dropped)."""
    used: set[str] = set()
    for action in _ACTION.findall(text):
        action = re.sub(r'"(?:[^"\\]|\\.)*"|`[^`]*`', '""', action)
        for name in re.findall(r"(?:^|[\s(|])([A-Za-z_][A-Za-z0-9_]*)", action):
            if name not in _KEYWORDS:
                used.add(name)
    return used


def template_strings(node: Any, path: str = "") -> list[tuple[str, str]]:
    """Every templated string of ``node`` with its path, as ``deeplyReplace`` visits them."""
    if isinstance(node, dict):
        return [found for key, value in node.items() for found in template_strings(value, f"{path}.{key}")]
    if isinstance(node, list):
        return [found for i, value in enumerate(node) for found in template_strings(value, f"{path}[{i}]")]
    return [(path, node)] if isinstance(node, str) and "{{" in node else []


def evaluate(text: str, params: dict[str, Any]) -> str:
    """``text`` evaluated against the generator ``params`` by Go's text/template (Helm's SDK)."""
    import helm_python

    if "{{" not in text:
        return text
    for name in sorted(functions_used(text) - ARGOCD_FUNCS):
        # What Argo CD's parse of the field says (text/template: function not defined).
        raise TemplateError(f'failed to parse template {text}: function "{name}" not defined')
    with tempfile.TemporaryDirectory(prefix="gotemplate-") as tmp:
        chart = Path(tmp)
        (chart / "templates").mkdir()
        (chart / "Chart.yaml").write_text("apiVersion: v2\nname: appset-field\nversion: 0.1.0\n")
        (chart / "templates" / "field.yaml").write_text("{{- with .Values.params }}" + text + "{{- end }}")
        try:
            with helm_python.Chart.load(str(chart)) as loaded:
                out = loaded.render(values={"params": params}, name="appset-field")
        except helm_python.HelmError as exc:
            raise TemplateError(str(exc)) from exc
    return next(iter(out.values()))


def render_template(node: Any, params: dict[str, Any]) -> Any:
    """A copy of ``node`` with every string field evaluated (``deeplyReplace``)."""
    if isinstance(node, dict):
        return {key: render_template(value, params) for key, value in node.items()}
    if isinstance(node, list):
        return [render_template(value, params) for value in node]
    return evaluate(node, params) if isinstance(node, str) else node


def cluster_params(secret: dict[str, Any]) -> dict[str, Any]:
    """The cluster generator's parameters for an Argo CD cluster Secret (``stringData`` or
    already-decoded ``data``)."""
    import base64

    meta = secret.get("metadata") or {}
    data = dict(secret.get("stringData") or {})
    for key, value in (secret.get("data") or {}).items():
        data.setdefault(key, base64.b64decode(value).decode())
    name = data.get("name", "")
    return {
        "name": name,
        "nameNormalized": re.sub(r"[^a-z0-9.-]", "-", name.lower()),
        "server": data.get("server", ""),
        "project": data.get("project", ""),
        "metadata": {"labels": dict(meta.get("labels") or {}), "annotations": dict(meta.get("annotations") or {})},
    }
