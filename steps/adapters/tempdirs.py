"""Private temporary folders that a later run can clean up after a killed one.

Saved plans, tfvars, CA files and helm's kubeconfigs live in folders made by
:func:`private_dir`: ``mkdtemp`` (mode 0700) named ``kyeol-<kind>-<pid>-<random>``. A run
that is killed (SIGKILL, a cancelled CI job) cannot remove its own; :func:`sweep_dead` removes
those whose pid no longer runs, owned by this user — never a live run's folder (a pid that now
belongs to another process keeps its folder: only provably dead owners are swept).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from runbook import processes

_NAME = re.compile(r"^kyeol-(?P<kind>[a-z]+)-(?P<pid>\d+)-[A-Za-z0-9_]+$")


def private_dir(kind: str) -> str:
    """A new 0700 folder ``kyeol-<kind>-<pid>-<random>`` in the temporary directory."""
    return tempfile.mkdtemp(prefix=f"kyeol-{kind}-{os.getpid()}-")


def sweep_dead(base: str | os.PathLike[str] | None = None, *, log: Any = None) -> list[str]:
    """Remove the private folders of kyeol processes that are gone; returns what was removed."""
    folder = Path(base or tempfile.gettempdir())
    removed: list[str] = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    uid = os.getuid() if hasattr(os, "getuid") else None
    for entry in entries:
        match = _NAME.match(entry.name)
        if not match or int(match.group("pid")) == os.getpid():
            continue
        try:
            info = entry.lstat()
        except OSError:
            continue
        if not entry.is_dir() or entry.is_symlink() or (uid is not None and info.st_uid != uid):
            continue
        if processes.alive(int(match.group("pid"))):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(str(entry))
    if removed and log is not None:
        log.info("removed temporary folders of killed runs", folders=removed)
    return removed
