"""Synthetic values of the right type for what AWS would decide: ARNs, ids, endpoints.

Deterministic (a hash of the resource type, the attribute and a seed taken from the object's
known values), so two runs of the same plan give the same state. Shapes follow AWS's own
(``vpc-0…`` ids, ``arn:aws:eks:<region>:<account>:cluster/<name>``, an EKS OIDC issuer URL);
nothing here is looked up, and nothing claims more than "this looks like what AWS returns".
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.tfprovider.values import Unknown


@dataclass
class Context:
    """What the provider configuration says (or the stand-in's defaults)."""

    region: str = "ap-northeast-1"
    account_id: str = "123456789012"
    partition: str = "aws"
    default_tags: dict[str, str] = field(default_factory=dict)


# ids whose prefix AWS fixes (EC2 and friends)
_ID_PREFIX = {
    "aws_vpc": "vpc-",
    "aws_subnet": "subnet-",
    "aws_internet_gateway": "igw-",
    "aws_nat_gateway": "nat-",
    "aws_eip": "eipalloc-",
    "aws_route_table": "rtb-",
    "aws_route_table_association": "rtbassoc-",
    "aws_security_group": "sg-",
    "aws_default_security_group": "sg-",
    "aws_launch_template": "lt-",
    "aws_flow_log": "fl-",
    "aws_vpc_security_group_ingress_rule": "sgr-",
    "aws_vpc_security_group_egress_rule": "sgr-",
    "aws_route": "r-rtb-",
    "aws_network_acl": "acl-",
    "aws_vpc_endpoint": "vpce-",
}
_NAME_ID_PREFIX = {
    "vpc_id": "vpc-",
    "subnet_id": "subnet-",
    "security_group_id": "sg-",
    "cluster_security_group_id": "sg-",
    "allocation_id": "eipalloc-",
    "network_interface_id": "eni-",
    "route_table_id": "rtb-",
    "gateway_id": "igw-",
    "nat_gateway_id": "nat-",
    "association_id": "eipassoc-",
    "owner_id": "",
    "default_route_table_id": "rtb-",
    "main_route_table_id": "rtb-",
    "default_network_acl_id": "acl-",
    "default_security_group_id": "sg-",
    "security_group_rule_id": "sgr-",
    "latest_version": "",
    "image_id": "ami-",
    "instance_id": "i-",
}
_GLOBAL_SERVICES = {"iam", "s3", "cloudfront", "route53", "waf"}


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _known_part(value: Any) -> Any:
    if isinstance(value, Unknown):
        return None
    if isinstance(value, dict):
        return {k: _known_part(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_known_part(v) for v in value]
    return value


def seed_of(obj: Any) -> str:
    """A stable seed from everything known about an object (its configured identity): two
    resources configured differently (tags included) get different ids."""
    return _digest(_known_part(obj))[:16]


def _name_of(obj: Any) -> str:
    if isinstance(obj, dict):
        for key in (
            "name",
            "bucket",
            "identifier",
            "replication_group_id",
            "cluster_name",
            "domain_name",
            "role_name",
            "repository",
        ):
            value = obj.get(key)
            if isinstance(value, str) and value:
                return value
    return ""


def arn(ctx: Context, tf_type: str, obj: Any, h: str) -> str:
    parts = tf_type.split("_")
    service = parts[1] if len(parts) > 1 else "aws"
    kind = "-".join(parts[2:]) or service
    name = _name_of(obj) or h[:12]
    region = "" if service in _GLOBAL_SERVICES else ctx.region
    account = "" if service == "s3" else ctx.account_id
    special = {
        "aws_s3_bucket": f"arn:{ctx.partition}:s3:::{name}",
        "aws_iam_role": f"arn:{ctx.partition}:iam::{ctx.account_id}:role/{name}",
        "aws_iam_openid_connect_provider": f"arn:{ctx.partition}:iam::{ctx.account_id}:oidc-provider/"
        + str((obj or {}).get("url", f"oidc.eks.{ctx.region}.amazonaws.com/id/{h[:32].upper()}")).removeprefix("https://"),
        "aws_kms_key": f"arn:{ctx.partition}:kms:{ctx.region}:{ctx.account_id}:key/{uuid.UUID(h[:32])}",
        "aws_kms_alias": f"arn:{ctx.partition}:kms:{ctx.region}:{ctx.account_id}:{name}",
        "aws_acm_certificate": f"arn:{ctx.partition}:acm:{ctx.region}:{ctx.account_id}:certificate/{uuid.UUID(h[:32])}",
        "aws_secretsmanager_secret": f"arn:{ctx.partition}:secretsmanager:{ctx.region}:{ctx.account_id}:secret:{name}-{h[:6]}",
        "aws_wafv2_web_acl": f"arn:{ctx.partition}:wafv2:{ctx.region}:{ctx.account_id}:global/webacl/{name}/{uuid.UUID(h[:32])}",
        "aws_cloudwatch_log_group": f"arn:{ctx.partition}:logs:{ctx.region}:{ctx.account_id}:log-group:{name}",
        "aws_cloudfront_distribution": f"arn:{ctx.partition}:cloudfront::{ctx.account_id}:distribution/E{h[:13].upper()}",
        "aws_db_instance": f"arn:{ctx.partition}:rds:{ctx.region}:{ctx.account_id}:db:{name}",
        "aws_elasticache_replication_group": f"arn:{ctx.partition}:elasticache:{ctx.region}:{ctx.account_id}:replicationgroup:{name}",
        "aws_ecr_repository": f"arn:{ctx.partition}:ecr:{ctx.region}:{ctx.account_id}:repository/{name}",
        "aws_dynamodb_table": f"arn:{ctx.partition}:dynamodb:{ctx.region}:{ctx.account_id}:table/{name}",
    }
    if tf_type in special:
        return special[tf_type]
    return f"arn:{ctx.partition}:{service}:{region}:{account}:{kind}/{name}"


def resource_id(ctx: Context, tf_type: str, obj: Any, h: str) -> str:
    if tf_type in _ID_PREFIX:
        return f"{_ID_PREFIX[tf_type]}0{h[:16]}"
    if tf_type in ("aws_cloudfront_distribution", "aws_cloudfront_origin_access_control"):
        return f"E{h[:13].upper()}"
    if tf_type in ("aws_kms_key", "aws_cloudfront_response_headers_policy", "aws_wafv2_web_acl"):
        return str(uuid.UUID(h[:32]))
    if tf_type in ("aws_acm_certificate", "aws_secretsmanager_secret", "aws_iam_openid_connect_provider"):
        return arn(ctx, tf_type, obj, h)
    if tf_type == "aws_db_instance":
        return f"db-{h[:26].upper()}"
    return _name_of(obj) or h[:20]


def string_value(ctx: Context, tf_type: str, name: str, obj: Any, h: str) -> str:
    """A plausible string for attribute *name* of *tf_type* (in object *obj*)."""
    if name == "arn" or name.endswith("_arn"):
        if name == "arn":
            return arn(ctx, tf_type, obj, h)
        if name in ("role_arn", "iam_role_arn"):
            return f"arn:{ctx.partition}:iam::{ctx.account_id}:role/synthetic-{h[:8]}"
        if "key" in name:
            return arn(ctx, "aws_kms_key", None, h)
        if "secret" in name:
            return arn(ctx, "aws_secretsmanager_secret", {"name": f"synthetic-{h[:8]}"}, h)
        return f"arn:{ctx.partition}:{tf_type.split('_')[1]}:{ctx.region}:{ctx.account_id}:{name.removesuffix('_arn')}/{h[:12]}"
    if name == "id":
        return resource_id(ctx, tf_type, obj, h)
    if name in ("registry_id", "account_id", "owner_id"):
        return ctx.account_id
    if name in _NAME_ID_PREFIX:
        return f"{_NAME_ID_PREFIX[name]}0{h[:16]}"
    if name in ("hosted_zone_id", "zone_id"):
        return f"Z{h[:20].upper()}"
    if name in {"kms_key_id", "key_id"}:
        return str(uuid.UUID(h[:32]))
    if name == "issuer":
        return f"https://oidc.eks.{ctx.region}.amazonaws.com/id/{h[:32].upper()}"
    if tf_type == "aws_eks_cluster" and name == "endpoint":
        return f"https://{h[:32].upper()}.gr7.{ctx.region}.eks.amazonaws.com"
    if name == "data":  # certificate authority data: base64 of a PEM
        pem = f"-----BEGIN CERTIFICATE-----\nsynthetic-{h}\n-----END CERTIFICATE-----\n"
        return base64.b64encode(pem.encode()).decode()
    if name in ("endpoint", "address", "primary_endpoint_address", "reader_endpoint_address", "configuration_endpoint_address"):
        label = _name_of(obj) or h[:10]
        if tf_type.startswith("aws_db"):
            host = f"{label}.c{h[:10]}.{ctx.region}.rds.amazonaws.com"
            return f"{host}:5432" if name == "endpoint" else host
        if tf_type.startswith("aws_elasticache"):
            return f"master.{label}.{h[:6]}.{ctx.region.replace('-', '')[:5]}.cache.amazonaws.com"
        return f"{label}.{h[:8]}.{ctx.region}.amazonaws.com"
    if name == "domain_name" and tf_type == "aws_cloudfront_distribution":
        return f"d{h[:13]}.cloudfront.net"
    if name == "repository_url":
        return f"{ctx.account_id}.dkr.ecr.{ctx.region}.amazonaws.com/{_name_of(obj) or h[:8]}"
    if name in ("public_ip", "carrier_ip"):
        return f"13.{int(h[0:2], 16) % 200 + 1}.{int(h[2:4], 16)}.{int(h[4:6], 16) % 250 + 1}"
    if name in ("private_ip",):
        return f"10.0.{int(h[2:4], 16)}.{int(h[4:6], 16) % 250 + 4}"
    if name == "public_dns":
        return f"ec2-13-0-0-1.{ctx.region}.compute.amazonaws.com"
    if name in ("region",):
        return ctx.region
    if name in ("random_password", "password") or "private_key" in name:
        return f"synthetic-{h[:40]}"
    if name == "status":
        return "ACTIVE"
    return f"{name.replace('_', '-')}-{h[:10]}"


def value(ctx: Context, ty: Any, tf_type: str, name: str, obj: Any, seed: str) -> Any:
    """A synthetic known value of cty type *ty*."""
    h = _digest(tf_type, name, seed)
    if ty == "string":
        return string_value(ctx, tf_type, name, obj, h)
    if ty == "number":
        return 1
    if ty == "bool":
        return False
    if ty == "dynamic":
        return None
    kind, inner = ty
    if kind in ("list", "set"):
        return [value(ctx, inner, tf_type, name, obj, seed)]
    if kind == "map":
        return {}
    if kind == "object":
        return {k: value(ctx, t, tf_type, k, obj, seed + k) for k, t in inner.items()}
    if kind == "tuple":
        return [value(ctx, t, tf_type, name, obj, seed + str(i)) for i, t in enumerate(inner)]
    raise ValueError(f"unknown cty type {ty!r}")
