"""Run the real ``terraform`` over every root of a tree with the provider stand-in.

A root is copied with the whole tree (its modules are ``../../modules/x``) into a scratch
folder without any ``.terraform``, state or lock file (a lock file holding the real provider's
hashes would make ``init`` refuse the stand-in). A root with an S3 backend gets a
``backend_override.tf`` of ``backend "local" {}`` in the copy — Terraform's own override
mechanism (``*_override.tf`` merges over the root's ``backend`` block), so ``apply`` and
``output`` work on a local state file; ``-backend=false`` would leave nothing to apply to.

Values a root takes are the ones kyeol passes (each step's ``variables()``, fed with the
outputs of the roots applied before it, the way kyeol chains them) plus the documented
values a person fills in (``FILLED_IN``): realistic, not documentation ranges.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.tfprovider.build import Build

# What a person fills in before a real deploy (kyeol-infra-terraform/README.md "Values to fill in").
FILLED_IN: dict[str, Any] = {"operator_cidrs": ["54.250.64.17/32", "13.112.10.0/28"]}
_IGNORE = shutil.ignore_patterns(".terraform", "*.tfstate", "*.tfstate.*", ".terraform.lock.hcl", "tfplan")


class TerraformFailed(AssertionError):
    """A terraform command failed: its own output is the message."""


@dataclass
class RootRun:
    root: str
    root_dir: Path
    values: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.seconds.values())


def copy_tree(tree: Path, dest: Path) -> Path:
    """The tree without local state, plugins or lock files, under *dest*."""
    target = dest / tree.name
    shutil.copytree(tree, target, ignore=_IGNORE, symlinks=True)
    return target


def has_s3_backend(root: Path) -> bool:
    return any(re.search(r'^\s*backend\s+"s3"', p.read_text(encoding="utf-8"), re.M) for p in root.glob("*.tf"))


def local_backend(root: Path) -> None:
    (root / "backend_override.tf").write_text(
        '# Written by the test gate: local state instead of the S3 backend.\nterraform {\n  backend "local" {}\n}\n'
    )


def declared_variables(root: Path) -> set[str]:
    names: set[str] = set()
    for path in root.glob("*.tf"):
        names.update(re.findall(r'^variable\s+"(\w+)"', path.read_text(encoding="utf-8"), re.M))
    return names


def terraform(build: Build, root: Path, *args: str, timeout: float = 300) -> str:
    proc = subprocess.run(["terraform", *args], cwd=root, env=build.env(), capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise TerraformFailed(
            f"terraform {' '.join(args)} in {root.name} failed (exit {proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
        )
    return proc.stdout


def var_args(values: dict[str, Any]) -> list[str]:
    return [f"-var={name}={json.dumps(value) if not isinstance(value, str) else value}" for name, value in sorted(values.items())]


def run_root(build: Build, root_dir: Path, values: dict[str, Any], *, apply: bool = True) -> RootRun:
    """init → validate → plan (from empty state) → apply → output -json, timed."""
    run = RootRun(root=root_dir.name, root_dir=root_dir, values=values)
    if has_s3_backend(root_dir):
        local_backend(root_dir)
    steps: list[tuple[str, Callable[[], str]]] = [
        ("init", lambda: terraform(build, root_dir, "init", "-input=false", "-no-color")),
        ("validate", lambda: terraform(build, root_dir, "validate", "-no-color")),
        ("plan", lambda: terraform(build, root_dir, "plan", "-input=false", "-no-color", "-out=tfplan", *var_args(values))),
    ]
    if apply:
        steps.append(("apply", lambda: terraform(build, root_dir, "apply", "-input=false", "-no-color", "tfplan")))
    for name, step in steps:
        started = time.monotonic()
        step()
        run.seconds[name] = time.monotonic() - started
    if apply:
        started = time.monotonic()
        run.outputs = json.loads(terraform(build, root_dir, "output", "-json"))
        run.seconds["output"] = time.monotonic() - started
    return run


def replan(build: Build, run: RootRun) -> str:
    """A plan right after the apply: kyeol's "a second deploy applies nothing" needs it to have
    no changes (``-detailed-exitcode``: 0 none, 2 changes, 1 error; any non-zero fails)."""
    return terraform(build, run.root_dir, "plan", "-input=false", "-no-color", "-detailed-exitcode", *var_args(run.values))


def root_order(roots: list[str]) -> list[str]:
    """Roots in the order kyeol applies them (bootstrap, account, global, MGMT, then the envs):
    a root is ranked by the first phase-1/2 name it contains; unknown roots go last, by name."""
    rank = {"bootstrap": 0, "account": 1, "global": 2, "mgmt": 3}

    def key(root: str) -> tuple[int, str]:
        return (min((rank[p] for p in Path(root).parts if p in rank), default=9), root)

    return sorted(roots, key=key)
