"""Extract a compact hashicorp/aws provider schema from the prebuilt cdktn provider package.

No provider binary can be downloaded where kyeol's tests run, so ``terraform validate`` is
impossible. The CDK-for-Terraform package on PyPI carries the provider's schema in its jsii
assembly and generated JavaScript; this script reads it out exactly (method and accuracy
check: ``shared/reference/provider-schema.md``) and writes the small gzipped JSON that
``tests/infra/schema_check.py`` checks the Terraform tree against.

Names come from the ``{@link …#anchor}`` in each property's docs (never from camelCase
guessing); block versus attribute from the generator's fixed ``"<name> block."`` summary,
cross-checked with the ``…ToHclTerraform`` tables of the JavaScript. Properties that cannot
be named and doc/JS disagreements are counted in the output's metadata (a test requires 0).

Usage: see README.md next to this file.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:  # run as a script (tools/provider_schema/extract.py) or imported as a package module
    from tools.provider_schema import typed
except ImportError:  # pragma: no cover - script mode
    import typed  # type: ignore[no-redef]

PACKAGE = "cdktn-provider-aws"
PACKAGE_VERSION = "25.8.1"
HERE = Path(__file__).resolve().parent
FORMAT_VERSION = 1

# Argument flags in the compact schema (a bit set per argument).
REQUIRED = 1
OBJECT = 2  # struct-typed attribute: Terraform may accept block syntax for it (provider-schema.md caveat 2)

_BASES = {
    "TerraformResource": "resource",
    "TerraformDataSource": "data",
    "TerraformEphemeralResource": "ephemeral",
    "TerraformProvider": "provider",
}
_TYPE_LINK = re.compile(
    r"\{@link https://registry\.terraform\.io/providers/hashicorp/aws/(?P<version>[^/\s]+)"
    r"(?:/docs/(?P<kind>resources|data-sources|ephemeral-resources)/(?P<slug>\w+) (?P<type>aws_\w+)"
    r"|/docs (?P<provider>aws))\}"
)
_ANCHOR = re.compile(
    r"\{@link https://registry\.terraform\.io/providers/hashicorp/aws/(?P<version>[^/\s#]+)[^\s#]*#(?P<name>[A-Za-z0-9_]+) "
)
_BLOCK_SUMMARY = re.compile(r"^(?P<name>[A-Za-z0-9_]+) block\.$")
_JS_TABLE_OWNER = re.compile(
    r"^function (?P<fn>\w+)ToHclTerraform\(struct\) \{$|^class (?P<cls>\w+) extends cdktn\.Terraform\w+ \{$|"
    r"^    synthesizeHclAttributes\(\) \{$",
    re.M,
)
_JS_ENTRY = re.compile(
    r'^\s+"?(?P<key>[\w-]+)"?: \{\n\s+value: (?P<value>.*),\n\s+isBlock: (?P<is_block>true|false),\n'
    r'\s+type: "(?P<type>\w+)",',
    re.M,
)
_LIST_MAPPER = re.compile(r"cdktn\.listMapperHcl\((?P<fn>[\w.]+), (?P<is_block>true|false)\)")


@dataclass(frozen=True)
class JsEntry:
    """One row of a generated ``…ToHclTerraform`` table: the HCL name and how it is rendered."""

    name: str
    table_type: str  # "simple" | "list" | "set" | "map" | "struct"
    list_mapper_block: bool | None  # the isBlock argument of listMapperHcl, when the row uses it


@dataclass
class Stats:
    """What the extraction could not resolve; both counters must stay 0 (tested)."""

    properties: int = 0
    unnamed: list[str] = field(default_factory=list)
    disagreements: list[str] = field(default_factory=list)
    single_required_dropped: int = 0
    opaque: list[str] = field(default_factory=list)
    refs: int = 0
    cross_checked: int = 0  # block/attribute verdicts compared with listMapperHcl's isBlock argument
    versions: Counter = field(default_factory=Counter)


def download_wheel(dest: Path, version: str = PACKAGE_VERSION) -> Path:
    """Fetch the wheel (no dependencies, nothing installed) with pip into *dest*."""
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", f"{PACKAGE}=={version}", "-d", str(dest)],
        check=True,
    )
    wheels = sorted(dest.glob(f"{PACKAGE.replace('-', '_')}-{version}-*.whl"))
    if not wheels:
        raise SystemExit(f"pip download finished but no {PACKAGE} {version} wheel is in {dest}")
    return wheels[0]


def read_package(
    wheel: Path, classes: dict[tuple[str, str], list[typed.JsAttr]] | None = None
) -> tuple[dict[str, Any], dict[tuple[str, str], dict[str, JsEntry]]]:
    """Read ``package/.jsii`` and every ``lib/**/*.js`` table out of the wheel's jsii tarball.

    When *classes* is given, it is filled with the typed attributes of every generated class,
    keyed by (module folder, class name), for ``typed.py``."""
    with zipfile.ZipFile(wheel) as zf:
        names = [n for n in zf.namelist() if "/_jsii/" in n and n.endswith(".jsii.tgz")]
        if len(names) != 1:
            raise SystemExit(f"{wheel.name}: expected one _jsii/*.jsii.tgz, found {names}")
        with tempfile.TemporaryDirectory() as tmp:
            tgz = Path(tmp) / "assembly.tgz"
            with zf.open(names[0]) as src, tgz.open("wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
            assembly: dict[str, Any] | None = None
            tables: dict[tuple[str, str], dict[str, JsEntry]] = {}
            with tarfile.open(tgz, "r:gz") as tar:
                for member in tar:
                    if member.name == "package/.jsii":
                        assembly = json.loads(tar.extractfile(member).read())  # type: ignore[union-attr]
                    elif member.name.startswith("package/lib/") and member.name.endswith(".js"):
                        # big modules are split: lib/<module>/index-structs/structsN.js beside index.js
                        module_file = member.name[len("package/lib/") : -len(".js")]
                        text = tar.extractfile(member).read().decode("utf-8")  # type: ignore[union-attr]
                        for owner, rows in parse_js_tables(text):
                            tables[(module_file, owner)] = rows
                        if classes is not None:
                            module_dir = module_file.split("/", 1)[0]
                            for cls_name, attrs in typed.parse_js_classes(text).items():
                                classes[(module_dir, cls_name)] = attrs
    if assembly is None:
        raise SystemExit(f"{wheel.name}: no package/.jsii in the jsii tarball")
    return assembly, tables


def parse_js_tables(text: str) -> Iterator[tuple[str, dict[str, JsEntry]]]:
    """Yield (owner, rows) for each ``const attrs = {…}`` table of a generated JS file.

    The owner is the struct name for ``function <struct>ToHclTerraform(struct)`` (first letter
    upper-cased back) and the class name for a Terraform class's ``synthesizeHclAttributes()``.
    Each such section holds exactly one table, so rows are read up to the next section.
    """
    current_class = ""
    marks = list(_JS_TABLE_OWNER.finditer(text))
    for i, mark in enumerate(marks):
        if mark.group("cls"):
            current_class = mark.group("cls")
            continue
        fn = mark.group("fn")
        owner = fn[0].upper() + fn[1:] if fn else current_class
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        start = text.find("const attrs = {", mark.end(), end)
        if start < 0:
            continue
        rows: dict[str, JsEntry] = {}
        for m in _JS_ENTRY.finditer(text, start, end):
            mapper = _LIST_MAPPER.search(m.group("value"))
            rows[m.group("key")] = JsEntry(
                name=m.group("key"),
                table_type=m.group("type"),
                list_mapper_block=None if mapper is None else mapper.group("is_block") == "true",
            )
        yield owner, rows


def _docs_text(prop: dict[str, Any]) -> str:
    docs = prop.get("docs", {})
    return f"{docs.get('summary', '')}\n{docs.get('remarks', '')}"


def doc_link(prop: dict[str, Any]) -> tuple[str, str] | None:
    """(Terraform name, provider version) of a jsii property, from the registry link in its docs."""
    m = _ANCHOR.search(_docs_text(prop))
    return (m.group("name"), m.group("version")) if m else None


def struct_of(ty: dict[str, Any]) -> tuple[str | None, bool]:
    """(struct fqn, is single) for a property type that holds a struct, else (None, False)."""
    if "fqn" in ty:
        return (None, False) if ty["fqn"].startswith("cdktn.") else (ty["fqn"], True)
    if "union" in ty:
        for member in ty["union"]["types"]:
            fqn, _single = struct_of(member)
            if fqn:
                return fqn, False
    if "collection" in ty:
        fqn, _single = struct_of(ty["collection"]["elementtype"])
        if fqn:
            return fqn, False
    return None, False


class Extractor:
    """Walks the jsii config structs of every aws type into the compact schema."""

    def __init__(self, assembly: dict[str, Any], tables: dict[tuple[str, str], dict[str, JsEntry]]):
        self.types: dict[str, Any] = assembly["types"]
        self.tables = tables
        self.stats = Stats()
        self.locations: dict[tuple[str, str], tuple[str, str]] = {}  # (kind, type) -> (module folder, class)

    def _table(self, fqn_or_class: dict[str, Any], owner: str) -> dict[str, JsEntry] | None:
        filename = fqn_or_class.get("locationInModule", {}).get("filename", "")
        return self.tables.get((filename.removeprefix("src/").removesuffix(".ts"), owner))

    def _properties(self, struct: dict[str, Any]) -> list[dict[str, Any]]:
        props = list(struct.get("properties", []))
        for parent in struct.get("interfaces", []):
            if parent in self.types:  # cdktn.TerraformMetaArguments etc. live in another assembly
                props.extend(self._properties(self.types[parent]))
        return props

    def struct_schema(
        self, fqn: str, where: str, table: dict[str, JsEntry] | None, stack: tuple[tuple[str, str], ...]
    ) -> dict[str, Any]:
        """Arguments and blocks of one struct.

        *where* is the dotted path used in messages; *stack* holds (struct fqn, block path) of the
        enclosing blocks, so a struct that nests itself is recorded as a ``ref`` instead of looping.
        """
        struct = self.types[fqn]
        if table is None:
            table = self._table(struct, struct["name"])
        if table is None:
            self.stats.disagreements.append(f"{where}: no ToHclTerraform table for {fqn}")
            table = {}
        args: dict[str, int] = {}
        blocks: dict[str, Any] = {}
        seen: set[str] = set()
        for prop in self._properties(struct):
            self.stats.properties += 1
            link = doc_link(prop)
            if link is None:
                self.stats.unnamed.append(f"{where}.{prop['name']}")
                continue
            name, version = link
            self.stats.versions[version] += 1
            seen.add(name)
            row = table.get(name)
            if row is None:
                self.stats.disagreements.append(f"{where}.{name}: in the docs but not in the JS table")
            summary = _BLOCK_SUMMARY.match(prop.get("docs", {}).get("summary", ""))
            is_block = summary is not None and summary.group("name") == name
            required = not prop.get("optional", False)
            if row is not None and row.list_mapper_block is not None:
                self.stats.cross_checked += 1
            if row is not None and row.list_mapper_block is not None and row.list_mapper_block != is_block:
                self.stats.disagreements.append(
                    f"{where}.{name}: docs say {'block' if is_block else 'attribute'}, JS listMapperHcl says "
                    f"{'block' if row.list_mapper_block else 'attribute'}"
                )
            fqn_child, single = struct_of(prop["type"])
            if not is_block:
                args[name] = (REQUIRED if required else 0) | (OBJECT if fqn_child else 0)
                continue
            path = f"{where}.{name}"
            block: dict[str, Any] = {}
            if fqn_child is None:
                if prop["type"].get("primitive") != "any":
                    self.stats.disagreements.append(f"{path}: a block whose type holds no struct: {prop['type']}")
                block["opaque"] = True
                block["nesting"] = "list"
                self.stats.opaque.append(path)
            else:
                table_type = row.table_type if row is not None else "list"
                block["nesting"] = {"struct": "single", "list": "list", "set": "set"}.get(table_type)
                if block["nesting"] is None:
                    self.stats.disagreements.append(f"{path}: block rendered as JS type {table_type!r}")
                    block["nesting"] = "list"
                if single:
                    block["max"] = 1
                if required and block["nesting"] == "single":
                    self.stats.single_required_dropped += 1  # Terraform never requires a NestingSingle block
                elif required:
                    block["min"] = 1
                ancestors = dict(stack)
                if fqn_child in ancestors:
                    block["ref"] = ancestors[fqn_child]  # recursive nesting: same schema as that ancestor
                    self.stats.refs += 1
                else:
                    rel = path.split(".", 1)[1]
                    block.update(self.struct_schema(fqn_child, path, None, (*stack, (fqn_child, rel))))
            blocks[name] = block
        for extra in sorted(set(table) - seen):
            self.stats.disagreements.append(f"{where}.{extra}: in the JS table but not in the docs")
        out: dict[str, Any] = {}
        if args:
            out["args"] = dict(sorted(args.items()))
        if blocks:
            out["blocks"] = dict(sorted(blocks.items()))
        return out

    def extract(self) -> dict[str, Any]:
        kinds: dict[str, dict[str, Any]] = {"resource": {}, "data": {}, "ephemeral": {}}
        provider: dict[str, Any] | None = None
        for cls in sorted(self.types.values(), key=lambda c: c["fqn"]):
            if cls["kind"] != "class":
                continue
            base = cls.get("base", "")
            kind = _BASES.get(base.rsplit(".", 1)[-1]) if base.startswith(("cdktn.", "cdktf.")) else None
            if kind is None:
                continue
            link = _TYPE_LINK.search(cls.get("docs", {}).get("summary", ""))
            if link is None:
                self.stats.unnamed.append(f"class {cls['fqn']}")
                continue
            self.stats.versions[link.group("version")] += 1
            config = next(p for p in cls["initializer"]["parameters"] if p["name"] == "config")
            table = self._table(cls, cls["name"])
            module_dir = cls.get("locationInModule", {}).get("filename", "").removeprefix("src/").split("/", 1)[0]
            self.locations[(kind, "aws" if kind == "provider" else link.group("type"))] = (module_dir, cls["name"])
            if kind == "provider":
                self.provider_fqn, self.provider_table = config["type"]["fqn"], table
                provider = self.struct_schema(config["type"]["fqn"], "aws", table, ((config["type"]["fqn"], ""),))
                continue
            tf_type = link.group("type")
            expected_kind = {"resources": "resource", "data-sources": "data", "ephemeral-resources": "ephemeral"}
            if expected_kind[link.group("kind")] != kind or tf_type != f"aws_{link.group('slug')}":
                self.stats.disagreements.append(f"class {cls['fqn']}: base {base} but link {link.group(0)}")
            kinds[kind][tf_type] = self.struct_schema(config["type"]["fqn"], tf_type, table, ((config["type"]["fqn"], ""),))
        if provider is None:
            raise SystemExit("no TerraformProvider class in the assembly")
        return {"provider": provider, **kinds}


def build(
    assembly: dict[str, Any],
    tables: dict[tuple[str, str], dict[str, JsEntry]],
    source: dict[str, str],
    extractor: Extractor | None = None,
) -> dict[str, Any]:
    """The whole compact schema document, metadata first."""
    extractor = extractor or Extractor(assembly, tables)
    schema = extractor.extract()
    stats = extractor.stats
    versions = sorted(stats.versions)
    metadata = {
        "format": FORMAT_VERSION,
        "provider": "registry.terraform.io/hashicorp/aws",
        "provider_version": versions[0] if len(versions) == 1 else None,
        "provider_versions_seen": versions,
        "source": source,
        "counts": {
            "resource": len(schema["resource"]),
            "data": len(schema["data"]),
            "ephemeral": len(schema["ephemeral"]),
            "properties": stats.properties,
            "unnamed_properties": len(stats.unnamed),
            "doc_js_disagreements": len(stats.disagreements),
            "block_attribute_cross_checks": stats.cross_checked,
            "single_required_dropped": stats.single_required_dropped,
            "recursive_refs": stats.refs,
        },
        "unnamed_properties": stats.unnamed[:50],
        "doc_js_disagreements": stats.disagreements[:50],
        "opaque": stats.opaque,
        "flags": {"REQUIRED": REQUIRED, "OBJECT": OBJECT},
    }
    return {"metadata": metadata, **schema}


def _jsii_cty(ty: dict[str, Any], row: JsEntry | None) -> Any:
    """cty type of a jsii property type (the provider's plain-struct arguments)."""
    if "union" in ty:
        kinds = [t for t in ty["union"]["types"] if t.get("fqn") != "cdktn.IResolvable"]
        return _jsii_cty(kinds[0], row) if kinds else "dynamic"
    if "primitive" in ty:
        return {"string": "string", "number": "number", "boolean": "bool"}.get(ty["primitive"], "dynamic")
    if "collection" in ty:
        element = _jsii_cty(ty["collection"]["elementtype"], None)
        if ty["collection"]["kind"] == "map":
            return ["map", element]
        return ["set" if row is not None and row.table_type == "set" else "list", element]
    return "dynamic"


def provider_typed(extractor: Extractor, fqn: str, compact: dict[str, Any], table: dict[str, JsEntry] | None) -> dict[str, Any]:
    """Typed block of the provider configuration, from the jsii structs (its class stores plain
    values, so the generated JavaScript has no typed getters for it). Nothing here is computed."""
    struct = extractor.types[fqn]
    if table is None:
        table = extractor._table(struct, struct["name"]) or {}
    attrs: dict[str, Any] = {}
    blocks: dict[str, Any] = {}
    for prop in extractor._properties(struct):
        link = doc_link(prop)
        if link is None:
            continue
        name = link[0]
        if name in compact.get("blocks", {}):
            b = compact["blocks"][name]
            child, _single = struct_of(prop["type"])
            entry: dict[str, Any] = {"n": b["nesting"]}
            entry.update({k: b[k] for k in ("min", "max") if k in b})
            entry["blk"] = provider_typed(extractor, child, b, None) if child else {}
            blocks[name] = entry
        elif name in compact.get("args", {}):
            flags = typed.REQUIRED if compact["args"][name] & REQUIRED else typed.OPTIONAL
            ty = _jsii_cty(prop["type"], table.get(name))
            if name in ("secret_key", "token", "access_key"):
                flags |= typed.SENSITIVE
            attrs[name] = [ty, flags]
    out: dict[str, Any] = {}
    if attrs:
        out["a"] = dict(sorted(attrs.items()))
    if blocks:
        out["b"] = dict(sorted(blocks.items()))
    return out


def build_typed(
    compact: dict[str, Any], classes: dict[tuple[str, str], list[typed.JsAttr]], extractor: Extractor
) -> dict[str, Any]:
    """The typed schema document (``typed.py``) of every type of the compact one."""
    locations = {k: v for k, v in extractor.locations.items() if k[0] != "provider"}
    schema, problems = typed.build_typed(compact, classes, locations)
    schema["provider"] = provider_typed(extractor, extractor.provider_fqn, compact["provider"], extractor.provider_table)
    metadata = {
        "format": 1,
        "provider": "registry.terraform.io/hashicorp/aws",
        "provider_version": compact["metadata"]["provider_version"],
        "source": compact["metadata"]["source"],
        "flags": {
            "REQUIRED": typed.REQUIRED,
            "OPTIONAL": typed.OPTIONAL,
            "COMPUTED": typed.COMPUTED,
            "SENSITIVE": typed.SENSITIVE,
            "WRITE_ONLY": typed.WRITE_ONLY,
        },
        "omitted_opaque": schema.pop("omitted"),
        "problems": problems[:50],
        "problem_count": len(problems),
    }
    return {"metadata": metadata, **schema}


def write(doc: dict[str, Any], out: Path) -> None:
    """Deterministic gzip (no mtime, sorted keys) so regenerating gives the same bytes."""
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("utf-8")
    with out.open("wb") as fh, gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0, compresslevel=9) as gz:
        gz.write(raw)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", type=Path, help="an already downloaded cdktn-provider-aws wheel (skips pip download)")
    parser.add_argument("--version", default=PACKAGE_VERSION, help=f"{PACKAGE} version to download (default {PACKAGE_VERSION})")
    parser.add_argument("--out", type=Path, help="output .json.gz (default: aws-<provider version>.json.gz beside this script)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or download_wheel(Path(tmp), args.version)
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        classes: dict[tuple[str, str], list[typed.JsAttr]] = {}
        assembly, tables = read_package(wheel, classes)
        source = {"package": f"pypi:{PACKAGE}", "version": assembly["version"], "wheel": wheel.name, "sha256": digest}
        extractor = Extractor(assembly, tables)
        doc = build(assembly, tables, source, extractor)
        typed_doc = build_typed(doc, classes, extractor)
    meta = doc["metadata"]
    if meta["provider_version"] is None:
        print(f"error: doc links name several provider versions: {meta['provider_versions_seen']}", file=sys.stderr)
        return 1
    out = args.out or HERE / f"aws-{meta['provider_version']}.json.gz"
    write(doc, out)
    typed_out = out.with_name(out.name.replace(".json.gz", ".typed.json.gz"))
    write(typed_doc, typed_out)
    print(f"{typed_out}: typed schema, {typed_doc['metadata']['problem_count']} problems, {typed_out.stat().st_size // 1024} KB")
    for line in typed_doc["metadata"]["problems"]:
        print(f"  {line}", file=sys.stderr)
    counts = meta["counts"]
    print(
        f"{out}: hashicorp/aws {meta['provider_version']} — {counts['resource']} resources, {counts['data']} data sources, "
        f"{counts['ephemeral']} ephemeral; {counts['properties']} properties, {counts['unnamed_properties']} unnamed, "
        f"{counts['doc_js_disagreements']} doc/JS disagreements, {len(meta['opaque'])} opaque subtrees, "
        f"{out.stat().st_size // 1024} KB"
    )
    for line in meta["unnamed_properties"] + meta["doc_js_disagreements"]:
        print(f"  {line}", file=sys.stderr)
    clean = counts["unnamed_properties"] == 0 and counts["doc_js_disagreements"] == 0
    return 0 if clean and typed_doc["metadata"]["problem_count"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
