"""Saleor media: do the app overlays name the bucket, role, prefix and host Terraform makes?

A wrong value in either tree only shows in the cluster: a bucket name off by its account suffix
or a role in another account fails the first upload (AccessDenied, long after the sync), a
prefix the role or the bucket policy does not cover fails it too, and a custom domain whose
distribution has no `/media/*` behaviour makes every image URL a 404 from Saleor's API. The
checks here read both sides offline, starting from what the overlay says and following the
Terraform references the way Terraform would: the bucket behind the `media_bucket` output,
its policy (only the env's own distribution reads, only under the prefix, nothing without
TLS), the distribution that policy admits (its alias, its `/<prefix>/*` behaviour to the
bucket through origin access control), and the IRSA role the service accounts name (trusted
by exactly those accounts, objects under the prefix only). Unknown values are kept as
``{<module dir>: <reference>}`` tokens, so "the ARN of that bucket" can be compared although
no ARN exists before apply. Each function returns problem strings naming the file and object.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator

from tests.infra.conformance import instances_of, where
from tests.infra.evaluate import Instance, Unknown, _render, _split_template
from tests.infra.hcl import Block

ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"
MEDIA_ENV = ("AWS_MEDIA_BUCKET_NAME", "AWS_LOCATION", "AWS_MEDIA_CUSTOM_DOMAIN", "AWS_S3_REGION_NAME")
MEDIA_WORKLOADS = ("saleor-api", "saleor-worker")  # the processes that store and thumbnail uploads
OBJECT_ACTIONS = {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}
_REF = re.compile(r"^\{([\w-]+): (data\.)?(aws_\w+)\.([\w-]+)((?:\.[\w-]+)*)\}$")
_ACCOUNT_TOKEN = re.compile(r"\{[\w-]+: data\.aws_caller_identity\.[\w-]+\.account_id\}")
_ROLE_ARN = re.compile(r"^arn:aws:iam::(\d{12}):role/([\w+=,.@-]+)$")


# --- Symbolic evaluation: unknown parts become {dir: reference} tokens --------------------------


def token(value: Unknown) -> str:
    return "{" + value.source + "}"


def symbolic(inst: Instance, raw: Any, scope: dict[str, Any] | None = None) -> Any:
    """Like Instance.evaluate, but a template keeps its known text around unknown references."""
    if isinstance(raw, list):
        return [symbolic(inst, r, scope) for r in raw]
    if isinstance(raw, dict):
        return {k: symbolic(inst, v, scope) for k, v in raw.items()}
    if not isinstance(raw, str) or "${" not in raw:
        return raw
    parts = _split_template(raw)
    if len(parts) == 1 and parts[0][0] == "expr":
        return _symbolic_expression(inst, parts[0][1], scope)
    out = []
    for kind, part in parts:
        value = part if kind == "text" else _symbolic_expression(inst, part, scope)
        out.append(value if isinstance(value, str) else _render(value))
    return "".join(out)


def _symbolic_expression(inst: Instance, expr: str, scope: dict[str, Any] | None) -> Any:
    """One expression; a plain ``local.x`` or ``var.x`` is followed to its definition first."""
    m = re.fullmatch(r"\s*(local|var)\.([\w-]+)\s*", expr)
    if m and m.group(1) == "local":
        raw = next((b.attrs[m.group(2)].value for b in inst.top("locals") if m.group(2) in b.attrs), None)
        if raw is not None:
            return symbolic(inst, raw)
    if m and m.group(1) == "var" and inst.parent is not None and inst.call is not None and m.group(2) in inst.call.attrs:
        return symbolic(inst.parent, inst.call.attrs[m.group(2)].value)
    value = inst.expression(expr, scope)
    return token(value) if isinstance(value, Unknown) else _tokens_in(value)


def _tokens_in(value: Any) -> Any:
    if isinstance(value, list):
        return [_tokens_in(v) for v in value]
    if isinstance(value, dict):
        return {k: _tokens_in(v) for k, v in value.items()}
    return token(value) if isinstance(value, Unknown) else value


@dataclass(frozen=True)
class Ref:
    """A resource (or data source) a token points at, with the instance key and attribute path."""

    inst: Instance
    block: Block
    key: str | None  # for_each key / count index picked by the reference
    attr: str


def resolve(root: Instance, text: Any) -> Ref | None:
    """``{saleor-media: aws_s3_bucket.media.arn}`` → that block; None when it is no such token."""
    m = _REF.match(text) if isinstance(text, str) else None
    if not m:
        return None
    directory, data, tf_type, name, rest = m.groups()
    path = [p for p in rest.split(".") if p]
    for inst in root.walk():
        if inst.directory.name != directory:
            continue
        blocks = [b for f in inst.files for b in f.children("data" if data else "resource")
                  if b.labels == (tf_type, name)]
        if blocks:
            key = path[0] if len(path) > 1 else None
            return Ref(inst, blocks[0], key, path[-1] if path else "")
    return None


def _reference(raw: Any) -> tuple[str, str, str | None] | None:
    """``"${data.aws_iam_policy_document.irsa_assume["saleor"].json}"`` → (type, name, key)."""
    m = re.fullmatch(r'\$\{(?:data\.)?(aws_\w+)\.([\w-]+)(?:\[(?:"([^"]+)"|(\d+))\])?\.\w+\}', raw or "")
    return (m.group(1), m.group(2), m.group(3) or m.group(4)) if m else None


def _data(inst: Instance, tf_type: str, name: str) -> Block | None:
    return next((b for f in inst.files for b in f.children("data") if b.labels == (tf_type, name)), None)


def _scope_for(inst: Instance, block: Block, key: str | None) -> dict[str, Any] | None:
    scopes = inst.scopes(block)
    if isinstance(scopes, Unknown):
        return None
    if key is None:
        return scopes[0] if scopes else None
    for scope in scopes:
        if str((scope.get("each") or {}).get("key", (scope.get("count") or {}).get("index"))) == key:
            return scope
    return None


def blocks(inst: Instance, block: Block, kind: str, scope: dict[str, Any]) -> Iterator[tuple[Block, dict[str, Any]]]:
    """Nested blocks of one kind, ``dynamic "<kind>"`` expanded (its iterator named after the kind)."""
    for child in block.blocks:
        if child.type == kind:
            yield child, scope
        elif child.type == "dynamic" and child.labels == (kind,) and child.child("content"):
            items = inst.attr(child, "for_each", scope=scope)
            if isinstance(items, Unknown):
                continue
            pairs = items.items() if isinstance(items, dict) else enumerate(items)
            for k, v in pairs:
                yield child.child("content"), {**scope, kind: {"key": k, "value": v}}


# --- IAM policy documents ------------------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    sid: str
    effect: str
    actions: list[str]
    resources: list[str]
    principals: list[tuple[str, list[str]]]
    conditions: list[tuple[str, str, list[str]]]  # (test, variable lower-cased, values)


def statements(inst: Instance, doc: Block, scope: dict[str, Any]) -> list[Statement]:
    out = []
    for st, sc in blocks(inst, doc, "statement", scope):
        s = lambda b, a, d=None: symbolic(inst, b.value(a, d), sc)  # noqa: E731
        out.append(Statement(
            str(s(st, "sid", "")), str(s(st, "effect", "Allow")), list(s(st, "actions", [])), list(s(st, "resources", [])),
            [(str(s(p, "type")), list(s(p, "identifiers", []))) for p, _ in blocks(inst, st, "principals", sc)],
            [(str(s(c, "test")), str(s(c, "variable")).lower(), list(s(c, "values", []))) for c, _ in blocks(inst, st, "condition", sc)],
        ))
    return out


def policy_document(inst: Instance, holder: Block, arg: str, scope: dict[str, Any]) -> tuple[Block, dict[str, Any]] | None:
    """The aws_iam_policy_document (and its instance scope) whose ``.json`` an argument is."""
    ref = _reference(holder.value(arg))
    doc = _data(inst, ref[0], ref[1]) if ref and ref[0] == "aws_iam_policy_document" else None
    doc_scope = _scope_for(inst, doc, ref[2]) if doc else None
    return (doc, doc_scope) if doc is not None and doc_scope is not None else None


# --- What Terraform makes --------------------------------------------------------------------------


@dataclass(frozen=True)
class MediaBucket:
    ref: Ref
    name: str  # with the env's account id in place of the caller-identity token
    arn: str  # token
    regional_domain: str  # token


def media_bucket(root: Instance, account: str) -> tuple[MediaBucket | None, list[str]]:
    """The bucket behind the root's `media_bucket` output, its name completed with *account*."""
    if "media_bucket" not in root.output_names:
        return None, [f"{root.directory}: no output media_bucket (the bucket the overlay's AWS_MEDIA_BUCKET_NAME names)"]
    out = root.output("media_bucket")
    ref = resolve(root, token(out)) if isinstance(out, Unknown) else None
    if ref is None or ref.block.labels[0] != "aws_s3_bucket":
        return None, [f"{root.directory}: output media_bucket = {out!r} is not an aws_s3_bucket's name"]
    name = symbolic(ref.inst, ref.block.value("bucket"))
    name = _ACCOUNT_TOKEN.sub(account, name) if isinstance(name, str) else name
    if not isinstance(name, str) or "{" in name:
        return None, [f"{where(ref.inst, ref.block)}: could not trace the bucket name to a value ({name!r})"]
    base = "{" + f"{ref.inst.directory.name}: aws_s3_bucket.{ref.block.labels[1]}"
    return MediaBucket(ref, name, base + ".arn}", base + ".bucket_regional_domain_name}"), []


def bucket_policy_readers(bucket: MediaBucket, location: str) -> tuple[list[str], list[str]]:
    """Who the bucket policy lets read (distribution ARN tokens), and what is wrong with it."""
    inst, arn = bucket.ref.inst, bucket.arn
    own = "{" + f"{inst.directory.name}: aws_s3_bucket.{bucket.ref.block.labels[1]}.id" + "}"
    policies = [b for b in inst.resources("aws_s3_bucket_policy") if symbolic(inst, b.value("bucket")) == own]
    if len(policies) != 1:
        return [], [f"{where(inst, bucket.ref.block)}: {len(policies)} aws_s3_bucket_policy on {bucket.name}, expected 1"]
    place = where(inst, policies[0])
    found = policy_document(inst, policies[0], "policy", {})
    if found is None:
        return [], [f"{place}: the policy is not an aws_iam_policy_document of this module"]
    problems, readers, tls_only = [], [], False
    for s in statements(inst, *found):
        if s.effect == "Deny":
            tls_only |= (s.actions == ["s3:*"] and s.principals == [("*", ["*"])]
                         and ("Bool", "aws:securetransport", ["false"]) in s.conditions
                         and {arn, f"{arn}/*"} <= set(s.resources))
            continue
        source = [c for c in s.conditions if c[0] == "StringEquals" and c[1] == "aws:sourcearn"]
        if s.principals != [("Service", ["cloudfront.amazonaws.com"])] or len(source) != 1 or len(source[0][2]) != 1:
            problems.append(f"{place}: statement {s.sid or '?'} allows {s.principals} {s.actions}; only CloudFront, "
                            "limited by aws:SourceArn to one distribution, may be allowed")
            continue
        if s.actions != ["s3:GetObject"] or s.resources != [f"{arn}/{location}/*"]:
            problems.append(f"{place}: statement {s.sid or '?'} lets CloudFront {s.actions} on {s.resources}; "
                            f"expected s3:GetObject on {arn}/{location}/* only")
        readers.append(source[0][2][0])
    if not tls_only:
        problems.append(f"{place}: no Deny of s3:* on the bucket and its objects for every principal when "
                        "aws:SecureTransport is false (TLS-only)")
    if not readers:
        problems.append(f"{place}: no statement lets a CloudFront distribution read {bucket.name}")
    return readers, problems


def media_host(root: Instance, bucket: MediaBucket, reader: str, location: str) -> tuple[str | None, list[str]]:
    """The alias of the distribution *reader* names, if it serves `/<location>/*` from the bucket."""
    ref = resolve(root, reader)
    if ref is None or ref.block.labels[0] != "aws_cloudfront_distribution" or ref.attr != "arn":
        return None, [f"the media bucket policy admits {reader!r}, not a CloudFront distribution of this env"]
    inst, dist, place = ref.inst, ref.block, where(ref.inst, ref.block)
    scope = _scope_for(inst, dist, ref.key)
    if scope is None:
        return None, [f"{place}: no instance {ref.key!r} of the distribution the media bucket policy admits"]
    aliases = inst.attr(dist, "aliases", [], scope=scope)
    host = aliases[0] if isinstance(aliases, list) and len(aliases) == 1 and isinstance(aliases[0], str) else None
    origins = {symbolic(inst, o.value("origin_id"), s): (o, s) for o, s in blocks(inst, dist, "origin", scope)}
    behaviours = [(b, s) for b, s in blocks(inst, dist, "ordered_cache_behavior", scope)
                  if inst.attr(b, "path_pattern", scope=s) == f"/{location}/*"]
    problems = [] if host else [f"{place} [{ref.key}]: aliases = {aliases!r}, expected one public host"]
    if len(behaviours) != 1:
        return host, problems + [f"{place} [{ref.key}]: {len(behaviours)} ordered_cache_behavior for /{location}/*, "
                                 "expected 1 (media URLs would reach the ALB)"]
    behaviour, bscope = behaviours[0]
    origin = origins.get(symbolic(inst, behaviour.value("target_origin_id"), bscope))
    if origin is None or symbolic(inst, origin[0].value("domain_name"), origin[1]) != bucket.regional_domain:
        problems.append(f"{place} [{ref.key}]: /{location}/* does not go to an origin whose domain_name is "
                        f"{bucket.regional_domain}")
    elif not _signed_by_oac(root, symbolic(inst, origin[0].value("origin_access_control_id"), origin[1])):
        problems.append(f"{place} [{ref.key}]: the media origin has no S3 origin access control signing "
                        "always with sigv4 (the private bucket would answer 403)")
    cache = resolve(root, symbolic(inst, behaviour.value("cache_policy_id"), bscope))
    cache_name = inst.attr(cache.block, "name") if cache else None
    if cache_name != "Managed-CachingOptimized":
        problems.append(f"{place} [{ref.key}]: /{location}/* cache policy is {cache_name!r}, expected Managed-CachingOptimized")
    headers = resolve(root, symbolic(inst, behaviour.value("response_headers_policy_id"), bscope))
    security = headers.block.child("security_headers_config") if headers else None
    csp = security.child("content_security_policy") if security else None
    policy = headers.inst.attr(csp, "content_security_policy") if headers and csp else None
    if not (security and security.child("strict_transport_security") and isinstance(policy, str) and "sandbox" in policy):
        problems.append(f"{place} [{ref.key}]: /{location}/* responses get no HSTS and sandboxing Content-Security-Policy "
                        f"(CSP {policy!r}): an uploaded SVG or HTML opened directly would run script on the host")
    methods = inst.attr(behaviour, "allowed_methods", scope=bscope)
    if not isinstance(methods, list) or set(methods) - {"GET", "HEAD", "OPTIONS"}:
        problems.append(f"{place} [{ref.key}]: /{location}/* allows {methods!r}; media is read-only at the edge")
    return host, problems


def _signed_by_oac(root: Instance, value: Any) -> bool:
    ref = resolve(root, value)
    if ref is None or ref.block.labels[0] != "aws_cloudfront_origin_access_control":
        return False
    get = lambda a: ref.inst.attr(ref.block, a)  # noqa: E731
    return (get("origin_access_control_origin_type"), get("signing_behavior"), get("signing_protocol")) == ("s3", "always", "sigv4")


def role_problems(root: Instance, bucket: MediaBucket, role_arn: str, accounts: list[str], location: str,
                  env: str, account: str) -> list[str]:
    """The role an annotation names: this env's account, trusted by *accounts*, media objects only."""
    m = _ROLE_ARN.match(role_arn)
    if not m:
        return [f"{role_arn!r} is not an IAM role ARN"]
    if m.group(1) != account:
        return [f"{role_arn}: account {m.group(1)}, but {env}'s account in kyeol.toml is {account}"]
    roles = [(i, b, s) for i, b, s in instances_of(root, "aws_iam_role") if i.attr(b, "name", scope=s) == m.group(2)]
    if len(roles) != 1:
        return [f"{role_arn}: Terraform makes {len(roles)} role named {m.group(2)} in {env}, expected 1"]
    inst, role, scope = roles[0]
    place = where(inst, role)
    problems = []
    trust = policy_document(inst, role, "assume_role_policy", scope)
    subs: list[str] = []
    for s in statements(inst, *trust) if trust else []:
        if s.effect == "Allow" and s.actions == ["sts:AssumeRoleWithWebIdentity"]:
            for test, variable, values in s.conditions:
                if test == "StringEquals" and variable.endswith(":sub"):
                    subs += values
                if test == "StringEquals" and variable.endswith(":aud") and values != ["sts.amazonaws.com"]:
                    problems.append(f"{place}: trust aud = {values}, expected ['sts.amazonaws.com']")
    missing = sorted(set(accounts) - set(subs))
    if missing:
        problems.append(f"{place}: the trust policy does not admit {missing} (subjects: {subs}); their pods "
                        "would get AccessDenied from sts:AssumeRoleWithWebIdentity")
    own = "{" + f"{inst.directory.name}: aws_iam_role.{role.labels[1]}"
    inline = [b for b in inst.resources("aws_iam_role_policy")
              if str(symbolic(inst, b.value("role"))).startswith(own + ".")]
    if not inline:
        return problems + [f"{place}: no inline policy: the role cannot write media"]
    allowed: set[str] = set()
    for pol in inline:
        found = policy_document(inst, pol, "policy", _scope_for(inst, pol, None) or {})
        for s in statements(inst, *found) if found else []:
            problems += _media_statement(where(inst, pol), s, bucket.arn, location)
            allowed.update(s.actions if s.effect == "Allow" else [])
    if not {"s3:PutObject", "s3:GetObject"} <= allowed:
        problems.append(f"{place}: the role may not {sorted({'s3:PutObject', 's3:GetObject'} - allowed)} media objects")
    return problems


def _media_statement(place: str, s: Statement, arn: str, location: str) -> list[str]:
    if s.effect != "Allow":
        return []
    objects = f"{arn}/{location}/*"
    if set(s.actions) <= OBJECT_ACTIONS and s.resources == [objects]:
        return []
    prefixes = [v for test, var, vals in s.conditions if test in ("StringLike", "StringEquals") and var == "s3:prefix" for v in vals]
    if s.actions == ["s3:ListBucket"] and s.resources == [arn] and prefixes and all(p.startswith(f"{location}/") for p in prefixes):
        return []
    return [f"{place}: statement {s.sid or '?'} allows {s.actions} on {s.resources} (s3:prefix {prefixes}); the media "
            f"role may only use {sorted(OBJECT_ACTIONS)} on {objects} and s3:ListBucket on {arn} under {location}/"]


# --- The overlay against it --------------------------------------------------------------------


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container.get("env") or [] if "name" in e}


def check_media(root: Instance, docs: list[dict[str, Any]], env: str, account: str) -> list[str]:
    """The media settings and role annotation of the rendered overlay match what Terraform makes."""
    bucket, problems = media_bucket(root, account)
    if bucket is None:
        return problems
    accounts = {d["metadata"]["name"]: d for d in docs if d.get("kind") == "ServiceAccount"}
    settings: dict[str, dict[str, str]] = {}
    for name in MEDIA_WORKLOADS:
        deployment = next((d for d in docs if d.get("kind") == "Deployment" and d["metadata"]["name"] == name), None)
        if deployment is None:
            problems.append(f"Deployment {name} ({env}): not rendered")
            continue
        spec = deployment["spec"]["template"]["spec"]
        for container in spec["containers"]:
            values = _env(container)
            missing = [k for k in MEDIA_ENV if not values.get(k)]
            if missing:
                problems.append(f"Deployment {name} ({env}) container {container['name']}: no {missing}; Saleor would "
                                "store uploads on the pod's (read-only) filesystem")
            settings[f"{name}/{container['name']}"] = {k: values.get(k, "") for k in MEDIA_ENV}
        sa = accounts.get(spec.get("serviceAccountName", ""), {})
        if not ((sa.get("metadata") or {}).get("annotations") or {}).get(ROLE_ANNOTATION):
            problems.append(f"Deployment {name} ({env}): service account {spec.get('serviceAccountName')!r} has no "
                            f"{ROLE_ANNOTATION}: boto3 finds no credentials")
    if problems or not settings:
        return problems
    distinct = {tuple(v.values()) for v in settings.values()}
    if len(distinct) > 1:
        return [f"{env}: api and worker disagree on the media settings: {settings}"]
    want = dict(zip(MEDIA_ENV, distinct.pop()))
    location = want["AWS_LOCATION"]
    if want["AWS_MEDIA_BUCKET_NAME"] != bucket.name:
        problems.append(f"{env}: AWS_MEDIA_BUCKET_NAME = {want['AWS_MEDIA_BUCKET_NAME']!r}, Terraform makes "
                        f"{bucket.name!r} ({where(bucket.ref.inst, bucket.ref.block)})")
    region = root.provider_config_region("")
    if want["AWS_S3_REGION_NAME"] != region:
        problems.append(f"{env}: AWS_S3_REGION_NAME = {want['AWS_S3_REGION_NAME']!r}, the bucket is in {region!r}")
    readers, found = bucket_policy_readers(bucket, location)
    problems += found
    hosts = []
    for reader in readers:
        host, found = media_host(root, bucket, reader, location)
        problems += found
        hosts.append(host)
    if readers and hosts != [want["AWS_MEDIA_CUSTOM_DOMAIN"]]:
        problems.append(f"{env}: AWS_MEDIA_CUSTOM_DOMAIN = {want['AWS_MEDIA_CUSTOM_DOMAIN']!r}, but the media bucket "
                        f"is read by the distribution(s) of {hosts}: media URLs would not reach it")
    arns: dict[str, list[str]] = {}
    for name in MEDIA_WORKLOADS:
        sa_name = next(d for d in docs if d.get("kind") == "Deployment" and d["metadata"]["name"] == name)["spec"]["template"]["spec"]["serviceAccountName"]
        sa = accounts[sa_name]
        namespace = sa["metadata"].get("namespace", "default")
        arns.setdefault(sa["metadata"]["annotations"][ROLE_ANNOTATION], []).append(f"system:serviceaccount:{namespace}:{sa_name}")
    for arn, subjects in arns.items():
        problems += [f"{env}: {p}" for p in role_problems(root, bucket, arn, subjects, location, env, account)]
    return problems
