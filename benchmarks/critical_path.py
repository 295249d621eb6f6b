"""Wall time of a whole dev deployment against its critical path.

The twelve steps of the nine phases, each a stand-in sleeping its real duration scaled
(default 1 minute → 100 ms), run through the real Runner and a real FileStateStore. The
critical path is the floor: no scheduler can beat it. The engine's cost is how far above it
the wall time lands (target: wall ÷ critical path ≤ 1.05). Running the steps one after
another would take their sum.

A second variant gives dev a Multi-AZ RDS (as stage has): dev.infra then outlasts the MGMT
chain, and the critical path moves from MGMT (mgmt.registry → mgmt.infra → argocd) to the
environment (global → dev.infra).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from benchmarks.graph import graph_source, kyeol_dev_graph, minutes
from benchmarks.standins import CountingStore, quiet_logging, run_engine, sleep_steps
from runbook.graph import Graph
from runbook.runner import StepResult


@dataclass
class CriticalPathResult:
    variant: str
    source: str
    ms_per_minute: float
    wall_s: float
    critical_s: float
    sum_s: float
    path: list[str]
    checkpoints: int
    peak_parallel: int  # most steps applying at the same moment

    @property
    def over_critical(self) -> float:
        return self.wall_s / self.critical_s

    @property
    def over_sum(self) -> float:
        return self.wall_s / self.sum_s

    @property
    def critical_minutes(self) -> float:
        return self.critical_s / self.ms_per_minute * 1000

    @property
    def sum_minutes(self) -> float:
        return self.sum_s / self.ms_per_minute * 1000


def measure(ms_per_minute: float = 100.0, *, multi_az: bool = False, parallelism: int = 4) -> CriticalPathResult:
    """Deploy the stand-in graph from nothing once; time it against its critical path."""
    shapes = kyeol_dev_graph()
    seconds = {sid: m * ms_per_minute / 1000 for sid, m in minutes(multi_az).items()}
    world: dict[str, str] = {}
    steps = sleep_steps(shapes, seconds, world)
    critical, path = Graph(steps).critical_path(seconds)
    logging = quiet_logging()  # set up before the clock starts, as the CLI does before a run
    with tempfile.TemporaryDirectory(prefix="kyeol-bench-") as folder:
        store = CountingStore(Path(folder) / "state.json")
        t0 = time.perf_counter()
        result = run_engine(steps, store, run_id="bench-critical-path", parallelism=parallelism, logging=logging)
        wall = time.perf_counter() - t0
    if result.exit_code != 0 or sorted(world) != sorted(s.id for s in steps):
        raise RuntimeError(f"the benchmark run did not apply every step: {result.status}")
    return CriticalPathResult(
        variant="Multi-AZ RDS" if multi_az else "single-AZ RDS",
        source=graph_source(),
        ms_per_minute=ms_per_minute,
        wall_s=wall,
        critical_s=critical,
        sum_s=sum(seconds[s.id] for s in steps),
        path=path,
        checkpoints=store.saves,
        peak_parallel=_peak_parallel(result.steps),
    )


def _peak_parallel(steps: list[StepResult]) -> int:
    """The most steps whose recorded [start, finish] intervals overlap at one moment."""
    events: list[tuple[datetime, int]] = []
    for s in steps:
        if s.started_at and s.finished_at:
            events += [(datetime.fromisoformat(s.started_at), 1), (datetime.fromisoformat(s.finished_at), -1)]
    running = peak = 0
    for _, delta in sorted(events, key=lambda e: (e[0], e[1])):  # a finish before a start at the same instant
        running += delta
        peak = max(peak, running)
    return peak
