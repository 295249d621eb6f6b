"""The `kyeol` command line: Typer commands that parse options and hand them to the
generic command layer in :mod:`runbook.cli`. Heavy imports (boto3, kubernetes) happen
only inside the commands that need them, so `kyeol --help` and `kyeol status` start fast.
"""

from __future__ import annotations

import enum
import sys
from typing import Annotated, Any, Optional, Sequence

import typer

from runbook import cli as core
from runbook.errors import EXIT_USAGE, UsageError

app = typer.Typer(
    name="kyeol",
    help="Runbook-as-code for KYEOL's Saleor platform on AWS: the nine-phase V2 runbook, "
    "checkpointed, resumable and verified.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class Env(str, enum.Enum):
    dev = "dev"
    stage = "stage"
    prod = "prod"


class LogFormat(str, enum.Enum):
    auto = "auto"
    json = "json"
    console = "console"


class StepsFormat(str, enum.Enum):
    text = "text"
    mermaid = "mermaid"
    json = "json"


class Output(str, enum.Enum):
    table = "table"
    json = "json"


class StatusFormat(str, enum.Enum):
    text = "text"
    json = "json"


EnvOpt = Annotated[Env, typer.Option("--env", "-e", help="Target environment (runbook §1).")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Plan every step; mutate nothing anywhere.")]
DetailedOpt = Annotated[
    bool, typer.Option("--detailed-exitcode", help="With --dry-run: exit 4 when changes are pending.")
]
ParallelOpt = Annotated[int, typer.Option("--parallelism", min=1, max=32, help="Steps run at the same time.")]
OnlyOpt = Annotated[Optional[list[str]], typer.Option("--only", help="Run only this step (repeatable).")]
FromOpt = Annotated[Optional[str], typer.Option("--from", help="Start at this step (runbook order).")]
ToOpt = Annotated[Optional[str], typer.Option("--to", help="Stop after this step (runbook order).")]
StateOpt = Annotated[
    str,
    typer.Option("--state", envvar="KYEOL_STATE", help="Checkpoint file, or s3://bucket/key for the shared S3 state."),
]
LogOpt = Annotated[LogFormat, typer.Option("--log-format", help="JSON when not a TTY or in CI.")]
ConfigOpt = Annotated[
    Optional[str], typer.Option("--config", envvar="KYEOL_CONFIG", help="Configuration file (default kyeol.toml).")
]
InfraOpt = Annotated[Optional[str], typer.Option("--infra-repo", help="kyeol-infra-terraform location.")]
PlatformOpt = Annotated[Optional[str], typer.Option("--platform-repo", help="kyeol-platform-gitops location.")]
AppOpt = Annotated[Optional[str], typer.Option("--app-repo", help="kyeol-app-gitops location.")]
ConfirmOpt = Annotated[
    Optional[str], typer.Option("--confirm-env", help="Confirm a protected environment by name (prod).")
]
RunsOpt = Annotated[str, typer.Option("--runs-dir", envvar="KYEOL_RUNS_DIR", help="Where run reports are kept.")]


def _exit(code: int) -> None:
    raise typer.Exit(code)


def _invocation(command: str, env: Optional[str], **kw: Any) -> core.Invocation:
    return core.Invocation(command=command, env=env, **kw)


@app.command()
def deploy(
    env: EnvOpt,
    dry_run: DryRunOpt = False,
    detailed_exitcode: DetailedOpt = False,
    parallelism: ParallelOpt = 4,
    only: OnlyOpt = None,
    from_: FromOpt = None,
    to: ToOpt = None,
    state: StateOpt = "state.json",
    log_format: LogOpt = LogFormat.auto,
    confirm_env: ConfirmOpt = None,
    config: ConfigOpt = None,
    infra_repo: InfraOpt = None,
    platform_repo: PlatformOpt = None,
    app_repo: AppOpt = None,
    runs_dir: RunsOpt = ".kyeol/runs",
) -> None:
    """Run the runbook for an environment (shared MGMT steps included)."""
    inv = _invocation(
        "deploy",
        env.value,
        dry_run=dry_run,
        detailed_exitcode=detailed_exitcode,
        parallelism=parallelism,
        only=tuple(only or ()),
        from_=from_,
        to=to,
        state=state,
        log_format=log_format.value,
        confirm_env=confirm_env,
        runs_dir=runs_dir,
        extra=dict(config=config, infra_repo=infra_repo, platform_repo=platform_repo, app_repo=app_repo),
    )
    _exit(core.guarded(lambda: core.run(_project(), inv)))


@app.command()
def destroy(
    env: EnvOpt,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be deleted; delete nothing.")] = False,
    detailed_exitcode: DetailedOpt = False,
    only: OnlyOpt = None,
    from_: FromOpt = None,
    to: ToOpt = None,
    state: StateOpt = "state.json",
    log_format: LogOpt = LogFormat.auto,
    confirm_env: ConfirmOpt = None,
    config: ConfigOpt = None,
    infra_repo: InfraOpt = None,
    runs_dir: RunsOpt = ".kyeol/runs",
) -> None:
    """Tear down ONE environment, the deploy in reverse: drain (delete its Saleor and add-on
    Applications on MGMT's Argo CD, wait until no load balancer or target group tagged with its
    cluster is left), deregister its cluster from Argo CD, terraform destroy of envs/<env>.

    The shared MGMT cluster, ECR images, Argo CD, global (us-east-1) and bootstrap (state bucket)
    are never destroyed: they serve every environment. prod is refused: its PG-NAT Elastic IP
    has prevent_destroy. Afterwards `kyeol deploy --env E` builds the environment again.
    """
    inv = _invocation(
        "destroy",
        env.value,
        dry_run=dry_run,
        detailed_exitcode=detailed_exitcode,
        parallelism=1,  # the three steps run one after another
        only=tuple(only or ()),
        from_=from_,
        to=to,
        state=state,
        log_format=log_format.value,
        confirm_env=confirm_env,
        runs_dir=runs_dir,
        extra=dict(config=config, infra_repo=infra_repo),
    )
    _exit(core.guarded(lambda: core.run(_project(), inv)))


@app.command()
def resume(
    parallelism: ParallelOpt = 4,
    state: StateOpt = "state.json",
    log_format: LogOpt = LogFormat.auto,
    confirm_env: ConfirmOpt = None,
    config: ConfigOpt = None,
    infra_repo: InfraOpt = None,
    platform_repo: PlatformOpt = None,
    app_repo: AppOpt = None,
    runs_dir: RunsOpt = ".kyeol/runs",
) -> None:
    """Continue the last run (a deploy or a destroy) from its checkpoint; steps a crash left running are re-checked."""

    def body() -> int:
        last = _project().last_run(state)
        if not last or not last.get("env"):
            raise UsageError(
                f"nothing to resume: {state} records no earlier run",
                hint="start one with `kyeol deploy --env dev`",
            )
        selection = last.get("selection") or {}
        # An interrupted `kyeol destroy` goes on destroying (and stays "destroy" for the next resume).
        command = "destroy" if last.get("command") == "destroy" else "resume"
        inv = _invocation(
            command,
            last["env"],
            only=tuple(selection.get("only") or ()),
            from_=selection.get("from"),
            to=selection.get("to"),
            parallelism=parallelism,
            state=state,
            log_format=log_format.value,
            confirm_env=confirm_env,
            runs_dir=runs_dir,
            extra=dict(config=config, infra_repo=infra_repo, platform_repo=platform_repo, app_repo=app_repo),
        )
        return core.run(_project(), inv)

    _exit(core.guarded(body))


@app.command()
def verify(
    env: EnvOpt,
    output: Annotated[Output, typer.Option("--output", "-o", help="table on a TTY, or json.")] = Output.table,
    config: ConfigOpt = None,
    log_format: LogOpt = LogFormat.auto,
    security: Annotated[bool, typer.Option(
        "--security", help="Check the env's account baseline instead (trail, GuardDuty, Config, S3 PAB, EBS encryption); "
        "read-only, recorded in a run report.")] = False,
    runs_dir: RunsOpt = ".kyeol/runs",
) -> None:
    """Prove the environment works: DNS → TLS → edge → HTTP → HSTS; exit 1 naming the failed link.
    With --security: prove the account's audit controls are on; exit 1 naming the failed control."""

    def body() -> int:
        if security:
            return _project().verify_security(env.value, output=output.value, config=config, log_format=log_format.value,
                                              runs_dir=runs_dir)
        return _project().verify(env.value, output=output.value, config=config, log_format=log_format.value)

    _exit(core.guarded(body))


@app.command()
def status(
    state: StateOpt = "state.json",
    format: Annotated[StatusFormat, typer.Option("--format", help="text or json.")] = StatusFormat.text,
) -> None:
    """What the checkpoint says, per step, and who holds the lock."""

    def body() -> int:
        store = _project().store_for(state)
        from steps.project import runbook_order

        return core.status(store, fmt=format.value, order=runbook_order())

    _exit(core.guarded(body))


@app.command()
def steps(
    env: Annotated[Env, typer.Option("--env", "-e", help="Environment whose steps to list.")] = Env.dev,
    format: Annotated[StepsFormat, typer.Option("--format", help="text, mermaid or json.")] = StepsFormat.text,
    config: ConfigOpt = None,
) -> None:
    """The step graph in runbook order (with the critical path)."""

    def body() -> int:
        project = _project()
        inv = _invocation("steps", env.value, dry_run=True, extra=dict(config=config))
        session = project.open(inv)
        return core.show_steps(session.steps(), fmt=format.value, titles=session.phase_titles())

    _exit(core.guarded(body))


@app.command()
def unlock(
    force: Annotated[bool, typer.Option("--force", help="Remove the lock even if its holder may be alive.")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    state: StateOpt = "state.json",
) -> None:
    """Remove a lock left by a run that is gone."""

    def body() -> int:
        from runbook.logs import configure_logging
        from runbook.redact import Redactor

        configure_logging("auto", Redactor())  # a stale lock taken over is logged as a warning
        store = _project().store_for(state)
        confirm = None
        if force and not yes:
            if not sys.stdin.isatty():
                raise UsageError("unlock --force needs confirmation", hint="add --yes when not at a terminal")
            confirm = lambda text: typer.confirm(text, default=False)  # noqa: E731
        return core.unlock(store, force=force, confirm=confirm)

    _exit(core.guarded(body))


def _project() -> Any:
    from steps.kyeol import KyeolProject

    return KyeolProject()


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Console-script entry point."""
    try:
        app(args=list(argv) if argv is not None else None, prog_name="kyeol", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (EXIT_USAGE if exc.code else 0)
        sys.exit(code)


if __name__ == "__main__":
    main()
