"""The engine's own cost: re-deploying an environment where everything is already done.

All twelve steps are done with the same inputs (fingerprints) and their checks answer at
once, so the time measured is the engine alone: loading and validating the checkpoint,
fingerprinting, scheduling, one check per step, two fsync'd checkpoints (run start and end),
logging — and, for the whole command, the lock, the run report and the summary too.
Target: well under a second.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.graph import kyeol_dev_graph, minutes
from benchmarks.standins import BenchProject, CountingStore, quiet_logging, run_command, run_engine, sleep_steps


@dataclass
class NoopResult:
    steps: int
    repeats: int
    engine_ms: list[float]
    command_ms: list[float]
    checkpoints_per_run: float

    @property
    def engine_median_ms(self) -> float:
        return statistics.median(self.engine_ms)

    @property
    def command_median_ms(self) -> float:
        return statistics.median(self.command_ms)


def measure(repeats: int = 20) -> NoopResult:
    shapes = kyeol_dev_graph()
    world: dict[str, str] = {}
    steps = sleep_steps(shapes, dict.fromkeys(minutes(), 0.0), world)
    logging = quiet_logging()
    with tempfile.TemporaryDirectory(prefix="kyeol-bench-") as folder:
        state = Path(folder) / "state.json"
        first = run_engine(steps, CountingStore(state), run_id="bench-first-deploy", logging=logging)
        if first.exit_code != 0 or len(world) != len(steps):
            raise RuntimeError(f"the first deploy did not finish: {first.status}")
        deployed = dict(world)

        engine_ms: list[float] = []
        saves: list[int] = []
        for i in range(repeats):
            store = CountingStore(state)
            t0 = time.perf_counter()
            result = run_engine(steps, store, run_id=f"bench-noop-{i}", logging=logging)
            engine_ms.append((time.perf_counter() - t0) * 1000)
            saves.append(store.saves)
            _require_noop(result, world, deployed)

        project = BenchProject(steps, Path(folder))
        command_ms: list[float] = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            code = run_command(project)
            command_ms.append((time.perf_counter() - t0) * 1000)
            if code != 0 or world != deployed:
                raise RuntimeError(f"a no-op deploy through the command layer exited {code} or changed something")
    return NoopResult(len(steps), repeats, engine_ms, command_ms, statistics.mean(saves))


def _require_noop(result: object, world: dict[str, str], deployed: dict[str, str]) -> None:
    outcomes = {s.outcome for s in result.steps}  # type: ignore[attr-defined]
    if result.exit_code != 0 or outcomes != {"unchanged"} or world != deployed:  # type: ignore[attr-defined]
        raise RuntimeError(f"a re-deploy of a finished environment was not a no-op: {sorted(outcomes)}")
