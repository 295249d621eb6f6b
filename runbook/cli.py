"""The generic command layer: what ``deploy``, ``resume``, ``status``, ``steps`` and ``unlock``
do, independent of any product. A product's CLI (Typer commands) parses options into an
:class:`Invocation`, hands over a :class:`Project`, and exits with the code returned here.

Errors become exit codes in one place (:func:`guarded`): 2 bad input, 3 lock held,
1 a step failed, 4 pending changes (``--detailed-exitcode``), 130 interrupted.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import signal
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from runbook.errors import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PENDING,
    EXIT_USAGE,
    RunbookError,
    Unavailable,
    UsageError,
)
from runbook.step import Step
from runbook.summary import change_line

if TYPE_CHECKING:
    from runbook.progress import Progress

STATUS_MARK = {
    "done": "✔",
    "planned": "~",
    "failed": "✘",
    "running": "…",
    "interrupted": "!",
    "pending": "·",
}


@dataclass
class Invocation:
    """Everything a command needs to know, already parsed."""

    command: str  # deploy | resume | verify
    env: str | None = None
    dry_run: bool = False
    detailed_exitcode: bool = False
    parallelism: int = 4
    only: Sequence[str] = ()
    from_: str | None = None
    to: str | None = None
    log_format: str = "auto"
    state: str = "state.json"
    runs_dir: str = "runs"
    confirm_env: str | None = None
    # Read-only: a dry-run that takes no lock, plans without Terraform's lock and refuses any
    # mutation at the product's adapters (a CI plan never blocks a deploy).
    read_only: bool = False
    summary: str | None = None  # Markdown summary file (in GitHub Actions: $GITHUB_STEP_SUMMARY)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.read_only:
            self.dry_run = True


class Session(Protocol):
    """What a product provides for one invocation (built by :meth:`Project.open`)."""

    redactor: Any
    clock: Any
    log: Any

    def steps(self) -> list[Step]: ...

    def store(self) -> Any: ...

    def classifier(self) -> Any: ...

    def preflight(self, steps: Sequence[Step], *, dry_run: bool) -> dict[str, Any]:
        """Checks before anything is touched, for the selected ``steps``; raise to refuse.

        Returns the identity for the report; an optional ``notes`` list says what a dry-run
        could not check.
        """
        ...

    def confirm(self) -> None:
        """Refuse (UsageError) unless a protected target was confirmed; runs first of all."""
        ...

    def phase_titles(self) -> dict[int, str]: ...


class Project(Protocol):
    name: str
    version: str

    def open(self, inv: Invocation) -> Session: ...


# -- error handling -------------------------------------------------------------------------


def guarded(fn: Callable[[], int], *, err: TextIO | None = None) -> int:
    """Run a command body; turn every RunbookError into its message, hint and exit code."""
    err = err or sys.stderr
    try:
        return fn()
    except RunbookError as exc:
        print(f"error: {exc.message}", file=err)
        if exc.hint:
            print(f"hint: {exc.hint}", file=err)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=err)
        return EXIT_INTERRUPTED


# -- run (deploy / resume / verify) ---------------------------------------------------------


class _DryRunStore:
    """A dry-run reads the real checkpoint but keeps every write in memory: it mutates nothing."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self._doc: dict[str, Any] | None = None
        self.location = getattr(real, "location", "memory")

    def load(self) -> dict[str, Any]:
        if self._doc is None:
            self._doc = copy.deepcopy(self._real.load())
        return self._doc

    def save(self, doc: dict[str, Any]) -> None:
        self._doc = doc


def new_run_id(clock_now: datetime | None = None) -> str:
    now = clock_now or datetime.now(UTC)
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def make_holder(run_id: str, command: str) -> Any:
    from runbook.lock import LockHolder

    return LockHolder.for_this_process(run_id=run_id, command=command)


class _Signals:
    """SIGINT/SIGTERM ask the runner to stop; restored afterwards."""

    def __init__(self, on_signal: Callable[[], None]) -> None:
        self._on_signal = on_signal
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _Signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            # ValueError: not the main thread (tests driving the CLI from a worker)
            with contextlib.suppress(ValueError):
                self._previous[sig] = signal.signal(sig, lambda *_: self._on_signal())
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def run(project: Project, inv: Invocation, *, out: TextIO | None = None) -> int:
    """deploy / resume / verify: guard, select, lock, run, report, print.

    Everything that can refuse the run without touching anything goes first, cheapest first:
    the confirmation of a protected target, the checkpoint (corrupt or unknown versions are
    refused, the file left as it is), the step selection, then the product's preflight
    (identity, tools) for exactly the selected steps. Only then is the lock taken.
    """
    out = out or sys.stdout
    from runbook.graph import Graph
    from runbook.runner import Runner, RunOptions

    check_selection(inv)
    check_runs_dir(inv.runs_dir)
    session = project.open(inv)
    if not inv.dry_run:
        session.confirm()
    real_store = session.store()
    store = _DryRunStore(real_store) if inv.dry_run else real_store
    store.load()  # refuse a corrupt or unknown-version checkpoint before anything else happens
    steps = session.steps()
    graph = Graph(steps)
    selected = [graph[sid] for sid in graph.select(only=list(inv.only) or None, from_=inv.from_, to=inv.to)]
    identity, notes = _preflight(session, selected, dry_run=inv.dry_run)

    run_id = new_run_id()
    holder = None
    if inv.read_only:
        print(f"read-only: no lock taken on {getattr(real_store, 'location', 'the state')}; nothing will be written", file=out)
    if not inv.dry_run:
        # The holder says what the run covers, so a second engineer sees "deploy dev,stage".
        holder = make_holder(run_id, f"{inv.command} {inv.env}" if inv.env else inv.command)
        try:
            real_store.acquire(holder)
        except OSError as exc:  # e.g. the state's folder cannot be created or written: bad input, nothing touched
            holder = None
            raise UsageError(
                f"cannot take the lock of state {getattr(real_store, 'location', inv.state)}: {exc.strerror or exc}",
                hint="point --state at a file in a folder you can write",
            ) from exc
    progress = _progress_for()
    try:
        runner = Runner(
            steps,
            store=store,
            run_id=run_id,
            env=inv.env,
            clock=session.clock,
            log=session.log,
            redactor=session.redactor,
            classifier=session.classifier(),
            options=RunOptions(
                dry_run=inv.dry_run,
                parallelism=inv.parallelism,
                only=list(inv.only) or None,
                from_=inv.from_,
                to=inv.to,
            ),
            progress=progress,
            command=inv.command,
        )
        with _Signals(runner.request_stop):
            result = runner.run()
        if not inv.dry_run:
            forget_undone(real_store, graph, result)
    finally:
        progress.stop()  # a run that ended by an exception leaves no live view (or hidden cursor) behind
        if holder is not None:
            real_store.release(run_id)

    code = result.exit_code
    if code == EXIT_PENDING and not inv.detailed_exitcode:
        code = EXIT_OK  # pending changes are news only when asked for (--detailed-exitcode)
    try:
        report = _write_report(project, inv, result, identity, notes, session, exit_code=code)
    except (OSError, RunbookError) as exc:  # the run's outcome stands; only its report is missing
        report = None
        why = getattr(exc, "strerror", None) or str(exc)
        print(f"warning: the run report could not be written to {inv.runs_dir}: {why}", file=sys.stderr)
    print_result(result, out=out, titles=session.phase_titles(), notes=notes, report=report, tool=project.name)
    if report is not None:
        _publish(project, inv, report, session, {sid: tuple(graph[sid].needs) for sid in graph.order()}, out)
    return code


def check_selection(inv: Invocation) -> None:
    """An empty step id must not widen the selection to the whole runbook: refuse it."""
    for flag, values in (("--only", list(inv.only)), ("--from", [inv.from_]), ("--to", [inv.to])):
        if any(v is not None and not str(v).strip() for v in values):
            raise UsageError(f"{flag} was given an empty step id; nothing was touched", hint="name a step (`steps` lists them)")


def check_runs_dir(runs_dir: str) -> None:
    """The reports' folder must be usable as a folder: refused before anything runs, not after."""
    if not str(runs_dir).strip():
        raise UsageError("the reports folder (--runs-dir) is empty", hint="name a folder, e.g. --runs-dir .runs")
    path = Path(runs_dir)
    for folder in (path, *path.parents):
        if folder.exists():
            if not folder.is_dir():
                where = "is" if folder == path else f"is inside {folder}, which is"
                raise UsageError(
                    f"reports folder {runs_dir} {where} a file, not a folder; nothing was touched",
                    hint="pass --runs-dir a folder (it is created when missing)",
                )
            break


def forget_undone(store: Any, graph: Any, result: Any) -> list[str]:
    """A step that tears down what other steps built lists them in ``undoes``; once it is done,
    their records are reset (:func:`runbook.state.forget`) so they no longer claim a result
    that is gone, and the next run applies them again. Runs under the run's lock, after the
    runner saved; a run killed before this point forgets on its resume (the undoing steps are
    then found done and this runs again). Returns the ids forgotten.
    """
    from runbook.state import forget

    undone: list[tuple[str, tuple[str, ...]]] = []
    for step_result in result.steps:
        ids = graph[step_result.id].undoes
        if step_result.status == "done" and ids:
            undone.append((step_result.id, ids))
    if not undone:
        return []
    doc = store.load()
    changed: list[str] = []
    for step_id, ids in undone:
        changed += forget(doc, ids, because=f"{step_id} undid it (run {result.run_id})")
    if changed:
        store.save(doc)
    return changed


def _preflight(session: Session, steps: Sequence[Step], *, dry_run: bool) -> tuple[dict[str, Any], list[str]]:
    """The product's checks before anything is touched: (identity for the report, notes).

    A product may return ``notes`` (what it could not check) with the identity. In a dry-run
    an identity that cannot be checked offline is a note; in a real run it stops the run.
    """
    try:
        identity = dict(session.preflight(steps, dry_run=dry_run) or {})
    except Unavailable as exc:
        if not dry_run:
            # Nothing can be proven about where we would write: bad input, nothing touched.
            raise UsageError(f"refusing to run: {exc.message}", hint=exc.hint or "provide credentials, or use --dry-run") from exc
        return {}, [f"could not check the identity offline: {exc.message}"]
    notes = [str(n) for n in identity.pop("notes", None) or ()]
    return identity, notes


def _progress_for() -> Progress:
    """The live view on stderr when it is a terminal (not in CI), where the log lines go too,
    so both share one screen; nothing otherwise (the summary goes to ``out`` either way)."""
    from runbook.progress import NullProgress, make_progress

    if os.environ.get("CI") or os.environ.get("GITHUB_ACTIONS"):
        return NullProgress()
    return make_progress()


def _write_report(
    project: Project,
    inv: Invocation,
    result: Any,
    identity: dict[str, Any],
    notes: list[str],
    session: Session,
    *,
    exit_code: int,
) -> Path | None:
    try:
        from runbook.report import build_report, write_report
    except ImportError:  # pragma: no cover
        return None
    report = build_report(
        result,
        tool=f"{project.name} {project.version}",
        identity=identity,
        notes=notes,
    )
    report["exit_code"] = exit_code  # what the process returned, not what the runner would have
    if inv.read_only:
        report["read_only"] = True
        report["lock"] = "not taken (read-only)"
    return write_report(Path(inv.runs_dir), report, redactor=session.redactor)


def _publish(
    project: Project, inv: Invocation, path: Path, session: Session, needs: dict[str, tuple[str, ...]], out: TextIO
) -> None:
    """The Markdown summary (``--summary``, or the job summary in GitHub Actions) and, in
    Actions, one folded group per step with annotations."""
    from runbook import actions
    from runbook.report import read_report
    from runbook.summary import render_markdown

    report = read_report(path)
    target, append = actions.summary_target(inv.summary)
    titles = session.phase_titles()
    if target:
        text = render_markdown(
            report, titles=titles, needs=needs, kind_of=getattr(session, "change_kind", None), tool=project.name
        )
        try:
            with open(target, "a" if append else "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
        except OSError as exc:  # the run is over and reported: a summary it cannot write is only a warning
            print(f"warning: could not write the summary to {target}: {exc.strerror or exc}", file=sys.stderr)
        else:
            print(f"summary: {target}", file=out)
    if actions.in_actions():
        actions.emit(report, out=out, titles=titles, tool=project.name)


# How the summary's last line names a run's status: "pending" means "not run yet" everywhere
# else (steps in the live view, the state, `status`), so a run with changes to apply says so.
RUN_STATUS_WORDS = {"pending": "changes to apply"}


def print_result(
    result: Any,
    *,
    out: TextIO,
    titles: dict[int, str],
    notes: Sequence[str] = (),
    report: Path | None = None,
    tool: str = "",
) -> None:
    """The human summary: one block per phase in runbook order, then the totals and, after a
    failure or an interruption, what to do next.

    A step that was done shows what was done (its changes), not the notes of the check made
    before the apply; a planned step shows what would change and why.
    """
    header = "PLAN" if result.dry_run else "RUN"
    print(f"{header} {result.command} env={result.env} run={result.run_id}", file=out)
    for note in notes:
        print(f"  note: {note}", file=out)
    id_width = max([len(s.id) for s in result.steps] + [16])
    phase = None
    for s in sorted(result.steps, key=lambda s: s.phase):
        if s.phase != phase:
            phase = s.phase
            print(f"\nPhase {phase}: {titles.get(phase, '')}".rstrip(), file=out)
        mark = STATUS_MARK.get(s.status, "?")
        took = f" ({s.duration_s:.1f}s)" if s.duration_s else ""
        tries = f", {s.attempts} attempts" if s.attempts > 1 else ""
        outcome = "" if s.outcome == s.status else s.outcome  # never "planned planned"
        print(f"  {mark} {s.id:<{id_width}} {s.status:<11} {outcome}{took}{tries}".rstrip(), file=out)
        for change in s.changes:
            print(f"      {change_line(change, width=7)}", file=out)
        if s.plan_unknown:
            print(f"      unknown until applied: {s.plan_unknown}", file=out)
        shown = {s.plan_unknown} if s.plan_unknown else set()
        for note in s.notes if s.status != "done" else ():  # notes describe the world before the apply
            # The same reason often arrives twice (the check and the plan could not run): once is enough.
            if note in shown or note.removeprefix("could not check offline: ") in shown:
                continue
            shown.add(note)
            print(f"      note: {note}", file=out)
        if s.error:
            print(f"      error: {s.error.get('message', '')}", file=out)
            if s.error.get("hint"):
                print(f"      hint: {s.error['hint']}", file=out)
    counts: dict[str, int] = {}
    for s in result.steps:
        counts[s.status] = counts.get(s.status, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    print(f"\n{RUN_STATUS_WORDS.get(result.status, result.status)}: {summary} in {result.duration_s:.1f}s", file=out)
    for line in scope_verdicts(result):
        print(line, file=out)
    if report is not None:
        print(f"report: {report}", file=out)
    for line in next_steps(result, tool=tool):
        print(f"next: {line}", file=out)


def next_steps(result: Any, *, tool: str = "") -> list[str]:
    """What to do after a run that did not finish: the failed steps' hints, then resume."""
    command = f"`{tool} resume`" if tool else "`resume`"
    if result.status == "interrupted":
        if result.dry_run:
            return ["run the dry-run again (it changed nothing)"]
        return [f"{command} continues from the checkpoint (finished steps are not done again)"]
    failed = [s for s in result.steps if s.status == "failed"]
    if not failed:
        return []
    lines = [f"{s.id}: {s.error['hint']}" for s in failed if s.error and s.error.get("hint")]
    if result.dry_run:
        lines.append("then run the dry-run again")
    else:
        lines.append(f"then {command} retries {', '.join(s.id for s in failed)} and goes on from there")
    return lines


def scope_verdicts(result: Any) -> list[str]:
    """One line per scope when a run spans several (e.g. envs): which finished, which failed
    (naming the failed step) and which were stopped by a failure of the shared steps."""
    from runbook.step import SHARED

    scopes: dict[str, list[Any]] = {}
    for s in result.steps:
        scopes.setdefault(s.scope or SHARED, []).append(s)
    own = [name for name in scopes if name != SHARED]
    if len(own) < 2:
        return []
    shared_failed = [s.id for s in scopes.get(SHARED, []) if s.status == "failed"]
    lines = []
    for name in own:
        failed = [s.id for s in scopes[name] if s.status == "failed"]
        not_run = [s.id for s in scopes[name] if s.status in ("pending", "interrupted")]
        if failed:
            verdict = f"FAILED at {', '.join(failed)}" + (f"; not run: {', '.join(not_run)}" if not_run else "")
        elif not_run and shared_failed:
            verdict = f"not finished: needs {', '.join(shared_failed)}, which failed"
        elif not_run:
            verdict = f"not finished: {', '.join(not_run)}"
        elif any(s.status == "planned" for s in scopes[name]):  # a dry-run
            verdict = f"{sum(1 for s in scopes[name] if s.status == 'planned')} planned"
        else:
            verdict = "ok"
        lines.append(f"  {name}: {verdict}")
    return lines


# -- report ---------------------------------------------------------------------------------


def find_report(runs_dir: str, run_id: str | None) -> Path:
    """The stored report of ``run_id`` (the newest when None); UsageError naming what exists."""
    from runbook.report import latest_reports, report_path

    if run_id:
        path = report_path(runs_dir, run_id)
        if path.is_file():
            return path
        known = ", ".join(p.stem for p in latest_reports(runs_dir, 5)) or "none"
        raise UsageError(f"no report of run {run_id!r} in {runs_dir}", hint=f"the newest runs there: {known}")
    newest = latest_reports(runs_dir, 1)
    if not newest:
        raise UsageError(f"no run report in {runs_dir}", hint="run a deploy (or a dry-run) first, or pass --runs-dir")
    return newest[0]


def show_report(path: Path, *, fmt: str, render: Callable[[dict[str, Any]], str], out: TextIO | None = None) -> int:
    """Print a stored report as Markdown (the same as the run's summary) or as its JSON."""
    from runbook.report import read_report

    out = out or sys.stdout
    try:
        report = read_report(path)
    except ValueError as exc:
        raise UsageError(f"{path} is not a run report: {exc}", hint="pass another run id") from None
    if fmt == "json":
        json.dump(report, out, indent=2, ensure_ascii=False)
        out.write("\n")
    elif fmt == "markdown":
        out.write(render(report) + "\n")
    else:
        raise UsageError(f"unknown format {fmt!r}", hint="use markdown or json")
    return EXIT_OK


# -- status / steps / unlock ----------------------------------------------------------------


def status(store: Any, *, fmt: str = "text", out: TextIO | None = None, order: Sequence[str] = ()) -> int:
    """Print what the checkpoint says, per step, and who holds the lock."""
    out = out or sys.stdout
    doc = store.load()
    holder = store.holder()
    records = doc.get("steps", {})
    ids = [i for i in order if i in records] + sorted(set(records) - set(order))  # runbook order
    if fmt == "json":
        payload = {
            "last_run": doc.get("last_run"),
            "lock": _holder_dict(holder),
            "schema_version": doc.get("schema_version"),
            "state": store.location,
            # Steps in runbook order (JSON objects keep their order); each record's keys sorted.
            "steps": {sid: {k: records[sid][k] for k in sorted(records[sid])} for sid in ids},
            "updated_at": doc.get("updated_at"),
        }
        json.dump(payload, out, indent=2, default=str)
        out.write("\n")
        return EXIT_OK
    print(f"state: {store.location}", file=out)
    last = doc.get("last_run") or {}
    if last:
        print(
            f"last run: {last.get('run_id')} {last.get('command')} env={last.get('env')} "
            f"status={last.get('status')} started={last.get('started_at')}",
            file=out,
        )
    from runbook.identity import tool_command

    torn = store.torn_lock() if holder is None and hasattr(store, "torn_lock") else None
    if torn:
        print(
            f"lock: unreadable ({torn}): left by a killed run of an older version; `{tool_command()} unlock` removes it", file=out
        )
    else:
        print(f"lock: {holder.describe() if holder is not None else 'free'}", file=out)
    if not ids:
        print("no step has run yet", file=out)
    id_width = max([len(sid) for sid in ids] + [16])
    groups = _by_scope(ids, records)
    for scope, members in groups:
        if len(groups) > 1:  # several scopes (envs): shared steps once, then each scope's own
            print(f"{scope}:", file=out)
        for sid in members:
            rec = records[sid]
            mark = STATUS_MARK.get(rec.get("status", ""), "?")
            took = f" {rec['duration_s']:.1f}s" if rec.get("duration_s") else ""
            print(f"  {mark} {sid:<{id_width}} {rec.get('status', '?'):<11} phase {rec.get('phase', '?')}{took}", file=out)
            err = rec.get("error")
            if err:
                print(f"      error: {err.get('message', err)}", file=out)
    return EXIT_OK


def _by_scope(ids: Sequence[str], records: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """Step ids grouped by their record's scope, shared first, each group in the given order."""
    from runbook.step import SHARED

    groups: dict[str, list[str]] = {}
    for sid in ids:
        groups.setdefault(str((records.get(sid) or {}).get("scope") or SHARED), []).append(sid)
    shared = [(SHARED, groups.pop(SHARED))] if SHARED in groups else []
    return shared + list(groups.items())


def show_steps(
    steps: Sequence[Step], *, fmt: str = "text", titles: dict[int, str] | None = None, out: TextIO | None = None
) -> int:
    """The step graph in runbook order: text, Mermaid or JSON."""
    from runbook.graph import Graph

    out = out or sys.stdout
    graph = Graph(steps)
    if fmt == "mermaid":
        out.write(graph.mermaid(titles or {}, critical=graph.critical_path()[1]) + "\n")
    elif fmt == "json":
        json.dump(graph.as_json(), out, indent=2)
        out.write("\n")
    elif fmt == "text":
        length, path = graph.critical_path()
        phase = None
        for sid in graph.order():
            step = graph[sid]
            if step.phase != phase:
                phase = step.phase
                title = (titles or {}).get(phase, "")
                print(f"Phase {phase}: {title}".rstrip(), file=out)
            needs = f"  needs: {', '.join(step.needs)}" if step.needs else ""
            mark = "*" if sid in path else " "  # on the critical path
            print(f" {mark}{sid:<16} {step.title}{needs}", file=out)
        total = sum(s.estimate_s for s in steps)
        print(
            f"\n* critical path ≈ {length / 60:.1f} min ({' → '.join(path)}); all steps one after another ≈ {total / 60:.1f} min",
            file=out,
        )
    else:
        raise UsageError(f"unknown format {fmt!r}", hint="use text, mermaid or json")
    return EXIT_OK


def unlock(store: Any, *, force: bool, out: TextIO | None = None, confirm: Callable[[str], bool] | None = None) -> int:
    """Remove the state lock. Without ``force`` only a lock whose holder is provably gone is removed.

    That removal goes through ``store.acquire`` — the same atomic take-over of a dead holder's
    lock a new run performs — so a lock that changed hands meanwhile is never deleted.
    """
    out = out or sys.stdout
    holder = store.holder()
    if holder is None and hasattr(store, "torn_lock") and store.torn_lock():
        # Only an older version leaves a lock naming nobody; its writer died before writing it.
        if store.remove_torn_lock() or (force and store.force_unlock() is None):
            print("removed an unreadable lock left by a killed run", file=out)
            return EXIT_OK
        raise UsageError(
            "the state lock is unreadable and was written a moment ago: its writer may be at work",
            hint="wait a few seconds and run unlock again",
        )
    if holder is None:
        print("the state is not locked", file=out)
        return EXIT_OK
    if not force:
        return _unlock_if_dead(store, holder, out)
    if confirm is not None and not confirm(f"Remove the lock held by {holder.describe()}?"):
        print("left the lock in place", file=out)
        return EXIT_USAGE
    removed = store.force_unlock()
    who = removed.describe() if removed is not None else "nobody"
    print(f"removed the lock held by {who}", file=out)
    return EXIT_OK


def _unlock_if_dead(store: Any, holder: Any, out: TextIO) -> int:
    from runbook.errors import LockHeld
    from runbook.identity import tool_command
    from runbook.lock import dead_reason

    refusal = UsageError(
        f"the state is locked by {holder.describe()}, which may still be running",
        hint=f"make sure that run is gone, then run `{tool_command()} unlock --force`",
    )
    claim = make_holder(new_run_id(), "unlock")
    try:
        store.acquire(claim)  # succeeds only by taking over a provably dead holder's lock
    except LockHeld:
        raise refusal from None
    store.release(claim.run_id)
    reason = dead_reason(holder) or "its holder is gone"
    print(f"removed the stale lock held by {holder.describe()}: {reason}", file=out)
    return EXIT_OK


def _holder_dict(holder: Any) -> dict[str, Any] | None:
    if holder is None:
        return None
    as_dict = getattr(holder, "as_dict", None)
    return dict(as_dict()) if callable(as_dict) else dict(vars(holder))


def iter_phases(steps: Sequence[Step]) -> Iterator[tuple[int, list[Step]]]:
    phases: dict[int, list[Step]] = {}
    for step in steps:
        phases.setdefault(step.phase, []).append(step)
    for number in sorted(phases):
        yield number, phases[number]
