"""A small loader over python-hcl2 8.x that keeps what the Terraform checks need.

python-hcl2's dict output merges blocks and arguments into one mapping (only an
``__is_block__`` marker tells them apart) and drops line numbers. The checks must tell
``x = {…}`` from ``x {…}`` and point at a line, so this walks hcl2's rule tree instead: every
block becomes a :class:`Block` (type, labels, line, arguments, nested blocks) and argument
values are serialized by hcl2 itself (strings unquoted, expressions as ``${…}``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import hcl2
from hcl2.rules.base import AttributeRule, BlockRule, BodyRule
from hcl2.utils import SerializationOptions

VALUE_OPTIONS = SerializationOptions(strip_string_quotes=True, with_comments=False, preserve_heredocs=False)
_SKIP_COMMENT = re.compile(r"(?:#|//)\s*checkov:skip=(?P<check>[A-Za-z0-9_]+)(?::(?P<reason>[^\n]*))?")


@dataclass(frozen=True)
class Attr:
    """One ``name = value`` argument."""

    name: str
    value: Any
    line: int


@dataclass
class Block:
    """One block (``resource "aws_x" "y" {…}``); the file itself is a Block of type ``""``."""

    type: str
    labels: tuple[str, ...]
    line: int
    file: Path
    attrs: dict[str, Attr] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)

    def children(self, block_type: str) -> list[Block]:
        """Nested blocks of one type, in file order."""
        return [b for b in self.blocks if b.type == block_type]

    def child(self, block_type: str) -> Block | None:
        found = self.children(block_type)
        return found[0] if found else None

    def value(self, name: str, default: Any = None) -> Any:
        attr = self.attrs.get(name)
        return default if attr is None else attr.value

    def walk(self) -> Iterator[Block]:
        """This block and every block nested in it, depth first."""
        yield self
        for child in self.blocks:
            yield from child.walk()

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Suppression:
    """An inline ``#checkov:skip=CHECK:reason`` comment."""

    file: Path
    line: int
    check: str
    reason: str


def _line(node: Any) -> int:
    # hcl2's rules keep lark's position metadata (parser built with propagate_positions=True)
    meta = getattr(node, "_meta", None)
    return int(getattr(meta, "line", 0) or 0)


def _block(rule: BlockRule, file: Path) -> Block:
    labels = [label.serialize(VALUE_OPTIONS) for label in rule.labels]
    block = Block(type=str(labels[0]), labels=tuple(str(x) for x in labels[1:]), line=_line(rule), file=file)
    _fill(block, rule.body, file)
    return block


def _fill(block: Block, body: BodyRule, file: Path) -> None:
    for child in body.children:
        if isinstance(child, BlockRule):
            block.blocks.append(_block(child, file))
        elif isinstance(child, AttributeRule):
            name = str(child.identifier.serialize(VALUE_OPTIONS))
            block.attrs[name] = Attr(name=name, value=child.expression.serialize(VALUE_OPTIONS), line=_line(child))


def parse_text(text: str, file: Path = Path("<string>")) -> Block:
    """Parse HCL text; syntax errors name the file."""
    try:
        tree = hcl2.parses(text)
    except Exception as exc:  # lark raises several unrelated exception types
        raise ValueError(f"{file}: HCL syntax error: {exc}") from exc
    root = Block(type="", labels=(), line=1, file=file)
    _fill(root, tree.body, file)
    return root


@lru_cache(maxsize=512)
def _load_cached(path: Path, mtime_ns: int) -> Block:
    return parse_text(path.read_text(encoding="utf-8"), path)


def load_file(path: Path) -> Block:
    """Parse one ``.tf`` / ``.tfvars`` file (cached per path and modification time)."""
    path = Path(path)
    return _load_cached(path, path.stat().st_mtime_ns)


def tf_files(directory: Path) -> list[Path]:
    """The ``.tf`` files Terraform reads for one module directory (not its subfolders)."""
    return sorted(p for p in Path(directory).glob("*.tf") if p.is_file())


def load_module(directory: Path) -> list[Block]:
    """Every file of one module directory, parsed."""
    return [load_file(p) for p in tf_files(directory)]


def top_blocks(directory: Path, block_type: str) -> list[Block]:
    """All top-level blocks of one type (``variable``, ``output``, ``module``, …) in a module directory."""
    return [b for f in load_module(directory) for b in f.children(block_type)]


def module_dirs(tree: Path) -> list[Path]:
    """Every directory under *tree* that holds ``.tf`` files (skipping ``.terraform`` caches)."""
    return sorted({p.parent for p in Path(tree).rglob("*.tf") if ".terraform" not in p.parts and p.is_file()})


def load_tfvars(path: Path) -> dict[str, Any]:
    """A ``terraform.tfvars`` file as a plain mapping of variable → value."""
    return {name: attr.value for name, attr in load_file(path).attrs.items()}


def suppressions(tree: Path) -> list[Suppression]:
    """Every inline checkov suppression under *tree*, with its reason (empty if none was given)."""
    found = []
    for path in sorted(Path(tree).rglob("*.tf")):
        if ".terraform" in path.parts:
            continue
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for m in _SKIP_COMMENT.finditer(text):
                found.append(Suppression(path, number, m.group("check"), (m.group("reason") or "").strip()))
    return found


def references(value: Any) -> list[str]:
    """The expressions interpolated in a serialized value (``"${var.x}-y"`` → ``["var.x"]``), nested values included."""
    if isinstance(value, str):
        return _interpolations(value)
    if isinstance(value, dict):
        return [r for v in value.values() for r in references(v)]
    if isinstance(value, list):
        return [r for v in value for r in references(v)]
    return []


def _interpolations(text: str) -> list[str]:
    """Contents of each top-level ``${…}`` in *text*, with nested braces balanced."""
    found, start = [], text.find("${")
    while start >= 0:
        depth, i = 0, start + 1
        while i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                break
            i += 1
        found.append(text[start + 2 : i])
        start = text.find("${", i)
    return found


def is_literal(value: Any) -> bool:
    """True for a string with no interpolation, or a number/bool."""
    return not isinstance(value, (dict, list)) and not (isinstance(value, str) and "${" in value)
