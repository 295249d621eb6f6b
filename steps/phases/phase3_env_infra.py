"""Phase 3: one environment's infrastructure (``envs/<env>``): VPC, EKS, RDS, Valkey, edge.

The apply is Terraform's; the proof is AWS's own answer, compared with runbook §3 as written
in ``kyeol.toml``: the cluster is ACTIVE, the database ``available`` and Multi-AZ exactly when
the env says so, the Valkey replication group ``available`` with one primary plus the
configured replicas (and automatic failover and Multi-AZ when it has replicas). A mismatch is
an error naming both sides, not a retry: it means the tfvars and the config disagree.
"""

from __future__ import annotations

from typing import Any

from runbook.errors import OutputUnknown, PermanentError
from runbook.step import StepContext
from steps.phases.phase2_mgmt import node_groups_ready, prove_cluster
from steps.phases.terraform_root import TerraformRootStep, cluster_outputs
from steps.wiring.config import EnvConfig
from steps.wiring.services import Services

# RDS: ~6 min single-AZ, ~15 min Multi-AZ (outlier 36); provider create timeout 40 min.
RDS_WAIT_S = 40 * 60
# ElastiCache: ~7-10 min; provider create timeout 60 min.
VALKEY_WAIT_S = 60 * 60

ENV_OUTPUTS = (
    "cluster_name",
    "cluster_endpoint",
    "cluster_certificate_authority_data",
    "cluster_oidc_issuer_url",
    "oidc_provider_arn",
    "vpc_id",
    "region",
    "argocd_deployer_role_arn",
    "lbc_role_arn",
    "external_dns_role_arn",
    "external_secrets_role_arn",
    "cluster_autoscaler_role_arn",
    "hosted_zone_id",
    "alb_certificate_arn",
    "rds_instance_id",
    "rds_endpoint",
    "valkey_replication_group_id",
    "valkey_primary_endpoint",
    "cloudfront_distribution_ids",
    "secret_arns",
)


class EnvInfra(TerraformRootStep):
    phase = 3
    # mgmt.registry: MGMT's NAT addresses, which the env cluster's API endpoint must admit.
    # It finishes (~3.5 min) before global (~3.5 min incl. bootstrap) matters, so MGMT and env
    # infra still run side by side.
    needs = ("bootstrap", "global", "mgmt.registry")
    required_outputs = ENV_OUTPUTS
    # The env root finds the us-east-1 certificate and web ACL with data sources (§4), and
    # takes MGMT's NAT addresses as a variable.
    plan_requires = ("global", "mgmt.registry")

    def __init__(self, services: Services, env: EnvConfig) -> None:
        super().__init__(services, env)
        self.id = f"{env.name}.infra"
        self.scope = env.name
        # Applied again after a `kyeol destroy`: the teardown's record no longer holds.
        self.undoes = (f"{env.name}.infra.destroy",)
        self.root = f"envs/{env.name}"
        self.title = f"{env.name.upper()} VPC, EKS, RDS, Valkey and edge (envs/{env.name})"
        # EKS is the long pole (~14 min with nodes); a Multi-AZ database (~15 min, created
        # single-AZ then converted) can outlast it (reference/durations.md §1, §3).
        self.estimate_s = 18 * 60.0 if env.rds_multi_az else 14 * 60.0
        self.timeout_s = 90 * 60.0 if env.rds_multi_az else 60 * 60.0

    def facts(self) -> dict[str, Any]:
        e = self.env
        return {
            "cluster_name": e.cluster_name,
            "region": e.region,
            "cidr": e.cidr,
            "nodes": [e.node_type, e.nodes_min, e.nodes_max],
            "rds": [e.rds_class, e.rds_multi_az],
            "valkey": [e.cache_node_type, e.cache_replicas],
            "hosts": [e.service_host, e.api_host],
        }

    def variables(self, ctx: StepContext) -> dict[str, Any]:
        """MGMT's NAT addresses as ``mgmt_nat_cidrs``: Argo CD on MGMT calls this cluster's public
        API endpoint from them. kyeol knows them from mgmt.registry, so nobody copies them into
        tfvars and re-applies after MGMT's first apply (the value there is for plain terraform)."""
        return {"mgmt_nat_cidrs": self._mgmt_nat_cidrs(ctx)}

    @staticmethod
    def _mgmt_nat_cidrs(ctx: StepContext) -> list[str]:
        return sorted(f"{ip}/32" for ip in ctx.output("mgmt.registry", "nat_public_ips"))

    def _unreachable_from_mgmt(self, ctx: StepContext, cluster: dict[str, Any]) -> str:
        """Why Argo CD on MGMT could not call this cluster's API ("" when it can, or when
        MGMT's addresses are not known yet)."""
        try:
            wanted = self._mgmt_nat_cidrs(ctx)
        except OutputUnknown:
            return ""
        if not cluster.get("endpoint_public_access"):
            return ""
        admitted = set(cluster.get("public_access_cidrs") or [])
        missing = [cidr for cidr in wanted if cidr not in admitted and "0.0.0.0/0" not in admitted]
        if not missing:
            return ""
        return (
            f"the public API endpoint of {cluster['name']} does not admit MGMT's NAT address(es) "
            f"{', '.join(missing)}, so Argo CD could not reach it"
        )

    # -- the proofs --------------------------------------------------------------------------

    def _database(self, outputs: dict[str, Any]) -> tuple[bool, str, dict[str, Any] | None]:
        db_id = outputs["rds_instance_id"]
        db = self.services.aws_for(self.env).rds_instance(db_id)
        if db is None:
            return False, f"RDS instance {db_id} does not exist", None
        return db["status"] == "available", f"RDS instance {db_id} is {db['status']}", db

    def _cache(self, outputs: dict[str, Any]) -> tuple[bool, str, dict[str, Any] | None]:
        group_id = outputs["valkey_replication_group_id"]
        group = self.services.aws_for(self.env).replication_group(group_id)
        if group is None:
            return False, f"Valkey replication group {group_id} does not exist", None
        return group["status"] == "available", f"Valkey replication group {group_id} is {group['status']}", group

    def sizing_problems(self, db: dict[str, Any], group: dict[str, Any]) -> list[str]:
        """Where the database and cache differ from runbook §3 as configured in kyeol.toml."""
        e, problems = self.env, []
        if db["multi_az"] != e.rds_multi_az:
            problems.append(
                f"RDS instance {db['id']} is {'Multi-AZ' if db['multi_az'] else 'single-AZ'}, "
                f"but envs.{e.name}.rds_multi_az = {str(e.rds_multi_az).lower()}"
            )
        if db["instance_class"] != e.rds_class:
            problems.append(f"RDS instance {db['id']} is {db['instance_class']}, but envs.{e.name}.rds_class = {e.rds_class}")
        nodes = 1 + e.cache_replicas
        if group["node_count"] != nodes:
            problems.append(
                f"Valkey group {group['id']} has {group['node_count']} node(s), but envs.{e.name}.cache_replicas = "
                f"{e.cache_replicas} wants {nodes} (one primary + replicas)"
            )
        if e.cache_replicas > 0 and not (group["automatic_failover"] and group["multi_az"]):
            problems.append(
                f"Valkey group {group['id']} has replicas but automatic failover/Multi-AZ are "
                f"{'on' if group['automatic_failover'] else 'off'}/{'on' if group['multi_az'] else 'off'}; both must be on"
            )
        if group["node_type"] and group["node_type"] != e.cache_node_type:
            problems.append(
                f"Valkey group {group['id']} uses {group['node_type']}, but envs.{e.name}.cache_node_type = {e.cache_node_type}"
            )
        return problems

    def probe(self, ctx: StepContext, outputs: dict[str, Any]) -> tuple[bool, str, dict[str, Any]]:
        name = self.env.cluster_name
        cluster = self.aws.eks_cluster(name)
        if cluster is None or cluster["status"] != "ACTIVE":
            return False, f"EKS cluster {name} is {cluster['status'] if cluster else 'missing'}", {}
        nodes_ready, nodes = node_groups_ready(self.aws, name)
        if not nodes_ready:
            return False, nodes, {}
        ready, detail, db = self._database(outputs)
        if not ready or db is None:
            return False, detail, {}
        ready, detail, group = self._cache(outputs)
        if not ready or group is None:
            return False, detail, {}
        problems = self.sizing_problems(db, group)
        unreachable = self._unreachable_from_mgmt(ctx, cluster)
        if unreachable:
            problems.append(unreachable)
        if problems:
            return False, "; ".join(problems), {}
        return True, f"{name} ACTIVE, {db['id']} and {group['id']} available", cluster_outputs(outputs, cluster, ctx.log)

    def prove(self, ctx: StepContext, outputs: dict[str, Any]) -> dict[str, Any]:
        recorded = prove_cluster(self, ctx, outputs, self.env)
        unreachable = self._unreachable_from_mgmt(ctx, self.aws.eks_cluster(self.env.cluster_name) or {})
        if unreachable:
            raise PermanentError(
                f"{self.id}: {unreachable}",
                hint=f"{self.root} must pass mgmt_nat_cidrs (kyeol sets it) into the cluster's "
                "endpoint_public_access_cidrs; fix the root and run kyeol again",
            )
        found: dict[str, dict[str, Any]] = {}

        def database() -> tuple[bool, str]:
            ready, detail, db = self._database(outputs)
            if db is not None:
                found["db"] = db
            return ready, detail

        def cache() -> tuple[bool, str]:
            ready, detail, group = self._cache(outputs)
            if group is not None:
                found["cache"] = group
            return ready, detail

        self.wait_until(
            ctx,
            f"RDS instance {outputs['rds_instance_id']} available",
            database,
            timeout=RDS_WAIT_S,
            hint="a Multi-AZ instance is created single-AZ and then converted; see its events in the RDS console",
        )
        self.wait_until(
            ctx,
            f"Valkey group {outputs['valkey_replication_group_id']} available",
            cache,
            timeout=VALKEY_WAIT_S,
            hint="see the replication group's events in the ElastiCache console",
        )
        problems = self.sizing_problems(found["db"], found["cache"])
        if problems:
            raise PermanentError(
                f"{self.id} does not match runbook §3 as configured: " + "; ".join(problems),
                hint=f"make {self.root}/terraform.tfvars and the [envs.{self.env.name}] table of kyeol.toml agree, "
                "then run kyeol again",
            )
        return recorded


def build(services: Services, env: EnvConfig) -> list[EnvInfra]:
    return [EnvInfra(services, env)]
