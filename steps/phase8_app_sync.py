"""Phase 8: Saleor of one environment, synced by Argo CD at the wanted Git revision.

kyeol server-side applies ``kyeol-app-gitops/argocd/applications/saleor-<env>.yaml`` on MGMT,
resolves the configured Git revision to a commit (``git ls-remote``), and reads the
Application's status directly. If it is not Synced at that commit and no sync is under way, it
starts one the way the Argo CD CLI does — by setting ``.operation.sync`` with the revision —
then waits until the Application is Synced and Healthy at that commit and the database
migration (a PreSync hook Job) Succeeded. A Degraded Application or a failed sync stops the
wait at once, naming the failing resources and their messages; otherwise the wait ends at its
deadline with the same detail. It never calls ``argocd app wait`` (argo-cd #12211, #1935).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

import yaml

from runbook.errors import PermanentError, Unavailable
from runbook.step import Change, CheckResult, Plan, Step, StepContext, digest_files
from runbook.waits import wait_for
from steps.adapters.kube import ARGOCD_API, ApplicationState, carries
from steps.config import ARGOCD_NAMESPACE, EnvConfig
from steps.services import Services

APPLICATIONS = Path("argocd/applications")
# Migrations, pods, ALB and DNS: ~9 min, 5-20 seen (reference/durations.md).
SYNC_TIMEOUT_S = 1500.0
GIT_TIMEOUT_S = 60.0
_SHA = re.compile(r"^[0-9a-f]{40}$")


def unmet(state: ApplicationState, revision: str) -> list[str]:
    """What keeps the Application from being done at ``revision`` ([] when nothing)."""
    problems: list[str] = []
    if state.operating:
        running = state.operation_phase in ("Running", "Terminating")
        problems.append(f"a sync is {state.operation_phase.lower()}" if running else "a sync is requested")
    if state.sync != "Synced":
        problems.append(f"sync status is {state.sync}")
    if state.revision != revision:
        problems.append(f"synced revision is {state.revision[:12] or 'none'}, want {revision[:12]}")
    if state.health != "Healthy":
        problems.append(f"health is {state.health}" + (f" ({state.health_message})" if state.health_message else ""))
    if not state.operating:
        if state.operation_phase != "Succeeded":
            problems.append(f"last operation is {state.operation_phase or 'none'}")
        elif state.operation_revision and state.operation_revision != revision:
            problems.append(f"last operation synced {state.operation_revision[:12]}, not {revision[:12]}")
        else:
            presync = state.hooks("PreSync")
            jobs = [h for h in presync if h.get("kind") == "Job"]
            if not jobs:
                problems.append("the last sync ran no PreSync Job (the database migration)")
            for hook in presync:
                if hook.get("hookPhase") != "Succeeded":
                    problems.append(f"PreSync hook {hook.get('kind')} {hook.get('name')} is {hook.get('hookPhase') or 'pending'}")
    return problems


class SyncStep(Step):
    """saleor-<env> Application: present, synced at the configured revision, healthy, migrated."""

    phase = 8
    max_attempts = 2
    timeout_s = SYNC_TIMEOUT_S + 300.0
    estimate_s = 540.0

    def __init__(self, services: Services, env: EnvConfig) -> None:
        self.services = services
        self.config = services.config
        self.env = env
        self.id = f"{env.name}.sync"
        self.title = f"Saleor on {env.name} synced by Argo CD"
        self.needs = (f"{env.name}.addons", f"{env.name}.images")
        self.scope = env.name
        self.app_name = env.argocd_app_name
        self.app_file = self.config.paths.app_repo / APPLICATIONS / f"{self.app_name}.yaml"
        self._revision: str | None = None

    def inputs(self) -> Any:
        return {
            "application": digest_files([self.app_file]) if self.app_file.exists() else "missing",
            "git_repo_url": self.config.git_repo_url,
            "git_revision": self.config.git_revision,
        }

    # -- what is wanted ------------------------------------------------------------------

    def application(self) -> dict[str, Any]:
        """The Application manifest from the app GitOps tree, checked against the configuration."""
        try:
            doc = yaml.safe_load(self.app_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise PermanentError(f"{self.app_file} does not exist", hint="point --app-repo at the app GitOps tree") from None
        except yaml.YAMLError as exc:
            raise PermanentError(f"{self.app_file} is not valid YAML: {exc}") from None
        meta = (doc or {}).get("metadata") or {}
        if not isinstance(doc, dict) or doc.get("kind") != "Application" or doc.get("apiVersion") != ARGOCD_API:
            raise PermanentError(f"{self.app_file} is not an Argo CD Application ({ARGOCD_API})")
        if meta.get("name") != self.app_name or meta.get("namespace", ARGOCD_NAMESPACE) != ARGOCD_NAMESPACE:
            raise PermanentError(f"{self.app_file} must define Application {ARGOCD_NAMESPACE}/{self.app_name}, not {meta.get('namespace')}/{meta.get('name')}")
        source = (doc.get("spec") or {}).get("source") or {}
        target = source.get("targetRevision", "HEAD")
        if target != self.config.git_revision or source.get("repoURL") != self.config.git_repo_url:
            raise PermanentError(
                f"{self.app_file} tracks {source.get('repoURL')}@{target}, but kyeol is configured for "
                f"{self.config.git_repo_url}@{self.config.git_revision}",
                hint=f"make spec.source of {self.app_file.name} and [project] git_repo_url/git_revision in kyeol.toml agree",
            )
        doc["metadata"].setdefault("namespace", ARGOCD_NAMESPACE)
        return doc

    def expected_revision(self, ctx: StepContext | None = None) -> str:
        """The commit the configured revision names (a full SHA as is; else ``git ls-remote``)."""
        if self._revision:
            return self._revision
        wanted = self.config.git_revision
        if _SHA.match(wanted):
            self._revision = wanted
            return wanted
        git = self.services.environ.get("KYEOL_GIT", "git")
        self.services.process.require(git, hint="install git (kyeol resolves the Git revision Argo CD should be at)")
        done = self.services.process.run(
            [git, "ls-remote", self.config.git_repo_url, wanted, f"refs/heads/{wanted}", f"refs/tags/{wanted}^{{}}"],
            timeout=GIT_TIMEOUT_S, mutating=False, check=False, ctx=ctx, env={"GIT_TERMINAL_PROMPT": "0"},
        )
        if done.returncode != 0:
            raise Unavailable(
                f"cannot resolve {wanted} in {self.config.git_repo_url}: {(done.stderr or done.stdout).strip()[-300:]}",
                hint="check network access to the Git host (kyeol compares Argo CD's synced commit with it)",
            )
        refs: dict[str, str] = {}
        for line in done.stdout.splitlines():
            sha, _, ref = line.partition("\t")
            refs[ref.strip()] = sha.strip()
        for ref in (f"refs/tags/{wanted}^{{}}", f"refs/tags/{wanted}", f"refs/heads/{wanted}", wanted):
            if _SHA.match(refs.get(ref, "")):
                self._revision = refs[ref]
                return self._revision
        raise PermanentError(
            f"revision {wanted!r} does not exist in {self.config.git_repo_url}",
            hint="push it, or fix [project] git_revision in kyeol.toml",
        )

    def _mgmt(self, ctx: StepContext) -> Any:
        return self.services.kube(ctx.outputs_of("mgmt.infra"))

    def _state(self, kube: Any) -> ApplicationState | None:
        live = kube.get(ARGOCD_API, "Application", self.app_name, ARGOCD_NAMESPACE)
        return ApplicationState(live) if live is not None else None

    def _spec_drift(self, kube: Any, wanted: Mapping[str, Any]) -> str | None:
        live = kube.get(ARGOCD_API, "Application", self.app_name, ARGOCD_NAMESPACE)
        if live is None:
            return f"Application {self.app_name} does not exist"
        body = {k: v for k, v in wanted.items() if k not in ("apiVersion", "kind", "status")}
        return None if carries(live, body) else f"Application {self.app_name} differs from {self.app_file.name}"

    # -- the four operations ---------------------------------------------------------------

    def check(self, ctx: StepContext) -> CheckResult:
        kube = self._mgmt(ctx)
        drift = self._spec_drift(kube, self.application())
        if drift:
            return CheckResult(False, drift)
        revision = self.expected_revision(ctx)
        state = self._state(kube)
        assert state is not None
        problems = unmet(state, revision)
        if problems:
            return CheckResult(False, f"{self.app_name}: " + "; ".join(problems))
        return CheckResult(True, f"{self.app_name} Synced and Healthy at {revision[:12]}, migration succeeded", self._outputs(revision))

    def plan(self, ctx: StepContext) -> Plan:
        wanted = self.application()
        mgmt = self.config.mgmt.cluster_name
        target = f"Application {ARGOCD_NAMESPACE}/{self.app_name} on {mgmt}"
        wait = f"then wait for {self.app_name} to be Synced+Healthy with the PreSync migration Job Succeeded"
        try:
            revision = self.expected_revision(ctx)
        except Unavailable as exc:
            revision = ""
            note = f"could not resolve {self.config.git_revision}: {exc.message}"
        else:
            note = f"{self.config.git_revision} is {revision[:12]}"
        try:
            kube = self._mgmt(ctx)
            drift = self._spec_drift(kube, wanted)
            state = self._state(kube)
        except Unavailable as exc:
            return Plan(
                changes=[Change("create", target, f"server-side apply {self.app_file.name}"), Change("run", f"sync {self.app_name}", f"to {self.config.git_revision}")],
                notes=[note, f"could not read MGMT: {exc.message}", wait],
            )
        changes = []
        if drift:
            changes.append(Change("create" if state is None else "update", target, f"server-side apply: {drift}"))
        problems = unmet(state, revision) if state is not None and revision else ["not synced yet"]
        if problems:
            changes.append(Change("run", f"sync {self.app_name}", f"to {revision[:12] or self.config.git_revision}: " + "; ".join(problems)))
        return Plan(changes=changes, notes=[note, wait] if changes else [note])

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        kube = self._mgmt(ctx)
        kube.apply(self.application())
        revision = self.expected_revision(ctx)
        state = self._state(kube)
        if state is not None and unmet(state, revision) and not state.operating:
            self.start_sync(ctx, kube, revision)
        self.wait_synced(ctx, kube, revision)
        return self._outputs(revision)

    def start_sync(self, ctx: StepContext, kube: Any, revision: str) -> None:
        """Ask Argo CD to sync to ``revision``: set ``.operation`` as the CLI's sync does."""
        operation = {
            "operation": {
                "initiatedBy": {"username": "kyeol"},
                "info": [{"name": "Reason", "value": f"kyeol deploy ({ctx.run_id})"}],
                "sync": {"revision": revision, "prune": True, "syncStrategy": {"hook": {}}},
            }
        }
        kube.merge_patch(ARGOCD_API, "Application", self.app_name, ARGOCD_NAMESPACE, operation)
        ctx.log.info("sync started", application=self.app_name, revision=revision)

    def wait_synced(self, ctx: StepContext, kube: Any, revision: str) -> str:
        what = f"{self.app_name} to be Synced and Healthy at {revision[:12]} with its migration done"
        ctx.waiting_for(what)

        def probe() -> tuple[bool, str]:
            state = self._state(kube)
            if state is None:
                raise PermanentError(f"Application {self.app_name} disappeared while kyeol waited for it", hint="someone deleted it; run kyeol again")
            if not state.operating and state.health == "Degraded":
                raise PermanentError(
                    f"{self.app_name} is Degraded: {state.describe()}",
                    hint=f"look at the named resources on {self.env.cluster_name} (kubectl -n saleor describe …, kubectl -n saleor logs …)",
                )
            if state.operation_failed:
                raise PermanentError(
                    f"the sync of {self.app_name} failed: {state.describe()}",
                    hint="fix the failing resource in kyeol-app-gitops (a failed migration Job: read its logs), push, and run kyeol again",
                )
            problems = unmet(state, revision)
            return (not problems, "; ".join(problems) or state.describe())

        return wait_for(
            probe,
            what=what,
            timeout=SYNC_TIMEOUT_S,
            clock=ctx.clock,
            cancel=ctx.cancel,
            deadline=ctx.deadline,
            on_poll=lambda n, ready, detail: ctx.waiting_for(f"{self.app_name}: {detail[:160]}"),
            hint=f"kubectl -n {ARGOCD_NAMESPACE} get application {self.app_name} -o yaml (on MGMT) shows the status; "
            "run kyeol again to resume waiting",
        )

    def _outputs(self, revision: str) -> dict[str, Any]:
        return {"application": f"{ARGOCD_NAMESPACE}/{self.app_name}", "revision": revision}


def build(services: Services, env: EnvConfig) -> list[Step]:
    return [SyncStep(services, env)] if env.is_target else []
