"""KYEOL's runbook as a step graph: which steps exist for an environment, and the
guards that run before anything is touched (account/region identity, prod confirmation)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

from runbook.errors import Unavailable, UsageError
from runbook.step import Step
from steps.wiring.config import TARGET_ENVS, KyeolConfig
from steps.wiring.services import Services

# The nine phases of runbook §5 (V2 order), for listings and the plan.
PHASES = {
    1: "Bootstrap (Terraform state bucket and lock table; account audit baseline)",
    2: "MGMT infra (ECR, GitHub OIDC, MGMT EKS; CloudFront certificate and WAF in us-east-1)",
    3: "Environment infra (EKS, RDS, Valkey, edge)",
    4: "Argo CD on MGMT",
    5: "Cluster registration",
    6: "Platform add-ons (app-of-apps: LBC, ExternalDNS, External Secrets, metrics-server, Cluster Autoscaler)",
    7: "CI/CD images in ECR",
    8: "Saleor app sync",
    9: "HTTPS verification",
}

# `kyeol destroy` (steps/phases/phase_destroy.py): numbered after the nine, so listings show the
# teardown in the order it runs.
DESTROY_PHASES = {
    10: "Drain (reverse of phases 8 and 6): Saleor and add-on Applications, the controller's load balancers",
    11: "Deregister (reverse of phase 5): the Argo CD cluster Secret",
    12: "Environment infra destroy (reverse of phase 3): terraform destroy of envs/<env>",
}

_PHASE_MODULES = (
    "steps.phases.phase1_bootstrap",
    "steps.phases.phase2_mgmt",
    "steps.phases.phase3_env_infra",
    "steps.phases.phase4_argocd",
    "steps.phases.phase5_register",
    "steps.phases.phase6_addons",
    "steps.phases.phase7_images",
    "steps.phases.phase8_app_sync",
    "steps.phases.phase9_verify",
)


ALL = "all"


def parse_envs(values: Sequence[str]) -> tuple[str, ...]:
    """The environments of one run from the repeated ``--env`` values, in runbook order.

    ``all`` means every target env. Refused (exit 2, before anything is read or touched): no
    env, an unknown one, one named twice (never silently the last one), ``all`` beside names.
    """
    names = [v.strip() for v in values]
    if not names:
        raise UsageError("no environment given", hint=f"pass --env with one of: {', '.join(TARGET_ENVS)} or {ALL}")
    for name in names:
        if name != ALL and name not in TARGET_ENVS:
            raise UsageError(
                f"unknown environment {name!r}",
                hint=f"choose from: {', '.join(TARGET_ENVS)}, or {ALL} (MGMT is deployed as part of each)",
            )
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UsageError(
            f"--env {' and '.join(twice)} is given more than once",
            hint="name each environment once (--env dev --env stage), or use --env all",
        )
    if ALL in names and len(names) > 1:
        raise UsageError(
            f"--env all cannot be combined with --env {', '.join(n for n in names if n != ALL)}",
            hint=f"--env all already means {', '.join(TARGET_ENVS)}; pass either all or the names",
        )
    if names == [ALL]:
        return TARGET_ENVS
    return tuple(e for e in TARGET_ENVS if e in names)


def env_label(envs: Sequence[str]) -> str:
    """How a multi-env run is named in the state's last_run, logs and reports: ``dev,stage``."""
    return ",".join(envs)


def split_envs(label: str | Sequence[str] | None) -> tuple[str, ...]:
    """The environments of a run label (``dev,stage``) as written by :func:`env_label`."""
    if label is None:
        return ()
    if isinstance(label, str):
        return tuple(e for e in label.split(",") if e)
    return tuple(label)


def build_steps(services: Services, env: str | Sequence[str]) -> list[Step]:
    """Every step of the runbook for ``env`` (one env, a ``dev,stage`` label or a list):
    the shared steps once, then each env's chain, in runbook order. Env chains need only
    the shared steps, never each other, so the engine runs them side by side."""
    import importlib

    envs = split_envs(env)
    for name in envs:
        if name not in TARGET_ENVS:
            raise UsageError(
                f"unknown environment {name!r}",
                hint=f"choose one of: {', '.join(TARGET_ENVS)} (MGMT is deployed as part of each)",
            )
    if not envs:
        raise UsageError("no environment given", hint=f"choose from: {', '.join(TARGET_ENVS)}")
    seen: dict[str, Step] = {}
    for name in _PHASE_MODULES:
        module = importlib.import_module(name)
        for env_name in envs:
            for step in module.build(services, services.config.env(env_name)):
                seen.setdefault(step.id, step)
    return list(seen.values())


def build_destroy_steps(services: Services, env: str) -> list[Step]:
    """The teardown of one environment (drain, deregister, infra destroy), never the shared
    steps; a protected environment is refused here, before anything is touched."""
    from steps.phases import phase_destroy

    if env not in TARGET_ENVS:
        raise UsageError(
            f"unknown environment {env!r}",
            hint=f"choose one of: {', '.join(TARGET_ENVS)} (MGMT, global and bootstrap serve every env and are not destroyed)",
        )
    env_cfg = services.config.env(env)
    phase_destroy.refuse_protected(env_cfg)
    return phase_destroy.build(services, env_cfg)


def accounts_touched(config: KyeolConfig, steps: Iterable[Step]) -> dict[str, set[str]]:
    """Which AWS account each selected step works in: shared steps in MGMT's, env steps in the env's."""
    result: dict[str, set[str]] = {}
    for step in steps:
        # A step may work in other accounts than its scope says (images live in MGMT's ECR;
        # registration writes to MGMT's Argo CD): it lists them in `account_envs`.
        owners = getattr(step, "account_envs", None) or ("mgmt" if step.scope == "shared" else step.scope,)
        for owner in owners:
            account = config.env(owner).account_id
            result.setdefault(account, set()).add(step.id)
    return result


def check_identity(services: Services, steps: Iterable[Step]) -> dict[str, Any]:
    """Refuse to touch anything unless STS says each env's credentials are for its configured
    account, in the configured region.

    Every account a selected step works in is checked with the session that step's env uses:
    the env's ``profile`` from the configuration (or the ambient credentials). So an env in
    another account is proven with its own credentials, never with MGMT's. Returns the caller
    identity for the report (``account``/``arn`` of MGMT's session, ``identities`` per env).
    Raises UsageError (exit 2) on any mismatch; Unavailable when STS cannot be reached (no
    credentials), which a dry-run may accept.
    """
    config = services.config
    shell_region = services.environ.get("AWS_REGION") or services.environ.get("AWS_DEFAULT_REGION")
    if shell_region and shell_region != config.region:
        raise UsageError(
            f"your AWS environment points at region {shell_region}, but kyeol deploys to {config.region}",
            hint=f"unset AWS_REGION/AWS_DEFAULT_REGION or set them to {config.region}",
        )
    by_owner = owners_touched(steps)
    for owner, step_ids in sorted(by_owner.items()):
        if not config.env(owner).account_id:
            raise UsageError(
                "the AWS account id for these steps is not configured: " + ", ".join(sorted(step_ids)),
                hint=f"fill in the account ids in {config.source}",
            )
    identities: dict[str, dict[str, str]] = {}
    by_profile: dict[str, dict[str, str]] = {}
    for owner in sorted(by_owner, key=lambda o: (o != "mgmt", o)):
        env = config.env(owner)
        if env.profile not in by_profile:
            by_profile[env.profile] = services.aws_for(env).caller_identity()
        identity = by_profile[env.profile]
        caller = identity["Account"]
        if caller != env.account_id:
            using = f"profile {env.profile!r}" if env.profile else "the current credentials"
            raise UsageError(
                f"refusing to run: {using} are for account {caller} ({identity.get('Arn', '?')}), "
                f"but {', '.join(sorted(by_owner[owner]))} must run in account {env.account_id} ({owner})",
                hint=(
                    f"make profile {env.profile!r} point at account {env.account_id}"
                    if env.profile
                    else "switch AWS credentials (AWS_PROFILE) to the configured account"
                )
                + f", or fix envs.{owner}.account_id in {config.source}",
            )
        identities[owner] = {"account": caller, "arn": identity.get("Arn", ""), "profile": env.profile}
    first = identities.get("mgmt") or next(iter(identities.values()), {"account": "", "arn": ""})
    result: dict[str, Any] = {"account": first["account"], "arn": first["arn"], "region": config.region}
    if len(identities) > 1 or any(i["profile"] for i in identities.values()):
        result["identities"] = identities
    return result


def owners_touched(steps: Iterable[Step]) -> dict[str, set[str]]:
    """Which env's account (and credentials) each selected step works in: shared steps in
    MGMT's, env steps in the env's, plus any listed in a step's ``account_envs``."""
    result: dict[str, set[str]] = {}
    for step in steps:
        owners = getattr(step, "account_envs", None) or ("mgmt" if step.scope == "shared" else step.scope,)
        for owner in owners:
            result.setdefault(owner, set()).add(step.id)
    return result


def confirm_protected(env: str, protected: bool, confirm_env: str | None, *, interactive: bool, prompt: Any = None) -> None:
    """A protected env (prod) is applied only after its name is confirmed; --yes is not enough."""
    if not protected:
        return
    if confirm_env is not None:
        if confirm_env != env:
            raise UsageError(
                f"--confirm-env {confirm_env!r} does not match --env {env!r}",
                hint=f"pass --confirm-env {env} to apply {env}",
            )
        return
    if interactive and prompt is not None:
        typed = prompt(f"{env} is protected. Type the environment name to apply it")
        if typed == env:
            return
        raise UsageError(f"confirmation {typed!r} does not match {env!r}; nothing was touched")
    raise UsageError(
        f"{env} is protected: applying it needs an explicit confirmation",
        hint=f"re-run with --confirm-env {env} (or run it at a terminal and type {env!r} when asked)",
    )


def offline_reason(exc: Exception) -> str:
    """How to say that a check could not run here (no credentials, no network)."""
    if isinstance(exc, Unavailable):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


def default_state_path() -> str:
    return os.environ.get("KYEOL_STATE", "state.json")


def runbook_order() -> list[str]:
    """Every step id of every environment in runbook order (for listings of the state file)."""
    ids = ["bootstrap", "account", "global", "mgmt.registry", "mgmt.infra"]
    ids += [f"{e}.infra" for e in TARGET_ENVS]
    ids.append("argocd")
    for suffix in ("register", "addons", "images", "sync", "verify"):
        ids += [f"{e}.{suffix}" for e in TARGET_ENVS]
    for suffix in ("drain", "deregister", "infra.destroy"):  # `kyeol destroy`, after the deploy's steps
        ids += [f"{e}.{suffix}" for e in TARGET_ENVS]
    return ids
