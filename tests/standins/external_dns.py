"""ExternalDNS v0.21.0's AWS rules, modelled for the end-to-end stand-in (no ExternalDNS here).

Each function names the upstream file it models (kubernetes-sigs/external-dns@v0.21.0):

* :func:`chart_args` — what the external-dns 1.21.1 chart passes to the container
  (charts/external-dns/templates/deployment.yaml: ``--policy``, ``--registry``,
  ``--txt-owner-id``, one ``--domain-filter`` per ``domainFilters`` entry, ``--provider``, then
  ``extraArgs``: a map key with a bool value becomes ``--key`` / ``--no-key``, a string
  ``--key=value``, a slice one ``--key=v`` per item);
* :meth:`DomainFilter.match` / :meth:`DomainFilter.match_parent` — endpoint/domain_filter.go
  ``Match`` (``matchFilter``: a filter matches the same name, any sub-domain of it, or with a
  leading dot any suffix; excludes win) and ``MatchParent`` (the zone is a parent of a filter);
* :meth:`Config.selects_zone` — provider/aws/aws.go ``zones()``: the zone-id filter
  (provider/zone_id_filter.go: suffix of the zone id), the zone-type filter
  (provider/zone_type_filter.go: public = not ``Config.PrivateZone``), then the domain filter,
  and a zone that does not match it is kept only with ``--aws-zone-match-parent`` and
  ``MatchParent``;
* :meth:`Config.wants` — plan/plan.go ``filterRecordsForPlan``: desired records whose name
  does not match the domain filter are ignored;
* :func:`find_zone` — provider/zonefinder.go ``ZoneIDName.FindZone``: the longest selected
  zone the name ends in; a record with none is skipped;
* :meth:`Config.txt_name` — registry/mapper/mapper.go ``AffixNameMapper.ToTXTName``: the
  ownership record of an A record ``x.zone`` is TXT ``<prefix>a-x.zone``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def _normal(name: str) -> str:
    return name.strip().rstrip(".").lower()


@dataclass(frozen=True)
class DomainFilter:
    """endpoint/domain_filter.go: plain (non-regex) include and exclude filters."""

    filters: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @staticmethod
    def _matches(filters: tuple[str, ...], domain: str, empty: bool) -> bool:
        if not filters:
            return empty
        name = _normal(domain)
        for f in filters:
            if not f:
                continue
            if f.startswith(".") and name.endswith(f):
                return True
            if name.count(".") == f.count(".") and name == f:
                return True
            if name.endswith("." + f):
                return True
        return False

    def match(self, domain: str) -> bool:
        return self._matches(self.filters, domain, True) and not self._matches(self.exclude, domain, False)

    def match_parent(self, domain: str) -> bool:
        if self._matches(self.exclude, domain, False):
            return False
        if not self.filters:
            return True
        name = _normal(domain)
        return any(f and not f.startswith(".") and f.endswith("." + name) for f in self.filters)


@dataclass(frozen=True)
class Config:
    """The flags of one ExternalDNS process that decide which zones and records it touches."""

    provider: str = ""
    policy: str = "sync"
    registry: str = "txt"
    txt_owner_id: str = "default"
    txt_prefix: str = ""
    domain_filter: DomainFilter = field(default_factory=DomainFilter)
    zone_id_filter: tuple[str, ...] = ()
    zone_type: str = ""
    zone_match_parent: bool = False

    @classmethod
    def from_args(cls, args: list[str]) -> Config:
        """Parse the container's arguments (``--flag=value``, ``--flag``, ``--no-flag``)."""
        multi: dict[str, list[str]] = {}
        single: dict[str, str] = {}
        flags: dict[str, bool] = {}
        for arg in args:
            if not arg.startswith("--"):
                continue
            key, eq, value = arg[2:].partition("=")
            if eq:
                multi.setdefault(key, []).append(value)
                single[key] = value
            elif key.startswith("no-"):
                flags[key[3:]] = False
            else:
                flags[key] = True
        domains = tuple(_normal(d) for v in multi.get("domain-filter", []) for d in v.split(",") if _normal(d))
        excludes = tuple(_normal(d) for v in multi.get("exclude-domains", []) for d in v.split(",") if _normal(d))
        return cls(
            provider=single.get("provider", ""),
            policy=single.get("policy", "sync"),
            registry=single.get("registry", "txt"),
            txt_owner_id=single.get("txt-owner-id", "default"),
            txt_prefix=single.get("txt-prefix", ""),
            domain_filter=DomainFilter(domains, excludes),
            zone_id_filter=tuple(z for v in multi.get("zone-id-filter", []) for z in v.split(",") if z),
            zone_type=single.get("aws-zone-type", ""),
            zone_match_parent=flags.get("aws-zone-match-parent", single.get("aws-zone-match-parent") == "true"),
        )

    def selects_zone(self, zone: dict[str, Any]) -> bool:
        """provider/aws/aws.go ``zones()`` for one Route53 ``HostedZone``."""
        if self.zone_id_filter and not any(zone["Id"].endswith(z) for z in self.zone_id_filter):
            return False
        private = bool((zone.get("Config") or {}).get("PrivateZone"))
        if (self.zone_type == "public" and private) or (self.zone_type == "private" and not private):
            return False
        if not self.domain_filter.match(zone["Name"]):
            return self.zone_match_parent and self.domain_filter.match_parent(zone["Name"])
        return True

    def wants(self, name: str) -> bool:
        """plan/plan.go ``filterRecordsForPlan``: only names the domain filter matches."""
        return self.domain_filter.match(name)

    def txt_name(self, name: str, record_type: str = "A") -> str:
        head, _, rest = _normal(name).partition(".")
        return f"{self.txt_prefix}{record_type.lower()}-{head}" + (f".{rest}" if rest else "")

    def owner_label(self, resource: str) -> str:
        """The TXT registry's label text (endpoint/labels.go ``Serialize``, unencrypted)."""
        return f'"heritage=external-dns,external-dns/owner={self.txt_owner_id},external-dns/resource={resource}"'


def find_zone(zones: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    """provider/zonefinder.go: the longest selected zone ``name`` is in."""
    wanted = _normal(name)
    best = None
    for zone in zones:
        zone_name = _normal(zone["Name"])
        if wanted == zone_name or wanted.endswith("." + zone_name):
            if best is None or len(zone_name) > len(_normal(best["Name"])):
                best = zone
    return best


def chart_args(values: dict[str, Any]) -> list[str]:
    """The external-dns 1.21.1 chart's container arguments for ``values`` (the flags that
    matter here; templates/deployment.yaml)."""
    args = [f"--policy={values.get('policy', 'upsert-only')}", f"--registry={values.get('registry', 'txt')}"]
    if values.get("txtOwnerId"):
        args.append(f"--txt-owner-id={values['txtOwnerId']}")
    if values.get("txtPrefix"):
        args.append(f"--txt-prefix={values['txtPrefix']}")
    args += [f"--domain-filter={d}" for d in values.get("domainFilters") or []]
    args += [f"--exclude-domains={d}" for d in values.get("excludeDomains") or []]
    args.append(f"--provider={(values.get('provider') or {}).get('name', 'aws')}")
    extra = values.get("extraArgs")
    if isinstance(extra, dict):
        for key in sorted(extra):  # Go templates range over a map in key order
            value = extra[key]
            if value is None:
                continue
            if isinstance(value, bool):
                args.append(f"--{key}" if value else f"--no-{key}")
            elif isinstance(value, list):
                args += [f"--{key}={item}" for item in value]
            else:
                args.append(f"--{key}={value}")
    elif isinstance(extra, list):
        args += [str(item) for item in extra]
    return args


def merge_values(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Helm's coalescing of two values sources: maps merge key by key, anything else is replaced
    (Argo CD passes ``valuesObject`` after the ``valueFiles``, so it wins)."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_values(merged[key], value)
        else:
            merged[key] = value
    return merged


def deployed_values(platform: Path, env: str, secret: dict[str, Any]) -> dict[str, Any]:
    """The chart values Argo CD gives ExternalDNS on ``env``'s cluster: the reviewed values file
    under the ApplicationSet's ``valuesObject``, the latter evaluated against the cluster Secret
    as the ApplicationSet controller does (Go templates, :mod:`tests.gitops.gotemplate`)."""
    import yaml

    from tests.gitops.gotemplate import cluster_params, render_template

    appset = yaml.safe_load((platform / "argocd/applications/external-dns.yaml").read_text())
    (chart,) = [s for s in appset["spec"]["template"]["spec"]["sources"] if s.get("chart") == "external-dns"]
    values_object = render_template(chart["helm"].get("valuesObject") or {}, cluster_params(secret))
    values = yaml.safe_load((platform / "clusters" / env / "external-dns-values.yaml").read_text()) or {}
    return merge_values(values, values_object)


def load_config(platform: Path, env: str, secret: dict[str, Any]) -> Config:
    """The flags ExternalDNS runs with on ``env``'s cluster."""
    return Config.from_args(chart_args(deployed_values(platform, env, secret)))
