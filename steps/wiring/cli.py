"""The `kyeol` command line: Typer commands that parse options and hand them to the
generic command layer in :mod:`runbook.cli`. Heavy imports (boto3, kubernetes) happen
only inside the commands that need them, so `kyeol --help` and `kyeol status` start fast.
"""

from __future__ import annotations

import signal
import sys


def _stop_before_start(signum: int, frame: object) -> None:
    """SIGTERM before the run's own handlers are in place: nothing was done yet, so
    leave at once with the interrupted exit code (130), through every ``finally``."""
    raise SystemExit(130)


# First of all (before the slow imports below): a signal in kyeol's first second must end it
# with 130, not kill it by the signal (143 in a CI step). The run replaces these handlers
# with its own (runbook.cli._Signals) and restores them afterwards.
# (Ctrl-C already raises KeyboardInterrupt from the start, which the commands turn into 130.)
try:
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _stop_before_start)
except ValueError:  # imported outside the main thread
    pass

import enum
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from runbook import cli as core
from runbook.errors import EXIT_INTERRUPTED, EXIT_USAGE, UsageError

if TYPE_CHECKING:
    from steps.wiring.kyeol import KyeolProject

app = typer.Typer(
    name="kyeol",
    help="Runbook-as-code for KYEOL's Saleor platform on AWS: the nine-phase V2 runbook, checkpointed, resumable and verified.",
    add_completion=True,  # --install-completion / --show-completion (typer's shell completion)
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from runbook import __version__

        typer.echo(f"kyeol {__version__}")
        raise typer.Exit(0)


@app.callback(invoke_without_command=True)
def _main(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Runbook-as-code for KYEOL's Saleor platform on AWS: the nine-phase V2 runbook, checkpointed,
    resumable and verified."""
    if ctx.invoked_subcommand is None:  # `kyeol` alone: the help, and success (git, terraform do the same)
        typer.echo(ctx.get_help())
        raise typer.Exit(0)


def _complete_step(incomplete: str) -> list[str]:
    """Shell completion of step ids (every environment's, runbook order)."""
    from steps.wiring.project import runbook_order

    return [sid for sid in runbook_order() if sid.startswith(incomplete)]


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


class ReportFormat(str, enum.Enum):
    markdown = "markdown"
    json = "json"


class StatusFormat(str, enum.Enum):
    text = "text"
    json = "json"


EnvOpt = Annotated[Env, typer.Option("--env", "-e", help="Target environment (runbook §1).")]
# Repeatable: `--env dev --env stage` (or `--env all`) is one run over several environments.
EnvsOpt = Annotated[
    list[str],
    typer.Option(
        "--env",
        "-e",
        metavar="ENV",
        help="Target environment: dev, stage or prod (runbook §1); repeat it, or pass all, for several in one run.",
    ),
]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Plan every step; mutate nothing anywhere.")]
DetailedOpt = Annotated[bool, typer.Option("--detailed-exitcode", help="With --dry-run: exit 4 when changes are pending.")]
AutoParallelOpt = Annotated[
    int | None,
    typer.Option(
        "--parallelism", min=1, max=32, metavar="N", help="Steps run at the same time (default 4; 2 per env for several envs)."
    ),
]
# deploy/resume: by default 4, and 2 per env beyond that (--env all: 6), which is what the whole
# platform needs to reach its critical path (benchmarks/README.md, "The whole platform").


def default_parallelism(label: str) -> int:
    return max(4, 2 * len([e for e in label.split(",") if e]))


_STEP_HELP = "step ids: `kyeol steps --env E` lists them (e.g. bootstrap, mgmt.infra, dev.infra); the shell completes them"
OnlyOpt = Annotated[
    list[str] | None,
    typer.Option("--only", metavar="STEP", autocompletion=_complete_step, help=f"Run only this step (repeatable; {_STEP_HELP})."),
]
FromOpt = Annotated[
    str | None,
    typer.Option("--from", metavar="STEP", autocompletion=_complete_step, help="Start at this step (runbook order)."),
]
ToOpt = Annotated[
    str | None,
    typer.Option("--to", metavar="STEP", autocompletion=_complete_step, help="Stop after this step (runbook order)."),
]
StateOpt = Annotated[
    str,
    typer.Option(
        "--state", envvar="KYEOL_STATE", metavar="PATH", help="Checkpoint file, or s3://bucket/key for the shared S3 state."
    ),
]
LogOpt = Annotated[LogFormat, typer.Option("--log-format", help="JSON when not a TTY or in CI.")]
ConfigOpt = Annotated[
    str | None, typer.Option("--config", envvar="KYEOL_CONFIG", metavar="PATH", help="Configuration file (default kyeol.toml).")
]
InfraOpt = Annotated[str | None, typer.Option("--infra-repo", metavar="DIR", help="kyeol-infra-terraform location.")]
PlatformOpt = Annotated[str | None, typer.Option("--platform-repo", metavar="DIR", help="kyeol-platform-gitops location.")]
AppOpt = Annotated[str | None, typer.Option("--app-repo", metavar="DIR", help="kyeol-app-gitops location.")]
ConfirmOpt = Annotated[
    str | None, typer.Option("--confirm-env", metavar="ENV", help="Confirm a protected environment by name (prod).")
]
RunsOpt = Annotated[str, typer.Option("--runs-dir", envvar="KYEOL_RUNS_DIR", metavar="DIR", help="Where run reports are kept.")]
ReadOnlyOpt = Annotated[
    bool,
    typer.Option("--read-only", help="A dry-run that takes no lock, plans with -lock=false and refuses any write (CI plans)."),
]
SummaryOpt = Annotated[
    str | None,
    typer.Option(
        "--summary", metavar="PATH", help="Write a Markdown summary here (in GitHub Actions: $GITHUB_STEP_SUMMARY by default)."
    ),
]


def _exit(code: int) -> None:
    raise typer.Exit(code)


def _envs(values: Sequence[str], *, one_for: str | None = None) -> str:
    """The repeated --env values as one run's label (``dev,stage``). Bad input (an env named
    twice, ``all`` beside names, several for a command that takes one) exits 2 here, before any
    configuration, state or credential is read."""
    from steps.wiring.project import env_label, parse_envs

    parsed: list[str] = []

    def parse() -> int:
        envs = parse_envs(values)
        if one_for and len(envs) > 1:
            raise UsageError(
                f"kyeol {one_for} takes one environment at a time, not {', '.join(envs)}",
                hint=f"run kyeol {one_for} --env E once per environment",
            )
        parsed.append(env_label(envs))
        return 0

    code = core.guarded(parse)
    if not parsed:
        raise typer.Exit(code)
    return parsed[0]


def _invocation(command: str, env: str | None, **kw: Any) -> core.Invocation:
    return core.Invocation(command=command, env=env, **kw)


@app.command()
def deploy(
    env: EnvsOpt,
    dry_run: DryRunOpt = False,
    detailed_exitcode: DetailedOpt = False,
    parallelism: AutoParallelOpt = None,
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
    read_only: ReadOnlyOpt = False,
    summary: SummaryOpt = None,
) -> None:
    """Run the runbook for one or more environments (shared MGMT steps once, the envs side by side)."""
    label = _envs(env)
    inv = _invocation(
        "deploy",
        label,
        dry_run=dry_run,  # --read-only implies it (Invocation)
        read_only=read_only,
        summary=summary,
        detailed_exitcode=detailed_exitcode,
        parallelism=parallelism or default_parallelism(label),
        only=tuple(only or ()),
        from_=from_,
        to=to,
        state=state,
        log_format=log_format.value,
        confirm_env=confirm_env,
        runs_dir=runs_dir,
        extra={"config": config, "infra_repo": infra_repo, "platform_repo": platform_repo, "app_repo": app_repo},
    )
    _exit(core.guarded(lambda: core.run(_project(), inv)))


@app.command()
def destroy(
    env: EnvsOpt,
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
    summary: SummaryOpt = None,
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
        _envs(env, one_for="destroy"),
        dry_run=dry_run,
        summary=summary,
        detailed_exitcode=detailed_exitcode,
        parallelism=1,  # the three steps run one after another
        only=tuple(only or ()),
        from_=from_,
        to=to,
        state=state,
        log_format=log_format.value,
        confirm_env=confirm_env,
        runs_dir=runs_dir,
        extra={"config": config, "infra_repo": infra_repo},
    )
    _exit(core.guarded(lambda: core.run(_project(), inv)))


@app.command()
def resume(
    parallelism: AutoParallelOpt = None,
    state: StateOpt = "state.json",
    log_format: LogOpt = LogFormat.auto,
    confirm_env: ConfirmOpt = None,
    config: ConfigOpt = None,
    infra_repo: InfraOpt = None,
    platform_repo: PlatformOpt = None,
    app_repo: AppOpt = None,
    runs_dir: RunsOpt = ".kyeol/runs",
    summary: SummaryOpt = None,
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
            parallelism=parallelism or default_parallelism(last["env"]),
            state=state,
            log_format=log_format.value,
            confirm_env=confirm_env,
            runs_dir=runs_dir,
            summary=summary,
            extra={"config": config, "infra_repo": infra_repo, "platform_repo": platform_repo, "app_repo": app_repo},
        )
        return core.run(_project(), inv)

    _exit(core.guarded(body))


@app.command()
def verify(
    env: EnvsOpt,
    output: Annotated[Output, typer.Option("--output", "-o", help="table on a TTY, or json.")] = Output.table,
    config: ConfigOpt = None,
    log_format: LogOpt = LogFormat.auto,
    security: Annotated[
        bool,
        typer.Option(
            "--security",
            help="Check the env's account baseline instead (trail, GuardDuty, Config, S3 PAB, EBS encryption); "
            "read-only, recorded in a run report.",
        ),
    ] = False,
    runs_dir: RunsOpt = ".kyeol/runs",
) -> None:
    """Prove each environment works: DNS → TLS → edge → HTTP → HSTS; exit 1 naming the env and the failed link.
    With --security: prove the account's audit controls are on; exit 1 naming the failed control."""

    def body() -> int:
        label = _envs(env)
        if security:
            codes = [
                _project().verify_security(
                    name, output=output.value, config=config, log_format=log_format.value, runs_dir=runs_dir
                )
                for name in label.split(",")
            ]
            return max(codes)
        return _project().verify(label, output=output.value, config=config, log_format=log_format.value)

    _exit(core.guarded(body))


@app.command()
def status(
    state: StateOpt = "state.json",
    format: Annotated[StatusFormat, typer.Option("--format", help="text or json.")] = StatusFormat.text,
) -> None:
    """What the checkpoint says, per step, and who holds the lock."""

    def body() -> int:
        store = _project().store_for(state)
        from steps.wiring.project import runbook_order

        return core.status(store, fmt=format.value, order=runbook_order())

    _exit(core.guarded(body))


@app.command()
def steps(
    env: Annotated[
        list[str] | None,
        typer.Option("--env", "-e", metavar="ENV", help="Environment(s) whose steps to list (repeatable, or all; default dev)."),
    ] = None,
    format: Annotated[StepsFormat, typer.Option("--format", help="text, mermaid or json.")] = StepsFormat.text,
    config: ConfigOpt = None,
) -> None:
    """The step graph in runbook order (with the critical path)."""

    def body() -> int:
        project = _project()
        inv = _invocation("steps", _envs(env or ["dev"]), dry_run=True, extra={"config": config})
        session = project.open(inv)
        return core.show_steps(session.steps(), fmt=format.value, titles=session.phase_titles())

    _exit(core.guarded(body))


@app.command()
def report(
    run_id: Annotated[str | None, typer.Argument(help="The run's id (default: the newest run).")] = None,
    format: Annotated[
        ReportFormat, typer.Option("--format", help="markdown (the run's summary) or json.")
    ] = ReportFormat.markdown,
    runs_dir: RunsOpt = ".kyeol/runs",
    config: ConfigOpt = None,
) -> None:
    """Show a stored run report: the Markdown summary the run wrote, or its JSON."""

    def body() -> int:
        path = core.find_report(runs_dir, run_id)
        return core.show_report(path, fmt=format.value, render=lambda doc: _project().render_summary(doc, config=config))

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
        if force and not yes and (sys.stdin is None or not sys.stdin.isatty()):
            raise UsageError("unlock --force needs confirmation", hint="add --yes when not at a terminal")

        def ask(text: str) -> bool:
            return typer.confirm(text, default=False)

        return core.unlock(store, force=force, confirm=ask if force and not yes else None)

    _exit(core.guarded(body))


def _project() -> KyeolProject:
    from steps.wiring.kyeol import KyeolProject

    return KyeolProject()


def _stop_at_once_on_signals() -> None:
    """The command is over (state saved, report written, exit code known). A Ctrl-C or
    SIGTERM from now on is ignored: the interpreter's own shutdown resets every handler it
    installed to the default (CPython signalmodule.c ``_PySignal_Fini``), so a second Ctrl-C
    landing there would kill kyeol by SIGINT instead of letting it exit with its code. Ignored
    signals stay ignored through that shutdown, which takes moments."""
    signals = {signal.SIGINT, signal.SIGTERM}
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, signals)  # none lands between the two changes
        for sig in signals:
            signal.signal(sig, signal.SIG_IGN)
    except ValueError:  # not the main thread
        pass
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, signals)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point."""
    code = EXIT_INTERRUPTED
    try:
        try:
            app(args=list(argv) if argv is not None else None, prog_name="kyeol", standalone_mode=True)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (EXIT_USAGE if exc.code else 0)
        except KeyboardInterrupt:
            # A Ctrl-C that lands after the command's own handling (the run's handlers are
            # restored while the report is written): still "interrupted", never a death by SIGINT.
            code = EXIT_INTERRUPTED
    except KeyboardInterrupt:  # one that lands inside a handler above
        code = EXIT_INTERRUPTED
    finally:
        _stop_at_once_on_signals()
    sys.exit(code)


if __name__ == "__main__":
    main()
