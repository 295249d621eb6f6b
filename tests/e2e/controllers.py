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
  Route53 (moto), as ExternalDNS writes them (what phase 9's DNS link checks).

Cross-cluster controllers sit on MGMT and write to the env cluster, never the other way, so
the two stand-ins' locks are always taken in the same order.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.gitops.support import render
from tests.standins.fake_kube_api import FakeKubeAPI, RecordedRequest

ARGO = "argoproj.io/v1alpha1"
INGRESS = "networking.k8s.io/v1"
HOSTNAME_ANNOTATION = "external-dns.alpha.kubernetes.io/hostname"
ALB_NAME = "k8s-saleor-0123456789.ap-northeast-1.elb.amazonaws.com"


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
        self.cluster.put({
            "apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name, "namespace": namespace},
            "subsets": [{"addresses": [{"ip": "10.10.12.34"}], "ports": [{"port": 9443, "protocol": "TCP"}]}],
        })


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
    """Runs on the env cluster: the Ingress's hostname annotation → CNAME records to the ALB."""

    endpoint: str
    domain: str
    ingress: tuple[str, str] = ("saleor", "saleor")
    published: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, api: FakeKubeAPI, request: RecordedRequest) -> None:
        namespace, name = self.ingress
        found = api.get(INGRESS, "Ingress", name, namespace)
        if found is None:
            return
        wanted = {h.strip() for h in ((found["metadata"].get("annotations") or {}).get(HOSTNAME_ANNOTATION) or "").split(",") if h.strip()}
        with self._lock:
            missing = sorted(wanted - self.published)
            if not missing:
                return
            if self._upsert(missing):
                self.published.update(missing)

    def _upsert(self, hosts: list[str]) -> bool:
        import boto3

        r53 = boto3.client("route53", region_name="us-east-1", endpoint_url=self.endpoint)
        zones = [z for z in r53.list_hosted_zones_by_name(DNSName=self.domain + ".")["HostedZones"] if z["Name"] == self.domain + "."]
        if not zones:
            return False  # the zone comes from Terraform (global/us-east-1); nothing to publish into yet
        changes = [{"Action": "UPSERT", "ResourceRecordSet": {"Name": host, "Type": "CNAME", "TTL": 60,
                                                              "ResourceRecords": [{"Value": ALB_NAME}]}} for host in hosts]
        r53.change_resource_record_sets(HostedZoneId=zones[0]["Id"].rsplit("/", 1)[-1], ChangeBatch={"Changes": changes})
        return True
