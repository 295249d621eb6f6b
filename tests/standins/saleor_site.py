"""Stand-in for an environment's public site, for the verification chain.

``SaleorSite`` is a real HTTPS server (stdlib ``http.server`` + ``ssl``) on 127.0.0.1 with a
certificate from a trustme test CA. It answers, by Host header, as the live site would: the
storefront ``/``, the dashboard ``/dashboard/``, the API ``/health/`` and ``POST /graphql/``
(``{ shop { name } }``), with HSTS. It records the SNI names and Host headers it saw, so tests
can prove kyeol kept the real names while connecting to loopback.

``build_edge`` writes the AWS side into moto: the public hosted zone, a CLOUDFRONT web ACL,
one distribution per public host, the Route53 alias records Terraform makes and the origin
records ExternalDNS makes.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
import warnings
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import trustme

SHOP = {"data": {"shop": {"name": "Saleor e-commerce"}}}
ONE_YEAR = "max-age=31536000; includeSubDomains"


@dataclass
class Behaviour:
    """What the site answers; tests change it to break one link at a time."""

    hsts: str | None = ONE_YEAR
    graphql: dict[str, Any] = field(default_factory=lambda: dict(SHOP))
    # Answers to give, in order, for a path before answering normally (e.g. 503 while starting).
    statuses: dict[str, list[int]] = field(default_factory=dict)
    # Seconds to think before each answer (a slow origin: a client can be stopped meanwhile).
    delay_s: float = 0.0


class SaleorSite:
    """The HTTPS server; use as a context manager, then read ``port``."""

    def __init__(
        self,
        cert: trustme.LeafCert,
        *,
        storefront_host: str,
        api_host: str,
        behaviour: Behaviour | None = None,
        maximum_version: ssl.TLSVersion | None = None,
    ) -> None:
        self.storefront_host = storefront_host
        self.api_host = api_host
        self.behaviour = behaviour or Behaviour()
        self.sni: list[str | None] = []
        self.requests: list[tuple[str, str, str]] = []  # (Host header, method, path)
        self._ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(self._ctx)
        if maximum_version is not None:
            with warnings.catch_warnings():  # old protocol versions are deprecated: that is the point
                warnings.simplefilter("ignore", DeprecationWarning)
                self._ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
                self._ctx.maximum_version = maximum_version
        self._ctx.sni_callback = lambda sock, name, ctx: self.sni.append(name)
        self._server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def resolve_override(self) -> str:
        """The KYEOL_VERIFY_RESOLVE value that sends both names here."""
        return f"{self.storefront_host}=127.0.0.1:{self.port},{self.api_host}=127.0.0.1:{self.port}"

    def __enter__(self) -> SaleorSite:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                site._answer(self, "GET")

            def do_POST(self) -> None:
                site._answer(self, "POST")

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self):  # type: ignore[no-untyped-def]
                sock, addr = super().get_request()
                return site._ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

            def handle_error(self, request: Any, client_address: Any) -> None:
                return  # failed handshakes are what some tests are about

        self._server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _answer(self, h: BaseHTTPRequestHandler, method: str) -> None:
        host = (h.headers.get("Host") or "").split(":")[0]
        path = h.path.split("?")[0]
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        self.requests.append((host, method, path))
        if self.behaviour.delay_s > 0:
            time.sleep(self.behaviour.delay_s)
        status, content_type, payload = self._route(host, method, path, body)
        queued = self.behaviour.statuses.get(path)
        if queued:
            status, content_type, payload = queued.pop(0), "text/plain", b"upstream not ready"
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(payload)))
        if self.behaviour.hsts is not None:
            h.send_header("Strict-Transport-Security", self.behaviour.hsts)
        h.end_headers()
        h.wfile.write(payload)

    def _route(self, host: str, method: str, path: str, body: bytes) -> tuple[int, str, bytes]:
        if host == self.storefront_host:
            if method == "GET" and path == "/":
                return 200, "text/html", b"<html><title>KYEOL</title></html>"
            if method == "GET" and path.startswith("/dashboard/"):
                return 200, "text/html", b"<html><title>Dashboard</title></html>"
        if host == self.api_host:
            if method == "GET" and path == "/health/":
                return 200, "text/plain", b""
            if method == "POST" and path == "/graphql/":
                query = json.loads(body or b"{}").get("query", "")
                if "shop" not in query:
                    return 400, "application/json", b'{"errors":[{"message":"Must provide query string."}]}'
                return 200, "application/json", json.dumps(self.behaviour.graphql).encode()
        return 404, "text/plain", b"not found"


# -- the AWS side, in moto ---------------------------------------------------------------


def build_edge(
    aws: Any,
    *,
    domain: str,
    sites: list[tuple[str, str]],
    ipv6: bool = True,
    web_acl: bool = True,
    skip_alias: tuple[str, ...] = (),
    skip_origin: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Zone, web ACL, one distribution per (public host, origin host), alias and origin records."""
    r53 = aws.client("route53", "us-east-1")
    cf = aws.client("cloudfront", "us-east-1")
    zone_id = r53.create_hosted_zone(Name=domain, CallerReference=f"zone-{domain}")["HostedZone"]["Id"]
    acl_arn = ""
    if web_acl:
        acl_arn = aws.client("wafv2", "us-east-1").create_web_acl(
            Name="jung-cloudfront",
            Scope="CLOUDFRONT",
            DefaultAction={"Allow": {}},
            VisibilityConfig={"SampledRequestsEnabled": False, "CloudWatchMetricsEnabled": False, "MetricName": "jung"},
        )["Summary"]["ARN"]
    distributions: dict[str, dict[str, Any]] = {}
    changes = []
    for host, origin in sites:
        dist = cf.create_distribution(
            DistributionConfig={
                "CallerReference": f"dist-{host}",
                "Aliases": {"Quantity": 1, "Items": [host]},
                "Origins": {
                    "Quantity": 1,
                    "Items": [
                        {
                            "Id": "alb",
                            "DomainName": origin,
                            "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"},
                        }
                    ],
                },
                "DefaultCacheBehavior": {
                    "TargetOriginId": "alb",
                    "ViewerProtocolPolicy": "redirect-to-https",
                    "CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
                },
                "Comment": host,
                "Enabled": True,
                "IsIPV6Enabled": ipv6,
                "WebACLId": acl_arn,
                "ViewerCertificate": {
                    "ACMCertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/test",
                    "SSLSupportMethod": "sni-only",
                    "MinimumProtocolVersion": "TLSv1.2_2021",
                },
            }
        )["Distribution"]
        distributions[host] = dist
        if host not in skip_alias:
            for rtype in ("A", "AAAA") if ipv6 else ("A",):
                changes.append(
                    {
                        "Action": "CREATE",
                        "ResourceRecordSet": {
                            "Name": host,
                            "Type": rtype,
                            "AliasTarget": {
                                "HostedZoneId": "Z2FDTNDATAQYW2",
                                "DNSName": dist["DomainName"],
                                "EvaluateTargetHealth": False,
                            },
                        },
                    }
                )
        if origin not in skip_origin:
            changes.append(
                {
                    "Action": "CREATE",
                    "ResourceRecordSet": {
                        "Name": origin,
                        "Type": "CNAME",
                        "TTL": 60,
                        "ResourceRecords": [{"Value": "k8s-saleor-0123456789.ap-northeast-1.elb.amazonaws.com"}],
                    },
                }
            )
    if changes:
        r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
    return {"zone_id": zone_id, "web_acl_arn": acl_arn, "distributions": distributions}
