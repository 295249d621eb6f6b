"""A tiny runbook project that tests run as a real subprocess, to kill it at chosen moments.

It is a product in miniature, built only from the generic engine (``runbook.cli``): six steps
in four phases, two independent branches::

    seed ─┬─ left.build ── left.ship ──┬─ join
          └─ right.build ── right.count ┘

Every apply appends ``<step-id> <run-id>`` to ``<dir>/effects.log`` (one ``write`` of one
line, then ``fsync``), so a test can see what really happened, and when. Each step's
``check`` reads that file: a step is done when its effect line exists — idempotent by check.

``right.count`` is different: it stands for an action that cannot be observed afterwards
(a dispatched job, a sent message). Its check cannot read reality, so it answers from the
only evidence it has, its own recorded outputs: done when a finished apply was recorded,
"unknown" otherwise. The engine therefore applies it exactly once across kills and
resumes — unless the kill hit its own apply, in which case the re-check says "unknown" and
it is applied again (at least once, never silently skipped).

Knobs (environment variables, read at apply time):

* ``CRASH_STEP_S=<seconds>``      every apply sleeps this long before its effect (default 0);
* ``CRASH_SLOW=<step>:<seconds>`` that step sleeps this long *before* writing its effect;
* ``CRASH_SLOW_AFTER=<step>:<seconds>`` that step sleeps *after* writing its effect, so a kill
  there leaves the effect in place while the state still says ``running``;
* ``CRASH_FAIL=<step>``           that step fails permanently (with a hint).

Every sleep wakes on cancellation (Ctrl-C / SIGTERM) and then raises ``Interrupted``.

The second half of this module drives it from tests: :func:`start` (a background process whose
output goes to files), :func:`finish`, :func:`run`, :func:`read_state` and :func:`wait_until`.

Usage::

    python -m tests.runbook.crashproject deploy --dir D [--dry-run] [--detailed-exitcode]
                                                   [--parallelism N] [--only ID] [--from ID] [--to ID]
    python -m tests.runbook.crashproject resume --dir D
    python -m tests.runbook.crashproject status --dir D [--format text|json]
    python -m tests.runbook.crashproject unlock --dir D [--force] [--yes]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runbook import cli as core
from runbook.clock import Clock
from runbook.errors import Interrupted, OutputUnknown, PermanentError, UsageError
from runbook.redact import Redactor
from runbook.step import Change, CheckResult, Plan, Step, StepContext

EFFECTS = "effects.log"
STATE = "state.json"
RUNS = "runs"
COUNTER = "right.count"

PHASE_TITLES = {1: "Seed", 2: "Build", 3: "Ship and count", 4: "Join"}

# (id, phase, needs) in runbook order.
GRAPH: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    ("seed", 1, ()),
    ("left.build", 2, ("seed",)),
    ("right.build", 2, ("seed",)),
    ("left.ship", 3, ("left.build",)),
    (COUNTER, 3, ("right.build",)),
    ("join", 4, ("left.ship", COUNTER)),
)


# -- the side-effect file ---------------------------------------------------------------


def effects_path(directory: Path) -> Path:
    return directory / EFFECTS


def read_effects(directory: Path) -> list[tuple[str, str]]:
    """Every effect line as ``(step id, run id)``, in the order they were written."""
    path = effects_path(directory)
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [tuple(line.split(" ", 1)) for line in lines if line.strip()]  # type: ignore[misc]


def append_effect(directory: Path, step_id: str, run_id: str) -> None:
    """One ``write`` of one whole line with O_APPEND, then fsync: a kill never leaves half a line."""
    fd = os.open(effects_path(directory), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{step_id} {run_id}\n".encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def _knob(name: str, step_id: str) -> float | None:
    """``NAME=<step>:<seconds>[,<step>:<seconds>…]`` → the seconds for ``step_id``."""
    for item in os.environ.get(name, "").split(","):
        sid, _, seconds = item.strip().rpartition(":")
        if sid == step_id:
            return float(seconds)
    return None


# -- steps ------------------------------------------------------------------------------


class EffectStep(Step):
    """Writes its effect line on apply; done when the line exists (idempotent by check)."""

    def __init__(self, step_id: str, phase: int, needs: tuple[str, ...], directory: Path) -> None:
        self.id = step_id
        self.phase = phase
        self.needs = needs
        self.title = f"append the {step_id} effect"
        self.scope = "shared"
        self.max_attempts = 1
        self.timeout_s = 600.0
        self.estimate_s = 1.0
        self.directory = directory

    def inputs(self) -> Any:
        return {"step": self.id, "effects": EFFECTS}

    def check(self, ctx: StepContext) -> CheckResult:
        runs = [run for sid, run in read_effects(self.directory) if sid == self.id]
        if runs:
            return CheckResult(True, outputs={"effect_run": runs[0]})
        return CheckResult(False, f"no {self.id} line in {EFFECTS} yet")

    def plan(self, ctx: StepContext) -> Plan:
        return Plan(changes=[Change("create", f"{EFFECTS}:{self.id}", "append one line")])

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        if os.environ.get("CRASH_FAIL") == self.id:
            raise PermanentError(f"{self.id} was told to fail (CRASH_FAIL)", hint="unset CRASH_FAIL and resume")
        self._sleep(ctx, float(os.environ.get("CRASH_STEP_S", "0") or 0), "its apply")
        self._sleep(ctx, _knob("CRASH_SLOW", self.id), "its slow apply")
        append_effect(self.directory, self.id, ctx.run_id)
        self._sleep(ctx, _knob("CRASH_SLOW_AFTER", self.id), "the end of its apply")
        return {"effect_run": ctx.run_id}

    def _sleep(self, ctx: StepContext, seconds: float | None, what: str) -> None:
        if not seconds:
            return
        ctx.waiting_for(what)
        if ctx.clock.sleep(seconds, ctx.cancel):
            raise Interrupted(f"{self.id} was stopped during {what}")


class CounterStep(EffectStep):
    """An action whose effect cannot be observed: its check can only trust its own record."""

    def check(self, ctx: StepContext) -> CheckResult:
        recorded = ctx.outputs_of(self.id) if _has_outputs(ctx, self.id) else {}
        if recorded.get("effect_run"):
            return CheckResult(True, outputs=dict(recorded))
        return CheckResult(False, "unknown: this action cannot be observed and no finished apply is recorded")

    def plan(self, ctx: StepContext) -> Plan:
        return Plan(changes=[Change("run", self.id, "count one more apply")])


def _has_outputs(ctx: StepContext, step_id: str) -> bool:
    try:
        ctx.outputs_of(step_id)
    except OutputUnknown:  # nothing recorded for it
        return False
    return True


def build_steps(directory: Path) -> list[Step]:
    return [(CounterStep if sid == COUNTER else EffectStep)(sid, phase, needs, directory) for sid, phase, needs in GRAPH]


# -- the project (runbook.cli's Project / Session protocols) -------------------------------


class CrashSession:
    def __init__(self, inv: core.Invocation) -> None:
        from runbook.logs import configure_logging, get_logger

        self.inv = inv
        self.directory = Path(inv.extra["dir"])
        self.redactor = Redactor()
        self.clock = Clock()
        configure_logging(inv.log_format, self.redactor)
        self.log = get_logger(tool="crashproject")

    def steps(self) -> list[Step]:
        return build_steps(self.directory)

    def store(self) -> Any:
        return open_store(self.directory)

    def classifier(self) -> Any:
        from runbook.retry import Classifier

        return Classifier()

    def preflight(self, steps: Sequence[Step], *, dry_run: bool) -> dict[str, Any]:
        if not self.directory.is_dir():
            raise UsageError(f"{self.directory} is not a directory", hint="create it first")
        return {"user": os.environ.get("USER", "?")}

    def confirm(self) -> None:
        """No protected environments here."""

    def phase_titles(self) -> dict[int, str]:
        return dict(PHASE_TITLES)


class CrashProject:
    name = "crashproject"
    version = "0.0.1"

    def open(self, inv: core.Invocation) -> CrashSession:
        return CrashSession(inv)


def open_store(directory: Path) -> Any:
    from runbook.state import FileStateStore

    return FileStateStore(str(directory / STATE), tool=f"{CrashProject.name} {CrashProject.version}")


# -- driving it from a test --------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]


def start(directory: Path, command: str, *args: str, logs: Path | None = None, **env: str) -> subprocess.Popen[bytes]:
    """Start ``python -m tests.runbook.crashproject <command> --dir <directory> …`` in the background.

    Output goes to files (``<logs>/<n>.out`` / ``.err``), never to pipes nobody reads.
    """
    logs = logs or directory.parent / f"{directory.name}-logs"
    logs.mkdir(parents=True, exist_ok=True)
    n = len(list(logs.glob("*.out")))
    environ = {**os.environ, "CI": "1", "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", **env}
    with open(logs / f"{n}.out", "wb") as out, open(logs / f"{n}.err", "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.runbook.crashproject", command, "--dir", str(directory), *args],
            cwd=ROOT,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
    proc.out_path = logs / f"{n}.out"  # type: ignore[attr-defined]
    proc.err_path = logs / f"{n}.err"  # type: ignore[attr-defined]
    return proc


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str
    pid: int


def finish(proc: subprocess.Popen[bytes], timeout: float = 60.0) -> Finished:
    """Wait for ``proc``; its exit code and everything it printed."""
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(f"{proc.args} did not finish within {timeout}s") from None
    return Finished(
        proc.returncode,
        proc.out_path.read_text(encoding="utf-8"),  # type: ignore[attr-defined]
        proc.err_path.read_text(encoding="utf-8"),  # type: ignore[attr-defined]
        proc.pid,
    )


def run(directory: Path, command: str, *args: str, timeout: float = 60.0, **env: str) -> Finished:
    """Run a command to its end."""
    return finish(start(directory, command, *args, **env), timeout=timeout)


def read_state(directory: Path, name: str = STATE) -> dict[str, Any] | None:
    """The checkpoint as JSON (json.loads raises if it is not valid JSON); None if absent."""
    path = directory / name
    if not path.exists():
        return None
    return json.loads(path.read_bytes())


def step_status(directory: Path, step_id: str) -> str | None:
    doc = read_state(directory) or {}
    return (doc.get("steps", {}).get(step_id) or {}).get("status")


def wait_until(
    predicate: Callable[[], Any], *, proc: subprocess.Popen[bytes] | None = None, timeout: float = 30.0, what: str = ""
) -> Any:
    """Poll ``predicate`` every 5 ms until it is truthy; fail if ``proc`` ended first or time ran out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the process exited ({proc.returncode}) before {what or predicate}")
        time.sleep(0.005)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")


# -- command line -----------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crashproject", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("deploy", "resume", "status", "unlock"):
        p = sub.add_parser(name)
        p.add_argument("--dir", required=True, type=Path)
        if name in ("deploy", "resume"):
            p.add_argument("--parallelism", type=int, default=4)
            p.add_argument("--log-format", default="json")
        if name == "deploy":
            p.add_argument("--dry-run", action="store_true")
            p.add_argument("--detailed-exitcode", action="store_true")
            p.add_argument("--only", action="append", default=[])
            p.add_argument("--from", dest="from_")
            p.add_argument("--to")
        if name == "status":
            p.add_argument("--format", default="text")
        if name == "unlock":
            p.add_argument("--force", action="store_true")
            p.add_argument("--yes", action="store_true")
    return parser


def _invocation(command: str, args: argparse.Namespace, **kw: Any) -> core.Invocation:
    directory = args.dir.resolve()
    return core.Invocation(
        command=command,
        env="test",
        parallelism=args.parallelism,
        log_format=args.log_format,
        state=str(directory / STATE),
        runs_dir=str(directory / RUNS),
        extra={"dir": str(directory)},
        **kw,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    project = CrashProject()

    def body() -> int:
        if args.command == "deploy":
            inv = _invocation(
                "deploy",
                args,
                dry_run=args.dry_run,
                detailed_exitcode=args.detailed_exitcode,
                only=tuple(args.only),
                from_=args.from_,
                to=args.to,
            )
            return core.run(project, inv)
        if args.command == "resume":
            last = open_store(args.dir).load().get("last_run")
            if not last:
                raise UsageError(f"nothing to resume in {args.dir}", hint="run deploy first")
            selection = last.get("selection") or {}
            inv = _invocation(
                "resume",
                args,
                only=tuple(selection.get("only") or ()),
                from_=selection.get("from"),
                to=selection.get("to"),
            )
            return core.run(project, inv)
        if args.command == "status":
            return core.status(open_store(args.dir), fmt=args.format, order=[sid for sid, _, _ in GRAPH])
        from runbook.logs import configure_logging

        configure_logging("json", Redactor())  # taking over a dead holder's lock is logged
        return core.unlock(open_store(args.dir), force=args.force, confirm=None if args.yes else _refuse)

    return core.guarded(body)


def _refuse(question: str) -> bool:
    """Not at a terminal: an unconfirmed forced unlock is refused."""
    print(f"{question} [y/N]: not confirmed (pass --yes)", file=sys.stderr)
    return False


if __name__ == "__main__":
    sys.exit(main())
