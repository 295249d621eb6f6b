"""Phase 8: Saleor of one environment, synced by Argo CD at the wanted Git revision.

kyeol server-side applies ``kyeol-app-gitops/argocd/applications/saleor-<env>.yaml`` on MGMT,
resolves the configured Git revision to a commit (``git ls-remote``), and reads the
Application's status directly. If it is not Synced at that commit and no sync is under way, it
starts one the way the Argo CD CLI does — by setting ``.operation.sync`` with the revision —
then waits until the Application is Synced and Healthy at that commit and the database
migration (a PreSync hook Job) Succeeded. A Degraded Application or a failed sync stops the
wait at once, naming the failing resources and their messages; otherwise the wait ends at its
deadline with the same detail. It never calls ``argocd app wait`` (argo-cd #12211, #1935).

The same step gives the ALB CloudFront's secret origin header (kyeol-app-gitops/README.md,
"Deploy-time contract"). The load balancer controller reads ALB rule conditions only from
Ingress annotations, so Git carries the fail-closed placeholder ``kyeol-origin-verify-pending``
and kyeol writes the value of Secrets Manager ``jung-<env>-origin-verify`` in its place, on the
env cluster, with server-side apply (field manager ``kyeol-origin-verify``). It does so inside
the wait, on the first poll that finds the Ingress, not after Healthy: Healthy does not depend on
the header (target health checks bypass listener rules), and until the patch every request from
CloudFront gets 403, so patching while the pods and the ALB still converge costs nothing and
shortens that window. Every later poll re-checks it, so the wait ends only when the Application
is Healthy *and* the header is set. The value is registered with the redactor as soon as it is
read, and kyeol itself never puts it in a log line, an output, a plan or an error; a dry-run
does not read it at all.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from runbook.errors import PermanentError, Unavailable
from runbook.retry import Classifier, RetryPolicy, call_with_retries
from runbook.step import Change, CheckResult, Plan, Step, StepContext, digest_files
from runbook.waits import wait_for
from steps.adapters.kube import ARGOCD_API, ApplicationState, KubeClient, KubeConflict, carries
from steps.wiring.config import ARGOCD_NAMESPACE, SALEOR_NAMESPACE, EnvConfig
from steps.wiring.services import Services

APPLICATIONS = Path("argocd/applications")
# Migrations, pods, ALB and DNS: ~9 min, 5-20 seen (reference/durations.md).
SYNC_TIMEOUT_S = 1500.0
GIT_TIMEOUT_S = 60.0
_SHA = re.compile(r"^[0-9a-f]{40}$")
# The sync request: named in the operation's info, so a re-read can tell it landed.
REQUEST_INFO = "kyeol-request"
SYNC_REQUEST_RETRY = RetryPolicy(max_attempts=50, initial=1.0, maximum=15.0, jitter=1.0, budget_s=300.0)
# A transient answer (5xx, 429, a reset) may hide a write that happened; a 409 says the
# Application changed since kyeol read it. Either way: read it again and decide again.
_SYNC_REQUEST_CLASSIFIER = Classifier().add("changed since read (409)", lambda e: isinstance(e, KubeConflict))

# The origin-header contract (kyeol-app-gitops/README.md, apps/saleor/base/ingress.yaml).
INGRESS_API = "networking.k8s.io/v1"
ORIGIN_LABEL = "kyeol.io/origin-verify"
ORIGIN_SECRET_ANNOTATION = "kyeol.io/origin-verify-secret-name"  # noqa: S105 - the annotation's name, not a secret
CONDITIONS_PREFIX = "alb.ingress.kubernetes.io/conditions."
PLACEHOLDER = "kyeol-origin-verify-pending"
ORIGIN_FIELD_MANAGER = "kyeol-origin-verify"
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,64}$")
# ALB http-header condition values are at most 128 characters and read `*` and `?` as
# wildcards; a value that JSON or a log line would escape could slip past redaction in its
# escaped form. Terraform generates 48 letters and digits.
_HEADER_VALUE = re.compile(r"^[A-Za-z0-9._~+/=-]{16,128}$")


@dataclass(frozen=True)
class OriginHeader:
    """The header CloudFront sends to the ALB, from Secrets Manager; ``value`` is secret (no repr)."""

    secret_name: str
    header: str
    value: str = field(repr=False)


@dataclass(frozen=True)
class IngressPatch:
    """What kyeol applies to one Ingress: every ``conditions.*`` annotation that carries the
    origin header condition, as it should read (secret: no repr), and which of them change.

    Annotations already right are applied too: server-side apply removes a field its manager
    stops applying, so leaving them out would delete the header condition kyeol set earlier.
    """

    namespace: str
    name: str
    annotations: Mapping[str, str] = field(repr=False)
    changed: tuple[str, ...]

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    def body(self) -> dict[str, Any]:
        """The apply configuration: identity and these annotations only."""
        return {
            "apiVersion": INGRESS_API,
            "kind": "Ingress",
            "metadata": {"name": self.name, "namespace": self.namespace, "annotations": dict(self.annotations)},
        }


def _ref(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


def _annotations(obj: Mapping[str, Any]) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("annotations") or {})


def placeholder_annotations(ingress: Mapping[str, Any]) -> list[str]:
    """The ``conditions.*`` annotations of ``ingress`` that still carry the placeholder."""
    return sorted(k for k, v in _annotations(ingress).items() if k.startswith(CONDITIONS_PREFIX) and PLACEHOLDER in str(v))


def rewrite_condition(raw: str, origin: OriginHeader, where: str) -> str | None:
    """``raw`` (a ``conditions.*`` annotation) with its http-header condition on ``origin.header``
    carrying the secret value; None when it has no such condition (not kyeol's).

    The placeholder becomes the value and everything else of the JSON stays. A condition that
    carries neither (the secret was rotated since) gets exactly the new value; one that already
    carries it is left as it is, other values included. ``raw`` is returned unchanged (same
    text) when nothing changes.
    """
    fix = (
        "fix the annotation in kyeol-app-gitops (apps/saleor/base/ingress.yaml): Git must hold the placeholder "
        f"inside an http-header condition on {origin.header}"
    )
    try:
        doc = json.loads(raw)
    except ValueError:
        doc = None
    if not isinstance(doc, list):
        if PLACEHOLDER in raw:
            raise PermanentError(f"{where} carries {PLACEHOLDER} but is not a JSON list of ALB conditions", hint=fix)
        return None
    updated = copy.deepcopy(doc)
    found = False
    for condition in updated:
        config = (
            condition.get("httpHeaderConfig") if isinstance(condition, dict) and condition.get("field") == "http-header" else None
        )
        if not isinstance(config, dict) or str(config.get("httpHeaderName", "")).lower() != origin.header.lower():
            continue
        found = True
        listed = config.get("values")
        values = listed if isinstance(listed, list) else []
        wanted = list(dict.fromkeys(origin.value if v == PLACEHOLDER else v for v in values))
        config["values"] = wanted if origin.value in wanted else [origin.value]
    if PLACEHOLDER in json.dumps(updated):
        raise PermanentError(
            f"{where} carries {PLACEHOLDER} outside an http-header condition on {origin.header}, "
            f"the header that Secrets Manager {origin.secret_name} is for",
            hint=fix + " (or make the header of the Terraform edge module agree with Git)",
        )
    if not found:
        return None
    return raw if updated == doc else json.dumps(updated, separators=(",", ":"), ensure_ascii=False)


def ingress_patch(ingress: Mapping[str, Any], origin: OriginHeader) -> IngressPatch:
    """What kyeol applies to ``ingress`` so that its ALB rules require ``origin``."""
    meta = ingress.get("metadata") or {}
    wanted: dict[str, str] = {}
    changed: list[str] = []
    for key, raw in sorted(_annotations(ingress).items()):
        if not key.startswith(CONDITIONS_PREFIX):
            continue
        rewritten = rewrite_condition(str(raw), origin, f"annotation {key} of Ingress {_ref(ingress)}")
        if rewritten is not None:
            wanted[key] = rewritten
            if rewritten != raw:
                changed.append(key)
    return IngressPatch(str(meta.get("namespace", "")), str(meta.get("name", "")), wanted, tuple(changed))


class OriginGuard:
    """The Ingresses of one env cluster that must carry the origin header, and setting it."""

    def __init__(self, kube: KubeClient, env: EnvConfig) -> None:
        self.kube = kube
        self.env = env
        self.cluster = env.cluster_name
        self.secret_name = env.secret_name("origin-verify")
        self.selector = f"{ORIGIN_LABEL}=true"

    def ingresses(self) -> list[dict[str, Any]]:
        """The labelled Ingresses in the Saleor namespace (each must name kyeol's secret, if any)."""
        found = self.kube.list(INGRESS_API, "Ingress", namespace=SALEOR_NAMESPACE, label_selector=self.selector)
        for ingress in found:
            named = _annotations(ingress).get(ORIGIN_SECRET_ANNOTATION)
            if named is not None and named != self.secret_name:
                raise PermanentError(
                    f"Ingress {_ref(ingress)} on {self.cluster} names secret {named!r} in {ORIGIN_SECRET_ANNOTATION}, "
                    f"but kyeol.toml gives this environment {self.secret_name}",
                    hint=f"make the {self.env.name} overlay of kyeol-app-gitops (ingress.yaml) name {self.secret_name}",
                )
        return found

    def missing(self) -> str:
        return (
            f"no Ingress in {SALEOR_NAMESPACE} on {self.cluster} is labelled {self.selector}, so the ALB can never "
            "be given CloudFront's origin header"
        )

    def pending(self, ingresses: list[dict[str, Any]]) -> dict[str, list[str]]:
        """Ingress → its annotations that still carry the placeholder (needs no secret)."""
        found = {_ref(i): placeholder_annotations(i) for i in ingresses}
        return {ref: names for ref, names in found.items() if names}

    def stale(self, ingresses: list[dict[str, Any]], origin: OriginHeader) -> list[IngressPatch]:
        """The patches that would change something."""
        return [p for p in (ingress_patch(i, origin) for i in ingresses) if p.changed]

    def set(self, ctx: StepContext, ingresses: list[dict[str, Any]], origin: OriginHeader) -> list[str]:
        """Apply every patch that changes something; returns the Ingresses written.

        ``force``: Argo CD created these annotations, so its field manager owns them; Git holds
        only a placeholder that the Application is told to ignore, and kyeol takes over exactly
        these keys (Argo CD does not write them back: RespectIgnoreDifferences).
        """
        written = []
        for patch in self.stale(ingresses, origin):
            self.kube.apply(patch.body(), field_manager=ORIGIN_FIELD_MANAGER, force=True)
            ctx.log.info(
                "origin header set",
                ingress=patch.ref,
                cluster=self.cluster,
                annotations=list(patch.changed),
                secret=self.secret_name,
                header=origin.header,
            )
            written.append(patch.ref)
        return written


def describe_annotations(ref: str, names: Iterable[str]) -> str:
    """``Ingress saleor/saleor (saleor-api, saleor-dashboard)``: which conditions of which Ingress."""
    return f"Ingress {ref} ({', '.join(n.removeprefix(CONDITIONS_PREFIX) for n in names)})"


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
    retry_budget_s = 600.0  # transient errors: retried for up to 10 minutes (issue 10)
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
        self.origin_secret = env.secret_name("origin-verify")
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
            raise PermanentError(
                f"{self.app_file} must define Application {ARGOCD_NAMESPACE}/{self.app_name}, not {meta.get('namespace')}/{meta.get('name')}"
            )
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
            timeout=GIT_TIMEOUT_S,
            mutating=False,
            check=False,
            ctx=ctx,
            env={"GIT_TERMINAL_PROMPT": "0"},
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

    def _mgmt(self, ctx: StepContext) -> KubeClient:
        return self.services.kube(ctx.outputs_of("mgmt.infra"))

    def _origin(self, ctx: StepContext) -> OriginGuard:
        return OriginGuard(self.services.kube(ctx.outputs_of(f"{self.env.name}.infra")), self.env)

    def origin_header(self, ctx: StepContext) -> OriginHeader:
        """The header and value CloudFront sends, from Secrets Manager; the value is registered
        with the redactor before anything else is done with it. Errors name the secret and the
        broken rule, never the value."""
        name, region = self.origin_secret, self.env.region
        doc = self.services.aws_for(self.env, region).secret_json(name)
        reapply = f"kyeol deploy --env {self.env.name} --from {self.env.name}.infra"
        if doc is None:
            raise PermanentError(
                f"Secrets Manager secret {name} does not exist in {region}: kyeol cannot give the ALB CloudFront's origin header",
                hint=f"apply envs/{self.env.name} first ({reapply}); its edge module creates {name} "
                '({"header": "X-Origin-Verify", "value": …})',
            )
        value = doc.get("value")
        if isinstance(value, str):
            ctx.secret(value)
        header = doc.get("header")
        rotate = f"bump origin_verify_version of envs/{self.env.name} and re-apply it ({reapply}) so Terraform writes a new one"
        if not isinstance(header, str) or not _HEADER_NAME.match(header):
            raise PermanentError(
                f'Secrets Manager secret {name} has no valid "header" (an HTTP header name such as X-Origin-Verify)',
                hint=f"re-apply envs/{self.env.name} ({reapply}): its edge module writes the header name",
            )
        if not isinstance(value, str) or not _HEADER_VALUE.match(value):
            shape = f"a {len(value)}-character string" if isinstance(value, str) else type(value).__name__
            raise PermanentError(
                f'the "value" of Secrets Manager secret {name} is {shape}; the ALB needs 16-128 letters, digits or -._~+/= '
                "(its header conditions read * and ? as wildcards)",
                hint=rotate,
            )
        return OriginHeader(name, header, value)

    def _state(self, kube: KubeClient) -> ApplicationState | None:
        live = kube.get(ARGOCD_API, "Application", self.app_name, ARGOCD_NAMESPACE)
        return ApplicationState(live) if live is not None else None

    def _spec_drift(self, kube: KubeClient, wanted: Mapping[str, Any]) -> str | None:
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
        origin = self._origin(ctx)
        ingresses = origin.ingresses()
        if not ingresses:
            return CheckResult(False, f"{self.app_name}: {origin.missing()}")
        pending = origin.pending(ingresses)
        if pending:
            where = "; ".join(describe_annotations(ref, names) for ref, names in pending.items())
            return CheckResult(
                False,
                f"{self.app_name}: the origin header is not set, so the ALB denies CloudFront: {PLACEHOLDER} is still in {where}",
            )
        note = ""
        if ctx.dry_run:
            note = " (a dry-run does not read its value to compare)"
        else:
            stale = origin.stale(ingresses, self.origin_header(ctx))
            if stale:
                where = "; ".join(describe_annotations(p.ref, p.changed) for p in stale)
                return CheckResult(
                    False,
                    f"{self.app_name}: the origin header in {where} is not the value of "
                    f"Secrets Manager {self.origin_secret} (rotated since it was set?)",
                )
        refs = ", ".join(_ref(i) for i in ingresses)
        return CheckResult(
            True,
            f"{self.app_name} Synced and Healthy at {revision[:12]}, migration succeeded, origin header set on {refs}{note}",
            self._outputs(revision),
        )

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
        origin_changes, origin_notes = self._plan_origin(ctx)
        try:
            kube = self._mgmt(ctx)
            drift = self._spec_drift(kube, wanted)
            state = self._state(kube)
        except Unavailable as exc:
            return Plan(
                changes=[
                    Change("create", target, f"server-side apply {self.app_file.name}"),
                    Change("run", f"sync {self.app_name}", f"to {self.config.git_revision}"),
                ]
                + origin_changes,
                notes=[note, f"could not read MGMT: {exc.message}", wait, *origin_notes],
            )
        changes = []
        if drift:
            changes.append(Change("create" if state is None else "update", target, f"server-side apply: {drift}"))
        problems = unmet(state, revision) if state is not None and revision else ["not synced yet"]
        if problems:
            changes.append(
                Change("run", f"sync {self.app_name}", f"to {revision[:12] or self.config.git_revision}: " + "; ".join(problems))
            )
        changes.extend(origin_changes)
        return Plan(changes=changes, notes=([note, wait] if changes else [note]) + origin_notes)

    def _plan_origin(self, ctx: StepContext) -> tuple[list[Change], list[str]]:
        """Which Ingresses would get the origin header. Reads the Ingresses and whether the
        secret exists, never its value."""
        what = (
            f"the value of Secrets Manager {self.origin_secret} in place of {PLACEHOLDER} "
            f"(server-side apply, field manager {ORIGIN_FIELD_MANAGER})"
        )
        notes: list[str] = []
        try:
            if not self.services.aws_for(self.env, self.env.region).secret_exists(self.origin_secret):
                notes.append(
                    f"Secrets Manager {self.origin_secret} does not exist yet: apply envs/{self.env.name} "
                    "first, or the real run stops before it changes anything"
                )
        except (Unavailable, PermanentError) as exc:  # e.g. no DescribeSecret permission: a note, not a failed plan
            notes.append(f"could not check that Secrets Manager {self.origin_secret} exists: {exc.message}")
        labelled = f"Ingresses labelled {ORIGIN_LABEL}=true in {SALEOR_NAMESPACE} on {self.env.cluster_name}"
        try:
            origin = self._origin(ctx)
            ingresses = origin.ingresses()
        except Unavailable as exc:
            return [Change("update", labelled, f"once they exist: {what}")], notes + [
                f"could not read {self.env.cluster_name}: {exc.message}"
            ]
        if not ingresses:
            return [Change("update", labelled, f"once the sync creates them: {what}")], notes
        pending = origin.pending(ingresses)
        changes = [
            Change("update", f"Ingress {ref} on {self.env.cluster_name}", f"{', '.join(names)}: {what}")
            for ref, names in pending.items()
        ]
        done = [_ref(i) for i in ingresses if _ref(i) not in pending]
        if done:
            notes.append(f"origin header: {', '.join(done)} carry no placeholder (a dry-run does not read the value to compare)")
        return changes, notes

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        # The secret first: without it the ALB cannot be opened to CloudFront, so stop before
        # anything changes.
        header = self.origin_header(ctx)
        origin = self._origin(ctx)
        kube = self._mgmt(ctx)
        existed = self._state(kube) is not None
        kube.apply(self.application())
        ctx.changed(
            "update" if existed else "create",
            f"Application {ARGOCD_NAMESPACE}/{self.app_name} on {self.services.config.mgmt.cluster_name}",
            "server-side apply",
        )
        revision = self.expected_revision(ctx)
        state = self._state(kube)
        if state is not None and unmet(state, revision) and not state.operating:
            self.start_sync(ctx, kube, revision)
            ctx.changed("run", f"sync {self.app_name}", f"to {revision[:12]}: " + "; ".join(unmet(state, revision)))
        self.wait_synced(ctx, kube, revision, origin, header)
        return self._outputs(revision)

    def start_sync(self, ctx: StepContext, kube: KubeClient, revision: str) -> None:
        """Ask Argo CD to sync to ``revision``: set ``.operation`` as the CLI's sync does — once.

        Argo CD runs one sync per ``.operation`` (argoproj/argo-cd v3.4
        controller/appcontroller.go: ``processRequestedAppOperation`` copies it into
        ``status.operationState`` and ``setOperationState`` clears it when the phase completes),
        and every sync reruns the PreSync migration Job. So the request is not retried blindly:
        it carries a request id and the ``resourceVersion`` kyeol read (the API server refuses
        it with 409 if the Application changed since), and before every try kyeol re-reads
        the Application — a request of its own found there (an answer lost after the write,
        a 504) or a sync under way means there is nothing to send.
        """
        request = f"{ctx.run_id}-{uuid.uuid4().hex[:8]}"
        operation = {
            "initiatedBy": {"username": "kyeol"},
            "info": [{"name": "Reason", "value": f"kyeol deploy ({ctx.run_id})"}, {"name": REQUEST_INFO, "value": request}],
            "sync": {"revision": revision, "prune": True, "syncStrategy": {"hook": {}}},
        }

        def once() -> None:
            app = kube.get(ARGOCD_API, "Application", self.app_name, ARGOCD_NAMESPACE)
            if app is None:
                raise PermanentError(
                    f"Application {self.app_name} disappeared before its sync was requested",
                    hint="someone deleted it; run kyeol again",
                )
            if _carries_request(app, request):
                ctx.log.info("sync request found in place (its answer was lost)", application=self.app_name)
                return
            if app.get("operation") or ((app.get("status") or {}).get("operationState") or {}).get("phase") in (
                "Running",
                "Terminating",
            ):
                ctx.log.info("a sync is under way already: not starting another", application=self.app_name)
                return
            patch = {"metadata": {"resourceVersion": (app.get("metadata") or {}).get("resourceVersion")}, "operation": operation}
            kube.merge_patch(ARGOCD_API, "Application", self.app_name, ARGOCD_NAMESPACE, patch, retry=False)

        def on_retry(attempt: int, reason: str, exc: BaseException, delay: float) -> None:
            ctx.log.warning(
                "sync request not confirmed; reading the Application again",
                application=self.app_name,
                reason=reason,
                attempt=attempt,
                delay_s=round(delay, 2),
            )

        call_with_retries(
            once,
            policy=SYNC_REQUEST_RETRY,
            classifier=_SYNC_REQUEST_CLASSIFIER,
            clock=ctx.clock,
            cancel=ctx.cancel,
            on_retry=on_retry,
            what=f"request a sync of {self.app_name}",
        )
        ctx.log.info("sync started", application=self.app_name, revision=revision)

    def wait_synced(self, ctx: StepContext, kube: KubeClient, revision: str, origin: OriginGuard, header: OriginHeader) -> str:
        """Wait for the Application, and set the origin header on every poll that finds it missing."""
        what = f"{self.app_name} to be Synced and Healthy at {revision[:12]} with its migration done and the origin header set"
        ctx.waiting_for(what)

        def probe() -> tuple[bool, str]:
            state = self._state(kube)
            if state is None:
                raise PermanentError(
                    f"Application {self.app_name} disappeared while kyeol waited for it",
                    hint="someone deleted it; run kyeol again",
                )
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
            ingresses = origin.ingresses()
            if not ingresses:
                if not problems:  # Synced at the revision: every object of Git exists, the Ingress would too
                    raise PermanentError(
                        f"{self.app_name} is Synced and Healthy but {origin.missing()}",
                        hint="label the ALB Ingress of kyeol-app-gitops (apps/saleor/base/ingress.yaml) "
                        f'{ORIGIN_LABEL}: "true", push, and run kyeol again',
                    )
                problems.append(f"the ALB Ingress does not exist yet on {self.env.cluster_name}")
            else:
                origin.set(ctx, ingresses, header)
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


def _carries_request(app: Mapping[str, Any], request: str) -> bool:
    """Is ``request`` the Application's pending operation, or the one Argo CD ran last?"""
    operations = [app.get("operation") or {}, ((app.get("status") or {}).get("operationState") or {}).get("operation") or {}]
    return any({"name": REQUEST_INFO, "value": request} in (op.get("info") or []) for op in operations)


def build(services: Services, env: EnvConfig) -> list[Step]:
    return [SyncStep(services, env)] if env.is_target else []
