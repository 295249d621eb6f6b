"""The add-on ApplicationSets' Go templates, evaluated by a real Go text/template engine
(:mod:`tests.gitops.gotemplate`: Helm's Go SDK, as no Go toolchain is installed here).

Upstream rules: Go's text/template ``index`` returns the element type's zero value for a
missing map key, whatever ``missingkey`` says (``missingkey=error`` only governs field-style
``.a.b`` lookups; pkg text/template, funcs.go ``index``). Argo CD v3.4.4
(applicationset/utils/utils.go) gives the templates sprig v3.3.0's GenericFuncMap minus
env/expandenv/getHostByName plus normalize/slugify/toYaml/fromYaml/fromYamlArray: no
``required`` (that is Helm's, pkg/engine/funcs.go), so a missing fact must be refused with
sprig's ``fail`` in a ``with … else`` instead."""

from __future__ import annotations

import copy
import re

import pytest

from steps.wiring.config import ADDONS, TARGET_ENVS
from tests.gitops import support
from tests.gitops.gotemplate import (
    ARGOCD_FUNCS,
    TemplateError,
    cluster_params,
    evaluate,
    functions_used,
    render_template,
    template_strings,
)

_FACT = re.compile(r'index \.metadata\.(labels|annotations) "([^"]+)"')


def _facts(appset: dict) -> set[tuple[str, str]]:
    return {m for _, text in template_strings(appset["spec"]["template"]) for m in _FACT.findall(text)}


def test_the_engine_has_go_semantics_for_index_and_knows_helm_only_functions_apart():
    """The defect itself, on the engine: ``index`` of a missing key is "" (no error)."""
    params = {"metadata": {"annotations": {"a": "x"}}}
    assert evaluate('{{ index .metadata.annotations "a" }}|{{ index .metadata.annotations "b" }}|', params) == "x||"
    assert "required" not in ARGOCD_FUNCS and "fail" in ARGOCD_FUNCS and "index" in ARGOCD_FUNCS
    assert functions_used('{{ required "no b" (index .metadata.annotations "b") }}') == {"required", "index"}
    with pytest.raises(TemplateError, match="no b here"):
        evaluate('{{ with index .metadata.annotations "b" }}{{ . }}{{ else }}{{ fail "no b here" }}{{ end }}', params)


def test_templates_use_only_functions_argo_cd_gives_them(appsets):
    for appset in appsets:
        for path, text in template_strings(appset["spec"]["template"]):
            unknown = functions_used(text) - ARGOCD_FUNCS
            assert not unknown, f"{appset['metadata']['name']}{path}: {sorted(unknown)} is not an Argo CD template function"


@pytest.mark.parametrize("env", TARGET_ENVS)
def test_templates_render_every_fact_of_the_cluster_secret(env, appsets, config):
    secret = support.cluster_secret(config.env(env), ADDONS)
    params = cluster_params(secret)
    for appset in appsets:
        rendered = render_template(appset["spec"]["template"], params)
        for table, key in _facts(appset):
            assert secret["metadata"][table][key] in repr(rendered), (appset["metadata"]["name"], key)
        assert not template_strings(rendered), "every template expression was evaluated"


@pytest.mark.parametrize("addon", ADDONS)
def test_a_missing_cluster_secret_fact_fails_generation_naming_it(addon, appsets, config):
    """A cluster Secret without one of the facts the template reads must not yield an
    Application with an empty region, VPC, role or env name: the generation fails and the
    message names the missing annotation or label."""
    (appset,) = [a for a in appsets if a["metadata"]["name"] == addon]
    facts = _facts(appset)
    assert facts, addon
    secret = support.cluster_secret(config.env("dev"), ADDONS)
    for table, key in sorted(facts):
        broken = copy.deepcopy(secret)
        del broken["metadata"][table][key]
        with pytest.raises(TemplateError, match=re.escape(key)):
            render_template(appset["spec"]["template"], cluster_params(broken))
