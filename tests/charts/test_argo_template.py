"""Argo CD's goTemplate model (tests/charts/argo_template.py): real Go text/template + sprig
through Helm's engine, Argo CD's function set and missingkey option, and the cluster generator."""

from __future__ import annotations

import pytest

from tests.charts import addons
from tests.charts.argo_template import NotModelled, TemplateError, functions_used, render_strings, render_tree

PARAMS = {
    "name": "jung-dev-eks",
    "server": "https://example",
    "metadata": {"labels": {"kyeol.io/env": "dev"}, "annotations": {"kyeol.io/aws-region": "ap-northeast-1"}},
}


def test_go_templates_run_with_sprig_as_go_runs_them():
    assert render_strings(
        [
            '{{ index .metadata.labels "kyeol.io/env" }}',
            "{{ .name | upper }}-{{ .name | trunc 4 }}",
            '{{ if eq (index .metadata.annotations "kyeol.io/aws-region") "ap-northeast-1" }}tokyo{{ else }}other{{ end }}',
            '{{ printf "%s/%d" .name 3 }}',
            "{{ .server | b64enc }}",
            "no action at all: .name stays",
            '{{- "  trimmed" -}}  ',
        ],
        PARAMS,
        ["missingkey=error"],
    ) == [
        "dev",
        "JUNG-DEV-EKS-jung",
        "tokyo",
        "jung-dev-eks/3",
        "aHR0cHM6Ly9leGFtcGxl",
        "no action at all: .name stays",
        "  trimmed",
    ]


def test_missing_keys_follow_the_missingkey_option():
    with pytest.raises(TemplateError, match="missingkey=error"):
        render_strings(["{{ .metadata.labels.nothere }}"], PARAMS, ["missingkey=error"])
    with pytest.raises(TemplateError, match="missingkey=error"):  # stricter than Argo CD for index (see module)
        render_strings(['{{ index .metadata.annotations "kyeol.io/typo" }}'], PARAMS, ["missingkey=error"])
    assert render_strings(["{{ .nothere }}"], PARAMS, []) == ["<no value>"]  # Go's default option prints it
    with pytest.raises(TemplateError, match="unrecognized option"):
        render_strings(["x"], PARAMS, ["missingkey=maybe"])


def test_parse_and_execution_errors_are_refused():
    with pytest.raises(TemplateError):
        render_strings(["{{ .name "], PARAMS, [])
    with pytest.raises(TemplateError):
        render_strings(["{{ if .name }}unclosed"], PARAMS, [])
    with pytest.raises(TemplateError, match="boom"):
        render_strings(['{{ fail "boom" }}'], PARAMS, [])


def test_only_argo_cds_functions_exist():
    # Helm's engine has required/include/fromJsonArray, Argo CD's template does not: Go would not parse it.
    for text in ('{{ required "x" .name }}', '{{ include "x" . }}', '{{ "[1]" | fromJsonArray }}'):
        with pytest.raises(TemplateError, match="not defined"):
            render_strings([text], PARAMS, [])
    with pytest.raises(NotModelled):
        render_strings(["{{ normalize .name }}"], PARAMS, [])
    assert functions_used('{{ printf "upper %s" .name | lower }}{{/* include */}}') == {"printf", "lower"}
    assert render_strings(['{{ (`{"a": 1}` | fromJson).a }}'], PARAMS, []) == ["1"]  # sprig's, so Argo CD's too


def test_every_string_of_the_tree_is_templated_keys_included():
    tree = {
        "metadata": {"name": 'addon-{{ index .metadata.labels "kyeol.io/env" }}', "labels": {"cluster-{{ .name }}": "yes"}},
        "spec": {"list": ["{{ .server }}", 3, True], "none": None},
    }
    assert render_tree(tree, PARAMS, ["missingkey=error"]) == {
        "metadata": {"name": "addon-dev", "labels": {"cluster-jung-dev-eks": "yes"}},
        "spec": {"list": ["https://example", 3, True]},
    }


def test_the_cluster_generator_selects_by_label_and_passes_the_secrets_facts():
    secret = {
        "metadata": {"labels": {"argocd.argoproj.io/secret-type": "cluster", "addon": "true"}, "annotations": {}},
        "stringData": {"name": "Jung_Dev.EKS", "server": "https://x"},
    }
    other = {"metadata": {"labels": {"argocd.argoproj.io/secret-type": "cluster"}}, "stringData": {"name": "b", "server": "y"}}
    appset = {
        "metadata": {"name": "a", "namespace": "argocd"},
        "spec": {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [{"clusters": {"selector": {"matchLabels": {"addon": "true"}}, "values": {"x": "{{ .name }}!"}}}],
            "template": {
                "metadata": {"name": "{{ .nameNormalized }}"},
                "spec": {"project": "{{ .values.x }} {{ .project }}|{{ .metadata.labels.addon }}"},
            },
        },
    }
    (app,) = addons.generate(appset, [secret, other])
    assert app["metadata"] == {"name": "jung-dev.eks", "namespace": "argocd"}
    assert app["spec"]["project"] == "Jung_Dev.EKS! |true"
    # no annotations on the Secret: .metadata.annotations is absent, as in Argo CD
    appset["spec"]["template"]["spec"]["project"] = "{{ .metadata.annotations }}"
    with pytest.raises(TemplateError):
        addons.generate(appset, [secret])
