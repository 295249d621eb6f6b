"""Module interface checks for a Terraform tree (what ``terraform validate`` would catch, offline).

Each check returns a list of :class:`Problem`; an empty list means the tree is consistent.
Checked: module calls pass only declared variables and every required one; ``module.x.y``
names a call and an output that exist; ``var.x`` names a declared variable; variables carry a
``type`` and a ``description``; roots and modules have the standard four files; env roots
declare the S3 backend (settings come from ``kyeol`` at init); tfvars set only declared variables;
``moved`` blocks lead from an address no longer declared to one that is, through nested local
module calls (``module.a.module.b[0].aws_x.y``), with an instance key only where the call has
``count``/``for_each``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.infra.hcl import Attr, Block, load_file, load_module, module_dirs, references, tf_files, top_blocks

STANDARD_FILES = ("main.tf", "variables.tf", "outputs.tf", "versions.tf")
MODULE_META = {"source", "version", "count", "for_each", "providers", "depends_on"}
# Partial backend configuration: kyeol passes these per account/root at `terraform init`.
BACKEND_FROM_KYEOL = ("bucket", "key", "region", "dynamodb_table")
_MODULE_REF = re.compile(r"\bmodule\.([A-Za-z_][\w-]*)(?:\[[^\]]*\])?(?:\.([A-Za-z_][\w-]*))?")
_VAR_REF = re.compile(r"(?<![\w.])var\.([A-Za-z_][\w-]*)")
# Blocks whose arguments are addresses (module.x, aws_x.y), not expressions: checked by check_moved.
ADDRESS_BLOCKS = {"moved", "removed"}
_ADDRESS_STEP = re.compile(r"module\.([A-Za-z_][\w-]*)(\[[^\]]*\])?(?:\.|$)")
_RESOURCE_ADDRESS = re.compile(r"(data\.)?([A-Za-z_][\w-]*)\.([A-Za-z_][\w-]*)(\[[^\]]*\])?")


@dataclass(frozen=True)
class Problem:
    file: Path
    line: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message} [{self.code}]"


@dataclass(frozen=True)
class Layout:
    """Where the roots and modules of a tree are (runbook §4.1)."""

    tree: Path

    @property
    def env_roots(self) -> list[Path]:
        return sorted(p for p in (self.tree / "envs").glob("*") if p.is_dir() and tf_files(p))

    @property
    def roots(self) -> list[Path]:
        return self.env_roots + sorted(p for p in (self.tree / "global").glob("*") if p.is_dir() and tf_files(p))

    @property
    def modules(self) -> list[Path]:
        return sorted(p for p in (self.tree / "modules").glob("*") if p.is_dir())

    def root(self, name: str) -> Path:
        return self.tree / name


def _attrs(block: Block) -> Iterator[tuple[Block, Attr]]:
    for b in block.walk():
        for attr in b.attrs.values():
            yield b, attr


def variables(directory: Path) -> dict[str, Block]:
    return {b.labels[0]: b for b in top_blocks(directory, "variable") if b.labels}


def outputs(directory: Path) -> dict[str, Block]:
    return {b.labels[0]: b for b in top_blocks(directory, "output") if b.labels}


def module_calls(directory: Path) -> dict[str, Block]:
    return {b.labels[0]: b for b in top_blocks(directory, "module") if b.labels}


def local_source(call: Block) -> Path | None:
    """The directory of a module call with a relative ``source``; None for registry/git sources."""
    source = call.value("source")
    if isinstance(source, str) and source.startswith(("./", "../")):
        return (call.file.parent / source).resolve()
    return None


def check_module_calls(directory: Path) -> list[Problem]:
    """Inputs of every local module call against the called module's variables."""
    problems = []
    for name, call in module_calls(directory).items():
        target = local_source(call)
        if target is None:
            continue
        if not tf_files(target):
            problems.append(
                Problem(
                    call.file, call.line, "missing-module", f'module "{name}": source {call.value("source")} has no .tf files'
                )
            )
            continue
        declared = variables(target)
        for attr in call.attrs.values():
            if attr.name not in MODULE_META and attr.name not in declared:
                problems.append(
                    Problem(
                        call.file,
                        attr.line,
                        "unknown-input",
                        f'module "{name}" passes "{attr.name}", which {target.name} does not declare',
                    )
                )
        for var_name, var in declared.items():
            if "default" not in var.attrs and var_name not in call.attrs:
                problems.append(
                    Problem(
                        call.file,
                        call.line,
                        "missing-input",
                        f'module "{name}" does not pass required variable "{var_name}" of {target.name} ({var.where})',
                    )
                )
    return problems


def check_references(directory: Path) -> list[Problem]:
    """``module.x.y`` and ``var.x`` references in one module directory resolve."""
    problems = []
    calls = module_calls(directory)
    declared_vars = variables(directory)
    for file in load_module(directory):
        expressions = Block(
            file.type, file.labels, file.line, file.file, file.attrs, [b for b in file.blocks if b.type not in ADDRESS_BLOCKS]
        )
        for _block, attr in _attrs(expressions):
            for text in references(attr.value):  # only expressions, never prose in strings
                for m in _MODULE_REF.finditer(text):
                    mod, out = m.group(1), m.group(2)
                    if mod not in calls:
                        problems.append(
                            Problem(file.file, attr.line, "unknown-module", f'"{m.group(0)}": no module "{mod}" here')
                        )
                        continue
                    target = local_source(calls[mod])
                    if out and target is not None and tf_files(target) and out not in outputs(target):
                        problems.append(
                            Problem(
                                file.file,
                                attr.line,
                                "unknown-output",
                                f'"{m.group(0)}": module {target.name} has no output "{out}"',
                            )
                        )
                for var in _VAR_REF.findall(text):
                    if var not in declared_vars:
                        problems.append(
                            Problem(
                                file.file, attr.line, "undeclared-variable", f'"var.{var}" is not declared in {directory.name}'
                            )
                        )
    return problems


def _address(value: Any) -> str:
    """``"${module.a.module.b[0]}"`` (hcl2's serialization of an address) → ``module.a.module.b[0]``."""
    text = str(value or "").strip()
    return text[2:-1] if text.startswith("${") and text.endswith("}") else text


def resolve_address(directory: Path, address: str) -> str | None:
    """Why *address* names nothing declared from *directory*, or None when it does.

    Follows ``module.<call>[key]`` steps through local module calls, then looks for the
    resource (``aws_x.y``, ``data.aws_x.y``) in the module reached; an address that ends at a
    call names that module instance. A key (``[0]``, ``["k"]``) needs ``count``/``for_each`` on
    the call, and a call with ``count``/``for_each`` needs one.
    """
    rest, here = address, directory
    while m := _ADDRESS_STEP.match(rest):
        name, key = m.group(1), m.group(2)
        call = module_calls(here).get(name)
        if call is None:
            return f'no module "{name}" in {here.name}'
        repeated = "count" in call.attrs or "for_each" in call.attrs
        if repeated != (key is not None):
            return f'module "{name}" in {here.name} ' + (
                "has count/for_each: name one instance (e.g. [0])" if repeated else "has no count/for_each: drop the key"
            )
        target = local_source(call)
        if target is None or not tf_files(target):
            return f'module "{name}" in {here.name} is not a local module this check can follow'
        here, rest = target, rest[m.end() :]
    if not rest:
        return None
    r = _RESOURCE_ADDRESS.fullmatch(rest)
    if r is None:
        return f'"{rest}" is not a resource address'
    kind, tf_type, name = ("data" if r.group(1) else "resource"), r.group(2), r.group(3)
    if not any(b.labels[:2] == (tf_type, name) for b in top_blocks(here, kind)):
        return f'no {kind} "{tf_type}" "{name}" in {here.name}'
    return None


def check_moved(directory: Path) -> list[Problem]:
    """``moved`` blocks: ``to`` is declared (through nested module calls), ``from`` no longer is."""
    problems = []
    for block in top_blocks(directory, "moved"):
        source, target = _address(block.value("from")), _address(block.value("to"))
        if not source or not target:
            problems.append(Problem(block.file, block.line, "moved-incomplete", "moved block needs both from and to"))
            continue
        why = resolve_address(directory, target)
        if why is not None:
            problems.append(
                Problem(
                    block.file, block.attrs["to"].line, "moved-to-unknown", f'moved to "{target}", which is not declared: {why}'
                )
            )
        if resolve_address(directory, source) is None:
            problems.append(
                Problem(
                    block.file,
                    block.attrs["from"].line,
                    "moved-from-declared",
                    f'moved from "{source}", which is still declared: Terraform refuses the move',
                )
            )
    return problems


def check_variable_docs(directory: Path) -> list[Problem]:
    problems = []
    for name, var in variables(directory).items():
        for key in ("type", "description"):
            value = var.value(key)
            if value is None or (key == "description" and not str(value).strip()):
                problems.append(Problem(var.file, var.line, f"variable-without-{key}", f'variable "{name}" has no {key}'))
    return problems


def check_standard_files(directory: Path) -> list[Problem]:
    return [
        Problem(directory / f, 0, "missing-file", f"{directory.name} has no {f}")
        for f in STANDARD_FILES
        if not (directory / f).is_file()
    ]


def backends(directory: Path) -> list[Block]:
    return [b for t in top_blocks(directory, "terraform") for b in t.children("backend")]


def check_backend(directory: Path, *, local_state: bool) -> list[Problem]:
    """Env roots: ``backend "s3"`` with the account-specific settings left to kyeol; bootstrap: local state."""
    found = backends(directory)
    if local_state:
        return [
            Problem(
                b.file,
                b.line,
                "unexpected-backend",
                f"{directory.name} keeps local state (it creates the bucket) but declares backend {b.labels}",
            )
            for b in found
            if b.labels != ("local",)
        ]
    if not found:
        return [Problem(directory / "versions.tf", 0, "missing-backend", f'{directory.name} declares no backend "s3"')]
    problems = []
    for b in found:
        if b.labels != ("s3",):
            problems.append(Problem(b.file, b.line, "wrong-backend", f'{directory.name}: backend {b.labels} should be "s3"'))
        for key in BACKEND_FROM_KYEOL:
            if key in b.attrs:
                problems.append(
                    Problem(
                        b.file,
                        b.attrs[key].line,
                        "backend-hardcoded",
                        f'{directory.name}: backend "{key}" is passed by kyeol with -backend-config; do not hard-code it',
                    )
                )
    return problems


def check_tfvars(directory: Path) -> list[Problem]:
    path = directory / "terraform.tfvars"
    if not path.is_file():
        return []
    declared = variables(directory)
    return [
        Problem(
            path, attr.line, "tfvars-undeclared", f'terraform.tfvars sets "{attr.name}", which {directory.name} does not declare'
        )
        for attr in load_file(path).attrs.values()
        if attr.name not in declared
    ]


def check_tree(tree: Path) -> list[Problem]:
    """Every interface check over every root and module of *tree*."""
    layout = Layout(Path(tree))
    problems: list[Problem] = []
    for directory in module_dirs(layout.tree):
        problems += check_module_calls(directory)
        problems += check_references(directory)
        problems += check_moved(directory)
        problems += check_variable_docs(directory)
        problems += check_tfvars(directory)
    for directory in layout.roots + layout.modules:
        problems += check_standard_files(directory)
    for root in layout.roots:
        problems += check_backend(root, local_state=root.name == "bootstrap")
    return sorted(problems, key=lambda p: (str(p.file), p.line, p.code))
