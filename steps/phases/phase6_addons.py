"""Phase 6: the platform add-ons of one environment, through Argo CD's app-of-apps.

kyeol renders ``kyeol-platform-gitops/argocd/app-of-apps/`` (``kubectl kustomize``: the
AppProjects and the root Application) and server-side applies each object on MGMT. The root
syncs one ApplicationSet per add-on, which make ``<addon>-<env>`` Applications labelled
``kyeol.io/env=<env>`` from the cluster Secret of phase 5.

Argo CD stopped assessing child Application health in v1.8, and ``argocd app wait`` can hang
on an app with nothing left to do (argo-cd #12211), so kyeol reads each child's status itself:
done when every one is Synced, Healthy and its last operation Succeeded. A wait never hangs: at
its deadline it names every child still not there, its health message and its failing
resources. Last comes a readiness gate that add-on installers lack (aws-load-balancer-controller
#4140): the controller's webhook Service has ready endpoints on the env cluster, so the Saleor
Ingress of phase 8 is not refused with "no endpoints available".
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from runbook.errors import PermanentError, Unavailable
from runbook.step import Change, CheckResult, Plan, Step, StepContext, digest_files
from runbook.waits import wait_for
from steps.adapters.kube import ARGOCD_API, ApplicationState, KubeClient, carries
from steps.wiring.config import ADDONS, ARGOCD_NAMESPACE, EnvConfig
from steps.wiring.services import Services

APP_OF_APPS = Path("argocd/app-of-apps")
KUSTOMIZE_TIMEOUT_S = 120.0
# LBC + ExternalDNS via Argo CD: ~3 min, 1-6 seen (reference/durations.md), plus chart pulls
# and the reconcile interval (up to 3 min) before the ApplicationSets produce the children.
CHILDREN_TIMEOUT_S = 900.0
WEBHOOK_TIMEOUT_S = 300.0
LBC_WEBHOOK = ("kube-system", "aws-load-balancer-webhook-service")
# Apply order: what others refer to first (an Application names its AppProject).
_KIND_ORDER = {"Namespace": 0, "AppProject": 1, "ApplicationSet": 2, "Application": 3}


def child_names(env: EnvConfig) -> list[str]:
    return [f"{addon}-{env.name}" for addon in ADDONS]


class AddonsStep(Step):
    """Apply the app-of-apps on MGMT; wait for this env's add-on Applications and the LBC webhook."""

    phase = 6
    max_attempts = 2
    retry_budget_s = 600.0  # transient errors: retried for up to 10 minutes (issue 10)
    timeout_s = CHILDREN_TIMEOUT_S + WEBHOOK_TIMEOUT_S + 300.0
    estimate_s = 180.0

    def __init__(self, services: Services, env: EnvConfig) -> None:
        self.services = services
        self.env = env
        self.id = f"{env.name}.addons"
        self.title = f"Platform add-ons of {env.name} (app-of-apps)"
        self.needs = (f"{env.name}.register",)
        self.scope = env.name
        # The add-ons are back after a `kyeol destroy`: the env is no longer drained.
        self.undoes = (f"{env.name}.drain",)
        self.source = services.config.paths.platform_repo / APP_OF_APPS

    def inputs(self) -> Any:
        return {
            "app_of_apps": digest_files([self.source]) if self.source.exists() else "missing",
            "children": child_names(self.env),
        }

    # -- what is wanted ------------------------------------------------------------------

    def render(self, ctx: StepContext | None = None) -> list[dict[str, Any]]:
        """The app-of-apps objects, as ``kubectl kustomize`` renders them, in apply order."""
        if not self.source.is_dir():
            raise PermanentError(
                f"the app-of-apps folder {self.source} does not exist", hint="point --platform-repo at the platform GitOps tree"
            )
        kubectl = self.services.environ.get("KYEOL_KUBECTL", "kubectl")
        self.services.process.require(kubectl, hint="install kubectl (its built-in kustomize renders the app-of-apps)")
        done = self.services.process.run(
            [kubectl, "kustomize", str(self.source)], timeout=KUSTOMIZE_TIMEOUT_S, mutating=False, ctx=ctx
        )
        objects = []
        for doc in yaml.safe_load_all(done.stdout):
            if not doc:
                continue
            if (
                not isinstance(doc, dict)
                or not all(doc.get(k) for k in ("apiVersion", "kind"))
                or not (doc.get("metadata") or {}).get("name")
            ):
                raise PermanentError(
                    f"{self.source} renders an object without apiVersion, kind or metadata.name: {str(doc)[:120]}"
                )
            objects.append(doc)
        if not objects:
            raise PermanentError(
                f"{self.source} renders no objects",
                hint="its kustomization.yaml should list the AppProjects and the root Application",
            )
        return sorted(objects, key=lambda o: _KIND_ORDER.get(o["kind"], 9))

    def _mgmt(self, ctx: StepContext) -> KubeClient:
        return self.services.kube(ctx.outputs_of("mgmt.infra"))

    def _env_cluster(self, ctx: StepContext) -> KubeClient:
        return self.services.kube(ctx.outputs_of(f"{self.env.name}.infra"))

    # -- reality --------------------------------------------------------------------------

    @staticmethod
    def object_drift(kube: KubeClient, obj: Mapping[str, Any]) -> str | None:
        """None when the live object carries every rendered field; else what is off."""
        meta = obj["metadata"]
        live = kube.get(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
        ref = f"{obj['kind']} {meta.get('namespace', '') + '/' if meta.get('namespace') else ''}{meta['name']}"
        if live is None:
            return f"{ref} does not exist"
        wanted = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "status")}
        return None if carries(live, wanted) else f"{ref} differs from the rendered one"

    def children(self, kube: KubeClient) -> tuple[bool, str]:
        """Are all of this env's add-on Applications settled? (ready, which are not and why)."""
        found = kube.list(ARGOCD_API, "Application", ARGOCD_NAMESPACE, f"kyeol.io/env={self.env.name}")
        # The env label also marks the env's other Applications (saleor-<env>, phase 8): only
        # the add-ons are this step's to wait for.
        wanted = set(child_names(self.env))
        states = {s.name: s for s in (ApplicationState(app) for app in found) if s.name in wanted}
        missing = [name for name in child_names(self.env) if name not in states]
        failed = [s for s in states.values() if s.operation_failed]
        if failed:
            raise PermanentError(
                "add-on sync failed and Argo CD will not retry the same commit: " + " | ".join(s.describe() for s in failed),
                hint="fix the add-on (values, CRDs, IAM role) in kyeol-platform-gitops and push, then run kyeol again",
            )
        waiting = [s for s in states.values() if not s.settled]
        if not missing and not waiting:
            return True, f"{len(states)} add-on Applications Synced and Healthy: {', '.join(sorted(states))}"
        parts = [s.describe() for s in sorted(waiting, key=lambda s: s.name)]
        if missing:
            parts.append(f"not created yet: {', '.join(missing)} (the add-on ApplicationSets make them from the cluster Secret)")
        ready = len(states) - len(waiting)
        return False, f"{ready}/{len(child_names(self.env))} ready; " + " | ".join(parts)

    def webhook(self, ctx: StepContext) -> tuple[bool, str]:
        return self._env_cluster(ctx).endpoints_ready(*LBC_WEBHOOK)

    # -- the four operations ---------------------------------------------------------------

    def check(self, ctx: StepContext) -> CheckResult:
        kube = self._mgmt(ctx)
        drift = [d for d in (self.object_drift(kube, obj) for obj in self.render(ctx)) if d]
        if drift:
            return CheckResult(False, "; ".join(drift))
        ready, detail = self.children(kube)
        if not ready:
            return CheckResult(False, detail)
        webhook_ready, webhook_detail = self.webhook(ctx)
        if not webhook_ready:
            return CheckResult(False, webhook_detail)
        return CheckResult(True, detail, {"addons": child_names(self.env), "lbc_webhook": webhook_detail})

    def plan(self, ctx: StepContext) -> Plan:
        objects = self.render(ctx)
        mgmt = self.services.config.mgmt.cluster_name
        waits = [
            f"then wait for {', '.join(child_names(self.env))} to be Synced+Healthy (reading their status)",
            f"then wait for {LBC_WEBHOOK[0]}/{LBC_WEBHOOK[1]} endpoints on {self.env.cluster_name}",
        ]
        try:
            kube = self._mgmt(ctx)
            changes = []
            for obj in objects:
                drift = self.object_drift(kube, obj)
                if drift:
                    changes.append(
                        Change(
                            "create" if drift.endswith("does not exist") else "update",
                            _target(obj, mgmt),
                            f"server-side apply: {drift}",
                        )
                    )
        except Unavailable as exc:
            changes = [Change("create", _target(obj, mgmt), "server-side apply") for obj in objects]
            return Plan(changes=changes, notes=[f"could not read MGMT: {exc.message}", *waits])
        if not changes:
            try:
                ready, detail = self.children(kube)
                if ready and self.webhook(ctx)[0]:
                    return Plan()
            except Unavailable as exc:
                detail = f"could not read: {exc.message}"
            changes.append(Change("read", f"add-on Applications of {self.env.name}", f"wait: {detail}"))
        return Plan(changes=changes, notes=waits)

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        kube = self._mgmt(ctx)
        for obj in self.render(ctx):
            kube.apply(obj)
            ctx.changed("update", _target(obj, self.services.config.mgmt.cluster_name), "server-side apply")
            ctx.log.info(
                "applied", kind=obj["kind"], name=obj["metadata"]["name"], cluster=self.services.config.mgmt.cluster_name
            )
        children = self.wait_children(ctx, kube)
        webhook = self.wait_webhook(ctx)
        return {"addons": child_names(self.env), "children": children, "lbc_webhook": webhook}

    def wait_children(self, ctx: StepContext, kube: KubeClient) -> str:
        what = f"add-on Applications of {self.env.name} ({', '.join(child_names(self.env))}) to be Synced and Healthy"
        ctx.waiting_for(what)
        return wait_for(
            lambda: self.children(kube),
            what=what,
            timeout=CHILDREN_TIMEOUT_S,
            clock=ctx.clock,
            cancel=ctx.cancel,
            deadline=ctx.deadline,
            on_poll=lambda n, ready, detail: ctx.waiting_for(f"add-ons of {self.env.name}: {detail[:160]}"),
            hint=f"look at the named Applications (kubectl -n {ARGOCD_NAMESPACE} get applications -l kyeol.io/env={self.env.name} "
            "on MGMT); run kyeol again to resume waiting",
        )

    def wait_webhook(self, ctx: StepContext) -> str:
        namespace, name = LBC_WEBHOOK
        what = f"the AWS Load Balancer Controller webhook ({namespace}/{name}) on {self.env.cluster_name} to have ready endpoints"
        ctx.waiting_for(what)
        return wait_for(
            lambda: self.webhook(ctx),
            what=what,
            timeout=WEBHOOK_TIMEOUT_S,
            clock=ctx.clock,
            cancel=ctx.cancel,
            deadline=ctx.deadline,
            interval=3.0,
            max_interval=15.0,
            hint=f"look at the controller's pods: kubectl -n {namespace} get pods -l app.kubernetes.io/name=aws-load-balancer-controller",
        )


def _target(obj: Mapping[str, Any], cluster: str) -> str:
    meta = obj["metadata"]
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj['kind']} {where}{meta['name']} on {cluster}"


def build(services: Services, env: EnvConfig) -> list[Step]:
    return [AddonsStep(services, env)] if env.is_target else []
