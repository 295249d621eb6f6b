"""Negative controls: each check meets a planted error in a copy of what the real tree produces
(its values, its ApplicationSet) and must report it — so a green run means something."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.charts import addons, checks
from tests.charts.conftest import Release, cluster_secrets
from tests.charts.render import RenderFailed


def _dev(addon_releases: dict[str, list[Release]], chart: str) -> Release:
    (found,) = [r for r in addon_releases["dev"] if r.rendered.chart == chart]
    return found


def _render(release: Release, values: dict[str, Any]):
    assert release.helm is not None
    return release.helm.render(release.kube_version, values)


def _object_problems(rendered) -> list[str]:
    return checks.object_problems(rendered.objects, "1.34", checks.crd_schemas(rendered.objects))[0]


def test_an_unknown_key_is_reported_although_helm_renders_it(addon_releases):
    release = _dev(addon_releases, "external-dns")
    values = copy.deepcopy(release.rendered.values)
    values["serviceAccount"]["anotations"] = values["serviceAccount"].pop("annotations")  # a typo helm ignores
    values["txtOwnerID"] = values.pop("txtOwnerId")
    _render(release, values)  # helm itself says nothing
    problems = checks.unknown_values(values, release.chart.values, chart_dir=release.chart_dir, schema=None)
    assert problems == [
        "serviceAccount.anotations: not a value of the chart (helm would ignore it)",
        "txtOwnerID: not a value of the chart (helm would ignore it)",
    ]


def test_free_form_maps_take_any_key_and_typed_ones_do_not(addon_releases, argocd):
    lbc = _dev(addon_releases, "aws-load-balancer-controller")
    values = copy.deepcopy(lbc.rendered.values)
    values["defaultTags"]["anything"] = "goes"  # {} in values.yaml
    values["podAnnotations"] = {"example.com/any": "x"}  # {} in values.yaml
    assert checks.unknown_values(values, lbc.chart.values, chart_dir=lbc.chart_dir) == []
    argo = copy.deepcopy(argocd.rendered.values)
    argo["configs"]["cm"]["any.argocd-cm.key"] = "x"  # the chart passes configs.cm on whole (omit …)
    argo["controller"]["replicass"] = 1
    assert checks.unknown_values(argo, argocd.chart.values, chart_dir=argocd.chart_dir) == [
        "controller.replicass: not a value of the chart (helm would ignore it)"
    ]


def test_a_wrong_type_is_reported_by_the_values_schema(addon_releases):
    release = _dev(addon_releases, "external-dns")
    assert release.chart.schema is not None
    values = copy.deepcopy(release.rendered.values)
    values["interval"] = 60  # the schema wants a Go duration string
    problems = checks.schema_problems(release.chart, values)
    assert problems and "interval" in problems[0]


def test_a_wrong_shape_is_reported_where_the_chart_has_no_schema(addon_releases):
    release = _dev(addon_releases, "aws-load-balancer-controller")
    assert release.chart.schema is None
    values = copy.deepcopy(release.rendered.values)
    values["serviceAccount"] = "aws-load-balancer-controller"
    assert checks.unknown_values(values, release.chart.values, chart_dir=release.chart_dir) == [
        "serviceAccount: the chart has a dict here, the values give a str"
    ]


def test_a_wrong_scalar_type_fails_strict_validation_of_the_render(addon_releases):
    release = _dev(addon_releases, "aws-load-balancer-controller")
    values = copy.deepcopy(release.rendered.values)
    values["replicaCount"] = "two"
    problems = _object_problems(_render(release, values))
    assert any("Deployment/aws-load-balancer-controller" in p and "'two'" in p for p in problems), problems


def test_an_unknown_field_in_a_custom_resource_fails_its_shipped_crd(addon_releases):
    release = _dev(addon_releases, "aws-load-balancer-controller")
    values = copy.deepcopy(release.rendered.values)
    values["ingressClassParams"] = {"spec": {"schema": "internet-facing"}}  # the CRD's field is `scheme`
    problems = _object_problems(_render(release, values))
    assert any(p.startswith("IngressClassParams/alb: spec:") and "'schema'" in p for p in problems), problems


def test_removing_the_load_balancer_controllers_cluster_name_fails_the_render(config):
    (appset,) = [a for a in addons.load_appsets() if a["metadata"]["name"] == "aws-load-balancer-controller"]
    planted = copy.deepcopy(appset)
    chart_source = next(s for s in planted["spec"]["template"]["spec"]["sources"] if s.get("chart"))
    del chart_source["helm"]["valuesObject"]["clusterName"]
    (app, *_) = addons.generate(planted, cluster_secrets(config))
    (helm,) = addons.helm_releases(app)
    with pytest.raises(RenderFailed, match="clusterName"):
        helm.render("1.34")


def test_a_missing_cluster_secret_annotation_fails_the_application_template(config):
    (appset,) = [a for a in addons.load_appsets() if a["metadata"]["name"] == "external-dns"]
    planted = copy.deepcopy(appset)
    values_object = next(s for s in planted["spec"]["template"]["spec"]["sources"] if s.get("chart"))["helm"]["valuesObject"]
    values_object["extraArgs"]["zone-id-filter"] = "{{ .metadata.annotations.kyeol_io_hosted_zone }}"
    with pytest.raises(addons.argo_template.TemplateError, match="missingkey=error"):
        addons.generate(planted, cluster_secrets(config))


def test_a_probe_or_resources_the_values_leave_out_are_reported(addon_releases, argocd):
    release = _dev(addon_releases, "external-secrets")
    values = copy.deepcopy(release.rendered.values)
    values["livenessProbe"]["enabled"] = False  # the chart can render it: turning it off is a gap
    del values["webhook"]["resources"]
    rendered = _render(release, values)
    problems = checks.workload_problems(rendered.objects, release.chart_dir, rendered.sources)
    assert "Deployment/external-secrets external-secrets: no livenessProbe" in problems
    assert "Deployment/external-secrets-webhook webhook: resources.requests lacks cpu or memory" in problems
    # a probe the chart cannot render at all is upstream's choice (argo-helm's application controller)
    controller = argocd.rendered.one("StatefulSet", "argocd-application-controller")
    assert not controller["spec"]["template"]["spec"]["containers"][0].get("livenessProbe")
    assert checks.workload_problems([controller], argocd.chart_dir, argocd.rendered.sources) == []
    assert checks.workload_problems([controller]) == [
        "StatefulSet/argocd-application-controller application-controller: no livenessProbe"
    ]
