"""Teardown of one environment (``kyeol destroy --env E``): the deploy's phases in reverse.

Three steps, each undoing what deploy steps built (``undoes``: once a teardown step is done,
the engine resets those records, so a later ``kyeol deploy`` applies them again):

1. ``<env>.drain`` — on MGMT's Argo CD, delete the Saleor Application ``saleor-<env>`` (its
   ``resources-finalizer`` makes Argo CD delete the Ingress while the AWS Load Balancer
   Controller and ExternalDNS still run, so the controller deletes the ALB and ExternalDNS,
   policy ``sync``, the ``origin-*`` records), wait until no ELBv2 load balancer or target
   group tagged ``elbv2.k8s.aws/cluster=<cluster>`` and no origin record is left, then take the
   add-on labels off the cluster Secret, so the add-on ApplicationSets drop
   ``<addon>-<env>``, and wait for those Applications to go. In this order because the
   controller's ALBs, ENIs and security groups are outside Terraform and would keep the VPC
   from being deleted: removing the controller first would orphan them.
2. ``<env>.deregister`` — delete the cluster Secret on MGMT (gone already = done).
3. ``<env>.infra.destroy`` — ``terraform plan -destroy -out`` of ``envs/<env>`` and apply of
   that saved plan; done when the root's state holds nothing.

Only the env is torn down: bootstrap, global and MGMT (ECR, Argo CD) serve every env. The
env's images in MGMT's ECR survive, so ``<env>.images`` stays done (its check still asks ECR
on the next deploy). A protected env (prod) is refused before anything is touched: its
PG-NAT Elastic IP carries ``prevent_destroy`` (the payment gateway allow-lists that address),
so the Terraform destroy could not succeed, and draining first would only take the shop down.
"""

from __future__ import annotations

import functools
from typing import Any

from runbook.errors import OutputUnknown, PermanentError, UsageError
from runbook.step import Change, CheckResult, Plan, Step, StepContext
from runbook.waits import wait_for
from steps.adapters.kube import ARGOCD_API, KubeClient
from steps.adapters.terraform import TerraformError
from steps.phases.phase5_register import secret_name
from steps.phases.phase6_addons import child_names
from steps.phases.terraform_root import TerraformRootStep
from steps.wiring.config import ARGOCD_NAMESPACE, EnvConfig
from steps.wiring.services import Services

LB_CLUSTER_TAG = "elbv2.k8s.aws/cluster"
RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"
ADDON_LABEL_PREFIX = "kyeol.io/addon-"
# Argo CD deletes the Ingress at once; the controller then deletes listeners, the ALB and its
# target groups (~1-3 min; ENIs can take longer to detach).
LOAD_BALANCERS_TIMEOUT_S = 20 * 60.0
ADDONS_TIMEOUT_S = 10 * 60.0


def refuse_protected(env: EnvConfig) -> None:
    """A protected env is never torn down by kyeol: refuse before anything is touched."""
    if not env.protected:
        return
    raise UsageError(
        f"kyeol does not destroy {env.name}: envs/{env.name} keeps its PG-NAT Elastic IP with lifecycle.prevent_destroy "
        "(the payment gateway allow-lists that address), so terraform destroy would fail after the shop had been drained; "
        "nothing was touched",
        hint=f"to retire {env.name} on purpose: move the Elastic IP out of Terraform "
        f"(terraform -chdir=envs/{env.name} state rm 'module.environment.module.pg_nat[0].aws_eip.this') to keep the address, "
        f"or remove prevent_destroy in a reviewed change, and set protected = false for {env.name} in kyeol.toml; "
        f"then run kyeol destroy --env {env.name} --confirm-env {env.name}",
    )


def _names(items: list[dict[str, str]]) -> str:
    return ", ".join(f"{i['name']} ({i['arn']})" for i in items)


def describe_load_balancing(found: dict[str, list[dict[str, str]]]) -> str:
    """'load balancers: a (arn); target groups: b (arn)' for what is still there ('' if nothing)."""
    parts = []
    if found.get("load_balancers"):
        parts.append("load balancers: " + _names(found["load_balancers"]))
    if found.get("target_groups"):
        parts.append("target groups: " + _names(found["target_groups"]))
    return "; ".join(parts)


class DrainStep(Step):
    """Delete the env's Applications on MGMT in a safe order; wait until the ALBs are gone."""

    phase = 10
    max_attempts = 2
    timeout_s = LOAD_BALANCERS_TIMEOUT_S + ADDONS_TIMEOUT_S + 300.0
    estimate_s = 240.0

    def __init__(self, services: Services, env: EnvConfig) -> None:
        self.services = services
        self.env = env
        self.id = f"{env.name}.drain"
        self.title = f"Drain {env.name}: delete its Applications, wait for its load balancers to go"
        self.scope = env.name
        self.needs = ()
        # Reads and deletes on MGMT's Argo CD; reads ELBv2 in the env's account.
        self.account_envs = ("mgmt", env.name)
        self.undoes = (f"{env.name}.sync", f"{env.name}.verify", f"{env.name}.addons")
        self.app = env.argocd_app_name
        self.addons = child_names(env)

    def inputs(self) -> Any:
        return {
            "cluster": self.env.cluster_name,
            "application": self.app,
            "addons": self.addons,
            "tag": LB_CLUSTER_TAG,
            "origin_hosts": list(self.env.origin_hosts),
        }

    # -- reality --------------------------------------------------------------------------

    def _mgmt(self, ctx: StepContext) -> KubeClient:
        return self.services.kube(ctx.outputs_of("mgmt.infra"))

    def _saleor(self, kube: KubeClient) -> dict[str, Any] | None:
        return kube.get(ARGOCD_API, "Application", self.app, ARGOCD_NAMESPACE)

    def _addon_apps(self, kube: KubeClient) -> list[str]:
        found = kube.list(ARGOCD_API, "Application", ARGOCD_NAMESPACE, f"kyeol.io/env={self.env.name}")
        present = {(a.get("metadata") or {}).get("name") for a in found}
        return [name for name in self.addons if name in present]

    def _secret_addon_labels(self, kube: KubeClient) -> list[str]:
        secret = kube.get("v1", "Secret", secret_name(self.env), ARGOCD_NAMESPACE)
        labels = ((secret or {}).get("metadata") or {}).get("labels") or {}
        return sorted(k for k in labels if k.startswith(ADDON_LABEL_PREFIX))

    def _load_balancing(self) -> dict[str, list[dict[str, str]]]:
        return self.services.aws_for(self.env).tagged_load_balancing(LB_CLUSTER_TAG, self.env.cluster_name)

    def _origin_records(self) -> list[str]:
        """ExternalDNS's records of the env's origin names in the shared zone ("name TYPE").

        They must go while ExternalDNS still runs (before the add-ons): the zone serves every
        env, and nothing else would ever delete a record that points at a deleted ALB."""
        zone = self._zone
        return self.services.aws_for(self.env).records_named(zone["id"], self.env.origin_hosts) if zone else []

    @functools.cached_property
    def _zone(self) -> dict[str, Any] | None:
        """The shared public zone, looked up once per step rather than on every poll."""
        return self.services.aws_for(self.env).find_zone(self.services.config.domain)

    def survey(self, ctx: StepContext) -> dict[str, Any]:
        """What of the env is still there: the Saleor app, add-on apps and labels, ELBv2 objects."""
        kube = self._mgmt(ctx)
        return {
            "saleor": self._saleor(kube),
            "addons": self._addon_apps(kube),
            "labels": self._secret_addon_labels(kube),
            "elbv2": self._load_balancing(),
            "dns": self._origin_records(),
        }

    def left_over(self, found: dict[str, Any]) -> list[str]:
        left = []
        if found["saleor"] is not None:
            deleting = " (being deleted)" if (found["saleor"].get("metadata") or {}).get("deletionTimestamp") else ""
            left.append(f"Application {ARGOCD_NAMESPACE}/{self.app}{deleting}")
        if found["addons"]:
            left.append("add-on Applications " + ", ".join(found["addons"]))
        if found["labels"]:
            left.append(f"add-on labels on Secret {ARGOCD_NAMESPACE}/{secret_name(self.env)}: " + ", ".join(found["labels"]))
        elbv2 = describe_load_balancing(found["elbv2"])
        if elbv2:
            left.append(f"ELBv2 tagged {LB_CLUSTER_TAG}={self.env.cluster_name}: {elbv2}")
        if found["dns"]:
            left.append("Route53 records " + ", ".join(found["dns"]))
        return left

    # -- the four operations ---------------------------------------------------------------

    def check(self, ctx: StepContext) -> CheckResult:
        left = self.left_over(self.survey(ctx))
        if left:
            return CheckResult(False, "still there: " + "; ".join(left))
        return CheckResult(
            True,
            f"no Application, add-on or load balancer of {self.env.cluster_name} is left",
            {"drained": self.env.cluster_name},
        )

    def _refuse_protected_database(self, ctx: StepContext) -> None:
        """An env whose database keeps deletion protection (stage) cannot be destroyed by
        Terraform; draining it first would only take its shop down. Refuse before anything."""
        try:
            db_id = ctx.outputs_of(f"{self.env.name}.infra").get("rds_instance_id")
        except OutputUnknown:
            db_id = None
        if not db_id:
            return  # no record of the env's database: nothing known to protect
        db = self.services.aws_for(self.env).rds_instance(str(db_id))
        if db is not None and db.get("deletion_protection"):
            raise PermanentError(
                f"{self.env.name} keeps its data: RDS instance {db_id} has deletion protection, so terraform destroy of "
                f"envs/{self.env.name} would fail after the drain had taken the shop down; nothing was touched",
                hint=f"to tear {self.env.name} down on purpose: set deletion_protection = false in "
                f"kyeol-infra-terraform/envs/{self.env.name}/terraform.tfvars in a reviewed change, run "
                f"kyeol deploy --env {self.env.name} (RDS takes a final snapshot on delete), then kyeol destroy --env {self.env.name}",
            )

    def plan(self, ctx: StepContext) -> Plan:
        self._refuse_protected_database(ctx)
        found = self.survey(ctx)
        mgmt = self.services.config.mgmt.cluster_name
        changes: list[Change] = []
        if found["saleor"] is not None:
            changes.append(
                Change(
                    "delete",
                    f"Application {ARGOCD_NAMESPACE}/{self.app} on {mgmt}",
                    "Argo CD deletes its objects (resources finalizer): the Ingress first, so the LB controller deletes the ALB",
                )
            )
        for kind, key in (("load balancer", "load_balancers"), ("target group", "target_groups")):
            for item in found["elbv2"].get(key) or []:
                changes.append(
                    Change("delete", f"ELBv2 {kind} {item['name']}", f"by the LB controller; kyeol waits ({item['arn']})")
                )
        for record in found["dns"]:
            changes.append(
                Change("delete", f"Route53 record {record}", "by ExternalDNS (policy sync) once the Ingress is gone; kyeol waits")
            )
        if found["labels"]:
            changes.append(
                Change(
                    "update",
                    f"Secret {ARGOCD_NAMESPACE}/{secret_name(self.env)} on {mgmt}",
                    "remove labels " + ", ".join(found["labels"]) + " (the add-on ApplicationSets drop their Applications)",
                )
            )
        for name in found["addons"]:
            changes.append(
                Change("delete", f"Application {ARGOCD_NAMESPACE}/{name} on {mgmt}", "by its ApplicationSet; kyeol waits")
            )
        return Plan(changes=changes)

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        self._refuse_protected_database(ctx)
        kube = self._mgmt(ctx)
        self._delete_saleor(ctx, kube)
        self._wait(
            ctx,
            f"Application {self.app}, the load balancers and origin records of {self.env.cluster_name} to be gone",
            lambda: self._saleor_gone(kube),
            LOAD_BALANCERS_TIMEOUT_S,
            hint=f"Argo CD deletes the Ingress, then the LB controller on {self.env.cluster_name} deletes the ALB and "
            "ExternalDNS the origin records: look at the Application's conditions and the controllers' logs; delete a "
            "load balancer or record they no longer manage by hand (aws elbv2 delete-load-balancer --load-balancer-arn …, "
            "aws route53 change-resource-record-sets …), then run kyeol destroy again",
        )
        labels = self._secret_addon_labels(kube)
        if labels:
            kube.merge_patch(
                "v1", "Secret", secret_name(self.env), ARGOCD_NAMESPACE, {"metadata": {"labels": dict.fromkeys(labels)}}
            )
            ctx.log.info("add-on labels removed from the cluster Secret", secret=secret_name(self.env), labels=labels)
        self._wait(
            ctx,
            f"add-on Applications of {self.env.name} to be gone",
            lambda: self._addons_gone(kube),
            ADDONS_TIMEOUT_S,
            hint=f"the add-on ApplicationSets delete them once the cluster Secret lacks their labels: look at "
            f"kubectl -n {ARGOCD_NAMESPACE} get applicationsets on MGMT, then run kyeol destroy again",
        )
        return {"drained": self.env.cluster_name}

    def verify(self, ctx: StepContext) -> dict[str, Any]:
        left = self.left_over(self.survey(ctx))
        if left:
            raise PermanentError(
                f"{self.env.name} is not drained: still there: {'; '.join(left)}",
                hint="something re-created them (a sync, a person): find it, then run kyeol destroy again",
            )
        return {"drained": self.env.cluster_name}

    # -- helpers ---------------------------------------------------------------------------

    def _delete_saleor(self, ctx: StepContext, kube: KubeClient) -> None:
        app = self._saleor(kube)
        if app is None:
            return
        meta = app.get("metadata") or {}
        finalizers = list(meta.get("finalizers") or [])
        if meta.get("deletionTimestamp"):
            return  # already being deleted: only wait
        if RESOURCES_FINALIZER not in finalizers:
            # Without it Argo CD would leave the Ingress (and so the ALB) behind on the cluster.
            kube.merge_patch(
                ARGOCD_API,
                "Application",
                self.app,
                ARGOCD_NAMESPACE,
                {"metadata": {"finalizers": finalizers + [RESOURCES_FINALIZER]}},
            )
        kube.delete(ARGOCD_API, "Application", self.app, ARGOCD_NAMESPACE)
        ctx.log.info("Application deleted", application=self.app, cluster=self.services.config.mgmt.cluster_name)

    def _saleor_gone(self, kube: KubeClient) -> tuple[bool, str]:
        app = self._saleor(kube)
        elbv2 = describe_load_balancing(self._load_balancing())
        parts = []
        if app is not None:
            parts.append(f"Application {self.app} is still being deleted")
        if elbv2:
            parts.append(f"still tagged {LB_CLUSTER_TAG}={self.env.cluster_name}: {elbv2}")
        records = self._origin_records()
        if records:
            parts.append("ExternalDNS has not deleted " + ", ".join(records))
        return (not parts), "; ".join(parts) or (
            f"Application {self.app}, every load balancer and origin record of {self.env.cluster_name} are gone"
        )

    def _addons_gone(self, kube: KubeClient) -> tuple[bool, str]:
        left = self._addon_apps(kube)
        if left:
            return False, "still there: " + ", ".join(left)
        return True, f"no add-on Application of {self.env.name} is left"

    def _wait(self, ctx: StepContext, what: str, probe: Any, timeout: float, *, hint: str) -> str:
        ctx.waiting_for(what)
        return wait_for(
            probe,
            what=what,
            timeout=timeout,
            clock=ctx.clock,
            cancel=ctx.cancel,
            deadline=ctx.deadline,
            interval=10.0,
            max_interval=30.0,
            on_poll=lambda n, ready, detail: ctx.log.debug("waiting", what=what, poll=n, ready=ready, detail=detail),
            hint=hint,
        )


class DeregisterStep(Step):
    """Delete the env's Argo CD cluster Secret on MGMT; a Secret already gone is done."""

    phase = 11
    max_attempts = 3
    timeout_s = 300.0
    estimate_s = 5.0

    def __init__(self, services: Services, env: EnvConfig) -> None:
        self.services = services
        self.env = env
        self.id = f"{env.name}.deregister"
        self.title = f"Deregister {env.cluster_name} from Argo CD"
        self.scope = env.name
        self.needs = (f"{env.name}.drain",)
        self.account_envs = ("mgmt",)
        self.undoes = (f"{env.name}.register",)
        self.ref = f"Secret {ARGOCD_NAMESPACE}/{secret_name(env)}"

    def inputs(self) -> Any:
        return {"secret": f"{ARGOCD_NAMESPACE}/{secret_name(self.env)}"}

    def _mgmt(self, ctx: StepContext) -> KubeClient:
        return self.services.kube(ctx.outputs_of("mgmt.infra"))

    def _present(self, ctx: StepContext) -> bool:
        return self._mgmt(ctx).get("v1", "Secret", secret_name(self.env), ARGOCD_NAMESPACE) is not None

    def check(self, ctx: StepContext) -> CheckResult:
        if self._present(ctx):
            return CheckResult(False, f"{self.ref} still registers {self.env.cluster_name}")
        return CheckResult(True, f"{self.ref} does not exist", {"deregistered": self.env.cluster_name})

    def plan(self, ctx: StepContext) -> Plan:
        if not self._present(ctx):
            return Plan()
        return Plan(changes=[Change("delete", f"{self.ref} on {self.services.config.mgmt.cluster_name}")])

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        deleted = self._mgmt(ctx).delete("v1", "Secret", secret_name(self.env), ARGOCD_NAMESPACE)
        ctx.log.info("cluster Secret deleted" if deleted else "cluster Secret was already gone", secret=secret_name(self.env))
        if deleted:
            ctx.changed("delete", f"{self.ref} on {self.services.config.mgmt.cluster_name}")
        return {"deregistered": self.env.cluster_name}

    def verify(self, ctx: StepContext) -> dict[str, Any]:
        if self._present(ctx):
            raise PermanentError(
                f"{self.ref} is still there after its deletion",
                hint="something re-created it (a deploy running meanwhile?); run kyeol destroy again",
            )
        return {"deregistered": self.env.cluster_name}


class EnvInfraDestroy(TerraformRootStep):
    """``terraform plan -destroy`` of ``envs/<env>`` and apply of that saved plan."""

    phase = 12
    max_attempts = 2

    def __init__(self, services: Services, env: EnvConfig) -> None:
        super().__init__(services, env)
        self.id = f"{env.name}.infra.destroy"
        self.scope = env.name
        self.root = f"envs/{env.name}"
        self.title = f"terraform destroy of envs/{env.name} (VPC, EKS, RDS, Valkey, edge)"
        self.needs = (f"{env.name}.deregister",)
        self.account_envs = (env.name,)
        self.undoes = (f"{env.name}.infra",)
        # Deleting EKS, RDS and Valkey takes about as long as creating them.
        self.estimate_s = 15 * 60.0
        self.timeout_s = 90 * 60.0 if env.rds_multi_az else 60 * 60.0

    def facts(self) -> dict[str, Any]:
        return {"region": self.env.region, "cluster_name": self.env.cluster_name}

    def _state(self, ctx: StepContext) -> list[str]:
        self._init(ctx)
        return self.terraform.state_list(self.root_dir, ctx)

    def check(self, ctx: StepContext) -> CheckResult:
        left = self._state(ctx)
        if left:
            return CheckResult(False, f"the state of {self.root} still holds {len(left)} resource(s)")
        return CheckResult(True, f"the state of {self.root} holds nothing", {"destroyed": self.root})

    def plan(self, ctx: StepContext) -> Plan:
        unknown = self.unknown_plan(ctx)
        if unknown is not None:
            return unknown
        planned = self.saved_plan(ctx)
        planned.discard()
        return Plan(changes=[Change("delete", address, f"terraform destroy of {self.root}") for address in planned.deletes])

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        planned = self.apply_saved_plan(ctx)
        return {"destroyed": self.root, "resources_destroyed": len(planned.deletes)}

    def verify(self, ctx: StepContext) -> dict[str, Any]:
        left = self._state(ctx)
        if left:
            raise PermanentError(
                f"terraform destroy of {self.root} left {len(left)} resource(s) in its state: {', '.join(left[:10])}",
                hint=f"read the Terraform output in the log; fix what blocks their deletion, then run kyeol destroy --env {self.env.name} again",
            )
        return {"destroyed": self.root}

    def saved_plan(self, ctx: StepContext) -> Any:
        """``plan -destroy``; a ``prevent_destroy`` refusal becomes what to do about it."""
        try:
            return self.terraform.plan(self.root_dir, ctx, variables=self.variables(ctx), destroy=True)
        except TerraformError as exc:
            if not any("prevent_destroy" in e for e in exc.errors):
                raise
            raise PermanentError(
                f"terraform refuses to destroy {self.root}: resources there have lifecycle.prevent_destroy "
                f"({'; '.join(exc.errors)[:600]}); nothing of {self.root} was destroyed",
                hint=f"keep such a resource by moving it out of the state (terraform -chdir={self.root} state rm ADDRESS), "
                "or remove prevent_destroy in a reviewed change; then run kyeol destroy again",
            ) from exc


def build(services: Services, env: EnvConfig) -> list[Step]:
    if not env.is_target:
        return []
    return [DrainStep(services, env), DeregisterStep(services, env), EnvInfraDestroy(services, env)]
