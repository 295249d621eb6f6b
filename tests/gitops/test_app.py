"""The rendered Saleor overlays (kyeol-app-gitops): runbook §1 hostnames, the origin-only ALB,
hardened workloads, pinned images, secrets only through External Secrets, exactly one beat
and the PreSync migration hook."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from steps.wiring.config import IMAGES, TARGET_ENVS
from tests.gitops import support
from tests.infra.app_contract import go_replace_all

ENVS = pytest.mark.parametrize("env", TARGET_ENVS)
PROBES = ("readinessProbe", "livenessProbe")
SENTINEL = "kyeol-origin-verify-pending"
# Hostnames under the domain (not e-mail domains: DEFAULT_FROM_EMAIL=noreply@<domain>).
HOST = re.compile(r"(?<![@\w.-])(?:[a-z0-9-]+\.)*mgz-g2-u3\.shop\b")


def _workloads(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] in support.WORKLOAD_KINDS]


def _deployment_running(docs: list[dict[str, Any]], *words: str) -> list[dict[str, Any]]:
    return [
        d
        for d in support.find(docs, "Deployment")
        if any(all(w in c.get("command", []) for w in words) for c in support.containers(d, init=False))
    ]


def _config(docs: list[dict[str, Any]], name: str = "saleor-config") -> dict[str, str]:
    matches = [d for d in support.find(docs, "ConfigMap") if re.fullmatch(rf"{name}(-[a-z0-9]{{10}})?", d["metadata"]["name"])]
    assert len(matches) == 1, f"expected one ConfigMap {name}"
    return matches[0]["data"]


def _ingress(docs: list[dict[str, Any]]) -> dict[str, Any]:
    return support.one(docs, "Ingress", "saleor")


# ------------------------------------------------------------------ hostnames (runbook §1)


@ENVS
def test_public_hostnames_are_exactly_runbook_section_1(env, overlays, config):
    """Every public (viewer) hostname the overlay names is one of this env's two runbook
    hosts, and both are there; no other environment's host appears anywhere."""
    e = config.env(env)
    text = yaml.safe_dump_all(overlays[env], width=float("inf"))
    named = set(HOST.findall(text))
    origins = set(e.origin_hosts)
    assert named - origins == {e.service_host, e.api_host}
    other_envs = {h for n in TARGET_ENVS if n != env for h in (*config.env(n).public_hosts, *config.env(n).origin_hosts)}
    assert not named & other_envs
    cfg = _config(overlays[env])
    assert cfg["PUBLIC_URL"] == f"{e.api_url}/"
    assert cfg["DASHBOARD_API_URL"] == e.graphql_url
    assert cfg["ALLOWED_CLIENT_HOSTS"] == e.service_host
    assert cfg["ALLOWED_GRAPHQL_ORIGINS"] == e.service_url


@ENVS
def test_ingress_serves_origin_names_only(env, overlays, config):
    e = config.env(env)
    ingress = _ingress(overlays[env])
    hosts = [rule["host"] for rule in ingress["spec"]["rules"]]
    assert hosts == [e.origin_api_host, e.origin_service_host]
    assert not set(hosts) & set(e.public_hosts), "an Ingress host equal to a CloudFront name would fight Terraform's alias"
    assert ingress["spec"]["tls"] == [{"hosts": hosts}]
    annotations = ingress["metadata"]["annotations"]
    assert annotations["external-dns.alpha.kubernetes.io/hostname"].split(",") == hosts
    assert annotations["external-dns.alpha.kubernetes.io/ingress-hostname-source"] == "annotation-only"
    backends = {
        (r["host"], p["path"]): p["backend"]["service"]["name"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]
    }
    assert backends == {
        (e.origin_api_host, "/"): "saleor-api",
        (e.origin_service_host, "/dashboard"): "saleor-dashboard",
        (e.origin_service_host, "/"): "saleor-storefront",
    }


@ENVS
def test_saleor_accepts_the_host_header_cloudfront_forwards(env, overlays, config):
    """AllViewerExceptHostHeader: the origin request's Host is the origin name."""
    e = config.env(env)
    for name in ("saleor-config", "saleor-migrate-config"):
        cfg = _config(overlays[env], name)
        assert e.origin_api_host in cfg["ALLOWED_HOSTS"].split(",")
        assert cfg["DEBUG"] == "False"
        assert cfg["DEFAULT_FROM_EMAIL"].endswith(f"@{config.domain}")


# ------------------------------------------------------------------ the origin ALB


@ENVS
def test_alb_is_internet_facing_https_only_and_admits_only_cloudfront(env, overlays, config):
    annotations = _ingress(overlays[env])["metadata"]["annotations"]
    alb = {
        k.removeprefix("alb.ingress.kubernetes.io/"): v
        for k, v in annotations.items()
        if k.startswith("alb.ingress.kubernetes.io/")
    }
    assert alb["scheme"] == "internet-facing"
    assert alb["target-type"] == "ip"
    assert alb["group.name"] == f"saleor-{env}"
    assert json.loads(alb["listen-ports"]) == [{"HTTPS": 443}]
    assert alb["ssl-policy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert alb["healthcheck-path"] == "/health/"
    assert re.fullmatch(r"pl-[0-9a-f]{8,17}", alb["security-group-prefix-lists"])
    # With a prefix list and no inbound-cidrs the controller opens nothing else; any CIDR
    # listed would be admitted *in addition* to CloudFront.
    assert "inbound-cidrs" not in alb
    assert "wafv2-acl-arn" not in alb, "the CLOUDFRONT-scope web ACL cannot attach to an ALB"


@ENVS
def test_every_forwarding_rule_requires_the_origin_header_and_the_default_is_403(env, overlays, config):
    ingress = _ingress(overlays[env])
    annotations = ingress["metadata"]["annotations"]
    services = {p["backend"]["service"]["name"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]}
    for service in services:
        conditions = json.loads(annotations[f"alb.ingress.kubernetes.io/conditions.{service}"])
        assert conditions == [
            {"field": "http-header", "httpHeaderConfig": {"httpHeaderName": "X-Origin-Verify", "values": [SENTINEL]}}
        ], "Git holds only the fail-closed sentinel; kyeol injects the real value at deploy time"
    default = ingress["spec"]["defaultBackend"]["service"]
    assert default["port"] == {"name": "use-annotation"}
    action = json.loads(annotations[f"alb.ingress.kubernetes.io/actions.{default['name']}"])
    assert action["type"] == "fixed-response" and action["fixedResponseConfig"]["statusCode"] == "403"
    assert ingress["metadata"]["labels"]["kyeol.io/origin-verify"] == "true"
    assert annotations["kyeol.io/origin-verify-secret-name"] == config.env(env).secret_name("origin-verify")


@ENVS
def test_target_group_health_checks_match_each_backend(env, overlays):
    services = {s["metadata"]["name"]: s for s in support.find(overlays[env], "Service")}
    storefront = services["saleor-storefront"]["metadata"]["annotations"]
    assert storefront["alb.ingress.kubernetes.io/healthcheck-path"] == "/"
    assert storefront["alb.ingress.kubernetes.io/success-codes"] == "200-399"
    dashboard = services["saleor-dashboard"]["metadata"]["annotations"]
    assert dashboard["alb.ingress.kubernetes.io/healthcheck-path"] == "/dashboard/"
    assert {s["spec"]["ports"][0]["port"] for s in services.values()} == {8000, 80, 3000}


# ------------------------------------------------------------------ workloads


def _alb_backends(docs: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(Service, Deployment) pairs the Ingress's rules send ALB traffic to."""
    names = {path["backend"]["service"]["name"] for rule in _ingress(docs)["spec"]["rules"] for path in rule["http"]["paths"]}
    pairs = []
    for name in sorted(names):
        service = support.one(docs, "Service", name)
        selector = service["spec"]["selector"]
        [deployment] = [
            d for d in support.find(docs, "Deployment") if selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        pairs.append((service, deployment))
    return pairs


@ENVS
def test_rolling_updates_drain_alb_targets_before_pods_stop(env, overlays, saleor_apps):
    """aws-load-balancer-controller v3.5.0 docs/guide/ingress/annotations.md: target-group
    attributes come from ``alb.ingress.kubernetes.io/target-group-attributes`` (Ingress or
    Service; the Service's wins), ``deregistration_delay.timeout_seconds`` in 0-3600 (ELB's
    default 300 s would hold every rollout five minutes per pod). docs/deploy/pod_readiness_gate.md:
    with target-type ip and the namespace labelled ``elbv2.k8s.aws/pod-readiness-gate-inject``,
    a new pod is Ready only once its target is healthy; the old pod, though, keeps getting new
    requests until the controller has deregistered it, and a pod that exits before the ALB
    stopped routing to it answers 502. So each backend pod pauses in preStop for longer than
    the deregistration delay (it serves while the ALB drains it), and its grace period is longer
    than that pause (SIGTERM still leaves the server time to finish)."""
    docs = overlays[env]
    ingress = _ingress(docs)
    assert ingress["metadata"]["annotations"]["alb.ingress.kubernetes.io/target-type"] == "ip"
    namespace_labels = saleor_apps[env]["spec"]["syncPolicy"]["managedNamespaceMetadata"]["labels"]
    assert namespace_labels["elbv2.k8s.aws/pod-readiness-gate-inject"] == "enabled"
    backends = _alb_backends(docs)
    assert {d["metadata"]["name"] for _, d in backends} == {"saleor-api", "saleor-dashboard", "saleor-storefront"}
    for service, deployment in backends:
        name = deployment["metadata"]["name"]
        annotations = {**ingress["metadata"]["annotations"], **(service["metadata"].get("annotations") or {})}
        attributes = dict(
            pair.split("=", 1)
            for pair in annotations.get("alb.ingress.kubernetes.io/target-group-attributes", "").split(",")
            if pair
        )
        assert "deregistration_delay.timeout_seconds" in attributes, f"{name}: ELB's default 300 s deregistration delay"
        delay = int(attributes["deregistration_delay.timeout_seconds"])
        assert 0 < delay <= 3600, name
        spec = support.pod_spec(deployment)
        for container in spec["containers"]:
            pre_stop = (container.get("lifecycle") or {}).get("preStop") or {}
            assert "sleep" in pre_stop, (
                f"{name}/{container['name']}: no preStop pause, the pod exits while the ALB still routes to it"
            )
            pause = int(pre_stop["sleep"]["seconds"])
            assert pause > delay, f"{name}: preStop {pause}s must outlast the deregistration delay {delay}s"
            assert spec["terminationGracePeriodSeconds"] > pause, (
                f"{name}: the grace period must leave time after the preStop pause"
            )


@ENVS
def test_every_workload_has_probes_requests_limits_and_runs_hardened(env, overlays):
    workloads = _workloads(overlays[env])
    assert {w["metadata"]["name"] for w in workloads} == {
        "saleor-api",
        "saleor-worker",
        "saleor-beat",
        "saleor-dashboard",
        "saleor-storefront",
        "saleor-migrate",
    }
    for workload in workloads:
        name = f"{workload['kind']}/{workload['metadata']['name']}"
        spec = support.pod_spec(workload)
        assert spec["automountServiceAccountToken"] is False, name
        pod_sc = spec["securityContext"]
        assert pod_sc["runAsNonRoot"] is True and pod_sc["runAsUser"] >= 10000, name
        assert pod_sc["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in support.containers(workload):
            where = f"{name} container {container['name']}"
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]) and {"cpu", "memory"} <= set(resources["limits"]), where
            sc = container["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["readOnlyRootFilesystem"] is True, where
            assert sc["capabilities"] == {"drop": ["ALL"]}, where
            assert sc.get("runAsNonRoot", pod_sc["runAsNonRoot"]) is True, where
        if workload["kind"] not in ("Job", "CronJob"):
            for container in support.containers(workload, init=False):
                missing = [p for p in PROBES if p not in container]
                assert not missing, f"{name} container {container['name']} lacks {missing}"


@ENVS
def test_api_serves_8000_with_health_probes_and_is_autoscaled_and_protected(env, overlays):
    docs = overlays[env]
    api = support.one(docs, "Deployment", "saleor-api")
    container = support.containers(api, init=False)[0]
    assert container["ports"][0]["containerPort"] == 8000
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/health/"
    assert "replicas" not in api["spec"], "the HPA owns the replica count"
    hpa = support.one(docs, "HorizontalPodAutoscaler", "saleor-api")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "saleor-api"
    assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    pdb = support.one(docs, "PodDisruptionBudget", "saleor-api")
    assert pdb["spec"]["selector"]["matchLabels"] == api["spec"]["selector"]["matchLabels"]


@ENVS
def test_dashboard_and_storefront_runtime_settings(env, overlays, config):
    docs = overlays[env]
    dashboard = support.containers(support.one(docs, "Deployment", "saleor-dashboard"), init=False)[0]
    env_vars = {v["name"]: v for v in dashboard["env"]}
    ref = env_vars["API_URL"]["valueFrom"]["configMapKeyRef"]
    assert support.one(docs, "ConfigMap", ref["name"])["data"][ref["key"]] == config.env(env).graphql_url
    assert env_vars["APP_MOUNT_URI"]["value"] == "/dashboard/"
    assert dashboard["ports"][0]["containerPort"] == 80
    storefront = support.containers(support.one(docs, "Deployment", "saleor-storefront"), init=False)[0]
    values = {v["name"]: v.get("value") for v in storefront["env"]}
    assert (values["HOSTNAME"], values["PORT"]) == ("0.0.0.0", "3000")
    assert storefront["ports"][0]["containerPort"] == 3000


@ENVS
def test_exactly_one_beat_and_workers_without_embedded_beat(env, overlays):
    docs = overlays[env]
    beats = _deployment_running(docs, "beat")
    assert [b["metadata"]["name"] for b in beats] == ["saleor-beat"]
    beat = beats[0]
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    assert support.containers(beat, init=False)[0]["command"][:6] == [
        "celery",
        "--app",
        "saleor.celeryconf:app",
        "beat",
        "--scheduler",
        "saleor.schedulers.schedulers.DatabaseScheduler",
    ]
    scaled = {h["spec"]["scaleTargetRef"]["name"] for h in support.find(docs, "HorizontalPodAutoscaler")}
    assert "saleor-beat" not in scaled
    workers = _deployment_running(docs, "worker")
    assert [w["metadata"]["name"] for w in workers] == ["saleor-worker"]
    command = support.containers(workers[0], init=False)[0]["command"]
    assert command[:5] == ["celery", "--app", "saleor.celeryconf:app", "worker", "-E"]
    assert "-B" not in command and "--beat" not in command


@ENVS
def test_migrations_run_as_a_presync_hook_with_their_prerequisites_before_them(env, overlays):
    docs = overlays[env]
    job = support.one(docs, "Job", "saleor-migrate")
    annotations = job["metadata"]["annotations"]
    assert annotations["argocd.argoproj.io/hook"] == "PreSync"
    assert annotations["argocd.argoproj.io/hook-delete-policy"] == "BeforeHookCreation"
    container = support.containers(job, init=False)[0]
    assert container["command"][:3] == ["python3", "manage.py", "migrate"]
    # Everything the Job references must itself exist in PreSync, in an earlier wave.
    spec = support.pod_spec(job)
    needed = [("ServiceAccount", spec["serviceAccountName"])]
    for source in container["envFrom"]:
        kind = "ConfigMap" if "configMapRef" in source else "ExternalSecret"
        needed.append((kind, (source.get("configMapRef") or source.get("secretRef"))["name"]))
    job_wave = int(annotations["argocd.argoproj.io/sync-wave"])
    for kind, name in needed:
        hook = support.one(docs, kind, name)["metadata"]["annotations"]
        assert hook["argocd.argoproj.io/hook"] == "PreSync", f"{kind}/{name}"
        assert int(hook["argocd.argoproj.io/sync-wave"]) < job_wave, f"{kind}/{name}"
    assert _config(docs, "saleor-migrate-config") == _config(docs, "saleor-config")


def _pod_environment(docs: list[dict[str, Any]], workload: dict[str, Any], stored: dict[str, dict[str, str]]) -> dict[str, str]:
    """The environment ``workload``'s first container gets from its envFrom, with each
    ExternalSecret's Secrets Manager entries replaced by ``stored`` (entry → key/values) and its
    templates evaluated the way External Secrets' v2 engine reads them here (``{{ .k }}`` and
    ``{{ .k | urlquery }}``; dataFrom extract entries merged in order, rewrite regexps applied)."""
    from urllib.parse import quote_plus

    env: dict[str, str] = {}
    for source in support.containers(workload, init=False)[0].get("envFrom", []):
        if "configMapRef" in source:
            env.update(_config(docs, source["configMapRef"]["name"]))
            continue
        es = support.one(docs, "ExternalSecret", source["secretRef"]["name"])
        merged: dict[str, str] = {}
        for item in es["spec"]["dataFrom"]:
            data = dict(stored[item["extract"]["key"]])
            for rule in item.get("rewrite", []):
                rx = rule["regexp"]
                data = {go_replace_all(rx["source"], rx["target"], k): v for k, v in data.items()}
            merged.update(data)

        def value(match: re.Match[str]) -> str:
            found = merged[match.group(1)]
            return quote_plus(found) if match.group(2) else found

        for key, template in es["spec"]["target"]["template"]["data"].items():
            env[key] = re.sub(r"\{\{ \.(\w+)( \| urlquery)? \}\}", value, template)
    return env


@ENVS
def test_the_migration_job_queues_tasks_on_the_workers_broker(env, overlays, config):
    """Saleor 3.23.28 saleor/settings.py: ``CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL",
    os.environ.get("CLOUDAMQP_URL")) or ""`` and ``CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL``.
    A migrate Job without the broker runs every task a data migration enqueues inline, inside
    the PreSync hook (1 Gi, 1200 s, no S3 role). So the Job's environment, evaluated from its
    ExternalSecret against Secrets Manager entries whose database and cache hosts differ, must
    carry exactly the workers' broker URL, and still the database's own host."""
    e = config.env(env)
    docs = overlays[env]
    stored = {
        e.secret_name("saleor-db"): {
            "username": "saleor",
            "password": "p@ss",
            "host": "db.internal",
            "port": "5432",
            "dbname": "saleor",
        },
        e.secret_name("saleor-cache"): {"auth_token": "t/k+n", "host": "valkey.internal", "port": "6379"},
        e.secret_name("saleor-app"): {"SECRET_KEY": "k", "RSA_PRIVATE_KEY": "r"},
    }
    worker = _pod_environment(docs, support.one(docs, "Deployment", "saleor-worker"), stored)
    migrate = _pod_environment(docs, support.one(docs, "Job", "saleor-migrate"), stored)
    broker = migrate.get("CELERY_BROKER_URL") or migrate.get("CLOUDAMQP_URL") or ""
    assert broker, "CELERY_TASK_ALWAYS_EAGER would be True in the migration Job"
    assert broker == worker["CELERY_BROKER_URL"] == "rediss://:t%2Fk%2Bn@valkey.internal:6379/1?ssl_cert_reqs=required"
    assert migrate["DATABASE_URL"] == worker["DATABASE_URL"]
    assert "@db.internal:5432/" in migrate["DATABASE_URL"]


# ------------------------------------------------------------------ images


@ENVS
def test_images_are_pinned_and_exactly_architecture_section_6(env, overlays, config):
    registry = f"{config.mgmt.account_id}.dkr.ecr.{config.region}.amazonaws.com"
    tags = {"saleor-api": "3.23.28", "saleor-dashboard": "3.23.27", "saleor-storefront": f"1.0.0-{env}"}
    images = {c["image"] for w in _workloads(overlays[env]) for c in support.containers(w)}
    assert images == {f"{registry}/{config.ecr_repository(i)}:{tags[i]}" for i in IMAGES}
    for image in images:
        reference = image.rsplit("/", 1)[-1]
        assert ":" in reference or "@sha256:" in reference, image
        assert not reference.endswith(":latest"), image
    kustomization = support.load_docs(support.APP / "apps" / "saleor" / "overlays" / env / "kustomization.yaml")[0]
    assert [i["name"] for i in kustomization["images"]] == list(IMAGES)


# ------------------------------------------------------------------ secrets


@ENVS
def test_no_plaintext_secret_in_the_rendered_overlay(env, overlays):
    findings = [f for d in overlays[env] for f in support.find_plaintext_secrets(d, f"{d['kind']}/{d['metadata']['name']}")]
    assert not findings, "\n".join(findings)
    assert not support.find(overlays[env], "Secret"), "Secrets come from ExternalSecrets, never from Git"


def test_no_plaintext_secret_in_any_file_of_the_two_trees():
    for tree in (support.PLATFORM, support.APP):
        for path in sorted(p for p in tree.rglob("*") if p.is_file()):
            text = path.read_text(encoding="utf-8")
            findings = []
            if path.suffix in (".yaml", ".yml"):
                for doc in yaml.safe_load_all(text):
                    findings += support.find_plaintext_secrets(doc, str(path.relative_to(support.ROOT)))
            else:
                findings += support.find_plaintext_secrets(text, str(path.relative_to(support.ROOT)))
            assert not findings, "\n".join(findings)


@ENVS
def test_pods_get_their_settings_from_external_secrets_of_this_environment(env, overlays, config):
    e = config.env(env)
    docs = overlays[env]
    remote = {
        es["metadata"]["name"]: [source["extract"]["key"] for source in es["spec"]["dataFrom"]]
        for es in support.find(docs, "ExternalSecret")
    }
    db, cache, app = e.secret_name("saleor-db"), e.secret_name("saleor-cache"), e.secret_name("saleor-app")
    assert remote == {"saleor-db": [db], "saleor-cache": [cache], "saleor-app": [app], "saleor-migrate-env": [db, app, cache]}
    store = {"kind": "ClusterSecretStore", "name": "aws-secrets-manager"}
    templates = {}
    for es in support.find(docs, "ExternalSecret"):
        assert es["spec"]["secretStoreRef"] == store
        assert es["spec"]["target"]["name"] == es["metadata"]["name"]
        templates.update(es["spec"]["target"]["template"]["data"])
    assert templates["DATABASE_URL"].startswith("postgres://")
    assert templates["CACHE_URL"].startswith("rediss://")
    assert templates["CELERY_BROKER_URL"].startswith("rediss://")
    assert {"SECRET_KEY", "RSA_PRIVATE_KEY"} <= set(templates)
    secret_names = {es["spec"]["target"]["name"] for es in support.find(docs, "ExternalSecret")}
    for workload in _workloads(docs):
        for container in support.containers(workload, init=False):
            for source in container.get("envFrom", []):
                if "secretRef" in source:
                    assert source["secretRef"]["name"] in secret_names


# ------------------------------------------------------------------ media (S3 through IRSA)


@ENVS
def test_only_the_api_and_worker_accounts_assume_the_environments_media_role(env, overlays, config):
    """IRSA for the two processes that store uploads; the rest keep no AWS identity at all."""
    e = config.env(env)
    roles = {
        sa["metadata"]["name"]: (sa["metadata"].get("annotations") or {}).get("eks.amazonaws.com/role-arn")
        for sa in support.find(overlays[env], "ServiceAccount")
    }
    want = f"arn:aws:iam::{e.account_id}:role/{e.role_name('saleor')}"
    assert {name: arn for name, arn in roles.items() if arn} == {"saleor-api": want, "saleor-worker": want}
    for workload in _workloads(overlays[env]):
        # the pod identity webhook projects its own web-identity token: no Kubernetes API token is needed
        assert support.pod_spec(workload)["automountServiceAccountToken"] is False, workload["metadata"]["name"]


@ENVS
def test_api_and_worker_store_media_in_the_environments_bucket_served_by_the_api_host(env, overlays, config):
    e = config.env(env)
    # AWS_MEDIA_PRIVATE_BUCKET_NAME: saleor/saleor@3.23.28 saleor/settings.py keeps private files
    # (webhook payloads) on the pod's disk without it.
    want = {
        "AWS_MEDIA_BUCKET_NAME": e.media_bucket,
        "AWS_LOCATION": "media",
        "AWS_MEDIA_CUSTOM_DOMAIN": e.api_host,
        "AWS_S3_REGION_NAME": config.region,
        "AWS_MEDIA_PRIVATE_BUCKET_NAME": e.private_media_bucket,
    }
    for name in ("saleor-api", "saleor-worker"):
        (container,) = support.containers(support.one(overlays[env], "Deployment", name), init=False)
        settings = {v["name"]: v.get("value") for v in container.get("env", [])}
        assert {k: v for k, v in settings.items() if k.startswith("AWS_")} == want, name
    # No signed URLs and no ACLs (the bucket enforces owner ownership): Saleor's defaults must not be overridden.
    for cm in support.find(overlays[env], "ConfigMap"):
        assert not {"AWS_QUERYSTRING_AUTH", "AWS_DEFAULT_ACL"} & set(cm.get("data") or {}), cm["metadata"]["name"]


# ------------------------------------------------------------------ placement and network


@ENVS
def test_the_worker_runs_on_the_pg_egress_node_in_prod_only(env, overlays):
    toleration = {"key": "dedicated", "operator": "Equal", "value": "pg-egress", "effect": "NoSchedule"}
    for workload in _workloads(overlays[env]):
        spec = support.pod_spec(workload)
        pinned = spec.get("nodeSelector") == {"kyeol.io/egress": "pg"} and toleration in spec.get("tolerations", [])
        expected = env == "prod" and workload["metadata"]["name"] == "saleor-worker"
        assert pinned == expected, workload["metadata"]["name"]


def _quantity(value: str | int) -> float:
    """CPU in cores or memory in MiB from a Kubernetes quantity."""
    value = str(value)
    units = {"m": 1e-3, "Ki": 1 / 1024, "Mi": 1.0, "Gi": 1024.0}
    for suffix, factor in units.items():
        if value.endswith(suffix):
            return float(value.removesuffix(suffix)) * factor
    return float(value)


def test_prod_pg_egress_workloads_fit_the_pg_node_at_their_maximum(overlays):
    """The PG-egress node group is one t3.medium by default (kyeol-infra-terraform pg_node_*):
    ~1.93 vCPU and ~3.3 GiB allocatable, less kube-proxy and the VPC CNI. Every pinned pod at
    its maximum count must fit, or prod's api/worker would sit Pending."""
    docs = overlays["prod"]
    hpa_max = {
        h["spec"]["scaleTargetRef"]["name"]: h["spec"]["maxReplicas"] for h in support.find(docs, "HorizontalPodAutoscaler")
    }
    cpu = memory = 0.0
    for workload in support.find(docs, "Deployment"):
        if support.pod_spec(workload).get("nodeSelector") != {"kyeol.io/egress": "pg"}:
            continue
        count = hpa_max.get(workload["metadata"]["name"], workload["spec"].get("replicas", 1))
        for container in support.containers(workload, init=False):
            cpu += count * _quantity(container["resources"]["requests"]["cpu"])
            memory += count * _quantity(container["resources"]["requests"]["memory"])
    assert cpu and memory
    assert cpu <= 1.93 - 0.15, f"{cpu:.2f} vCPU requested on the PG node"
    assert memory <= 3300 - 300, f"{memory:.0f} MiB requested on the PG node"


@ENVS
def test_network_policies_deny_by_default_and_open_only_this_vpc_and_https(env, overlays, config):
    docs = overlays[env]
    policies = {p["metadata"]["name"]: p["spec"] for p in support.find(docs, "NetworkPolicy")}
    assert policies["default-deny-all"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    cidr = config.env(env).cidr
    assert policies["allow-from-alb"]["ingress"][0]["from"] == [{"ipBlock": {"cidr": cidr}}]
    assert policies["allow-to-data-stores"]["egress"][0]["to"] == [{"ipBlock": {"cidr": cidr}}]
    https = policies["allow-https-egress"]["egress"][0]
    assert https["ports"] == [{"protocol": "TCP", "port": 443}]
    assert "169.254.169.254/32" in https["to"][0]["ipBlock"]["except"]
    # Every pod that serves the ALB carries the label the ingress policy selects.
    for name in ("saleor-api", "saleor-dashboard", "saleor-storefront"):
        labels = support.one(docs, "Deployment", name)["spec"]["template"]["metadata"]["labels"]
        assert labels["kyeol.io/alb-target"] == "true", name


# ------------------------------------------------------------------ the Saleor Applications


@ENVS
def test_saleor_application_points_at_this_overlay_and_cluster(env, saleor_apps, config):
    e = config.env(env)
    app = saleor_apps[env]
    assert app["metadata"]["name"] == e.argocd_app_name == f"saleor-{env}"
    assert app["metadata"]["namespace"] == "argocd"
    assert app["metadata"]["labels"]["kyeol.io/env"] == env
    spec = app["spec"]
    assert spec["project"] == "apps"
    assert spec["destination"] == {"name": e.cluster_name, "namespace": "saleor"}
    assert spec["source"] == {
        "repoURL": config.git_repo_url,
        "targetRevision": config.git_revision,
        "path": f"kyeol-app-gitops/apps/saleor/overlays/{env}",
    }
    assert (support.ROOT / spec["source"]["path"] / "kustomization.yaml").is_file()
    assert spec["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert "CreateNamespace=true" in spec["syncPolicy"]["syncOptions"]
    assert spec["syncPolicy"]["managedNamespaceMetadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


@ENVS
def test_saleor_application_ignores_exactly_the_injected_origin_header_values(env, saleor_apps, overlays):
    """What Argo CD ignores is what kyeol injects: the conditions annotations, nothing more."""
    app = saleor_apps[env]
    assert "RespectIgnoreDifferences=true" in app["spec"]["syncPolicy"]["syncOptions"]
    [ignored] = app["spec"]["ignoreDifferences"]
    assert (ignored["group"], ignored["kind"], ignored["name"]) == ("networking.k8s.io", "Ingress", "saleor")
    annotations = _ingress(overlays[env])["metadata"]["annotations"]
    conditions = {k for k in annotations if k.startswith("alb.ingress.kubernetes.io/conditions.")}
    assert {re.fullmatch(r'\.metadata\.annotations\."(.+)"', p).group(1) for p in ignored["jqPathExpressions"]} == conditions
