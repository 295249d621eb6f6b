"""The typed schema: every attribute with its cty type and computed/optional/required flags.

``extract.py`` reads what can be *set* (the jsii config structs). A provider stand-in that the
real ``terraform`` loads needs more: every attribute a configuration may *read* (computed-only
``arn``, ``endpoint``, ``identity[0].oidc[0].issuer``), its exact type, and list versus set.
The cdktn generator writes all of that into the generated JavaScript of each class
(``lib/<module>/index.js`` and ``index-structs/structsN.js``)::

    // identity - computed: true, optional: false, required: false
    _identity = new EksClusterIdentityList(this, "identity", false);   // list (true: a set)
    // arn - computed: true, optional: false, required: false
    get arn() { return this.getStringAttribute('arn'); }

The comment gives the Terraform name and the three flags exactly; the getter or field gives
the type (``getStringAttribute`` string, ``cdktn.Fn.tolist(getListAttribute)`` set of
strings, ``new XList(this, "n", wrapsSet)`` list/set of objects whose attributes are those of
``XOutputReference``, ``new XOutputReference`` one object, ``new XMap`` map of objects). Block
versus attribute, nesting mode and min/max come from ``extract.py``'s compact schema (exact,
checked against a real ``terraform providers schema -json``: shared/reference/provider-schema.md).

What the package cannot tell, and the stricter answer chosen (never looser):

* **sensitive**: not recorded by the generator. Marked sensitive: string attributes whose name
  says they hold a secret (``password``, ``secret_string``, ``private_key``, ``auth_token``…)
  and every write-only one. An output that reads one must then say ``sensitive = true``.
* **write-only**: not recorded. The AWS provider names every write-only argument ``*_wo`` (with
  a ``*_wo_version`` trigger), so ``*_wo`` is write-only: Terraform then refuses it in state
  and accepts ephemeral values only there.
* **opaque subtrees** (``aws_wafv2_web_acl.rule.statement``: cdktf's ``any``): served from a
  hand-written subset of the provider's documented schema (``OPAQUE_SUBSETS``); a statement
  kind outside the subset is rejected (stricter), the subset grows when the tree needs it.
* a computed-only ``XOutputReference`` (no list class) is a framework single nested attribute:
  ``object``; the generator uses ``XList`` for SDKv2 computed blocks (``master_user_secret``).

Compact format (``aws-<version>.typed.json.gz``)::

    {"metadata": {...}, "provider": B, "resource": {type: B}, "data": {...}, "ephemeral": {...}}
    B = {"a": {name: [cty type JSON, flags]}, "b": {name: {"n": "list"|"set"|"single", "min": n?, "max": n?, "blk": B}}}
    flags: 1 required, 2 optional, 4 computed, 8 sensitive, 16 write-only
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

REQUIRED, OPTIONAL, COMPUTED, SENSITIVE, WRITE_ONLY = 1, 2, 4, 8, 16

_CLASS = re.compile(r"^class (?P<name>\w+) extends (?P<base>[\w.]+) \{$", re.M)
_COMMENT = re.compile(
    r"^    // (?P<name>[a-z0-9_]+) - computed: (?P<c>true|false), optional: (?P<o>true|false), required: (?P<r>true|false)$",
    re.M,
)
_NEW = re.compile(r'^    _\w+ = new (?:[\w]+\.)?(?P<cls>\w+)\(this, "(?P<name>[a-z0-9_]+)"(?:, (?P<set>true|false))?\);$', re.M)
_GETTER = re.compile(
    r"return (?P<expr>(?:cdktn\.Token\.as\w+\()?(?:cdktn\.Fn\.tolist\()?this\.(?P<fn>\w+)\('(?P<name>[a-z0-9_]+)'\))", re.M
)
_SIMPLE = {
    "getStringAttribute": "string",
    "getNumberAttribute": "number",
    "getBooleanAttribute": "bool",
    "getStringMapAttribute": ["map", "string"],
    "getNumberMapAttribute": ["map", "number"],
    "getBooleanMapAttribute": ["map", "bool"],
    "getAnyMapAttribute": ["map", "dynamic"],
    "interpolationForAttribute": "dynamic",
}
_LISTS = {"getListAttribute": "string", "getNumberListAttribute": "number"}
_STRING_MAP_CLASSES = {"StringMap": "string", "NumberMap": "number", "BooleanMap": "bool", "AnyMap": "dynamic"}
_SECRET_NAME = re.compile(r"(^|_)(password|secret_string|secret_binary|private_key|auth_token)$")


@dataclass(frozen=True)
class JsAttr:
    """One attribute of a generated class: Terraform name, flags and how its value is typed."""

    name: str
    computed: bool
    optional: bool
    required: bool
    kind: str  # "simple" | "list" | "set" | "single" | "map" | "primitive-list" | "primitive-set"
    element: Any  # cty type for simple/primitive kinds, the element class for the others


def parse_js_classes(text: str) -> dict[str, list[JsAttr]]:
    """{class name: attributes} of every generated class in one JS file."""
    out: dict[str, list[JsAttr]] = {}
    marks = list(_CLASS.finditer(text))
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        body = text[mark.end() : end]
        attrs: list[JsAttr] = []
        comments = list(_COMMENT.finditer(body))
        for j, c in enumerate(comments):
            seg_end = comments[j + 1].start() if j + 1 < len(comments) else len(body)
            segment = body[c.end() : seg_end]
            name = c.group("name")
            kind, element = _typing(segment, name)
            if kind is None:
                continue
            attrs.append(JsAttr(name, c.group("c") == "true", c.group("o") == "true", c.group("r") == "true", kind, element))
        out[mark.group("name")] = attrs
    return out


def _typing(segment: str, name: str) -> tuple[str | None, Any]:
    new = _NEW.search(segment)
    if new and new.group("name") == name:
        cls = new.group("cls")
        if cls in _STRING_MAP_CLASSES:
            return "simple", ["map", _STRING_MAP_CLASSES[cls]]
        if cls.endswith("List"):
            return ("set" if new.group("set") == "true" else "list"), cls[: -len("List")] + "OutputReference"
        if cls.endswith("Map"):
            return "map", cls[: -len("Map")] + "OutputReference"
        if cls.endswith("OutputReference"):
            return "single", cls
        return None, None
    getter = _GETTER.search(segment)
    if getter and getter.group("name") == name:
        fn = getter.group("fn")
        if fn in _LISTS:
            wrapped = "cdktn.Fn.tolist(" in getter.group("expr")
            return "simple", ["set" if wrapped else "list", _LISTS[fn]]
        if fn in _SIMPLE:
            return "simple", _SIMPLE[fn]
    if re.search(r"^    _\w+;$", segment, re.M):
        return "untyped", None  # the provider class stores plain values: typed from the jsii struct
    return None, None


class TypedBuilder:
    """Joins the JS classes (types, flags) with the compact schema (blocks, nesting, min/max)."""

    def __init__(self, classes: dict[tuple[str, str], list[JsAttr]], fallback: dict[str, Any] | None = None):
        self.classes = classes
        self.fallback = fallback or {}  # path -> cty type, for "untyped" attributes (the provider's)
        self.problems: list[str] = []
        self.omitted: list[str] = []  # opaque subtrees with no hand-written subset (unused by the tree)

    def attrs_of(self, module: str, cls: str, where: str) -> list[JsAttr]:
        found = self.classes.get((module, cls))
        if found is None:
            self.problems.append(f"{where}: no generated class {module}/{cls}")
            return []
        return found

    def object_type(self, module: str, cls: str, where: str, depth: int = 0) -> Any:
        """The cty object type of a computed nested value (all its attributes)."""
        if depth > 12:
            self.problems.append(f"{where}: nesting deeper than 12")
            return "dynamic"
        return [
            "object",
            {a.name: self.cty(module, a, f"{where}.{a.name}", depth + 1) for a in self.attrs_of(module, cls, where)},
        ]

    def cty(self, module: str, attr: JsAttr, where: str, depth: int = 0) -> Any:
        if attr.kind == "simple":
            return attr.element
        if attr.kind == "untyped":
            if where not in self.fallback:
                self.problems.append(f"{where}: untyped and no jsii type")
            return self.fallback.get(where, "dynamic")
        inner = self.object_type(module, attr.element, where, depth)
        if attr.kind == "single":
            return inner
        return [attr.kind, inner]  # list / set / map of objects

    def block(
        self, module: str, cls: str, compact: dict[str, Any], where: str, opaque: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Typed block *cls* (a resource class or a block's OutputReference) shaped by *compact*."""
        blocks_compact = compact.get("blocks", {})
        args_compact = compact.get("args", {})
        attrs: dict[str, list[Any]] = {}
        blocks: dict[str, Any] = {}
        for a in self.attrs_of(module, cls, where):
            path = f"{where}.{a.name}"
            if a.name in blocks_compact:
                b = blocks_compact[a.name]
                sub = (opaque or {}).get(a.name)
                if b.get("opaque"):
                    if sub is None:  # left out: any use of it is refused (stricter); listed in the metadata
                        self.omitted.append(path)
                        continue
                    blocks[a.name] = sub
                    continue
                entry: dict[str, Any] = {"n": b["nesting"]}
                if b.get("min"):
                    entry["min"] = b["min"]
                if b.get("max"):
                    entry["max"] = b["max"]
                child = a.element if a.kind in ("list", "set", "single") else None
                if a.kind == "untyped" and b.get("fqn_class"):
                    child = b["fqn_class"]
                if child is None:
                    self.problems.append(f"{path}: a block typed {a.kind}")
                    continue
                if "ref" in b:
                    entry["ref"] = b["ref"]
                else:
                    entry["blk"] = self.block(module, child, b, path, (opaque or {}).get(f"{a.name}.") if opaque else None)
                blocks[a.name] = entry
                continue
            flags = (REQUIRED if a.required else 0) | (OPTIONAL if a.optional else 0) | (COMPUTED if a.computed else 0)
            if not (a.required or a.optional or a.computed):
                self.problems.append(f"{path}: neither required, optional nor computed")
            if (a.required or a.optional) and a.name not in args_compact and a.name not in blocks_compact:
                self.problems.append(f"{path}: settable in the class but not in the config struct")
            ty = self.cty(module, a, path)
            if a.name.endswith("_wo") and a.kind == "simple":
                flags |= WRITE_ONLY | SENSITIVE
            elif ty == "string" and _SECRET_NAME.search(a.name):
                flags |= SENSITIVE
            attrs[a.name] = [ty, flags]
        for name in args_compact:
            if name not in attrs and name != "id" and name not in blocks:
                self.problems.append(f"{where}.{name}: in the config struct, no typed attribute")
        out: dict[str, Any] = {}
        if attrs:
            out["a"] = dict(sorted(attrs.items()))
        if blocks:
            out["b"] = dict(sorted(blocks.items()))
        return out


def _wafv2_statement() -> dict[str, Any]:
    """The part of ``aws_wafv2_web_acl``'s ``rule.statement`` the tree uses, hand-written from
    registry.terraform.io/providers/hashicorp/aws/6.69.1/docs/resources/wafv2_web_acl
    ("statement", "managed_rule_group_statement", "rule_action_override", "rate_based_statement").
    Any other statement kind is refused (stricter than the provider, which accepts ~20)."""
    opt_s, opt_n, req_s, req_n = ["string", OPTIONAL], ["number", OPTIONAL], ["string", REQUIRED], ["number", REQUIRED]
    empty = {"n": "list", "max": 1, "blk": {}}
    action = {
        "n": "list",
        "min": 1,
        "max": 1,
        "blk": {"b": dict.fromkeys(("allow", "block", "captcha", "challenge", "count"), empty)},
    }
    override = {"n": "list", "max": 100, "blk": {"a": {"name": req_s}, "b": {"action_to_use": action}}}
    managed = {
        "n": "list",
        "max": 1,
        "blk": {"a": {"name": req_s, "vendor_name": req_s, "version": opt_s}, "b": {"rule_action_override": override}},
    }
    rate = {
        "n": "list",
        "max": 1,
        "blk": {"a": {"limit": req_n, "aggregate_key_type": opt_s, "evaluation_window_sec": opt_n}},
    }
    return {
        "n": "list",
        "min": 1,
        "max": 1,
        "blk": {"b": {"managed_rule_group_statement": managed, "rate_based_statement": rate}},
    }


OPAQUE_SUBSETS: dict[str, dict[str, Any]] = {
    # resource type -> {block name: typed block or {"<name>.": nested subsets}}
    "aws_wafv2_web_acl": {"rule.": {"statement": _wafv2_statement()}},
}


def build_typed(
    compact: dict[str, Any], classes: dict[tuple[str, str], list[JsAttr]], locations: dict[tuple[str, str], tuple[str, str]]
) -> tuple[dict[str, Any], list[str]]:
    """Typed schema of every type in *compact*; *locations* maps (kind, type) -> (module, class)."""
    builder = TypedBuilder(classes)
    out: dict[str, Any] = {"resource": {}, "data": {}, "ephemeral": {}}
    for (kind, tf_type), (module, cls) in sorted(locations.items()):
        schema = compact["provider"] if kind == "provider" else compact[kind].get(tf_type)
        if schema is None:
            builder.problems.append(f"{kind} {tf_type}: not in the compact schema")
            continue
        typed = builder.block(module, cls, schema, tf_type, OPAQUE_SUBSETS.get(tf_type))
        if kind == "provider":
            out["provider"] = typed
        else:
            out[kind][tf_type] = typed
    out["omitted"] = builder.omitted
    return out, builder.problems
