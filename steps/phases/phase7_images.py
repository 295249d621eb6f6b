"""Phase 7: the images the env's overlay wants are in ECR; if not, GitHub Actions builds them.

The wanted images are exactly what the app overlay renders to (``kubectl kustomize``), so
kyeol and Argo CD can never disagree on a tag. Missing tags are built by dispatching
``.github/workflows/images.yml`` (inputs: env, the missing ``image=tag`` pairs, a correlation
id), following that run to its end, and checking ECR again.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from runbook.errors import PermanentError, Unavailable
from runbook.step import Change, CheckResult, Plan, Step, StepContext, digest_files
from steps.wiring.config import IMAGES, EnvConfig
from steps.wiring.services import Services

WORKFLOW = "images.yml"
# Three images built in parallel: ~8 min typical, 4-15 seen, 25 cold (reference/durations.md).
RUN_TIMEOUT_S = 25 * 60
KUSTOMIZE_TIMEOUT_S = 120.0
_CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")


@dataclass(frozen=True)
class WantedImage:
    """One ECR image an overlay names: ``registry/repository:tag``."""

    name: str  # saleor-api | saleor-dashboard | saleor-storefront
    registry: str
    repository: str
    tag: str

    @property
    def ref(self) -> str:
        return f"{self.registry}/{self.repository}:{self.tag}"


def collect_images(documents: Iterable[Any], repositories: dict[str, str]) -> list[str]:
    """Every container image string in rendered manifests whose repository is one of ours."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in _CONTAINER_LISTS and isinstance(value, list):
                    for container in value:
                        image = container.get("image") if isinstance(container, dict) else None
                        if isinstance(image, str) and _repository_of(image) in repositories and image not in found:
                            found.append(image)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for doc in documents:
        walk(doc)
    return found


def _repository_of(image: str) -> str:
    path = image.split("@", 1)[0]
    if ":" in path.rsplit("/", 1)[-1]:
        path = path.rsplit(":", 1)[0]
    return path.rsplit("/", 1)[-1]


def parse_image(image: str, repositories: dict[str, str]) -> WantedImage:
    """``<registry>/<repository>:<tag>`` → WantedImage; a missing tag or a digest is refused."""
    m = re.fullmatch(
        r"(?P<registry>[^/]+)/(?P<repository>[a-z0-9][a-z0-9._/-]*?)(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?",
        image,
    )
    if not m or not m.group("tag") or m.group("digest"):
        raise PermanentError(
            f"overlay image {image!r} must be <registry>/<repository>:<tag>",
            hint="set newTag (not a digest) in the images: list of the overlay's kustomization.yaml",
        )
    repository = m.group("repository")
    return WantedImage(repositories[repository], m.group("registry"), repository, m.group("tag"))


class ImagesStep(Step):
    """``<env>.images``: every image the overlay wants is present in MGMT's ECR."""

    phase = 7
    timeout_s = RUN_TIMEOUT_S + 5 * 60
    estimate_s = 8 * 60.0
    max_attempts = 2
    retry_budget_s = 600.0  # transient errors: retried for up to 10 minutes (issue 10)
    # The images live in MGMT's ECR: the identity check must accept MGMT's account here.
    account_envs = ("mgmt",)

    def __init__(self, services: Services, env: EnvConfig) -> None:
        self.services = services
        self.env = env
        self.config = services.config
        self.id = f"{env.name}.images"
        self.needs = ("mgmt.registry",)
        self.scope = env.name
        self.title = f"Saleor images of {env.name} in ECR (GitHub Actions builds the missing ones)"
        self.overlay = self.config.paths.app_repo / "apps" / "saleor" / "overlays" / env.name
        self.registry = f"{self.config.mgmt.account_id}.dkr.ecr.{self.config.region}.amazonaws.com"
        self.repositories = {self.config.ecr_repository(image): image for image in IMAGES}

    def inputs(self) -> Any:
        base = self.config.paths.app_repo / "apps" / "saleor" / "base"
        return {
            "registry": self.registry,
            "files": {
                str(Path(k).relative_to(self.config.paths.app_repo)): v for k, v in digest_files([self.overlay, base]).items()
            }
            if self.overlay.exists()
            else {},
        }

    # -- what is wanted, what is there --------------------------------------------------

    def wanted(self, ctx: StepContext) -> list[WantedImage]:
        """Render the overlay (read-only) and collect our ECR images from it."""
        if not self.overlay.is_dir():
            raise PermanentError(
                f"the {self.env.name} app overlay {self.overlay} does not exist",
                hint="pass --app-repo, or check paths.app_repo in kyeol.toml",
            )
        process = self.services.process
        kubectl = process.require("kubectl", hint="install kubectl (it renders the overlay with its built-in kustomize)")
        done = process.run([kubectl, "kustomize", str(self.overlay)], timeout=KUSTOMIZE_TIMEOUT_S, mutating=False, ctx=ctx)
        try:
            documents = [d for d in yaml.safe_load_all(done.stdout) if d]
        except yaml.YAMLError as exc:
            raise PermanentError(f"kubectl kustomize {self.overlay} printed YAML that does not parse: {exc}") from exc
        images = [parse_image(i, self.repositories) for i in collect_images(documents, self.repositories)]
        if not images:
            raise PermanentError(
                f"the {self.env.name} overlay renders no {', '.join(self.repositories)} image",
                hint=f"list them in the images: of {self.overlay / 'kustomization.yaml'} (docs/architecture.md §6)",
            )
        foreign = sorted({i.registry for i in images if i.registry != self.registry})
        if foreign:
            raise PermanentError(
                f"the {self.env.name} overlay pulls from {', '.join(foreign)}, but MGMT's ECR is {self.registry}",
                hint="make newName in the overlay's images: match kyeol.toml (envs.mgmt.account_id, project.region)",
            )
        return images

    def missing(self, images: list[WantedImage], *, repositories_must_exist: bool) -> list[WantedImage]:
        """The wanted images whose tag ECR does not have (all of a repository not made yet)."""
        aws = self.services.aws_for(self.config.mgmt)  # MGMT's ECR, with MGMT's credentials
        repositories = sorted({i.repository for i in images})
        uris = aws.repositories(repositories)
        absent_repos = [r for r in repositories if uris.get(r) is None]
        if absent_repos and repositories_must_exist:
            raise PermanentError(
                f"ECR repositor{'y' if len(absent_repos) == 1 else 'ies'} {', '.join(absent_repos)} missing in {self.registry}",
                hint="they are made by mgmt.registry: kyeol deploy --from mgmt.registry",
            )
        present: dict[str, dict[str, bool]] = {
            repo: aws.image_tags_present(repo, sorted({i.tag for i in images if i.repository == repo}))
            for repo in repositories
            if repo not in absent_repos
        }
        return [i for i in images if not present.get(i.repository, {}).get(i.tag, False)]

    # -- the step operations ------------------------------------------------------------

    def check(self, ctx: StepContext) -> CheckResult:
        images = self.wanted(ctx)
        absent = self.missing(images, repositories_must_exist=False)
        if absent:
            return CheckResult(done=False, reason=f"missing in ECR: {_refs(absent)}")
        return CheckResult(done=True, outputs=_outputs(images))

    def plan(self, ctx: StepContext) -> Plan:
        images = self.wanted(ctx)
        try:
            absent = self.missing(images, repositories_must_exist=False)
        except Unavailable as exc:
            return Plan(
                changes=[Change("run", f"GitHub workflow {WORKFLOW}", f"for {self.env.name}, if any image is missing")],
                notes=[f"wanted: {_refs(images)}", f"could not check offline: {exc.message}"],
            )
        present = [i for i in images if i not in absent]
        notes = [f"present in ECR: {_refs(present) or 'none'}", f"missing in ECR: {_refs(absent) or 'none'}"]
        if not absent:
            return Plan(notes=notes)
        if not self.services.github.has_token:
            notes.append(f"apply will stop here: {self._token_message()}")
        return Plan(
            changes=[Change("run", f"GitHub workflow {WORKFLOW}", f"build and push {_refs(absent)}, then bump the overlay")],
            notes=notes,
        )

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        images = self.wanted(ctx)
        absent = self.missing(images, repositories_must_exist=True)
        if not absent:
            return _outputs(images)
        github = self.services.github
        github.require_token()
        # The runs under way are listed first and ECR is looked at again after: a run that
        # finished between the first look and the listing is neither listed as unfinished nor
        # missed by the second look, so it is never dispatched again (issue 10).
        followed = self.follow_unfinished(ctx)
        absent = self.missing(images, repositories_must_exist=True)
        if not absent:
            return {**_outputs(images), **({"workflow_run": followed.html_url} if followed is not None else {})}
        correlation = f"{self.correlation_prefix}{secrets.token_hex(5)}"
        ctx.waiting_for(f"GitHub Actions {WORKFLOW} ({correlation})")
        run = github.dispatch_workflow(
            WORKFLOW,
            self.config.git_revision,
            {"env": self.env.name, "tags": ",".join(f"{i.name}={i.tag}" for i in absent)},
            correlation_id=correlation,
            clock=ctx.clock,
            cancel=ctx.cancel,
            deadline=ctx.deadline,
        )
        _log(ctx, "images workflow dispatched", run_id=run.id, url=run.html_url, images=_refs(absent))
        ctx.changed("run", f"GitHub workflow {WORKFLOW}", f"build and push {_refs(absent)} ({run.html_url})")
        github.wait_run(
            run.id,
            timeout=RUN_TIMEOUT_S,
            clock=ctx.clock,
            cancel=ctx.cancel,
            deadline=ctx.deadline,
            on_status=lambda r: ctx.waiting_for(f"GitHub Actions run {r.id}: {r.status}"),
        )
        still = self.missing(images, repositories_must_exist=True)
        if still:
            raise PermanentError(
                f"GitHub Actions run {run.html_url} succeeded, but ECR still lacks {_refs(still)}",
                hint="read the build jobs' logs: they skip tags they think exist and push to the registry named in kyeol.toml",
            )
        return {**_outputs(images), "workflow_run": run.html_url}

    @property
    def correlation_prefix(self) -> str:
        """Every run kyeol dispatches for this env carries it in its title (images.yml run-name)."""
        return f"kyeol-{self.env.name}-"

    def follow_unfinished(self, ctx: StepContext) -> Any:
        """Follow a run kyeol dispatched for this env that is still going (a run an interrupted
        kyeol started goes on without it): building the same images twice wastes up to 25
        minutes, and the workflow's concurrency group would only queue the second run."""
        github = self.services.github
        ongoing = github.unfinished_runs(
            WORKFLOW,
            self.correlation_prefix,
            within=timedelta(seconds=RUN_TIMEOUT_S + 300),
            clock=ctx.clock,
            cancel=ctx.cancel,
            deadline=ctx.deadline,
        )
        if not ongoing:
            return None
        run = ongoing[0]
        _log(ctx, "following an images run already under way", run_id=run.id, url=run.html_url, title=run.display_title)
        ctx.waiting_for(f"GitHub Actions {WORKFLOW} run {run.id} (already under way)")
        return github.wait_run(
            run.id,
            timeout=RUN_TIMEOUT_S,
            clock=ctx.clock,
            cancel=ctx.cancel,
            deadline=ctx.deadline,
            on_status=lambda r: ctx.waiting_for(f"GitHub Actions run {r.id}: {r.status}"),
        )

    def _token_message(self) -> str:
        from steps.adapters.github import token_instructions

        return token_instructions(self.config.github_repository)


def _refs(images: Iterable[WantedImage]) -> str:
    return ", ".join(f"{i.repository}:{i.tag}" for i in images)


def _outputs(images: list[WantedImage]) -> dict[str, Any]:
    return {"images": {i.name: i.ref for i in images}}


def _log(ctx: StepContext, event: str, **kw: Any) -> None:
    if ctx.log is not None:
        ctx.log.info(event, **kw)


def build(services: Services, env: EnvConfig) -> list[Step]:
    return [ImagesStep(services, env)]
