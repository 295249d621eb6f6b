"""One run at a time per state: an exclusive lock file that names its holder.

``<state>.lock`` holds the holder as JSON. It is written whole into a private temporary file
first and then hard-linked to its name: ``link(2)`` fails when the name exists, so it has
``O_EXCL`` semantics (of any number of racing processes exactly one succeeds), and the lock
appears complete or not at all — a kill can never leave an empty or half-written one. Earlier
versions created the file first and wrote it after; :meth:`FileLock.torn` names such a lock
when one is left, and :meth:`FileLock.remove_torn` removes it. A second run is refused with
the holder's run id, user, host, pid and start time. A lock whose holder is *provably* dead
(same host, and its pid is gone, a zombie, or now belongs to another process) is taken over;
every other lock is removed only by a person (``unlock --force``).

"Another process" is decided by the holder's start in clock ticks since boot (``/proc``) and
the boot id, which no clock step can move. The wall clock is only the fallback for a lock
written without them (an older version) or in an earlier boot: comparing the lock's
``started_at`` with a start time derived from the boot time once let a racer take over a
live lock when a VM's clock stepped forward.

Taking over must not let two racing processes both win: the stale file is removed only
under an flock of the state's folder, and only if it is still the very file judged stale.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runbook import processes
from runbook.errors import LockHeld, StateError
from runbook.identity import tool_command

# A holder writes its lock file in one write right after creating it; a reader that finds it
# empty or half-written waits this long before calling it unreadable.
_WRITE_GRACE_S = 2.0
_TEMP_SUFFIX = ".tmp"
# A process that started this much after the lock's start time cannot be the lock's holder.
_START_TOLERANCE_S = 2.0


@dataclass
class LockHolder:
    """Who holds a state lock."""

    run_id: str
    user: str
    host: str
    pid: int
    started_at: str
    command: str = ""
    boot_id: str = ""  # the kernel's boot id when the lock was taken; "" where unknown
    start_ticks: int = 0  # the holder's start in clock ticks since boot; 0 where unknown

    def describe(self) -> str:
        what = f"{self.command} " if self.command else ""
        return f"run {self.run_id} ({what}by {self.user} on {self.host}, pid {self.pid}, started {self.started_at})"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> LockHolder:
        """Parse a stored holder; ValueError if it is not one. Extra keys are ignored."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        try:
            pid = data["pid"]
            if not isinstance(pid, int) or isinstance(pid, bool):
                raise ValueError(f"pid {pid!r} is not a number")
            ticks = data.get("start_ticks") or 0
            if not isinstance(ticks, int) or isinstance(ticks, bool):
                raise ValueError(f"start_ticks {ticks!r} is not a number")
            return cls(
                run_id=str(data["run_id"]),
                user=str(data["user"]),
                host=str(data["host"]),
                pid=pid,
                started_at=str(data["started_at"]),
                command=str(data.get("command") or ""),
                boot_id=str(data.get("boot_id") or ""),
                start_ticks=ticks,
            )
        except KeyError as exc:
            raise ValueError(f"missing {exc.args[0]!r}") from exc

    @classmethod
    def for_this_process(cls, run_id: str, command: str = "") -> LockHolder:
        own = processes.stat(os.getpid())
        return cls(
            run_id=run_id,
            user=current_user(),
            host=socket.gethostname(),
            pid=os.getpid(),
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            command=command,
            boot_id=processes.boot_id() or "",
            start_ticks=own[0] if own else 0,
        )


def current_user() -> str:
    """The login name; the numeric uid where the system has no name for it (some containers)."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


def _parse_time(text: str) -> float | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def dead_reason(holder: LockHolder) -> str | None:
    """Why ``holder`` provably no longer runs, or None when that cannot be proven from here."""
    if holder.host != socket.gethostname():
        return None  # another machine: its processes are not ours to judge
    if holder.pid <= 0:
        return None
    exists = processes.exists(holder.pid)
    if exists is False:
        return f"pid {holder.pid} no longer exists on {holder.host}"
    info = processes.stat(holder.pid) if exists else None
    if info is None:
        return None
    ticks, state = info
    if processes.exited(state):
        return f"pid {holder.pid} on {holder.host} has exited (a zombie)"
    if holder.start_ticks and holder.boot_id and holder.boot_id == processes.boot_id():
        # Same boot: the start ticks name the process exactly, whatever the wall clock did.
        if ticks != holder.start_ticks:
            return f"pid {holder.pid} on {holder.host} now belongs to another process (started {ticks} ticks after boot, not {holder.start_ticks})"
        return None
    started = processes.ticks_to_time(ticks)
    lock_started = _parse_time(holder.started_at)
    if started is not None and lock_started is not None and started > lock_started + _START_TOLERANCE_S:
        began = datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds")
        return f"pid {holder.pid} on {holder.host} now belongs to a process started at {began}, after the lock was taken"
    return None


def unlock_hint() -> str:
    return f"wait for that run to finish; if it is gone, run `{tool_command()} unlock --force`"


class FileLock:
    """The lock file next to a state file."""

    def __init__(self, path: str | os.PathLike[str], *, log: Any = None) -> None:
        self.path = Path(path)
        self._log = log
        self.taken_over: LockHolder | None = None  # the dead holder this process replaced, if any

    # -- public ------------------------------------------------------------------------------

    def acquire(self, holder: LockHolder) -> None:
        """Hold the lock for ``holder`` or raise LockHeld naming whoever holds it."""
        for _ in range(5):  # each round either wins, refuses, or saw the lock change hands
            try:
                self._create(holder)
                return
            except FileExistsError:
                pass
            raw = self._read_settled()
            if raw is None:
                continue  # released between our attempt and our look: try again
            current, problem = _decode(raw)
            if current is None:
                raise LockHeld(
                    f"state lock {self.path} exists but cannot be read ({problem}): a run of an older version "
                    "was killed while writing it",
                    hint=f"run `{tool_command()} unlock` to remove it (or `unlock --force` if it is not that old)",
                )
            if current == holder:
                return  # already ours
            reason = dead_reason(current)
            if reason is None:
                raise LockHeld(f"state {self._state_name()} is locked by {current.describe()}", hint=unlock_hint())
            if self._take_over(raw, holder):
                self.taken_over = current
                self._warn("took over a stale state lock", lock=str(self.path), stale=current.describe(), reason=reason)
                return
        raise LockHeld(f"state lock {self.path} kept changing hands; could not take it", hint="try again in a moment")

    def release(self, run_id: str) -> bool:
        """Remove the lock if ``run_id`` holds it; never someone else's."""
        raw = self._read()
        if raw is None:
            return False
        current, _ = _decode(raw)
        if current is None or current.run_id != run_id:
            self._warn(
                "not releasing a state lock held by another run",
                lock=str(self.path),
                holder=current.describe() if current else "unreadable",
                run=run_id,
            )
            return False
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        return True

    def holder(self) -> LockHolder | None:
        """Who holds the lock now; None if nobody (or the lock file cannot be read)."""
        raw = self._read_settled()
        return _decode(raw)[0] if raw is not None else None

    def force_unlock(self) -> LockHolder | None:
        """Remove the lock whoever holds it; returns who did (None if nobody or unreadable)."""
        raw = self._read()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        return _decode(raw)[0] if raw is not None else None

    def torn(self) -> str | None:
        """Why the lock file exists but names nobody (empty or half-written), or None.

        Only an older version can leave one (it created the file before writing it); a lock
        younger than the write grace may still be that version's writer at work.
        """
        raw = self._read_settled()
        if raw is None:
            return None
        current, problem = _decode(raw)
        if current is not None:
            return None
        return "empty" if not raw.strip() else f"half-written: {problem}, {len(raw)} bytes"

    def remove_torn(self) -> bool:
        """Remove a torn lock older than the write grace; never a readable or a young one."""
        with _folder_guard(self.path.parent):
            raw = self._read()
            if raw is None or _decode(raw)[0] is not None:
                return False
            try:
                if time.time() - self.path.stat().st_mtime < _WRITE_GRACE_S:
                    return False
                self.path.unlink()
            except FileNotFoundError:
                return False
            return True

    def is_stale(self) -> str | None:
        """Why the current holder is provably dead, or None (no lock, or a live holder)."""
        current = self.holder()
        return dead_reason(current) if current is not None else None

    # -- internals ---------------------------------------------------------------------------

    def _create(self, holder: LockHolder) -> None:
        """Write the holder to a private temporary file, then link it to the lock's name.

        ``link`` fails with FileExistsError when the lock exists (``O_EXCL`` semantics), and
        the lock is complete the moment it exists. A temporary file a kill leaves behind
        (named after its dead pid) is removed by the next process that takes the lock.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = (json.dumps(holder.as_dict(), indent=2) + "\n").encode()
        temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}{_TEMP_SUFFIX}")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.link(temp, self.path)
        except FileExistsError:
            raise
        except OSError as exc:
            raise StateError(f"cannot write state lock {self.path}: {exc.strerror or exc}", hint="check free space") from exc
        finally:
            with contextlib.suppress(OSError):
                temp.unlink()
        self._sweep_temps()

    def _sweep_temps(self) -> None:
        """Remove temporary lock files whose writer (the pid in the name) is gone."""
        prefix = f".{self.path.name}."
        for entry in self.path.parent.glob(f"{prefix}*{_TEMP_SUFFIX}"):
            pid_text = entry.name[len(prefix) :].split(".", 1)[0]
            if pid_text.isdigit() and int(pid_text) != os.getpid() and not processes.alive(int(pid_text)):
                with contextlib.suppress(OSError):
                    entry.unlink()

    def _read(self) -> bytes | None:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return None

    def _read_settled(self) -> bytes | None:
        """The lock's bytes, waiting briefly if its creator is still writing them."""
        deadline = time.monotonic() + _WRITE_GRACE_S
        while True:
            raw = self._read()
            if raw is None or _decode(raw)[0] is not None:
                return raw
            try:
                young = time.time() - self.path.stat().st_mtime < _WRITE_GRACE_S
            except FileNotFoundError:
                return None
            if not young or time.monotonic() >= deadline:
                return raw
            time.sleep(0.02)

    def _take_over(self, stale: bytes, holder: LockHolder) -> bool:
        """Replace the stale lock ``stale`` by ours; False if it changed meanwhile."""
        with _folder_guard(self.path.parent):
            if self._read() != stale:
                return False
            self.path.unlink()
            try:
                self._create(holder)
            except FileExistsError:
                return False
            return True

    def _state_name(self) -> str:
        name = str(self.path)
        return name[: -len(".lock")] if name.endswith(".lock") else name

    def _warn(self, event: str, **fields: Any) -> None:
        log = self._log
        if log is None:
            from runbook.logs import get_logger

            log = get_logger()
        log.warning(event, **fields)


def _decode(raw: bytes) -> tuple[LockHolder | None, str]:
    try:
        return LockHolder.from_dict(json.loads(raw.decode("utf-8"))), ""
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        return None, str(exc) or "empty"


@contextlib.contextmanager
def _folder_guard(folder: Path) -> Iterator[None]:
    """An exclusive flock on the folder: serialises take-overs; the kernel drops it if we die."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: take-overs are not serialised there
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as exc:  # pragma: no cover - filesystems without flock
            if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
                raise
        yield
    finally:
        os.close(fd)
