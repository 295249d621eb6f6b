"""A thin wrapper of the Terraform CLI: init, plan to a saved file, apply that plan, outputs.

Our own, because python-terraform is broken on Terraform >= 1.x (reference/tools.md). Every
command goes through :class:`ProcessRunner` (timeouts from the step deadline, Ctrl-C, redacted
streamed logs, no mutation in a dry-run). ``apply`` only ever applies the plan that ``plan``
saved and summarised, so what was shown is exactly what changes.

Failures are raised with Terraform's own diagnostics in the message, so the engine's
classifier (``steps.wiring.errors_catalog``) can tell throttling from a typo. A state lock held by
another run is not retried: :class:`StateLocked` names the lock, its holder and its age.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from runbook.errors import PermanentError, Unavailable, UsageError
from runbook.retry import RetryPolicy, call_within_step
from steps.adapters.process import Completed, ProcessRunner
from steps.adapters.tempdirs import private_dir

MIN_VERSION = (1, 11)  # S3-native state locking (use_lockfile), write-only arguments; README says the same
INSTALL_HINT = (
    "install Terraform >= 1.11 (https://developer.hashicorp.com/terraform/install), or point KYEOL_TERRAFORM at its executable"
)
# Environment for every terraform command: no prompts, no update checks, automation wording.
AUTOMATION_ENV = {"TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1", "TF_INPUT": "0"}
DEFAULT_LOCK_TIMEOUT_S = 300.0  # a colleague's short apply may finish meanwhile; a long one will not
LOCK_TIMEOUT_ENV = "KYEOL_TF_LOCK_TIMEOUT"
DEFAULT_TIMEOUT_S = 3600.0
_SHORT_TIMEOUT_S = 120.0  # version, show, output: quick reads
# Read-only commands (init, plan, show, output, state list) that fail transiently (throttling,
# 5xx, a reset connection) are run again in place, for up to 5 minutes of backoff (bounded by
# the step's deadline), instead of throwing the whole step attempt away.
READ_RETRY = RetryPolicy(max_attempts=100, initial=1.0, maximum=30.0, jitter=1.0, budget_s=300.0)

# Terraform's diagnostics when it cannot reach AWS or has no credentials: nothing was tried,
# so a dry-run can say "could not check offline" instead of failing.
_OFFLINE = re.compile(
    r"No\s+valid\s+credential\s+sources\s+found|failed\s+to\s+refresh\s+cached\s+credentials"
    r"|NoCredentialProviders|no\s+EC2\s+IMDS\s+role\s+found|Failed\s+to\s+query\s+available\s+provider\s+packages"
    r"|could\s+not\s+connect\s+to\s+registry|dial\s+tcp:\s+lookup\s+\S+.{0,40}no\s+such\s+host",
    re.IGNORECASE | re.DOTALL,
)
_LOCK_ERROR = "Error acquiring the state lock"
_LOCK_FIELD = re.compile(r"^\s{2}(ID|Path|Operation|Who|Version|Created|Info):\s*(.*)$")


class TerraformError(PermanentError):
    """A terraform command failed; the message carries its error diagnostics, one line each."""

    def __init__(self, message: str, completed: Completed, errors: list[str], *, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.completed = completed
        self.errors = errors


@dataclass(frozen=True)
class LockInfo:
    """Terraform's "Lock Info" block: who holds a state lock, since when, doing what."""

    id: str
    path: str = ""
    operation: str = ""
    who: str = ""
    version: str = ""
    created: str = ""

    @property
    def host(self) -> str:
        return self.who.rpartition("@")[2] if "@" in self.who else ""

    def age(self, now: datetime | None = None) -> str:
        """How long ago the lock was taken, e.g. '3m12s' ('' when the time cannot be read)."""
        match = re.match(r"(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)", self.created)
        if not match:
            return ""
        taken = datetime.fromisoformat(f"{match.group(1)}T{match.group(2)}+00:00")
        seconds = int(((now or datetime.now(UTC)) - taken).total_seconds())
        if seconds < 0:
            return ""
        hours, rest = divmod(seconds, 3600)
        minutes, secs = divmod(rest, 60)
        return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


class StateLocked(PermanentError):
    """Another Terraform run holds the state lock, still after the bounded wait.

    Never retried: the holder may be a colleague's apply that is still running, and
    taking the lock away from it would corrupt the state.
    """

    retryable = False

    def __init__(self, root: str, lock: LockInfo, waited_s: float, *, holder_gone: str = "") -> None:
        age = lock.age()
        since = f"since {lock.created}" + (f", {age} ago" if age else "") if lock.created else "since an unknown time"
        super().__init__(
            f"Terraform state of {root} is locked by {lock.who or 'an unknown holder'} "
            f"({lock.operation or 'unknown operation'}, {since}; lock ID {lock.id}); "
            f"still held after waiting {waited_s:g}s",
            hint=_lock_hint(root, lock, holder_gone),
        )
        self.lock = lock
        self.holder_gone = bool(holder_gone)
        self.gone_because = holder_gone


def _lock_hint(root: str, lock: LockInfo, holder_gone: str) -> str:
    unlock = f"terraform -chdir={root} force-unlock {lock.id}"
    if holder_gone:
        return f"the holder is gone ({holder_gone}): release the lock with `{unlock}`, then run kyeol again"
    if lock.host and lock.host == socket.gethostname():
        return (
            f"a Terraform run on this machine ({lock.who}) is still working in {root}: "
            "wait for it to finish, then run kyeol again"
        )
    return (
        f"wait for the run of {lock.who or 'the holder'} to finish, then run kyeol again; "
        f"only if that run is gone for good (a crashed runner), release the lock with `{unlock}`"
    )


@dataclass
class TerraformPlan:
    """A saved plan and its summary. ``path`` is None when there is nothing to apply."""

    root: Path
    path: Path | None
    changed: bool
    creates: list[str] = field(default_factory=list)
    updates: list[str] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    replaces: list[str] = field(default_factory=list)
    output_changes: dict[str, str] = field(default_factory=dict)
    targets: tuple[str, ...] = ()

    @property
    def resource_changes(self) -> list[tuple[str, str]]:
        """(action, address) for every resource that changes, creates first."""
        return (
            [("create", a) for a in self.creates]
            + [("update", a) for a in self.updates]
            + [("replace", a) for a in self.replaces]
            + [("delete", a) for a in self.deletes]
        )

    def summary(self) -> str:
        parts = [
            f"{len(v)} to {k}"
            for k, v in (("create", self.creates), ("update", self.updates), ("replace", self.replaces), ("delete", self.deletes))
            if v
        ]
        if self.output_changes and not parts:
            parts.append(f"{len(self.output_changes)} output(s) to change")
        if self.changed and not parts:
            parts.append("state refresh only")
        return ", ".join(parts) or "no changes"

    def discard(self) -> None:
        """Delete the saved plan (it may hold sensitive values)."""
        if self.path is not None:
            shutil.rmtree(self.path.parent, ignore_errors=True)
            self.path = None


class Outputs(dict[str, Any]):
    """Non-sensitive output values of a root; ``sensitive`` names the outputs left out."""

    def __init__(self, values: Mapping[str, Any], sensitive: Sequence[str] = ()) -> None:
        super().__init__(values)
        self.sensitive = list(sensitive)


class Terraform:
    """Terraform CLI runs for one kyeol run (thread-safe: steps on different roots run in parallel)."""

    def __init__(
        self,
        process: ProcessRunner,
        *,
        log: Any = None,
        binary: str = "terraform",
        lock_timeout_s: float | None = None,
        default_timeout_s: float = DEFAULT_TIMEOUT_S,
        read_retry: RetryPolicy = READ_RETRY,
    ) -> None:
        self.process = process
        self.read_retry = read_retry
        from steps.wiring import errors_catalog

        self._classifier = errors_catalog.classifier()
        self.log = log
        self.binary = binary
        self.lock_timeout_s = lock_timeout_s if lock_timeout_s is not None else _lock_timeout(process.base_env)
        self.default_timeout_s = default_timeout_s
        self._version: tuple[int, ...] | None = None
        self._initialised: set[tuple[str, str]] = set()
        self._mutex = threading.Lock()

    # -- version ---------------------------------------------------------------------------

    def version(self) -> str:
        """The installed version ('1.11.4'); Unavailable if missing or older than 1.11."""
        executable = self.process.require(self.binary, hint=INSTALL_HINT)
        done = self.process.run(
            [executable, "version", "-json"], timeout=_SHORT_TIMEOUT_S, mutating=False, check=False, env=AUTOMATION_ENV
        )
        text = done.stdout.strip()
        try:
            # `terraform version -json` documents "terraform_version" as a string ("1.9.8").
            raw: str = json.loads(text)["terraform_version"]
        except (ValueError, KeyError, TypeError):
            match = re.search(r"Terraform v(\d+\.\d+\.\d+)", text)  # before 0.13: no -json
            if not match:
                raise Unavailable(f"could not read the version of {executable}: {text[:200]!r}", hint=INSTALL_HINT) from None
            raw = match.group(1)
        numbers = tuple(int(n) for n in re.findall(r"\d+", raw)[:3])
        if numbers[:2] < MIN_VERSION:
            raise Unavailable(
                f"Terraform {raw} at {executable} is too old: kyeol needs >= {MIN_VERSION[0]}.{MIN_VERSION[1]} "
                "(S3-native state locking, write-only arguments)",
                hint=INSTALL_HINT,
            )
        self._version = numbers
        return raw

    def _executable(self) -> str:
        if self._version is None:
            self.version()
        return self.process.require(self.binary, hint=INSTALL_HINT)

    # -- init ------------------------------------------------------------------------------

    def init(self, root: str | os.PathLike[str], backend_config: Mapping[str, Any] | None, ctx: Any = None) -> None:
        """``terraform init`` with the given backend settings; repeated calls in a run are free."""
        root = Path(root)
        key = (str(root.resolve()), json.dumps(dict(backend_config or {}), sort_keys=True, default=str))
        with self._mutex:
            if key in self._initialised:
                return
        argv = [self._executable(), "init", "-input=false", "-no-color", "-reconfigure"]
        argv += [f"-backend-config={k}={render_backend_value(v)}" for k, v in sorted((backend_config or {}).items())]
        self._read("init", root, ctx, lambda: self._run(argv, root, ctx, mutating=False))
        with self._mutex:
            self._initialised.add(key)

    # -- plan / apply ----------------------------------------------------------------------

    def plan(
        self,
        root: str | os.PathLike[str],
        ctx: Any = None,
        variables: Mapping[str, Any] | None = None,
        targets: Sequence[str] = (),
        *,
        destroy: bool = False,
    ) -> TerraformPlan:
        """Plan to a saved file and summarise it. Read-only, so it runs in a dry-run too.

        A dry-run plans without taking the state lock: it must not write anything anywhere.
        ``destroy`` plans the removal of everything in the state (``plan -destroy``); applying
        that saved plan is ``terraform destroy``, shown first exactly like any other change.
        """
        root = Path(root)
        workdir = Path(private_dir("tf"))  # a later run sweeps it if this one is killed
        plan_file = workdir / "plan.tfplan"
        argv = [self._executable(), "plan", "-input=false", "-no-color", "-detailed-exitcode", f"-out={plan_file}"]
        if destroy:
            argv.append("-destroy")
        if getattr(ctx, "dry_run", False) or self.process.read_only:
            argv.append("-lock=false")
        else:
            argv.append(f"-lock-timeout={self.lock_timeout_s:g}s")
        if variables:
            var_file = workdir / "kyeol.tfvars.json"
            var_file.write_text(json.dumps(dict(variables), sort_keys=True, indent=2))
            argv.append(f"-var-file={var_file}")
        argv += [f"-target={t}" for t in targets]
        try:
            done = self._read("plan", root, ctx, lambda: self._run(argv, root, ctx, mutating=False), ok=(0, 2))
            plan = TerraformPlan(root=root, path=plan_file, changed=done.returncode == 2, targets=tuple(targets))
            if plan.changed:
                self._summarise(plan, ctx)
            else:
                plan.discard()
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        self._log(
            "info",
            "terraform plan",
            root=str(root),
            summary=plan.summary(),
            targets=list(targets) or None,
            destroy=destroy or None,
        )
        return plan

    def state_list(self, root: str | os.PathLike[str], ctx: Any = None) -> list[str]:
        """The resource addresses in the root's state (``state list``); [] when it holds none."""
        root = Path(root)

        def listed() -> Completed:
            return self._run(
                [self._executable(), "state", "list", "-no-color"],
                root,
                ctx,
                mutating=False,
                timeout=_SHORT_TIMEOUT_S,
                quiet=True,
            )

        done = self._read("state list", root, ctx, listed, none=lambda d: "No state file was found" in f"{d.stderr}\n{d.stdout}")
        if done.returncode != 0:
            return []
        return [line.strip() for line in done.stdout.splitlines() if line.strip()]

    def _summarise(self, plan: TerraformPlan, ctx: Any) -> None:
        assert plan.path is not None
        argv = [self._executable(), "show", "-json", "-no-color", str(plan.path)]
        done = self._read(
            "show", plan.root, ctx, lambda: self._run(argv, plan.root, ctx, mutating=False, timeout=_SHORT_TIMEOUT_S, quiet=True)
        )
        try:
            doc = json.loads(done.stdout)
        except ValueError as exc:
            raise PermanentError(f"terraform show -json printed something that is not JSON: {exc}") from exc
        for rc in doc.get("resource_changes") or []:
            actions = list((rc.get("change") or {}).get("actions") or [])
            address = rc.get("address", "?")
            if actions in (["delete", "create"], ["create", "delete"]):
                plan.replaces.append(address)
            elif actions == ["create"]:
                plan.creates.append(address)
            elif actions == ["update"]:
                plan.updates.append(address)
            elif actions == ["delete"]:
                plan.deletes.append(address)
        for name, change in (doc.get("output_changes") or {}).items():
            actions = list(change.get("actions") or [])
            if actions and actions != ["no-op"]:
                plan.output_changes[name] = "replace" if len(actions) > 1 else actions[0]

    def apply(self, root: str | os.PathLike[str], plan: TerraformPlan, ctx: Any = None) -> bool:
        """Apply exactly the saved ``plan``. Returns False (and runs nothing) when it changes nothing."""
        root = Path(root)
        if not plan.changed or plan.path is None:
            self._log("info", "terraform apply skipped: the plan has no changes", root=str(root))
            return False
        argv = [
            self._executable(),
            "apply",
            "-json",
            "-input=false",
            "-no-color",
            f"-lock-timeout={self.lock_timeout_s:g}s",
            str(plan.path),
        ]
        watch = ApplyProgress(
            getattr(ctx, "waiting_for", None),
            getattr(ctx, "changed", None),
            secret=lambda value: self._secret(value, ctx),
            log=self._log,
        )
        try:
            # quiet: per the machine-readable UI docs the `outputs` message may carry sensitive
            # values in clear text (1.11 leaves them out), so the raw lines are never logged;
            # ApplyProgress logs each message's text after registering such values for redaction.
            done = self._run(argv, root, ctx, mutating=True, on_line=watch.line, quiet=not self.process.dry_run)
        finally:
            plan.discard()
        if done.skipped_dry_run:
            return False
        if done.returncode != 0:
            raise self._failure("apply", root, as_text(done))
        self._log("info", "terraform apply done", root=str(root))
        return True

    def force_unlock(self, root: str | os.PathLike[str], lock_id: str, ctx: Any = None) -> None:
        """Release the state lock ``lock_id`` of ``root`` (``force-unlock -force``).

        Only for a lock whose holder is provably gone (:attr:`StateLocked.holder_gone`): taking
        a live run's lock away corrupts the state.
        """
        root = Path(root)
        done = self._run([self._executable(), "force-unlock", "-force", "-no-color", lock_id], root, ctx, mutating=True)
        if done.skipped_dry_run:
            return
        if done.returncode != 0:
            raise self._failure("force-unlock", root, done)
        self._log("warning", "terraform state lock released", root=str(root), lock_id=lock_id)

    # -- outputs ---------------------------------------------------------------------------

    def output(self, root: str | os.PathLike[str], ctx: Any = None) -> Outputs:
        """The root's outputs. Sensitive ones are left out (and registered for redaction)."""
        root = Path(root)
        argv = [self._executable(), "output", "-json", "-no-color"]
        done = self._read(
            "output", root, ctx, lambda: self._run(argv, root, ctx, mutating=False, timeout=_SHORT_TIMEOUT_S, quiet=True)
        )
        try:
            raw = json.loads(done.stdout or "{}")
        except ValueError as exc:
            raise PermanentError(f"terraform output -json in {root} printed something that is not JSON: {exc}") from exc
        values: dict[str, Any] = {}
        sensitive: list[str] = []
        for name, item in sorted(raw.items()):
            if item.get("sensitive"):
                sensitive.append(name)
                for secret in _strings(item.get("value")):
                    self._secret(secret, ctx)
                continue
            values[name] = item.get("value")
        if sensitive:
            self._log("info", "sensitive outputs not recorded", root=str(root), outputs=sensitive)
        return Outputs(values, sensitive)

    # -- plumbing --------------------------------------------------------------------------

    def _run(
        self,
        argv: list[str],
        root: Path,
        ctx: Any,
        *,
        mutating: bool,
        timeout: float | None = None,
        quiet: bool = False,
        on_line: Any = None,
    ) -> Completed:
        """Run one terraform command in ``root``.

        ``quiet`` commands (``show -json``, ``output -json``) print sensitive values in clear
        text, before kyeol knows which to redact: their output is parsed, never logged.
        """
        if not root.is_dir():
            raise PermanentError(f"Terraform root {root} does not exist", hint="check paths.infra_repo in kyeol.toml")
        runner = self.process
        if quiet:
            self._log("debug", "run", command=" ".join(argv), cwd=str(root), output="not logged (may hold secrets)")
            runner = self.process.quiet()
        return runner.run(
            argv,
            timeout=timeout or self.default_timeout_s,
            cwd=root,
            env=AUTOMATION_ENV,
            mutating=mutating,
            check=False,
            ctx=ctx,
            on_line=on_line,
        )

    def _read(
        self,
        command: str,
        root: Path,
        ctx: Any,
        run: Callable[[], Completed],
        *,
        ok: tuple[int, ...] = (0,),
        none: Callable[[Completed], bool] | None = None,
    ) -> Completed:
        """Run a read-only command, again in place while it fails transiently.

        ``ok``: the exit codes that are answers; ``none(done)``: a failure that is an answer
        too (returned as it is). Anything else raises :meth:`_failure` — at once when the
        classifier does not call it transient (a permanent error fails at once), after the
        read-retry budget (or the step's deadline, or a stop) when it does.
        """

        def attempt() -> Completed:
            done = run()
            if done.returncode in ok or (none is not None and none(done)):
                return done
            raise self._failure(command, root, done)

        def on_retry(number: int, reason: str, exc: BaseException, delay: float) -> None:
            self._log(
                "warning",
                "terraform command failed transiently; retrying it",
                terraform=command,
                root=str(root),
                attempt=number,
                reason=reason,
                delay_s=round(delay, 2),
                error=str(exc)[:300],
            )

        return call_within_step(
            attempt,
            policy=self.read_retry,
            classifier=self._classifier,
            ctx=ctx,
            on_retry=on_retry,
            what=f"terraform {command} in {root}",
        )

    def _failure(self, command: str, root: Path, done: Completed) -> Exception:
        """The right error for a failed command: lock held, offline, or Terraform's diagnostics."""
        text = f"{done.stderr}\n{done.stdout}"
        errors = error_diagnostics(done.stderr) or error_diagnostics(done.stdout)
        if _LOCK_ERROR in text:
            lock = parse_lock_info(text)
            if lock is not None:
                return StateLocked(str(root), lock, self.lock_timeout_s, holder_gone=holder_gone(lock, root))
        detail = "; ".join(errors) or _tail(done)
        if _OFFLINE.search(text):
            if "provider packages" in text or "registry.terraform.io" in text:
                # The full registry error is long and says one thing: providers cannot be downloaded.
                return Unavailable(
                    f"terraform {command} in {root} could not download its providers (no access to the Terraform registry)",
                    hint="run with network access to registry.terraform.io, or configure a provider mirror",
                )
            return Unavailable(
                f"terraform {command} in {root} could not reach AWS or the Terraform registry: {detail}",
                hint="check AWS credentials (AWS_PROFILE) and network access, then run again",
            )
        return TerraformError(
            f"terraform {command} failed in {root} (exit {done.returncode}): {detail}",
            done,
            errors,
            hint=f"read the Terraform error above; the full output is in the log (terraform {command}, {root})",
        )

    def _secret(self, value: str, ctx: Any) -> None:
        if ctx is not None and hasattr(ctx, "secret"):
            ctx.secret(value)
        self.process.redactor.add(value)

    def _log(self, level: str, event: str, **kw: Any) -> None:
        if self.log is not None:
            getattr(self.log, level)(event, **kw)


class ApplyProgress:
    """What ``terraform apply -json`` is doing, for the step's "waiting for" column.

    Terraform's machine-readable UI (hashicorp/terraform@v1.11, internal/command/views/json/hook.go
    and website/docs/internals/machine-readable-ui.mdx) streams one JSON message per line:
    ``apply_start`` when a resource operation begins, ``apply_progress`` every ten seconds while it
    runs (``hook.elapsed_seconds``), ``apply_complete``/``apply_errored`` when it ends; each names
    ``hook.resource.addr`` and ``hook.action`` (create, update, delete, replace, …). The oldest
    operation still running is shown, with its elapsed time and how many others run beside it.
    """

    VERBS: ClassVar[dict[str, str]] = {
        "create": "creating",
        "update": "updating",
        "delete": "destroying",
        "replace": "replacing",
        "read": "reading",
        "noop": "checking",
    }

    def __init__(self, report: Any, changed: Any = None, *, secret: Any = None, log: Any = None) -> None:
        self._report = report
        self._changed = changed  # told of every resource operation that completed
        self._secret = secret  # registers a sensitive output value for redaction
        self._log = log
        self._running: dict[str, tuple[str, float]] = {}  # addr -> (action, elapsed seconds)

    def line(self, text: str) -> None:
        message = _json_message(text)
        if message is None:
            if self._log is not None and text.strip():
                self._log("debug", text, program="terraform")
            return
        kind = str(message.get("type", ""))
        if kind == "outputs":
            for item in (message.get("outputs") or {}).values():
                if isinstance(item, dict) and item.get("sensitive") and self._secret is not None:
                    for value in _strings(item.get("value")):
                        self._secret(value)
        if self._log is not None and message.get("@message"):
            self._log("debug", str(message["@message"]), program="terraform", type=kind)
        hook = message.get("hook")
        if not kind.startswith("apply_") or not isinstance(hook, dict):
            return
        addr = str((hook.get("resource") or {}).get("addr") or "")
        if not addr:
            return
        if kind in ("apply_start", "apply_progress"):
            self._running[addr] = (str(hook.get("action") or ""), float(hook.get("elapsed_seconds") or 0))
        elif kind in ("apply_complete", "apply_errored"):
            self._running.pop(addr, None)
            if kind == "apply_complete" and self._changed is not None:
                action = str(hook.get("action") or "")
                self._changed(action, addr, f"{int(float(hook.get('elapsed_seconds') or 0))}s")
        if self._report is not None:
            self._report(self.describe())

    def describe(self) -> str:
        if not self._running:
            return "terraform apply"
        addr, (action, elapsed) = next(iter(self._running.items()))
        verb = self.VERBS.get(action, action or "applying")
        others = len(self._running) - 1
        took = f" ({int(elapsed)}s)" if elapsed >= 1 else ""
        return f"{verb} {addr}{took}" + (f" +{others} more" if others else "")


def as_text(done: Completed) -> Completed:
    """A ``-json`` run's output as Terraform's human text (``Error: summary`` then the detail),
    so the diagnostics and lock parsers read both forms. Lines that are not JSON stay as they are."""
    lines: list[str] = []
    for line in done.stdout.splitlines():
        message = _json_message(line)
        if message is None:
            lines.append(line)
            continue
        diag = message.get("diagnostic")
        if isinstance(diag, dict):
            head = "Error" if diag.get("severity") == "error" else "Warning"
            lines += ["", f"{head}: {diag.get('summary', '')}", ""]
            lines += [f"{line_}" for line_ in str(diag.get("detail") or "").splitlines()]
        elif message.get("@message"):
            lines.append(str(message["@message"]))
    return dataclasses.replace(done, stdout="\n".join(lines))


def _json_message(line: str) -> dict[str, Any] | None:
    """One line of Terraform's ``-json`` output as its message; None for any other line."""
    try:
        message = json.loads(line) if line.startswith("{") else None
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


def _lock_timeout(environ: Mapping[str, str]) -> float:
    """How long to wait for a state lock: ``KYEOL_TF_LOCK_TIMEOUT`` seconds, else 5 minutes."""
    raw = environ.get(LOCK_TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_LOCK_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:
        raise UsageError(
            f"{LOCK_TIMEOUT_ENV}={raw!r} is not a number of seconds between 0 and 3600",
            hint=f"unset {LOCK_TIMEOUT_ENV} to wait the default {DEFAULT_LOCK_TIMEOUT_S:g}s",
        )
    return value


def render_backend_value(value: Any) -> str:
    """A ``-backend-config=key=value`` value: scalars as text, maps/lists as HCL expressions.

    Terraform parses the value of a non-primitive backend attribute (e.g. ``endpoints``) as
    an HCL expression; JSON strings are valid HCL strings.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    return _hcl(value)


def _hcl(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{k}={_hcl(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_hcl(v) for v in value) + "]"
    raise TypeError(f"cannot pass {type(value).__name__} as a backend setting")


def error_diagnostics(text: str) -> list[str]:
    """Terraform's ``Error:`` diagnostics, each folded onto one line (source excerpts left out)."""
    blocks: list[list[str]] = []
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("Error: "):
            current = [line[len("Error: ") :].strip()]
            blocks.append(current)
        elif line.startswith("Warning: "):
            current = None
        elif current is not None:
            stripped = line.strip()
            # "  with x," / "  on main.tf line 4, in …:" / "   4:   provisioner …" point at source.
            if not stripped or line.startswith(("  with ", "  on ")) or re.match(r"^\s+\d+:", line):
                continue
            if stripped.startswith("(and ") and "more similar" in stripped:
                continue
            current.append(stripped)
    result = []
    for block in blocks:
        head, rest = block[0], " ".join(block[1:])
        result.append(f"{head}: {rest}" if rest else head)
    return result


def parse_lock_info(text: str) -> LockInfo | None:
    """The "Lock Info:" block of a lock error, or None when there is none."""
    fields: dict[str, str] = {}
    in_block = False
    for line in text.splitlines():
        if line.strip() == "Lock Info:":
            in_block = True
            continue
        if in_block:
            match = _LOCK_FIELD.match(line)
            if not match:
                if fields:
                    break
                continue
            fields[match.group(1).lower()] = match.group(2).strip()
    if not fields.get("id"):
        return None
    return LockInfo(
        id=fields["id"],
        path=fields.get("path", ""),
        operation=fields.get("operation", ""),
        who=fields.get("who", ""),
        version=fields.get("version", ""),
        created=fields.get("created", ""),
    )


def holder_gone(lock: LockInfo, root: Path, *, proc: Path = Path("/proc")) -> str:
    """Why the lock's holder is known to be gone, or '' when it may still be running.

    Only a holder on this machine can be checked: it is gone when no terraform process
    works in the same root. A holder elsewhere is never assumed gone.
    """
    if not lock.host or lock.host != socket.gethostname() or not proc.is_dir():
        return ""
    wanted = root.resolve()
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "terraform":
                continue
            if Path(os.readlink(entry / "cwd")).resolve() == wanted:
                return ""
        except OSError:
            continue
    return f"no terraform process on {lock.host} works in {root}"


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


def _tail(done: Completed) -> str:
    lines = (done.stderr or done.stdout).strip().splitlines()
    return " ".join(line.strip() for line in lines[-10:] if line.strip()) or f"exit code {done.returncode}"
