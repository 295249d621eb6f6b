"""What every "apply a Terraform root" step of phases 1-3 has in common.

A step owns one root of ``kyeol-infra-terraform`` (optionally ``-target``-ed). Its inputs are
the digest of the root's and its local modules' ``.tf``/``.tfvars`` files plus the config
facts it checks. ``apply`` runs init → plan → apply-the-saved-plan, so a second deploy with
nothing changed applies nothing (plan exit 0). ``check`` is cheap: the outputs recorded at
the last apply, the files unchanged since then (the digest is recorded with the outputs as
``terraform_inputs``, because the engine trusts a passing check even when the inputs
changed), and a real-world probe that each phase defines (cluster ACTIVE, database available).

Backends: ``envs/bootstrap`` keeps local state; every other root declares ``backend "s3" {}``
and gets its settings from the bootstrap step's outputs (docs/architecture.md §4).

Test hook: ``KYEOL_TF_BACKEND_EXTRA`` (JSON object) adds or overrides S3 backend settings, e.g.
``{"endpoints": {"s3": "http://127.0.0.1:5000", "dynamodb": "http://127.0.0.1:5000"},
"use_path_style": true, "skip_credentials_validation": true, "skip_requesting_account_id": true,
"skip_metadata_api_check": true}`` to keep state in moto. It goes through the same
``-backend-config`` path as the real settings. Never set it for a real deploy.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runbook.errors import OutputUnknown, PermanentError, UsageError
from runbook.step import Change, CheckResult, Plan, Step, StepContext
from runbook.waits import wait_for
from steps.adapters.terraform import StateLocked, Terraform
from steps.wiring.config import EnvConfig
from steps.wiring.services import Services

if TYPE_CHECKING:
    from steps.adapters.aws import AwsSession

BACKEND_EXTRA_ENV = "KYEOL_TF_BACKEND_EXTRA"
INPUTS_OUTPUT = "terraform_inputs"  # the recorded digest of the files the last apply used
_SUFFIXES = (".tf", ".tfvars")
_MODULE_SOURCE = re.compile(r'^\s*source\s*=\s*"(\.{1,2}/[^"]+)"', re.MULTILINE)


def terraform_files(root: Path, *, base: Path | None = None) -> dict[str, str]:
    """sha256 of the root's ``.tf``/``.tfvars`` files and of every local module it uses.

    Keys are paths relative to ``base`` (the infra tree), so moving the checkout does not
    make every step due. Local modules are followed recursively (``source = "../../modules/x"``).
    """
    base = (base or root).resolve()
    digests: dict[str, str] = {}
    pending = [root.resolve()]
    seen: set[Path] = set()
    while pending:
        folder = pending.pop()
        if folder in seen or not folder.is_dir():
            continue
        seen.add(folder)
        for path in sorted(folder.iterdir()):
            if not path.is_file() or not path.name.endswith(_SUFFIXES):
                continue
            content = path.read_bytes()
            digests[_relative(path, base)] = hashlib.sha256(content).hexdigest()
            if path.suffix == ".tf":
                for source in _MODULE_SOURCE.findall(content.decode("utf-8", "replace")):
                    pending.append((folder / source).resolve())
    return dict(sorted(digests.items()))


def _relative(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def backend_extra(environ: dict[str, str]) -> dict[str, Any]:
    """The test-only backend settings from ``KYEOL_TF_BACKEND_EXTRA`` ({} when unset)."""
    raw = environ.get(BACKEND_EXTRA_ENV, "").strip()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise UsageError(
            f"{BACKEND_EXTRA_ENV} is not valid JSON: {exc}",
            hint=f"set {BACKEND_EXTRA_ENV} to a JSON object of S3 backend settings, or unset it",
        ) from None
    if not isinstance(value, dict):
        raise UsageError(
            f"{BACKEND_EXTRA_ENV} must be a JSON object, not {type(value).__name__}", hint='e.g. {"use_path_style": true}'
        )
    return value


class TerraformRootStep(Step):
    """Applies one Terraform root; subclasses say which root and how to prove the result."""

    root: str = ""  # relative to the infra tree, e.g. "envs/dev"
    local_state = False  # envs/bootstrap: state next to the code; everything else in S3
    targets: tuple[str, ...] = ()
    # Outputs the root must produce (docs/architecture.md §4); check() wants them recorded.
    required_outputs: tuple[str, ...] = ()
    # Without a record of the last apply, may a passing real-world probe count as done?
    # Only for bootstrap, whose result can be checked completely through the AWS API.
    trust_probe_without_record = False
    # Steps whose result this root reads at plan time (data sources): planning before they
    # are applied could only fail, so the plan is "unknown until <step> is applied".
    plan_requires: tuple[str, ...] = ()
    # Transient errors of an apply (its reads are retried in place by the adapter) are retried
    # for up to 15 minutes, bounded by the step's timeout (issue 10).
    retry_budget_s = 900.0

    def __init__(self, services: Services, env: EnvConfig) -> None:
        self.services = services
        self.env = env
        self.config = services.config

    # -- identity of the inputs ------------------------------------------------------------

    @property
    def root_dir(self) -> Path:
        return self.config.paths.infra_repo / self.root

    @property
    def terraform(self) -> Terraform:
        """Terraform with the credentials of the account this root is in (MGMT's for shared
        roots, the env's profile for an env root)."""
        return self.services.terraform_for(self.config.owner(self.scope))

    @property
    def aws(self) -> AwsSession:
        """AWS clients with the same account's credentials as :attr:`terraform`."""
        return self.services.aws_for(self.config.owner(self.scope))

    def facts(self) -> dict[str, Any]:
        """The configuration values this step applies or checks (part of the fingerprint)."""
        return {"region": self.config.region}

    def inputs(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "targets": list(self.targets),
            "files": terraform_files(self.root_dir, base=self.config.paths.infra_repo),
            "facts": self.facts(),
        }

    # -- Terraform plumbing ----------------------------------------------------------------

    def variables(self, ctx: StepContext) -> dict[str, Any] | None:
        """Values kyeol passes to the root (``-var-file``); most roots read their tfvars."""
        return None

    def backend_config(self, ctx: StepContext) -> dict[str, Any] | None:
        """S3 backend settings from the bootstrap outputs; None for local state."""
        if self.local_state:
            return None
        config: dict[str, Any] = {
            "bucket": ctx.output("bootstrap", "state_bucket"),
            "key": f"{self.root}/terraform.tfstate",
            "region": ctx.output("bootstrap", "region"),
            "dynamodb_table": ctx.output("bootstrap", "lock_table"),
            "use_lockfile": True,
            "encrypt": True,
        }
        # State objects are encrypted with bootstrap's customer key, not the S3 default key.
        kms_key = ctx.outputs_of("bootstrap").get("kms_key_arn")
        if kms_key:
            config["kms_key_id"] = kms_key
        # The state bucket is MGMT's: a root run with another account's profile reaches it
        # with MGMT's (config.py requires envs.mgmt.profile once any env names one).
        mgmt_profile = self.config.mgmt.profile
        if mgmt_profile and self.config.owner(self.scope).profile != mgmt_profile:
            config["profile"] = mgmt_profile
        config.update(backend_extra(self.services.environ))
        return config

    def _init(self, ctx: StepContext) -> None:
        self.terraform.init(self.root_dir, self.backend_config(ctx), ctx)

    def terraform_outputs(self, ctx: StepContext) -> dict[str, Any]:
        self._init(ctx)
        return dict(self.terraform.output(self.root_dir, ctx))

    # -- the four operations ---------------------------------------------------------------

    def unknown_plan(self, ctx: StepContext) -> Plan | None:
        """Init the root for a plan; or, when what it needs is not applied yet (the state
        bucket, a root it reads), the Plan that says so."""
        try:
            backend = self.backend_config(ctx)
        except OutputUnknown as exc:
            return Plan(unknown=f"{exc.message} (the Terraform state bucket comes from bootstrap)")
        for step_id in self.plan_requires:
            try:
                ctx.outputs_of(step_id)
            except OutputUnknown:
                return Plan(unknown=f"unknown until {step_id} is applied: {self.root} reads what it creates")
        self.terraform.init(self.root_dir, backend, ctx)
        return None

    def saved_plan(self, ctx: StepContext) -> Any:
        """``terraform plan`` of this root to a saved file (a teardown plans ``-destroy``)."""
        return self.terraform.plan(self.root_dir, ctx, variables=self.variables(ctx), targets=self.targets)

    def plan(self, ctx: StepContext) -> Plan:
        unknown = self.unknown_plan(ctx)
        if unknown is not None:
            return unknown
        planned = self.saved_plan(ctx)
        planned.discard()
        changes = [Change(action, address) for action, address in planned.resource_changes]
        notes = [f"output {name}: {action}" for name, action in sorted(planned.output_changes.items())]
        if self.targets:
            notes.append("targeted: " + ", ".join(self.targets))
        if planned.changed and not changes:
            changes.append(Change("update", self.root, "outputs or state only"))
        return Plan(changes=changes, notes=notes)

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        self.apply_saved_plan(ctx)
        outputs = dict(self.terraform.output(self.root_dir, ctx))
        outputs[INPUTS_OUTPUT] = self.fingerprint()
        return outputs

    def apply_saved_plan(self, ctx: StepContext) -> Any:
        """init → :meth:`saved_plan` → apply of that plan; returns the plan applied."""
        self._init(ctx)

        def plan_and_apply() -> Any:
            planned = self.saved_plan(ctx)
            self.terraform.apply(self.root_dir, planned, ctx)
            return planned

        return self._releasing_dead_lock(ctx, plan_and_apply)

    def _releasing_dead_lock(self, ctx: StepContext, operation: Callable[[], Any]) -> Any:
        """Run ``operation``; if it meets a lock whose holder is gone, release it once and run it
        again (a failed lock changed nothing, and a saved plan made before it is discarded)."""
        for attempt in (1, 2):
            try:
                return operation()
            except StateLocked as locked:
                if attempt == 2 or not locked.holder_gone:
                    raise
                self._release(ctx, locked)
        raise AssertionError("unreachable: the second attempt returns or raises")

    def _release(self, ctx: StepContext, locked: StateLocked) -> None:
        """A lock whose holder is provably gone — a terraform on this machine that died with
        the kyeol run that started it (killed, out of memory), or one that exited leaving its
        own lock behind (a lock write retried after its answer was lost finds itself already
        there) — is released, as kyeol takes over its own lock from a dead run; a live
        holder's lock is never touched."""
        lock = locked.lock
        ctx.log.warning(
            "releasing the Terraform state lock of a run that is gone",
            root=self.root,
            lock_id=lock.id,
            who=lock.who,
            operation=lock.operation,
            since=lock.created,
            why=locked.gone_because,
        )
        try:
            self.terraform.force_unlock(self.root_dir, lock.id, ctx)
        except PermanentError as exc:
            # A holder that died halfway through releasing left only part of the lock (the
            # DynamoDB item or the S3 lock file); terraform releases what it finds and then
            # stops at the missing part. Whatever is still held, the plan that follows finds.
            ctx.log.warning("terraform force-unlock found part of the lock gone", root=self.root, error=exc.message)

    def verify(self, ctx: StepContext) -> dict[str, Any]:
        outputs = self.terraform_outputs(ctx)
        missing = [name for name in self.required_outputs if outputs.get(name) in (None, "", {}, [])]
        if missing:
            raise PermanentError(
                f"Terraform root {self.root} did not produce the outputs {', '.join(missing)}",
                hint="every root must output what docs/architecture.md §4 lists; fix the root's outputs.tf",
            )
        return self.prove(ctx, outputs)

    def check(self, ctx: StepContext) -> CheckResult:
        if ctx.apply_cut_short:
            return self.check_after_cut_short(ctx)
        recorded = _own_outputs(ctx)
        current = self.fingerprint()
        previous = recorded.get(INPUTS_OUTPUT)
        if previous is None and not self.trust_probe_without_record:
            return CheckResult(False, f"no record of an apply of {self.root} with these files")
        if previous is not None and previous != current:
            return CheckResult(False, f"Terraform files or settings of {self.root} changed since the last apply")
        missing = [name for name in self.required_outputs if name not in recorded]
        if previous is not None and missing:
            return CheckResult(False, f"outputs of {self.root} not recorded: {', '.join(missing)}")
        done, reason, extra = self.probe(ctx, recorded)
        if not done:
            return CheckResult(False, reason)
        return CheckResult(True, reason, {**extra, INPUTS_OUTPUT: current})

    def check_after_cut_short(self, ctx: StepContext) -> CheckResult:
        """The last apply began and did not end (killed, interrupted, failed): Terraform's state
        may lack what the apply made, so a probe of the world proves nothing about it.

        Done only when a plan of the root finds nothing to do (state, code and world agree) and
        the probe agrees; outputs then come from Terraform, not from the record. When the plan
        would create resources the probe finds in place, they exist outside the state: applying
        would fail on "already exists" (or make twins), so the step stops and names the
        resources and the ``terraform import`` commands that hand them back to Terraform.
        Anything else is simply due: the apply continues where the last one stopped.
        """
        current = self.fingerprint()
        unknown = self.unknown_plan(ctx)
        if unknown is not None:
            return CheckResult(False, f"the last apply of {self.root} did not finish; {unknown.unknown}")
        planned = self.plan_releasing_dead_locks(ctx)
        planned.discard()
        if planned.changed:
            if planned.creates and self._world_present(ctx):
                raise PermanentError(
                    f"the last apply of {self.root} was cut short after it made resources that its Terraform state "
                    f"does not hold: {', '.join(planned.creates)}",
                    hint=self.import_hint(planned.creates, ctx),
                )
            return CheckResult(False, f"the last apply of {self.root} did not finish: the plan has {planned.summary()}")
        outputs = dict(self.terraform.output(self.root_dir, ctx))
        missing = [name for name in self.required_outputs if outputs.get(name) in (None, "", {}, [])]
        if missing:
            return CheckResult(False, f"outputs of {self.root} not produced yet: {', '.join(missing)}")
        done, reason, extra = self.probe(ctx, outputs)
        if not done:
            return CheckResult(False, reason)
        return CheckResult(
            True, f"Terraform state and plan of {self.root} agree; {reason}", {**outputs, **extra, INPUTS_OUTPUT: current}
        )

    def _world_present(self, ctx: StepContext) -> bool:
        """Does the probe find the root's result in place (judged on the record's outputs)?"""
        try:
            done, _, _ = self.probe(ctx, _own_outputs(ctx))
        except (KeyError, OutputUnknown):
            return False  # the probe needs outputs never recorded: nothing proves the world is there
        return done

    def import_id(self, address: str) -> str | None:
        """The id ``terraform import`` needs for ``address``, where the step knows it."""
        return None

    def import_hint(self, addresses: list[str], ctx: StepContext) -> str:
        # The values kyeol passes with -var-file (none of them secret): import needs them too.
        variables = "".join(
            f" -var '{name}={value if isinstance(value, str) else json.dumps(value)}'"
            for name, value in sorted((self.variables(ctx) or {}).items())
        )
        ids = [self.import_id(address) for address in addresses]
        commands = [
            f"terraform -chdir={self.root_dir} import{variables} '{address}' {known or '<id>'}"
            for address, known in zip(addresses, ids, strict=True)
        ]
        where = "" if all(ids) else " (<id>: the existing resource's id, as the resource type's import section documents it)"
        return "hand the existing resources to Terraform, then run kyeol again: " + "; ".join(commands) + where

    def plan_releasing_dead_locks(self, ctx: StepContext) -> Any:
        """:meth:`saved_plan`, releasing once a state lock whose holder is provably gone."""
        return self._releasing_dead_lock(ctx, lambda: self.saved_plan(ctx))

    # -- what subclasses define ------------------------------------------------------------

    def probe(self, ctx: StepContext, outputs: dict[str, Any]) -> tuple[bool, str, dict[str, Any]]:
        """Cheap, read-only: is the root's result really there? (done, why, outputs to record)."""
        raise NotImplementedError(f"{type(self).__name__}.probe")

    def prove(self, ctx: StepContext, outputs: dict[str, Any]) -> dict[str, Any]:
        """After apply: wait for the result to be ready, check it against the config, return outputs."""
        raise NotImplementedError(f"{type(self).__name__}.prove")

    # -- helpers for subclasses ------------------------------------------------------------

    def wait_until(
        self, ctx: StepContext, what: str, probe: Callable[[], tuple[bool, str]], *, timeout: float, hint: str = ""
    ) -> str:
        """Poll ``probe`` until ready (bounded by the step deadline); shows what is awaited."""
        ctx.waiting_for(what)

        def on_poll(n: int, ready: bool, detail: str) -> None:
            ctx.log.debug("waiting", what=what, poll=n, ready=ready, detail=detail)

        return wait_for(
            probe,
            what=what,
            timeout=timeout,
            clock=ctx.clock,
            cancel=ctx.cancel,
            deadline=ctx.deadline,
            on_poll=on_poll,
            interval=10.0,
            max_interval=30.0,
            hint=hint,
        )


def _own_outputs(ctx: StepContext) -> dict[str, Any]:
    try:
        return dict(ctx.outputs_of(ctx.step_id))
    except OutputUnknown:
        return {}


def cluster_outputs(outputs: dict[str, Any], cluster: dict[str, Any], log: Any) -> dict[str, Any]:
    """The EKS facts to record: status and version, plus endpoint/CA/issuer where Terraform gave none.

    Terraform's outputs stay authoritative (later phases use them); a disagreement with the
    EKS API is logged, since it means the state no longer describes the cluster.
    """
    recorded = {"cluster_status": cluster["status"], "cluster_version": cluster["version"]}
    for key, api_key in (
        ("cluster_endpoint", "endpoint"),
        ("cluster_certificate_authority_data", "certificate_authority_data"),
        ("cluster_oidc_issuer_url", "oidc_issuer_url"),
    ):
        api_value = cluster.get(api_key, "")
        if not outputs.get(key):
            recorded[key] = api_value
        elif api_value and str(outputs[key]).rstrip("/") != str(api_value).rstrip("/"):
            log.warning("Terraform output differs from the EKS API", output=key, cluster=cluster["name"])
    return recorded


__all__ = [
    "BACKEND_EXTRA_ENV",
    "INPUTS_OUTPUT",
    "TerraformRootStep",
    "backend_extra",
    "cluster_outputs",
    "terraform_files",
]
