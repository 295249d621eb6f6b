"""The real charts, rendered as they would be installed, pass strict checks on every cluster.

MGMT runs Argo CD (phase 4's helm install); dev, stage and prod run every add-on the
ApplicationSets generate from phase 5's cluster Secret. Each release: values known to the chart
and valid against its schema, every object valid (Kubernetes version from Terraform, shipped
CRDs, Argo CD / ESO CRD validators), IRSA exactly where Terraform's trust policies say, and
resources and probes on every workload.
"""

from __future__ import annotations

from typing import Any

import pytest

from steps.phases.phase4_argocd import CHART, CHART_REPO, CHART_VERSION, RELEASE, WORKLOADS
from steps.wiring.config import ARGOCD_NAMESPACE, TARGET_ENVS, KyeolConfig
from tests.charts import checks, clusters
from tests.charts.conftest import Release, argocd_argv
from tests.gitops import support

ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"


def _all(argocd: Release, addon_releases: dict[str, list[Release]]) -> list[Release]:
    return [argocd] + [r for env in TARGET_ENVS for r in addon_releases[env]]


def _ids(release: Release) -> str:
    return f"{release.cluster}/{release.name}"


# -- what is rendered ------------------------------------------------------------------------------


def test_argocd_is_rendered_from_the_helm_command_phase_4_runs(argocd: Release, config: KyeolConfig):
    argv = argocd_argv(config)
    assert argv[:4] == ["upgrade", "--install", RELEASE, CHART]
    assert (argocd.rendered.chart, argocd.rendered.version) == (CHART, CHART_VERSION)
    assert argv[argv.index("--repo") + 1] == CHART_REPO
    assert argocd.rendered.namespace == ARGOCD_NAMESPACE and argocd.rendered.release == RELEASE
    # --set-string pairs reached the values (decoded by Helm's own strvals parser).
    for key in ("controller", "server", "applicationSet"):
        assert argocd.rendered.values[key]["serviceAccount"]["annotations"][ROLE_ANNOTATION].endswith(
            ":role/jung-mgmt-argocd-manager"
        )
    assert all(
        o["metadata"].get("namespace") == ARGOCD_NAMESPACE
        for o in argocd.rendered.objects
        if o["kind"] not in ("CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding")
    )


def test_phase_4_waits_on_workloads_the_chart_really_makes(argocd: Release):
    rendered = {(o["kind"], o["metadata"]["name"]) for o in argocd.rendered.installed}
    assert set(WORKLOADS) <= rendered, sorted(set(WORKLOADS) - rendered)


def test_every_cluster_gets_every_addon_from_its_pinned_chart(addon_releases: dict[str, list[Release]]):
    from tests.charts.addons import load_appsets

    charts = {
        (src["chart"], src["targetRevision"])
        for a in load_appsets()
        for src in a["spec"]["template"]["spec"]["sources"]
        if src.get("chart")
    }
    assert charts, "no ApplicationSet names a chart"
    for env in TARGET_ENVS:
        got = {(r.rendered.chart, r.rendered.version) for r in addon_releases[env]}
        assert got == charts, env
        for release in addon_releases[env]:
            assert release.rendered.objects, f"{env}/{release.name} renders nothing"


# -- values ------------------------------------------------------------------------------------------


def test_every_values_key_exists_in_its_chart(argocd: Release, addon_releases: dict[str, list[Release]]):
    problems = []
    for release in _all(argocd, addon_releases):
        found = checks.unknown_values(
            release.rendered.values, release.chart.values, chart_dir=release.chart_dir, schema=release.chart.schema
        )
        problems += [f"{_ids(release)}: {p}" for p in found]
    assert not problems, "\n".join(problems)


def test_values_pass_the_charts_values_schema(argocd: Release, addon_releases: dict[str, list[Release]]):
    releases = _all(argocd, addon_releases)
    assert any(r.chart.schema for r in releases), "no chart has a values.schema.json: the check would check nothing"
    problems = [f"{_ids(r)}: {p}" for r in releases for p in checks.schema_problems(r.chart, r.rendered.values)]
    assert not problems, "\n".join(problems)


# -- objects -------------------------------------------------------------------------------------------


def test_every_object_validates_strictly(argocd: Release, addon_releases: dict[str, list[Release]], node_modules, config):
    from tests.charts import addons
    from tests.charts.conftest import cluster_secrets

    problems = []
    # the Applications themselves, as the ApplicationSet controller would write them
    for_node = [app for appset in addons.load_appsets() for app in addons.generate(appset, cluster_secrets(config))]
    for release in _all(argocd, addon_releases):
        found, left = checks.object_problems(
            release.rendered.objects, release.kube_version, checks.crd_schemas(release.rendered.objects)
        )
        problems += [f"{_ids(release)}: {p}" for p in found]
        for_node += left
    if for_node:
        report = support.crd_validate(for_node, node_modules)
        problems += [f"{r['kind']}/{r['name']}: {r['error']}" for r in report["results"] if not r["ok"]]
    assert not problems, "\n".join(problems)


def test_custom_resources_are_checked_against_the_crds_the_charts_ship(addon_releases: dict[str, list[Release]]):
    """The LB controller's IngressClassParams is validated by the CRD it ships (not skipped)."""
    for env in TARGET_ENVS:
        (lbc,) = [r for r in addon_releases[env] if r.rendered.chart == "aws-load-balancer-controller"]
        schemas = checks.crd_schemas(lbc.rendered.objects)
        params = lbc.rendered.one("IngressClassParams", "alb")
        group, _, version = params["apiVersion"].rpartition("/")
        assert (group, version, "IngressClassParams") in schemas


def test_every_workload_has_resources_and_probes(argocd: Release, addon_releases: dict[str, list[Release]]):
    problems = [
        f"{_ids(r)}: {p}"
        for r in _all(argocd, addon_releases)
        for p in checks.workload_problems(r.rendered.objects, r.chart_dir, r.rendered.sources)
    ]
    assert not problems, "\n".join(problems)


# -- IRSA ------------------------------------------------------------------------------------------------


def _annotated(releases: list[Release]) -> dict[tuple[str, str], str]:
    found = {}
    for release in releases:
        for sa in release.rendered.of_kind("ServiceAccount"):
            arn = (sa["metadata"].get("annotations") or {}).get(ROLE_ANNOTATION)
            if arn is not None:
                found[(sa["metadata"]["namespace"], sa["metadata"]["name"])] = arn
    return found


def _expected(cluster: str, account: str, namespaces: set[str]) -> dict[tuple[str, str], str]:
    return {
        subject: f"arn:aws:iam::{account}:role/{role}"
        for role, subjects in clusters.irsa_roles(cluster).items()
        for subject in subjects
        if subject[0] in namespaces
    }


@pytest.mark.parametrize("env", TARGET_ENVS)
def test_irsa_role_annotations_sit_on_exactly_the_service_accounts_terraform_trusts(
    env: str, addon_releases, config: KyeolConfig
):
    releases = addon_releases[env]
    namespaces = {r.rendered.namespace for r in releases}
    annotated = _annotated(releases)
    expected = _expected(env, config.env(env).account_id, namespaces)
    assert annotated == expected
    # and each of those service accounts is the one the chart's workload runs as
    used = {
        (o["metadata"]["namespace"], o["spec"]["template"]["spec"].get("serviceAccountName"))
        for r in releases
        for o in r.rendered.of_kind(*checks.WORKLOAD_KINDS)
    }
    assert set(expected) <= used


def test_argocd_irsa_role_is_on_exactly_the_service_accounts_terraform_trusts(argocd: Release, config: KyeolConfig):
    assert _annotated([argocd]) == _expected("mgmt", config.mgmt.account_id, {ARGOCD_NAMESPACE})


# -- what matters in each chart ----------------------------------------------------------------------


def test_argocd_cm_has_the_application_health_check_and_admin_and_exec_off(argocd: Release):
    """The Application health check is rendered exactly when an Application manages Applications
    (the only time it orders anything: tests/gitops/test_platform.py ties the two); today none
    does (issue 8, defect 10 removed the unused check), so the rendered argocd-cm has none."""
    from tests.gitops.test_platform import HEALTH_KEY, _argocd_values

    cm = argocd.rendered.one("ConfigMap", "argocd-cm")["data"]
    declared = _argocd_values()["configs"]["cm"]
    assert (HEALTH_KEY in cm) is (HEALTH_KEY in declared)  # what the values say is what the chart renders
    if HEALTH_KEY in cm:
        assert "obj.status.health" in cm[HEALTH_KEY] and "Degraded" in cm[HEALTH_KEY]
    assert cm["admin.enabled"] == "false" and cm["exec.enabled"] == "false"
    assert "accounts.admin" not in cm  # no second way in
    rbac = argocd.rendered.one("ConfigMap", "argocd-rbac-cm")["data"]
    assert rbac["policy.default"] == "role:readonly"


def _container(release: Release, kind: str = "Deployment") -> dict[str, Any]:
    (workload,) = release.rendered.of_kind(kind)
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    return container


def _release(addon_releases, env: str, chart: str) -> Release:
    (found,) = [r for r in addon_releases[env] if r.rendered.chart == chart]
    return found


def _secret_annotations(config: KyeolConfig, env: str) -> dict[str, str]:
    from tests.charts.conftest import cluster_secrets

    (secret,) = [s for s in cluster_secrets(config) if s["metadata"]["labels"]["kyeol.io/env"] == env]
    return secret["metadata"]["annotations"]


@pytest.mark.parametrize("env", TARGET_ENVS)
def test_external_dns_arguments(env: str, addon_releases, config: KyeolConfig):
    target = config.env(env)
    annotations = _secret_annotations(config, env)
    container = _container(_release(addon_releases, env, "external-dns"))
    args = container["args"]
    assert "--provider=aws" in args and "--policy=sync" in args and "--registry=txt" in args
    assert f"--txt-owner-id={target.txt_owner_id}" in args and annotations["kyeol.io/txt-owner-id"] == target.txt_owner_id
    filters = sorted(a.split("=", 1)[1] for a in args if a.startswith("--domain-filter="))
    assert filters == sorted(target.origin_hosts) == sorted(annotations["kyeol.io/domain-filters"].split(","))
    assert f"--zone-id-filter={annotations['kyeol.io/hosted-zone-id']}" in args and "--aws-zone-type=public" in args
    assert "--annotation-prefix=external-dns.alpha.kubernetes.io/" in args
    assert {"name": "AWS_DEFAULT_REGION", "value": target.region} in container["env"]


@pytest.mark.parametrize("env", TARGET_ENVS)
def test_load_balancer_controller_gets_cluster_name_region_and_vpc(env: str, addon_releases, config: KyeolConfig):
    target = config.env(env)
    annotations = _secret_annotations(config, env)
    args = _container(_release(addon_releases, env, "aws-load-balancer-controller"))["args"]
    assert f"--cluster-name={target.cluster_name}" in args
    assert f"--aws-region={target.region}" in args
    assert f"--aws-vpc-id={annotations['kyeol.io/vpc-id']}" in args
