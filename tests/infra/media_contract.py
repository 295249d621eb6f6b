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
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

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
        blocks = [b for f in inst.files for b in f.children("data" if data else "resource") if b.labels == (tf_type, name)]
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
        out.append(
            Statement(
                str(s(st, "sid", "")),
                str(s(st, "effect", "Allow")),
                list(s(st, "actions", [])),
                list(s(st, "resources", [])),
                [(str(s(p, "type")), list(s(p, "identifiers", []))) for p, _ in blocks(inst, st, "principals", sc)],
                [
                    (str(s(c, "test")), str(s(c, "variable")).lower(), list(s(c, "values", [])))
                    for c, _ in blocks(inst, st, "condition", sc)
                ],
            )
        )
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
    return bucket_behind(root, "media_bucket", "AWS_MEDIA_BUCKET_NAME", account)


def bucket_behind(root: Instance, output: str, setting: str, account: str) -> tuple[MediaBucket | None, list[str]]:
    """The bucket behind one root output (the one the overlay's *setting* names), its name completed with *account*."""
    if output not in root.output_names:
        return None, [f"{root.directory}: no output {output} (the bucket the overlay's {setting} names)"]
    out = root.output(output)
    ref = resolve(root, token(out)) if isinstance(out, Unknown) else None
    if ref is None or ref.block.labels[0] != "aws_s3_bucket":
        return None, [f"{root.directory}: output {output} = {out!r} is not an aws_s3_bucket's name"]
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
            tls_only |= (
                s.actions == ["s3:*"]
                and s.principals == [("*", ["*"])]
                and ("Bool", "aws:securetransport", ["false"]) in s.conditions
                and {arn, f"{arn}/*"} <= set(s.resources)
            )
            continue
        source = [c for c in s.conditions if c[0] == "StringEquals" and c[1] == "aws:sourcearn"]
        if s.principals != [("Service", ["cloudfront.amazonaws.com"])] or len(source) != 1 or len(source[0][2]) != 1:
            problems.append(
                f"{place}: statement {s.sid or '?'} allows {s.principals} {s.actions}; only CloudFront, "
                "limited by aws:SourceArn to one distribution, may be allowed"
            )
            continue
        if s.actions != ["s3:GetObject"] or s.resources != [f"{arn}/{location}/*"]:
            problems.append(
                f"{place}: statement {s.sid or '?'} lets CloudFront {s.actions} on {s.resources}; "
                f"expected s3:GetObject on {arn}/{location}/* only"
            )
        readers.append(source[0][2][0])
    if not tls_only:
        problems.append(
            f"{place}: no Deny of s3:* on the bucket and its objects for every principal when "
            "aws:SecureTransport is false (TLS-only)"
        )
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
    behaviours = [
        (b, s)
        for b, s in blocks(inst, dist, "ordered_cache_behavior", scope)
        if inst.attr(b, "path_pattern", scope=s) == f"/{location}/*"
    ]
    problems = [] if host else [f"{place} [{ref.key}]: aliases = {aliases!r}, expected one public host"]
    if len(behaviours) != 1:
        return host, problems + [
            (
                f"{place} [{ref.key}]: {len(behaviours)} ordered_cache_behavior for /{location}/*, "
                "expected 1 (media URLs would reach the ALB)"
            )
        ]
    behaviour, bscope = behaviours[0]
    origin = origins.get(symbolic(inst, behaviour.value("target_origin_id"), bscope))
    if origin is None or symbolic(inst, origin[0].value("domain_name"), origin[1]) != bucket.regional_domain:
        problems.append(
            f"{place} [{ref.key}]: /{location}/* does not go to an origin whose domain_name is {bucket.regional_domain}"
        )
    elif not _signed_by_oac(root, symbolic(inst, origin[0].value("origin_access_control_id"), origin[1])):
        problems.append(
            f"{place} [{ref.key}]: the media origin has no S3 origin access control signing "
            "always with sigv4 (the private bucket would answer 403)"
        )
    cache = resolve(root, symbolic(inst, behaviour.value("cache_policy_id"), bscope))
    cache_name = inst.attr(cache.block, "name") if cache else None
    if cache_name != "Managed-CachingOptimized":
        problems.append(f"{place} [{ref.key}]: /{location}/* cache policy is {cache_name!r}, expected Managed-CachingOptimized")
    headers = resolve(root, symbolic(inst, behaviour.value("response_headers_policy_id"), bscope))
    security = headers.block.child("security_headers_config") if headers else None
    csp = security.child("content_security_policy") if security else None
    policy = headers.inst.attr(csp, "content_security_policy") if headers and csp else None
    if not (security and security.child("strict_transport_security") and isinstance(policy, str) and "sandbox" in policy):
        problems.append(
            f"{place} [{ref.key}]: /{location}/* responses get no HSTS and sandboxing Content-Security-Policy "
            f"(CSP {policy!r}): an uploaded SVG or HTML opened directly would run script on the host"
        )
    methods = inst.attr(behaviour, "allowed_methods", scope=bscope)
    if not isinstance(methods, list) or set(methods) - {"GET", "HEAD", "OPTIONS"}:
        problems.append(f"{place} [{ref.key}]: /{location}/* allows {methods!r}; media is read-only at the edge")
    return host, problems


def _signed_by_oac(root: Instance, value: Any) -> bool:
    ref = resolve(root, value)
    if ref is None or ref.block.labels[0] != "aws_cloudfront_origin_access_control":
        return False
    get = lambda a: ref.inst.attr(ref.block, a)  # noqa: E731
    return (get("origin_access_control_origin_type"), get("signing_behavior"), get("signing_protocol")) == (
        "s3",
        "always",
        "sigv4",
    )


def role_problems(
    root: Instance,
    bucket: MediaBucket,
    role_arn: str,
    accounts: list[str],
    location: str,
    env: str,
    account: str,
    private: MediaBucket | None = None,
) -> list[str]:
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
        problems.append(
            f"{place}: the trust policy does not admit {missing} (subjects: {subs}); their pods "
            "would get AccessDenied from sts:AssumeRoleWithWebIdentity"
        )
    own = "{" + f"{inst.directory.name}: aws_iam_role.{role.labels[1]}"
    inline = [b for b in inst.resources("aws_iam_role_policy") if str(symbolic(inst, b.value("role"))).startswith(own + ".")]
    if not inline:
        return problems + [f"{place}: no inline policy: the role cannot write media"]
    allowed: set[str] = set()
    for pol in inline:
        found = policy_document(inst, pol, "policy", _scope_for(inst, pol, None) or {})
        for s in statements(inst, *found) if found else []:
            problems += _media_statement(where(inst, pol), s, bucket.arn, location, private.arn if private else None)
            on_private = private is not None and _private_statement(s, private.arn, location)
            allowed.update(s.actions if s.effect == "Allow" and not on_private else [])
    if not {"s3:PutObject", "s3:GetObject"} <= allowed:
        problems.append(f"{place}: the role may not {sorted({'s3:PutObject', 's3:GetObject'} - allowed)} media objects")
    return problems


def _media_statement(place: str, s: Statement, arn: str, location: str, private: str | None = None) -> list[str]:
    if s.effect != "Allow":
        return []
    if private is not None and _private_statement(s, private, location):
        return []
    objects = f"{arn}/{location}/*"
    if set(s.actions) <= OBJECT_ACTIONS and s.resources == [objects]:
        return []
    prefixes = [
        v for test, var, vals in s.conditions if test in ("StringLike", "StringEquals") and var == "s3:prefix" for v in vals
    ]
    if (
        s.actions == ["s3:ListBucket"]
        and s.resources == [arn]
        and prefixes
        and all(p.startswith(f"{location}/") for p in prefixes)
    ):
        return []
    return [
        (
            f"{place}: statement {s.sid or '?'} allows {s.actions} on {s.resources} (s3:prefix {prefixes}); the media "
            f"role may only use {sorted(OBJECT_ACTIONS)} on {objects} and s3:ListBucket on {arn} under {location}/"
        )
    ]


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
                problems.append(
                    f"Deployment {name} ({env}) container {container['name']}: no {missing}; Saleor would "
                    "store uploads on the pod's (read-only) filesystem"
                )
            settings[f"{name}/{container['name']}"] = {k: values.get(k, "") for k in MEDIA_ENV}
        sa = accounts.get(spec.get("serviceAccountName", ""), {})
        if not ((sa.get("metadata") or {}).get("annotations") or {}).get(ROLE_ANNOTATION):
            problems.append(
                f"Deployment {name} ({env}): service account {spec.get('serviceAccountName')!r} has no "
                f"{ROLE_ANNOTATION}: boto3 finds no credentials"
            )
    if problems or not settings:
        return problems
    distinct = {tuple(v.values()) for v in settings.values()}
    if len(distinct) > 1:
        return [f"{env}: api and worker disagree on the media settings: {settings}"]
    want = dict(zip(MEDIA_ENV, distinct.pop(), strict=False))
    location = want["AWS_LOCATION"]
    if want["AWS_MEDIA_BUCKET_NAME"] != bucket.name:
        problems.append(
            f"{env}: AWS_MEDIA_BUCKET_NAME = {want['AWS_MEDIA_BUCKET_NAME']!r}, Terraform makes "
            f"{bucket.name!r} ({where(bucket.ref.inst, bucket.ref.block)})"
        )
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
        problems.append(
            f"{env}: AWS_MEDIA_CUSTOM_DOMAIN = {want['AWS_MEDIA_CUSTOM_DOMAIN']!r}, but the media bucket "
            f"is read by the distribution(s) of {hosts}: media URLs would not reach it"
        )
    arns: dict[str, list[str]] = {}
    for name in MEDIA_WORKLOADS:
        sa_name = next(d for d in docs if d.get("kind") == "Deployment" and d["metadata"]["name"] == name)["spec"]["template"][
            "spec"
        ]["serviceAccountName"]
        sa = accounts[sa_name]
        namespace = sa["metadata"].get("namespace", "default")
        arns.setdefault(sa["metadata"]["annotations"][ROLE_ANNOTATION], []).append(f"system:serviceaccount:{namespace}:{sa_name}")
    for arn, subjects in arns.items():
        private, _ = bucket_behind(root, "private_media_bucket", PRIVATE_ENV, account)
        problems += [f"{env}: {p}" for p in role_problems(root, bucket, arn, subjects, location, env, account, private)]
    return problems


# --- Saleor's private storage (webhook payloads) -------------------------------------------------
#
# saleor/saleor@3.23.28 saleor/settings.py: PRIVATE_FILE_STORAGE is Django's FileSystemStorage
# (MEDIA_ROOT, the pod's disk) unless AWS_MEDIA_PRIVATE_BUCKET_NAME is set, then
# saleor.core.storages.S3MediaPrivateStorage: an S3Boto3Storage on that bucket with
# custom_domain None (no public URL), which shares AWS_LOCATION and AWS_S3_REGION_NAME with the
# media storage. saleor/core/models.py stores EventPayload.payload_file there (upload_to
# "payloads"): the api writes, the worker reads and deletes (saleor/core/tasks.py), so a disk
# is wrong twice (read-only here, and not shared between pods).

PRIVATE_ENV = "AWS_MEDIA_PRIVATE_BUCKET_NAME"
KMS_ACTIONS = {"kms:Decrypt", "kms:GenerateDataKey"}
PRIVATE_SUBJECTS = tuple(f"system:serviceaccount:saleor:{name}" for name in MEDIA_WORKLOADS)


def _private_statement(s: Statement, arn: str, location: str) -> bool:
    """One of the three statement shapes the Saleor role may have on the private bucket."""
    if set(s.actions) <= OBJECT_ACTIONS and s.resources == [f"{arn}/{location}/*"]:
        return True
    prefixes = [
        v for test, var, vals in s.conditions if test in ("StringLike", "StringEquals") and var == "s3:prefix" for v in vals
    ]
    if (
        s.actions == ["s3:ListBucket"]
        and s.resources == [arn]
        and prefixes
        and all(p.startswith(f"{location}/") for p in prefixes)
    ):
        return True
    return _kms_through_s3(s, arn)


def _kms_through_s3(s: Statement, arn: str) -> bool:
    """The env key, usable only by S3 and only for this bucket (SSE-KMS with a bucket key)."""
    via = [vals for test, var, vals in s.conditions if test == "StringEquals" and var == "kms:viaservice"]
    context = [vals for test, var, vals in s.conditions if test == "StringEquals" and var == "kms:encryptioncontext:aws:s3:arn"]
    return (
        set(s.actions) <= KMS_ACTIONS
        and len(s.resources) == 1
        and len(via) == 1
        and len(via[0]) == 1
        and via[0][0].startswith("s3.")
        and via[0][0].endswith(".amazonaws.com")
        and context == [[arn]]
    )


def _attached(bucket: MediaBucket, tf_type: str) -> list[tuple[Block, dict[str, Any]]]:
    inst = bucket.ref.inst
    own = "{" + f"{inst.directory.name}: aws_s3_bucket.{bucket.ref.block.labels[1]}.id" + "}"
    return [
        (b, s)
        for b in inst.resources(tf_type)
        for s in (_scope_for(inst, b, None) or {},)
        if symbolic(inst, b.value("bucket")) == own
    ]


def private_bucket_problems(root: Instance, bucket: MediaBucket) -> tuple[str | None, list[str]]:
    """Private (no reader, public access blocked), KMS-encrypted, versioned, TLS-only, logged; not a CloudFront origin.

    Returns the KMS key token the objects are encrypted with.
    """
    inst, place = bucket.ref.inst, where(bucket.ref.inst, bucket.ref.block)
    problems, key = [], None
    sse = _attached(bucket, "aws_s3_bucket_server_side_encryption_configuration")
    rules = [
        (d, s)
        for b, s in sse
        for r, rs in blocks(inst, b, "rule", s)
        for d, _ in blocks(inst, r, "apply_server_side_encryption_by_default", rs)
    ]
    if len(rules) != 1 or inst.attr(rules[0][0], "sse_algorithm", scope=rules[0][1]) not in ("aws:kms", "aws:kms:dsse"):
        problems.append(f"{place}: {bucket.name} is not encrypted with a KMS key by default (SSE-KMS)")
    else:
        key = symbolic(inst, rules[0][0].value("kms_master_key_id"), rules[0][1])
    versioning = _attached(bucket, "aws_s3_bucket_versioning")
    if not any(
        inst.attr(c, "status", scope=s) == "Enabled"
        for b, s in versioning
        for c, _ in blocks(inst, b, "versioning_configuration", s)
    ):
        problems.append(f"{place}: {bucket.name} is not versioned")
    blocked = _attached(bucket, "aws_s3_bucket_public_access_block")
    flags = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    if len(blocked) != 1 or not all(inst.attr(blocked[0][0], f, scope=blocked[0][1]) is True for f in flags):
        problems.append(f"{place}: {bucket.name} has no public access block with all four settings true")
    logging = _attached(bucket, "aws_s3_bucket_logging")
    if len(logging) != 1 or not logging[0][0].value("target_bucket"):
        problems.append(f"{place}: {bucket.name} has no server access logging")
    policies = _attached(bucket, "aws_s3_bucket_policy")
    found = policy_document(inst, policies[0][0], "policy", {}) if len(policies) == 1 else None
    if found is None:
        problems.append(f"{place}: {bucket.name} has no bucket policy of this module (the TLS-only Deny)")
    else:
        tls_only = False
        for s in statements(inst, *found):
            if s.effect != "Deny":
                problems.append(
                    f"{where(inst, policies[0][0])}: statement {s.sid or '?'} allows {s.principals} {s.actions}; "
                    "the private bucket's policy grants nothing (IAM gives the Saleor role its access)"
                )
            tls_only |= (
                s.effect == "Deny"
                and s.actions == ["s3:*"]
                and s.principals == [("*", ["*"])]
                and ("Bool", "aws:securetransport", ["false"]) in s.conditions
                and {bucket.arn, f"{bucket.arn}/*"} <= set(s.resources)
            )
        if not tls_only:
            problems.append(
                f"{where(inst, policies[0][0])}: no Deny of s3:* on the bucket and its objects for every "
                "principal when aws:SecureTransport is false (TLS-only)"
            )
    for dinst, dist, scope in instances_of(root, "aws_cloudfront_distribution"):
        for origin, oscope in blocks(dinst, dist, "origin", scope):
            if symbolic(dinst, origin.value("domain_name"), oscope) == bucket.regional_domain:
                problems.append(
                    f"{where(dinst, dist)}: an origin is the private bucket {bucket.name}; private files "
                    "must not be behind CloudFront"
                )
    return key, problems


def private_access_problems(root: Instance, bucket: MediaBucket, key: str | None, role_arn: str, location: str) -> list[str]:
    """Only the role the api and worker accounts carry reaches the bucket, with the object, list and key grants it needs."""
    problems, grants = [], []
    role_name = role_arn.rsplit("/", 1)[-1]
    for inst, role, scope in instances_of(root, "aws_iam_role"):
        trust = (
            policy_document(inst, role, "assume_role_policy", scope)
            if inst.attr(role, "name", scope=scope) == role_name
            else None
        )
        subs = {
            v
            for s in (statements(inst, *trust) if trust else [])
            for _, var, vals in s.conditions
            if s.effect == "Allow" and var.endswith(":sub")
            for v in vals
        }
        if trust and subs - set(PRIVATE_SUBJECTS):
            problems.append(
                f"{where(inst, role)}: the trust policy also admits {sorted(subs - set(PRIVATE_SUBJECTS))}; only "
                "saleor-api and saleor-worker may reach the private bucket"
            )
    for inst, pol, scope in instances_of(root, "aws_iam_role_policy"):
        found = policy_document(inst, pol, "policy", scope)
        for s in statements(inst, *found) if found else []:
            if s.effect != "Allow" or not any(
                bucket.arn in str(r) for r in s.resources + [v for c in s.conditions for v in c[2]]
            ):
                continue
            role = resolve(root, symbolic(inst, pol.value("role"), scope))
            name = role.inst.attr(role.block, "name", scope=_scope_for(role.inst, role.block, role.key) or {}) if role else None
            if name != role_name:
                problems.append(
                    f"{where(inst, pol)}: statement {s.sid or '?'} gives role {name!r} {s.actions} on the private "
                    f"bucket; only {role_name} (saleor-api, saleor-worker) may reach it"
                )
            elif not _private_statement(s, bucket.arn, location):
                problems.append(
                    f"{where(inst, pol)}: statement {s.sid or '?'} allows {s.actions} on {s.resources}; the role "
                    f"may only use {sorted(OBJECT_ACTIONS)} on {bucket.arn}/{location}/*, s3:ListBucket under "
                    f"{location}/ and the bucket's key through S3"
                )
            else:
                grants.append(s)
    actions = {a for s in grants if not _kms_through_s3(s, bucket.arn) for a in s.actions}
    if not {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"} <= actions:
        problems.append(
            f"{role_name}: may not {sorted(OBJECT_ACTIONS - actions)} private objects under {location}/ "
            "(the api writes webhook payloads, the worker reads and deletes them)"
        )
    kms = [s for s in grants if _kms_through_s3(s, bucket.arn)]
    if key is not None and not any(s.resources == [key] and set(s.actions) >= KMS_ACTIONS for s in kms):
        problems.append(
            f"{role_name}: may not kms:Decrypt and kms:GenerateDataKey with {key} through S3: every read and "
            "write of the SSE-KMS bucket is denied"
        )
    return problems


def check_private_media(root: Instance, docs: list[dict[str, Any]], env: str, account: str) -> list[str]:
    """The overlay's private bucket setting and what Terraform makes behind it."""
    bucket, problems = bucket_behind(root, "private_media_bucket", PRIVATE_ENV, account)
    values: dict[str, str | None] = {}
    role_arns: set[str] = set()
    accounts = {d["metadata"]["name"]: d for d in docs if d.get("kind") == "ServiceAccount"}
    location = "media"
    for name in MEDIA_WORKLOADS:
        deployment = next((d for d in docs if d.get("kind") == "Deployment" and d["metadata"]["name"] == name), None)
        if deployment is None:
            problems.append(f"Deployment {name} ({env}): not rendered")
            continue
        spec = deployment["spec"]["template"]["spec"]
        for container in spec["containers"]:
            settings = _env(container)
            values[f"{name}/{container['name']}"] = settings.get(PRIVATE_ENV)
            location = settings.get("AWS_LOCATION") or location
            if not settings.get(PRIVATE_ENV):
                problems.append(
                    f"Deployment {name} ({env}) container {container['name']}: no {PRIVATE_ENV}; Saleor 3.23 "
                    "keeps private files (webhook payloads) on the pod's read-only, unshared disk"
                )
        sa = accounts.get(spec.get("serviceAccountName", ""), {})
        arn = ((sa.get("metadata") or {}).get("annotations") or {}).get(ROLE_ANNOTATION)
        if arn:
            role_arns.add(arn)
    if bucket is None:
        return problems
    for where_, value in values.items():
        if value and value != bucket.name:
            problems.append(
                f"{env}: {where_} {PRIVATE_ENV} = {value!r}, Terraform makes {bucket.name!r} "
                f"({where(bucket.ref.inst, bucket.ref.block)})"
            )
    media, _ = media_bucket(root, account)
    if media is not None and media.name == bucket.name:
        problems.append(f"{env}: the private bucket is the media bucket, which CloudFront serves")
    key, found = private_bucket_problems(root, bucket)
    problems += found
    if len(role_arns) != 1:
        return problems + [f"{env}: saleor-api and saleor-worker carry roles {sorted(role_arns)}, expected one"]
    return problems + [f"{env}: {p}" for p in private_access_problems(root, bucket, key, role_arns.pop(), location)]
