"""Helpers for the GitOps tree tests: render with the real kustomize, load YAML, validate CRD
objects with the upstream schemas (node), and two small stand-ins for what cannot run here
(the ApplicationSet controller's cluster generator, and a reader for plaintext secrets).

Pinned versions live here, once, so every test checks the trees against the same facts.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.gitops.gotemplate import cluster_params, render_template

ROOT = Path(__file__).resolve().parents[2]
PLATFORM = ROOT / "kyeol-platform-gitops"
APP = ROOT / "kyeol-app-gitops"
INFRA = ROOT / "kyeol-infra-terraform"
NODE_SCRIPT = Path(__file__).with_name("crd_validate.mjs")

# The EKS version kyeol-infra-terraform pins (envs/*/variables.tf `kubernetes_version`);
# test_render checks the two agree.
KUBERNETES_VERSION = "1.34"

# Argo CD: chart argo/argo-cd 10.1.1 runs app v3.4.4, i.e. the Argo CD v3 API.
ARGOCD_CHART_VERSION = "10.1.1"
ARGOCD_APP_VERSION = "v3.4.4"
# External Secrets chart 2.9.0 serves (and stores) its CRDs at external-secrets.io/v1 only.
ESO_CHART_VERSION = "2.9.0"
ESO_API_VERSION = "external-secrets.io/v1"
# npm validators compiled from those CRD schemas (tests/toolchain.py installs them).
CRD_VALIDATORS = {
    "@kubernetes-models/argo-cd": "4.0.0",
    "@kubernetes-models/external-secrets": "2.0.0",
}

# Add-on → (Helm repository, chart, exact version, namespace). Namespaces and service accounts
# are the ones the IRSA trust policies name (steps/wiring/config.py SERVICE_ACCOUNTS).
ADDON_CHARTS = {
    "aws-load-balancer-controller": ("https://aws.github.io/eks-charts", "aws-load-balancer-controller", "3.5.0", "kube-system"),
    "external-dns": ("https://kubernetes-sigs.github.io/external-dns/", "external-dns", "1.21.1", "external-dns"),
    "external-secrets": ("https://charts.external-secrets.io", "external-secrets", ESO_CHART_VERSION, "external-secrets"),
    "metrics-server": ("https://kubernetes-sigs.github.io/metrics-server/", "metrics-server", "3.13.1", "kube-system"),
    "cluster-autoscaler": ("https://kubernetes.github.io/autoscaler", "cluster-autoscaler", "9.59.0", "kube-system"),
}
# Where each chart takes its service account's name and annotations (default `serviceAccount`).
SERVICE_ACCOUNT_VALUES = {"cluster-autoscaler": ("rbac", "serviceAccount")}

# The cluster Secret annotations kyeol phase 5 writes (docs/architecture.md §5).
CLUSTER_SECRET_ANNOTATIONS = (
    "kyeol.io/aws-region",
    "kyeol.io/aws-account-id",
    "kyeol.io/vpc-id",
    "kyeol.io/hosted-zone-id",
    "kyeol.io/lbc-role-arn",
    "kyeol.io/external-dns-role-arn",
    "kyeol.io/external-secrets-role-arn",
    "kyeol.io/cluster-autoscaler-role-arn",
    "kyeol.io/domain-filters",
    "kyeol.io/txt-owner-id",
)

CRD_API_GROUPS = ("argoproj.io", "external-secrets.io")
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")


def kustomization_dirs() -> list[Path]:
    """Every folder of the two trees that holds a kustomization."""
    found = {p.parent for tree in (PLATFORM, APP) for p in tree.rglob("kustomization.yaml")}
    return sorted(found)


@functools.cache
def _render_text(path: Path) -> str:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise RuntimeError("kubectl is required to render the GitOps trees (it carries kustomize)")
    done = subprocess.run([kubectl, "kustomize", str(path)], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise AssertionError(f"kubectl kustomize {path.relative_to(ROOT)} failed:\n{done.stderr}")
    return done.stdout


def render_text(path: Path) -> str:
    """`kubectl kustomize path` output (cached: the trees do not change during a run)."""
    return _render_text(path.resolve())


def render(path: Path) -> list[dict[str, Any]]:
    """The objects `kubectl kustomize path` renders (a fresh copy per call)."""
    return [d for d in yaml.safe_load_all(render_text(path)) if d]


def load_docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


def find(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [d for d in docs if d.get("kind") == kind and (name is None or d["metadata"]["name"] == name)]


def one(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = find(docs, kind, name)
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


def is_crd_object(doc: dict[str, Any]) -> bool:
    return doc.get("apiVersion", "").split("/")[0] in CRD_API_GROUPS


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    spec = doc["spec"]
    if doc["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def containers(doc: dict[str, Any], *, init: bool = True) -> list[dict[str, Any]]:
    spec = pod_spec(doc)
    return list(spec.get("initContainers", []) if init else []) + list(spec["containers"])


def crd_validate(docs: list[dict[str, Any]], node_modules: Path) -> dict[str, Any]:
    """Run crd_validate.mjs over docs; returns {"versions": ..., "results": [...]}."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is required for the CRD schema checks (apt-get install nodejs npm)")
    done = subprocess.run(
        [node, str(NODE_SCRIPT), str(node_modules)],
        input=json.dumps(docs),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"crd_validate.mjs failed ({done.returncode}):\n{done.stderr}"
    return json.loads(done.stdout)


# ---------------------------------------------------------------------------------------------
# Stand-in: the ApplicationSet controller's cluster generator
# ---------------------------------------------------------------------------------------------

_FACT = re.compile(r'index \.metadata\.(labels|annotations) "([^"]+)"')


def cluster_secret(env: Any, addons: tuple[str, ...]) -> dict[str, Any]:
    """The Argo CD cluster Secret kyeol phase 5 writes for env (docs/architecture.md §5)."""
    account = env.account_id
    annotations = {
        "kyeol.io/aws-region": env.region,
        "kyeol.io/aws-account-id": account,
        "kyeol.io/vpc-id": "vpc-0123456789abcdef0",
        "kyeol.io/hosted-zone-id": "Z0123456789ABCDEFGHIJ",
        "kyeol.io/lbc-role-arn": f"arn:aws:iam::{account}:role/{env.role_name('lbc')}",
        "kyeol.io/external-dns-role-arn": f"arn:aws:iam::{account}:role/{env.role_name('external-dns')}",
        "kyeol.io/external-secrets-role-arn": f"arn:aws:iam::{account}:role/{env.role_name('external-secrets')}",
        "kyeol.io/cluster-autoscaler-role-arn": f"arn:aws:iam::{account}:role/{env.role_name('cluster-autoscaler')}",
        "kyeol.io/domain-filters": ",".join(env.origin_hosts),
        "kyeol.io/txt-owner-id": env.txt_owner_id,
    }
    labels = {
        "argocd.argoproj.io/secret-type": "cluster",
        "kyeol.io/env": env.name,
        "kyeol.io/cluster": env.cluster_name,
        **{f"kyeol.io/addon-{addon}": "true" for addon in addons},
    }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": f"cluster-{env.cluster_name}", "namespace": "argocd", "labels": labels, "annotations": annotations},
        "stringData": {"name": env.cluster_name, "server": f"https://{env.cluster_name}.example.eks.amazonaws.com"},
    }


def generate_applications(appset: dict[str, Any], secrets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stand-in for Argo CD's ApplicationSet controller, cluster generator only.

    Selects the cluster Secrets whose labels match the generator's matchLabels and renders
    the template's string fields with a real Go text/template engine and Argo CD's function
    set (:mod:`tests.gitops.gotemplate`), so a template behaves here as it does in Argo CD,
    quiet zero values of ``index`` included.
    """
    spec = appset["spec"]
    assert spec.get("goTemplate") is True, "kyeol's ApplicationSets use goTemplate"
    apps = []
    for generator in spec["generators"]:
        selector = generator["clusters"].get("selector", {}).get("matchLabels", {})
        for secret in secrets:
            labels = secret["metadata"]["labels"]
            if labels.get("argocd.argoproj.io/secret-type") != "cluster":
                continue
            if any(labels.get(key) != value for key, value in selector.items()):
                continue
            rendered = render_template(spec["template"], cluster_params(secret))
            metadata = dict(rendered["metadata"])
            metadata["namespace"] = appset["metadata"]["namespace"]
            apps.append(
                {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": metadata, "spec": rendered["spec"]}
            )
    return apps


def template_facts(node: Any) -> set[tuple[str, str]]:
    """The cluster Secret (labels|annotations, key) pairs a template structure reads."""
    from tests.gitops.gotemplate import template_strings

    return {fact for _, text in template_strings(node) for fact in _FACT.findall(text)}


# ---------------------------------------------------------------------------------------------
# Plaintext secret finder
# ---------------------------------------------------------------------------------------------

_PEM = re.compile(r"-----BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE)-----")
_AWS_KEY_ID = re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")
_URL_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]*:([^@\s/]+)@", re.IGNORECASE)
_SECRET_NAME = re.compile(
    r"^(.*[_-])?(password|passwd|pwd|secret|secret[_-]?key|token|auth[_-]?token|api[_-]?key|private[_-]?key|client[_-]?secret|credentials?)$",
    re.IGNORECASE,
)


# Keys that hold the *name* of a secret or key, never its value (External Secrets' `secretKey`).
_NAMING_KEYS = frozenset({"secretKey", "secretName", "secretRef", "secretStoreRef"})


def _is_reference(value: str) -> bool:
    """A template or a pointer to a secret kept elsewhere, not a secret value itself."""
    return "{{" in value or value.startswith("$") or value == ""


def find_plaintext_secrets(doc: Any, where: str = "") -> list[str]:
    """Places in doc that hold a secret in clear: Secret data, PEM blocks, AWS key ids,
    passwords inside URLs, and credential-named keys or env vars with literal values."""
    findings: list[str] = []
    if isinstance(doc, dict) and doc.get("kind") == "Secret" and (doc.get("data") or doc.get("stringData")):
        findings.append(f"{where}: Secret {doc.get('metadata', {}).get('name')} carries data")

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            if set(node) >= {"name", "value"} and isinstance(node.get("name"), str) and isinstance(node.get("value"), str):
                if _SECRET_NAME.match(node["name"]) and not _is_reference(node["value"]):
                    findings.append(f"{path}: env {node['name']} has a literal value")
            for key, value in node.items():
                child = f"{path}.{key}"
                if (
                    isinstance(key, str)
                    and key not in _NAMING_KEYS
                    and _SECRET_NAME.match(key)
                    and isinstance(value, str)
                    and not _is_reference(value)
                ):
                    findings.append(f"{child}: credential-named key with a literal value")
                walk(value, child)
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, f"{path}[{index}]")
        elif isinstance(node, str):
            if _PEM.search(node):
                findings.append(f"{path}: PEM block")
            if _AWS_KEY_ID.search(node):
                findings.append(f"{path}: AWS access key id")
            for match in _URL_PASSWORD.finditer(node):
                if not _is_reference(match.group(1)):
                    findings.append(f"{path}: password inside a URL")

    walk(doc, where)
    return findings
