"""The engine's and the phases' modules form a hierarchy: no import cycle in ``runbook/`` or ``steps/``.

The graph is read from the source (``ast``), not from ``sys.modules``: every ``import`` counts,
at module level, inside functions (a deferred import hides a cycle, it does not remove it) and
under ``if TYPE_CHECKING:`` (a type-only cycle still means two modules that should be one, or a
third that both need). A cycle is reported by name, ``a -> b -> a``.
"""

from __future__ import annotations

import ast
import itertools
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("runbook", "steps")


def module_names(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    """Every module of ``packages`` under ``root``: dotted name -> file (a package is its ``__init__``)."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module a ``from ... import`` names, relative levels included."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base.pop()
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(module: str, path: Path, known: set[str]) -> set[str]:
    """The modules of ``known`` that ``module`` imports anywhere in its source."""
    is_package = path.name == "__init__.py"
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(module, is_package, node)
            for alias in node.names:
                # `from pkg import mod` imports the module pkg.mod; `from mod import name` imports mod.
                submodule = f"{source}.{alias.name}"
                targets.add(submodule if submodule in known else source)
    return {target for target in targets if target in known and target != module}


def import_graph(root: Path, packages: tuple[str, ...] = PACKAGES) -> dict[str, set[str]]:
    """module -> the modules of the same packages it imports."""
    modules = module_names(root, packages)
    known = set(modules)
    return {name: imports_of(name, path, known) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as ``[a, b, ..., a]``, or None when the graph is a hierarchy."""
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as error:
        # graphlib names the cycle along predecessor edges; turn it round so it reads as imports.
        return list(reversed(error.args[1]))
    return None


def test_runbook_and_steps_have_no_import_cycle() -> None:
    graph = import_graph(ROOT)
    assert "runbook.state" in graph and "steps.wiring.cli" in graph  # the walk found the real packages
    assert "runbook.lock" in graph["runbook.state"]  # and read their imports, deferred ones too
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def _plant(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    "files",
    [
        pytest.param(
            {"pkg/a.py": "from pkg import b\n", "pkg/b.py": "import pkg.c\n", "pkg/c.py": "from pkg.a import thing\n"},
            id="module-level",
        ),
        pytest.param(
            {
                "pkg/a.py": "import pkg.b\n",
                "pkg/b.py": "def later():\n    from pkg.c import x\n",
                "pkg/c.py": "from . import a\n",
            },
            id="function-level-and-relative",
        ),
        pytest.param(
            {
                "pkg/a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import B\n",
                "pkg/b.py": "from .sub.c import x\n",
                "pkg/sub/c.py": "from ..a import y\n",
            },
            id="type-checking-and-subpackage",
        ),
    ],
)
def test_a_planted_cycle_is_found_and_named(tmp_path: Path, files: dict[str, str]) -> None:
    files = {"pkg/__init__.py": "", "pkg/sub/__init__.py": "", **files}
    _plant(tmp_path, files)
    cycle = find_cycle(import_graph(tmp_path, ("pkg",)))
    assert cycle is not None
    assert cycle[0] == cycle[-1]
    assert {m.rsplit(".", 1)[-1] for m in cycle} == {"a", "b", "c"}
    graph = import_graph(tmp_path, ("pkg",))
    for importer, imported in itertools.pairwise(cycle):
        assert imported in graph[importer], f"{importer} does not import {imported}"


def test_a_hierarchy_passes(tmp_path: Path) -> None:
    _plant(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg import a\n",
            "pkg/a.py": "import os\nfrom pkg import b\nfrom pkg.b import name\n",
            "pkg/b.py": "def f():\n    import pkg.c\n",
            "pkg/c.py": "import json\n",
        },
    )
    graph = import_graph(tmp_path, ("pkg",))
    assert graph["pkg.a"] == {"pkg.b"} and graph["pkg.b"] == {"pkg.c"}
    assert find_cycle(graph) is None
