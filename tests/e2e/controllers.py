"""Stand-ins for what the platform's own controllers do between kyeol's phases, scripted on the
Kubernetes API stand-ins of the end-to-end world.

kyeol only asks Argo CD to act and then reads the results; in the real platform Argo CD,
the AWS Load Balancer Controller and ExternalDNS produce them. Each class here is one such
controller, run by :class:`tests.standins.fake_kube_api.FakeKubeAPI` before every request:

* :class:`LbcWebhookComesUp` — once Argo CD reports the LBC add-on Healthy, its webhook Service
  has a ready endpoint on the env cluster (what phase 6 waits for last);
* :class:`SaleorSyncCreates` — once a sync of ``saleor-<env>`` ran, the Ingress from Git (the
  env overlay, rendered by ``kubectl kustomize``) exists on the env cluster, owned by Argo CD's
  field manager (what phase 8 patches with the origin header);
* :class:`ExternalDnsPublishes` — once that Ingress exists, its ``origin-*`` names are in
  Route53 (moto) if ExternalDNS v0.21.0, run with the arguments the cluster's add-on gets, would
  select their zone and pass their names (what phase 9's DNS link checks);
* :class:`AddonApplicationSets` — the add-on ApplicationSets: ``<addon>-<env>`` exists while the
  root app exists and the cluster Secret carries ``kyeol.io/addon-<addon>: "true"`` (what phase 6
  waits for, and what `kyeol destroy` removes by taking the labels off);
* :class:`LbcManagesAlb` — the load balancer controller: while the Saleor Ingress exists there is
  an ALB and a target group in moto tagged ``elbv2.k8s.aws/cluster=<cluster>``; ``delete_after_s``
  after the Ingress went, they go too (what `kyeol destroy` waits for);
* :class:`ArgoCdFinalizesSaleor` — Argo CD's resources finalizer: a ``saleor-<env>`` marked for
  deletion deletes its Ingress on the env cluster, then the finalizer is removed.

Cross-cluster controllers sit on MGMT and write to the env cluster, never the other way, so
the two stand-ins' locks are always taken in the same order.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.gitops.support import render
from tests.standins.fake_kube_api import ArgoCdController, FakeKubeAPI, RecordedRequest

ARGO = "argoproj.io/v1alpha1"
INGRESS = "networking.k8s.io/v1"
HOSTNAME_ANNOTATION = "external-dns.alpha.kubernetes.io/hostname"
ALB_NAME = "k8s-saleor-0123456789.ap-northeast-1.elb.amazonaws.com"
ALB_ZONE_ID = "Z14GRHDCWA56QT"  # Elastic Load Balancing's canonical hosted zone in ap-northeast-1
PLATFORM = Path(__file__).resolve().parents[2] / "kyeol-platform-gitops"


def git_ingress(overlay: Path) -> dict[str, Any]:
    """The Saleor Ingress exactly as Argo CD gets it from Git."""
    (ingress,) = [d for d in render(overlay) if d["kind"] == "Ingress"]
    return ingress


@dataclass
class LbcWebhookComesUp:
    """Runs on MGMT: the LBC add-on Healthy → its webhook endpoints ready on the env cluster."""

    cluster: FakeKubeAPI
    application: str = "aws-load-balancer-controller-dev"
    service: tuple[str, str] = ("kube-system", "aws-load-balancer-webhook-service")

    def __call__(self, api: FakeKubeAPI, request: RecordedRequest) -> None:
        namespace, name = self.service
        if self.cluster.get("v1", "Endpoints", name, namespace) is not None:
            return
        app = api.get(ARGO, "Application", self.application, "argocd") or {}
        if ((app.get("status") or {}).get("health") or {}).get("status") != "Healthy":
            return
        self.cluster.put(
            {
                "apiVersion": "v1",
                "kind": "Endpoints",
                "metadata": {"name": name, "namespace": namespace},
                "subsets": [{"addresses": [{"ip": "10.10.12.34"}], "ports": [{"port": 9443, "protocol": "TCP"}]}],
            }
        )


@dataclass
class SaleorSyncCreates:
    """Runs on MGMT: a sync of the Saleor Application has run → its Ingress is on the env cluster."""

    cluster: FakeKubeAPI
    ingress: dict[str, Any]
    application: str = "saleor-dev"
    created: int = 0

    def __call__(self, api: FakeKubeAPI, request: RecordedRequest) -> None:
        meta = self.ingress["metadata"]
        if self.cluster.get(INGRESS, "Ingress", meta["name"], meta["namespace"]) is not None:
            return
        app = api.get(ARGO, "Application", self.application, "argocd") or {}
        if not (app.get("status") or {}).get("operationState"):
            return
        if self.cluster.get("v1", "Namespace", meta["namespace"]) is None:
            self.cluster.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": meta["namespace"]}})
        self.cluster.apply(self.ingress, "argocd-controller")
        self.created += 1


@dataclass
class ExternalDnsPublishes:
    """Runs on the env cluster (and on MGMT while kyeol drains through it): ExternalDNS v0.21.0
    with the arguments this cluster's add-on Application gives it. Its configuration is not
    written here: it is read from what Argo CD would deploy — the reviewed values file
    ``clusters/<env>/external-dns-values.yaml`` merged under the ApplicationSet's
    ``valuesObject``, evaluated (Go templates) against the cluster Secret phase 5 wrote on MGMT,
    and turned into container arguments as the chart does (:mod:`tests.standins.external_dns`).

    Then the upstream rules (kubernetes-sigs/external-dns@v0.21.0): provider/aws/aws.go
    ``zones()`` selects the hosted zones (zone-id filter, zone type, domain filter, and a zone
    that is only a *parent* of a filter only with ``--aws-zone-match-parent``); plan/plan.go
    drops desired names outside the domain filter; a name goes into the longest selected zone it
    is in (provider/zonefinder.go), as an alias A record to the ALB with its TXT ownership record
    (registry/txt); policy ``sync`` deletes both once the Ingress is gone. ExternalDNS runs only
    while its Application ``external-dns-<env>`` exists."""

    endpoint: str
    mgmt: FakeKubeAPI
    cluster: FakeKubeAPI
    env: str = "dev"
    platform: Path = PLATFORM
    ingress: tuple[str, str] = ("saleor", "saleor")
    published: dict[str, str] = field(default_factory=dict)  # name -> zone id
    skipped: list[str] = field(default_factory=list)  # why a run published nothing (for test messages)
    _config: tuple[str, Any] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _refresh(self) -> None:
        """On MGMT's requests only: the running ExternalDNS's flags, or None while it is not
        deployed (its Application is absent). Dev's requests use what was read last, so no
        lock of MGMT is ever taken under dev's (MGMT before dev, this stand-in's own lock last)."""
        from tests.standins.external_dns import load_config

        secret = self.mgmt.get("v1", "Secret", f"cluster-{self.cluster.name}", "argocd")
        if secret is None or self.mgmt.get(ARGO, "Application", f"external-dns-{self.env}", "argocd") is None:
            self._config = None
            return
        key = repr(secret["metadata"].get("annotations"))
        if self._config is None or self._config[0] != key:
            self._config = (key, load_config(self.platform, self.env, secret))

    def __call__(self, api: FakeKubeAPI, request: RecordedRequest) -> None:
        namespace, name = self.ingress
        if api is self.mgmt:
            self._refresh()
        if self._config is None:
            return
        config = self._config[1]
        found = self.cluster.get(INGRESS, "Ingress", name, namespace)
        with self._lock:
            if found is None:
                if self.published and config.policy == "sync":
                    self._delete(config)
                return
            annotation = (found["metadata"].get("annotations") or {}).get(HOSTNAME_ANNOTATION) or ""
            wanted = sorted({h.strip().rstrip(".") for h in annotation.split(",") if h.strip()} - set(self.published))
            if wanted:
                self._upsert(config, wanted, f"ingress/{namespace}/{name}")

    def _route53(self) -> Any:
        import boto3

        return boto3.client("route53", region_name="us-east-1", endpoint_url=self.endpoint)

    def _upsert(self, config: Any, names: list[str], resource: str) -> None:
        from tests.standins.external_dns import find_zone

        r53 = self._route53()
        zones = [z for page in r53.get_paginator("list_hosted_zones").paginate() for z in page["HostedZones"]]
        selected = [z for z in zones if config.selects_zone(z)]
        if not selected:
            self.skipped.append(f"no hosted zone selected among {[z['Name'] for z in zones]}")
        for host in names:
            zone = find_zone(selected, host) if config.wants(host) else None
            if zone is None:
                self.skipped.append(f"{host}: not in the domain filter or no selected zone")
                continue
            zone_id = zone["Id"].rsplit("/", 1)[-1]
            changes = [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": host + ".",
                        "Type": "A",
                        "AliasTarget": {"HostedZoneId": ALB_ZONE_ID, "DNSName": ALB_NAME + ".", "EvaluateTargetHealth": True},
                    },
                },
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": config.txt_name(host) + ".",
                        "Type": "TXT",
                        "TTL": 300,
                        "ResourceRecords": [{"Value": config.owner_label(resource)}],
                    },
                },
            ]
            r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
            self.published[host] = zone_id
        del self.skipped[:-20]

    def _delete(self, config: Any) -> None:
        r53 = self._route53()
        for host, zone_id in sorted(self.published.items()):
            changes = []
            for record_name in (host + ".", config.txt_name(host) + "."):
                listed = r53.list_resource_record_sets(HostedZoneId=zone_id, StartRecordName=record_name, MaxItems="5")
                changes += [
                    {"Action": "DELETE", "ResourceRecordSet": r}
                    for r in listed["ResourceRecordSets"]
                    if r["Name"] == record_name and r["Type"] in ("A", "TXT")
                ]
            if changes:
                r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
        self.published.clear()


@dataclass
class AddonApplicationSets:
    """Runs on MGMT: ``<addon>-<env>`` exists exactly while ``platform-root`` exists and the cluster
    Secret carries the add-on's label (the ApplicationSets' cluster generators)."""

    children: list[dict[str, Any]]
    argo: ArgoCdController
    secret: str = "cluster-jung-dev-eks"
    root: str = "platform-root"

    def __call__(self, api: FakeKubeAPI, request: RecordedRequest) -> None:
        found = api.get("v1", "Secret", self.secret, "argocd")
        labels = ((found or {}).get("metadata") or {}).get("labels") or {}
        root = api.get(ARGO, "Application", self.root, "argocd") is not None
        for child in self.children:
            name = child["metadata"]["name"]
            addon = child["metadata"]["labels"]["kyeol.io/addon"]
            wanted = root and labels.get(f"kyeol.io/addon-{addon}") == "true"
            present = api.get(ARGO, "Application", name, "argocd") is not None
            if wanted and not present:
                api.put(child)
            elif present and not wanted:
                api.delete(ARGO, "Application", name, "argocd")
                self.argo.forget(name)


@dataclass
class LbcManagesAlb:
    """Runs on MGMT, looks at the env cluster: the Saleor Ingress → an ALB and a target group in
    moto tagged with the cluster; ``delete_after_s`` (real time) after the Ingress went, they go."""

    cluster: FakeKubeAPI
    endpoint: str
    cluster_name: str = "jung-dev-eks"
    ingress: tuple[str, str] = ("saleor", "saleor")
    delete_after_s: float = 0.0
    name: str = "k8s-saleor-saleor-0123456789"
    arns: dict[str, str] = field(default_factory=dict)
    deleted: int = 0
    _gone_since: float | None = None

    def __call__(self, api: FakeKubeAPI, request: RecordedRequest) -> None:
        namespace, name = self.ingress
        present = self.cluster.get(INGRESS, "Ingress", name, namespace) is not None
        if present and not self.arns:
            self._gone_since = None
            self.arns = self._create()
        elif not present and self.arns:
            now = time.monotonic()
            if self._gone_since is None:
                self._gone_since = now
            if now - self._gone_since >= self.delete_after_s:
                client = self._elbv2()
                client.delete_load_balancer(LoadBalancerArn=self.arns["lb"])
                client.delete_target_group(TargetGroupArn=self.arns["tg"])
                self.arns = {}
                self.deleted += 1

    def _elbv2(self) -> Any:
        import boto3

        return boto3.client("elbv2", region_name="ap-northeast-1", endpoint_url=self.endpoint)

    def _create(self) -> dict[str, str]:
        import boto3

        ec2 = boto3.client("ec2", region_name="ap-northeast-1", endpoint_url=self.endpoint)
        vpc = ec2.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.99.{i}.0/24", AvailabilityZone=f"ap-northeast-1{az}")["Subnet"][
                "SubnetId"
            ]
            for i, az in enumerate("ac")
        ]
        tags = [
            {"Key": "elbv2.k8s.aws/cluster", "Value": self.cluster_name},
            {"Key": "ingress.k8s.aws/stack", "Value": "saleor/saleor"},
        ]
        client = self._elbv2()
        lb = client.create_load_balancer(Name=self.name, Subnets=subnets, Scheme="internet-facing", Type="application", Tags=tags)
        tg = client.create_target_group(
            Name=f"{self.name[:28]}-tg", Protocol="HTTP", Port=8000, VpcId=vpc, TargetType="ip", Tags=tags
        )
        return {"lb": lb["LoadBalancers"][0]["LoadBalancerArn"], "tg": tg["TargetGroups"][0]["TargetGroupArn"]}


@dataclass
class ArgoCdFinalizesSaleor:
    """Runs on MGMT: ``saleor-<env>`` marked for deletion → its Ingress is deleted on the env
    cluster, then the resources finalizer is removed (the Application goes)."""

    cluster: FakeKubeAPI
    argo: ArgoCdController
    application: str = "saleor-dev"
    ingress: tuple[str, str] = ("saleor", "saleor")
    finalized: int = 0

    def __call__(self, api: FakeKubeAPI, request: RecordedRequest) -> None:
        app = api.get(ARGO, "Application", self.application, "argocd")
        if app is None or not app["metadata"].get("deletionTimestamp"):
            return
        namespace, name = self.ingress
        self.cluster.delete(INGRESS, "Ingress", name, namespace)

        def release(obj: dict[str, Any]) -> None:
            obj["metadata"]["finalizers"] = [
                f for f in obj["metadata"].get("finalizers") or [] if f != "resources-finalizer.argocd.argoproj.io"
            ]

        api.mutate(ARGO, "Application", self.application, "argocd", release)
        self.argo.forget(self.application)
        self.finalized += 1
