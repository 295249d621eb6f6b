"""Which resources must Terraform finish before another one starts? The static dependency graph.

Terraform orders a plan by references (hashicorp/terraform@v1.11 internal/terraform/
transform_reference.go): a resource waits for everything its arguments, nested blocks,
``depends_on`` and ``lifecycle.replace_triggered_by`` name; a module's input variable waits for
the caller's argument expression and for the call's ``depends_on``; an output waits for its
``value`` and its own ``depends_on``. References through ``var.``, ``local.`` and ``module.x.out``
are therefore followed across module boundaries, which is how a module can make one of its
resources wait for a resource of a sibling module (``depends_on = [var.internet_gateway_id]``).
The graph is built from the HCL only (no provider is needed), per module *block*, not per
``count``/``for_each`` instance: the question here is "is there a path", which instances share.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tests.infra.evaluate import Instance, _split_template
from tests.infra.hcl import Block

_REF = re.compile(r"(?<![\w.\-\"])(var|local|module|data|ephemeral|[a-z][a-z0-9]*_[a-z0-9_]+)\.([\w-]+)(?:\.([\w-]+))?")
_NOT_REFS = {"each", "count", "self", "path", "terraform"}


@dataclass(frozen=True)
class Node:
    """One vertex: a resource/data block, a variable, a local or an output of one module instance."""

    address: str  # the module instance, "" for the root
    kind: str  # "resource", "data", "ephemeral", "var", "local", "output"
    name: str  # "aws_nat_gateway.this", "internet_gateway_id", ...

    def __str__(self) -> str:
        prefix = f"{self.address}." if self.address else ""
        return f"{prefix}{self.name if self.kind == 'resource' else f'{self.kind}.{self.name}'}"


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k)
            yield from _strings(v)


def references(value: Any) -> Iterator[tuple[str, str, str | None]]:
    """``(head, name, attr)`` of every reference inside the ``${…}`` parts of a serialized value."""
    for text in _strings(value):
        for kind, part in _split_template(text):
            if kind != "expr":
                continue
            for m in _REF.finditer(part):
                if m.group(1) not in _NOT_REFS:
                    yield m.group(1), m.group(2), m.group(3)


def _block_values(block: Block) -> Iterator[Any]:
    for attr in block.attrs.values():
        yield attr.value
    for child in block.blocks:
        yield from _block_values(child)


class Graph:
    """Edges of one root and every local module below it (``edges[node]`` = what it waits for)."""

    def __init__(self, root: Instance) -> None:
        self.instances = {inst.address: inst for inst in root.walk()}
        self.edges: dict[Node, set[Node]] = {}
        for inst in self.instances.values():
            self._add(inst)

    def _targets(self, inst: Instance, value: Any) -> set[Node]:
        out: set[Node] = set()
        for head, name, attr in references(value):
            if head == "var":
                out.add(Node(inst.address, "var", name))
            elif head == "local":
                out.add(Node(inst.address, "local", name))
            elif head == "module":
                child = inst.children.get(name)
                if child is None:
                    continue
                if attr is None:  # `depends_on = [module.x]`: everything in it
                    out |= {n for n in self._all_nodes(child) if n.kind in ("resource", "data")}
                else:
                    out.add(Node(child.address, "output", attr))
            elif head in ("data", "ephemeral"):
                if attr:
                    out.add(Node(inst.address, head, f"{name}.{attr}"))
            else:
                out.add(Node(inst.address, "resource", f"{head}.{name}"))
        return out

    def _all_nodes(self, inst: Instance) -> Iterator[Node]:
        for block in inst.top("resource"):
            yield Node(inst.address, "resource", ".".join(block.labels))
        for block in inst.top("data"):
            yield Node(inst.address, "data", ".".join(block.labels))
        for child in inst.children.values():
            yield from self._all_nodes(child)

    def _add(self, inst: Instance) -> None:
        for kind in ("resource", "data", "ephemeral"):
            for block in inst.top(kind):
                node = Node(inst.address, kind, ".".join(block.labels))
                self.edges[node] = self._targets(inst, list(_block_values(block)))
        for block in inst.top("locals"):
            for name, attr in block.attrs.items():
                self.edges[Node(inst.address, "local", name)] = self._targets(inst, attr.value)
        for block in inst.top("output"):
            self.edges[Node(inst.address, "output", block.labels[0])] = self._targets(inst, list(_block_values(block)))
        for block in inst.top("variable"):
            node = Node(inst.address, "var", block.labels[0])
            call, parent = inst.call, inst.parent
            if call is None or parent is None:
                self.edges[node] = set()
                continue
            passed = call.value(block.labels[0])
            self.edges[node] = self._targets(parent, [passed, call.value("depends_on", [])])

    def waits_for(self, start: Node) -> set[Node]:
        """Every node *start* transitively depends on."""
        seen: set[Node] = set()
        todo = list(self.edges.get(start, ()))
        while todo:
            node = todo.pop()
            if node in seen:
                continue
            seen.add(node)
            todo.extend(self.edges.get(node, ()))
        return seen

    def resources(self, module_dir: str, tf_type: str) -> list[Node]:
        """Resource nodes of one type in every instance of a module directory (e.g. ``pg-nat``)."""
        return [
            Node(inst.address, "resource", ".".join(b.labels))
            for inst in self.instances.values()
            if inst.directory.name == module_dir
            for b in inst.resources(tf_type)
        ]

    def waits_for_type(self, start: Node, module_dir: str, tf_type: str, name: str | None = None) -> bool:
        """Does *start* wait for a resource of *tf_type* (named *name*) in an instance of *module_dir*?"""
        dirs = {addr for addr, inst in self.instances.items() if inst.directory.name == module_dir}
        return any(
            n.kind == "resource"
            and n.address in dirs
            and n.name.split(".")[0] == tf_type
            and (name is None or n.name.split(".")[1] == name)
            for n in self.waits_for(start)
        )
