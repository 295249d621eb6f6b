"""The verification chain against a real HTTPS server (trustme CA) and moto's Route53,
CloudFront and WAFv2: each link passes on a healthy site and fails, by name, when broken."""

from __future__ import annotations

import json
import re
import socket
import ssl
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
import trustme

from runbook.errors import ConfigError
from steps.adapters.aws import AwsSession
from steps.adapters.https import (
    LINKS,
    Chain,
    LinkResult,
    Site,
    VerifySettings,
    as_json,
    format_table,
    parse_resolve,
    summary,
)
from steps.wiring.config import load_config
from tests.standins.saleor_site import Behaviour, SaleorSite, build_edge

ROOT = Path(__file__).resolve().parents[3]
CONFIG = load_config(ROOT / "kyeol.toml")
DEV = CONFIG.env("dev")
SITES = [Site(DEV.service_host, DEV.origin_service_host, "storefront"), Site(DEV.api_host, DEV.origin_api_host, "api")]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_bundle(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def aws(moto_endpoint: str) -> AwsSession:
    return AwsSession("ap-northeast-1", endpoint_url=moto_endpoint)


def edge(aws: AwsSession, **kw: Any) -> dict[str, Any]:
    return build_edge(aws, domain=DEV.domain, sites=[(s.host, s.origin_host) for s in SITES], **kw)


def serve(cert: trustme.LeafCert, behaviour: Behaviour | None = None, **kw: Any) -> SaleorSite:
    return SaleorSite(cert, storefront_host=DEV.service_host, api_host=DEV.api_host, behaviour=behaviour, **kw)


class Resolver:
    """Records public look-ups; answers NXDOMAIN unless told an address."""

    def __init__(self, address: str | None = None) -> None:
        self.calls: list[str] = []
        self.address = address

    def __call__(self, host: str, port: int, **kw: Any) -> list:
        self.calls.append(host)
        if self.address is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (self.address, port))]


def chain(aws: AwsSession, site: SaleorSite | None, ca_bundle: str, resolver: Resolver | None = None, **kw: Any) -> Chain:
    settings = VerifySettings(resolve=parse_resolve(site.resolve_override()) if site else {}, ca_bundle=ca_bundle, **kw)
    return Chain(aws=aws, domain=DEV.domain, settings=settings, resolver=resolver or Resolver())


def by_link(results: list[LinkResult], host: str) -> dict[str, LinkResult]:
    return {r.link: r for r in results if r.target == host}


# -- the healthy site ------------------------------------------------------------------------


def test_every_link_passes_on_a_healthy_site(aws: AwsSession, ca: trustme.CA, ca_bundle: str) -> None:
    edge(aws)
    resolver = Resolver()
    with serve(ca.issue_cert(DEV.service_host, DEV.api_host)) as site:
        results = chain(aws, site, ca_bundle, resolver).run(SITES)
    assert [(r.link, r.target) for r in results] == [(link, s.host) for s in SITES for link in LINKS]
    assert all(r.ok for r in results), format_table(results)
    api = by_link(results, DEV.api_host)
    assert "Saleor e-commerce" in api["HTTP"].detail and "/health/ 200" in api["HTTP"].detail
    assert "max-age=31536000" in api["HSTS"].detail
    assert "TLSv1.3" in api["TLS"].detail or "TLSv1.2" in api["TLS"].detail
    assert "alias A/AAAA" in api["DNS"].detail and "KYEOL_VERIFY_RESOLVE" in api["DNS"].detail
    # Connected to loopback, but SNI and Host carried the real names; no public look-up happened.
    assert set(site.sni) == {DEV.service_host, DEV.api_host}
    assert {h for (h, _, _) in site.requests} == {DEV.service_host, DEV.api_host}
    assert ("dev.mgz-g2-u3.shop", "GET", "/dashboard/") in site.requests
    assert resolver.calls == []


# -- TLS -------------------------------------------------------------------------------------


def test_a_certificate_from_another_ca_fails_tls(aws: AwsSession, ca_bundle: str) -> None:
    edge(aws)
    with serve(trustme.CA().issue_cert(DEV.service_host, DEV.api_host)) as site:
        results = chain(aws, site, ca_bundle).run(SITES)
    links = by_link(results, DEV.service_host)
    assert not links["TLS"].ok and "not trusted" in links["TLS"].detail
    assert links["HTTP"].skipped and links["HSTS"].skipped
    assert links["DNS"].ok and links["edge"].ok
    assert summary(results).startswith("TLS dev.mgz-g2-u3.shop")


def test_a_certificate_for_another_name_fails_tls(aws: AwsSession, ca: trustme.CA, ca_bundle: str) -> None:
    edge(aws)
    with serve(ca.issue_cert("stage.mgz-g2-u3.shop")) as site:
        results = chain(aws, site, ca_bundle).run(SITES)
    tls = by_link(results, DEV.api_host)["TLS"]
    assert not tls.ok and "Hostname mismatch" in tls.detail and DEV.api_host in tls.detail


def test_a_certificate_expiring_within_21_days_fails_tls(aws: AwsSession, ca: trustme.CA, ca_bundle: str) -> None:
    edge(aws)
    soon = datetime.now(UTC) + timedelta(days=10)
    with serve(ca.issue_cert(DEV.service_host, DEV.api_host, not_after=soon)) as site:
        results = chain(aws, site, ca_bundle).run(SITES)
    tls = by_link(results, DEV.service_host)["TLS"]
    assert not tls.ok and "days left, need ≥ 21" in tls.detail
    assert re.search(r"\((9|10) days left", tls.detail)


def test_a_certificate_with_30_days_left_passes_tls(aws: AwsSession, ca: trustme.CA, ca_bundle: str) -> None:
    edge(aws)
    later = datetime.now(UTC) + timedelta(days=30)
    with serve(ca.issue_cert(DEV.service_host, DEV.api_host, not_after=later)) as site:
        results = chain(aws, site, ca_bundle).run(SITES)
    assert by_link(results, DEV.service_host)["TLS"].ok


def test_tls_older_than_1_2_is_refused(aws: AwsSession, ca: trustme.CA, ca_bundle: str) -> None:
    edge(aws)
    try:
        site = serve(ca.issue_cert(DEV.service_host, DEV.api_host), maximum_version=ssl.TLSVersion.TLSv1_1)
    except (ValueError, ssl.SSLError) as exc:  # an OpenSSL built without TLS 1.1 cannot even offer it
        pytest.skip(f"this OpenSSL cannot serve TLS 1.1: {exc}")
    with site:
        results = chain(aws, site, ca_bundle).run(SITES)
    tls = by_link(results, DEV.service_host)["TLS"]
    assert not tls.ok and "handshake" in tls.detail


def test_nothing_listening_is_a_pending_tls_failure(aws: AwsSession, ca_bundle: str) -> None:
    edge(aws)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = VerifySettings(resolve={DEV.service_host: ("127.0.0.1", port)}, ca_bundle=ca_bundle)
    results = Chain(aws=aws, domain=DEV.domain, settings=settings, resolver=Resolver()).check_site(SITES[0])
    tls = by_link(results, DEV.service_host)["TLS"]
    assert not tls.ok and tls.pending and f"127.0.0.1:{port}" in tls.detail


# -- HTTP and HSTS ---------------------------------------------------------------------------


def test_missing_hsts_fails_hsts(aws: AwsSession, ca: trustme.CA, ca_bundle: str) -> None:
    edge(aws)
    with serve(ca.issue_cert(DEV.service_host, DEV.api_host), Behaviour(hsts=None)) as site:
        results = chain(aws, site, ca_bundle).run(SITES)
    failed = [r for r in results if not r.ok]
    assert {r.link for r in failed} == {"HSTS"}
    assert "no Strict-Transport-Security" in failed[0].detail


def test_hsts_shorter_than_a_year_fails_hsts(aws: AwsSession, ca: trustme.CA, ca_bundle: str) -> None:
    edge(aws)
    with serve(ca.issue_cert(DEV.service_host, DEV.api_host), Behaviour(hsts="max-age=86400")) as site:
        results = chain(aws, site, ca_bundle).run(SITES)
    hsts = by_link(results, DEV.api_host)["HSTS"]
    assert not hsts.ok and "max-age=86400" in hsts.detail and "below one year" in hsts.detail


def test_a_graphql_error_fails_http(aws: AwsSession, ca: trustme.CA, ca_bundle: str) -> None:
    edge(aws)
    broken = Behaviour(graphql={"errors": [{"message": 'relation "site_site" does not exist'}], "data": None})
    with serve(ca.issue_cert(DEV.service_host, DEV.api_host), broken) as site:
        results = chain(aws, site, ca_bundle).run(SITES)
    api = by_link(results, DEV.api_host)
    assert not api["HTTP"].ok and "GraphQL error: relation" in api["HTTP"].detail and not api["HTTP"].pending
    assert api["HSTS"].skipped
    assert by_link(results, DEV.service_host)["HTTP"].ok


def test_an_empty_shop_name_fails_http(aws: AwsSession, ca: trustme.CA, ca_bundle: str) -> None:
    edge(aws)
    with serve(ca.issue_cert(DEV.service_host, DEV.api_host), Behaviour(graphql={"data": {"shop": None}})) as site:
        results = chain(aws, site, ca_bundle).run(SITES)
    assert "data.shop.name is missing" in by_link(results, DEV.api_host)["HTTP"].detail


def test_a_starting_backend_is_a_pending_http_failure(aws: AwsSession, ca: trustme.CA, ca_bundle: str) -> None:
    edge(aws)
    with serve(ca.issue_cert(DEV.service_host, DEV.api_host), Behaviour(statuses={"/dashboard/": [503]})) as site:
        results = chain(aws, site, ca_bundle).run(SITES)
    http = by_link(results, DEV.service_host)["HTTP"]
    assert not http.ok and http.pending and "/dashboard/ answered 503" in http.detail


# -- DNS -------------------------------------------------------------------------------------


def test_a_missing_route53_alias_fails_dns_without_asking_public_resolvers(aws: AwsSession, ca_bundle: str) -> None:
    edge(aws, skip_alias=(DEV.api_host,))
    resolver = Resolver()
    results = chain(aws, None, ca_bundle, resolver).run(SITES)
    dns = by_link(results, DEV.api_host)["DNS"]
    assert not dns.ok and "no A alias for dev-api.mgz-g2-u3.shop" in dns.detail and not dns.pending
    assert by_link(results, DEV.api_host)["TLS"].skipped
    # The public resolver was asked only for the name Route53 already has.
    assert resolver.calls == [DEV.service_host]


def test_a_public_nxdomain_after_route53_is_pending(aws: AwsSession, ca_bundle: str) -> None:
    edge(aws)
    results = chain(aws, None, ca_bundle, Resolver()).run(SITES[:1])
    dns = results[0]
    assert not dns.ok and dns.pending and "15 minutes" in dns.detail


def test_dns_uses_the_address_public_resolution_gives(aws: AwsSession, ca_bundle: str) -> None:
    edge(aws)
    results = chain(aws, None, ca_bundle, Resolver(address="127.0.0.1")).run(SITES[:1])
    assert results[0].ok and "connects to 127.0.0.1:443 (dns)" in results[0].detail


def test_a_missing_aaaa_alias_fails_when_the_distribution_serves_ipv6(aws: AwsSession, ca_bundle: str) -> None:
    info = edge(aws)
    r53 = aws.client("route53", "us-east-1")
    dist = info["distributions"][DEV.service_host]
    r53.change_resource_record_sets(
        HostedZoneId=info["zone_id"],
        ChangeBatch={
            "Changes": [
                {
                    "Action": "DELETE",
                    "ResourceRecordSet": {
                        "Name": DEV.service_host,
                        "Type": "AAAA",
                        "AliasTarget": {
                            "HostedZoneId": "Z2FDTNDATAQYW2",
                            "DNSName": dist["DomainName"],
                            "EvaluateTargetHealth": False,
                        },
                    },
                }
            ]
        },
    )
    dns = chain(aws, None, ca_bundle).run(SITES[:1])[0]
    assert not dns.ok and "no AAAA alias" in dns.detail and "IPv6" in dns.detail


def test_an_alias_to_another_distribution_fails_dns(aws: AwsSession, ca_bundle: str) -> None:
    info = edge(aws, ipv6=False)
    r53 = aws.client("route53", "us-east-1")
    other = info["distributions"][DEV.api_host]["DomainName"]
    r53.change_resource_record_sets(
        HostedZoneId=info["zone_id"],
        ChangeBatch={
            "Changes": [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": DEV.service_host,
                        "Type": "A",
                        "AliasTarget": {"HostedZoneId": "Z2FDTNDATAQYW2", "DNSName": other, "EvaluateTargetHealth": False},
                    },
                }
            ]
        },
    )
    dns = chain(aws, None, ca_bundle).run(SITES[:1])[0]
    assert not dns.ok and f"aliases {other}" in dns.detail


def test_a_missing_origin_record_is_a_pending_dns_failure(aws: AwsSession, ca_bundle: str) -> None:
    edge(aws, skip_origin=(DEV.origin_api_host,))
    dns = by_link(chain(aws, None, ca_bundle).run(SITES), DEV.api_host)["DNS"]
    assert not dns.ok and dns.pending and "origin-dev-api.mgz-g2-u3.shop is missing" in dns.detail


def test_no_hosted_zone_fails_dns(aws: AwsSession, ca_bundle: str) -> None:
    dns = chain(aws, None, ca_bundle).run(SITES[:1])[0]
    assert not dns.ok and "no public hosted zone mgz-g2-u3.shop" in dns.detail


def test_authoritative_nxdomain_stops_before_public_resolution(aws: AwsSession, ca_bundle: str) -> None:
    edge(aws)
    r53 = aws.client("route53", "us-east-1")
    answers = {"ResponseCode": "NXDOMAIN", "RecordData": []}

    class Http:  # what botocore needs of an HTTP response when a handler answers the call
        status_code = 200
        headers: ClassVar[dict[str, str]] = {}

    # moto lacks TestDNSAnswer: answer it at the SDK boundary, as Route53's name servers would.
    r53.meta.events.register("before-call.route53.TestDNSAnswer", lambda **kw: (Http(), dict(answers)))
    resolver = Resolver(address="127.0.0.1")
    dns = chain(aws, None, ca_bundle, resolver).run(SITES[:1])[0]
    assert not dns.ok and dns.pending and "authoritative NXDOMAIN" in dns.detail
    assert resolver.calls == []
    answers.update(ResponseCode="NOERROR", RecordData=["13.32.0.1", "13.32.0.2"])
    dns = chain(aws, None, ca_bundle, resolver).run(SITES[:1])[0]
    assert dns.ok and "authoritative NOERROR (2 address(es))" in dns.detail
    assert resolver.calls == [DEV.service_host]


def test_without_aws_credentials_dns_and_edge_fail_and_nothing_is_resolved(
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, ca_bundle: str, tmp_path: Path
) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    resolver = Resolver(address="127.0.0.1")
    results = chain(AwsSession("ap-northeast-1", endpoint_url=moto_endpoint), None, ca_bundle, resolver).run(SITES[:1])
    links = {r.link: r for r in results}
    assert not links["DNS"].ok and "credentials" in links["DNS"].detail
    assert not links["edge"].ok and links["TLS"].skipped
    assert resolver.calls == []


# -- edge ------------------------------------------------------------------------------------


def test_a_distribution_without_web_acl_fails_edge(aws: AwsSession, ca: trustme.CA, ca_bundle: str) -> None:
    edge(aws, web_acl=False)
    with serve(ca.issue_cert(DEV.service_host, DEV.api_host)) as site:
        results = chain(aws, site, ca_bundle).run(SITES)
    assert {r.link for r in results if not r.ok} == {"edge"}
    assert "no web ACL attached" in by_link(results, DEV.service_host)["edge"].detail


def test_no_distribution_for_the_host_fails_edge(aws: AwsSession, ca_bundle: str) -> None:
    results = Chain(aws=aws, domain=DEV.domain, settings=VerifySettings(ca_bundle=ca_bundle), resolver=Resolver()).check_site(
        SITES[0]
    )
    assert "no CloudFront distribution has the alias dev.mgz-g2-u3.shop" in {r.link: r for r in results}["edge"].detail


def test_a_distribution_still_deploying_is_a_pending_edge_failure(moto_endpoint: str, aws: AwsSession, ca_bundle: str) -> None:
    def transition(action: str, body: dict[str, Any]) -> None:
        req = urllib.request.Request(
            f"{moto_endpoint}/moto-api/state-manager/{action}", data=json.dumps(body).encode(), method="POST"
        )
        urllib.request.urlopen(req).read()

    transition(
        "set-transition", {"model_name": "cloudfront::distribution", "transition": {"progression": "manual", "times": 1000}}
    )
    try:
        edge(aws)
        results = Chain(aws=aws, domain=DEV.domain, settings=VerifySettings(ca_bundle=ca_bundle), resolver=Resolver()).check_site(
            SITES[0]
        )
    finally:
        transition("unset-transition", {"model_name": "cloudfront::distribution"})
    edge_link = {r.link: r for r in results}["edge"]
    assert not edge_link.ok and edge_link.pending and "InProgress" in edge_link.detail


# -- settings and presentation ---------------------------------------------------------------


def test_parse_resolve_reads_curl_style_overrides() -> None:
    assert parse_resolve("") == {}
    assert parse_resolve("Dev.Example.com=127.0.0.1:8443, api.example.com=[::1]:9443,x.example.com=10.0.0.1") == {
        "dev.example.com": ("127.0.0.1", 8443),
        "api.example.com": ("::1", 9443),
        "x.example.com": ("10.0.0.1", 443),
    }
    with pytest.raises(ConfigError, match="KYEOL_VERIFY_RESOLVE"):
        parse_resolve("dev.example.com:127.0.0.1")


def test_settings_come_from_the_environment() -> None:
    s = VerifySettings.from_environ({"KYEOL_VERIFY_RESOLVE": "a.example.com=127.0.0.1:1", "KYEOL_VERIFY_CA_BUNDLE": "/ca.pem"})
    assert s.resolve == {"a.example.com": ("127.0.0.1", 1)} and s.ca_bundle == "/ca.pem"
    assert VerifySettings.from_environ({}).ca_bundle is None


def test_json_and_table_shapes() -> None:
    results = [
        LinkResult("DNS", True, "alias A → d1.cloudfront.net", "dev.example.com"),
        LinkResult("TLS", False, "certificate expires soon", "dev.example.com"),
        LinkResult("HTTP", False, "not checked: TLS failed", "dev.example.com", skipped=True),
    ]
    doc = as_json("dev", results)
    assert json.loads(json.dumps(doc)) == doc
    assert doc["env"] == "dev" and doc["ok"] is False and doc["failed_links"] == ["TLS"]
    assert doc["links"][1] == {
        "link": "TLS",
        "target": "dev.example.com",
        "status": "fail",
        "ok": False,
        "pending": False,
        "detail": "certificate expires soon",
    }
    assert [link["status"] for link in doc["links"]] == ["pass", "fail", "skipped"]
    table = format_table(results).splitlines()
    assert table[0].split() == ["LINK", "HOST", "STATUS", "DETAIL"]
    assert table[2].split()[:3] == ["TLS", "dev.example.com", "FAIL"]
    assert as_json("dev", [])["ok"] is False
