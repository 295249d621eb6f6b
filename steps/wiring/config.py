"""KYEOL's configuration: the runbook's facts, loaded from one TOML file and validated.

Every name that has to match across Terraform, the GitOps trees and kyeol itself (cluster
names, hostnames, role names, secret names, service accounts) is derived here, once.
A bad value raises ConfigError naming the key and the file (exit 2).
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbook.errors import ConfigError

DEFAULT_CONFIG = "kyeol.toml"
TARGET_ENVS = ("dev", "stage", "prod")
ALL_ENVS = ("mgmt", *TARGET_ENVS)
_ACCOUNT = re.compile(r"^\d{12}$")
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_PREFIX = re.compile(r"^[a-z][a-z0-9]{1,10}-$")
_PROFILE = re.compile(r"^[A-Za-z0-9_.@+=,-]{1,128}$")
# AWS's documentation example id (the one kyeol.toml ships with): a placeholder, never a real account.
PLACEHOLDER_ACCOUNT = "123456789012"

# Every key the file may hold, per table: anything else is a typo and is refused (with a suggestion).
KNOWN_KEYS: dict[str, tuple[str, ...]] = {
    "": ("project", "paths", "envs"),
    "project": ("prefix", "domain", "region", "github_repository", "git_repo_url", "git_revision"),
    "paths": ("infra_repo", "platform_repo", "app_repo"),
    "envs.*": (
        "account_id",
        "cidr",
        "node_type",
        "nodes_min",
        "nodes_max",
        "protected",
        "service_host",
        "api_host",
        "rds_class",
        "rds_multi_az",
        "cache_node_type",
        "cache_replicas",
        "profile",
    ),
}

# Namespaces and service accounts that IRSA trust policies name (kept in one place).
SERVICE_ACCOUNTS = {
    "aws-load-balancer-controller": ("kube-system", "aws-load-balancer-controller"),
    "external-dns": ("external-dns", "external-dns"),
    "external-secrets": ("external-secrets", "external-secrets"),
    "cluster-autoscaler": ("kube-system", "cluster-autoscaler"),
}
ARGOCD_NAMESPACE = "argocd"
ARGOCD_SERVICE_ACCOUNTS = ("argocd-application-controller", "argocd-applicationset-controller", "argocd-server")
SALEOR_NAMESPACE = "saleor"
ADDONS = ("aws-load-balancer-controller", "external-dns", "external-secrets", "metrics-server", "cluster-autoscaler")
IMAGES = ("saleor-api", "saleor-dashboard", "saleor-storefront")


@dataclass(frozen=True)
class EnvConfig:
    """One environment of runbook §1/§3, with the names derived from it."""

    name: str
    prefix: str
    domain: str
    region: str
    account_id: str
    cidr: str
    node_type: str
    nodes_min: int
    nodes_max: int
    service_host: str = ""
    api_host: str = ""
    rds_class: str = ""
    rds_multi_az: bool = False
    cache_node_type: str = ""
    cache_replicas: int = 0
    protected: bool = False
    # The AWS credentials profile (~/.aws/config) for this env's account; "" = the ambient
    # credentials (AWS_PROFILE or the usual variables). An env in another account names the
    # profile of that account: kyeol's guard, its AWS calls and Terraform for this env use it.
    profile: str = ""

    @property
    def is_target(self) -> bool:
        return self.name in TARGET_ENVS

    @property
    def cluster_name(self) -> str:
        return f"{self.prefix}{self.name}-eks"

    @property
    def vpc_name(self) -> str:
        return f"{self.prefix}{self.name}-vpc"

    def _origin(self, host: str) -> str:
        label = host[: -len(self.domain)].rstrip(".") if host != self.domain else ""
        return f"origin-{label}.{self.domain}" if label else f"origin.{self.domain}"

    @property
    def origin_service_host(self) -> str:
        """The ALB-facing name ExternalDNS creates for the storefront (CloudFront's origin)."""
        return self._origin(self.service_host)

    @property
    def origin_api_host(self) -> str:
        return self._origin(self.api_host)

    @property
    def public_hosts(self) -> tuple[str, ...]:
        return (self.service_host, self.api_host) if self.is_target else ()

    @property
    def origin_hosts(self) -> tuple[str, ...]:
        return (self.origin_service_host, self.origin_api_host) if self.is_target else ()

    @property
    def service_url(self) -> str:
        return f"https://{self.service_host}"

    @property
    def api_url(self) -> str:
        return f"https://{self.api_host}"

    @property
    def graphql_url(self) -> str:
        return f"https://{self.api_host}/graphql/"

    def role_name(self, purpose: str) -> str:
        """IAM role names: jung-<env>-<purpose> (lbc, external-dns, external-secrets, argocd-deployer)."""
        return f"{self.prefix}{self.name}-{purpose}"

    def secret_name(self, purpose: str) -> str:
        """Secrets Manager names: jung-<env>-<purpose> (saleor-app, saleor-db, saleor-cache, origin-verify)."""
        return f"{self.prefix}{self.name}-{purpose}"

    @property
    def media_bucket(self) -> str:
        """Saleor's media bucket, jung-<env>-saleor-media-<account> (S3 names are global: account suffix)."""
        return f"{self.prefix}{self.name}-saleor-media-{self.account_id or 'ACCOUNT_ID'}"

    @property
    def private_media_bucket(self) -> str:
        """Saleor's private storage (AWS_MEDIA_PRIVATE_BUCKET_NAME), jung-<env>-saleor-private-<account>."""
        return f"{self.prefix}{self.name}-saleor-private-{self.account_id or 'ACCOUNT_ID'}"

    @property
    def alb_logs_bucket(self) -> str:
        """The ALB access log bucket, jung-<env>-alb-logs-<account> (modules/alb-logs; the Ingress names it)."""
        return f"{self.prefix}{self.name}-alb-logs-{self.account_id or 'ACCOUNT_ID'}"

    @property
    def argocd_app_name(self) -> str:
        return f"saleor-{self.name}"

    @property
    def txt_owner_id(self) -> str:
        return self.cluster_name


@dataclass(frozen=True)
class Paths:
    infra_repo: Path
    platform_repo: Path
    app_repo: Path


@dataclass(frozen=True)
class KyeolConfig:
    """The whole configuration file, validated."""

    source: Path
    prefix: str
    domain: str
    region: str
    github_repository: str
    git_repo_url: str
    git_revision: str
    paths: Paths
    envs: dict[str, EnvConfig] = field(default_factory=dict)
    # Where each tree location came from: "--infra-repo" or "paths.infra_repo in <file>".
    path_sources: dict[str, str] = field(default_factory=dict)

    def owner(self, scope: str) -> EnvConfig:
        """The env whose account a step of ``scope`` works in: MGMT for shared steps."""
        return self.env("mgmt" if scope in ("", "shared") else scope)

    def env(self, name: str) -> EnvConfig:
        if name not in self.envs:
            raise ConfigError(
                f"unknown environment {name!r}; known: {', '.join(self.envs)}",
                key=f"envs.{name}",
                path=str(self.source),
            )
        return self.envs[name]

    @property
    def mgmt(self) -> EnvConfig:
        return self.env("mgmt")

    @property
    def state_bucket(self) -> str:
        """The Terraform/kyeol state bucket bootstrap makes (globally unique: account suffix)."""
        account = self.mgmt.account_id or "ACCOUNT_ID"
        return f"{self.prefix}kyeol-tfstate-{account}"

    @property
    def lock_table(self) -> str:
        return f"{self.prefix}kyeol-tflock"

    def ecr_repository(self, image: str) -> str:
        return f"{self.prefix}{image}"

    @property
    def github_role_name(self) -> str:
        return f"{self.prefix}mgmt-github-ecr-push"

    @property
    def argocd_manager_role_name(self) -> str:
        return f"{self.prefix}mgmt-argocd-manager"

    def as_facts(self) -> dict[str, Any]:
        """A JSON-able summary (for fingerprints and reports); no secrets live in config."""
        return {
            "prefix": self.prefix,
            "domain": self.domain,
            "region": self.region,
            "github_repository": self.github_repository,
            "git_repo_url": self.git_repo_url,
            "git_revision": self.git_revision,
            "envs": {n: e.__dict__ for n, e in self.envs.items()},
        }


def _get(table: dict[str, Any], key: str, typ: type | tuple[type, ...], dotted: str, path: Path, default: Any = ...) -> Any:
    if key not in table:
        if default is ...:
            raise ConfigError("missing required value", key=dotted, path=str(path))
        return default
    value = table[key]
    if (typ is int and isinstance(value, bool)) or not isinstance(value, typ):
        names = typ.__name__ if isinstance(typ, type) else "/".join(t.__name__ for t in typ)
        raise ConfigError(f"expected {names}, got {type(value).__name__} {value!r}", key=dotted, path=str(path))
    return value


def _refuse_unknown(table: dict[str, Any], known: tuple[str, ...], where: str, path: Path) -> None:
    """An unknown key is a typo until proven otherwise: name it and suggest the closest known key."""
    for key in table:
        if key in known:
            continue
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        dotted = f"{where}.{key}" if where else key
        suggestion = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(
            f"unknown key {dotted!r}",
            key=dotted,
            path=str(path),
            hint=f"{suggestion}known keys{' of [' + where + ']' if where else ''}: {', '.join(known)}",
        )


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    infra_repo: str | None = None,
    platform_repo: str | None = None,
    app_repo: str | None = None,
    require_accounts: bool = False,
) -> KyeolConfig:
    """Load and validate the configuration file; tree locations may be overridden."""
    if path is not None and not str(path).strip():
        raise ConfigError("--config is empty", hint=f"give --config a file, or leave it out to use {DEFAULT_CONFIG}")
    source = Path(path or os.environ.get("KYEOL_CONFIG") or DEFAULT_CONFIG).resolve()
    if source.is_dir():
        raise ConfigError(
            f"configuration path {source} is a folder, not a file",
            hint=f"pass the file itself, e.g. --config {source / DEFAULT_CONFIG}",
        )
    if not source.is_file():
        raise ConfigError(
            f"configuration file {source} not found",
            hint="run kyeol from the repository root, or pass --config / set KYEOL_CONFIG",
        )
    try:
        raw = tomllib.loads(source.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"configuration file {source} is not valid TOML: {exc}", hint="fix the syntax error") from exc

    s = str(source)
    _refuse_unknown(raw, KNOWN_KEYS[""], "", source)
    project = raw.get("project")
    if not isinstance(project, dict):
        raise ConfigError("missing [project] table", key="project", path=s)
    _refuse_unknown(project, KNOWN_KEYS["project"], "project", source)
    prefix = _get(project, "prefix", str, "project.prefix", source)
    if not _PREFIX.match(prefix):
        raise ConfigError(f"prefix {prefix!r} must be lowercase letters/digits ending in '-'", key="project.prefix", path=s)
    domain = _get(project, "domain", str, "project.domain", source)
    if not _HOST.match(domain):
        raise ConfigError(f"{domain!r} is not a DNS domain", key="project.domain", path=s)
    region = _get(project, "region", str, "project.region", source)
    if not _REGION.match(region):
        raise ConfigError(f"{region!r} is not an AWS region name", key="project.region", path=s)
    repo = _get(project, "github_repository", str, "project.github_repository", source)
    if not re.match(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", repo):
        raise ConfigError(f"{repo!r} is not OWNER/REPO", key="project.github_repository", path=s)
    git_url = _get(project, "git_repo_url", str, "project.git_repo_url", source)
    if not git_url.startswith("https://"):
        raise ConfigError(f"{git_url!r} must be an https:// URL", key="project.git_repo_url", path=s)
    git_rev = _get(project, "git_revision", str, "project.git_revision", source, "main")

    paths_raw = raw.get("paths", {})
    if not isinstance(paths_raw, dict):
        raise ConfigError("[paths] must be a table", key="paths", path=s)
    _refuse_unknown(paths_raw, KNOWN_KEYS["paths"], "paths", source)
    base = source.parent
    sources: dict[str, str] = {}

    def tree(key: str, override: str | None) -> Path:
        """A flag is relative to the working folder; a value of the file to the file's folder."""
        flag = "--" + key.replace("_", "-")
        if override is not None:
            if not override.strip():
                raise ConfigError(f"{flag} is empty", hint=f"give {flag} a folder, or leave it out to use paths.{key} of {s}")
            sources[key] = flag
            p = Path(override)
            return (p if p.is_absolute() else Path.cwd() / p).resolve()
        value = _get(paths_raw, key, str, f"paths.{key}", source)
        if not value.strip():
            raise ConfigError("the folder is empty", key=f"paths.{key}", path=s)
        sources[key] = f"paths.{key} in {s}"
        p = Path(value)
        return (p if p.is_absolute() else base / p).resolve()

    paths = Paths(
        infra_repo=tree("infra_repo", infra_repo),
        platform_repo=tree("platform_repo", platform_repo),
        app_repo=tree("app_repo", app_repo),
    )

    envs_raw = raw.get("envs")
    if not isinstance(envs_raw, dict):
        raise ConfigError("missing [envs.*] tables", key="envs", path=s)
    for name in envs_raw:
        if name not in ALL_ENVS:
            close = difflib.get_close_matches(name, ALL_ENVS, n=1, cutoff=0.6)
            raise ConfigError(
                f"unknown environment {name!r}; expected one of {', '.join(ALL_ENVS)}",
                key=f"envs.{name}",
                path=s,
                hint=(f"did you mean [envs.{close[0]}]? " if close else "") + f"rename or remove [envs.{name}] in {s}",
            )
        if not isinstance(envs_raw[name], dict):
            raise ConfigError("must be a table", key=f"envs.{name}", path=s)
        _refuse_unknown(envs_raw[name], KNOWN_KEYS["envs.*"], f"envs.{name}", source)
    for required in ALL_ENVS:
        if required not in envs_raw:
            raise ConfigError(f"environment {required!r} is missing", key=f"envs.{required}", path=s)
    envs: dict[str, EnvConfig] = {}
    for name, table in envs_raw.items():
        envs[name] = _load_env(name, table, prefix, domain, region, source, require_accounts)
    named = sorted(n for n, e in envs.items() if e.profile)
    if named and not envs["mgmt"].profile:
        raise ConfigError(
            f"envs {', '.join(named)} name a credentials profile but envs.mgmt does not",
            key="envs.mgmt.profile",
            path=s,
            hint="name MGMT's profile too: the state bucket, ECR and Argo CD are in MGMT's account, "
            "and the runs of the other accounts reach them with it",
        )
    return KyeolConfig(
        source=source,
        prefix=prefix,
        domain=domain,
        region=region,
        github_repository=repo,
        git_repo_url=git_url,
        git_revision=git_rev,
        paths=paths,
        envs=envs,
        path_sources=sources,
    )


def _load_env(
    name: str, t: dict[str, Any], prefix: str, domain: str, region: str, source: Path, require_accounts: bool
) -> EnvConfig:
    s = str(source)
    k = f"envs.{name}"
    account = _get(t, "account_id", str, f"{k}.account_id", source, "")
    if account and not _ACCOUNT.match(account):
        raise ConfigError(f"account id {account!r} must be 12 digits", key=f"{k}.account_id", path=s)
    if require_accounts and not account:
        raise ConfigError("the AWS account id is not set", key=f"{k}.account_id", path=s, hint=f"fill in {k}.account_id in {s}")
    cidr = _get(t, "cidr", str, f"{k}.cidr", source)
    try:
        net = ipaddress.ip_network(cidr)
    except ValueError:
        raise ConfigError(f"{cidr!r} is not a CIDR block", key=f"{k}.cidr", path=s) from None
    if not net.is_private or net.prefixlen > 20:
        raise ConfigError(f"{cidr} must be a private block of /20 or larger", key=f"{k}.cidr", path=s)
    node_type = _get(t, "node_type", str, f"{k}.node_type", source)
    nmin = _get(t, "nodes_min", int, f"{k}.nodes_min", source)
    nmax = _get(t, "nodes_max", int, f"{k}.nodes_max", source)
    if not 1 <= nmin <= nmax <= 20:
        raise ConfigError(f"need 1 <= nodes_min ({nmin}) <= nodes_max ({nmax}) <= 20", key=f"{k}.nodes_min", path=s)
    values: dict[str, Any] = {
        "name": name,
        "prefix": prefix,
        "domain": domain,
        "region": region,
        "account_id": account,
        "cidr": cidr,
        "node_type": node_type,
        "nodes_min": nmin,
        "nodes_max": nmax,
        "protected": _get(t, "protected", bool, f"{k}.protected", source, False),
        "profile": _get(t, "profile", str, f"{k}.profile", source, ""),
    }
    if values["profile"] and not _PROFILE.match(values["profile"]):
        raise ConfigError(f"{values['profile']!r} is not an AWS profile name", key=f"{k}.profile", path=s)
    if name in TARGET_ENVS:
        for host_key in ("service_host", "api_host"):
            host = _get(t, host_key, str, f"{k}.{host_key}", source)
            if not _HOST.match(host) or not (host == domain or host.endswith("." + domain)):
                raise ConfigError(f"{host!r} must be {domain} or a name under it", key=f"{k}.{host_key}", path=s)
            values[host_key] = host
        values["rds_class"] = _get(t, "rds_class", str, f"{k}.rds_class", source)
        if not values["rds_class"].startswith("db."):
            raise ConfigError(f"{values['rds_class']!r} is not an RDS instance class", key=f"{k}.rds_class", path=s)
        values["rds_multi_az"] = _get(t, "rds_multi_az", bool, f"{k}.rds_multi_az", source)
        values["cache_node_type"] = _get(t, "cache_node_type", str, f"{k}.cache_node_type", source)
        if not values["cache_node_type"].startswith("cache."):
            raise ConfigError(
                f"{values['cache_node_type']!r} is not an ElastiCache node type", key=f"{k}.cache_node_type", path=s
            )
        values["cache_replicas"] = _get(t, "cache_replicas", int, f"{k}.cache_replicas", source)
        if not 0 <= values["cache_replicas"] <= 5:
            raise ConfigError("cache_replicas must be 0..5", key=f"{k}.cache_replicas", path=s)
    else:
        for forbidden in ("rds_class", "cache_node_type", "service_host", "api_host"):
            if forbidden in t:
                raise ConfigError(
                    "MGMT runs Argo CD only: it has no database, cache or public hosts", key=f"{k}.{forbidden}", path=s
                )
    return EnvConfig(**values)
