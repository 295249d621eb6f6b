"""`kyeol destroy` steps: drain and deregister on the MGMT stand-in API with moto's ELBv2 (the
load balancer controller's ALBs), and the step list / guards of the teardown.

Scripted stand-ins for what Argo CD and the load balancer controller do when kyeol deletes
things: :class:`ArgoCdDeletesSaleor` (the resources finalizer: the Ingress goes, the
controller deletes the ALB and its target group, then Argo CD lets the Application go) and
:class:`ApplicationSetsFollowLabels` (the add-on ApplicationSets drop an env's Applications
once its cluster Secret lacks their labels). Both count requests, so tests on a FakeClock
never sleep.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from runbook.errors import PermanentError, UsageError, WaitTimeout
from runbook.step import StepContext
from steps.phases import phase_destroy
from steps.phases.phase5_register import cluster_secret
from steps.phases.phase_destroy import DeregisterStep, DrainStep
from steps.wiring.config import ADDONS
from steps.wiring.project import build_destroy_steps
from tests.standins.fake_kube_api import FakeKubeAPI, RecordedRequest
from tests.standins.kube_world import KubeWorld, drive

ARGO = "argoproj.io/v1alpha1"
FINALIZER = "resources-finalizer.argocd.argoproj.io"
REGION = "ap-northeast-1"


# -- the world ------------------------------------------------------------------------------


def elbv2(endpoint: str) -> Any:
    return boto3.client("elbv2", region_name=REGION, endpoint_url=endpoint)


def make_alb(endpoint: str, name: str, cluster: str) -> dict[str, str]:
    """An ALB and a target group as the LB controller makes them (tagged with its cluster)."""
    ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=endpoint)
    vpc = ec2.create_vpc(CidrBlock="10.10.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.10.{i}.0/24", AvailabilityZone=f"{REGION}{az}")["Subnet"]["SubnetId"]
        for i, az in enumerate("ac")
    ]
    tags = [{"Key": "elbv2.k8s.aws/cluster", "Value": cluster}, {"Key": "ingress.k8s.aws/stack", "Value": "saleor/saleor"}]
    client = elbv2(endpoint)
    lb = client.create_load_balancer(Name=name, Subnets=subnets, Scheme="internet-facing", Type="application", Tags=tags)
    tg = client.create_target_group(Name=f"{name}-tg", Protocol="HTTP", Port=8000, VpcId=vpc, TargetType="ip", Tags=tags)
    return {"lb": lb["LoadBalancers"][0]["LoadBalancerArn"], "tg": tg["TargetGroups"][0]["TargetGroupArn"]}


def delete_alb(endpoint: str, arns: dict[str, str]) -> None:
    client = elbv2(endpoint)
    client.delete_load_balancer(LoadBalancerArn=arns["lb"])
    client.delete_target_group(TargetGroupArn=arns["tg"])


def load_balancer_names(endpoint: str) -> list[str]:
    return sorted(lb["LoadBalancerName"] for lb in elbv2(endpoint).describe_load_balancers()["LoadBalancers"])


@dataclass
class ArgoCdDeletesSaleor:
    """Argo CD's resources finalizer and the LB controller: ``after`` requests once the Saleor
    Application is marked for deletion, its ALB (moto) is deleted, then the Application goes.
    ``alb_stays`` keeps the ALB (a controller that no longer manages it)."""

    endpoint: str
    alb: dict[str, str]
    after: int = 3
    alb_stays: bool = False
    app: str = "saleor-dev"
    events: list[str] = field(default_factory=list)
    _seen: int = 0

    def __call__(self, api: FakeKubeAPI, request: RecordedRequest) -> None:
        app = api.get(ARGO, "Application", self.app, "argocd")
        if app is None or not app["metadata"].get("deletionTimestamp"):
            return
        self._seen += 1
        if self._seen < self.after:
            return
        if not self.alb_stays and "alb deleted" not in self.events:
            delete_alb(self.endpoint, self.alb)
            self.events.append("alb deleted")

        def release(obj: dict[str, Any]) -> None:
            obj["metadata"]["finalizers"] = [f for f in obj["metadata"].get("finalizers") or [] if f != FINALIZER]

        api.mutate(ARGO, "Application", self.app, "argocd", release)
        self.events.append("saleor app gone")


def publish_origins(endpoint: str, hosts: tuple[str, ...], *, domain: str = "mgz-g2-u3.shop") -> str:
    """The shared public zone with ExternalDNS's CNAMEs of the env's origin names; its id."""
    r53 = boto3.client("route53", region_name="us-east-1", endpoint_url=endpoint)
    zones = [z for z in r53.list_hosted_zones_by_name(DNSName=domain + ".")["HostedZones"] if z["Name"] == domain + "."]
    zone = zones[0]["Id"] if zones else r53.create_hosted_zone(Name=domain, CallerReference="kyeol-test")["HostedZone"]["Id"]
    r53.change_resource_record_sets(
        HostedZoneId=zone,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": host,
                        "Type": "CNAME",
                        "TTL": 60,
                        "ResourceRecords": [{"Value": "k8s-saleor.elb.amazonaws.com"}],
                    },
                }
                for host in hosts
            ]
        },
    )
    return zone


def unpublish_origins(endpoint: str, zone: str, hosts: tuple[str, ...]) -> None:
    r53 = boto3.client("route53", region_name="us-east-1", endpoint_url=endpoint)
    r53.change_resource_record_sets(
        HostedZoneId=zone,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "DELETE",
                    "ResourceRecordSet": {
                        "Name": host,
                        "Type": "CNAME",
                        "TTL": 60,
                        "ResourceRecords": [{"Value": "k8s-saleor.elb.amazonaws.com"}],
                    },
                }
                for host in hosts
            ]
        },
    )


@dataclass
class ExternalDnsSyncs:
    """ExternalDNS with policy sync: ``after`` requests once the Saleor Application is gone (its
    Ingress with it), the origin records are deleted; ``stays`` keeps them (ExternalDNS down)."""

    endpoint: str
    zone: str
    hosts: tuple[str, ...]
    events: list[str]
    after: int = 2
    stays: bool = False
    _seen: int = 0

    def __call__(self, api: FakeKubeAPI, request: RecordedRequest) -> None:
        if "saleor app gone" not in self.events or "records deleted" in self.events or self.stays:
            return
        self._seen += 1
        if self._seen >= self.after:
            unpublish_origins(self.endpoint, self.zone, self.hosts)
            self.events.append("records deleted")


@dataclass
class ApplicationSetsFollowLabels:
    """The add-on ApplicationSets: an add-on's Application exists while the cluster Secret
    carries its label; ``after`` requests once a label went, the Application goes."""

    events: list[str]
    secret: str = "cluster-jung-dev-eks"
    env: str = "dev"
    after: int = 2
    _seen: int = 0

    def __call__(self, api: FakeKubeAPI, request: RecordedRequest) -> None:
        found = api.get("v1", "Secret", self.secret, "argocd")
        labels = (found or {}).get("metadata", {}).get("labels") or {}
        dropped = [
            a
            for a in ADDONS
            if labels.get(f"kyeol.io/addon-{a}") != "true"
            and api.get(ARGO, "Application", f"{a}-{self.env}", "argocd") is not None
        ]
        if not dropped:
            return
        if "labels removed" not in self.events:
            self.events.append("labels removed")
        self._seen += 1
        if self._seen >= self.after:
            for addon in dropped:
                api.delete(ARGO, "Application", f"{addon}-{self.env}", "argocd")
            self.events.append("addons gone")


@pytest.fixture
def world(tmp_path: Path, moto_endpoint: str):
    w = KubeWorld(tmp_path)
    w.endpoint = moto_endpoint
    w.mgmt.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argocd"}})
    yield w
    w.close()


def deployed(world: KubeWorld, *, finalizer: bool = True) -> dict[str, str]:
    """What a deploy left: the cluster Secret, the add-on and Saleor Applications, the ALB."""
    world.mgmt.put(cluster_secret(world.env, world.outputs["dev.infra"]))
    for addon in ADDONS:
        world.mgmt.put(
            {
                "apiVersion": ARGO,
                "kind": "Application",
                "metadata": {"name": f"{addon}-dev", "namespace": "argocd", "labels": {"kyeol.io/env": "dev"}},
                "spec": {"project": "platform", "destination": {"name": "jung-dev-eks"}},
            }
        )
    world.mgmt.put(
        {
            "apiVersion": ARGO,
            "kind": "Application",
            "metadata": {
                "name": "saleor-dev",
                "namespace": "argocd",
                "labels": {"kyeol.io/env": "dev"},
                **({"finalizers": [FINALIZER]} if finalizer else {}),
            },
            "spec": {"project": "apps", "destination": {"name": "jung-dev-eks", "namespace": "saleor"}},
        }
    )
    return make_alb(world.endpoint, "k8s-saleor-saleor-0123456789", "jung-dev-eks")


def drain_step(world: KubeWorld, *, dry_run: bool = False) -> DrainStep:
    steps = phase_destroy.build(world.services(dry_run=dry_run), world.env)
    assert isinstance(steps[0], DrainStep)
    return steps[0]


def deregister_step(world: KubeWorld, *, dry_run: bool = False) -> DeregisterStep:
    steps = phase_destroy.build(world.services(dry_run=dry_run), world.env)
    assert isinstance(steps[1], DeregisterStep)
    return steps[1]


def context(world: KubeWorld, step: Any, *, dry_run: bool = False) -> StepContext:
    ctx = world.context(step, dry_run=dry_run)
    ctx.deadline = world.clock.monotonic() + step.timeout_s
    return ctx


def mgmt_writes(world: KubeWorld) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in world.mgmt.requests if r.method != "GET"]


# -- the step list --------------------------------------------------------------------------


def test_destroy_is_three_env_steps_in_reverse_order_that_undo_the_deploy(world: KubeWorld) -> None:
    steps = build_destroy_steps(world.services(), "dev")
    assert [(s.id, s.phase, s.scope, s.needs) for s in steps] == [
        ("dev.drain", 10, "dev", ()),
        ("dev.deregister", 11, "dev", ("dev.drain",)),
        ("dev.infra.destroy", 12, "dev", ("dev.deregister",)),
    ]
    assert [s.undoes for s in steps] == [("dev.sync", "dev.verify", "dev.addons"), ("dev.register",), ("dev.infra",)]
    assert [s.account_envs for s in steps] == [("mgmt", "dev"), ("mgmt",), ("dev",)]
    assert steps[2].root == "envs/dev"
    # Never a shared step: MGMT, global and bootstrap serve every env.
    assert all(s.scope == "dev" for s in steps)


def test_deploy_and_destroy_undo_each_other_step_for_step(world: KubeWorld) -> None:
    """After a destroy the deploy records are forgotten; after the next deploy the destroy ones are,
    so `kyeol status` never says an env is both deployed and torn down."""
    from steps.wiring.project import build_steps

    deploy = {s.id: tuple(getattr(s, "undoes", ())) for s in build_steps(world.services(), "dev")}
    teardown = {s.id: s.undoes for s in build_destroy_steps(world.services(), "dev")}
    assert {sid: undone for sid, undone in deploy.items() if undone} == {
        "dev.infra": ("dev.infra.destroy",),
        "dev.register": ("dev.deregister",),
        "dev.addons": ("dev.drain",),
    }
    for step_id, undone in teardown.items():
        assert any(step_id in deploy[d] for d in undone), f"no deploy step undoes {step_id}"


def test_prod_is_refused_before_anything_is_built(world: KubeWorld) -> None:
    with pytest.raises(UsageError) as refused:
        build_destroy_steps(world.services(), "prod")
    assert "prevent_destroy" in refused.value.message and "PG-NAT Elastic IP" in refused.value.message
    assert "nothing was touched" in refused.value.message and "--confirm-env prod" in refused.value.hint
    with pytest.raises(UsageError):
        build_destroy_steps(world.services(), "mgmt")  # the shared cluster is not an env to destroy


# -- drain ----------------------------------------------------------------------------------


def database(endpoint: str, name: str, *, protected: bool) -> None:
    boto3.client("rds", region_name=REGION, endpoint_url=endpoint).create_db_instance(
        DBInstanceIdentifier=name,
        DBInstanceClass="db.t3.medium",
        Engine="postgres",
        MasterUsername="saleor",
        ManageMasterUserPassword=True,
        AllocatedStorage=20,
        DeletionProtection=protected,
    )


def test_a_database_with_deletion_protection_refuses_the_drain_before_anything_is_deleted(world: KubeWorld) -> None:
    """stage keeps its data: terraform destroy would fail after the shop had been drained."""
    deployed(world)
    database(world.endpoint, "jung-dev-postgres", protected=True)
    outputs = {**world.outputs, "dev.infra": {**world.outputs["dev.infra"], "rds_instance_id": "jung-dev-postgres"}}
    step = drain_step(world)
    for operation in (step.plan, step.apply):
        with pytest.raises(PermanentError) as refused:
            operation(world.context(step, outputs=outputs))
        assert "RDS instance jung-dev-postgres has deletion protection" in refused.value.message
        assert "nothing was touched" in refused.value.message and "deletion_protection = false" in refused.value.hint
    assert mgmt_writes(world) == [] and world.mgmt.get(ARGO, "Application", "saleor-dev", "argocd") is not None


def test_an_unprotected_database_lets_the_drain_go_on(world: KubeWorld) -> None:
    alb = deployed(world)
    database(world.endpoint, "jung-dev-postgres", protected=False)
    outputs = {**world.outputs, "dev.infra": {**world.outputs["dev.infra"], "rds_instance_id": "jung-dev-postgres"}}
    events: list[str] = []
    world.mgmt.add_controller(ApplicationSetsFollowLabels(events, after=1))
    world.mgmt.add_controller(ArgoCdDeletesSaleor(world.endpoint, alb, after=1, events=events))
    step = drain_step(world)
    ctx = world.context(step, outputs=outputs)
    ctx.deadline = world.clock.monotonic() + step.timeout_s
    assert step.apply(ctx) == {"drained": "jung-dev-eks"}


def test_drain_waits_for_externaldns_to_delete_the_origin_records_before_the_addons_go(world: KubeWorld) -> None:
    """The zone is shared by every env: a record left pointing at a deleted ALB would stay forever."""
    alb = deployed(world)
    hosts = world.env.origin_hosts
    zone = publish_origins(world.endpoint, hosts)
    events: list[str] = []
    # Registered first, so each request shows it the state before the others act.
    world.mgmt.add_controller(ApplicationSetsFollowLabels(events, after=1))
    world.mgmt.add_controller(ExternalDnsSyncs(world.endpoint, zone, hosts, events, after=3))
    world.mgmt.add_controller(ArgoCdDeletesSaleor(world.endpoint, alb, after=1, events=events))
    step = drain_step(world)

    check = step.check(context(world, step))
    assert not check.done and f"Route53 records {hosts[0]} CNAME, {hosts[1]} CNAME" in check.reason
    assert [c.target for c in step.plan(context(world, step)).changes if c.target.startswith("Route53")] == [
        f"Route53 record {hosts[0]} CNAME",
        f"Route53 record {hosts[1]} CNAME",
    ]
    assert drive(step, context(world, step)).kind == "applied"
    assert events == ["alb deleted", "saleor app gone", "records deleted", "labels removed", "addons gone"]


def test_drain_deadline_names_the_origin_record_externaldns_left(world: KubeWorld) -> None:
    alb = deployed(world)
    hosts = world.env.origin_hosts
    zone = publish_origins(world.endpoint, hosts)
    events: list[str] = []
    world.mgmt.add_controller(ExternalDnsSyncs(world.endpoint, zone, hosts, events, stays=True))
    world.mgmt.add_controller(ArgoCdDeletesSaleor(world.endpoint, alb, after=1, events=events))
    step = drain_step(world)
    with pytest.raises(WaitTimeout) as late:
        step.apply(context(world, step))
    assert f"ExternalDNS has not deleted {hosts[0]} CNAME" in str(late.value)
    assert "route53" in late.value.hint
    secret = world.mgmt.get("v1", "Secret", "cluster-jung-dev-eks", "argocd")
    assert [k for k in secret["metadata"]["labels"] if k.startswith("kyeol.io/addon-")], "the add-ons (ExternalDNS) stay"


def test_drain_deletes_saleor_first_waits_for_its_alb_then_drops_the_addons(world: KubeWorld) -> None:
    alb = deployed(world)
    events: list[str] = []
    # The ApplicationSets look first on every request: a label removed too early shows at once.
    appsets = world.mgmt.add_controller(ApplicationSetsFollowLabels(events, after=2))
    argo = world.mgmt.add_controller(ArgoCdDeletesSaleor(world.endpoint, alb, after=3, events=events))
    untouched = make_alb(world.endpoint, "k8s-other-cluster-lb", "jung-stage-eks")
    step = drain_step(world)

    check = step.check(context(world, step))
    assert not check.done and "saleor-dev" in check.reason and "k8s-saleor-saleor-0123456789" in check.reason
    outcome = drive(step, context(world, step))
    assert outcome.kind == "applied" and outcome.outputs == {"drained": "jung-dev-eks"}

    # The order that keeps the controller alive while it deletes the ALB.
    assert argo.events == ["alb deleted", "saleor app gone", "labels removed", "addons gone"]
    writes = mgmt_writes(world)
    assert writes[0] == ("DELETE", "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/saleor-dev")
    assert writes[1] == ("PATCH", "/api/v1/namespaces/argocd/secrets/cluster-jung-dev-eks")
    assert len(writes) == 2  # the add-on Applications are the ApplicationSets' to delete
    # kyeol waited on the ALB (several polls on the injected clock), not on a fixed sleep.
    assert world.clock.sleeps and all(s <= 30 for s in world.clock.sleeps)
    secret = world.mgmt.get("v1", "Secret", "cluster-jung-dev-eks", "argocd")
    assert not [k for k in secret["metadata"]["labels"] if k.startswith("kyeol.io/addon-")]
    assert secret["metadata"]["labels"]["kyeol.io/env"] == "dev"  # only the add-on labels went
    assert load_balancer_names(world.endpoint) == ["k8s-other-cluster-lb"]  # another cluster's ALB is not ours
    assert untouched["lb"]

    again = drain_step(world)
    assert again.check(context(world, again)).done
    assert appsets._seen >= 2


def test_drain_gives_the_application_the_resources_finalizer_before_deleting_it(world: KubeWorld) -> None:
    alb = deployed(world, finalizer=False)
    argo = world.mgmt.add_controller(ArgoCdDeletesSaleor(world.endpoint, alb, after=1))
    world.mgmt.add_controller(ApplicationSetsFollowLabels(argo.events, after=1))
    step = drain_step(world)
    drive(step, context(world, step))
    first, second = [r for r in world.mgmt.requests if r.method != "GET"][:2]
    assert (first.method, first.body) == ("PATCH", {"metadata": {"finalizers": [FINALIZER]}})
    assert second.method == "DELETE" and second.path.endswith("/applications/saleor-dev")
    assert "alb deleted" in argo.events


def test_drain_deadline_names_the_load_balancer_that_is_left(world: KubeWorld) -> None:
    alb = deployed(world)
    argo = world.mgmt.add_controller(ArgoCdDeletesSaleor(world.endpoint, alb, after=1, alb_stays=True))
    step = drain_step(world)
    with pytest.raises(WaitTimeout) as timed_out:
        drive(step, context(world, step))
    message = timed_out.value.message
    assert "k8s-saleor-saleor-0123456789" in message and alb["lb"] in message
    assert "k8s-saleor-saleor-0123456789-tg" in message  # and its target group
    assert "delete-load-balancer" in timed_out.value.hint
    assert "saleor app gone" in argo.events
    # The add-ons were left alone: the controller stays to delete what is still there.
    assert (
        "kyeol.io/addon-aws-load-balancer-controller"
        in world.mgmt.get("v1", "Secret", "cluster-jung-dev-eks", "argocd")["metadata"]["labels"]
    )
    assert world.clock.monotonic() - 1000.0 >= phase_destroy.LOAD_BALANCERS_TIMEOUT_S


def test_drain_dry_run_lists_what_would_go_and_changes_nothing(world: KubeWorld) -> None:
    deployed(world)
    step = drain_step(world, dry_run=True)
    outcome = drive(step, context(world, step, dry_run=True))
    assert outcome.kind == "planned" and outcome.plan is not None
    changes = [(c.action, c.target) for c in outcome.plan.changes]
    assert changes[0] == ("delete", "Application argocd/saleor-dev on jung-mgmt-eks")
    assert ("delete", "ELBv2 load balancer k8s-saleor-saleor-0123456789") in changes
    assert ("delete", "ELBv2 target group k8s-saleor-saleor-0123456789-tg") in changes
    assert ("update", "Secret argocd/cluster-jung-dev-eks on jung-mgmt-eks") in changes
    assert [t for a, t in changes if t.startswith("Application argocd/") and a == "delete"][1:] == [
        f"Application argocd/{addon}-dev on jung-mgmt-eks" for addon in ADDONS
    ]
    assert mgmt_writes(world) == [] and load_balancer_names(world.endpoint) == ["k8s-saleor-saleor-0123456789"]


# -- deregister -----------------------------------------------------------------------------


def test_deregister_deletes_the_cluster_secret_and_is_idempotent(world: KubeWorld) -> None:
    world.mgmt.put(cluster_secret(world.env, world.outputs["dev.infra"]))
    plan = drive(deregister_step(world, dry_run=True), context(world, deregister_step(world), dry_run=True))
    assert plan.plan is not None and [(c.action, c.target) for c in plan.plan.changes] == [
        ("delete", "Secret argocd/cluster-jung-dev-eks on jung-mgmt-eks")
    ]
    assert mgmt_writes(world) == []

    step = deregister_step(world)
    outcome = drive(step, context(world, step))
    assert outcome.kind == "applied" and outcome.outputs == {"deregistered": "jung-dev-eks"}
    assert world.mgmt.get("v1", "Secret", "cluster-jung-dev-eks", "argocd") is None
    assert drive(deregister_step(world), context(world, step)).kind == "done"
    # Gone between the check and the delete (404): still done, no error.
    step.apply(context(world, step))
    assert [m for m, _ in mgmt_writes(world)] == ["DELETE", "DELETE"]
    assert [r.status for r in world.mgmt.requests if r.method == "DELETE"] == [200, 404]
