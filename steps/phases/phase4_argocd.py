"""Phase 4: Argo CD on the MGMT cluster, installed with helm at a pinned chart version.

The release is ``argocd`` in namespace ``argocd`` from chart ``argo/argo-cd`` 10.1.1 (app
v3.4.4), with the values in ``kyeol-platform-gitops/clusters/mgmt/argocd-values.yaml`` and the
IRSA role from Terraform (``argocd_manager_role_arn``) set on the three service accounts that
assume the per-cluster deployer roles. It is done when helm reports that release deployed at
that version with exactly those values, and Argo CD's server, repo server and application
controller are ready — so a second run installs nothing, and a changed values file makes the
step due again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from runbook.errors import PermanentError, Unavailable
from runbook.step import SHARED, Change, CheckResult, Plan, Step, StepContext, digest_files
from runbook.waits import wait_for
from steps.adapters.helm import ChartInstall, Release, user_values
from steps.wiring.config import ARGOCD_NAMESPACE, EnvConfig
from steps.wiring.services import Services

if TYPE_CHECKING:
    from steps.adapters.kube import KubeClient

RELEASE = "argocd"
CHART = "argo-cd"
CHART_REF = "argo/argo-cd"
CHART_VERSION = "10.1.1"
APP_VERSION = "v3.4.4"
CHART_REPO = "https://argoproj.github.io/argo-helm"
VALUES_FILE = Path("clusters/mgmt/argocd-values.yaml")
# The chart keys whose service accounts get the IRSA annotation (argo-helm values.yaml).
IRSA_VALUE_KEYS = ("controller", "server", "applicationSet")
ROLE_ANNOTATION_KEY = "eks\\.amazonaws\\.com/role-arn"
# Install → pods ready takes ~1.5 min, up to 3.5 min seen; others raised helm's timeout from
# 5 to 15 min after hitting it (reference/durations.md). helm waits 10 min, kyeol 10 more.
HELM_TIMEOUT_S = 600.0
READY_TIMEOUT_S = 600.0
WORKLOADS = (
    ("Deployment", "argocd-server"),
    ("Deployment", "argocd-repo-server"),
    ("StatefulSet", "argocd-application-controller"),
)


def values_differences(wanted: Any, actual: Any, path: str = "") -> list[str]:
    """Dotted paths where two values trees differ (for "values drifted at …")."""
    if isinstance(wanted, Mapping) and isinstance(actual, Mapping):
        found: list[str] = []
        for key in sorted(set(wanted) | set(actual), key=str):
            found += values_differences(wanted.get(key), actual.get(key), f"{path}.{key}" if path else str(key))
        return found
    return [] if wanted == actual else [path or "(root)"]


class ArgoCdStep(Step):
    """helm upgrade --install argo/argo-cd on MGMT; done when deployed as wanted and ready."""

    id = "argocd"
    phase = 4
    title = f"Argo CD on MGMT (helm {CHART_REF} {CHART_VERSION})"
    needs = ("mgmt.infra",)
    scope = SHARED
    max_attempts = 2
    retry_budget_s = 600.0  # transient errors: retried for up to 10 minutes (issue 10)
    timeout_s = HELM_TIMEOUT_S + READY_TIMEOUT_S + 300.0
    estimate_s = 120.0

    def __init__(self, services: Services, env: EnvConfig) -> None:
        self.services = services
        self.config = services.config
        self.values_path = self.config.paths.platform_repo / VALUES_FILE

    def inputs(self) -> Any:
        return {
            "release": f"{ARGOCD_NAMESPACE}/{RELEASE}",
            "chart": CHART_REF,
            "repo": CHART_REPO,
            "version": CHART_VERSION,
            "values": digest_files([self.values_path]) if self.values_path.exists() else "missing",
        }

    # -- what is wanted ------------------------------------------------------------------

    def values_document(self) -> dict[str, Any]:
        try:
            doc = yaml.safe_load(self.values_path.read_text(encoding="utf-8")) or {}
        except FileNotFoundError:
            raise PermanentError(
                f"the Argo CD values file {self.values_path} does not exist",
                hint="restore kyeol-platform-gitops/clusters/mgmt/argocd-values.yaml, or point --platform-repo at the tree",
            ) from None
        except yaml.YAMLError as exc:
            raise PermanentError(f"{self.values_path} is not valid YAML: {exc}", hint="fix the YAML syntax") from None
        if not isinstance(doc, dict):
            raise PermanentError(f"{self.values_path} must hold a mapping of chart values")
        return doc

    @staticmethod
    def set_values(role_arn: str) -> dict[str, str]:
        return {f"{key}.serviceAccount.annotations.{ROLE_ANNOTATION_KEY}": role_arn for key in IRSA_VALUE_KEYS}

    def chart_install(self, role_arn: str) -> ChartInstall:
        """The helm install phase 4 runs (tests render the real chart from exactly this)."""
        return ChartInstall(
            RELEASE, CHART, CHART_VERSION, CHART_REPO, ARGOCD_NAMESPACE, (str(self.values_path),), self.set_values(role_arn)
        )

    def wanted_values(self, role_arn: str) -> dict[str, Any]:
        return user_values([self.values_document()], self.set_values(role_arn))

    def _mgmt(self, ctx: StepContext) -> tuple[Any, str]:
        outputs = ctx.outputs_of("mgmt.infra")
        role_arn = str(ctx.output("mgmt.infra", "argocd_manager_role_arn"))
        return self.services.kube(outputs), role_arn

    # -- reality --------------------------------------------------------------------------

    def release_problems(self, ctx: StepContext, kube: KubeClient, role_arn: str) -> tuple[list[str], Release | None]:
        """Why the live release is not the wanted one ([] when it is)."""
        helm = self.services.helm
        release = helm.release(RELEASE, ARGOCD_NAMESPACE, kube, ctx=ctx)
        if release is None:
            return [f"helm release {ARGOCD_NAMESPACE}/{RELEASE} is not installed"], None
        problems: list[str] = []
        if release.status != "deployed":
            problems.append(f"helm release {ARGOCD_NAMESPACE}/{RELEASE} is {release.status}")
        if release.chart != CHART or release.chart_version != CHART_VERSION:
            problems.append(f"chart {release.chart} {release.chart_version} is installed, {CHART} {CHART_VERSION} is wanted")
        live = helm.get_values(RELEASE, ARGOCD_NAMESPACE, kube, ctx=ctx)
        drift = values_differences(self.wanted_values(role_arn), live)
        if drift:
            shown = ", ".join(drift[:5]) + (f" and {len(drift) - 5} more" if len(drift) > 5 else "")
            problems.append(f"values differ from {self.values_path.name} at {shown}")
        return problems, release

    @staticmethod
    def workload_problems(kube: KubeClient) -> list[str]:
        problems = []
        for kind, name in WORKLOADS:
            ready, detail = kube.workload_ready(kind, ARGOCD_NAMESPACE, name)
            if not ready:
                problems.append(detail)
        return problems

    @staticmethod
    def _outputs(release: Release | None) -> dict[str, Any]:
        return {
            "release": f"{ARGOCD_NAMESPACE}/{RELEASE}",
            "chart_version": release.chart_version if release else CHART_VERSION,
            "app_version": (release.app_version if release else "") or APP_VERSION,
            "revision": release.revision if release else 0,
        }

    # -- the four operations ---------------------------------------------------------------

    def check(self, ctx: StepContext) -> CheckResult:
        kube, role_arn = self._mgmt(ctx)
        problems, release = self.release_problems(ctx, kube, role_arn)
        if problems:
            return CheckResult(False, "; ".join(problems))
        waiting = self.workload_problems(kube)
        if waiting:
            return CheckResult(False, "Argo CD is installed but not ready: " + "; ".join(waiting))
        return CheckResult(
            True, f"{CHART} {CHART_VERSION} deployed with the wanted values; Argo CD ready", self._outputs(release)
        )

    def plan(self, ctx: StepContext) -> Plan:
        target = f"helm release {ARGOCD_NAMESPACE}/{RELEASE} on {self.config.mgmt.cluster_name}"
        values = f"values {self.values_path.relative_to(self.config.paths.platform_repo.parent)}"
        try:
            role_arn = str(ctx.output("mgmt.infra", "argocd_manager_role_arn"))
        except Unavailable:
            role_arn = "<argocd_manager_role_arn of mgmt.infra>"
        self.values_document()  # a broken values file is reported by a dry-run too
        detail = (
            f"helm upgrade --install {RELEASE} {CHART_REF} --version {CHART_VERSION} (app {APP_VERSION}) "
            f"-n {ARGOCD_NAMESPACE} --atomic --wait --timeout 10m, {values}, IRSA role {role_arn} on "
            + ", ".join(f"{k}.serviceAccount" for k in IRSA_VALUE_KEYS)
        )
        try:
            kube, role_arn = self._mgmt(ctx)
            problems, release = self.release_problems(ctx, kube, role_arn)
        except Unavailable as exc:
            return Plan(changes=[Change("create", target, detail)], notes=[f"could not read the live release: {exc.message}"])
        if not problems:
            waiting = self.workload_problems(kube)
            return (
                Plan(
                    changes=[
                        Change("read", f"Argo CD workloads in {ARGOCD_NAMESPACE}", "wait until ready: " + "; ".join(waiting))
                    ]
                )
                if waiting
                else Plan()
            )
        action = "create" if release is None else "update"
        return Plan(changes=[Change(action, target, detail + "; because " + "; ".join(problems))])

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        kube, role_arn = self._mgmt(ctx)
        problems, release = self.release_problems(ctx, kube, role_arn)
        if release is not None and release.status.startswith("pending-"):
            self.settle_pending(ctx, kube, release)
            problems, release = self.release_problems(ctx, kube, role_arn)
        if problems:
            ctx.log.info("installing Argo CD", reasons=problems, chart=CHART_REF, version=CHART_VERSION)
            ctx.waiting_for(f"helm upgrade --install {RELEASE} ({CHART_REF} {CHART_VERSION})")
            before = release
            release = (
                self.services.helm.install(self.chart_install(role_arn), kube_env=kube, timeout=HELM_TIMEOUT_S, ctx=ctx)
                or release
            )
            ctx.changed(
                "create" if before is None else "update",
                f"helm release {ARGOCD_NAMESPACE}/{RELEASE}",
                f"{CHART_REF} {CHART_VERSION}: " + "; ".join(problems),
            )
        self.wait_ready(ctx, kube)
        return self._outputs(release)

    def verify(self, ctx: StepContext) -> dict[str, Any]:
        kube, role_arn = self._mgmt(ctx)
        problems, release = self.release_problems(ctx, kube, role_arn)
        if problems:
            raise PermanentError(
                "after helm upgrade --install, the release is still not as wanted: " + "; ".join(problems),
                hint=f"look at `helm history {RELEASE} -n {ARGOCD_NAMESPACE}` on {self.config.mgmt.cluster_name}",
            )
        return self._outputs(release)

    def settle_pending(self, ctx: StepContext, kube: KubeClient, release: Release) -> None:
        """A release pending-install/-upgrade/-rollback: wait for the helm at work, or clear
        up after one that is gone.

        A helm at work on this machine (one that outlived the kyeol run that started it) is
        waited for, rather than refused ("another operation is in progress") or run twice.
        When none is, and this step's last apply was cut short (the kyeol run, helm with it,
        was killed), the pending operation is that dead helm's: a first install
        (pending-install; helm v3 pkg/action/install.go records it before it creates anything)
        has nothing to roll back to, so it is uninstalled and installed again; a pending
        upgrade or rollback stops at once, naming the rollback to do. Without that record a
        helm elsewhere may be at work, so it is waited for, as before.
        """
        helm = self.services.helm
        live = helm.live_operations(RELEASE, ARGOCD_NAMESPACE)
        if live or not ctx.apply_cut_short:
            self.wait_settled(ctx, kube, pids=live)
            return
        ctx.log.warning(
            "helm release left pending by a run that is gone",
            release=f"{ARGOCD_NAMESPACE}/{RELEASE}",
            status=release.status,
            revision=release.revision,
        )
        if release.status == "pending-install":
            ctx.waiting_for(f"helm uninstall {RELEASE} (a first install left pending-install by a killed run)")
            helm.uninstall(RELEASE, ARGOCD_NAMESPACE, kube, timeout=HELM_TIMEOUT_S, ctx=ctx)
            return
        raise PermanentError(
            f"helm release {ARGOCD_NAMESPACE}/{RELEASE} is {release.status} (revision {release.revision}) and no helm "
            "works on it any more: the kyeol run that started it was killed",
            hint=f"look at `helm history {RELEASE} -n {ARGOCD_NAMESPACE}` on {self.config.mgmt.cluster_name}, roll back "
            f"to the last deployed revision (`helm rollback {RELEASE} <revision> -n {ARGOCD_NAMESPACE}`), then run kyeol again",
        )

    def wait_settled(self, ctx: StepContext, kube: KubeClient, *, pids: Sequence[int] = ()) -> str:
        """Wait while the release is pending-install/-upgrade/-rollback (another helm at work)."""
        who = f" (helm pid {', '.join(map(str, pids))} on this machine)" if pids else " (by a helm elsewhere)"
        what = f"the helm operation in progress on {ARGOCD_NAMESPACE}/{RELEASE} to finish{who}"
        ctx.waiting_for(what)

        def probe() -> tuple[bool, str]:
            release = self.services.helm.release(RELEASE, ARGOCD_NAMESPACE, kube, ctx=ctx)
            status = release.status if release is not None else "gone"
            return not status.startswith("pending-"), f"helm release {ARGOCD_NAMESPACE}/{RELEASE} is {status}"

        return wait_for(
            probe,
            what=what,
            timeout=HELM_TIMEOUT_S,
            clock=ctx.clock,
            cancel=ctx.cancel,
            deadline=ctx.deadline,
            on_poll=lambda n, ready, detail: ctx.waiting_for(f"{what}: {detail}"),
            hint=f"no helm seems to be working on it any more: look at `helm history {RELEASE} -n {ARGOCD_NAMESPACE}`; "
            f"a pending-install (first install) has nothing to roll back to: `helm uninstall {RELEASE} -n {ARGOCD_NAMESPACE}`; "
            f"otherwise roll back to the last deployed revision (`helm rollback {RELEASE} <revision> -n {ARGOCD_NAMESPACE}`); "
            "then run kyeol again",
        )

    def wait_ready(self, ctx: StepContext, kube: KubeClient) -> str:
        what = "Argo CD server, repo server and application controller to be ready"
        ctx.waiting_for(what)

        def probe() -> tuple[bool, str]:
            problems = self.workload_problems(kube)
            return (not problems, "; ".join(problems) or "all ready")

        return wait_for(
            probe,
            what=what,
            timeout=READY_TIMEOUT_S,
            clock=ctx.clock,
            cancel=ctx.cancel,
            deadline=ctx.deadline,
            on_poll=lambda n, ready, detail: ctx.waiting_for(f"{what}: {detail}"),
            hint=f"look at the pods: kubectl -n {ARGOCD_NAMESPACE} get pods (on {self.config.mgmt.cluster_name})",
        )


def build(services: Services, env: EnvConfig) -> list[Step]:
    return [ArgoCdStep(services, env)]
