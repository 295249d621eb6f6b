"""Phase 5: register an environment's EKS cluster with Argo CD on MGMT.

The registration is one Secret in ``argocd`` (docs/architecture.md §5): the cluster's name,
endpoint and an ``awsAuthConfig`` naming the env's deployer role, which Argo CD's IRSA role
assumes — no kubeconfig, no ``argocd cluster add``, no exec plugin (argo-cd #13557). Its labels
select the add-ons, its annotations carry the Terraform facts the add-on ApplicationSets need.

Whether Argo CD itself can reach the cluster with that role cannot be proven from here (it
needs the manager role's credentials); what can be is checked: the Secret reads back as
written, its config parses, the CA is a PEM certificate, the role ARN is the env's deployer
role, and the cluster's API answers ``/version`` to kyeol's own token.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import ssl
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runbook.errors import PermanentError, Unavailable
from runbook.step import Change, CheckResult, Plan, Step, StepContext
from steps.wiring.config import ADDONS, ARGOCD_NAMESPACE, EnvConfig
from steps.wiring.services import Services

if TYPE_CHECKING:
    from steps.adapters.kube import KubeClient

_ROLE_ARN = re.compile(r"^arn:aws(?:-[a-z]+)*:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})$")
# Terraform outputs the Secret is made of (an env root's outputs, docs/architecture.md §4).
INFRA_OUTPUTS = (
    "cluster_name",
    "cluster_endpoint",
    "cluster_certificate_authority_data",
    "argocd_deployer_role_arn",
    "vpc_id",
    "hosted_zone_id",
    "lbc_role_arn",
    "external_dns_role_arn",
    "external_secrets_role_arn",
    "cluster_autoscaler_role_arn",
)


def secret_name(env: EnvConfig) -> str:
    return f"cluster-{env.cluster_name}"


def cluster_config(cluster_name: str, role_arn: str, ca_data: str) -> str:
    """The Secret's ``config``: exactly the JSON of docs/architecture.md §5."""
    return json.dumps(
        {
            "awsAuthConfig": {"clusterName": cluster_name, "roleARN": role_arn},
            "tlsClientConfig": {"insecure": False, "caData": ca_data},
        }
    )


def cluster_secret(env: EnvConfig, infra: Mapping[str, Any]) -> dict[str, Any]:
    """The Argo CD cluster Secret for ``env`` from its infra outputs."""
    role_arn = str(infra["argocd_deployer_role_arn"])
    match = _ROLE_ARN.match(role_arn)
    account = env.account_id or (match.group(1) if match else "")
    labels = {
        "argocd.argoproj.io/secret-type": "cluster",
        "kyeol.io/env": env.name,
        "kyeol.io/cluster": env.cluster_name,
        **{f"kyeol.io/addon-{addon}": "true" for addon in ADDONS},
    }
    annotations = {
        "kyeol.io/aws-region": str(infra.get("region") or env.region),
        "kyeol.io/aws-account-id": account,
        "kyeol.io/vpc-id": str(infra["vpc_id"]),
        "kyeol.io/hosted-zone-id": str(infra["hosted_zone_id"]),
        "kyeol.io/lbc-role-arn": str(infra["lbc_role_arn"]),
        "kyeol.io/external-dns-role-arn": str(infra["external_dns_role_arn"]),
        "kyeol.io/external-secrets-role-arn": str(infra["external_secrets_role_arn"]),
        "kyeol.io/cluster-autoscaler-role-arn": str(infra["cluster_autoscaler_role_arn"]),
        # ExternalDNS owns only the origin names (the public ones are CloudFront aliases).
        "kyeol.io/domain-filters": ",".join(env.origin_hosts),
        "kyeol.io/txt-owner-id": env.txt_owner_id,
    }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": secret_name(env), "namespace": ARGOCD_NAMESPACE, "labels": labels, "annotations": annotations},
        "type": "Opaque",
        "stringData": {
            "name": env.cluster_name,
            "server": str(infra["cluster_endpoint"]),
            "config": cluster_config(env.cluster_name, role_arn, str(infra["cluster_certificate_authority_data"])),
        },
    }


def decoded_data(secret: Mapping[str, Any]) -> dict[str, str]:
    """A stored Secret's ``data`` decoded (the API keeps ``stringData`` as base64 ``data``)."""
    out: dict[str, str] = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            out[key] = base64.b64decode(value).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            out[key] = "<not UTF-8>"
    return out


def secret_differences(live: Mapping[str, Any] | None, wanted: Mapping[str, Any]) -> list[str]:
    """How the stored Secret differs from the wanted one ([] when it matches)."""
    if live is None:
        return ["the Secret does not exist"]
    found: list[str] = []
    if live.get("type", "Opaque") != wanted["type"]:
        found.append(f"type is {live.get('type')}")
    data = decoded_data(live)
    for key, value in wanted["stringData"].items():
        if data.get(key) != value:
            found.append(f"data.{key} differs" if key in data else f"data.{key} is missing")
    for key in sorted(set(data) - set(wanted["stringData"])):
        found.append(f"unexpected data.{key}")
    live_meta = live.get("metadata") or {}
    for section in ("labels", "annotations"):
        have = live_meta.get(section) or {}
        for key, value in wanted["metadata"][section].items():
            if have.get(key) != value:
                found.append(f"{section[:-1]} {key} is {have.get(key)!r}, want {value!r}")
    return found


def verify_registration(env: EnvConfig, secret: Mapping[str, Any]) -> dict[str, str]:
    """What can be proven offline about a stored cluster Secret; raises PermanentError otherwise."""
    data = decoded_data(secret)
    where = f"Secret {ARGOCD_NAMESPACE}/{secret_name(env)}"
    try:
        config = json.loads(data.get("config", ""))
        role_arn = config["awsAuthConfig"]["roleARN"]
        cluster = config["awsAuthConfig"]["clusterName"]
        ca_data = config["tlsClientConfig"]["caData"]
        insecure = config["tlsClientConfig"].get("insecure", False)
    except (ValueError, KeyError, TypeError) as exc:
        raise PermanentError(f"{where}: config is not the awsAuthConfig/tlsClientConfig JSON Argo CD reads ({exc})") from None
    if cluster != env.cluster_name or data.get("name") != env.cluster_name:
        raise PermanentError(f"{where} names cluster {cluster!r}/{data.get('name')!r}, not {env.cluster_name!r}")
    if insecure is not False:
        raise PermanentError(f"{where} turns TLS verification off", hint="Argo CD must verify the cluster's certificate")
    match = _ROLE_ARN.match(str(role_arn))
    wanted_role = env.role_name("argocd-deployer")
    if not match or match.group(2) != wanted_role:
        raise PermanentError(
            f"{where}: roleARN {role_arn!r} is not the ARN of role {wanted_role}",
            hint=f"re-apply {env.name}.infra: its argocd_deployer_role_arn output should name {wanted_role}",
        )
    if env.account_id and match.group(1) != env.account_id:
        raise PermanentError(f"{where}: roleARN is in account {match.group(1)}, {env.name} is account {env.account_id}")
    try:
        pem = base64.b64decode(ca_data, validate=True).decode("ascii")
        first = pem[pem.index("-----BEGIN CERTIFICATE-----") : pem.index("-----END CERTIFICATE-----") + 25]
        ssl.PEM_cert_to_DER_cert(first)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise PermanentError(
            f"{where}: caData is not a base64 PEM certificate ({exc})",
            hint=f"re-apply {env.name}.infra so cluster_certificate_authority_data is recorded",
        ) from None
    server = data.get("server", "")
    if not server.startswith("https://"):
        raise PermanentError(f"{where}: server {server!r} is not an https:// endpoint")
    return {"role_arn": str(role_arn), "server": server}


class RegisterStep(Step):
    """The Argo CD cluster Secret of one environment, server-side applied on MGMT."""

    phase = 5
    max_attempts = 3
    retry_budget_s = 600.0  # transient errors: retried for up to 10 minutes (issue 10)
    timeout_s = 600.0
    estimate_s = 30.0

    def __init__(self, services: Services, env: EnvConfig) -> None:
        self.services = services
        self.env = env
        self.id = f"{env.name}.register"
        self.title = f"Register {env.cluster_name} with Argo CD"
        self.needs = ("argocd", f"{env.name}.infra")
        self.scope = env.name
        # Registered again after a `kyeol destroy`: the teardown's record no longer holds.
        self.undoes = (f"{env.name}.deregister",)

    def inputs(self) -> Any:
        env = self.env
        return {
            "secret": f"{ARGOCD_NAMESPACE}/{secret_name(env)}",
            "cluster": env.cluster_name,
            "account": env.account_id,
            "region": env.region,
            "addons": list(ADDONS),
            "origin_hosts": list(env.origin_hosts),
        }

    def _infra(self, ctx: StepContext) -> dict[str, Any]:
        step = f"{self.env.name}.infra"
        infra = {key: ctx.output(step, key) for key in INFRA_OUTPUTS}
        infra["region"] = ctx.outputs_of(step).get("region")
        if infra["cluster_name"] != self.env.cluster_name:
            raise PermanentError(
                f"{step} recorded cluster {infra['cluster_name']!r}, but {self.env.name}'s cluster is {self.env.cluster_name!r}",
                hint=f"re-apply {step}; the names come from kyeol.toml",
            )
        return infra

    def _mgmt(self, ctx: StepContext) -> KubeClient:
        return self.services.kube(ctx.outputs_of("mgmt.infra"))

    def _live(self, ctx: StepContext) -> dict[str, Any] | None:
        return self._mgmt(ctx).get("v1", "Secret", secret_name(self.env), ARGOCD_NAMESPACE)

    def check(self, ctx: StepContext) -> CheckResult:
        wanted = cluster_secret(self.env, self._infra(ctx))
        differences = secret_differences(self._live(ctx), wanted)
        if differences:
            return CheckResult(False, "; ".join(differences))
        return CheckResult(
            True, "the cluster Secret is registered as wanted", {"cluster_secret": f"{ARGOCD_NAMESPACE}/{secret_name(self.env)}"}
        )

    def plan(self, ctx: StepContext) -> Plan:
        target = f"Secret {ARGOCD_NAMESPACE}/{secret_name(self.env)} on {self.services.config.mgmt.cluster_name}"
        labels = f"labels kyeol.io/env={self.env.name}, {len(ADDONS)} add-on labels; awsAuthConfig role {self.env.role_name('argocd-deployer')}"
        try:
            wanted = cluster_secret(self.env, self._infra(ctx))
        except Unavailable as exc:
            return Plan(
                changes=[Change("create", target, f"server-side apply ({labels})")], notes=[f"not known yet: {exc.message}"]
            )
        try:
            differences = secret_differences(self._live(ctx), wanted)
        except Unavailable as exc:
            return Plan(
                changes=[Change("create", target, f"server-side apply ({labels})")], notes=[f"could not read MGMT: {exc.message}"]
            )
        if not differences:
            return Plan()
        action = "create" if differences == ["the Secret does not exist"] else "update"
        return Plan(changes=[Change(action, target, "server-side apply: " + "; ".join(differences))])

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        wanted = cluster_secret(self.env, self._infra(ctx))
        live = self._live(ctx)
        self._mgmt(ctx).apply(wanted)
        ctx.changed(
            "create" if live is None else "update",
            f"Secret {ARGOCD_NAMESPACE}/{secret_name(self.env)} on {self.services.config.mgmt.cluster_name}",
            "server-side apply",
        )
        return {"cluster_secret": f"{ARGOCD_NAMESPACE}/{secret_name(self.env)}"}

    def verify(self, ctx: StepContext) -> dict[str, Any]:
        live = self._live(ctx)
        wanted = cluster_secret(self.env, self._infra(ctx))
        differences = secret_differences(live, wanted)
        if differences:
            raise PermanentError(
                f"the cluster Secret read back differs from what was applied: {'; '.join(differences)}",
                hint="another controller or person changes it; find who (kubectl get secret -o yaml --show-managed-fields)",
            )
        assert live is not None
        facts = verify_registration(self.env, live)
        ctx.waiting_for(f"{self.env.cluster_name} API to answer /version")
        version = self.services.kube(ctx.outputs_of(f"{self.env.name}.infra")).server_version()
        return {
            "cluster_secret": f"{ARGOCD_NAMESPACE}/{secret_name(self.env)}",
            "server": facts["server"],
            "deployer_role_arn": facts["role_arn"],
            "kubernetes_version": str(version.get("gitVersion") or ""),
        }


def build(services: Services, env: EnvConfig) -> list[Step]:
    return [RegisterStep(services, env)] if env.is_target else []
