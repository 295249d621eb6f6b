"""A run report as Markdown: what a reviewer reads in a CI job summary or a pull request.

Rendered from the stored JSON report (:mod:`runbook.report`), so ``<tool> report RUN_ID``
shows any earlier run exactly as the run itself wrote it. It holds the outcome, one table per
phase (status, duration, attempts, changes per step), the changes counted the way their
engine counts them (a product names the kind of each change through ``kind_of``), what could
not be checked, what drifted (a dry-run with pending changes), and a Mermaid Gantt chart of
the run with its critical path marked ``crit``.

GitHub renders Mermaid in job summaries; the Gantt grammar used here is the one of
mermaid-js/mermaid@v11 ``packages/mermaid/src/diagrams/gantt/parser/gantt.jison``: ``dateFormat
x`` (milliseconds since the epoch, so the axis shows minutes:seconds since the run started),
``section`` lines, and tasks ``name :tags, id, start, end``. Task names must not hold ``:``,
``#`` or ``;``, which the grammar reads as separators or comments.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

# How a change is counted: Terraform's words (add/change/destroy) for every kind of change.
_ADD = {"create": 1, "replace": 1}
_CHANGE = {"update": 1}
_DESTROY = {"delete": 1, "replace": 1}

KindOf = Callable[[Mapping[str, Any], Mapping[str, Any]], str]

STATUS_WORD = {
    "done": "✅ done",
    "planned": "📝 planned",
    "failed": "❌ failed",
    "interrupted": "⏸ interrupted",
    "running": "… running",
    "pending": "· not run",
}


def change_line(change: Mapping[str, Any], *, width: int = 0) -> str:
    """One recorded change as people read it: ``action target – detail`` (action right-aligned to ``width``)."""
    detail = f" – {change['detail']}" if change.get("detail") else ""
    return f"{change.get('action', '?'):>{width}} {change.get('target', '')}{detail}"


def _default_kind(step: Mapping[str, Any], change: Mapping[str, Any]) -> str:
    return "changes"


def outcome(report: Mapping[str, Any]) -> str:
    """One line: how the run ended, in words a reviewer acts on."""
    code = report.get("exit_code")
    if code == 0:
        if report.get("dry_run"):
            return "no changes: reality matches the code"
        return "succeeded"
    if code == 4:
        return "changes pending (a dry-run found differences)"
    if code == 130:
        return "interrupted (resume continues it)"
    failed = [s["id"] for s in report.get("steps") or [] if s.get("status") == "failed"]
    return f"failed at {', '.join(failed)}" if failed else f"ended with exit code {code}"


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ").strip()


def _seconds(value: Any) -> str:
    if value is None:
        return "–"
    value = float(value)
    if value >= 90:
        return f"{value / 60:.1f} min"
    return f"{value:.1f} s"


def counts(changes: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """add / change / destroy / other, as Terraform counts a plan (a replace adds and destroys)."""
    out = {"add": 0, "change": 0, "destroy": 0, "other": 0}
    for change in changes:
        action = str(change.get("action", ""))
        out["add"] += _ADD.get(action, 0)
        out["change"] += _CHANGE.get(action, 0)
        out["destroy"] += _DESTROY.get(action, 0)
        if action not in _ADD and action not in _CHANGE and action not in _DESTROY:
            out["other"] += 1
    return out


def _changes_cell(changes: Sequence[Mapping[str, Any]]) -> str:
    if not changes:
        return "–"
    c = counts(changes)
    parts = [
        f"+{c['add']}" if c["add"] else "",
        f"~{c['change']}" if c["change"] else "",
        f"-{c['destroy']}" if c["destroy"] else "",
    ]
    if c["other"]:
        parts.append(f"{c['other']} other")
    return " ".join(p for p in parts if p)


def unchecked(report: Mapping[str, Any]) -> list[str]:
    """What the run could not check (run notes, plans unknown until something is applied)."""
    seen: list[str] = []
    for note in report.get("notes") or []:
        if note not in seen:
            seen.append(str(note))
    for step in report.get("steps") or []:
        lines = []
        if step.get("plan_unknown"):
            lines.append(f"{step['id']}: {step['plan_unknown']}")
        for note in step.get("notes") or []:
            note = str(note)
            if note.startswith(("could not", "not known yet")):
                text = f"{step['id']}: {note.removeprefix('could not check offline: ')}"
                if not any(text.endswith(line.split(": ", 1)[1]) for line in lines):
                    lines.append(text)
        seen += [line for line in lines if line not in seen]
    return seen


def drifted(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(step, what) for every pending change of a dry-run: what differs from the code."""
    found: list[tuple[str, str]] = []
    if not report.get("dry_run"):
        return found
    for step in report.get("steps") or []:
        if step.get("status") != "planned":
            continue
        for change in step.get("changes") or []:
            found.append((step["id"], change_line(change)))
        if step.get("plan_unknown") and not step.get("changes"):
            found.append((step["id"], f"unknown: {step['plan_unknown']}"))
    return found


# -- the Gantt chart ----------------------------------------------------------------------------


def _ms(stamp: Any) -> int | None:
    if not stamp:
        return None
    try:
        return int(datetime.fromisoformat(str(stamp)).timestamp() * 1000)
    except ValueError:
        return None


def critical_path(steps: Sequence[Mapping[str, Any]], needs: Mapping[str, Sequence[str]] | None = None) -> list[str]:
    """The chain of steps that set the run's wall time, first to last.

    From the step that finished last, walk back to the predecessor that finished last: with
    ``needs`` (the graph) among its dependencies, without it among the steps that finished
    before it started.
    """
    timed = {s["id"]: (_ms(s.get("started_at")), _ms(s.get("finished_at"))) for s in steps}
    timed = {k: v for k, v in timed.items() if v[0] is not None and v[1] is not None}
    if not timed:
        return []
    current = max(timed, key=lambda k: (timed[k][1], timed[k][0]))
    chain = [current]
    while True:
        start = timed[current][0] or 0
        if needs is not None:
            candidates = [n for n in needs.get(current, ()) if n in timed]
        else:
            candidates = [k for k, (_, end) in timed.items() if k not in chain and (end or 0) <= start + 5]
        if not candidates:
            break
        current = max(candidates, key=lambda k: (timed[k][1], timed[k][0]))
        if current in chain:
            break
        chain.append(current)
    return list(reversed(chain))


_UNSAFE = re.compile(r"[:#;]")


def gantt(
    report: Mapping[str, Any], titles: Mapping[int, str] | None = None, needs: Mapping[str, Sequence[str]] | None = None
) -> str:
    """A Mermaid Gantt chart of the run, one section per phase, the critical path ``crit``."""
    titles = titles or {}
    steps = [
        s for s in report.get("steps") or [] if _ms(s.get("started_at")) is not None and _ms(s.get("finished_at")) is not None
    ]
    title = _UNSAFE.sub(" ", f"{report.get('command')} {report.get('env') or ''} run {report.get('run_id')}")
    lines = ["gantt", f"    title {' '.join(title.split())}", "    dateFormat x", "    axisFormat %M.%S"]
    if not steps:
        return "\n".join(lines)
    origin = min(_ms(s["started_at"]) or 0 for s in steps)
    crit = set(critical_path(steps, needs))
    phase = None
    for index, step in enumerate(sorted(steps, key=lambda s: (s.get("phase", 0), _ms(s["started_at"]) or 0))):
        if step.get("phase") != phase:
            phase = step.get("phase")
            name = _UNSAFE.sub(" ", f"{phase} {titles.get(phase, '')}".strip())
            lines.append(f"    section {name}")
        start = (_ms(step["started_at"]) or 0) - origin
        end = max((_ms(step["finished_at"]) or 0) - origin, start + 1)
        tags = []
        if step["id"] in crit:
            tags.append("crit")
        if step.get("status") == "done":
            tags.append("done")
        elif step.get("status") in ("failed", "interrupted"):
            tags.append("active")
        label = _UNSAFE.sub(" ", f"{step['id']} {step.get('status', '')}")
        lines.append(f"    {label} :{', '.join([*tags, f't{index}'])}, {start}, {end}")
    return "\n".join(lines)


# -- the whole summary --------------------------------------------------------------------------


def render_markdown(
    report: Mapping[str, Any],
    *,
    titles: Mapping[int, str] | None = None,
    needs: Mapping[str, Sequence[str]] | None = None,
    kind_of: KindOf | None = None,
    tool: str = "",
) -> str:
    """The Markdown summary of a stored report (see the module docstring for what it holds)."""
    titles = titles or {}
    kind_of = kind_of or _default_kind
    steps = list(report.get("steps") or [])
    tool = tool or str((report.get("where") or {}).get("tool", "")).split(" ")[0] or "run"
    env = f" --env {report['env']}" if report.get("env") else ""
    mode = []
    if report.get("dry_run"):
        mode.append("dry-run")
    if report.get("read_only"):
        mode.append("read-only: no lock taken, Terraform plans with -lock=false")
    out = [f"## {tool} {report.get('command')}{env}: {outcome(report)}", ""]
    out += ["| | |", "|---|---|"]
    out.append(f"| outcome | {_cell(outcome(report))} (exit {report.get('exit_code')}) |")
    out.append(f"| run | `{_cell(report.get('run_id'))}` |")
    out.append(f"| mode | {_cell(', '.join(mode) or 'apply')} |")
    out.append(f"| started | {_cell(report.get('started_at'))} |")
    out.append(f"| duration | {_seconds(report.get('duration_s'))} |")
    summary = report.get("summary") or {}
    if summary:
        shown = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in summary.items() if v and k != "total")
        out.append(f"| steps | {summary.get('total', len(steps))}: {_cell(shown)} |")
    identity = report.get("identity") or {}
    if identity.get("account"):
        out.append(f"| account | {_cell(identity.get('account'))} {_cell(identity.get('region', ''))} |")
    out.append("")

    drift = drifted(report)
    if drift:
        out += ["### What differs from the code", "", "| step | pending change |", "|---|---|"]
        out += [f"| {_cell(sid)} | {_cell(what)} |" for sid, what in drift]
        out.append("")

    rows = []
    for step in steps:
        changes = step.get("changes") or []
        if not changes:
            continue
        kinds: dict[str, list[Mapping[str, Any]]] = {}
        for change in changes:
            kinds.setdefault(kind_of(step, change), []).append(change)
        for kind, items in kinds.items():
            c = counts(items)
            rows.append(f"| {_cell(step['id'])} | {_cell(kind)} | {c['add']} | {c['change']} | {c['destroy']} | {c['other']} |")
    verb = "Pending changes" if report.get("dry_run") else "Changes made"
    out += [f"### {verb}", ""]
    if rows:
        out += ["| step | kind | add | change | destroy | other |", "|---|---|--:|--:|--:|--:|", *rows]
    else:
        out.append("none")
    out.append("")

    out += ["### Steps", ""]
    phase = None
    for step in sorted(steps, key=lambda s: s.get("phase", 0)):
        if step.get("phase") != phase:
            phase = step.get("phase")
            if phase is not None and out[-1] != "":
                out.append("")
            title = _cell(titles.get(phase, ""))
            out += [
                f"**Phase {phase}: {title}**" if title else f"**Phase {phase}**",
                "",
                "| step | status | outcome | duration | attempts | changes |",
                "|---|---|---|--:|--:|---|",
            ]
        status = STATUS_WORD.get(str(step.get("status")), _cell(step.get("status")))
        out.append(
            f"| {_cell(step['id'])} | {status} | {_cell(step.get('outcome'))} | {_seconds(step.get('duration_s'))} "
            f"| {step.get('attempts') or 0} | {_changes_cell(step.get('changes') or [])} |"
        )
    out.append("")

    errors = [s for s in steps if s.get("error")]
    if errors:
        out += ["### Errors", ""]
        for step in errors:
            err = step["error"]
            out.append(f"- **{_cell(step['id'])}**: {_cell(err.get('message', ''))}")
            if err.get("hint"):
                out.append(f"  - hint: {_cell(err['hint'])}")
        out.append("")

    retried = [(s["id"], r) for s in steps for r in s.get("retries") or []]
    if retried:
        out += ["### Retries", "", "| step | attempt | reason | wait |", "|---|--:|---|--:|"]
        out += [
            f"| {_cell(sid)} | {r.get('attempt')} | {_cell(r.get('reason'))} | {_seconds(r.get('delay_s'))} |"
            for sid, r in retried
        ]
        out.append("")

    out += ["### Could not be checked", ""]
    missing = unchecked(report)
    out += [f"- {_cell(line)}" for line in missing] if missing else ["everything was checked"]
    out.append("")

    out += [
        "### Timeline",
        "",
        "Critical path: " + (" → ".join(critical_path(steps, needs)) or "–"),
        "",
        "```mermaid",
        gantt(report, titles, needs),
        "```",
        "",
    ]

    detailed = [s for s in steps if s.get("changes")]
    if detailed:
        out += ["<details><summary>Every change</summary>", ""]
        for step in detailed:
            out.append(f"- **{_cell(step['id'])}**")
            for change in step["changes"]:
                detail = f" – {_cell(change.get('detail'))}" if change.get("detail") else ""
                out.append(f"  - {_cell(change.get('action'))} `{_cell(change.get('target'))}`{detail}")
        out += ["", "</details>", ""]
    return "\n".join(out)
