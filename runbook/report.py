"""The run report: one JSON file per run, the audit evidence of what was done.

It says what ran (command, env, run id), who ran it and where (user, host, folder, tool
version, the cloud identity the product checked), when, how it ended (status, exit code),
and per step: status, outcome, duration, attempts, retries and why, changes, errors. A
summary counts what changed, what was already as wanted and what failed. Every string
passes the run's redactor before it is written.
"""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from runbook.lock import current_user
from runbook.redact import Redactor
from runbook.state import atomic_write

REPORT_VERSION = 1

_STEP_KEYS = (
    "id",
    "phase",
    "title",
    "scope",
    "status",
    "outcome",
    "attempts",
    "started_at",
    "finished_at",
    "duration_s",
    "changed",
    "changes",
    "plan_unknown",
    "notes",
    "error",
    "retries",
)


def _as_dict(obj: Any) -> dict[str, Any]:
    if isinstance(obj, Mapping):
        return dict(obj)
    as_dict = getattr(obj, "as_dict", None)
    if callable(as_dict):
        return dict(as_dict())
    raise TypeError(f"cannot report a {type(obj).__name__}: give a mapping or an object with as_dict()")


def _step(entry: Any) -> dict[str, Any]:
    data = _as_dict(entry)
    step = {key: data.get(key) for key in _STEP_KEYS}
    step["attempts"] = step["attempts"] or 0
    step["changed"] = bool(step["changed"])
    for key in ("changes", "notes", "retries"):
        step[key] = list(step[key] or [])
    step["plan_unknown"] = step["plan_unknown"] or ""
    return step


def summarize(steps: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """How many steps changed something, were already as wanted, failed, … (each step once)."""
    counts = {"total": len(steps), "changed": 0, "unchanged": 0, "planned": 0, "failed": 0, "interrupted": 0, "not_run": 0}
    for step in steps:
        status = step.get("status")
        if status == "done":
            counts["changed" if step.get("changed") else "unchanged"] += 1
        elif status in ("planned", "failed", "interrupted"):
            counts[status] += 1
        else:
            counts["not_run"] += 1
    counts["retries"] = sum(len(step.get("retries") or []) for step in steps)
    return counts


def build_report(
    result: Any,
    *,
    tool: str,
    identity: Mapping[str, Any] | None = None,
    notes: Sequence[str] = (),
    user: str | None = None,
    host: str | None = None,
    cwd: str | None = None,
) -> dict[str, Any]:
    """The report of a run, from the runner's result (an object with ``as_dict()`` or a dict)."""
    data = _as_dict(result)
    steps = [_step(s) for s in data.get("steps") or []]
    return {
        "report_version": REPORT_VERSION,
        "run_id": data.get("run_id"),
        "command": data.get("command"),
        "env": data.get("env"),
        "dry_run": bool(data.get("dry_run")),
        "status": data.get("status"),
        "exit_code": data.get("exit_code"),
        "failed_scopes": list(data.get("failed_scopes") or []),
        "started_at": data.get("started_at"),
        "finished_at": data.get("finished_at"),
        "duration_s": data.get("duration_s"),
        "who": {"user": user or current_user()},
        "where": {"host": host or socket.gethostname(), "cwd": cwd or os.getcwd(), "tool": tool},
        "identity": dict(identity or {}),
        "notes": list(notes),
        "summary": summarize(steps),
        "steps": steps,
    }


def report_path(runs_dir: str | os.PathLike[str], run_id: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", run_id).lstrip(".") or "run"
    return Path(runs_dir) / f"{safe}.json"


def write_report(runs_dir: str | os.PathLike[str], report: Mapping[str, Any], *, redactor: Redactor | None = None) -> Path:
    """Write ``<runs_dir>/<run_id>.json`` atomically, every string redacted; returns its path."""
    run_id = report.get("run_id")
    if not run_id:
        raise ValueError("a report needs a run_id")
    clean = (redactor if redactor is not None else Redactor()).redact_obj(dict(report))
    path = report_path(runs_dir, str(run_id))
    data = (json.dumps(clean, indent=2, ensure_ascii=False, default=str) + "\n").encode("utf-8")
    atomic_write(path, data)
    return path


def latest_reports(runs_dir: str | os.PathLike[str], n: int = 10) -> list[Path]:
    """The ``n`` most recent report files, newest first (by write time, then name)."""
    folder = Path(runs_dir)
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob("*.json"):
        try:
            found.append((path.stat().st_mtime_ns, path.name, path))
        except FileNotFoundError:
            continue
    found.sort(reverse=True)
    return [path for _, _, path in found[: max(0, n)]]


def read_report(path: str | os.PathLike[str]) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    return report
