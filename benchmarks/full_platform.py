"""The whole platform from nothing (MGMT + dev + stage + prod) in one run, against its
critical path and against three runs one after another.

``kyeol deploy --env all`` is one graph: the shared steps once, then three env chains that
need only the shared steps. Stage and prod have a Multi-AZ RDS (16 min env apply), so their
chains are the longest. Each step is a stand-in sleeping its real duration scaled, through the
real Runner and FileStateStore (as :mod:`benchmarks.critical_path`).

Three measurements:

* one run of every env at a parallelism high enough for the graph (wall ÷ critical path,
  the engine's overhead: target ≤ 1.05);
* the same at each parallelism from 4 up, to find the smallest that reaches the critical
  path (below it the slots, not the engine, are the limit);
* the sequential figure: ``--env dev``, then ``--env stage``, then ``--env prod``, three
  runs on one state (the second and third find the shared steps done).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.critical_path import _peak_parallel
from benchmarks.graph import PLATFORM_ENVS, kyeol_platform_graph, platform_minutes
from runbook.graph import Graph

__all__ = ["PLATFORM_ENVS", "PlatformResult", "measure", "schedule_length", "sleep_steps"]
from benchmarks.standins import CountingStore, quiet_logging, run_engine, sleep_steps

TARGET = 1.05


@dataclass
class PlatformResult:
    ms_per_minute: float
    critical_s: float
    sum_s: float
    path: list[str]
    walls: dict[int, float] = field(default_factory=dict)  # parallelism → wall of one run
    ideal: dict[int, float] = field(default_factory=dict)  # parallelism → schedule_length, in s
    peaks: dict[int, int] = field(default_factory=dict)  # parallelism → most steps at once
    sequential_s: float = 0.0
    sequential_runs: list[float] = field(default_factory=list)

    def ratio(self, parallelism: int) -> float:
        return self.walls[parallelism] / self.critical_s

    @property
    def needed_parallelism(self) -> int | None:
        """The smallest parallelism whose schedule reaches the critical path (slots alone)."""
        return next((p for p in sorted(self.ideal) if self.ideal[p] <= self.critical_s * (1 + 1e-9)), None)

    def engine_ratio(self, parallelism: int) -> float:
        """The measured wall ÷ what the slots allow: the engine's own overhead."""
        return self.walls[parallelism] / self.ideal[parallelism]

    @property
    def best(self) -> int:
        return max(self.walls)

    def minutes(self, seconds: float) -> float:
        return seconds / self.ms_per_minute * 1000


def schedule_length(graph: Graph, minutes: dict[str, float], parallelism: int) -> float:
    """The wall time (same unit as ``minutes``) of a run with no engine overhead at all, under
    the runner's rule: whenever a slot is free, the ready step with the longest tail
    (:meth:`Graph.tail_lengths`) starts, ties in runbook order. What the slots alone allow;
    the measured runs add the engine's overhead on top of it."""
    tails = graph.tail_lengths(minutes)
    order = sorted(graph.order(), key=lambda sid: -tails[sid])
    done: set[str] = set()
    running: dict[str, float] = {}  # step → finish time
    now, waiting = 0.0, list(order)
    while waiting or running:
        for sid in list(waiting):
            if len(running) >= parallelism:
                break
            if all(n in done for n in graph[sid].needs):
                waiting.remove(sid)
                running[sid] = now + minutes[sid]
        now = min(running.values())
        for sid in [s for s, end in running.items() if end == now]:
            done.add(sid)
            del running[sid]
    return now


def _one_run(
    envs: tuple[str, ...], seconds: dict[str, float], world: dict[str, str], store: CountingStore, parallelism: int, run_id: str
) -> tuple[float, int]:
    steps = sleep_steps(kyeol_platform_graph(envs), seconds, world)
    logging = quiet_logging()
    t0 = time.perf_counter()
    result = run_engine(steps, store, run_id=run_id, parallelism=parallelism, logging=logging)
    wall = time.perf_counter() - t0
    if result.exit_code != 0 or any(s.id not in world for s in steps):
        raise RuntimeError(f"the platform benchmark run did not apply every step: {result.status}")
    return wall, _peak_parallel(result.steps)


def measure(ms_per_minute: float = 100.0, *, parallelisms: tuple[int, ...] = (4, 5, 6, 8)) -> PlatformResult:
    seconds = {sid: m * ms_per_minute / 1000 for sid, m in platform_minutes().items()}
    shapes = kyeol_platform_graph()
    graph = Graph(sleep_steps(shapes, seconds, {}))
    critical, path = graph.critical_path(seconds)
    out = PlatformResult(ms_per_minute, critical, sum(seconds[s.id] for s in shapes), path)
    for parallelism in range(1, 11):
        out.ideal[parallelism] = schedule_length(graph, seconds, parallelism)
    for parallelism in parallelisms:
        with tempfile.TemporaryDirectory(prefix="kyeol-bench-") as folder:
            wall, peak = _one_run(
                PLATFORM_ENVS,
                seconds,
                {},
                CountingStore(Path(folder) / "state.json"),
                parallelism,
                f"bench-platform-p{parallelism}",
            )
        out.walls[parallelism], out.peaks[parallelism] = wall, peak
    # Sequential: one env per run, on one state and one world (shared steps are found done).
    with tempfile.TemporaryDirectory(prefix="kyeol-bench-") as folder:
        store = CountingStore(Path(folder) / "state.json")
        world: dict[str, str] = {}
        for env in PLATFORM_ENVS:
            wall, _ = _one_run((env,), seconds, world, store, 4, f"bench-sequential-{env}")
            out.sequential_runs.append(wall)
    out.sequential_s = sum(out.sequential_runs)
    return out
