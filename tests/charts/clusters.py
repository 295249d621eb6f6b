"""Facts about each cluster taken from the Terraform tree (tests/infra's HCL evaluator).

* the Kubernetes version the root pins (``kubernetes_version``), the renders' capabilities;
* the IRSA roles and the service accounts their trust policies admit
  (``sts:AssumeRoleWithWebIdentity`` with ``<issuer>:sub`` = ``system:serviceaccount:NS:NAME``);
* the infra outputs phase 5 turns into the cluster Secret: role ARNs from the roles Terraform
  makes (``<x>_role_arn`` is the role ``env.role_name(x)``, which must exist), and stand-in values
  for what only exists after apply (VPC id, zone id, endpoint, CA).
"""

from __future__ import annotations

import base64
import functools
from pathlib import Path
from typing import Any

from steps.wiring.config import EnvConfig
from tests.infra import media_contract
from tests.infra.conformance import instances_of
from tests.infra.evaluate import Instance, Unknown, instantiate

INFRA = Path(__file__).resolve().parents[2] / "kyeol-infra-terraform"
SUBJECT_PREFIX = "system:serviceaccount:"
# Known only after apply: what the tests give phase 5 instead (shapes as AWS prints them).
AFTER_APPLY = {
    "vpc_id": "vpc-0a1b2c3d4e5f60718",
    "hosted_zone_id": "Z0123456789ABCDEFGHIJ",
}


@functools.cache
def root(env: str) -> Instance:
    return instantiate(INFRA / "envs" / env)


def kubernetes_version(env: str) -> str:
    version = root(env).variables.get("kubernetes_version")
    if not isinstance(version, str) or isinstance(version, Unknown):
        raise AssertionError(f"kyeol-infra-terraform/envs/{env} pins no kubernetes_version ({version!r})")
    return version


@functools.cache
def irsa_roles(env: str) -> dict[str, frozenset[tuple[str, str]]]:
    """Role name → the (namespace, service account) pairs its trust policy admits (IRSA roles only)."""
    found: dict[str, frozenset[tuple[str, str]]] = {}
    top = root(env)
    for inst, block, scope in instances_of(top, "aws_iam_role"):
        name = inst.attr(block, "name", scope=scope)
        trust = media_contract.policy_document(inst, block, "assume_role_policy", scope)
        subjects: set[tuple[str, str]] = set()
        for statement in media_contract.statements(inst, *trust) if trust else []:
            if statement.effect != "Allow" or "sts:AssumeRoleWithWebIdentity" not in statement.actions:
                continue
            for test, variable, values in statement.conditions:
                if test == "StringEquals" and variable.endswith(":sub"):
                    for value in values:
                        if isinstance(value, str) and value.startswith(SUBJECT_PREFIX):
                            namespace, _, account = value[len(SUBJECT_PREFIX) :].partition(":")
                            subjects.add((namespace, account))
        if subjects and isinstance(name, str):
            found[name] = frozenset(subjects)
    return found


def role_arn(env: EnvConfig, role_name: str) -> str:
    return f"arn:aws:iam::{env.account_id}:role/{role_name}"


def infra_outputs(env: EnvConfig, keys: tuple[str, ...]) -> dict[str, Any]:
    """The ``<env>.infra`` outputs phase 5 reads (``keys``: phase5_register.INFRA_OUTPUTS)."""
    roles = {inst.attr(b, "name", scope=s) for inst, b, s in instances_of(root(env.name), "aws_iam_role")}
    outputs: dict[str, Any] = {"region": env.region}
    for key in keys:
        if key == "cluster_name":
            outputs[key] = env.cluster_name
        elif key == "cluster_endpoint":
            outputs[key] = f"https://0123456789ABCDEF0123456789ABCDEF.gr7.{env.region}.eks.amazonaws.com"
        elif key == "cluster_certificate_authority_data":
            outputs[key] = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").decode()
        elif key.endswith("_role_arn"):
            name = env.role_name(key[: -len("_role_arn")].replace("_", "-"))
            if name not in roles:
                raise AssertionError(
                    f"phase 5 reads {key}, but envs/{env.name} makes no role {name} (roles: {sorted(map(str, roles))})"
                )
            outputs[key] = role_arn(env, name)
        else:
            outputs[key] = AFTER_APPLY.get(key, f"{key.replace('_', '-')}-after-apply")
    return outputs
