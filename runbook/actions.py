"""Running inside GitHub Actions: folded groups per step, annotations, the job summary.

GitHub's workflow commands (docs.github.com "Workflow commands for GitHub Actions"): a line
``::group::TITLE`` … ``::endgroup::`` folds what lies between; ``::error title=T::MESSAGE`` and
``::warning title=T::MESSAGE`` become annotations on the run. A message's ``%``, CR and LF are
escaped as ``%25``, ``%0D``, ``%0A``; a property value's ``:`` and ``,`` as ``%3A`` and ``%2C``
(actions/toolkit@main packages/core/src/command.ts, escapeData / escapeProperty). The job
summary is the Markdown file named by ``$GITHUB_STEP_SUMMARY``; each step appends to it.

Steps run in parallel, so their log lines interleave: the groups are printed when the run is
over, one per step in runbook order, holding what the step did, changed, noted and retried.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from runbook.summary import change_line


def in_actions(environ: Mapping[str, str] | None = None) -> bool:
    """True inside a GitHub Actions job (GitHub sets GITHUB_ACTIONS=true on every runner)."""
    return (environ if environ is not None else os.environ).get("GITHUB_ACTIONS") == "true"


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: str) -> str:
    props = ",".join(f"{k}={escape_property(v)}" for k, v in properties.items() if v)
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def emit(report: Mapping[str, Any], *, out: TextIO, titles: Mapping[int, str] | None = None, tool: str = "run") -> None:
    """One folded group per step, then an annotation per failure, retry and unchecked item."""
    titles = titles or {}
    steps: Sequence[Mapping[str, Any]] = report.get("steps") or []
    for step in steps:
        took = f", {step['duration_s']:.1f}s" if step.get("duration_s") else ""
        head = f"phase {step.get('phase')} {step['id']}: {step.get('status')} ({step.get('outcome')}{took})"
        print(f"::group::{escape_data(head)}", file=out)
        phase = step.get("phase")
        if isinstance(phase, int) and titles.get(phase):
            print(f"phase: {titles[phase]}", file=out)
        print(f"attempts: {step.get('attempts') or 0}", file=out)
        for change in step.get("changes") or []:
            print(change_line(change, width=7), file=out)
        if step.get("plan_unknown"):
            print(f"unknown until applied: {step['plan_unknown']}", file=out)
        for note in step.get("notes") or []:
            print(f"note: {note}", file=out)
        for retry in step.get("retries") or []:
            print(f"retried ({retry.get('operation')}, attempt {retry.get('attempt')}): {retry.get('reason')}", file=out)
        if step.get("error"):
            print(f"error: {step['error'].get('message', '')}", file=out)
        print("::endgroup::", file=out)

    for step in steps:
        err = step.get("error")
        if step.get("status") == "failed" and err:
            hint = f"\nhint: {err['hint']}" if err.get("hint") else ""
            print(
                command("error", f"{step['id']}: {err.get('message', 'failed')}{hint}", title=f"{tool} step {step['id']} failed"),
                file=out,
            )
        for retry in step.get("retries") or []:
            print(
                command(
                    "warning",
                    f"{step['id']} retried {retry.get('operation')}: {retry.get('reason')}",
                    title=f"{tool} step {step['id']} retried",
                ),
                file=out,
            )
        for note in step.get("notes") or []:
            if str(note).startswith("could not"):
                print(command("warning", f"{step['id']}: {note}", title=f"{tool} step {step['id']}: not checked"), file=out)
    for note in report.get("notes") or []:
        print(command("warning", str(note), title=f"{tool}: not checked"), file=out)
    if report.get("exit_code") == 4:
        print(
            command("notice", "the dry-run found pending changes: see the job summary", title=f"{tool}: changes pending"),
            file=out,
        )


def summary_target(explicit: str | None, environ: Mapping[str, str] | None = None) -> tuple[str | None, bool]:
    """Where the Markdown summary goes and whether to append: ``--summary FILE`` (overwritten),
    else ``$GITHUB_STEP_SUMMARY`` inside Actions (appended, as GitHub expects), else nowhere."""
    environ = environ if environ is not None else os.environ
    if explicit:
        return explicit, False
    if in_actions(environ) and environ.get("GITHUB_STEP_SUMMARY"):
        return environ["GITHUB_STEP_SUMMARY"], True
    return None, False
