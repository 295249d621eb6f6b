"""A test world for the Kubernetes/Argo CD phases: stand-in MGMT and env API servers, the
helm stand-in, Services wired to them, and StepContexts as the runner builds them.

``drive`` calls a step's operations in the runner's order (check; then plan in a dry-run,
else apply and verify), so phase tests exercise the same contract the engine relies on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbook.clock import FakeClock
from runbook.errors import Unavailable
from runbook.redact import Redactor
from runbook.step import Plan, Step, StepContext
from steps.wiring.config import KyeolConfig, load_config
from steps.wiring.services import Services
from tests.standins.fake_helm import FakeHelm
from tests.standins.fake_kube_api import FakeKubeAPI

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"


class RecordingLog:
    """A structlog-like logger that keeps every event (to prove what was, and was not, logged)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict[str, Any]]] = []

    def bind(self, **_: Any) -> RecordingLog:
        return self

    def _add(self, level: str, event: str, **kw: Any) -> None:
        self.events.append((level, str(event), kw))

    def debug(self, event: str, **kw: Any) -> None:
        self._add("debug", event, **kw)

    def info(self, event: str, **kw: Any) -> None:
        self._add("info", event, **kw)

    def warning(self, event: str, **kw: Any) -> None:
        self._add("warning", event, **kw)

    def error(self, event: str, **kw: Any) -> None:
        self._add("error", event, **kw)

    def text(self) -> str:
        return "\n".join(f"{level} {event} {kw!r}" for level, event, kw in self.events)


@dataclass
class Outcome:
    kind: str  # done | planned | applied
    outputs: dict[str, Any] = field(default_factory=dict)
    plan: Plan | None = None
    reason: str = ""


def drive(step: Step, ctx: StepContext) -> Outcome:
    """check → (dry-run: plan) | (apply → verify), as runbook.runner does."""
    try:
        check = step.check(ctx)
    except Unavailable:
        if not ctx.dry_run:
            raise
        check = None
    if check is not None and check.done:
        return Outcome("done", dict(check.outputs), reason=check.reason)
    if ctx.dry_run:
        return Outcome("planned", plan=step.plan(ctx), reason=check.reason if check else "")
    outputs = dict(step.apply(ctx) or {})
    outputs.update(step.verify(ctx) or {})
    return Outcome("applied", outputs)


class KubeWorld:
    """MGMT and one env cluster (stand-in APIs), fake helm, a FakeClock, and their outputs."""

    def __init__(self, tmp_path: Path, *, env: str = "dev", config: KyeolConfig | None = None, **helm: Any) -> None:
        self.tmp = tmp_path
        self.clock = FakeClock()
        self.config = config or load_config(ROOT / "kyeol.toml")
        self.env = self.config.env(env)
        self.mgmt = FakeKubeAPI(name="jung-mgmt-eks", clock=self.clock).start()
        self.cluster = FakeKubeAPI(name=self.env.cluster_name, clock=self.clock).start()
        self.helm = FakeHelm(tmp_path / "helm", **helm)
        self.log = RecordingLog()
        self.redactor = Redactor()
        self.waits: list[tuple[str, str]] = []
        self.outputs: dict[str, dict[str, Any]] = {
            "mgmt.infra": self.mgmt.outputs(argocd_manager_role_arn=f"arn:aws:iam::{ACCOUNT}:role/jung-mgmt-argocd-manager"),
            f"{env}.infra": self.cluster.outputs(
                argocd_deployer_role_arn=f"arn:aws:iam::{ACCOUNT}:role/{self.env.role_name('argocd-deployer')}",
                vpc_id="vpc-0a1b2c3d4e5f60718",
                hosted_zone_id="Z0123456789ABCDEFGHIJ",
                lbc_role_arn=f"arn:aws:iam::{ACCOUNT}:role/{self.env.role_name('lbc')}",
                external_dns_role_arn=f"arn:aws:iam::{ACCOUNT}:role/{self.env.role_name('external-dns')}",
                external_secrets_role_arn=f"arn:aws:iam::{ACCOUNT}:role/{self.env.role_name('external-secrets')}",
                cluster_autoscaler_role_arn=f"arn:aws:iam::{ACCOUNT}:role/{self.env.role_name('cluster-autoscaler')}",
                region=self.env.region,
            ),
        }

    def close(self) -> None:
        self.mgmt.stop()
        self.cluster.stop()

    def services(self, *, dry_run: bool = False, config: KyeolConfig | None = None) -> Services:
        environ = {**os.environ, **self.helm.env()}
        return Services(
            config or self.config, dry_run=dry_run, log=self.log, redactor=self.redactor, clock=self.clock, environ=environ
        )

    def context(
        self,
        step: Step,
        *,
        dry_run: bool = False,
        outputs: dict[str, dict[str, Any]] | None = None,
        previous_status: str | None = None,
    ) -> StepContext:
        return StepContext(
            run_id="run-test",
            step_id=step.id,
            env=self.env.name,
            dry_run=dry_run,
            clock=self.clock,
            log=self.log,
            outputs=self.outputs if outputs is None else outputs,
            on_waiting=lambda step_id, what: self.waits.append((step_id, what)),
            on_secret=self.redactor.add,
            previous_status=previous_status,
        )
