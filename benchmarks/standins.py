"""Stand-in steps and the real engine around them.

A :class:`SleepStep` has a real step's id, phase and needs, and replaces every external call
by sleeping its (scaled) real duration. Its ``check`` answers from a shared in-memory world,
instantly and truthfully, so a re-deploy finds everything done. Everything else is real: the
``Runner``, a ``FileStateStore`` that fsyncs every checkpoint, the lock, structlog rendering
JSON lines (to /dev/null), the run report.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks.graph import StepShape
from runbook import cli as core
from runbook.clock import Clock
from runbook.errors import Interrupted
from runbook.logs import configure_logging, get_logger
from runbook.redact import Redactor
from runbook.retry import Classifier
from runbook.runner import Runner, RunOptions, RunResult
from runbook.state import FileStateStore
from runbook.step import Change, CheckResult, Plan, Step, StepContext

TOOL = "kyeol-bench 1"


class SleepStep(Step):
    """A stand-in for one real step: sleeps ``seconds`` on apply; its check reads ``world``."""

    def __init__(self, shape: StepShape, seconds: float, world: dict[str, str]) -> None:
        self.id = shape.id
        self.phase = shape.phase
        self.needs = shape.needs
        self.scope = shape.scope
        self.title = shape.title
        self.estimate_s = seconds
        self.max_attempts = 1
        self.timeout_s = max(60.0, seconds * 10)
        self.seconds = seconds
        self.world = world

    def inputs(self) -> Any:
        return {"id": self.id, "stand-in": True}

    def check(self, ctx: StepContext) -> CheckResult:
        if self.world.get(self.id):
            return CheckResult(True, outputs={"applied_by": self.world[self.id]})
        return CheckResult(False, "not applied yet")

    def plan(self, ctx: StepContext) -> Plan:
        return Plan(changes=[Change("create", self.id)])

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        if ctx.clock.sleep(self.seconds, ctx.cancel):
            raise Interrupted(f"{self.id} stopped")
        self.world[self.id] = ctx.run_id
        return {"applied_by": ctx.run_id}


def sleep_steps(shapes: Iterable[StepShape], seconds: Mapping[str, float], world: dict[str, str]) -> list[Step]:
    shapes = list(shapes)
    unknown = [s.id for s in shapes if s.id not in seconds]
    if unknown:
        raise KeyError(f"no duration for {', '.join(unknown)}: add them to benchmarks/graph.py MINUTES")
    return [SleepStep(s, seconds[s.id], world) for s in shapes]


class CountingStore(FileStateStore):
    """The real file store, counting checkpoints written."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, tool=TOOL)
        self.saves = 0

    def save(self, doc: dict[str, Any]) -> None:
        self.saves += 1
        super().save(doc)


_devnull: list[Any] = []


def quiet_logging() -> tuple[Redactor, Any]:
    """structlog as a run configures it (JSON lines, redacted), written to /dev/null."""
    if not _devnull:
        _devnull.append(open(os.devnull, "w"))  # noqa: SIM115 - one for the whole process
    redactor = Redactor()
    configure_logging("json", redactor, stream=_devnull[0])
    return redactor, get_logger(tool="bench")


def run_engine(
    steps: Sequence[Step], store: Any, *, run_id: str, parallelism: int = 4, logging: tuple[Redactor, Any] | None = None
) -> RunResult:
    """One run through the real Runner (no CLI around it); ``logging`` from :func:`quiet_logging`."""
    redactor, log = logging or quiet_logging()
    runner = Runner(
        steps,
        store=store,
        run_id=run_id,
        env="dev",
        clock=Clock(),
        log=log,
        redactor=redactor,
        classifier=Classifier(),
        options=RunOptions(parallelism=parallelism),
        command="deploy",
    )
    return runner.run()


class BenchProject:
    """The command layer's Project protocol around stand-in steps (lock, report, summary)."""

    name = "kyeol-bench"
    version = "1"

    def __init__(self, steps: Sequence[Step], folder: Path) -> None:
        self._steps = list(steps)
        self.folder = folder

    def open(self, inv: core.Invocation) -> BenchSession:
        return BenchSession(self._steps, self.folder)


class BenchSession:
    def __init__(self, steps: Sequence[Step], folder: Path) -> None:
        self._steps = list(steps)
        self.folder = folder
        self.redactor, self.log = quiet_logging()
        self.clock = Clock()

    def steps(self) -> list[Step]:
        return list(self._steps)

    def store(self) -> Any:
        return FileStateStore(self.folder / "state.json", tool=TOOL)

    def classifier(self) -> Any:
        return Classifier()

    def preflight(self, steps: Sequence[Step], *, dry_run: bool) -> dict[str, Any]:
        return {"account": "stand-in"}

    def confirm(self) -> None:
        """Nothing is protected here."""

    def phase_titles(self) -> dict[int, str]:
        return {}


def run_command(project: BenchProject) -> int:
    """``deploy`` through the whole command layer: guards, lock, runner, report, summary."""
    inv = core.Invocation(
        command="deploy",
        env="dev",
        state=str(project.folder / "state.json"),
        runs_dir=str(project.folder / "runs"),
    )
    return core.run(project, inv, out=io.StringIO())
