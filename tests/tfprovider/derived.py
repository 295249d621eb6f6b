"""Computed values whose *shape* AWS derives from a resource's arguments, where the tree depends
on that shape (shared/reference/tools.md: "realistic computed values need code per resource
where they matter"). Everything else is generic (``synthetic.py``). Each hook says why.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from tests.tfprovider.synthetic import Context
from tests.tfprovider.values import Unknown


def _h(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


def acm_certificate(ctx: Context, obj: dict[str, Any]) -> dict[str, Any]:
    """One ``domain_validation_options`` entry per name of the certificate (domain_name and each
    SAN), as ACM returns them (hashicorp/terraform-provider-aws@v6.69.1
    internal/service/acm/certificate.go flattenDomainValidations): modules index the records by
    domain, so a single synthetic element would not do."""
    names = [obj.get("domain_name")] + list(obj.get("subject_alternative_names") or [])
    options = []
    for name in dict.fromkeys(n for n in names if isinstance(n, str)):
        base = name.removeprefix("*.")
        token = _h(ctx.account_id, base)
        options.append(
            {
                "domain_name": name,
                "resource_record_name": f"_{token[:32]}.{base}.",
                "resource_record_type": "CNAME",
                "resource_record_value": f"_{token[32:64]}.jkddzztszm.acm-validations.aws.",
            }
        )
    return {
        "domain_validation_options": options,
        "status": "ISSUED",
        "validation_emails": [],
        "subject_alternative_names": obj.get("subject_alternative_names") or [name for name in names[1:] if name],
    }


def route53_record(ctx: Context, obj: dict[str, Any]) -> dict[str, Any]:
    """``fqdn`` is the record's name without the trailing dot (route53/record.go)."""
    name = obj.get("name")
    return {"fqdn": name.rstrip(".")} if isinstance(name, str) else {}


def s3_bucket(ctx: Context, obj: dict[str, Any]) -> dict[str, Any]:
    """S3's endpoint names are the bucket name plus a fixed suffix (s3/bucket.go), which
    modules validate (the CloudFront origin must be a bucket's regional endpoint)."""
    bucket = obj.get("bucket")
    if not isinstance(bucket, str):
        return {}
    return {
        "bucket_domain_name": f"{bucket}.s3.amazonaws.com",
        "bucket_regional_domain_name": f"{bucket}.s3.{ctx.region}.amazonaws.com",
        "hosted_zone_id": "Z2M4EHUR26P7ZW" if ctx.region == "ap-northeast-1" else "Z3AQBSTGFYJSTF",
    }


HOOKS: dict[str, Callable[[Context, dict[str, Any]], dict[str, Any]]] = {
    "aws_acm_certificate": acm_certificate,
    "aws_route53_record": route53_record,
    "aws_s3_bucket": s3_bucket,
}


def derive(tf_type: str, ctx: Context, obj: dict[str, Any]) -> dict[str, Any]:
    """Values for attributes of *obj* that are still unknown (known ones are never changed)."""
    hook = HOOKS.get(tf_type)
    if hook is None:
        return obj
    out = dict(obj)
    for name, value in hook(ctx, obj).items():
        if isinstance(out.get(name), Unknown):
            out[name] = value
    return out
