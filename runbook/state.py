"""The checkpoint: a versioned JSON document that says where a run got to.

One document covers every step of every environment. It is written atomically after every
step transition (temp file in the same folder, fsync, rename, fsync the folder), the previous
version is kept as ``<file>.bak``, and a file that cannot be read is never overwritten: the
user decides what to do with it.

The document (``schema_version`` 1)::

    {"schema_version": 1, "tool": "<name> <version>", "updated_at": "<ISO UTC>",
     "last_run": {"run_id", "command", "env", "status", "started_at", ...} | null,
     "steps": {"<step id>": {"status", "phase", "scope", "attempts", "started_at",
               "finished_at", "duration_s", "fingerprint", "outputs", "changes",
               "error", "run_id", ...}}}
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runbook.errors import StateError
from runbook.identity import default_tool, tool_command
from runbook.lock import FileLock, LockHolder

SCHEMA_VERSION = 1

STEP_STATUSES = frozenset({"pending", "running", "done", "failed", "interrupted", "planned"})

# Upgrades of older documents: MIGRATIONS[n] turns a version-n document into version n+1.
# Add an entry (and bump SCHEMA_VERSION) whenever the document's shape changes.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def new_document(tool: str | None = None) -> dict[str, Any]:
    """An empty checkpoint: nothing has run yet."""
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": tool or default_tool(),
        "updated_at": None,
        "last_run": None,
        "steps": {},
    }


def record(doc: dict[str, Any], step_id: str, *, phase: int = 0, scope: str = "") -> dict[str, Any]:
    """The record of ``step_id`` in ``doc``, created as ``pending`` if the step never ran."""
    steps: dict[str, dict[str, Any]] = doc.setdefault("steps", {})
    rec = steps.get(step_id)
    if rec is None:
        rec = steps[step_id] = {
            "status": "pending",
            "phase": phase,
            "scope": scope,
            "attempts": 0,
            "started_at": None,
            "finished_at": None,
            "duration_s": None,
            "fingerprint": None,
            "outputs": {},
            "changes": [],
            "error": None,
            "run_id": None,
        }
    return rec


def forget(doc: dict[str, Any], step_ids: Any, *, because: str = "", at: str | None = None) -> list[str]:
    """Make the records of ``step_ids`` say "never done": status ``pending``, no outputs, no
    fingerprint, so the next run checks and applies those steps again.

    For an operation that undoes what steps made (tearing down what they built): their
    records must stop claiming the result exists. Phase and scope are kept (listings stay in
    order); ``forgotten_at``/``forgotten_because`` say when and why. Records that do not
    exist or are already pending with no outputs are left alone. Returns the ids changed.
    """
    records = doc.setdefault("steps", {})
    changed: list[str] = []
    for sid in dict.fromkeys(step_ids):
        rec = records.get(sid)
        if rec is None or (rec.get("status") == "pending" and not rec.get("outputs") and not rec.get("fingerprint")):
            continue
        rec.update(
            status="pending",
            attempts=0,
            started_at=None,
            finished_at=None,
            duration_s=None,
            fingerprint=None,
            outputs={},
            changes=[],
            error=None,
            forgotten_at=at or utc_now(),
            forgotten_because=because,
        )
        for stale in ("previous_status", "plan_unknown", "notes", "planned_at"):
            rec.pop(stale, None)
        changed.append(sid)
    return changed


# -- validation and migration -----------------------------------------------------------------

# key -> (accepted types, may be null). Keys not listed are kept as they are: the runner adds
# its own (plan notes, previous status) and older tools must not choke on them.
_STEP_FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "phase": ((int,), False),
    "scope": ((str,), False),
    "attempts": ((int,), False),
    "started_at": ((str,), True),
    "finished_at": ((str,), True),
    "duration_s": ((int, float), True),
    "fingerprint": ((str,), True),
    "outputs": ((dict,), False),
    "changes": ((list,), False),
    "error": ((dict, str), True),
    "run_id": ((str,), True),
}
_RUN_FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "run_id": ((str,), False),
    "command": ((str,), False),
    "env": ((str,), True),
    "status": ((str,), False),
    "started_at": ((str,), True),
    "finished_at": ((str,), True),
    "dry_run": ((bool,), False),
}


def _type_problem(value: Any, types: tuple[type, ...], nullable: bool) -> str | None:
    if value is None:
        return None if nullable else "is null"
    if isinstance(value, bool) and bool not in types:  # bool is an int to Python, not to us
        return f"is {json.dumps(value)}, not {' or '.join(t.__name__ for t in types)}"
    if not isinstance(value, types):
        return f"is {type(value).__name__}, not {' or '.join(t.__name__ for t in types)}"
    return None


def _problems(doc: Any) -> list[str]:
    if not isinstance(doc, dict):
        return [f"the document is a JSON {type(doc).__name__}, not an object"]
    found: list[str] = []
    if not isinstance(doc.get("tool", ""), str):
        found.append("tool is not a string")
    if doc.get("updated_at") is not None and not isinstance(doc["updated_at"], str):
        found.append("updated_at is not a string")
    last = doc.get("last_run")
    if last is not None:
        if not isinstance(last, dict):
            found.append("last_run is not an object")
        else:
            for key, (types, nullable) in _RUN_FIELDS.items():
                if key in last and (why := _type_problem(last[key], types, nullable)):
                    found.append(f"last_run.{key} {why}")
    steps = doc.get("steps")
    if not isinstance(steps, dict):
        found.append("steps is missing or not an object")
        return found
    for sid, rec in steps.items():
        if not isinstance(rec, dict):
            found.append(f"steps.{sid} is not an object")
            continue
        status = rec.get("status")
        if status not in STEP_STATUSES:
            found.append(f"steps.{sid}.status is {status!r}, not one of {', '.join(sorted(STEP_STATUSES))}")
        for key, (types, nullable) in _STEP_FIELDS.items():
            if key in rec and (why := _type_problem(rec[key], types, nullable)):
                found.append(f"steps.{sid}.{key} {why}")
    return found


def validate_document(doc: Any, location: str, *, hint: str = "") -> dict[str, Any]:
    """Check the structure of a current-version document; raise StateError naming every problem."""
    if isinstance(doc, dict) and doc.get("schema_version") != SCHEMA_VERSION:
        raise StateError(
            f"state {location} has schema_version {doc.get('schema_version')!r}, expected {SCHEMA_VERSION}",
            hint="load it through the state store, which migrates older versions",
        )
    problems = _problems(doc)
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise StateError(
            f"state {location} is not a valid checkpoint: {shown}",
            hint=hint or f"it was left untouched; restore a backup of {location} or move it away to start afresh",
        )
    checked: dict[str, Any] = doc  # _problems found none: it is a dict of the right shape
    return checked


def upgrade_document(doc: Any, location: str, *, tool: str | None = None, hint: str = "") -> dict[str, Any]:
    """Bring a parsed document to SCHEMA_VERSION (migrating older ones), then validate it.

    A newer or unknown version is refused: an older tool must not rewrite what it does not
    understand.
    """
    if not isinstance(doc, dict):
        return validate_document(doc, location, hint=hint)
    version = doc.get("schema_version")
    this_tool = tool or default_tool()
    writer = doc.get("tool") if isinstance(doc.get("tool"), str) else "an unknown tool"
    if not isinstance(version, int) or isinstance(version, bool):
        raise StateError(
            f"state {location} has no valid schema_version (found {version!r}); it was left untouched",
            hint=f"is it a checkpoint of {tool_command()}? Point the state option elsewhere, or move the file away",
        )
    if version > SCHEMA_VERSION:
        raise StateError(
            f"state {location} has schema_version {version}, written by {writer}; "
            f"this {this_tool} reads up to schema_version {SCHEMA_VERSION}. It was left untouched",
            hint=f"upgrade to {writer} or newer to use this state",
        )
    while version < SCHEMA_VERSION:
        migrate = MIGRATIONS.get(version)
        if migrate is None:
            raise StateError(
                f"state {location} has schema_version {version}, which {this_tool} cannot migrate "
                f"(it knows migrations from {sorted(MIGRATIONS) or 'no version'}). It was left untouched",
                hint=f"open it once with the tool that wrote it ({writer}) or a release between, then retry",
            )
        doc = migrate(doc)
        version += 1
        doc["schema_version"] = version
    return validate_document(doc, location, hint=hint)


def parse_document(raw: bytes, location: str, *, tool: str | None = None, hint: str = "") -> dict[str, Any]:
    """Bytes of a stored checkpoint → a valid current document, or StateError saying why not."""
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StateError(
            f"state file {location} is corrupt: {exc}; it was left untouched",
            hint=hint or f"restore a backup of {location} or move it away to start afresh",
        ) from exc
    return upgrade_document(doc, location, tool=tool, hint=hint)


def serialize_document(doc: dict[str, Any], location: str, *, tool: str | None = None) -> tuple[dict[str, Any], bytes]:
    """The document as written: stamped with the writing tool and time, validated, as bytes."""
    stamped = {**doc, "tool": tool or default_tool(), "updated_at": utc_now()}
    validate_document(stamped, location)
    try:
        text = json.dumps(stamped, indent=2, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise StateError(
            f"refusing to write state {location}: the document is not plain JSON ({exc})",
            hint="this is a bug in the step that produced the value; report it",
        ) from exc
    return stamped, (text + "\n").encode("utf-8")


# -- atomic files ----------------------------------------------------------------------------


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable. Some platforms cannot open folders; that is not an error there."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _keep_backup(path: Path, backup: Path) -> None:
    """``backup`` becomes the current ``path`` (a hard link: no copy, and atomic)."""
    staged = backup.with_name(f".{backup.name}.{uuid.uuid4().hex[:12]}.tmp")
    with contextlib.suppress(FileNotFoundError):
        staged.unlink()
    try:
        os.link(path, staged)
    except FileNotFoundError:
        return  # nothing to back up yet
    except OSError:  # no hard links on this filesystem
        shutil.copy2(path, staged)
    os.replace(staged, backup)


def atomic_write(path: str | os.PathLike[str], data: bytes, *, backup: str | os.PathLike[str] | None = None) -> None:
    """Write ``data`` so that ``path`` is always either the old or the new content.

    With ``backup``, the old content is kept there first.
    """
    path = Path(path)
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)  # keep the mode the user gave the file
        if backup is not None:
            _keep_backup(path, Path(backup))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(folder)


# -- the local store -------------------------------------------------------------------------


class FileStateStore:
    """The checkpoint in a local file, locked by ``<file>.lock`` (the StateStore protocol)."""

    def __init__(self, path: str | os.PathLike[str], *, tool: str | None = None, log: Any = None) -> None:
        self.path = Path(path)
        self.location = str(path)
        self.backup_path = self.path.with_name(self.path.name + ".bak")
        self._tool = tool
        self._lock = FileLock(self.path.with_name(self.path.name + ".lock"), log=log)
        # Set when a load found the file unusable: nothing may overwrite it in this process.
        self._refused: StateError | None = None
        self._checked = False

    @property
    def lock(self) -> Any:
        return self._lock

    def load(self) -> dict[str, Any]:
        """The current document; a new one if the file does not exist yet."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            self._checked = True
            return new_document(self._tool)
        except IsADirectoryError:
            raise StateError(
                f"state path {self.location} is a folder, not a checkpoint file; it was left untouched",
                hint=f"name a file, e.g. {self.path / 'state.json'}",
            ) from None
        except NotADirectoryError:
            raise StateError(
                f"state path {self.location} lies under a file, not a folder",
                hint=f"name a file inside a folder (one of {self.location}'s parents is a regular file)",
            ) from None
        except OSError as exc:
            raise StateError(f"cannot read state file {self.location}: {exc.strerror}", hint="check its permissions") from exc
        try:
            doc = parse_document(raw, self.location, tool=self._tool, hint=self._restore_hint())
        except StateError as exc:
            self._refused = exc
            raise
        self._checked = True
        return doc

    def save(self, doc: dict[str, Any]) -> None:
        """Write atomically, keeping the previous version as ``<file>.bak``."""
        if not self._checked and self._refused is None and self.path.exists():
            with contextlib.suppress(StateError):
                self.load()  # never write over a file we have not seen to be a valid checkpoint
        if self._refused is not None:
            raise StateError(
                f"not writing state file {self.location}: {self._refused.message}",
                hint=self._refused.hint,
            )
        _, data = serialize_document(doc, self.location, tool=self._tool)
        try:
            atomic_write(self.path, data, backup=self.backup_path)
        except OSError as exc:
            raise StateError(
                f"cannot write state file {self.location}: {exc.strerror or exc}; the previous version is unchanged",
                hint="check free space and permissions of its folder",
            ) from exc

    def _restore_hint(self) -> str:
        if self.backup_path.exists():
            return f"restore {self.backup_path} (the previous version) or move {self.location} away to start afresh"
        return f"move {self.location} away to start afresh (every step is then re-checked)"

    # Locking: one run at a time per state file.

    def acquire(self, holder: LockHolder) -> None:
        self._lock.acquire(holder)

    def release(self, run_id: str) -> None:
        self._lock.release(run_id)

    def holder(self) -> LockHolder | None:
        return self._lock.holder()

    def force_unlock(self) -> LockHolder | None:
        return self._lock.force_unlock()

    def torn_lock(self) -> str | None:
        """What is wrong with a lock file that names nobody (left by an older version), or None."""
        return self._lock.torn()

    def remove_torn_lock(self) -> bool:
        return self._lock.remove_torn()
