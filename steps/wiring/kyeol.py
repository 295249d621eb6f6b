"""KYEOL as a runbook project: wires configuration, adapters, steps, state and guards
into what :mod:`runbook.cli` needs for one invocation."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Sequence
from datetime import UTC
from typing import TYPE_CHECKING, Any, cast

from runbook import __version__
from runbook.cli import Invocation
from runbook.clock import Clock
from runbook.errors import EXIT_OK, EXIT_STEP_FAILED, Unavailable, UsageError
from runbook.step import Step
from steps.wiring.config import load_config
from steps.wiring.project import (
    DESTROY_PHASES,
    PHASES,
    build_destroy_steps,
    build_steps,
    check_identity,
    confirm_protected,
    split_envs,
)
from steps.wiring.services import Services, redactor_for_kyeol
from steps.wiring.summary_kinds import TERRAFORM_PHASES

if TYPE_CHECKING:
    from runbook.state import FileStateStore
    from steps.adapters.s3_state import S3StateStore

# The programs the phases run, which phases run them, and how a user names another binary.
# (runbook §5: Terraform for the infrastructure, helm for Argo CD, kubectl's kustomize for the
# GitOps trees.) Checked before a real run touches anything; a dry-run only notes them.
TOOLS: tuple[tuple[str, str | None, frozenset[int]], ...] = (
    ("terraform", "KYEOL_TERRAFORM", TERRAFORM_PHASES),
    ("helm", "KYEOL_HELM", frozenset({4})),
    ("kubectl", None, frozenset({6, 7, 8})),
)


def _install_hint(tool: str) -> str:
    if tool == "terraform":
        from steps.adapters.terraform import INSTALL_HINT

        return INSTALL_HINT
    if tool == "helm":
        from steps.adapters.helm import INSTALL_HINT as HELM_HINT

        return HELM_HINT
    return "install kubectl (https://kubernetes.io/docs/tasks/tools/) and put it on PATH"


def missing_tools(environ: dict[str, str], steps: Sequence[Step]) -> list[tuple[str, str, list[str]]]:
    """(tool, why it is not usable, the step ids that need it) for every tool the steps need but lack."""
    found: list[tuple[str, str, list[str]]] = []
    for tool, variable, phases in TOOLS:
        users = [s.id for s in steps if s.phase in phases]
        if not users:
            continue
        binary = environ.get(variable, "") if variable else ""
        if binary:
            if os.path.sep in binary:
                usable = os.path.isfile(binary) and os.access(binary, os.X_OK)
            else:
                usable = shutil.which(binary, path=environ.get("PATH")) is not None
            if not usable:
                found.append((tool, f"{variable}={binary} is not an executable file", users))
        elif shutil.which(tool, path=environ.get("PATH")) is None:
            found.append((tool, "it is not on PATH", users))
    return found


TOOL = f"kyeol {__version__}"

# S3 bucket naming rules (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html):
# 3-63 characters, lowercase letters, digits, dots and hyphens, beginning and ending with a
# letter or digit, no two adjacent dots, not formatted as an IP address.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
STATE_EXAMPLE = "s3://jung-kyeol-tfstate-123456789012/kyeol/state.json"


def _check_bucket(location: str, bucket: str) -> None:
    """Refuse a bucket name S3 would reject, before any request is made (exit 2, nothing touched)."""
    why = ""
    if not 3 <= len(bucket) <= 63:
        why = f"it has {len(bucket)} characters (3 to 63 allowed)"
    elif bucket != bucket.lower():
        why = "it has uppercase letters"
    elif not _BUCKET.match(bucket):
        why = "only lowercase letters, digits, dots and hyphens are allowed, beginning and ending with a letter or digit"
    elif ".." in bucket:
        why = "it has two adjacent dots"
    elif _IP.match(bucket):
        why = "it is formatted as an IP address"
    if why:
        raise UsageError(
            f"{location!r}: {bucket!r} is not a valid S3 bucket name: {why}",
            hint=f"use the bootstrap bucket's name, e.g. {STATE_EXAMPLE}",
        )


def open_store(location: str, *, region: str | None = None, endpoint_url: str | None = None) -> FileStateStore | S3StateStore:
    """The checkpoint store: a local file, or ``s3://bucket/key`` (the bootstrap bucket).

    The tool name is given, not looked up: finding it from the installed distributions costs
    tens of milliseconds on every load, which `kyeol status` would pay each time.
    """
    if not location.strip():
        raise UsageError("the state location is empty", hint=f"pass --state state.json (a file) or --state {STATE_EXAMPLE}")
    scheme = _SCHEME.match(location)
    if scheme and scheme.group(1) != "s3":
        raise UsageError(
            f"{location!r}: {scheme.group(1)}:// is not a state location kyeol knows",
            hint=f"the shared state is written s3://bucket/key in lowercase, e.g. {STATE_EXAMPLE}; anything else is a local file path",
        )
    if location.startswith("s3://"):
        bucket, _, key = location[len("s3://") :].partition("/")
        if not bucket or not key or key.endswith("/"):
            raise UsageError(f"{location!r} is not s3://bucket/key", hint=f"e.g. {STATE_EXAMPLE}")
        _check_bucket(location, bucket)
        from steps.adapters.s3_state import S3StateStore

        return S3StateStore(bucket, key, region=region, endpoint_url=endpoint_url, tool=TOOL)
    from runbook.state import FileStateStore

    return FileStateStore(location, tool=TOOL)


class KyeolSession:
    """One invocation's collaborators (the :class:`runbook.cli.Session` protocol)."""

    def __init__(self, inv: Invocation) -> None:
        from runbook.logs import configure_logging, get_logger

        self.inv = inv
        extra = inv.extra or {}
        self.config = load_config(
            extra.get("config"),
            infra_repo=extra.get("infra_repo"),
            platform_repo=extra.get("platform_repo"),
            app_repo=extra.get("app_repo"),
        )
        self.redactor = redactor_for_kyeol()
        self.clock = Clock()
        configure_logging(inv.log_format, self.redactor)
        self.log = get_logger(tool="kyeol")
        self.services = Services(
            self.config, dry_run=inv.dry_run, read_only=inv.read_only, log=self.log, redactor=self.redactor, clock=self.clock
        )
        self._steps: list[Step] | None = None

    def steps(self) -> list[Step]:
        if self._steps is None:
            build = build_destroy_steps if self.inv.command == "destroy" else build_steps
            self._steps = build(self.services, self.inv.env or "dev")
        return self._steps

    def store(self) -> Any:
        return open_store(
            self.inv.state,
            region=self.config.region,
            endpoint_url=self.services.environ.get("AWS_ENDPOINT_URL"),
        )

    def classifier(self) -> Any:
        from steps.wiring import errors_catalog

        return errors_catalog.classifier()

    def preflight(self, steps: Sequence[Step], *, dry_run: bool) -> dict[str, Any]:
        """Tools, then the AWS identity, for the selected steps; a real run stops on either.

        A dry-run goes on and returns what it could not check as ``notes``.
        """
        notes: list[str] = []
        self._check_trees()
        notes += self._check_accounts(steps, dry_run=dry_run)
        missing = missing_tools(self.services.environ, steps)
        if missing and not dry_run:
            raise UsageError(
                "; ".join(f"{tool} is needed by {', '.join(users)} but {why}" for tool, why, users in missing)
                + " (nothing was touched)",
                hint="; ".join(_install_hint(tool) for tool, _, _ in missing),
            )
        for tool, why, users in missing:
            notes.append(f"could not check offline: {tool} is not available ({why}); needed by {', '.join(users)}")
        try:
            identity = check_identity(self.services, steps)
        except Unavailable as exc:
            if not dry_run:
                raise
            identity = {}
            notes.append(f"could not check the AWS identity offline: {exc.message}")
        return {**identity, "notes": notes}

    def _check_trees(self) -> None:
        """The trees the command reads exist and are folders, naming where each location came from."""
        keys = ("infra_repo",) if self.inv.command == "destroy" else ("infra_repo", "platform_repo", "app_repo")
        for key in keys:
            folder = getattr(self.config.paths, key)
            source = self.config.path_sources.get(key, f"paths.{key}")
            if folder.is_dir():
                continue
            what = "is a file, not a folder" if folder.exists() else "does not exist"
            raise UsageError(
                f"{key.replace('_', '-')} {folder} {what} (from {source}); nothing was touched",
                hint=f"point {source.split(' in ')[0]} at a checkout of the tree"
                + (
                    f" (relative paths in {self.config.source.name} are relative to its folder)"
                    if source.startswith("paths.")
                    else ""
                ),
            )

    def _check_accounts(self, steps: Sequence[Step], *, dry_run: bool) -> list[str]:
        """AWS's documentation example id is a placeholder: noted in a dry-run, refused in a real
        run against AWS (a local AWS stand-in, AWS_ENDPOINT_URL, answers for it)."""
        from steps.wiring.config import PLACEHOLDER_ACCOUNT
        from steps.wiring.project import accounts_touched

        users = sorted(accounts_touched(self.config, steps).get(PLACEHOLDER_ACCOUNT, ()))
        if not users:
            return []
        # The environments whose accounts the selected steps work in (as accounts_touched reads them).
        owners = {o for s in steps for o in (getattr(s, "account_envs", None) or ("mgmt" if s.scope == "shared" else s.scope,))}
        envs = sorted(n for n in owners if n in self.config.envs and self.config.envs[n].account_id == PLACEHOLDER_ACCOUNT)
        keys = ", ".join(f"envs.{e}.account_id" for e in envs)
        what = f"{keys} in {self.config.source} still hold{'s' if len(envs) == 1 else ''} the placeholder {PLACEHOLDER_ACCOUNT}"
        if dry_run:
            return [f"{what} (AWS's documentation example id); a real run refuses it"]
        if self.services.environ.get("AWS_ENDPOINT_URL"):
            return []
        raise UsageError(
            f"refusing to run {', '.join(users)}: {what}, AWS's documentation example id; nothing was touched",
            hint=f"fill in your AWS account ids in {self.config.source}",
        )

    def confirm(self) -> None:
        """Every protected env of the run is confirmed by name before anything starts
        (``--env dev --env prod`` needs ``--confirm-env prod`` as ``--env prod`` does)."""
        for env in split_envs(self.inv.env) or ("",):
            protected = self.config.env(env).protected if env in self.config.envs else False
            if protected and self.inv.command == "destroy":
                # Refused whatever is confirmed: say why at once instead of asking for a name first.
                from steps.phases.phase_destroy import refuse_protected

                refuse_protected(self.config.env(env))
            confirm_protected(
                env,
                protected,
                self.inv.confirm_env,
                interactive=sys.stdin is not None and sys.stdin.isatty(),
                prompt=_prompt,
            )

    def phase_titles(self) -> dict[int, str]:
        return {**PHASES, **DESTROY_PHASES}

    @staticmethod
    def change_kind(step: Any, change: Any) -> str:
        """What a change is, for the summary's counts (steps.wiring.summary_kinds)."""
        from steps.wiring.summary_kinds import kind_of

        return kind_of(step, change)


def _prompt(text: str) -> str:
    """typer's prompt; Ctrl-C there is an interruption (exit 130), end of input a refusal (exit 2)."""
    import typer

    try:
        # No type and no default: click's prompt returns the typed line as a str.
        return cast(str, typer.prompt(text))
    except typer.Abort as exc:  # the prompt turns both KeyboardInterrupt and EOFError into Abort
        if isinstance(exc.__context__, KeyboardInterrupt):
            raise KeyboardInterrupt from None
        raise UsageError(
            "no confirmation was typed (end of input); nothing was touched", hint="re-run with --confirm-env prod"
        ) from None


class KyeolProject:
    """The :class:`runbook.cli.Project` for KYEOL."""

    name = "kyeol"
    version = __version__

    def open(self, inv: Invocation) -> KyeolSession:
        return KyeolSession(inv)

    def render_summary(self, report: dict[str, Any], *, config: str | None = None) -> str:
        """A stored report as the Markdown summary its run wrote (the step graph of its env
        gives the critical path; without a readable config the chart falls back on timings)."""
        from runbook.summary import render_markdown
        from steps.wiring.summary_kinds import kind_of

        needs = None
        try:
            command = "destroy" if report.get("command") == "destroy" else "steps"
            session = KyeolSession(
                Invocation(
                    command=command, env=report.get("env") or "dev", dry_run=True, log_format="json", extra={"config": config}
                )
            )
            needs = {s.id: tuple(s.needs) for s in session.steps()}
        except Exception:  # noqa: BLE001 - a report stays readable without its config
            needs = None
        return render_markdown(report, titles={**PHASES, **DESTROY_PHASES}, needs=needs, kind_of=kind_of, tool=self.name)

    def store_for(self, location: str) -> FileStateStore | S3StateStore:
        return open_store(location)

    def last_run(self, location: str) -> dict[str, Any] | None:
        doc = self.store_for(location).load()
        # load() validates the document (runbook.state.validate_document): last_run is an object or null.
        return cast("dict[str, Any] | None", doc.get("last_run"))

    def verify(self, env: str, *, output: str, config: str | None, log_format: str) -> int:
        """`kyeol verify`: the phase 9 chain on its own, as a table or JSON, for each env of
        ``env`` (one name or a ``dev,stage`` label); exit 1 names every env that failed."""
        from steps.adapters.https import as_json, format_table, summary

        envs = split_envs(env)
        session = KyeolSession(Invocation(command="verify", env=env, log_format=log_format, extra={"config": config}))
        payloads: list[dict[str, Any]] = []
        failed: list[str] = []
        for name in envs:
            from steps.phases.phase9_verify import run_chain

            results = run_chain(session.services, session.config.env(name))
            payload = as_json(name, results)
            payloads.append(payload)
            if not payload["ok"]:
                failed.append(name)
            if output != "json":
                if len(envs) > 1:
                    print(f"== {name}")
                print(format_table(results))
                verdict = "verified" if payload["ok"] else "FAILED at " + ", ".join(payload["failed_links"])
                print(f"\n{name}: {verdict}")
                if not payload["ok"]:
                    print(f"failed ({name}): {summary(results)}", file=sys.stderr)
                if len(envs) > 1 and name != envs[-1]:
                    print()
        if output == "json":
            # One env: its payload as before; several: one payload per env and which failed.
            doc: Any = payloads[0] if len(envs) == 1 else {"ok": not failed, "failed_envs": failed, "envs": payloads}
            print(json.dumps(doc, indent=2))
        elif len(envs) > 1:
            print("\n" + ("all verified: " + ", ".join(envs) if not failed else "FAILED: " + ", ".join(failed)))
        return EXIT_OK if not failed else EXIT_STEP_FAILED

    def verify_security(self, env: str, *, output: str, config: str | None, log_format: str, runs_dir: str) -> int:
        """`kyeol verify --security`: read-only evidence of the account baseline (trail, GuardDuty,
        Config, account PAB, EBS default encryption) as the same PASS/FAIL table, written to the
        run report too, so an operator can hand it to an auditor."""
        from datetime import datetime
        from pathlib import Path

        from runbook.cli import new_run_id
        from runbook.report import build_report, write_report
        from steps.adapters.security import run_checks, security_payload, security_table

        session = KyeolSession(Invocation(command="verify", env=env, log_format=log_format, extra={"config": config}))
        account = session.config.env(env).account_id
        aws = session.services.aws_for(session.config.env(env))
        started = datetime.now(UTC)
        identity = aws.caller_identity()
        if identity["Account"] != account:
            raise UsageError(
                f"refusing to check: credentials are for account {identity['Account']}, but {env} is account {account}",
                hint="switch AWS credentials (AWS_PROFILE) to the configured account, or fix the account id in "
                f"{session.config.source}",
            )
        results = run_checks(aws, account)
        payload = security_payload(account, aws.region, results)
        failed = not payload["ok"]
        finished = datetime.now(UTC)
        report = build_report(
            {
                "run_id": new_run_id(),
                "command": "verify --security",
                "env": env,
                "dry_run": False,
                "status": "failed" if failed else "ok",
                "exit_code": EXIT_STEP_FAILED if failed else EXIT_OK,
                "started_at": started.isoformat(timespec="milliseconds"),
                "finished_at": finished.isoformat(timespec="milliseconds"),
                "duration_s": round((finished - started).total_seconds(), 3),
            },
            tool=f"{self.name} {self.version}",
            identity={"account": identity["Account"], "arn": identity.get("Arn", ""), "region": aws.region},
        )
        report["security"] = payload
        path = write_report(Path(runs_dir), report, redactor=session.redactor)
        if output == "json":
            print(json.dumps({**payload, "report": str(path)}, indent=2))
        else:
            print(security_table(results))
            verdict = "baseline in force" if not failed else "FAILED: " + ", ".join(payload["failed_controls"])
            print(f"\naccount {account} ({aws.region}): {verdict}\nreport: {path}")
            if failed:
                print("failed: " + "; ".join(f"{r.control}: {r.detail}" for r in results if not r.ok), file=sys.stderr)
        return EXIT_OK if not failed else EXIT_STEP_FAILED
