"""A new add-on needs no edit here: its ApplicationSet is found in the folder, its chart by name
and version (the mirror's ``<chart>-<version>/`` or a pull), and every check applies to it.

Shown with the cluster-autoscaler chart (9.59.0, in the mirror) that the node-scaling work adds.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from tests.charts import addons, checks
from tests.charts.conftest import cluster_secrets
from tests.charts.render import load

APPSET = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "ApplicationSet",
    "metadata": {"name": "cluster-autoscaler", "namespace": "argocd"},
    "spec": {
        "goTemplate": True,
        "goTemplateOptions": ["missingkey=error"],
        "generators": [{"clusters": {"selector": {"matchLabels": {"argocd.argoproj.io/secret-type": "cluster"}}}}],
        "template": {
            "metadata": {"name": 'cluster-autoscaler-{{ index .metadata.labels "kyeol.io/env" }}'},
            "spec": {
                "project": "platform",
                "destination": {"name": "{{ .name }}", "namespace": "kube-system"},
                "sources": [
                    {
                        "repoURL": "https://kubernetes.github.io/autoscaler",
                        "chart": "cluster-autoscaler",
                        "targetRevision": "9.59.0",
                        "helm": {
                            "releaseName": "cluster-autoscaler",
                            "valuesObject": {
                                "autoDiscovery": {"clusterName": "{{ .name }}"},
                                "awsRegion": '{{ index .metadata.annotations "kyeol.io/aws-region" }}',
                                "rbac": {"serviceAccount": {"name": "cluster-autoscaler"}},
                                "resources": {
                                    "requests": {"cpu": "50m", "memory": "128Mi"},
                                    "limits": {"cpu": "200m", "memory": "256Mi"},
                                },
                            },
                        },
                    }
                ],
            },
        },
    },
}


def test_a_new_applicationset_is_rendered_from_its_pinned_chart(tmp_path: Path, config):
    folder = tmp_path / "applications"
    shutil.copytree(addons.APPSETS, folder)
    (folder / "cluster-autoscaler.yaml").write_text(yaml.safe_dump(APPSET))
    apps = [app for appset in addons.load_appsets(folder) for app in addons.generate(appset, cluster_secrets(config))]
    new = [r for app in apps for r in addons.helm_releases(app) if r.chart == "cluster-autoscaler"]
    assert [r.application for r in new] == ["cluster-autoscaler-dev", "cluster-autoscaler-stage", "cluster-autoscaler-prod"]
    release = new[0]
    assert release.chart_dir().name == "cluster-autoscaler-9.59.0"
    rendered = release.render("1.34")
    (deployment,) = rendered.of_kind("Deployment")
    command = " ".join(deployment["spec"]["template"]["spec"]["containers"][0]["command"])
    assert (
        "--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/jung-dev-eks" in command
    )
    chart = load(str(release.chart_dir()))
    assert checks.unknown_values(release.values, chart.values, chart_dir=release.chart_dir()) == []
    assert checks.object_problems(rendered.objects, "1.34", checks.crd_schemas(rendered.objects))[0] == []
    # the chart renders a liveness probe and no readiness probe at all: only the former is required
    assert checks.workload_problems(rendered.objects, release.chart_dir(), rendered.sources) == []
