"""The test helpers themselves: the ApplicationSet stand-in renders like the controller and
refuses what it cannot render, and the plaintext-secret finder finds what it must and leaves
templates and references alone (otherwise the tree tests could not fail)."""

from __future__ import annotations

import pytest

from steps.wiring.config import ADDONS
from tests.gitops import support
from tests.gitops.gotemplate import TemplateError

APPSET = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "ApplicationSet",
    "metadata": {"name": "demo", "namespace": "argocd"},
    "spec": {
        "goTemplate": True,
        "generators": [{"clusters": {"selector": {"matchLabels": {"kyeol.io/addon-demo": "true"}}}}],
        "template": {
            "metadata": {"name": 'demo-{{ index .metadata.labels "kyeol.io/env" }}'},
            "spec": {
                "project": "platform",
                "destination": {"name": "{{ .name }}", "namespace": "demo"},
                "source": {"helm": {"valuesObject": {"region": '{{ index .metadata.annotations "kyeol.io/aws-region" }}'}}},
            },
        },
    },
}


def test_stand_in_renders_one_application_per_selected_cluster(config):
    secrets = [support.cluster_secret(config.env("dev"), ("demo",)), support.cluster_secret(config.env("prod"), ADDONS)]
    [app] = support.generate_applications(APPSET, secrets)
    assert app["metadata"] == {"name": "demo-dev", "namespace": "argocd"}
    assert app["spec"]["destination"] == {"name": "jung-dev-eks", "namespace": "demo"}
    assert app["spec"]["source"]["helm"]["valuesObject"] == {"region": "ap-northeast-1"}


def test_stand_in_evaluates_templates_as_argo_cd_does(config):
    """Go semantics, not stricter ones: ``index`` of a missing annotation is "" (what made
    issue 8's defect 10 invisible before), sprig functions work, Helm-only ones do not parse."""
    secret = support.cluster_secret(config.env("dev"), ("demo",))

    def named(template: str) -> dict:
        return {**APPSET, "spec": {**APPSET["spec"], "template": {"metadata": {"name": template}, "spec": {}}}}

    [typo] = support.generate_applications(named('x{{ index .metadata.annotations "kyeol.io/vpcid" }}'), [secret])
    assert typo["metadata"]["name"] == "x"
    [upper] = support.generate_applications(named("{{ .name | upper }}"), [secret])
    assert upper["metadata"]["name"] == "JUNG-DEV-EKS"
    with pytest.raises(TemplateError, match='function "required" not defined'):
        support.generate_applications(
            named('{{ required "region" (index .metadata.annotations "kyeol.io/aws-region") }}'), [secret]
        )


def test_cluster_secret_fixture_carries_every_fact_phase_5_writes(config):
    secret = support.cluster_secret(config.env("stage"), ADDONS)
    assert tuple(secret["metadata"]["annotations"]) == support.CLUSTER_SECRET_ANNOTATIONS
    assert secret["stringData"]["name"] == "jung-stage-eks"
    assert {f"kyeol.io/addon-{a}" for a in ADDONS} <= set(secret["metadata"]["labels"])


@pytest.mark.parametrize(
    ("doc", "finding"),
    [
        ({"kind": "Secret", "metadata": {"name": "s"}, "data": {"a": "Yg=="}}, "carries data"),
        ({"kind": "Secret", "metadata": {"name": "s"}, "stringData": {"a": "b"}}, "carries data"),
        ({"v": "-----BEGIN RSA PRIVATE KEY-----\nMIIB...\n-----END RSA PRIVATE KEY-----"}, "PEM block"),
        ({"v": "id AKIAABCDEFGHIJKLMNOP here"}, "AWS access key id"),
        ({"DATABASE_URL": "postgres://saleor:hunter2@db:5432/saleor"}, "password inside a URL"),
        ({"CACHE_URL": "rediss://:s3cr3t@cache:6379/0"}, "password inside a URL"),
        ({"env": [{"name": "SECRET_KEY", "value": "changeme"}]}, "literal value"),
        ({"env": [{"name": "DB_PASSWORD", "value": "x"}]}, "literal value"),
        ({"auth": {"clientSecret": "abc"}}, "credential-named key"),
    ],
)
def test_secret_finder_finds_plaintext(doc, finding):
    findings = support.find_plaintext_secrets(doc, "doc")
    assert any(finding in f for f in findings), findings


@pytest.mark.parametrize(
    "doc",
    [
        {"DATABASE_URL": "postgres://{{ .username | urlquery }}:{{ .password | urlquery }}@{{ .host }}:5432/db"},
        {"SECRET_KEY": "{{ .SECRET_KEY }}"},
        {"clientSecret": "$oidc.sso.clientSecret"},
        {"env": [{"name": "SECRET_KEY", "valueFrom": {"secretKeyRef": {"name": "saleor-app", "key": "SECRET_KEY"}}}]},
        {"data": [{"secretKey": "password", "remoteRef": {"key": "jung-dev-saleor-db", "property": "password"}}]},
        {"url": "https://github.com/kyeol/kyeol.git"},
    ],
)
def test_secret_finder_leaves_templates_and_references_alone(doc):
    assert support.find_plaintext_secrets(doc, "doc") == []
