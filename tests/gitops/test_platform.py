"""The platform tree (kyeol-platform-gitops): Argo CD's own values, the app-of-apps and its
AppProjects, and the add-on ApplicationSets, checked through the Applications they generate
for every environment's cluster Secret."""

from __future__ import annotations

from typing import Any

import yaml

from steps.wiring.config import ADDONS, ARGOCD_SERVICE_ACCOUNTS, SERVICE_ACCOUNTS, TARGET_ENVS
from tests.gitops import support

ARGOCD_VALUES = support.PLATFORM / "clusters" / "mgmt" / "argocd-values.yaml"
HEALTH_KEY = "resource.customizations.health.argoproj.io_Application"


def _argocd_values() -> dict[str, Any]:
    return yaml.safe_load(ARGOCD_VALUES.read_text(encoding="utf-8"))


def _values_file(app: dict[str, Any]) -> dict[str, Any]:
    [chart] = [s for s in app["spec"]["sources"] if "chart" in s]
    [value_file] = chart["helm"]["valueFiles"]
    assert value_file.startswith("$values/")
    return yaml.safe_load((support.ROOT / value_file.removeprefix("$values/")).read_text(encoding="utf-8"))


def _by_name(apps: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {a["metadata"]["name"]: a for a in apps}


# ------------------------------------------------------------------ Argo CD on MGMT


def test_argocd_values_pin_the_image_and_turn_admin_off():
    values = _argocd_values()
    assert values["global"]["image"]["tag"] == support.ARGOCD_APP_VERSION
    cm = values["configs"]["cm"]
    assert cm["admin.enabled"] is False
    assert values["configs"]["rbac"]["policy.default"] == "role:readonly"
    assert values["configs"]["params"]["server.insecure"] is False
    for component in ("redis", "dex"):
        tag = values[component]["image"]["tag"]
        assert tag and tag != "latest", component
    assert "oidc.config" in ARGOCD_VALUES.read_text(encoding="utf-8"), "the SSO placeholder is documented"


def test_argocd_service_accounts_carry_the_manager_role_for_irsa(config):
    values = _argocd_values()
    role = f"arn:aws:iam::{config.mgmt.account_id}:role/{config.argocd_manager_role_name}"
    by_sa = {
        values[key]["serviceAccount"]["name"]: values[key]["serviceAccount"] for key in ("controller", "server", "applicationSet")
    }
    assert set(by_sa) == set(ARGOCD_SERVICE_ACCOUNTS)
    for name, account in by_sa.items():
        assert account["annotations"] == {"eks.amazonaws.com/role-arn": role}, name


def test_every_argocd_component_has_requests_and_limits():
    values = _argocd_values()
    components = (
        "controller",
        "server",
        "repoServer",
        "applicationSet",
        "redis",
        "redisSecretInit",
        "dex",
        "notifications",
        "commitServer",
    )
    for component in components:
        resources = values[component]["resources"]
        assert set(resources) == {"requests", "limits"}, component
        assert {"cpu", "memory"} <= set(resources["requests"]) and {"cpu", "memory"} <= set(resources["limits"]), component
    assert set(values["repoServer"]["copyutil"]["resources"]) == {"requests", "limits"}


def _child_applications(app: dict[str, Any]) -> list[str]:
    """The Applications an Application's Git source renders (what it would be the parent of)."""
    source = app["spec"].get("source") or {}
    if not source.get("path"):
        return []
    docs = support.render(support.ROOT / source["path"])
    return [d["metadata"]["name"] for d in docs if d.get("kind") == "Application"]


def test_no_application_health_check_is_claimed_unless_an_application_has_child_applications(app_of_apps, saleor_apps):
    """Argo CD has assessed no health for argoproj.io/Application resources since v1.8 unless
    argocd-cm has ``resource.customizations.health.argoproj.io_Application`` (argo-cd
    docs/operator-manual/health.md, "Argo CD App"); such a check orders something only when an
    Application manages Applications. The check and the README's claim exist exactly then."""
    applications = [*support.find(app_of_apps, "Application"), *saleor_apps.values()]
    parents = {a["metadata"]["name"]: _child_applications(a) for a in applications}
    has_children = any(parents.values())
    cm = _argocd_values()["configs"]["cm"]
    readme = (support.PLATFORM / "README.md").read_text(encoding="utf-8")
    assert (HEALTH_KEY in cm) is has_children, parents
    assert ("wait for its child Applications" in readme) is has_children, parents


# ------------------------------------------------------------------ app-of-apps and projects


def test_root_application_syncs_the_addon_folder_into_argocd(app_of_apps, config):
    root = support.one(app_of_apps, "Application", "platform-root")
    spec = root["spec"]
    assert spec["project"] == "platform"
    assert spec["destination"] == {"name": "in-cluster", "namespace": "argocd"}
    assert spec["source"] == {
        "repoURL": config.git_repo_url,
        "targetRevision": config.git_revision,
        "path": "kyeol-platform-gitops/argocd/applications",
    }
    assert (support.ROOT / spec["source"]["path"] / "kustomization.yaml").is_file()
    assert spec["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert {d["kind"] for d in app_of_apps} == {"Application", "AppProject"}
    assert {p["metadata"]["name"] for p in support.find(app_of_apps, "AppProject")} == {"platform", "apps"}


def _permits(project: dict[str, Any], app: dict[str, Any]) -> list[str]:
    """Why project would refuse app (empty when Argo CD would accept it)."""
    spec = project["spec"]
    problems = []
    sources = app["spec"].get("sources") or [app["spec"]["source"]]
    for source in sources:
        if source["repoURL"] not in spec["sourceRepos"]:
            problems.append(f"source {source['repoURL']} not in sourceRepos")
    destination = app["spec"]["destination"]
    if not any(d["name"] == destination["name"] and d["namespace"] == destination["namespace"] for d in spec["destinations"]):
        problems.append(f"destination {destination} not allowed")
    return problems


def test_every_application_fits_its_project(app_of_apps, addon_apps, saleor_apps):
    projects = {p["metadata"]["name"]: p for p in support.find(app_of_apps, "AppProject")}
    apps = support.find(app_of_apps, "Application") + addon_apps + list(saleor_apps.values())
    for app in apps:
        project = projects[app["spec"]["project"]]
        assert not _permits(project, app), f"{app['metadata']['name']}: {_permits(project, app)}"
    # Nothing in the projects is unused: every destination and repository serves some app.
    for name, project in projects.items():
        members = [a for a in apps if a["spec"]["project"] == name]
        used_destinations = {(a["spec"]["destination"]["name"], a["spec"]["destination"]["namespace"]) for a in members}
        assert {(d["name"], d["namespace"]) for d in project["spec"]["destinations"]} == used_destinations, name
        used_repos = {s["repoURL"] for a in members for s in (a["spec"].get("sources") or [a["spec"]["source"]])}
        assert set(project["spec"]["sourceRepos"]) == used_repos, name


def test_projects_are_least_privilege(app_of_apps, config):
    projects = {p["metadata"]["name"]: p["spec"] for p in support.find(app_of_apps, "AppProject")}
    apps = projects["apps"]
    assert apps["sourceRepos"] == [config.git_repo_url]
    assert {d["namespace"] for d in apps["destinations"]} == {"saleor"}
    assert apps["clusterResourceWhitelist"] == [{"group": "", "kind": "Namespace"}]
    assert {"group": "", "kind": "Secret"} not in apps["namespaceResourceWhitelist"], (
        "app secrets come from External Secrets only"
    )
    for spec in projects.values():
        for entry in spec["clusterResourceWhitelist"] + spec.get("namespaceResourceWhitelist", []):
            assert "*" not in (entry["group"], entry["kind"]), entry
        assert all("*" not in repo for repo in spec["sourceRepos"])
        assert all("*" not in (d["name"], d["namespace"]) for d in spec["destinations"])
    platform_clusters = {d["name"] for d in projects["platform"]["destinations"]} - {"in-cluster"}
    assert platform_clusters == {config.env(e).cluster_name for e in TARGET_ENVS}


# ------------------------------------------------------------------ add-on ApplicationSets


def test_each_environment_gets_every_addon_as_addon_env(addon_apps, config):
    names = sorted(a["metadata"]["name"] for a in addon_apps)
    assert names == sorted(f"{addon}-{env}" for addon in ADDONS for env in TARGET_ENVS)
    for app in addon_apps:
        labels = app["metadata"]["labels"]
        env = labels["kyeol.io/env"]
        assert app["metadata"]["name"] == f"{labels['kyeol.io/addon']}-{env}"
        assert labels["kyeol.io/component"] == "addon"
        assert app["metadata"]["namespace"] == "argocd"
        assert app["spec"]["project"] == "platform"
        assert app["spec"]["destination"]["name"] == config.env(env).cluster_name


def test_clusters_without_the_addon_label_get_no_application(appsets, config):
    bare = support.cluster_secret(config.env("dev"), addons=())
    assert [a for s in appsets for a in support.generate_applications(s, [bare])] == []
    only_dns = support.cluster_secret(config.env("dev"), addons=("external-dns",))
    assert [a["metadata"]["name"] for s in appsets for a in support.generate_applications(s, [only_dns])] == ["external-dns-dev"]


def test_templates_read_only_the_cluster_secret_facts_phase_5_writes(appsets):
    for appset in appsets:
        for table, key in support.template_facts(appset["spec"]["template"]):
            if table == "annotations":
                assert key in support.CLUSTER_SECRET_ANNOTATIONS, key
            else:
                assert key == "kyeol.io/env", key


def test_charts_are_pinned_to_exact_versions_with_values_from_this_repo(addon_apps, config):
    for app in addon_apps:
        addon = app["metadata"]["labels"]["kyeol.io/addon"]
        env = app["metadata"]["labels"]["kyeol.io/env"]
        repo, chart, version, namespace = support.ADDON_CHARTS[addon]
        [chart_source] = [s for s in app["spec"]["sources"] if "chart" in s]
        assert (chart_source["repoURL"], chart_source["chart"], chart_source["targetRevision"]) == (repo, chart, version)
        assert chart_source["helm"]["releaseName"] == addon
        assert chart_source["helm"]["valueFiles"] == [f"$values/kyeol-platform-gitops/clusters/{env}/{addon}-values.yaml"]
        [ref] = [s for s in app["spec"]["sources"] if s.get("ref") == "values"]
        assert (ref["repoURL"], ref["targetRevision"]) == (config.git_repo_url, config.git_revision)
        assert app["spec"]["destination"]["namespace"] == namespace


def test_every_values_file_named_exists_and_every_values_file_is_named(addon_apps):
    named = set()
    for app in addon_apps:
        for source in app["spec"]["sources"]:
            for value_file in source.get("helm", {}).get("valueFiles", []):
                path = support.ROOT / value_file.removeprefix("$values/")
                assert path.is_file(), f"{app['metadata']['name']} names missing {value_file}"
                named.add(path)
            if "path" in source:
                assert (support.ROOT / source["path"] / "kustomization.yaml").is_file(), source["path"]
    on_disk = {p for env in TARGET_ENVS for p in (support.PLATFORM / "clusters" / env).glob("*-values.yaml")}
    assert on_disk == named


def test_service_accounts_are_the_ones_the_irsa_trust_policies_name(addon_apps, config):
    for app in addon_apps:
        addon = app["metadata"]["labels"]["kyeol.io/addon"]
        if addon not in SERVICE_ACCOUNTS:
            continue
        namespace, account = SERVICE_ACCOUNTS[addon]
        path = support.SERVICE_ACCOUNT_VALUES.get(addon, ("serviceAccount",))

        def at(values: dict[str, Any]) -> dict[str, Any]:
            for key in path:
                values = values[key]
            return values

        assert at(_values_file(app))["name"] == account
        assert app["spec"]["destination"]["namespace"] == namespace
        env = config.env(app["metadata"]["labels"]["kyeol.io/env"])
        [chart] = [s for s in app["spec"]["sources"] if "chart" in s]
        role = at(chart["helm"]["valuesObject"])["annotations"]["eks.amazonaws.com/role-arn"]
        purpose = {"aws-load-balancer-controller": "lbc"}.get(addon, addon)
        assert role == f"arn:aws:iam::{env.account_id}:role/{env.role_name(purpose)}"


def test_load_balancer_controller_gets_cluster_region_and_vpc_explicitly(addon_apps, config):
    for app in addon_apps:
        if app["metadata"]["labels"]["kyeol.io/addon"] != "aws-load-balancer-controller":
            continue
        env = config.env(app["metadata"]["labels"]["kyeol.io/env"])
        [chart] = [s for s in app["spec"]["sources"] if "chart" in s]
        obj = chart["helm"]["valuesObject"]
        assert (obj["clusterName"], obj["region"]) == (env.cluster_name, env.region)
        assert obj["vpcId"].startswith("vpc-")
        assert _values_file(app)["enableServiceMutatorWebhook"] is False


def test_external_dns_owns_only_this_environments_origin_names(addon_apps, config):
    for app in addon_apps:
        if app["metadata"]["labels"]["kyeol.io/addon"] != "external-dns":
            continue
        env = config.env(app["metadata"]["labels"]["kyeol.io/env"])
        values = _values_file(app)
        assert values["provider"] == {"name": "aws"}
        assert values["policy"] == "sync"
        assert values["txtOwnerId"] == env.txt_owner_id
        assert sorted(values["domainFilters"]) == sorted(env.origin_hosts)
        assert not set(values["domainFilters"]) & {config.domain, *env.public_hosts}
        assert sorted(values["sources"]) == ["ingress", "service"]
        assert values["annotationPrefix"] == "external-dns.alpha.kubernetes.io/"
        [chart] = [s for s in app["spec"]["sources"] if "chart" in s]
        assert chart["helm"]["valuesObject"]["env"] == [{"name": "AWS_DEFAULT_REGION", "value": env.region}]


def test_secret_store_reads_secrets_manager_through_irsa_after_the_crds(addon_apps, config):
    for app in addon_apps:
        if app["metadata"]["labels"]["kyeol.io/addon"] != "external-secrets":
            continue
        env = config.env(app["metadata"]["labels"]["kyeol.io/env"])
        [manifests] = [s for s in app["spec"]["sources"] if "path" in s]
        [store] = support.render(support.ROOT / manifests["path"])
        assert store["kind"] == "ClusterSecretStore" and store["metadata"]["name"] == "aws-secrets-manager"
        aws = store["spec"]["provider"]["aws"]
        assert (aws["service"], aws["region"]) == ("SecretsManager", env.region)
        namespace, account = SERVICE_ACCOUNTS["external-secrets"]
        assert aws["auth"]["jwt"]["serviceAccountRef"] == {"name": account, "namespace": namespace}
        assert store["spec"]["conditions"] == [{"namespaces": ["saleor"]}]
        # The chart's objects (CRDs, controller, webhook) are wave 0; the store must follow.
        assert int(store["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]) > 0
        assert "SkipDryRunOnMissingResource=true" in store["metadata"]["annotations"]["argocd.argoproj.io/sync-options"]
        assert _values_file(app)["installCRDs"] is True


def test_sync_policies_heal_create_namespaces_and_never_prune_crds(addon_apps):
    crd_charts = {"aws-load-balancer-controller", "external-secrets"}
    for app in addon_apps:
        addon = app["metadata"]["labels"]["kyeol.io/addon"]
        policy = app["spec"]["syncPolicy"]
        assert policy["automated"]["selfHeal"] is True
        assert policy["automated"]["prune"] is (addon not in crd_charts), addon
        assert "CreateNamespace=true" in policy["syncOptions"]
        assert ("ServerSideApply=true" in policy["syncOptions"]) is (addon in crd_charts), addon
        assert policy["retry"]["limit"] > 0


def test_controllers_come_before_the_addons_that_depend_on_them(appsets):
    waves = {a["metadata"]["name"]: int(a["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]) for a in appsets}
    assert waves["aws-load-balancer-controller"] < waves["external-secrets"] < waves["external-dns"]
    assert waves["external-secrets"] < waves["metrics-server"]
