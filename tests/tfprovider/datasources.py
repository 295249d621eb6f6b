"""Canned answers for the data sources kyeol's tree reads; everything else is synthetic.

Values are what AWS answers for KYEOL's setting (ap-northeast-1, the us-east-1 edge
resources, AWS-managed CloudFront policies whose ids are the same in every account:
docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html,
…/using-managed-origin-request-policies.html). ``aws_iam_policy_document`` is rendered the way
the provider renders it (hashicorp/terraform-provider-aws@v6.69.1
internal/service/iam/policy_document_data_source.go and policy_model.go): Version first,
statements in order, a single action/resource/identifier collapsed to a string, ``"*"``
principals written as ``"*"``, JSON indented by two spaces (``minified_json`` compact).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Any

from tests.tfprovider import world
from tests.tfprovider.synthetic import Context

_AZS = {
    "ap-northeast-1": (["ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"], ["apne1-az4", "apne1-az1", "apne1-az2"]),
    "us-east-1": (
        ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"],
        ["use1-az6", "use1-az1", "use1-az2", "use1-az4", "use1-az3", "use1-az5"],
    ),
}
_REGION_NAMES = {"ap-northeast-1": "Asia Pacific (Tokyo)", "us-east-1": "US East (N. Virginia)"}
_CACHE_POLICIES = {
    "Managed-CachingOptimized": "658327ea-f89d-4fab-a63d-7e88639e58f6",
    "Managed-CachingDisabled": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
    "Managed-CachingOptimizedForUncompressedObjects": "b2884449-e4de-46a7-ac36-70bc7f1ddd6d",
}
_ORIGIN_REQUEST_POLICIES = {
    "Managed-AllViewer": "216adef6-5c7f-47e4-b989-5492eafa07d3",
    "Managed-AllViewerExceptHostHeader": "b689b0a8-53d0-40ab-baf2-68738e2966ac",
    "Managed-CORS-S3Origin": "88a5eaf4-2fd4-4709-b370-b4c650ea3fcf",
    "Managed-AllViewerAndCloudFrontHeaders-2022-06": "33f36d7e-f396-46d9-90e0-52428a34d9dc",
}
_CLOUDFRONT_PREFIX_LISTS = {"ap-northeast-1": "pl-58a04531", "us-east-1": "pl-3b927c52"}


def _uuid(*parts: str) -> str:
    return str(uuid.UUID(hashlib.sha256("/".join(parts).encode()).hexdigest()[:32]))


def availability_zones(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    names, ids = _AZS.get(ctx.region, ([f"{ctx.region}a", f"{ctx.region}b", f"{ctx.region}c"], ["az1", "az2", "az3"]))
    return {"names": names, "zone_ids": ids, "group_names": [ctx.region], "id": ctx.region}


def caller_identity(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    return {
        "account_id": ctx.account_id,
        "arn": f"arn:{ctx.partition}:iam::{ctx.account_id}:user/kyeol-operator",
        "user_id": "AIDASAMPLEUSERID0001",
        "id": ctx.account_id,
    }


def region(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    name = cfg.get("region") or cfg.get("name") or ctx.region
    return {
        "name": name,
        "region": name,
        "id": name,
        "endpoint": f"ec2.{name}.amazonaws.com",
        "description": _REGION_NAMES.get(name, name),
    }


def partition(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    return {"partition": ctx.partition, "dns_suffix": "amazonaws.com", "reverse_dns_prefix": "com.amazonaws", "id": ctx.partition}


def route53_zone(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    name = (cfg.get("name") or "mgz-g2-u3.shop").rstrip(".")
    zone_id = cfg.get("zone_id") or "Z0" + hashlib.sha256(name.encode()).hexdigest()[:18].upper()
    return {
        "name": name,
        "zone_id": zone_id,
        "id": zone_id,
        "private_zone": False,
        "resource_record_set_count": 2,
        "arn": f"arn:{ctx.partition}:route53:::hostedzone/{zone_id}",
        "caller_reference": _uuid(name),
        "name_servers": ["ns-1.awsdns-01.org", "ns-2.awsdns-02.co.uk", "ns-3.awsdns-03.com", "ns-4.awsdns-04.net"],
        "primary_name_server": "ns-1.awsdns-01.org",
        "comment": "",
    }


def acm_certificate(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    domain = cfg.get("domain") or "mgz-g2-u3.shop"
    cid = _uuid("acm", ctx.region, domain)
    return {
        "arn": f"arn:{ctx.partition}:acm:{ctx.region}:{ctx.account_id}:certificate/{cid}",
        "id": f"arn:{ctx.partition}:acm:{ctx.region}:{ctx.account_id}:certificate/{cid}",
        "status": "ISSUED",
        "domain": domain,
        "key_types": ["RSA_2048"],
        "statuses": ["ISSUED"],
        "types": ["AMAZON_ISSUED"],
        "certificate": "",
        "certificate_chain": "",
    }


def wafv2_web_acl(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    name = cfg.get("name") or "web-acl"
    acl_id = _uuid("wafv2", name)
    scope_part = "global" if cfg.get("scope") == "CLOUDFRONT" else "regional"
    return {
        "id": acl_id,
        "arn": f"arn:{ctx.partition}:wafv2:{ctx.region}:{ctx.account_id}:{scope_part}/webacl/{name}/{acl_id}",
        "description": "",
    }


def cloudfront_cache_policy(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    name = cfg.get("name") or ""
    return {"id": cfg.get("id") or _CACHE_POLICIES.get(name) or _uuid("cache", name), "etag": "E23ZP02F085DFQ"}


def cloudfront_origin_request_policy(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    name = cfg.get("name") or ""
    return {"id": cfg.get("id") or _ORIGIN_REQUEST_POLICIES.get(name) or _uuid("orp", name), "etag": "E23ZP02F085DFQ"}


def managed_prefix_list(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    name = cfg.get("name") or "com.amazonaws.global.cloudfront.origin-facing"
    pl_id = _CLOUDFRONT_PREFIX_LISTS.get(ctx.region, "pl-0" + hashlib.sha256(name.encode()).hexdigest()[:8])
    return {
        "id": pl_id,
        "name": name,
        "address_family": "IPv4",
        "max_entries": 55,
        "owner_id": "AWS",
        "arn": f"arn:{ctx.partition}:ec2:{ctx.region}:aws:prefix-list/{pl_id}",
    }


def secretsmanager_secret_version(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    """What the tree wrote to the secret (``world.py``); a synthetic JSON object otherwise."""
    written = world.secret(cfg.get("secret_id")) or {}
    return {
        "version_stages": ["AWSCURRENT"],
        "secret_string": written.get("secret_string", json.dumps({"synthetic": "value"})),
        "version_id": cfg.get("version_id") or written.get("version_id"),
    }


# -- aws_iam_policy_document -----------------------------------------------------------------


def _collapse(values: list[str] | None) -> Any:
    values = sorted(values or [])
    return values[0] if len(values) == 1 else values


def _principals(items: list[dict[str, Any]] | None) -> Any:
    out: dict[str, Any] = {}
    for p in items or []:
        ids = sorted(p.get("identifiers") or [])
        if p.get("type") == "*" and ids == ["*"]:
            return "*"
        previous = out.get(p["type"])
        merged = sorted(set(([previous] if isinstance(previous, str) else previous or []) + ids))
        out[p["type"]] = merged[0] if len(merged) == 1 else merged
    return out


def _statement(st: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if st.get("sid"):
        out["Sid"] = st["sid"]
    out["Effect"] = st.get("effect") or "Allow"
    for key, field in (
        ("Action", "actions"),
        ("NotAction", "not_actions"),
        ("Resource", "resources"),
        ("NotResource", "not_resources"),
    ):
        if st.get(field):
            out[key] = _collapse(st[field])
    for key, field in (("Principal", "principals"), ("NotPrincipal", "not_principals")):
        if st.get(field):
            out[key] = _principals(st[field])
    if st.get("condition"):
        cond: dict[str, dict[str, Any]] = {}
        for c in st["condition"]:
            values = c.get("values") or []
            cond.setdefault(c["test"], {})[c["variable"]] = values[0] if len(values) == 1 else values
        out["Condition"] = cond
    return out


def policy_document(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    statements: list[dict[str, Any]] = []
    for source in cfg.get("source_policy_documents") or []:
        statements.extend(json.loads(source).get("Statement", []))
    for st in cfg.get("statement") or []:
        rendered = _statement(st)
        statements = [s for s in statements if not (rendered.get("Sid") and s.get("Sid") == rendered["Sid"])]
        statements.append(rendered)
    for override in cfg.get("override_policy_documents") or []:
        for st in json.loads(override).get("Statement", []):
            statements = [s for s in statements if not (st.get("Sid") and s.get("Sid") == st["Sid"])] + [st]
    doc: dict[str, Any] = {"Version": cfg.get("version") or "2012-10-17"}
    if cfg.get("policy_id"):
        doc["Id"] = cfg["policy_id"]
    doc["Statement"] = statements
    text = json.dumps(doc, indent=2)
    return {
        "json": text,
        "minified_json": json.dumps(doc, separators=(",", ":")),
        "id": str(int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)),
    }


CANNED: dict[str, Callable[[Context, dict[str, Any]], dict[str, Any]]] = {
    "aws_availability_zones": availability_zones,
    "aws_caller_identity": caller_identity,
    "aws_region": region,
    "aws_partition": partition,
    "aws_route53_zone": route53_zone,
    "aws_acm_certificate": acm_certificate,
    "aws_wafv2_web_acl": wafv2_web_acl,
    "aws_cloudfront_cache_policy": cloudfront_cache_policy,
    "aws_cloudfront_origin_request_policy": cloudfront_origin_request_policy,
    "aws_ec2_managed_prefix_list": managed_prefix_list,
    "aws_secretsmanager_secret_version": secretsmanager_secret_version,
    "aws_iam_policy_document": policy_document,
}


def canned(tf_type: str, ctx: Context, config: dict[str, Any]) -> dict[str, Any]:
    fn = CANNED.get(tf_type)
    return fn(ctx, config) if fn else {}
