"""Phase 9: prove the environment works from the outside — DNS → TLS → edge → HTTP → HSTS.

The step passes only when every link passes for both public hosts of runbook §1. Failures
that may still converge (a record not yet visible, a distribution still deploying, pods
starting) are waited on up to a deadline; any other failure stops at once, naming the link.
``run_chain`` is also what ``kyeol verify --env E`` prints (table or JSON).
"""

from __future__ import annotations

from typing import Any

from runbook.errors import OutputUnknown, PermanentError, WaitTimeout
from runbook.step import Change, CheckResult, Plan, Step, StepContext
from runbook.waits import wait_for
from steps.adapters.https import LINKS, Chain, LinkResult, Site, VerifySettings, summary
from steps.wiring.config import EnvConfig
from steps.wiring.services import Services

# DNS can take up to the SOA TTL (15 min) when a resolver cached NXDOMAIN; CloudFront deploys
# take 3-15 min (reference/durations.md). Past this, what still fails is reported.
SETTLE_TIMEOUT_S = 16 * 60

HINTS = {
    "DNS": "the public aliases come from Terraform (<env>.infra) and the origin-* records from ExternalDNS: "
    "check Route53, or re-run kyeol deploy --from {env}.infra",
    "TLS": "check that the us-east-1 ACM certificate on the distribution covers the host and is ISSUED",
    "edge": "check the CloudFront distribution (aliases, web ACL) made by {env}.infra",
    "HTTP": "check the Saleor pods and the ALB's target health: kubectl -n saleor get pods, and Argo CD app saleor-{env}",
    "HSTS": "add Strict-Transport-Security (max-age >= 31536000) in the CloudFront response headers policy",
}


def sites(env: EnvConfig) -> list[Site]:
    """The public hosts of an environment (runbook §1) and their origin names."""
    return [
        Site(env.service_host, env.origin_service_host, "storefront"),
        Site(env.api_host, env.origin_api_host, "api"),
    ]


def run_chain(services: Services, env: EnvConfig | str) -> list[LinkResult]:
    """Run the whole chain once for ``env``; one result per link and host, in chain order."""
    env_cfg = services.config.env(env) if isinstance(env, str) else env
    chain = Chain(
        aws=services.aws_for(env_cfg),  # the env's account (its profile)
        domain=env_cfg.domain,
        settings=VerifySettings.from_environ(services.environ),
    )
    return chain.run(sites(env_cfg))


class VerifyStep(Step):
    """``<env>.verify``: the HTTPS chain passes for the env's hosts."""

    phase = 9
    verification = True
    max_attempts = 1  # convergence is waited on inside; a definite failure will not heal by retrying
    timeout_s = SETTLE_TIMEOUT_S + 4 * 60
    estimate_s = 120.0

    def __init__(self, services: Services, env: EnvConfig) -> None:
        self.services = services
        self.env = env
        self.id = f"{env.name}.verify"
        self.needs = (f"{env.name}.sync",)
        self.scope = env.name
        self.title = f"HTTPS verification of {env.service_url} and {env.api_url}"

    def inputs(self) -> Any:
        return {"sites": [s.__dict__ for s in sites(self.env)], "domain": self.env.domain}

    def check(self, ctx: StepContext) -> CheckResult:
        # A verification this state never recorded is this run's to do (and report as
        # applied); only a recorded pass is re-checked. A dry-run sends nothing to the site,
        # so it trusts the recorded pass: a deployed, verified env plans no change.
        verified = _recorded(ctx, self.id).get("verified") is True
        if ctx.dry_run:
            if verified:
                return CheckResult(done=True, reason="verified by the last run (a dry-run sends no request to the site)")
            return CheckResult(done=False, reason="verification runs after the app is synced")
        if not verified:
            return CheckResult(done=False, reason="not verified yet")
        results = run_chain(self.services, self.env)
        if all(r.ok for r in results):
            return CheckResult(done=True, outputs=_outputs(results))
        return CheckResult(done=False, reason=f"not verified yet: {summary(results)}")

    def plan(self, ctx: StepContext) -> Plan:
        hosts = ", ".join(s.host for s in sites(self.env))
        return Plan(changes=[Change("read", "HTTPS chain", f"{' → '.join(LINKS)} for {hosts}")])

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        latest: list[list[LinkResult]] = []

        def probe() -> tuple[bool, str]:
            results = run_chain(self.services, self.env)
            latest.append(results)
            failed = [r for r in results if not r.ok and not r.skipped]
            if any(not r.pending for r in failed):
                raise self._failure(results, settled=True)
            for r in results:
                if not r.ok and not r.skipped:
                    ctx.waiting_for(f"{r.link} {r.target}: {r.detail}")
                    break
            return not failed, summary(results) or "all links pass"

        try:
            wait_for(
                probe,
                what=f"the HTTPS chain of {self.env.name}",
                timeout=SETTLE_TIMEOUT_S,
                clock=ctx.clock,
                cancel=ctx.cancel,
                deadline=ctx.deadline,
                interval=15.0,
                max_interval=60.0,
            )
        except WaitTimeout:
            raise self._failure(latest[-1], settled=False) from None
        return _outputs(latest[-1])

    def _failure(self, results: list[LinkResult], *, settled: bool) -> PermanentError:
        failed = [r for r in results if not r.ok and not r.skipped]
        first = failed[0].link
        links = sorted({r.link for r in failed}, key=LINKS.index)
        when = "" if settled else f" (still failing after {SETTLE_TIMEOUT_S // 60} minutes)"
        return PermanentError(
            f"{self.env.name} verification failed at {', '.join(links)}{when}: {summary(results)}",
            hint=HINTS[first].format(env=self.env.name),
        )


def _recorded(ctx: StepContext, step_id: str) -> dict[str, Any]:
    """What the last successful run of ``step_id`` recorded ({} when none)."""
    try:
        return dict(ctx.outputs_of(step_id))
    except OutputUnknown:
        return {}


def _outputs(results: list[LinkResult]) -> dict[str, Any]:
    return {"verified": all(r.ok for r in results), "links": [r.as_dict() for r in results]}


def build(services: Services, env: EnvConfig) -> list[Step]:
    return [VerifyStep(services, env)]
