"""Check Terraform code against the hashicorp/aws provider schema, offline.

``terraform validate`` cannot run here (no provider download), so every ``resource``, ``data``,
``ephemeral`` and ``provider "aws"`` block is compared with the schema extracted from the
cdktn provider package (``tools/provider_schema/``). Reported: unknown types, arguments and
blocks; missing required arguments and blocks; a block written as an argument and the
reverse; a max-one block given twice. Not checked (see provider-schema.md): value types,
provider validators, references, registry modules, opaque subtrees.

Run as a script to check a tree: ``python -m tests.infra.schema_check kyeol-infra-terraform``.
"""

from __future__ import annotations

import difflib
import gzip
import json
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from tests.infra.hcl import Block, load_file

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "tools" / "provider_schema" / "aws-6.69.1.json.gz"
REQUIRED = 1
OBJECT = 2

# Terraform's own arguments and blocks, allowed on every block of that kind whatever the schema says.
META_ARGS = {
    "resource": {"count", "for_each", "provider", "depends_on"},
    "data": {"count", "for_each", "provider", "depends_on"},
    "ephemeral": {"count", "for_each", "provider", "depends_on"},
    "provider": {"alias", "version"},
}
META_BLOCKS = {
    "resource": {"lifecycle", "provisioner", "connection"},
    "data": {"lifecycle"},
    "ephemeral": {"lifecycle"},
    "provider": set(),
}


@dataclass(frozen=True)
class Finding:
    """One schema violation, located precisely enough to fix without searching."""

    file: Path
    line: int
    kind: str  # resource | data | ephemeral | provider
    type: str
    name: str
    path: str  # dotted path inside the block ("" for the block itself)
    code: str  # unknown-type | unknown-argument | unknown-block | missing-argument | missing-block |
    #           block-as-argument | argument-as-block | too-many-blocks
    message: str

    def __str__(self) -> str:
        where = f"{self.kind} {self.type}" + (f".{self.name}" if self.name else "")
        inner = f" {self.path}:" if self.path else ""
        return f"{self.file}:{self.line}: {where}:{inner} {self.message} [{self.code}]"


class Schema:
    """The compact provider schema (format: tools/provider_schema/README.md)."""

    def __init__(self, doc: dict[str, Any]):
        self.doc = doc
        self.metadata: dict[str, Any] = doc["metadata"]

    @classmethod
    def load(cls, path: Path = SCHEMA_FILE) -> Schema:
        return _load_schema(Path(path))

    @property
    def version(self) -> str:
        return self.metadata["provider_version"]

    def of(self, kind: str, tf_type: str) -> dict[str, Any] | None:
        if kind == "provider":
            return self.doc["provider"] if tf_type == "aws" else None
        return self.doc[kind].get(tf_type)


@lru_cache(maxsize=4)
def _load_schema(path: Path) -> Schema:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return Schema(json.load(fh))


class _Checker:
    def __init__(self, kind: str, top: Block, root_schema: dict[str, Any]):
        self.kind = kind
        self.top = top
        self.root_schema = root_schema
        self.findings: list[Finding] = []

    def report(self, line: int, path: list[str], code: str, message: str) -> None:
        tf_type, name = (self.top.labels + ("", ""))[:2]
        if self.kind == "provider":
            name = str(self.top.value("alias", ""))
        self.findings.append(Finding(self.top.file, line, self.kind, tf_type, name, ".".join(path), code, message))

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        """Follow a recursive ``ref`` to the ancestor block whose schema it shares."""
        if "ref" not in schema:
            return schema
        node = self.root_schema
        for part in filter(None, schema["ref"].split(".")):
            node = node["blocks"][part]
        return node

    def check_body(self, body: Block, schema: dict[str, Any], path: list[str], top_level: bool) -> None:
        args: dict[str, int] = schema.get("args", {})
        blocks: dict[str, Any] = schema.get("blocks", {})
        meta_args = META_ARGS[self.kind] if top_level else set()
        meta_blocks = META_BLOCKS[self.kind] if top_level else set()

        for attr in body.attrs.values():
            if attr.name in args or attr.name in meta_args:
                continue
            if attr.name in blocks:
                self.report(
                    attr.line,
                    path + [attr.name],
                    "block-as-argument",
                    f'"{attr.name}" is a block: write `{attr.name} {{ … }}`, not `{attr.name} = …`',
                )
            else:
                self.report(
                    attr.line,
                    path + [attr.name],
                    "unknown-argument",
                    f'unknown argument "{attr.name}"{_suggest(attr.name, args, blocks)}',
                )

        static_counts: dict[str, int] = {}
        present: set[str] = set()
        for child in body.blocks:
            if child.type == "dynamic" and child.labels:
                name, content = child.labels[0], child.child("content")
                dynamic = True
            else:
                name, content, dynamic = child.type, child, False
            present.add(name)
            if name in meta_blocks and not dynamic:
                continue
            if name in blocks:
                if not dynamic:
                    static_counts[name] = static_counts.get(name, 0) + 1
                block_schema = self.resolve(blocks[name])
                if block_schema.get("opaque"):
                    continue
                if content is None:
                    self.report(child.line, path + [name], "missing-block", f'dynamic "{name}" has no content block')
                    continue
                self.check_body(content, block_schema, path + [name], top_level=False)
            elif name in args:
                if not args[name] & OBJECT:
                    self.report(
                        child.line,
                        path + [name],
                        "argument-as-block",
                        f'"{name}" is an argument: write `{name} = …`, not `{name} {{ … }}`',
                    )
            else:
                self.report(child.line, path + [name], "unknown-block", f'unknown block "{name}"{_suggest(name, args, blocks)}')

        for name, count in static_counts.items():
            if blocks[name].get("max") == 1 and count > 1:
                extra = [b for b in body.blocks if b.type == name][1]
                self.report(
                    extra.line,
                    path + [name],
                    "too-many-blocks",
                    f'"{name}" may appear at most once ({blocks[name]["nesting"]} nesting, max 1); found {count}',
                )

        for name, flags in args.items():
            if flags & REQUIRED and name not in body.attrs and not (flags & OBJECT and name in present):
                self.report(body.line, path + [name], "missing-argument", f'missing required argument "{name}"')
        for name, block_schema in blocks.items():
            # a block written as `x = …` was reported above; do not report it missing too
            if block_schema.get("min") and name not in present and name not in body.attrs:
                self.report(body.line, path + [name], "missing-block", f'missing required block "{name}"')


def _suggest(name: str, args: dict[str, int], blocks: dict[str, Any]) -> str:
    close = difflib.get_close_matches(name, [*args, *blocks], n=1, cutoff=0.75)
    return f' (did you mean "{close[0]}"?)' if close else ""


def check_block(top: Block, schema: Schema) -> list[Finding]:
    """Findings for one top-level block; blocks that are not aws resources/data/providers give none."""
    kind = top.type
    if kind not in META_ARGS or not top.labels:
        return []
    tf_type = top.labels[0]
    if kind == "provider" and tf_type != "aws":
        return []
    if kind != "provider" and not tf_type.startswith("aws_"):
        return []  # terraform_data, random_*, … are not this provider's
    type_schema = schema.of(kind, tf_type)
    if type_schema is None:
        checker = _Checker(kind, top, {})
        known = schema.doc[kind] if kind != "provider" else {}
        checker.report(
            top.line,
            [],
            "unknown-type",
            f'hashicorp/aws {schema.version} has no {kind} type "{tf_type}"{_suggest(tf_type, known, {})}',
        )
        return checker.findings
    checker = _Checker(kind, top, type_schema)
    checker.check_body(top, type_schema, [], top_level=True)
    return checker.findings


def check_file(path: Path, schema: Schema | None = None) -> list[Finding]:
    schema = schema or Schema.load()
    return [f for top in load_file(path).blocks for f in check_block(top, schema)]


def check_tree(tree: Path, schema: Schema | None = None) -> list[Finding]:
    """Findings for every ``.tf`` file under *tree* (``.terraform`` caches skipped), sorted by place."""
    schema = schema or Schema.load()
    findings = [
        f for path in sorted(Path(tree).rglob("*.tf")) if ".terraform" not in path.parts for f in check_file(path, schema)
    ]
    return sorted(findings, key=lambda f: (str(f.file), f.line, f.path))


def main(argv: list[str] | None = None) -> int:
    trees = [Path(a) for a in (argv if argv is not None else sys.argv[1:])] or [ROOT / "kyeol-infra-terraform"]
    findings = [f for tree in trees for f in check_tree(tree)]
    for finding in findings:
        print(finding)
    print(f"{len(findings)} finding(s) against hashicorp/aws {Schema.load().version}", file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    raise SystemExit(main())
