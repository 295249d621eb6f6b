"""One place that builds the adapters a run needs, lazily and once.

Steps receive this object when they are built; nothing touches the world until a step
asks for an adapter. Test overrides come from the environment (see docs/architecture.md §7),
so the same product code runs against moto, the helm stand-in and the fake APIs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

from runbook.clock import Clock
from runbook.redact import Redactor
from steps.adapters.process import ProcessRunner
from steps.wiring.config import EnvConfig, KyeolConfig

if TYPE_CHECKING:
    from steps.adapters.aws import AwsSession
    from steps.adapters.github import GitHub
    from steps.adapters.helm import Helm
    from steps.adapters.kube import KubeClient
    from steps.adapters.terraform import Terraform


# Secret shapes masked wherever they appear, registered or not: AWS access key ids and
# secret keys, presigned EKS tokens, GitHub tokens.
SECRET_SHAPES = (
    r"AKIA[0-9A-Z]{16}",
    r"(?i)(aws_secret_access_key|secret_access_key)(\s*[=:]\s*)\S+",
    r"k8s-aws-v1\.[A-Za-z0-9_\-]+",
    r"gh[pousr]_[A-Za-z0-9]{20,}",
    r"github_pat_[A-Za-z0-9_]{20,}",
)


def redactor_for_kyeol(redactor: Redactor | None = None) -> Redactor:
    """A redactor that knows the secret shapes of the systems kyeol talks to."""
    redactor = redactor if redactor is not None else Redactor()
    for shape in SECRET_SHAPES:
        redactor.add_pattern(shape)
    return redactor


class Services:
    """The adapters of one run, created on first use."""

    def __init__(
        self,
        config: KyeolConfig,
        *,
        dry_run: bool = False,
        read_only: bool = False,
        log: Any = None,
        redactor: Redactor | None = None,
        clock: Clock | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config
        self.read_only = read_only
        self.dry_run = dry_run or read_only
        self.redactor = redactor_for_kyeol(redactor)
        self.clock = clock or Clock()
        self.environ = dict(environ if environ is not None else os.environ)
        self.log = log
        self._aws: dict[tuple[str, str], AwsSession] = {}
        self._terraform: dict[str, Terraform] = {}
        self._kube: dict[str, KubeClient] = {}
        for name in ("GITHUB_TOKEN", "GH_TOKEN", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            self.redactor.add(self.environ.get(name))
        if not dry_run:
            # Saved plans, tfvars and kubeconfigs (live EKS tokens) a killed run left behind.
            from steps.adapters.tempdirs import sweep_dead

            sweep_dead(log=log)

    @cached_property
    def process(self) -> ProcessRunner:
        return self._runner(self.environ)

    def _runner(self, environ: Mapping[str, str]) -> ProcessRunner:
        """The subprocess chokepoint with this run's redaction, dry-run and read-only settings."""
        return ProcessRunner(
            redactor=self.redactor, log=self.log, dry_run=self.dry_run, base_env=environ, read_only=self.read_only
        )

    @cached_property
    def terraform(self) -> Terraform:
        """Terraform with the ambient credentials (MGMT's, and every env without a profile)."""
        return self._terraform_on(self.process)

    def terraform_for(self, env: EnvConfig) -> Terraform:
        """Terraform for a root in ``env``'s account: its ``profile`` as AWS_PROFILE (the
        providers' credentials); the ambient Terraform when the env names no profile."""
        return self._terraform_with(env.profile) if env.profile else self.terraform

    def _terraform_with(self, profile: str) -> Terraform:
        if profile not in self._terraform:
            self._terraform[profile] = self._terraform_on(self._runner({**self.environ, "AWS_PROFILE": profile}))
        return self._terraform[profile]

    def _terraform_on(self, process: ProcessRunner) -> Terraform:
        from steps.adapters.terraform import Terraform

        return Terraform(process, log=self.log, binary=self.environ.get("KYEOL_TERRAFORM", "terraform"))

    def aws(self, region: str | None = None, *, profile: str = "") -> AwsSession:
        """AWS clients for ``region``, with ``profile``'s credentials ("" = the ambient ones)."""
        from steps.adapters.aws import AwsSession

        region = region or self.config.region
        key = (region, profile)
        if key not in self._aws:
            self._aws[key] = AwsSession(
                region, endpoint_url=self.environ.get("AWS_ENDPOINT_URL"), profile=profile or None, read_only=self.read_only
            )
        return self._aws[key]

    def aws_for(self, env: EnvConfig, region: str | None = None) -> AwsSession:
        """AWS clients in ``env``'s account (its credentials profile, if it names one)."""
        return self.aws(region, profile=env.profile)

    def kube(self, cluster: Mapping[str, Any]) -> KubeClient:
        """A Kubernetes client for an EKS cluster described by its Terraform outputs; its
        token is signed with the credentials of the env that owns the cluster."""
        from steps.adapters.kube import KubeClient

        name = cluster["cluster_name"]
        if name not in self._kube:
            owner = next((e for e in self.config.envs.values() if e.cluster_name == name), None)
            self._kube[name] = KubeClient.for_eks(
                self.aws_for(owner) if owner is not None else self.aws(),
                cluster_name=name,
                endpoint=cluster["cluster_endpoint"],
                ca_data=cluster["cluster_certificate_authority_data"],
                redactor=self.redactor,
                clock=self.clock,
                log=self.log,
            )
            self._kube[name].read_only = self.read_only
        return self._kube[name]

    @cached_property
    def helm(self) -> Helm:
        from steps.adapters.helm import Helm

        return Helm(self.process, log=self.log, binary=self.environ.get("KYEOL_HELM", "helm"))

    @cached_property
    def github(self) -> GitHub:
        from steps.adapters.github import GitHub

        token = self.environ.get("GITHUB_TOKEN") or self.environ.get("GH_TOKEN")
        return GitHub(
            token,
            api_url=self.environ.get("KYEOL_GITHUB_API_URL", "https://api.github.com"),
            repository=self.config.github_repository,
            redactor=self.redactor,
            read_only=self.read_only,
        )
