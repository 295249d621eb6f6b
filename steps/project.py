"""KYEOL's runbook as a step graph: which steps exist for an environment, and the
guards that run before anything is touched (account/region identity, prod confirmation)."""

from __future__ import annotations

import os
from typing import Any, Iterable

from runbook.errors import Unavailable, UsageError
from runbook.step import Step
from steps.config import TARGET_ENVS, KyeolConfig
from steps.services import Services

# The nine phases of runbook §5 (V2 order), for listings and the plan.
PHASES = {
    1: "Bootstrap (Terraform state bucket and lock table; account audit baseline)",
    2: "MGMT infra (ECR, GitHub OIDC, MGMT EKS; CloudFront certificate and WAF in us-east-1)",
    3: "Environment infra (EKS, RDS, Valkey, edge)",
    4: "Argo CD on MGMT",
    5: "Cluster registration",
    6: "Platform add-ons (app-of-apps: LBC, ExternalDNS, External Secrets, metrics-server)",
    7: "CI/CD images in ECR",
    8: "Saleor app sync",
    9: "HTTPS verification",
}

# `kyeol destroy` (steps/phase_destroy.py): numbered after the nine, so listings show the
# teardown in the order it runs.
DESTROY_PHASES = {
    10: "Drain (reverse of phases 8 and 6): Saleor and add-on Applications, the controller's load balancers",
    11: "Deregister (reverse of phase 5): the Argo CD cluster Secret",
    12: "Environment infra destroy (reverse of phase 3): terraform destroy of envs/<env>",
}

_PHASE_MODULES = (
    "steps.phase1_bootstrap",
    "steps.phase2_mgmt",
    "steps.phase3_env_infra",
    "steps.phase4_argocd",
    "steps.phase5_register",
    "steps.phase6_addons",
    "steps.phase7_images",
    "steps.phase8_app_sync",
    "steps.phase9_verify",
)


def build_steps(services: Services, env: str) -> list[Step]:
    """Every step of the runbook for ``env``, shared steps included once, in runbook order."""
    import importlib

    if env not in TARGET_ENVS:
        raise UsageError(
            f"unknown environment {env!r}",
            hint=f"choose one of: {', '.join(TARGET_ENVS)} (MGMT is deployed as part of each)",
        )
    env_cfg = services.config.env(env)
    seen: dict[str, Step] = {}
    for name in _PHASE_MODULES:
        module = importlib.import_module(name)
        for step in module.build(services, env_cfg):
            seen.setdefault(step.id, step)
    return list(seen.values())


def build_destroy_steps(services: Services, env: str) -> list[Step]:
    """The teardown of one environment (drain, deregister, infra destroy), never the shared
    steps; a protected environment is refused here, before anything is touched."""
    from steps import phase_destroy

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
    """Refuse to touch anything unless STS says we are in the configured account and region.

    Returns the caller identity for the report. Raises UsageError (exit 2) on any mismatch;
    Unavailable when STS cannot be reached (no credentials), which a dry-run may accept.
    """
    config = services.config
    shell_region = services.environ.get("AWS_REGION") or services.environ.get("AWS_DEFAULT_REGION")
    if shell_region and shell_region != config.region:
        raise UsageError(
            f"your AWS environment points at region {shell_region}, but kyeol deploys to {config.region}",
            hint=f"unset AWS_REGION/AWS_DEFAULT_REGION or set them to {config.region}",
        )
    identity = services.aws().caller_identity()
    wanted = accounts_touched(config, steps)
    caller = identity["Account"]
    for account, step_ids in sorted(wanted.items()):
        if not account:
            raise UsageError(
                "the AWS account id for these steps is not configured: " + ", ".join(sorted(step_ids)),
                hint=f"fill in the account ids in {config.source}",
            )
        if account != caller:
            raise UsageError(
                f"refusing to run: credentials are for account {caller} ({identity.get('Arn', '?')}), "
                f"but {', '.join(sorted(step_ids))} must run in account {account}",
                hint="switch AWS credentials (AWS_PROFILE) to the configured account, or fix the account id in "
                f"{config.source}",
            )
    return {"account": caller, "arn": identity.get("Arn", ""), "region": config.region}


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
