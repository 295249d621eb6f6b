"""Phase 2: the shared infrastructure — edge resources in us-east-1 and the MGMT account.

* ``global`` applies ``global/us-east-1``: the CloudFront certificate and the WAFv2 web ACL
  (scope CLOUDFRONT), which only exist in us-east-1, and the public hosted zone's id.
* ``mgmt.registry`` applies ``envs/mgmt`` with ``-target=module.ecr -target=module.github_oidc
  -target=module.vpc``: the ECR repositories and the GitHub OIDC role take seconds and the VPC
  with its NAT gateways ~2.5 minutes, while the MGMT cluster takes ~13 more. Splitting them lets
  phase 7 (CI image builds, ~8 min) start at minute ~3.5 instead of ~17, taking the images off
  the critical path (reference/durations.md §3), and makes MGMT's NAT addresses known before
  the env roots apply: Argo CD reaches the env clusters' public API endpoints from them, so
  ``<env>.infra`` passes them as ``mgmt_nat_cidrs`` and the first deploy needs no second apply.
  ``-target`` is Terraform's documented way to apply a subset; the full apply right after
  (``mgmt.infra``) converges the whole root, so nothing stays partially applied.
* ``mgmt.infra`` applies all of ``envs/mgmt`` and proves the MGMT cluster is ACTIVE through the
  EKS API, recording its endpoint, CA and OIDC issuer with the Terraform outputs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runbook.errors import PermanentError
from runbook.step import SHARED, StepContext
from steps.phases.terraform_root import TerraformRootStep, cluster_outputs
from steps.wiring.config import IMAGES, EnvConfig
from steps.wiring.services import Services

if TYPE_CHECKING:
    from steps.adapters.aws import AwsSession

# EKS control plane ~10 min (8-12, outliers 15); provider create timeout 30 min.
EKS_WAIT_S = 30 * 60
# ACM DNS validation ~2 min, sometimes an hour (durations.md §1).
ACM_WAIT_S = 60 * 60

MGMT_OUTPUTS = (
    "cluster_name",
    "cluster_endpoint",
    "cluster_certificate_authority_data",
    "cluster_oidc_issuer_url",
    "oidc_provider_arn",
    "vpc_id",
    "ecr_repository_urls",
    "github_actions_role_arn",
    "argocd_manager_role_arn",
    "region",
)


class GlobalEdge(TerraformRootStep):
    id = "global"
    phase = 2
    title = "CloudFront certificate and WAFv2 web ACL (us-east-1)"
    scope = SHARED
    needs = ("bootstrap",)
    root = "global/us-east-1"
    required_outputs = ("cloudfront_certificate_arn", "waf_web_acl_arn", "hosted_zone_id")
    # ACM validation ~2 min (1-9) and WAF seconds; validation can stall up to an hour.
    estimate_s = 150.0
    timeout_s = 75 * 60.0

    def facts(self) -> dict[str, Any]:
        return {"domain": self.config.domain, "prefix": self.config.prefix}

    def _edge(self, outputs: dict[str, Any]) -> tuple[bool, str]:
        aws = self.aws
        cert = aws.certificate(outputs["cloudfront_certificate_arn"])
        if cert is None:
            return False, f"certificate {outputs['cloudfront_certificate_arn']} does not exist"
        if cert["region"] != "us-east-1":
            raise PermanentError(
                f"the CloudFront certificate is in {cert['region']}; CloudFront only uses certificates in us-east-1",
                hint="create it in global/us-east-1 with the us-east-1 provider",
            )
        if cert["status"] != "ISSUED":
            return False, f"certificate for {cert['domain']} is {cert['status']}"
        acl = aws.web_acl(outputs["waf_web_acl_arn"])
        if acl is None:
            return False, f"web ACL {outputs['waf_web_acl_arn']} does not exist"
        if acl["scope"] != "CLOUDFRONT":
            raise PermanentError(
                f"web ACL {acl['name']} has scope {acl['scope']}; CloudFront needs scope CLOUDFRONT",
                hint='create the web ACL in us-east-1 with scope = "CLOUDFRONT"',
            )
        zone = aws.find_zone(self.config.domain)
        if zone is None:
            return False, f"public hosted zone {self.config.domain} does not exist"
        if zone["id"] != outputs["hosted_zone_id"]:
            raise PermanentError(
                f"hosted_zone_id output {outputs['hosted_zone_id']} is not the public zone of {self.config.domain} ({zone['id']})",
                hint="global/us-east-1 must look up the public zone of the configured domain",
            )
        return True, f"certificate ISSUED for {cert['domain']}, web ACL {acl['name']} (CLOUDFRONT), zone {zone['id']}"

    def probe(self, ctx: StepContext, outputs: dict[str, Any]) -> tuple[bool, str, dict[str, Any]]:
        done, detail = self._edge(outputs)
        return done, detail, {}

    def prove(self, ctx: StepContext, outputs: dict[str, Any]) -> dict[str, Any]:
        self.wait_until(
            ctx,
            "CloudFront certificate ISSUED, web ACL and zone present",
            lambda: self._edge(outputs),
            timeout=ACM_WAIT_S,
            hint="ACM waits for its DNS validation record; check it exists in the hosted zone",
        )
        return dict(outputs)


class MgmtRegistry(TerraformRootStep):
    id = "mgmt.registry"
    phase = 2
    title = "ECR, GitHub OIDC role, MGMT VPC and NAT addresses (targeted envs/mgmt)"
    scope = SHARED
    needs = ("bootstrap",)
    root = "envs/mgmt"
    targets = ("module.ecr", "module.github_oidc", "module.vpc")
    required_outputs = ("ecr_repository_urls", "github_actions_role_arn", "nat_public_ips")
    # ECR and IAM: seconds each; VPC < 30 s and NAT gateways ~2 min; plus init/plan/apply overhead.
    estimate_s = 150.0
    timeout_s = 900.0

    def facts(self) -> dict[str, Any]:
        return {
            "repositories": [self.config.ecr_repository(image) for image in IMAGES],
            "github_role": self.config.github_role_name,
            "github_repository": self.config.github_repository,
        }

    def _registry(self, outputs: dict[str, Any]) -> tuple[bool, str]:
        names = [self.config.ecr_repository(image) for image in IMAGES]
        found = self.aws.repositories(names)
        missing = [name for name, uri in found.items() if uri is None]
        if missing:
            return False, f"ECR repositories missing: {', '.join(missing)}"
        urls = outputs.get("ecr_repository_urls") or {}
        unnamed = [image for image in IMAGES if image not in urls]
        if unnamed:
            return False, f"ecr_repository_urls has no entry for {', '.join(unnamed)}"
        ips = list(outputs.get("nat_public_ips") or [])
        if not ips:
            return False, "envs/mgmt outputs no nat_public_ips (MGMT's NAT gateway addresses)"
        released = self.aws.missing_elastic_ips(ips)
        if released:
            return False, f"MGMT's NAT addresses {', '.join(released)} are no longer allocated"
        return True, f"ECR repositories {', '.join(names)} and MGMT's NAT addresses {', '.join(ips)} exist"

    def probe(self, ctx: StepContext, outputs: dict[str, Any]) -> tuple[bool, str, dict[str, Any]]:
        done, detail = self._registry(outputs)
        return done, detail, {}

    def prove(self, ctx: StepContext, outputs: dict[str, Any]) -> dict[str, Any]:
        done, detail = self._registry(outputs)
        if not done:
            raise PermanentError(
                f"after applying {', '.join(self.targets)} of envs/mgmt: {detail}",
                hint="module.ecr must create one repository per image (jung-saleor-*) and output ecr_repository_urls; "
                "module.vpc must allocate the NAT gateways' Elastic IPs and the root output them as nat_public_ips",
            )
        return dict(outputs)


class MgmtInfra(TerraformRootStep):
    id = "mgmt.infra"
    phase = 2
    title = "MGMT VPC and EKS cluster (envs/mgmt)"
    scope = SHARED
    needs = ("mgmt.registry",)
    root = "envs/mgmt"
    required_outputs = MGMT_OUTPUTS
    # EKS 10 + add-ons + node group 2 + overhead ≈ 13 min (the VPC came with mgmt.registry).
    estimate_s = 13 * 60.0
    timeout_s = 60 * 60.0

    def facts(self) -> dict[str, Any]:
        mgmt = self.config.mgmt
        return {
            "cluster_name": mgmt.cluster_name,
            "region": self.config.region,
            "argocd_manager_role": self.config.argocd_manager_role_name,
            "nodes": [mgmt.node_type, mgmt.nodes_min, mgmt.nodes_max],
        }

    def _cluster(self) -> dict[str, Any] | None:
        return self.aws.eks_cluster(self.config.mgmt.cluster_name)

    def probe(self, ctx: StepContext, outputs: dict[str, Any]) -> tuple[bool, str, dict[str, Any]]:
        cluster = self._cluster()
        name = self.config.mgmt.cluster_name
        if cluster is None:
            return False, f"EKS cluster {name} does not exist", {}
        if cluster["status"] != "ACTIVE":
            return False, f"EKS cluster {name} is {cluster['status']}", {}
        nodes_ready, nodes = node_groups_ready(self.aws, name)
        if not nodes_ready:
            return False, nodes, {}
        return True, f"EKS cluster {name} is ACTIVE, {nodes}", cluster_outputs(outputs, cluster, ctx.log)

    def prove(self, ctx: StepContext, outputs: dict[str, Any]) -> dict[str, Any]:
        return prove_cluster(self, ctx, outputs, self.config.mgmt)


def node_groups_ready(aws: AwsSession, cluster: str) -> tuple[bool, str]:
    """Are the cluster's managed node groups there and ACTIVE? A control plane without its
    nodes runs nothing: a kill between the cluster and its node group leaves the step due."""
    groups = aws.eks_node_groups(cluster)
    if not groups:
        return False, f"EKS cluster {cluster} has no node group"
    waiting = [f"{g['name']} is {g['status']}" for g in groups if g["status"] != "ACTIVE"]
    if waiting:
        return False, f"node group(s) of {cluster}: " + ", ".join(waiting)
    return True, f"node group(s) {', '.join(g['name'] for g in groups)} ACTIVE"


def prove_cluster(step: TerraformRootStep, ctx: StepContext, outputs: dict[str, Any], env: EnvConfig) -> dict[str, Any]:
    """Wait for the env's cluster to be ACTIVE and return the outputs to record."""
    name = env.cluster_name
    if outputs.get("cluster_name") != name:
        raise PermanentError(
            f"{step.root} outputs cluster_name {outputs.get('cluster_name')!r}, but kyeol.toml derives {name!r}",
            hint="names must match docs/architecture.md §5: fix the root's cluster name",
        )
    aws = step.aws
    found: dict[str, Any] = {}

    def active() -> tuple[bool, str]:
        cluster = aws.eks_cluster(name)
        if cluster is None:
            return False, f"EKS cluster {name} does not exist"
        found.update(cluster)
        return cluster["status"] == "ACTIVE", f"EKS cluster {name} is {cluster['status']}"

    step.wait_until(
        ctx,
        f"EKS cluster {name} ACTIVE",
        active,
        timeout=EKS_WAIT_S,
        hint="look at the cluster's health in the EKS console; FAILED clusters must be recreated",
    )
    step.wait_until(
        ctx,
        f"node groups of {name} ACTIVE",
        lambda: node_groups_ready(aws, name),
        timeout=EKS_WAIT_S,
        hint="see the node group's health issues in the EKS console (a DEGRADED group names its cause)",
    )
    return {**outputs, **cluster_outputs(outputs, found, ctx.log)}


def build(services: Services, env: EnvConfig) -> list[TerraformRootStep]:
    return [GlobalEdge(services, env), MgmtRegistry(services, env), MgmtInfra(services, env)]
