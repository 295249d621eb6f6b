"""Cluster Autoscaler (issue 8, defect 6): the add-on finds and may scale exactly the node groups
Terraform makes, with the image of the cluster's Kubernetes minor.

Upstream rules (kubernetes/autoscaler@cluster-autoscaler-chart-9.59.0):
- cluster-autoscaler/cloudprovider/aws/README.md, "Auto-Discovery Setup": the autoscaler only
  manages ASGs carrying every tag key of ``--node-group-auto-discovery=asg:tag=…``; the chart
  (charts/cluster-autoscaler templates/deployment.yaml) builds that flag from
  ``autoDiscovery.tags`` with ``autoDiscovery.clusterName``, and sets ``AWS_REGION`` from
  ``awsRegion``.
- cluster-autoscaler/FAQ.md, "Which version on Cluster Autoscaler should I use in my cluster?":
  the autoscaler's minor version must match the cluster's.
The chart is rendered by Helm's own engine (helm_python) from the upstream chart source, with
the values Argo CD would pass (values file, then ``valuesObject`` on top).
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from steps.wiring.config import SERVICE_ACCOUNTS, TARGET_ENVS
from tests.gitops import support

ADDON = "cluster-autoscaler"


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _app(appsets: list[dict[str, Any]], env: Any) -> dict[str, Any]:
    secret = support.cluster_secret(env, addons=(ADDON,))
    [app] = [a for s in appsets for a in support.generate_applications(s, [secret])]
    return app


def _values(app: dict[str, Any]) -> dict[str, Any]:
    [chart] = [s for s in app["spec"]["sources"] if "chart" in s]
    [value_file] = chart["helm"]["valueFiles"]
    values = yaml.safe_load((support.ROOT / value_file.removeprefix("$values/")).read_text(encoding="utf-8"))
    return _merge(values, chart["helm"].get("valuesObject") or {})


def _render(values: dict[str, Any]) -> list[dict[str, Any]]:
    import helm_python

    from tests.charts.addons import appset_chart_dir

    # The pinned chart from KYEOL_CHART_MIRROR or its repository (tests/charts/source.py).
    with helm_python.Chart.load(str(appset_chart_dir(ADDON))) as chart:
        manifests = chart.render(values=values, name=ADDON, namespace="kube-system")
    return [
        d
        for path, text in manifests.items()
        if path.endswith(".yaml")
        for d in yaml.safe_load_all(text)
        if isinstance(d, dict) and "kind" in d
    ]


def _terraform_tag_keys(env: str, cluster: str) -> list[set[str]]:
    """The tag keys of every node group of the env's Terraform (tests.infra's evaluator)."""
    from tests.infra import conformance as c
    from tests.infra.evaluate import instantiate
    from tests.infra.test_node_autoscaler import node_group_tag_keys

    return node_group_tag_keys(instantiate(c.env_root(support.INFRA, env)), cluster)


@pytest.mark.parametrize("env_name", TARGET_ENVS)
def test_the_rendered_autoscaler_discovers_and_may_scale_the_terraform_node_groups(env_name, appsets, config, app_of_apps):
    env = config.env(env_name)
    app = _app(appsets, env)
    assert app["metadata"]["name"] == f"{ADDON}-{env_name}"
    docs = _render(_values(app))
    [deployment] = support.find(docs, "Deployment")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    flags = [a for a in container.get("command", []) + container.get("args", []) if a.startswith("--")]
    assert "--cloud-provider=aws" in flags
    [discovery] = [f for f in flags if f.startswith("--node-group-auto-discovery=")]
    kind, _, tags = discovery.removeprefix("--node-group-auto-discovery=").partition(":tag=")
    keys = {t.split("=", 1)[0] for t in tags.split(",")}
    assert kind == "asg" and keys == {"k8s.io/cluster-autoscaler/enabled", f"k8s.io/cluster-autoscaler/{env.cluster_name}"}
    groups = _terraform_tag_keys(env_name, env.cluster_name)
    assert groups and all(keys <= g for g in groups), (keys, groups)
    environment = {e["name"]: e.get("value") for e in container.get("env", [])}
    assert environment["AWS_REGION"] == env.region
    # FAQ: the autoscaler's minor is the cluster's.
    repository, tag = container["image"].rsplit(":", 1)
    assert repository == "registry.k8s.io/autoscaling/cluster-autoscaler"
    assert tag.removeprefix("v").split(".")[:2] == support.KUBERNETES_VERSION.split(".")
    # IRSA: the account the role trusts, annotated with this env's role.
    namespace, account = SERVICE_ACCOUNTS[ADDON]
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == account
    [sa] = support.find(docs, "ServiceAccount")
    assert sa["metadata"]["name"] == account and app["spec"]["destination"]["namespace"] == namespace
    assert (
        sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
        == f"arn:aws:iam::{env.account_id}:role/{env.role_name('cluster-autoscaler')}"
    )
    # Everything the chart renders is a kind the platform project admits.
    [project] = [p for p in support.find(app_of_apps, "AppProject") if p["metadata"]["name"] == "platform"]
    allowed = {
        (k["group"], k["kind"])
        for k in project["spec"]["clusterResourceWhitelist"] + project["spec"]["namespaceResourceWhitelist"]
    }
    rendered = {(d["apiVersion"].rpartition("/")[0], d["kind"]) for d in docs}
    assert rendered <= allowed, rendered - allowed


def test_a_node_group_without_the_discovery_tags_is_not_scaled(appsets, config) -> None:
    """The comparison above fails when Terraform and the chart disagree on the keys."""
    env = config.env("stage")
    docs = _render(_merge(_values(_app(appsets, env)), {"autoDiscovery": {"clusterName": "jung-other-eks"}}))
    [deployment] = support.find(docs, "Deployment")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    [discovery] = [f for f in container["command"] if f.startswith("--node-group-auto-discovery=")]
    keys = {t.split("=", 1)[0] for t in discovery.partition(":tag=")[2].split(",")}
    assert not all(keys <= g for g in _terraform_tag_keys("stage", env.cluster_name))
