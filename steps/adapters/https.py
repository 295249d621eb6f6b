"""The HTTPS verification chain of an environment: DNS → TLS → edge → HTTP → HSTS.

Each link is a function answering a :class:`LinkResult` for one public host. The order
matters for DNS: Route53 (the alias record, the origin record, the authoritative answer) is
asked before any public resolver, because a resolver probed before the record exists caches
NXDOMAIN for up to the SOA TTL (15 minutes, reference/durations.md).

Traffic goes only where a name resolved: to the address DNS gave, or to the address in
``KYEOL_VERIFY_RESOLVE`` (``host=127.0.0.1:8443,…``, like ``curl --resolve``) — while SNI,
the Host header and the certificate checks keep using the real name. ``KYEOL_VERIFY_CA_BUNDLE``
replaces the system trust store (tests, private CAs).
"""

from __future__ import annotations

import re
import socket
import ssl
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

import httpx

from runbook.errors import ConfigError, RunbookError, TransientError

if TYPE_CHECKING:
    from mypy_boto3_cloudfront.type_defs import DistributionSummaryTypeDef
    from mypy_boto3_route53.literals import RRTypeType

    from steps.adapters.aws import AwsSession

LINKS = ("DNS", "TLS", "edge", "HTTP", "HSTS")
# What each link needs to have passed before it can say anything.
NEEDS = {"DNS": (), "TLS": ("DNS",), "edge": (), "HTTP": ("TLS",), "HSTS": ("HTTP",)}
MIN_CERT_DAYS = 21
MIN_HSTS_SECONDS = 365 * 24 * 3600
TLS_VERSIONS_OK = ("TLSv1.2", "TLSv1.3")
GRAPHQL_SMOKE = {"query": "{ shop { name } }"}

# socket.getaddrinfo's shape: (family, type, proto, canonname, sockaddr) tuples.
Resolver = Callable[..., list[tuple[Any, ...]]]


@dataclass(frozen=True)
class LinkResult:
    """The answer of one link for one host. ``pending`` marks failures that may still converge
    (propagation, a deploy in progress, pods starting); ``skipped`` a link not run because a
    link it needs failed."""

    link: str
    ok: bool
    detail: str
    target: str = ""
    pending: bool = False
    skipped: bool = False

    @property
    def status(self) -> str:
        return "pass" if self.ok else ("skipped" if self.skipped else "fail")

    def as_dict(self) -> dict[str, Any]:
        return {
            "link": self.link,
            "target": self.target,
            "status": self.status,
            "ok": self.ok,
            "pending": self.pending,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Site:
    """One public host of an env, the origin name behind it, and what it serves."""

    host: str
    origin_host: str
    role: str  # "storefront" (also /dashboard/) or "api"


@dataclass(frozen=True)
class Endpoint:
    """Where traffic for ``host`` goes: the address DNS (or the override) gave."""

    host: str
    address: str
    port: int
    source: str  # "dns" or "KYEOL_VERIFY_RESOLVE"

    @property
    def base_url(self) -> str:
        address = f"[{self.address}]" if ":" in self.address else self.address
        return f"https://{address}:{self.port}"


@dataclass
class VerifySettings:
    resolve: dict[str, tuple[str, int]] = field(default_factory=dict)
    ca_bundle: str | None = None
    min_cert_days: int = MIN_CERT_DAYS
    min_hsts_seconds: int = MIN_HSTS_SECONDS
    timeout: float = 10.0

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> VerifySettings:
        return cls(
            resolve=parse_resolve(environ.get("KYEOL_VERIFY_RESOLVE", "")),
            ca_bundle=environ.get("KYEOL_VERIFY_CA_BUNDLE") or None,
        )


def parse_resolve(text: str) -> dict[str, tuple[str, int]]:
    """``host=127.0.0.1:8443,other=[::1]:443`` → ``{host: (address, port)}`` (port defaults to 443)."""
    result: dict[str, tuple[str, int]] = {}
    for item in (i.strip() for i in text.split(",") if i.strip()):
        host, sep, target = item.partition("=")
        m = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\](?::(\d+))?|([^:\[\]]+)(?::(\d+))?", target.strip())
        if not sep or not host.strip() or not m:
            raise ConfigError(
                f"{item!r} is not HOST=ADDRESS[:PORT]",
                key="KYEOL_VERIFY_RESOLVE",
                hint="write it like curl --resolve: dev.example.com=127.0.0.1:8443,api.example.com=127.0.0.1:8443",
            )
        address = m.group(1) or m.group(3)
        port = int(m.group(2) or m.group(4) or 443)
        result[host.strip().lower().rstrip(".")] = (address, port)
    return result


class Chain:
    """Runs the links for a set of sites; AWS look-ups are cached for the run of the chain."""

    def __init__(
        self,
        *,
        aws: AwsSession,
        domain: str,
        settings: VerifySettings,
        resolver: Resolver = socket.getaddrinfo,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._aws = aws  # look-ups plus .client(service, region)
        self.domain = domain
        self.settings = settings
        self._resolver = resolver
        # Certificate lifetimes are judged on the wall clock OpenSSL validates against.
        self._now = now
        self._zone: dict[str, Any] | None = None
        self._distributions: list[DistributionSummaryTypeDef] | None = None
        self._responses: dict[tuple[str, str], httpx.Response] = {}

    # -- the chain -------------------------------------------------------------------------

    def run(self, sites: Iterable[Site]) -> list[LinkResult]:
        results: list[LinkResult] = []
        for site in sites:
            results.extend(self.check_site(site))
        return results

    def check_site(self, site: Site) -> list[LinkResult]:
        done: dict[str, LinkResult] = {}
        endpoint: Endpoint | None = None
        for link in LINKS:
            failed = [n for n in NEEDS[link] if not done[n].ok]
            if failed:
                done[link] = LinkResult(link, False, f"not checked: {', '.join(failed)} failed", site.host, skipped=True)
                continue
            if link == "DNS":
                done[link], endpoint = self.dns(site)
            elif link == "TLS":
                assert endpoint is not None
                done[link] = self.tls(site, endpoint)
            elif link == "edge":
                done[link] = self.edge(site)
            elif link == "HTTP":
                assert endpoint is not None
                done[link] = self.http(site, endpoint)
            else:
                done[link] = self.hsts(site)
        return [done[link] for link in LINKS]

    # -- DNS -------------------------------------------------------------------------------

    def dns(self, site: Site) -> tuple[LinkResult, Endpoint | None]:
        """Route53 alias → CloudFront, origin record, authoritative answer, then resolution."""
        host = site.host

        def fail(detail: str, pending: bool = False) -> tuple[LinkResult, None]:
            return LinkResult("DNS", False, detail, host, pending=pending), None

        try:
            zone = self.zone()
            if zone is None:
                return fail(f"Route53 has no public hosted zone {self.domain}")
            dist = self.distribution_for(host)
            wanted_types: tuple[RRTypeType, ...] = ("A", "AAAA") if dist is not None and dist.get("IsIPV6Enabled") else ("A",)
            aliases = {t: self._aws.alias_target(zone["id"], host, t) for t in wanted_types}
            origin_types = self._record_types(zone["id"], site.origin_host)
        except Exception as exc:  # noqa: BLE001 - any AWS failure is this link's answer
            return fail(f"could not read Route53/CloudFront: {_aws_reason(exc)}", pending=_aws_transient(exc))

        for rtype, target in aliases.items():
            if target is None:
                why = " (the distribution serves IPv6)" if rtype == "AAAA" else ""
                return fail(f"Route53 zone {self.domain} has no {rtype} alias for {host}{why}")
            name = target["dns_name"].lower()
            if not target["is_cloudfront"] or not name.endswith(".cloudfront.net"):
                return fail(f"{rtype} {host} is not an alias to CloudFront (it points at {name})")
            if dist is not None and name != dist["DomainName"].lower():
                return fail(f"{rtype} {host} aliases {name}, but the distribution for {host} is {dist['DomainName']}")
        if not origin_types & {"A", "AAAA", "CNAME"}:
            return fail(
                f"origin record {site.origin_host} is missing (ExternalDNS creates it from the Ingress)",
                pending=True,
            )

        authoritative = self._authoritative(zone["id"], host)
        if authoritative is not None and not authoritative[0]:
            return fail(f"Route53's name servers do not answer {host} yet ({authoritative[1]})", pending=True)

        override = self.settings.resolve.get(host.lower())
        if override is not None:
            endpoint = Endpoint(host, override[0], override[1], "KYEOL_VERIFY_RESOLVE")
        else:
            try:
                infos = self._resolver(host, 443, type=socket.SOCK_STREAM)
            except socket.gaierror as exc:
                return fail(
                    f"{host} does not resolve publicly yet ({exc.strerror}); Route53 has it, resolvers may "
                    "cache NXDOMAIN for up to 15 minutes",
                    pending=True,
                )
            if not infos:
                return fail(f"{host} resolves to no address", pending=True)
            endpoint = Endpoint(host, str(infos[0][4][0]), 443, "dns")
        auth_note = authoritative[1] if authoritative is not None else "authoritative answer not offered by this endpoint"
        a_alias = aliases["A"]
        assert a_alias is not None  # the loop over the aliases returned on a missing one
        return (
            LinkResult(
                "DNS",
                True,
                f"alias {'/'.join(wanted_types)} → {a_alias['dns_name']}; origin {site.origin_host} present; "
                f"{auth_note}; connects to {endpoint.address}:{endpoint.port} ({endpoint.source})",
                host,
            ),
            endpoint,
        )

    def zone(self) -> dict[str, Any] | None:
        if self._zone is None:
            self._zone = self._aws.find_zone(self.domain) or {}
        return self._zone or None

    def _record_types(self, zone_id: str, name: str) -> set[str]:
        """The record types Route53 holds for ``name`` (any type: ExternalDNS may write A or CNAME)."""
        r53 = self._aws.client("route53", "us-east-1")
        wanted = name.rstrip(".").lower() + "."
        page = r53.list_resource_record_sets(HostedZoneId=zone_id, StartRecordName=wanted, MaxItems="20")
        return {r["Type"] for r in page.get("ResourceRecordSets", []) if r["Name"].lower() == wanted}

    def _authoritative(self, zone_id: str, host: str) -> tuple[bool, str] | None:
        """Route53's own name servers' answer (TestDNSAnswer); None when the API is not offered."""
        r53 = self._aws.client("route53", "us-east-1")
        try:
            answer = r53.test_dns_answer(HostedZoneId=zone_id, RecordName=host, RecordType="A")
        except Exception as exc:  # noqa: BLE001 - any AWS failure is this link's answer, never a crash
            if _error_code(exc) in ("404", "NotImplemented", "InvalidAction", "UnknownOperationException"):
                return None
            return False, f"TestDNSAnswer failed: {_aws_reason(exc)}"
        code = answer.get("ResponseCode", "")
        data = answer.get("RecordData") or []
        if code == "NOERROR" and data:
            return True, f"authoritative NOERROR ({len(data)} address(es))"
        return False, f"authoritative {code or 'no answer'}"

    def distribution_for(self, host: str) -> DistributionSummaryTypeDef | None:
        """The CloudFront distribution whose aliases include ``host`` (list summaries, cached)."""
        if self._distributions is None:
            cf = self._aws.client("cloudfront", "us-east-1")
            found: list[DistributionSummaryTypeDef] = []
            marker = ""
            while True:
                page = cf.list_distributions(**({"Marker": marker} if marker else {})).get("DistributionList", {})
                found.extend(page.get("Items") or [])
                marker = page.get("NextMarker") or ""
                if not page.get("IsTruncated") or not marker:
                    break
            self._distributions = found
        for dist in self._distributions:
            if host.lower() in [a.lower() for a in (dist.get("Aliases") or {}).get("Items") or []]:
                return dist
        return None

    # -- TLS -------------------------------------------------------------------------------

    def ssl_context(self) -> ssl.SSLContext:
        ctx = (
            ssl.create_default_context(cafile=self.settings.ca_bundle)
            if self.settings.ca_bundle
            else ssl.create_default_context()
        )
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.check_hostname = True
        ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx

    def tls(self, site: Site, endpoint: Endpoint) -> LinkResult:
        """Handshake with SNI = the real name: trusted chain, matching name, ≥ 21 days, TLS ≥ 1.2."""
        host = site.host
        try:
            with (
                socket.create_connection((endpoint.address, endpoint.port), timeout=self.settings.timeout) as raw,
                self.ssl_context().wrap_socket(raw, server_hostname=host) as tls,
            ):
                cert = tls.getpeercert() or {}
                version = tls.version() or "unknown"
        except ssl.SSLCertVerificationError as exc:
            return LinkResult("TLS", False, f"certificate for {host} is not trusted: {exc.verify_message or exc}", host)
        except ssl.SSLError as exc:
            return LinkResult("TLS", False, f"TLS handshake with {host} failed: {exc.reason or exc}", host)
        except OSError as exc:
            return LinkResult(
                "TLS", False, f"cannot connect to {endpoint.address}:{endpoint.port} for {host}: {exc}", host, pending=True
            )
        if version not in TLS_VERSIONS_OK:
            return LinkResult("TLS", False, f"{host} negotiated {version}; TLS 1.2 or newer is required", host)
        # getpeercert() types every field as str-or-tuple; "notAfter" is the date string
        # ("Jun 26 21:41:46 2031 GMT") that cert_time_to_seconds parses (ssl module docs).
        expires = datetime.fromtimestamp(ssl.cert_time_to_seconds(cast(str, cert["notAfter"])), UTC)
        days = (expires - self._now()).total_seconds() / 86400
        issuer = _name(cert.get("issuer", ()))
        if days < self.settings.min_cert_days:
            return LinkResult(
                "TLS",
                False,
                f"certificate for {host} expires {expires:%Y-%m-%d} ({days:.0f} days left, need ≥ "
                f"{self.settings.min_cert_days}); renew it (ACM renews DNS-validated certificates if the "
                "validation record is still in Route53)",
                host,
            )
        return LinkResult("TLS", True, f"{version}; issuer {issuer}; expires {expires:%Y-%m-%d} ({days:.0f} days)", host)

    # -- edge ------------------------------------------------------------------------------

    def edge(self, site: Site) -> LinkResult:
        """CloudFront serves the host: distribution Deployed and enabled, alias present, web ACL on."""
        host = site.host
        try:
            dist = self.distribution_for(host)
            if dist is None:
                return LinkResult("edge", False, f"no CloudFront distribution has the alias {host}", host)
            acl = dist.get("WebACLId") or ""
            acl_found = self._web_acl_exists(acl) if acl else False
        except Exception as exc:  # noqa: BLE001 - any AWS failure is this link's answer, never a crash
            return LinkResult(
                "edge", False, f"could not read CloudFront/WAF: {_aws_reason(exc)}", host, pending=_aws_transient(exc)
            )
        if not dist.get("Enabled", True):
            return LinkResult("edge", False, f"distribution {dist['Id']} for {host} is disabled", host)
        if dist.get("Status") != "Deployed":
            return LinkResult(
                "edge",
                False,
                f"distribution {dist['Id']} is {dist.get('Status')} (deploys take 3-15 minutes)",
                host,
                pending=True,
            )
        if not acl:
            return LinkResult("edge", False, f"distribution {dist['Id']} has no web ACL attached", host)
        if not acl_found:
            return LinkResult("edge", False, f"distribution {dist['Id']} names web ACL {acl}, which does not exist", host)
        return LinkResult("edge", True, f"distribution {dist['Id']} Deployed; alias {host}; web ACL {acl.split('/')[-2]}", host)

    def _web_acl_exists(self, arn: str) -> bool:
        if not re.fullmatch(r"arn:aws[\w-]*:wafv2:[\w-]+:\d{12}:global/webacl/[^/]+/[^/]+", arn):
            return False  # a WAF Classic id or a REGIONAL ACL cannot protect a distribution
        return self._aws.web_acl(arn) is not None

    # -- HTTP and HSTS ---------------------------------------------------------------------

    def _client(self, endpoint: Endpoint) -> httpx.Client:
        return httpx.Client(
            base_url=endpoint.base_url,
            verify=self.ssl_context(),
            timeout=self.settings.timeout,
            follow_redirects=False,  # a redirect is an answer; following it could leave what resolved
            headers={"Host": endpoint.host, "User-Agent": "kyeol-verify"},
        )

    def _send(self, client: httpx.Client, endpoint: Endpoint, method: str, path: str, **kw: Any) -> httpx.Response:
        resp = client.request(method, path, extensions={"sni_hostname": endpoint.host}, **kw)
        self._responses[(endpoint.host, path)] = resp
        return resp

    def http(self, site: Site, endpoint: Endpoint) -> LinkResult:
        """Storefront ``/`` 2xx/3xx and ``/dashboard/`` 2xx; API ``/health/`` 200 and GraphQL shop.name."""
        host = site.host
        notes: list[str] = []
        try:
            with self._client(endpoint) as client:
                if site.role == "storefront":
                    checks: Sequence[tuple[str, str, Callable[[httpx.Response], str | None]]] = (
                        ("GET", "/", lambda r: None if 200 <= r.status_code < 400 else "want 2xx/3xx"),
                        ("GET", "/dashboard/", lambda r: None if 200 <= r.status_code < 300 else "want 2xx"),
                    )
                else:
                    checks = (
                        ("GET", "/health/", lambda r: None if r.status_code == 200 else "want 200"),
                        ("POST", "/graphql/", _graphql_problem),
                    )
                for method, path, judge in checks:
                    kw = {"json": GRAPHQL_SMOKE} if method == "POST" else {}
                    resp = self._send(client, endpoint, method, path, **kw)
                    problem = judge(resp)
                    if problem:
                        return LinkResult(
                            "HTTP",
                            False,
                            f"{method} https://{host}{path} answered {resp.status_code}: {problem}",
                            host,
                            pending=resp.status_code >= 500,
                        )
                    notes.append(f"{path} {resp.status_code}" + (f" {_shop_name(resp)!r}" if path == "/graphql/" else ""))
        except httpx.HTTPError as exc:
            return LinkResult("HTTP", False, f"request to https://{host} failed: {exc}", host, pending=True)
        return LinkResult("HTTP", True, ", ".join(notes), host)

    def hsts(self, site: Site) -> LinkResult:
        """``strict-transport-security`` with max-age ≥ 1 year on the storefront page and the API."""
        host = site.host
        path = "/" if site.role == "storefront" else "/graphql/"
        resp = self._responses.get((host, path))
        if resp is None:
            return LinkResult("HSTS", False, f"no response from https://{host}{path} to inspect", host)
        header = resp.headers.get("strict-transport-security", "")
        m = re.search(r"(?i)max-age\s*=\s*\"?(\d+)", header)
        if not m:
            return LinkResult(
                "HSTS",
                False,
                f"https://{host}{path} sends no Strict-Transport-Security header"
                if not header
                else f"Strict-Transport-Security {header!r} has no max-age",
                host,
            )
        age = int(m.group(1))
        if age < self.settings.min_hsts_seconds:
            return LinkResult(
                "HSTS",
                False,
                f"Strict-Transport-Security max-age={age} on {host} is below one year ({self.settings.min_hsts_seconds})",
                host,
            )
        return LinkResult(
            "HSTS", True, f"max-age={age}" + ("; includeSubDomains" if "includesubdomains" in header.lower() else ""), host
        )


# -- presentation --------------------------------------------------------------------------


def summary(results: Sequence[LinkResult]) -> str:
    """One line naming the failed links (chain order), for error messages."""
    failed = [r for r in results if not r.ok and not r.skipped]
    return "; ".join(f"{r.link} {r.target}: {r.detail}" for r in failed)


def as_json(env: str, results: Sequence[LinkResult]) -> dict[str, Any]:
    """The machine-readable shape of ``kyeol verify --output json``."""
    failed_links = [r.link for r in results if not r.ok and not r.skipped]
    return {
        "env": env,
        "ok": all(r.ok for r in results) and bool(results),
        "failed_links": sorted(set(failed_links), key=LINKS.index),
        "links": [r.as_dict() for r in results],
    }


def format_table(results: Sequence[LinkResult]) -> str:
    """A plain text table: link, host, status, detail."""
    rows = [("LINK", "HOST", "STATUS", "DETAIL")] + [(r.link, r.target, r.status.upper(), r.detail) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:<{widths[2]}}  {row[3]}".rstrip() for row in rows)


# -- helpers -------------------------------------------------------------------------------


def _graphql_problem(resp: httpx.Response) -> str | None:
    if resp.status_code != 200:
        return "want 200"
    try:
        doc = resp.json()
    except ValueError:
        return "the answer is not JSON"
    if not isinstance(doc, dict):
        return "the answer is not a JSON object"
    if doc.get("errors"):
        first = doc["errors"][0]
        return f"GraphQL error: {first.get('message', first) if isinstance(first, dict) else first}"
    if not _shop_name(resp):
        return "data.shop.name is missing or empty"
    return None


def _shop_name(resp: httpx.Response) -> str:
    try:
        name = ((resp.json().get("data") or {}).get("shop") or {}).get("name")
    except (ValueError, AttributeError):
        return ""
    return name if isinstance(name, str) else ""


def _name(rdns: Any) -> str:
    parts = {k: v for rdn in rdns for (k, v) in rdn}
    return parts.get("commonName") or parts.get("organizationName") or "unknown"


def _error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str((response.get("Error") or {}).get("Code") or "")
    return ""


def _aws_reason(exc: BaseException) -> str:
    if isinstance(exc, RunbookError):
        return exc.message
    if type(exc).__name__ in ("NoCredentialsError", "PartialCredentialsError"):
        return "no AWS credentials (set AWS_PROFILE or the AWS_* variables)"
    return str(exc) or type(exc).__name__


def _aws_transient(exc: BaseException) -> bool:
    return isinstance(exc, TransientError) or _error_code(exc) in ("Throttling", "ThrottlingException", "PriorRequestNotComplete")
