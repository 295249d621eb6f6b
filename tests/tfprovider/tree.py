"""Which provider types a Terraform tree uses, found by scanning its ``.tf`` files.

The stand-in serves exactly these (a schema of the whole provider makes Terraform spend seconds
decoding it at every launch: shared/reference/tools.md). Scanning at build time means a type
another branch adds is served without anyone keeping a list. A type the scan missed would make
Terraform itself fail with "Invalid resource type" in the gate; a type the tree does not use is
never asked for (Terraform only needs schemas for blocks in configuration and state).
"""

from __future__ import annotations

import re
from pathlib import Path

_BLOCK = re.compile(r'^\s*(?P<kind>resource|data|ephemeral)\s+"(?P<type>[a-z0-9_]+)"\s+"[^"]*"\s*\{', re.M)
KIND = {"resource": "resource", "data": "data", "ephemeral": "ephemeral"}


def tf_files(tree: Path) -> list[Path]:
    return sorted(p for p in tree.rglob("*.tf") if ".terraform" not in p.parts)


def used_types(tree: Path, provider: str) -> dict[str, set[str]]:
    """{kind: {type}} of *provider*'s types (``aws_…``/``tls_…``) declared anywhere in *tree*."""
    found: dict[str, set[str]] = {"resource": set(), "data": set(), "ephemeral": set()}
    for path in tf_files(tree):
        for m in _BLOCK.finditer(path.read_text(encoding="utf-8")):
            if m.group("type").split("_", 1)[0] == provider:
                found[KIND[m.group("kind")]].add(m.group("type"))
    return found


def roots(tree: Path) -> list[str]:
    """Every root of the tree: a folder outside ``modules/`` with a ``terraform`` block that
    requires a provider (``versions.tf``), relative to *tree* — discovered, never listed."""
    out = []
    for path in tf_files(tree):
        rel = path.relative_to(tree)
        if rel.parts[0] == "modules":
            continue
        if re.search(r"^\s*required_providers\s*\{", path.read_text(encoding="utf-8"), re.M):
            out.append(str(rel.parent))
    return sorted(set(out))
