"""The one subprocess chokepoint: every external command kyeol runs goes through here.

It gives every command a timeout (bounded by the step's deadline), stops it on Ctrl-C,
streams its output line by line through the redactor into the log, and refuses to run
commands that would change anything during a dry-run.
"""

from __future__ import annotations

import contextlib
import copy
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from runbook.errors import Interrupted, PermanentError, StepTimeout, Unavailable
from runbook.redact import Redactor

# After asking a process to stop (SIGINT, as Ctrl-C would), how long it gets to clean up
# (terraform releases its state lock) before it is killed.
GRACE_SECONDS = 20.0


@dataclass
class Completed:
    """The result of one command: exit code and (redacted) output."""

    argv: list[str]
    returncode: int
    stdout: str = ""
    stderr: str = ""
    duration_s: float = 0.0
    skipped_dry_run: bool = False
    lines: list[str] = field(default_factory=list)


class CommandFailed(PermanentError):
    """A command exited non-zero. Adapters classify it (transient or not) from its output."""

    def __init__(self, completed: Completed, *, hint: str = "") -> None:
        tail = "\n".join((completed.stderr or completed.stdout).strip().splitlines()[-15:])
        super().__init__(
            f"`{' '.join(completed.argv[:3])}` exited {completed.returncode}: {tail}".rstrip(": "),
            hint=hint,
        )
        self.completed = completed


class ReadOnlyRefused(PermanentError):
    """A read-only run (``--read-only``) reached a write: refused, never retried.

    Raised by every adapter chokepoint (subprocesses here, AWS calls, Kubernetes writes,
    GitHub writes), so a read-only plan cannot change the world even through a bug in a step.
    """

    retryable = False

    def __init__(self, what: str) -> None:
        super().__init__(
            f"read-only run: refused to {what}",
            hint="a read-only dry-run changes nothing; run without --read-only (and without --dry-run) to apply",
        )


class ProcessRunner:
    """Runs commands with timeouts, cancellation, redaction and dry-run protection."""

    def __init__(
        self,
        *,
        redactor: Redactor | None = None,
        log: Any = None,
        dry_run: bool = False,
        base_env: Mapping[str, str] | None = None,
        which: Callable[[str], str | None] = shutil.which,
        read_only: bool = False,
    ) -> None:
        self.redactor = redactor if redactor is not None else Redactor()
        self.log = log
        self.read_only = read_only
        self.dry_run = dry_run or read_only
        self.base_env = dict(base_env) if base_env is not None else dict(os.environ)
        self._which = which

    def quiet(self) -> ProcessRunner:
        """This runner with every setting kept but its log: for commands whose output may hold
        secrets kyeol cannot redact yet (it is parsed, never logged)."""
        runner = copy.copy(self)
        runner.log = None
        return runner

    def require(self, program: str, *, hint: str) -> str:
        """Absolute path of ``program`` or Unavailable with an actionable hint."""
        path = self._which(program) if os.path.sep not in program else (program if os.path.exists(program) else None)
        if not path:
            raise Unavailable(f"{program} is not installed or not on PATH", hint=hint)
        return path

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float,
        cwd: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        mutating: bool = True,
        check: bool = True,
        input_text: str | None = None,
        ctx: Any = None,
        on_line: Callable[[str], None] | None = None,
    ) -> Completed:
        """Run ``argv``; ``mutating`` commands are skipped (and logged) in a dry-run."""
        argv = [str(a) for a in argv]
        shown = self.redactor.redact(" ".join(argv))
        if self.read_only and mutating:
            self._log("error", "read-only: refused", command=shown)
            raise ReadOnlyRefused(f"run `{shown[:120]}`")
        if self.dry_run and mutating:
            self._log("info", "dry-run: would run", command=shown)
            return Completed(argv=argv, returncode=0, skipped_dry_run=True)

        remaining = ctx.remaining() if ctx is not None and hasattr(ctx, "remaining") else None
        if remaining is not None:
            timeout = min(timeout, remaining)
        cancel: threading.Event | None = getattr(ctx, "cancel", None)

        full_env = dict(self.base_env)
        if env:
            full_env.update(env)
        self._log("debug", "run", command=shown, cwd=str(cwd or "."), timeout_s=round(timeout, 1))
        start = time.monotonic()
        try:
            proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=full_env,
                stdin=subprocess.PIPE if input_text is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                bufsize=1,
                start_new_session=True,
            )
        except FileNotFoundError as exc:
            raise Unavailable(f"{argv[0]} is not installed or not on PATH", hint=f"install {argv[0]}") from exc

        out_lines: list[str] = []
        err_lines: list[str] = []
        all_lines: list[str] = []

        def pump(stream: Any, sink: list[str], level: str) -> None:
            for raw in iter(stream.readline, ""):
                line = self.redactor.redact(raw.rstrip("\n"))
                sink.append(line)
                all_lines.append(line)
                self._log(level, line, stream="stdout" if sink is out_lines else "stderr", program=os.path.basename(argv[0]))
                if on_line:
                    on_line(line)
            stream.close()

        readers = [
            threading.Thread(target=pump, args=(proc.stdout, out_lines, "debug"), daemon=True),
            threading.Thread(target=pump, args=(proc.stderr, err_lines, "debug"), daemon=True),
        ]
        for r in readers:
            r.start()
        if input_text is not None and proc.stdin:
            try:
                proc.stdin.write(input_text)
                proc.stdin.close()
            except BrokenPipeError:
                pass

        deadline = start + timeout
        stop_reason = ""
        while True:
            try:
                proc.wait(timeout=0.05)
                break
            except subprocess.TimeoutExpired:
                pass
            if cancel is not None and cancel.is_set():
                stop_reason = "interrupted"
            elif time.monotonic() >= deadline:
                stop_reason = "timeout"
            if stop_reason:
                self._stop(proc)
                break
        for r in readers:
            r.join(timeout=5)
        done = Completed(
            argv=argv,
            returncode=proc.returncode if proc.returncode is not None else -9,
            stdout="\n".join(out_lines),
            stderr="\n".join(err_lines),
            duration_s=time.monotonic() - start,
            lines=all_lines,
        )
        if stop_reason == "interrupted":
            raise Interrupted(f"stopped `{shown[:80]}` on request")
        if stop_reason == "timeout":
            raise StepTimeout(
                f"`{shown[:80]}` did not finish within {timeout:.0f}s and was stopped",
                hint="raise the step timeout if this is expected, or look at the log for where it hung",
            )
        if check and done.returncode != 0:
            raise CommandFailed(done)
        return done

    def _stop(self, proc: subprocess.Popen[str]) -> None:
        """SIGINT the process group (graceful, like Ctrl-C), then SIGKILL after a grace period."""
        try:
            os.killpg(proc.pid, signal.SIGINT)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def _log(self, level: str, event: str, **kw: Any) -> None:
        if self.log is not None:
            getattr(self.log, level)(event, **kw)
