"""KYEOL as a runbook project: wires configuration, adapters, steps, state and guards
into what :mod:`runbook.cli` needs for one invocation."""

from __future__ import annotations

import json
import os
import shutil
import sys
from typing import Any, Sequence

from runbook import __version__
from runbook.cli import Invocation
from runbook.clock import Clock
from runbook.errors import EXIT_OK, EXIT_STEP_FAILED, Unavailable, UsageError
from runbook.redact import Redactor
from runbook.step import Step
from steps.config import load_config
from steps.project import DESTROY_PHASES, PHASES, build_destroy_steps, build_steps, check_identity, confirm_protected
from steps.services import Services, redactor_for_kyeol

# The programs the phases run, which phases run them, and how a user names another binary.
# (runbook §5: Terraform for the infrastructure, helm for Argo CD, kubectl's kustomize for the
# GitOps trees.) Checked before a real run touches anything; a dry-run only notes them.
TOOLS: tuple[tuple[str, str | None, frozenset[int]], ...] = (
    ("terraform", "KYEOL_TERRAFORM", frozenset({1, 2, 3, 12})),  # 12: the env's terraform destroy
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


def open_store(location: str, *, region: str | None = None, endpoint_url: str | None = None) -> Any:
    """The checkpoint store: a local file, or ``s3://bucket/key`` (the bootstrap bucket).

    The tool name is given, not looked up: finding it from the installed distributions costs
    tens of milliseconds on every load, which `kyeol status` would pay each time.
    """
    if location.startswith("s3://"):
        from steps.adapters.s3_state import S3StateStore

        bucket, _, key = location[len("s3://") :].partition("/")
        if not bucket or not key:
            raise UsageError(f"{location!r} is not s3://bucket/key", hint="e.g. s3://jung-kyeol-tfstate-123456789012/kyeol/state.json")
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
        self.services = Services(self.config, dry_run=inv.dry_run, log=self.log, redactor=self.redactor, clock=self.clock)
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
        from runbook.retry import Classifier
        from steps import errors_catalog

        classifier = Classifier()
        errors_catalog.register(classifier)
        return classifier

    def preflight(self, steps: Sequence[Step], *, dry_run: bool) -> dict[str, Any]:
        """Tools, then the AWS identity, for the selected steps; a real run stops on either.

        A dry-run goes on and returns what it could not check as ``notes``.
        """
        notes: list[str] = []
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

    def confirm(self) -> None:
        env = self.inv.env or ""
        protected = self.config.env(env).protected if env in self.config.envs else False
        if protected and self.inv.command == "destroy":
            # Refused whatever is confirmed: say why at once instead of asking for a name first.
            from steps.phase_destroy import refuse_protected

            refuse_protected(self.config.env(env))
        confirm_protected(
            env,
            protected,
            self.inv.confirm_env,
            interactive=sys.stdin.isatty(),
            prompt=_prompt,
        )

    def phase_titles(self) -> dict[int, str]:
        return {**PHASES, **DESTROY_PHASES}


def _prompt(text: str) -> str:
    import typer

    return typer.prompt(text)


class KyeolProject:
    """The :class:`runbook.cli.Project` for KYEOL."""

    name = "kyeol"
    version = __version__

    def open(self, inv: Invocation) -> KyeolSession:
        return KyeolSession(inv)

    def store_for(self, location: str) -> Any:
        return open_store(location)

    def last_run(self, location: str) -> dict[str, Any] | None:
        doc = self.store_for(location).load()
        return doc.get("last_run")

    def verify(self, env: str, *, output: str, config: str | None, log_format: str) -> int:
        """`kyeol verify`: the phase 9 chain on its own, as a table or JSON."""
        from steps.adapters.https import as_json, format_table, summary
        from steps.phase9_verify import run_chain

        session = KyeolSession(Invocation(command="verify", env=env, log_format=log_format, extra={"config": config}))
        results = run_chain(session.services, session.config.env(env))
        payload = as_json(env, results)
        failed = not payload["ok"]
        if output == "json":
            print(json.dumps(payload, indent=2))
        else:
            print(format_table(results))
            verdict = "verified" if not failed else "FAILED at " + ", ".join(payload["failed_links"])
            print(f"\n{env}: {verdict}")
            if failed:
                print(f"failed: {summary(results)}", file=sys.stderr)
        return EXIT_OK if not failed else EXIT_STEP_FAILED

    def verify_security(self, env: str, *, output: str, config: str | None, log_format: str, runs_dir: str) -> int:
        """`kyeol verify --security`: read-only evidence of the account baseline (trail, GuardDuty,
        Config, account PAB, EBS default encryption) as the same PASS/FAIL table, written to the
        run report too, so an operator can hand it to an auditor."""
        from datetime import datetime, timezone
        from pathlib import Path

        from runbook.cli import new_run_id
        from runbook.report import build_report, write_report
        from steps.adapters.security import run_checks, security_payload, security_table

        session = KyeolSession(Invocation(command="verify", env=env, log_format=log_format, extra={"config": config}))
        account = session.config.env(env).account_id
        aws = session.services.aws()
        started = datetime.now(timezone.utc)
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
        finished = datetime.now(timezone.utc)
        report = build_report(
            {"run_id": new_run_id(), "command": "verify --security", "env": env, "dry_run": False,
             "status": "failed" if failed else "ok", "exit_code": EXIT_STEP_FAILED if failed else EXIT_OK,
             "started_at": started.isoformat(timespec="milliseconds"), "finished_at": finished.isoformat(timespec="milliseconds"),
             "duration_s": round((finished - started).total_seconds(), 3)},
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
