"""The step graph: validation, runbook order, selection, critical path and a drawing.

Steps name the steps they need; the graph checks that those names exist and form no
cycle, and answers the scheduling questions the runner and the CLI ask. Every error here
is a usage error: the runbook as written cannot run, nothing has been touched.
"""

from __future__ import annotations

import difflib
import heapq
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from runbook.errors import UsageError
from runbook.step import Step


class Graph:
    """A validated DAG of steps, listed in runbook order (phase, then declaration order)."""

    def __init__(self, steps: Sequence[Step]) -> None:
        self._declared: list[Step] = list(steps)
        self._by_id: dict[str, Step] = {}
        for step in self._declared:
            if not step.id:
                raise UsageError(f"a step of type {type(step).__name__} has no id", hint="give every step a unique id")
            if step.id in self._by_id:
                raise UsageError(
                    f"step id {step.id!r} is declared twice",
                    hint="step ids must be unique across the runbook (prefix them with their scope)",
                )
            self._by_id[step.id] = step
        for step in self._declared:
            for need in step.needs:
                if need not in self._by_id:
                    raise UsageError(
                        f"step {step.id!r} needs {need!r}, which is not a step of this runbook",
                        hint=_did_you_mean(need, self._by_id) or "fix the needs of that step",
                    )
        self._dependents: dict[str, list[str]] = {s.id: [] for s in self._declared}
        for step in self._declared:
            for need in dict.fromkeys(step.needs):
                self._dependents[need].append(step.id)
        self._check_cycles()
        self._order = self._topological_order()
        self._position = {sid: i for i, sid in enumerate(self._order)}

    # -- lookups ---------------------------------------------------------------------------

    def __getitem__(self, step_id: str) -> Step:
        return self._by_id[step_id]

    def __contains__(self, step_id: object) -> bool:
        return step_id in self._by_id

    def __len__(self) -> int:
        return len(self._by_id)

    @property
    def steps(self) -> list[Step]:
        """Every step in runbook order."""
        return [self._by_id[sid] for sid in self._order]

    def order(self) -> list[str]:
        """A topological order that keeps the runbook's phase order where the needs allow."""
        return list(self._order)

    def position(self, step_id: str) -> int:
        return self._position[step_id]

    def sort(self, step_ids: Iterable[str]) -> list[str]:
        """The given ids in runbook order."""
        return sorted(step_ids, key=self._position.__getitem__)

    def dependents(self, step_id: str) -> list[str]:
        """Every step that needs ``step_id``, directly or not, in runbook order."""
        seen: set[str] = set()
        stack = list(self._dependents[step_id])
        while stack:
            sid = stack.pop()
            if sid not in seen:
                seen.add(sid)
                stack.extend(self._dependents[sid])
        return self.sort(seen)

    def ready(self, done: set[str] | frozenset[str]) -> list[str]:
        """Steps not in ``done`` whose needs all are, in runbook order."""
        return [sid for sid in self._order if sid not in done and all(n in done for n in self._by_id[sid].needs)]

    # -- selection -------------------------------------------------------------------------

    def select(
        self,
        *,
        only: Iterable[str] | str | None = None,
        from_: str | None = None,
        to: str | None = None,
    ) -> list[str]:
        """The ids a run covers, in runbook order.

        ``only`` names exact steps (a list, or one comma-separated string); ``from_``/``to``
        cut the runbook order, both ends included. Needs outside the selection are the
        runner's business: they must already be done.
        """
        wanted = _split_ids(only)
        if wanted and (from_ or to):
            raise UsageError("--only cannot be combined with --from/--to", hint="use either --only or a --from/--to range")
        if wanted:
            for sid in wanted:
                self._require(sid, "--only")
            return self.sort(set(wanted))
        start = self._position[self._require(from_, "--from")] if from_ else 0
        end = self._position[self._require(to, "--to")] if to else len(self._order) - 1
        if start > end:
            raise UsageError(
                f"--from {from_} comes after --to {to} in the runbook order",
                hint="order: " + " → ".join(self._order),
            )
        return self._order[start : end + 1]

    def _require(self, step_id: str | None, option: str) -> str:
        if step_id not in self._by_id:
            raise UsageError(
                f"{option} {step_id!r} is not a step of this runbook",
                hint=_did_you_mean(step_id or "", self._by_id) or "steps: " + ", ".join(self._order),
            )
        return step_id

    # -- analysis --------------------------------------------------------------------------

    def critical_path(self, durations: Mapping[str, float] | None = None) -> tuple[float, list[str]]:
        """The longest chain of needs, weighted by duration (the estimate where none is given).

        It is the floor of a run's wall time with unbounded parallelism.
        """
        durations = durations or {}
        best: dict[str, float] = {}
        via: dict[str, str | None] = {}
        for sid in self._order:  # topological: every need is settled before its dependents
            step = self._by_id[sid]
            own = float(durations.get(sid, step.estimate_s))
            before, prev = 0.0, None
            for need in step.needs:
                if prev is None or best[need] > before:
                    before, prev = best[need], need
            best[sid] = before + own
            via[sid] = prev
        if not best:
            return 0.0, []
        end = max(self._order, key=lambda sid: (best[sid], -self._position[sid]))
        path: list[str] = []
        cursor: str | None = end
        while cursor is not None:
            path.append(cursor)
            cursor = via[cursor]
        return best[end], list(reversed(path))

    def tail_lengths(self, durations: Mapping[str, float] | None = None, among: Iterable[str] | None = None) -> dict[str, float]:
        """For each step: its own duration plus the longest chain of dependents after it
        (only through ``among``, when given). The scheduler starts the ready step with the
        longest tail first: with fewer slots than ready steps, the critical chain never waits
        behind a step that has slack (list scheduling by critical path)."""
        durations = durations or {}
        inside = set(among) if among is not None else set(self._order)
        tail: dict[str, float] = {}
        for sid in reversed(self._order):  # dependents are settled before their needs
            after = [tail[d] for d in self._dependents[sid] if d in inside]
            tail[sid] = float(durations.get(sid, self._by_id[sid].estimate_s)) + max(after, default=0.0)
        return tail

    def mermaid(self, phase_titles: Mapping[int, str] | None = None, *, critical: Sequence[str] = ()) -> str:
        """A Mermaid ``flowchart TD``, one subgraph per phase, edges from need to dependent;
        the ``critical`` steps (the critical path) get the class ``critical`` (thick border)."""
        phase_titles = phase_titles or {}
        node = {sid: f"s{i}" for i, sid in enumerate(self._order)}
        lines = ["flowchart TD"]
        phases = sorted({s.phase for s in self._declared})
        for phase in phases:
            title = phase_titles.get(phase, "")
            label = f"Phase {phase}" + (f": {title}" if title else "")
            lines.append(f'  subgraph phase{phase}["{_mermaid_text(label)}"]')
            for step in self.steps:
                if step.phase == phase:
                    text = step.id + (f"<br/>{step.title}" if step.title else "")
                    lines.append(f'    {node[step.id]}["{_mermaid_text(text)}"]')
            lines.append("  end")
        for step in self.steps:
            for need in step.needs:
                lines.append(f"  {node[need]} --> {node[step.id]}")
        marked = [node[sid] for sid in critical if sid in node]
        if marked:
            lines.append("  classDef critical stroke:#d33,stroke-width:3px")
            lines.append(f"  class {','.join(marked)} critical")
        return "\n".join(lines) + "\n"

    def as_json(self, durations: Mapping[str, float] | None = None) -> dict[str, Any]:
        """A JSON-able description of the graph (a dict; the caller serialises it)."""
        length, path = self.critical_path(durations)
        return {
            "steps": [
                {
                    "id": s.id,
                    "phase": s.phase,
                    "title": s.title,
                    "scope": s.scope,
                    "needs": list(s.needs),
                    "max_attempts": s.max_attempts,
                    "timeout_s": s.timeout_s,
                    "estimate_s": s.estimate_s,
                    "verification": s.verification,
                }
                for s in self.steps
            ],
            "order": self.order(),
            "critical_path": {"length_s": length, "steps": path},
            "sequential_s": sum(float((durations or {}).get(s.id, s.estimate_s)) for s in self._declared),
        }

    # -- internals -------------------------------------------------------------------------

    def _check_cycles(self) -> None:
        white, grey, black = 0, 1, 2
        colour = dict.fromkeys(self._by_id, white)
        for root in (s.id for s in self._declared):
            if colour[root] != white:
                continue
            # Iterative DFS over "needs" edges; the stack holds the current path.
            path: list[str] = [root]
            iters = [iter(self._by_id[root].needs)]
            colour[root] = grey
            while path:
                nxt = next(iters[-1], None)
                if nxt is None:
                    colour[path.pop()] = black
                    iters.pop()
                    continue
                if colour[nxt] == grey:
                    cycle = path[path.index(nxt) :] + [nxt]
                    cycle.reverse()  # show it in execution direction: need → dependent
                    raise UsageError(
                        "dependency cycle: " + " → ".join(cycle),
                        hint="remove one of these needs so the steps can be ordered",
                    )
                if colour[nxt] == white:
                    colour[nxt] = grey
                    path.append(nxt)
                    iters.append(iter(self._by_id[nxt].needs))

    def _topological_order(self) -> list[str]:
        index = {s.id: i for i, s in enumerate(self._declared)}
        missing = {s.id: len(set(s.needs)) for s in self._declared}
        heap = [(s.phase, index[s.id], s.id) for s in self._declared if missing[s.id] == 0]
        heapq.heapify(heap)
        order: list[str] = []
        while heap:
            _, _, sid = heapq.heappop(heap)
            order.append(sid)
            for dep in self._dependents[sid]:
                missing[dep] -= 1
                if missing[dep] == 0:
                    step = self._by_id[dep]
                    heapq.heappush(heap, (step.phase, index[dep], dep))
        return order


def _split_ids(only: Iterable[str] | str | None) -> list[str]:
    if not only:
        return []
    items = [only] if isinstance(only, str) else list(only)
    return [part.strip() for item in items for part in item.split(",") if part.strip()]


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    return ("did you mean " + " or ".join(repr(c) for c in close) + "?") if close else ""


def _mermaid_text(text: str) -> str:
    return re.sub(r'["]', "'", text)
