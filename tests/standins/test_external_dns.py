"""ExternalDNS v0.21.0's zone and record selection (kubernetes-sigs/external-dns@v0.21.0), and
the configuration each env's cluster really gives it.

Upstream: provider/aws/aws.go ``zones()`` keeps a hosted zone only if ``domainFilter.Match(zone
name)``, or, with ``--aws-zone-match-parent``, ``domainFilter.MatchParent(zone name)``;
endpoint/domain_filter.go ``matchFilter`` matches a name equal to a filter or under it; docs/
tutorials/aws.md ("domain filter on a sub-domain"): filtering on a sub-domain of the zone needs
``--aws-zone-match-parent``."""

from __future__ import annotations

from pathlib import Path

import pytest

from steps.phases.phase5_register import cluster_secret
from steps.wiring.config import TARGET_ENVS, load_config
from tests.standins.external_dns import (
    Config,
    DomainFilter,
    chart_args,
    deployed_values,
    find_zone,
)
from tests.standins.external_dns import load_config as external_dns_config

ROOT = Path(__file__).resolve().parents[2]
PLATFORM = ROOT / "kyeol-platform-gitops"
CONFIG = load_config(ROOT / "kyeol.toml")
ZONE_ID = "Z0123456789ABCDEFGHIJ"


def zone(name: str, zone_id: str = ZONE_ID, private: bool = False) -> dict:
    return {"Id": f"/hostedzone/{zone_id}", "Name": name, "Config": {"PrivateZone": private}}


def secret(env: str) -> dict:
    return cluster_secret(
        CONFIG.env(env),
        {
            "argocd_deployer_role_arn": "arn:aws:iam::123456789012:role/d",
            "vpc_id": "vpc-1",
            "hosted_zone_id": ZONE_ID,
            "lbc_role_arn": "arn:aws:iam::123456789012:role/l",
            "external_dns_role_arn": "arn:aws:iam::123456789012:role/x",
            "external_secrets_role_arn": "arn:aws:iam::123456789012:role/e",
            "cluster_autoscaler_role_arn": "arn:aws:iam::123456789012:role/c",
            "cluster_endpoint": "https://k",
            "cluster_certificate_authority_data": "Y2E=",
        },
    )


# ------------------------------------------------------------------ the upstream rules


def test_domain_filter_match_is_the_name_or_below_it():
    """endpoint/domain_filter.go matchFilter: equal, sub-domain, or a leading-dot suffix."""
    f = DomainFilter(("origin-dev.example.org",))
    assert f.match("origin-dev.example.org.")
    assert f.match("a.origin-dev.example.org")
    assert not f.match("example.org.")  # the zone is above the filter: no Match
    assert not f.match("xorigin-dev.example.org")
    assert DomainFilter((".example.org",)).match("a.example.org")
    assert DomainFilter(()).match("anything.test")
    assert not DomainFilter(("example.org",), exclude=("api.example.org",)).match("api.example.org")


def test_match_parent_is_a_zone_above_a_filter_and_ignores_dotted_filters():
    """endpoint/domain_filter.go MatchParent."""
    assert DomainFilter(("origin-dev.example.org",)).match_parent("example.org.")
    assert not DomainFilter(("origin-dev.example.org",)).match_parent("other.org.")
    assert not DomainFilter((".origin-dev.example.org",)).match_parent("example.org.")
    assert not DomainFilter(("a.example.org",), exclude=("example.org",)).match_parent("example.org.")


def test_aws_zone_selection_needs_match_parent_for_a_sub_domain_filter():
    """provider/aws/aws.go zones(): a zone whose name does not match a filter is skipped unless
    --aws-zone-match-parent is set and it is a parent of one; zone-id and zone-type filters
    apply first."""
    args = ["--domain-filter=origin-dev.example.org", f"--zone-id-filter={ZONE_ID}", "--aws-zone-type=public"]
    without = Config.from_args(args)
    with_parent = Config.from_args([*args, "--aws-zone-match-parent"])
    assert not without.selects_zone(zone("example.org."))
    assert with_parent.selects_zone(zone("example.org."))
    assert not with_parent.selects_zone(zone("example.org.", zone_id="ZOTHER"))
    assert not with_parent.selects_zone(zone("example.org.", private=True))
    assert not Config.from_args([*args, "--no-aws-zone-match-parent"]).selects_zone(zone("example.org."))
    assert without.selects_zone(zone("origin-dev.example.org."))  # a zone of its own matches anyway


def test_records_go_to_the_longest_selected_zone_and_only_inside_the_filter():
    """plan/plan.go filterRecordsForPlan and provider/zonefinder.go FindZone."""
    zones = [zone("example.org."), zone("sub.example.org.", "Z2")]
    assert find_zone(zones, "a.sub.example.org")["Id"].endswith("Z2")
    assert find_zone(zones, "a.example.org")["Id"].endswith(ZONE_ID)
    assert find_zone(zones, "a.example.net") is None
    config = Config.from_args(["--domain-filter=origin-dev.example.org"])
    assert config.wants("origin-dev.example.org") and not config.wants("dev.example.org")
    assert config.txt_name("origin-dev.example.org") == "a-origin-dev.example.org"


def test_chart_args_follow_the_charts_extra_args_rules():
    """charts/external-dns 1.21.1 templates/deployment.yaml: a bool extraArgs value is a bare
    flag (or --no-), a string is --key=value, a slice repeats the flag."""
    args = chart_args(
        {
            "policy": "sync",
            "txtOwnerId": "o",
            "domainFilters": ["a.test"],
            "provider": {"name": "aws"},
            "extraArgs": {"aws-zone-match-parent": True, "zone-id-filter": "Z1", "x": False, "y": ["1", "2"]},
        }
    )
    assert args == [
        "--policy=sync",
        "--registry=txt",
        "--txt-owner-id=o",
        "--domain-filter=a.test",
        "--provider=aws",
        "--aws-zone-match-parent",
        "--no-x",
        "--y=1",
        "--y=2",
        "--zone-id-filter=Z1",
    ]


@pytest.mark.parametrize("env", TARGET_ENVS)
def test_chart_args_agree_with_the_real_chart(env):
    """The model's arguments are the ones the real external-dns 1.21.1 chart renders (Helm's Go
    SDK through helm-python-sdk) for the values this cluster gets."""
    import helm_python
    import yaml

    values = deployed_values(PLATFORM, env, secret(env))
    from tests.charts.addons import appset_chart_dir

    # The pinned chart from KYEOL_CHART_MIRROR or its repository (tests/charts/source.py).
    with helm_python.Chart.load(str(appset_chart_dir("external-dns"))) as chart:
        out = chart.render(values=values, name="external-dns", namespace="external-dns")
    (deployment,) = [d for d in yaml.safe_load_all(out["external-dns/templates/deployment.yaml"]) if d]
    rendered = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    model = chart_args(values)
    assert [a for a in rendered if a.split("=")[0] in {m.split("=")[0] for m in model}] == model


# ------------------------------------------------------------------ what each env's cluster runs


@pytest.mark.parametrize("env", TARGET_ENVS)
def test_each_envs_external_dns_selects_the_shared_zone_and_publishes_only_its_origin_names(env):
    """With the values and ApplicationSet arguments the cluster really gets, ExternalDNS selects
    the shared public zone (the domain filters are its sub-domains: --aws-zone-match-parent)
    and writes exactly this env's two origin names — never a viewer name (CloudFront aliases
    that Terraform owns) nor another env's origin."""
    e = CONFIG.env(env)
    config = external_dns_config(PLATFORM, env, secret(env))
    assert config.provider == "aws" and config.policy == "sync" and config.txt_owner_id == e.txt_owner_id
    shared = zone(e.domain + ".")
    assert config.selects_zone(shared), "ExternalDNS would select no hosted zone: no origin record is ever written"
    assert not config.selects_zone(zone(e.domain + ".", zone_id="ZSOMEOTHERZONE"))
    assert not config.selects_zone(zone(e.domain + ".", private=True))
    for host in e.origin_hosts:
        assert config.wants(host) and find_zone([shared], host) is shared
    others = {h for n in TARGET_ENVS if n != env for h in CONFIG.env(n).origin_hosts}
    for host in (*e.public_hosts, e.domain, *others):
        assert not config.wants(host), host
