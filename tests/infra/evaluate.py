"""Evaluate a Terraform configuration's plain values offline: tfvars → variables → locals → module calls.

The runbook checks need to know, for example, which ``instance_class`` the prod database really
gets, or whether the name of a role resolves to ``jung-…``. No plan can run here (no provider),
so this module instantiates a root with its ``terraform.tfvars`` and walks the local module
calls, evaluating the small expression language the tree uses: literals, templates,
``var.``/``local.``/``module.`` references, operators, conditionals and a few pure functions.
Anything only known after apply (resource attributes, data sources, ``each``/``count``) becomes
:class:`Unknown`, which remembers where it came from (e.g. the EKS issuer URL) so checks can
still reason about provenance.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from tests.infra.hcl import Block, load_file, load_module, tf_files


@dataclass(frozen=True)
class Unknown:
    """A value only known after apply (or beyond this evaluator); *source* says where it comes from."""

    source: str
    prefix: str = ""  # the known leading text of a template whose rest is unknown

    def __repr__(self) -> str:
        return f"<unknown {self.source}>"


class EvalError(Exception):
    """The expression uses syntax this evaluator does not know (reported as Unknown by callers)."""


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>\d+(?:\.\d+)?)
    | (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<op>==|!=|>=|<=|&&|\|\||=>|\.\.\.|\[\*\]|[<>!?:+\-*/%(),\[\]{}=.])
    | (?P<name>[A-Za-z_][\w-]*)
    )""",
    re.X,
)


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise EvalError(f"cannot read {text[pos : pos + 20]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


_BINARY = [("||",), ("&&",), ("==", "!="), ("<", ">", "<=", ">="), ("+", "-"), ("*", "/", "%")]


def _unknown_of(*values: Any) -> Unknown | None:
    for v in values:
        if isinstance(v, Unknown):
            return v
    return None


def _binary(op: str, a: Any, b: Any) -> Any:
    if op == "&&" and (a is False or b is False):
        return False
    if op == "||" and (a is True or b is True):
        return True
    unknown = _unknown_of(a, b)
    if unknown:
        return Unknown(f"({unknown.source} {op} …)")
    return {
        "||": lambda: a or b,
        "&&": lambda: a and b,
        "==": lambda: a == b,
        "!=": lambda: a != b,
        "<": lambda: a < b,
        ">": lambda: a > b,
        "<=": lambda: a <= b,
        ">=": lambda: a >= b,
        "+": lambda: a + b,
        "-": lambda: a - b,
        "*": lambda: a * b,
        "/": lambda: a / b,
        "%": lambda: a % b,
    }[op]()


def _format(fmt: str, *args: Any) -> str:
    it = iter(args)
    return re.sub(r"%[sdv]", lambda _m: str(next(it)), fmt).replace("%%", "%")


def _jsonencode(value: Any) -> str:
    """Terraform's ``jsonencode``: compact, object keys sorted, ``<>&`` escaped as Go's encoder does.

    A value holding an Unknown anywhere cannot be encoded (json raises), so the caller reports
    the whole call as Unknown.
    """
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _flatten(value: Any) -> list[Any]:
    out: list[Any] = []
    for v in value:
        out.extend(_flatten(v) if isinstance(v, list) else [v])
    return out


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "lower": str.lower,
    "upper": str.upper,
    "tostring": str,
    "tonumber": float,
    "tobool": bool,
    "format": _format,
    "join": lambda sep, items: sep.join(map(str, items)),
    "merge": lambda *ms: {k: v for m in ms for k, v in m.items()},
    "concat": lambda *ls: [x for lst in ls for x in lst],
    "length": len,
    "min": min,
    "max": max,
    "tolist": list,
    "toset": lambda x: sorted(set(x)),
    "contains": lambda coll, v: v in coll,
    "lookup": lambda m, k, *d: m.get(k, *d),
    "keys": sorted,
    "values": lambda m: [m[k] for k in sorted(m)],
    "replace": lambda s, a, b: s.replace(a, b),
    "trimsuffix": lambda s, x: s.removesuffix(x),
    "trimprefix": lambda s, x: s.removeprefix(x),
    "split": lambda sep, s: s.split(sep),
    "range": lambda *a: list(range(*map(int, a))),
    "slice": lambda lst, a, b: lst[int(a) : int(b)],
    "cidrsubnet": lambda cidr, bits, num: _cidrsubnet(cidr, int(bits), int(num)),
    "distinct": lambda lst: list(dict.fromkeys(lst)),
    "flatten": _flatten,
    "element": lambda lst, i: lst[int(i) % len(lst)],
    "compact": lambda lst: [x for x in lst if x not in ("", None)],
    "startswith": lambda s, p: s.startswith(p),
    "endswith": lambda s, p: s.endswith(p),
    "substr": lambda s, o, n: s[int(o) :] if int(n) < 0 else s[int(o) : int(o) + int(n)],
    "trimspace": str.strip,
    "jsonencode": _jsonencode,
    "jsondecode": json.loads,
    "setsubtract": lambda a, b: sorted(set(a) - set(b)),
    "sort": sorted,
}


def _cidrsubnet(cidr: str, bits: int, num: int) -> str:
    net = ipaddress.ip_network(cidr)
    return (
        str(list(net.subnets(prefixlen_diff=bits))[num])
        if bits <= 12
        else str(
            ipaddress.ip_network(
                (int(net.network_address) + (num << (net.max_prefixlen - net.prefixlen - bits)), net.prefixlen + bits)
            )
        )
    )


class _Parser:
    """Recursive descent over HCL expression tokens, evaluating as it goes."""

    def __init__(
        self,
        text: str,
        resolve: Callable[[list[str | int], str], Any],
        template: Callable[[str, dict[str, Any]], Any],
        scope: dict[str, Any] | None = None,
    ):
        self.text = text
        self.toks = _tokens(text)
        self.i = 0
        self.resolve = resolve
        self.template = template
        self.scope: dict[str, Any] = dict(scope or {})  # for-expression iterators, each, count

    def peek(self, k: int = 0) -> tuple[str, str]:
        return self.toks[self.i + k] if self.i + k < len(self.toks) else ("eof", "")

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if value is not None and tok[1] != value:
            raise EvalError(f"expected {value!r}, got {tok[1]!r} in {self.text!r}")
        self.i += 1
        return tok

    def parse(self) -> Any:
        value = self.conditional()
        if self.peek()[0] != "eof":
            raise EvalError(f"unexpected {self.peek()[1]!r} in {self.text!r}")
        return value

    def conditional(self) -> Any:
        cond = self.binary(0)
        if self.peek()[1] != "?":
            return cond
        self.take("?")
        yes = self.conditional()
        self.take(":")
        no = self.conditional()
        if isinstance(cond, Unknown):
            return yes if yes == no else Unknown(f"({cond.source} ? … : …)")
        return yes if cond else no

    def binary(self, level: int) -> Any:
        if level == len(_BINARY):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek()[0] == "op" and self.peek()[1] in _BINARY[level]:
            op = self.take()[1]
            left = _binary(op, left, self.binary(level + 1))
        return left

    def unary(self) -> Any:
        if self.peek()[1] in ("!", "-"):
            op = self.take()[1]
            v = self.unary()
            if isinstance(v, Unknown):
                return v
            return (not v) if op == "!" else -v
        return self.postfix(self.primary())

    def postfix(self, value: Any) -> Any:
        while True:
            tok = self.peek()
            if tok[1] == "." and self.peek(1)[0] in ("name", "number"):
                self.take()
                key = self.take()[1]
                value = _index(value, int(key) if key.isdigit() else key)
            elif tok[1] == "[":
                self.take()
                key = self.conditional()
                self.take("]")
                value = _index(value, key)
            elif tok[1] == "[*]":
                self.take()
                value = value if isinstance(value, Unknown) else Unknown(f"{self.text} (splat)")
            else:
                return value

    def primary(self) -> Any:
        kind, text = self.take()
        if kind == "number":
            return float(text) if "." in text else int(text)
        if kind == "string":
            return self.template(_unescape(text[1:-1]), self.scope)
        if text == "(":
            v = self.conditional()
            self.take(")")
            return v
        if text == "[":
            return self.collection("]")
        if text == "{":
            return self.collection("}")
        if kind != "name":
            raise EvalError(f"unexpected {text!r} in {self.text!r}")
        if text in ("true", "false"):
            return text == "true"
        if text == "null":
            return None
        if self.peek()[1] == "(":
            return self.call(text)
        if text in self.scope:
            return self.scope[text]
        # a reference: var.x, local.x, each.key, module.m, data.aws_x.name, aws_x.name; the rest is postfix
        parts = {"var": 1, "local": 1, "each": 1, "count": 1, "path": 1, "terraform": 1, "module": 1, "data": 2}.get(text, 1)
        path: list[str | int] = [text]
        for _ in range(parts):
            if self.peek()[1] == "." and self.peek(1)[0] == "name":
                self.take()
                path.append(self.take()[1])
        return self.resolve(path, self.text)

    def call(self, name: str) -> Any:
        self.take("(")
        args = []
        while self.peek()[1] != ")":
            args.append(self.conditional())
            if self.peek()[1] == "...":
                self.take()
            if self.peek()[1] == ",":
                self.take()
        self.take(")")
        if name == "try":
            return next((a for a in args if not isinstance(a, Unknown)), Unknown(f"try(…) in {self.text}"))
        if name == "coalesce":
            return next(
                (a for a in args if a not in (None, "") and not isinstance(a, Unknown)), Unknown(f"coalesce(…) in {self.text}")
            )
        unknown = _unknown_of(*args)
        if unknown or name not in FUNCTIONS:
            return Unknown(unknown.source if unknown else f"{name}(…) in {self.text}")
        try:
            return FUNCTIONS[name](*args)
        except Exception:  # noqa: BLE001 - any failure of a modelled HCL function is an unknown value, as plan would leave it
            return Unknown(f"{name}(…) in {self.text}")

    def collection(self, close: str) -> Any:
        if self.peek()[1] == "for":
            return self.for_expression(close)
        items: list[Any] = []
        obj: dict[Any, Any] = {}
        while self.peek()[1] != close:
            if close == "}" and self.peek()[0] == "name" and self.peek(1)[1] in ("=", ":"):
                value: Any = self.take()[1]  # a bare object key is a literal name, not a reference
            else:
                value = self.conditional()
            if close == "}":
                if self.peek()[1] not in ("=", ":"):
                    raise EvalError(f"object key without value in {self.text!r}")
                self.take()
                key = value if not isinstance(value, Unknown) else value.source
                obj[key] = self.conditional()
            else:
                items.append(value)
            if self.peek()[1] == ",":
                self.take()
        self.take(close)
        return obj if close == "}" else items

    def for_expression(self, close: str) -> Any:
        """``[for k, v in coll : expr if cond]`` / ``{for … : key => value}``: the body is re-read per element."""
        self.take("for")
        names = [self.take()[1]]
        if self.peek()[1] == ",":
            self.take()
            names.append(self.take()[1])
        self.take("in")
        coll = self.conditional()
        self.take(":")
        body = self.i
        if isinstance(coll, Unknown):
            pairs: list[tuple[Any, Any]] = []
        elif isinstance(coll, dict):
            pairs = list(coll.items())
        elif isinstance(coll, (list, tuple)):
            pairs = list(enumerate(coll))
        else:
            raise EvalError(f"for over {type(coll).__name__} in {self.text!r}")
        saved = dict(self.scope)
        result_list: list[Any] = []
        result_obj: dict[Any, Any] = {}
        for key, value in pairs or [(Unknown("for key"), Unknown("for value"))]:
            self.i = body
            self.scope = {**saved, **({names[0]: value} if len(names) == 1 else {names[0]: key, names[1]: value})}
            first = self.conditional()
            second = None
            if close == "}":
                self.take("=>")
                second = self.conditional()
                if self.peek()[1] == "...":
                    raise EvalError(f"grouping for-expression in {self.text!r}")
            keep = True
            if self.peek()[1] == "if":
                self.take()
                keep = self.conditional()
            if not pairs:
                continue
            if isinstance(keep, Unknown) or (isinstance(first, Unknown) and close == "}"):
                self.scope = saved
                self._skip_to(close)
                return Unknown(f"for-expression in {self.text}")
            if keep:
                if close == "}":
                    result_obj[first] = second
                else:
                    result_list.append(first)
        self.scope = saved
        self.take(close)
        if isinstance(coll, Unknown):
            return Unknown(f"for over {coll.source}")
        return result_obj if close == "}" else result_list

    def _skip_to(self, close: str) -> None:
        depth = 1
        while depth:
            t = self.take()[1]
            if t == "eof":
                raise EvalError(f"unbalanced {close!r} in {self.text!r}")
            depth += {"[": 1, "{": 1, "(": 1, "]": -1, "}": -1, ")": -1}.get(t, 0)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), text)


@dataclass(frozen=True)
class ModuleOutputs:
    """``module.<name>``: indexing by a name reads that output; ``[0]``/``["k"]`` of a counted call is the same instance."""

    instance: Instance

    def get(self, key: Any) -> Any:
        if isinstance(key, str) and key in self.instance.output_names:
            return self.instance.output(key)
        return self  # an instance key of a counted / for_each call


def _index(value: Any, key: Any) -> Any:
    if isinstance(value, ModuleOutputs):
        return value.get(key)
    if isinstance(value, Unknown):
        return Unknown(f"{value.source}.{key}") if not isinstance(key, Unknown) else value
    if isinstance(key, Unknown):
        return Unknown(f"[{key.source}]")
    try:
        return value[key]
    except (KeyError, IndexError, TypeError):
        return Unknown(f"{key!r} of a known value")


@dataclass
class Instance:
    """One module instance: a directory evaluated with concrete inputs."""

    address: str  # "" for the root, "module.eks", "module.a.module.b"
    directory: Path
    inputs: Mapping[str, Any]
    parent: Instance | None = None
    call: Block | None = None
    children: dict[str, Instance] = field(default_factory=dict)
    _locals_done: dict[str, Any] = field(default_factory=dict)
    _locals_busy: set[str] = field(default_factory=set)

    @cached_property
    def files(self) -> list[Block]:
        return load_module(self.directory)

    def top(self, block_type: str) -> list[Block]:
        return [b for f in self.files for b in f.children(block_type)]

    def resources(self, tf_type: str | None = None) -> list[Block]:
        return [b for b in self.top("resource") if tf_type is None or b.labels[0] == tf_type]

    def label(self) -> str:
        return self.address or "root"

    @cached_property
    def variables(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for var in self.top("variable"):
            name = var.labels[0]
            if name in self.inputs:
                out[name] = self.inputs[name]
            elif "default" in var.attrs:
                out[name] = self.evaluate(var.attrs["default"].value)
            else:
                out[name] = Unknown(f"var.{name} (not set in {self.label()})")
        return out

    def local(self, name: str) -> Any:
        if name in self._locals_done:
            return self._locals_done[name]
        if name in self._locals_busy:
            return Unknown(f"local.{name} (cycle)")
        for block in self.top("locals"):
            if name in block.attrs:
                self._locals_busy.add(name)
                value = self.evaluate(block.attrs[name].value)
                self._locals_busy.discard(name)
                self._locals_done[name] = value
                return value
        return Unknown(f"local.{name} (undeclared in {self.directory})")

    @cached_property
    def output_names(self) -> set[str]:
        return {b.labels[0] for b in self.top("output")}

    def output(self, name: str) -> Any:
        for block in self.top("output"):
            if block.labels[0] == name:
                return self.evaluate(block.value("value"))
        return Unknown(f"module.{self.address}.{name} (no such output)")

    def _resolve(self, path: list[str | int], text: str) -> Any:
        head = path[0]
        if head == "var" and len(path) > 1:
            return self.variables.get(str(path[1]), Unknown(f"var.{path[1]} (undeclared)"))
        if head == "local" and len(path) > 1:
            return self.local(str(path[1]))
        if head == "module" and len(path) > 1:
            child = self.children.get(str(path[1]))
            return ModuleOutputs(child) if child else Unknown(f"module.{path[1]} (not a local module of {self.label()})")
        return Unknown(f"{self.directory.name}: {'.'.join(map(str, path))}")

    def expression(self, text: str, scope: dict[str, Any] | None = None) -> Any:
        try:
            return _Parser(text, self._resolve, self.template, scope).parse()
        except EvalError as exc:
            return Unknown(f"{text} ({exc})")

    def template(self, text: str, scope: dict[str, Any] | None = None) -> Any:
        """A string with ``${…}`` parts; a lone ``${expr}`` keeps the expression's type."""
        parts = _split_template(text)
        if len(parts) == 1 and parts[0][0] == "expr":
            return self.expression(parts[0][1], scope)
        out: list[str] = []
        for kind, part in parts:
            value = part if kind == "text" else self.expression(part, scope)
            if isinstance(value, Unknown):
                return Unknown(f"{value.source} in {text!r}", prefix="".join(out))
            out.append(_render(value))
        return "".join(out)

    def evaluate(self, value: Any, scope: dict[str, Any] | None = None) -> Any:
        """A value as serialized by tests.infra.hcl (strings may hold ``${…}``), evaluated here."""
        if isinstance(value, str):
            return self.template(value, scope) if "${" in value else value
        if isinstance(value, list):
            return [self.evaluate(v, scope) for v in value]
        if isinstance(value, dict):
            return {k: self.evaluate(v, scope) for k, v in value.items()}
        return value

    def attr(self, block: Block, name: str, default: Any = None, scope: dict[str, Any] | None = None) -> Any:
        return self.evaluate(block.attrs[name].value, scope) if name in block.attrs else default

    def scopes(self, block: Block) -> list[dict[str, Any]] | Unknown:
        """One scope per instance of a resource/module block: ``each`` for for_each, ``count`` for count.

        ``[]`` when the block is switched off (count = 0 or an empty for_each); Unknown when the
        number of instances is only known after apply.
        """
        if "for_each" in block.attrs:
            coll = self.attr(block, "for_each")
            if isinstance(coll, Unknown):
                return coll
            items = coll.items() if isinstance(coll, dict) else ((v, v) for v in coll)
            return [{"each": {"key": k, "value": v}} for k, v in items]
        if "count" in block.attrs:
            n = self.attr(block, "count")
            if isinstance(n, Unknown):
                return n
            return [{"count": {"index": i}} for i in range(int(n))]
        return [{}]

    def walk(self) -> Iterator[Instance]:
        yield self
        for child in self.children.values():
            yield from child.walk()

    def provider_region(self, block: Block) -> Any:
        """The AWS region a resource is created in: its own ``region`` (provider 6.x), else its provider's."""
        if "region" in block.attrs:
            return self.attr(block, "region")
        return self.provider_config_region(_alias(block.value("provider")))

    def provider_config_region(self, alias: str) -> Any:
        """Region of provider ``aws`` (or ``aws.<alias>``) as seen from this module instance."""
        for provider in self.top("provider"):
            if provider.labels[0] == "aws" and str(provider.value("alias", "")) == alias:
                return self.attr(provider, "region", Unknown(f"provider aws{'.' + alias if alias else ''} sets no region"))
        if self.parent is None or self.call is None:
            return Unknown(f"no provider aws{'.' + alias if alias else ''} configured in {self.directory}")
        key = f"aws.{alias}" if alias else "aws"
        mapping = self.call.value("providers")
        mapping = {_bare(k): v for k, v in mapping.items()} if isinstance(mapping, dict) else {}
        passed = mapping.get(key)
        if passed is not None:
            return self.parent.provider_config_region(_alias(passed))
        if alias:  # aliased providers are never inherited implicitly
            return Unknown(f"provider {key} of {self.address} is not passed in providers = {{…}}")
        return self.parent.provider_config_region("")


def _bare(ref: Any) -> str:
    """A provider reference as written: ``"${aws.us_east_1}"`` (hcl2's serialization) → ``"aws.us_east_1"``."""
    return str(ref or "").removeprefix("${").removesuffix("}")


def _alias(ref: Any) -> str:
    """``"${aws.us_east_1}"`` → ``"us_east_1"``; no reference → the default provider (``""``)."""
    text = _bare(ref)
    return text.split(".", 1)[1] if "." in text else ""


def _split_template(text: str) -> list[tuple[str, str]]:
    parts: list[tuple[str, str]] = []
    i = 0
    while i < len(text):
        start = text.find("${", i)
        if start < 0:
            parts.append(("text", text[i:]))
            break
        if start > i:
            parts.append(("text", text[i:start]))
        depth, j, in_string = 0, start + 1, False
        while j < len(text):
            c = text[j]
            if c == '"' and text[j - 1] != "\\":
                in_string = not in_string
            elif not in_string:
                depth += {"{": 1, "}": -1}.get(c, 0)
                if depth == 0:
                    break
            j += 1
        parts.append(("expr", text[start + 2 : j]))
        i = j + 1
    return parts


def _render(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def instantiate(root: Path, tfvars: dict[str, Any] | None = None) -> Instance:
    """The root module with its ``terraform.tfvars`` (or *tfvars*) and every local module call below it."""
    root = Path(root)
    if tfvars is None:
        path = root / "terraform.tfvars"
        tfvars = {k: a.value for k, a in load_file(path).attrs.items()} if path.is_file() else {}
    top = Instance(address="", directory=root, inputs=tfvars)
    _expand(top)
    return top


class _CallInputs(Mapping[str, Any]):
    """The arguments of a module call, evaluated in the caller when first read.

    Lazy because a call may pass another call's output whatever their order in the file
    (``module.media`` after ``module.edge`` that reads it, and the other way round): by the
    time anything is read, every sibling instance exists.
    """

    _META = ("source", "version", "count", "for_each", "providers", "depends_on")

    def __init__(self, caller: Instance, call: Block):
        self._caller = caller
        self._attrs = {k: a for k, a in call.attrs.items() if k not in self._META}
        self._done: dict[str, Any] = {}
        self._busy: set[str] = set()

    def __getitem__(self, name: str) -> Any:
        if name in self._done:
            return self._done[name]
        attr = self._attrs[name]  # KeyError for an argument the call does not pass
        if name in self._busy:
            return Unknown(f"{name} (cycle)")
        self._busy.add(name)
        try:
            value = self._caller.evaluate(attr.value)
        finally:
            self._busy.discard(name)
        self._done[name] = value
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._attrs)

    def __len__(self) -> int:
        return len(self._attrs)


def _expand(instance: Instance) -> None:
    for call in instance.top("module"):
        source = call.value("source")
        if not (isinstance(source, str) and source.startswith(("./", "../"))):
            continue
        directory = (instance.directory / source).resolve()
        if not tf_files(directory):
            continue
        name = call.labels[0]
        address = f"{instance.address}.module.{name}".lstrip(".")
        child = Instance(address=address, directory=directory, inputs=_CallInputs(instance, call), parent=instance, call=call)
        instance.children[name] = child
    for child in instance.children.values():
        _expand(child)
