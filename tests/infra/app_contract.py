"""Does the Terraform tree give kyeol-app-gitops what it relies on? Checks across the two trees.

Neither failure shows up where it is made. A NetworkPolicy on a cluster whose CNI does not
enforce policies is accepted by the API server and then ignored, so Saleor's default deny
silently allows everything. An ExternalSecret whose template reads a key that the Secrets
Manager JSON lacks only fails in the cluster (SecretSyncedError), after a deploy. The checks
here read both sides offline: the vpc-cni add-on's configuration as Terraform evaluates it,
and the JSON keys Terraform writes into each `<prefix><env>-saleor-*` secret compared with the
`{{ .key }}` references of the rendered ExternalSecrets. A third check keeps the database
password where both the instance and the app can get it without it ever reaching the state.
Each function returns a list of problem strings, each naming the file and the object.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from tests.infra.conformance import PREFIX, instances_of, traced, where
from tests.infra.evaluate import Instance, Unknown
from tests.infra.hcl import Block, references

# --- NetworkPolicy enforcement ------------------------------------------------------------------


def check_network_policy_enforced(root: Instance, env: str) -> list[str]:
    """The vpc-cni add-on runs its network policy agent (and keeps prefix delegation on)."""
    problems: list[str] = []
    found = 0
    for inst, block, scope in instances_of(root, "aws_eks_addon"):
        if inst.attr(block, "addon_name", scope=scope) != "vpc-cni":
            continue
        found += 1
        place = where(inst, block)
        raw = inst.attr(block, "configuration_values", scope=scope)
        if p := traced(raw, "configuration_values", place):
            problems.append(p)
            continue
        try:
            config = json.loads(raw) if isinstance(raw, str) else None
        except json.JSONDecodeError as exc:
            problems.append(f"{place}: configuration_values is not JSON ({exc})")
            continue
        if not isinstance(config, dict):
            problems.append(
                f'{place}: configuration_values = {raw!r}; vpc-cni needs a JSON object with enableNetworkPolicy = "true"'
            )
            continue
        if config.get("enableNetworkPolicy") != "true":
            problems.append(
                f"{place}: vpc-cni enableNetworkPolicy = {config.get('enableNetworkPolicy')!r}, "
                f'expected "true": without the network policy agent the NetworkPolicies of the '
                f"GitOps trees are accepted and not enforced in {env}"
            )
        prefix_delegation = (config.get("env") or {}).get("ENABLE_PREFIX_DELEGATION")
        if prefix_delegation != "true":
            problems.append(
                f"{place}: vpc-cni env.ENABLE_PREFIX_DELEGATION = {prefix_delegation!r}, expected "
                f'"true" (a t3.medium holds 17 pods without it)'
            )
    if not found:
        problems.append(f"{root.directory}: no vpc-cni aws_eks_addon in {env}, so nothing enforces NetworkPolicies")
    return problems


# --- What Terraform writes into Secrets Manager -------------------------------------------------


@dataclass(frozen=True)
class WrittenSecret:
    """One Secrets Manager secret and the version Terraform writes into it."""

    name: str
    place: str  # where the secret version is written
    instance: Instance
    version: Block | None  # the aws_secretsmanager_secret_version, if any
    content_arg: str | None  # "secret_string_wo" or "secret_string"
    document: dict[str, Any] | Unknown | None  # the JSON object, values evaluated (Unknown where only known at apply)


def _json_object(inst: Instance, raw: Any, scope: dict[str, Any]) -> dict[str, Any] | Unknown:
    """``"${jsonencode({…})}"`` → the object, its values evaluated but not encoded (they may be Unknown)."""
    found = references(raw) if isinstance(raw, str) else []
    if len(found) != 1 or raw != "${" + found[0] + "}" or not re.fullmatch(r"jsonencode\((.*)\)", found[0], re.S):
        return Unknown(f"{raw!r} is not jsonencode({{…}})")
    value = inst.expression(found[0][len("jsonencode(") : -1], scope)
    return value if isinstance(value, (dict, Unknown)) else Unknown(f"jsonencode of {value!r}, not an object")


def written_secrets(root: Instance) -> dict[str, WrittenSecret]:
    """Every secret whose name Terraform knows, keyed by name, with the JSON document it writes."""
    out: dict[str, WrittenSecret] = {}
    for inst, block, scope in instances_of(root, "aws_secretsmanager_secret"):
        name = inst.attr(block, "name", scope=scope)
        if not isinstance(name, str):
            continue
        ref = f"aws_secretsmanager_secret.{block.labels[1]}."
        versions = [
            v
            for v in inst.resources("aws_secretsmanager_secret_version")
            if any(r.startswith(ref) for r in references(v.value("secret_id")))
        ]
        if not versions:
            out[name] = WrittenSecret(name, where(inst, block), inst, None, None, None)
            continue
        version = versions[0]
        arg = next((a for a in ("secret_string_wo", "secret_string") if a in version.attrs), None)
        document = _json_object(inst, version.value(arg), scope) if arg else None
        out[name] = WrittenSecret(name, where(inst, version), inst, version, arg, document)
    return out


# --- ExternalSecrets of the app tree ------------------------------------------------------------

_TEMPLATE_KEY = re.compile(r"\{\{-?\s*\.([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class SecretRead:
    """What one ExternalSecret needs: the remote secrets it extracts and the JSON keys it reads."""

    name: str
    remotes: tuple[str, ...]
    keys: frozenset[str]  # keys its template reads, plus `property` of explicit data entries
    # dataFrom[].rewrite regexps per remote (External Secrets applies them to the extracted keys
    # in order, Go regexp ReplaceAllString: `$1` is a group)
    rewrites: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()

    def keys_of(self, remote: str, written: set[str]) -> set[str]:
        """The keys ``remote`` contributes once its rewrites are applied."""
        keys = set(written)
        for name, rules in self.rewrites:
            if name != remote:
                continue
            for source, target in rules:
                keys = {go_replace_all(source, target, k) for k in keys}
        return keys


def go_replace_all(source: str, target: str, text: str) -> str:
    """Go's ``regexp.ReplaceAllString`` (what External Secrets' rewrite uses): ``$1``/``${1}`` are
    groups, and an empty match right after the previous match is skipped, unlike Python's
    ``re.sub`` (``(.*)`` on ``host`` gives one replacement, not two)."""
    out, last, previous_end = [], 0, -1
    for match in re.finditer(source, text):
        if match.start() == match.end() == previous_end:
            continue
        out.append(text[last : match.start()])
        out.append(re.sub(r"\$\{?(\d+)\}?", lambda g: match.group(int(g.group(1))) or "", target))
        last = previous_end = match.end()
    out.append(text[last:])
    return "".join(out)


def external_secret_reads(docs: list[dict[str, Any]]) -> list[SecretRead]:
    """The ExternalSecrets among rendered manifests, with their remote secrets and template keys."""
    reads = []
    for doc in docs:
        if doc.get("kind") != "ExternalSecret":
            continue
        spec = doc.get("spec") or {}
        remotes = [e["extract"]["key"] for e in spec.get("dataFrom") or [] if "key" in (e.get("extract") or {})]
        rewrites = tuple(
            (
                e["extract"]["key"],
                tuple((r["regexp"]["source"], r["regexp"]["target"]) for r in e.get("rewrite") or [] if "regexp" in r),
            )
            for e in spec.get("dataFrom") or []
            if "key" in (e.get("extract") or {}) and e.get("rewrite")
        )
        keys = set()
        for entry in spec.get("data") or []:
            ref = entry.get("remoteRef") or {}
            remotes.append(ref.get("key", ""))
            if ref.get("property"):
                keys.add(ref["property"])
        template = ((spec.get("target") or {}).get("template") or {}).get("data") or {}
        for text in template.values():
            keys.update(_TEMPLATE_KEY.findall(str(text)))
        reads.append(SecretRead(doc["metadata"]["name"], tuple(dict.fromkeys(remotes)), frozenset(keys), rewrites))
    return reads


def check_external_secret_keys(root: Instance, docs: list[dict[str, Any]], env: str) -> list[str]:
    """Every remote secret an ExternalSecret extracts is written by this env's Terraform, with every key it reads."""
    secrets = written_secrets(root)
    problems = []
    for read in external_secret_reads(docs):
        available: set[str] = set()
        unreadable = len(problems)
        for remote in read.remotes:
            secret = secrets.get(remote)
            if secret is None:
                problems.append(
                    f"ExternalSecret {read.name} ({env}): extracts {remote!r}, which no secret of {root.directory} is named"
                )
                continue
            if secret.version is None:
                problems.append(
                    f"{secret.place}: {remote} is read by ExternalSecret {read.name} ({env}) "
                    "but Terraform writes no version into it"
                )
                continue
            if isinstance(secret.document, Unknown) or secret.document is None:
                problems.append(
                    f"{secret.place}: could not read the JSON keys written into {remote} "
                    f"({secret.document.source if secret.document else 'no secret_string_wo'})"
                )
                continue
            available.update(read.keys_of(remote, set(secret.document)))
        missing = sorted(read.keys - available)
        if missing and len(problems) == unreadable:  # only when every remote could be read
            problems.append(
                f"ExternalSecret {read.name} ({env}) reads {missing} from {list(read.remotes)}, "
                f"which Terraform does not write (keys there: {sorted(available)})"
            )
    return problems


# --- The database password ----------------------------------------------------------------------

_EPHEMERAL = re.compile(r"^[\w-]+: ephemeral\.")


def _ephemeral_source(value: Any) -> str | None:
    """``ephemeral.<type>.<name>.<attr>`` a value comes from, if it is an ephemeral resource's result."""
    return value.source if isinstance(value, Unknown) and _EPHEMERAL.match(value.source) else None


def check_database_password(root: Instance, env: str) -> list[str]:
    """One generated password, never in state, in both the instance and `<prefix><env>-saleor-db`.

    The instance must take it write-only from an ephemeral resource (not RDS's managed secret,
    whose random name and 7-day rotation the app cannot follow; not `password`, which is kept in
    state), and the connection secret must be written write-only with the same value, the same
    user and database, and rotated by the same version input.
    """
    dbs = list(instances_of(root, "aws_db_instance"))
    if len(dbs) != 1:
        return [f"{root.directory}: {len(dbs)} aws_db_instance in {env}, expected exactly 1"]
    inst, block, scope = dbs[0]
    place = where(inst, block)
    problems = []
    if inst.attr(block, "manage_master_user_password", default=False, scope=scope) is not False:
        problems.append(
            f"{place}: manage_master_user_password is on: RDS would keep the password in a secret "
            f"named rds!db-<uuid> (unknown to the GitOps tree) and rotate it under running pods"
        )
    if "password" in block.attrs:
        problems.append(f"{place}: sets `password`, which Terraform keeps in state; use password_wo")
    password = inst.attr(block, "password_wo", scope=scope)
    source = _ephemeral_source(password)
    if source is None:
        problems.append(f"{place}: password_wo = {password!r} does not come from an ephemeral resource")
    if "password_wo_version" not in block.attrs:
        problems.append(f"{place}: no password_wo_version: the password could never be rotated")

    name = f"{PREFIX}{env}-saleor-db"
    secret = written_secrets(root).get(name)
    if secret is None or secret.version is None:
        return problems + [f"{root.directory}: Terraform writes no {name} (the app's ExternalSecret reads it)"]
    doc = secret.document
    if secret.content_arg != "secret_string_wo":
        problems.append(
            f"{secret.place}: {name} is written with {secret.content_arg}, which Terraform keeps in state; use secret_string_wo"
        )
    if not isinstance(doc, dict):
        return problems + [
            (
                f"{secret.place}: could not read the JSON written into {name} "
                f"({doc.source if isinstance(doc, Unknown) else 'nothing written'})"
            )
        ]
    if source is not None and (secret.instance is not inst or _ephemeral_source(doc.get("password")) != source):
        problems.append(
            f"{secret.place}: {name} password = {doc.get('password')!r}, not the value the "
            f"instance gets ({password!r}): the app would log in with another password"
        )
    for key, arg in (("username", "username"), ("dbname", "db_name")):
        want = inst.attr(block, arg, scope=scope)
        if doc.get(key) != want:
            problems.append(f"{secret.place}: {name} {key} = {doc.get(key)!r}, the instance's {arg} is {want!r}")
    versions = (block.value("password_wo_version"), secret.version.value("secret_string_wo_version"))
    if secret.content_arg == "secret_string_wo" and (versions[1] is None or versions[0] != versions[1]):
        problems.append(
            f"{secret.place}: secret_string_wo_version = {versions[1]!r} but password_wo_version = "
            f"{versions[0]!r}: a rotation must write the instance and {name} together"
        )
    return problems
