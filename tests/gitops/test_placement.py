"""Can the Saleor pods of each environment actually be placed on the nodes runbook §3 gives it,
and does any single node or availability zone take the API down? (issue 8, defect 7)

Nodes: runbook §3 (tests/infra/conformance.py SIZING: prod 3-5 t3.medium) as the env's
terraform.tfvars splits them — on prod the tainted PG-egress group (``pg_node_*``, labelled
``kyeol.io/egress=pg``, tainted ``dedicated=pg-egress:NoSchedule``, modules/pg-nat) and the main
group with the rest. EC2 Auto Scaling spreads a group's instances over its AZs (AZ
rebalancing), so the main group's nodes sit in different AZs; the single PG node may share an AZ
with any of them, so every choice is tried. Pods: the rendered overlay at the HPA minimum on
the groups' minimum sizes, and at the HPA maximum on their maximum sizes. The scheduler's rules
are modelled in :mod:`tests.gitops.placement` (kube-scheduler v1.34 filters, cited there).
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from steps.wiring.config import TARGET_ENVS
from tests.gitops import support
from tests.gitops.placement import Node, Pod, pods_of, schedule
from tests.infra.conformance import SIZING
from tests.infra.hcl import load_tfvars

AZS = ("ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d")
# t3.medium allocatable on EKS (2 vCPU, 4 GiB less kube/system reserved), less what runs there
# besides Saleor: DaemonSets (aws-node, kube-proxy, the EBS/pod-identity agents) on every node;
# on general nodes also the add-ons (LBC, ExternalDNS, External Secrets, metrics-server, CoreDNS).
ALLOCATABLE = (1.93, 3300.0)
DAEMONSETS = (0.15, 300.0)
ADDONS = (0.45, 900.0)
PG_LABEL = {"kyeol.io/egress": "pg"}
PG_TAINT = {"key": "dedicated", "value": "pg-egress", "effect": "NoSchedule"}


def _groups(env: str) -> dict[str, tuple[int, int]]:
    """Node group → (min, max) nodes, from the env's tfvars, checked against runbook §3."""
    tfvars = load_tfvars(support.ROOT / "kyeol-infra-terraform" / "envs" / env / "terraform.tfvars")
    sizing = SIZING[env]
    assert (tfvars["node_min_size"], tfvars["node_max_size"]) == (sizing.nodes_min, sizing.nodes_max)
    pg = (tfvars.get("pg_node_min_size", 0), tfvars.get("pg_node_max_size", 0)) if env == "prod" else (0, 0)
    return {"main": (tfvars["node_min_size"] - pg[0], tfvars["node_max_size"] - pg[1]), "pg": pg}


def _nodes(groups: dict[str, tuple[int, int]], which: int, pg_zone: str) -> list[Node]:
    nodes = []
    for i in range(groups["main"][which]):
        nodes.append(
            Node(
                f"main-{i}",
                AZS[i % len(AZS)],
                {"kyeol.io/node-group": "default"},
                [],
                ALLOCATABLE[0] - DAEMONSETS[0] - ADDONS[0],
                ALLOCATABLE[1] - DAEMONSETS[1] - ADDONS[1],
            )
        )
    for i in range(groups["pg"][which]):
        nodes.append(
            Node(
                f"pg-{i}",
                pg_zone,
                dict(PG_LABEL),
                [dict(PG_TAINT)],
                ALLOCATABLE[0] - DAEMONSETS[0],
                ALLOCATABLE[1] - DAEMONSETS[1],
            )
        )
    return nodes


def _pods(docs: list[dict[str, Any]], which: int) -> list[Pod]:
    hpa = {
        h["spec"]["scaleTargetRef"]["name"]: (h["spec"]["minReplicas"], h["spec"]["maxReplicas"])
        for h in support.find(docs, "HorizontalPodAutoscaler")
    }
    pods: list[Pod] = []
    # The API first: it is what must survive; the others fill in around it.
    for deployment in sorted(support.find(docs, "Deployment"), key=lambda d: d["metadata"]["name"] != "saleor-api"):
        name = deployment["metadata"]["name"]
        count = hpa[name][which] if name in hpa else deployment["spec"].get("replicas", 1)
        pods += pods_of(deployment, count)
    return pods


def _scenarios(env: str) -> list[tuple[str, list[Node], list[Pod]]]:
    docs = support.render(support.APP / "apps" / "saleor" / "overlays" / env)
    groups = _groups(env)
    zones = AZS if groups["pg"][1] else AZS[:1]
    out = []
    for which, label in ((0, "minimum"), (1, "maximum")):
        for pg_zone in zones:
            out.append((f"{env} at the {label} (PG node in {pg_zone})", _nodes(groups, which, pg_zone), _pods(docs, which)))
    return out


def _allowed_disruptions(pdb: dict[str, Any], replicas: int) -> int:
    spec = pdb["spec"]
    if "maxUnavailable" in spec:
        value = spec["maxUnavailable"]
        return int(replicas * int(str(value)[:-1]) / 100) if str(value).endswith("%") else int(value)
    value = spec["minAvailable"]
    need = -(-replicas * int(str(value)[:-1]) // 100) if str(value).endswith("%") else int(value)
    return replicas - need


@pytest.mark.parametrize("env", TARGET_ENVS)
def test_every_pod_fits_the_runbook_node_counts(env):
    for what, nodes, pods in _scenarios(env):
        pending = schedule(pods, nodes)
        assert not pending, f"{what}: {sorted({p.app for p in pending})} stay Pending"


def test_no_single_node_or_zone_takes_the_prod_api_down():
    """Where the scheduler puts prod's API (at its HPA minimum and maximum), losing any one node
    or any one AZ leaves a replica serving."""
    for what, nodes, pods in _scenarios("prod"):
        schedule(pods, nodes)
        api = [p for p in pods if p.app == "saleor-api"]
        zone_of = {n.name: n.zone for n in nodes}
        for node in nodes:
            assert [p for p in api if p.node != node.name], f"{what}: losing {node.name} stops every API replica"
        for zone in {n.zone for n in nodes}:
            assert [p for p in api if zone_of[p.node or ""] != zone], f"{what}: losing {zone} stops every API replica"


@pytest.mark.parametrize("env", TARGET_ENVS)
def test_pod_disruption_budgets_let_every_node_be_drained(env):
    """Draining a node (a managed node group update, max_unavailable 1) evicts its pods one at
    a time through their PDBs: each PDB must allow the evictions whose pods cannot be placed
    elsewhere, or the drain hangs; and the API's PDB must allow one and keep one."""
    docs = support.render(support.APP / "apps" / "saleor" / "overlays" / env)
    pdbs = support.find(docs, "PodDisruptionBudget")
    assert any(p["metadata"]["name"] == "saleor-api" for p in pdbs)
    for what, nodes, pods in _scenarios(env):
        if "minimum" not in what:
            continue
        schedule(pods, nodes)
        for node, pdb in itertools.product(nodes, pdbs):
            covered = [p for p in pods if pdb["spec"]["selector"]["matchLabels"].items() <= p.labels.items()]
            if not covered:
                continue
            allowed = _allowed_disruptions(pdb, len(covered))
            if env == "prod" and pdb["metadata"]["name"] == "saleor-api":
                assert 1 <= allowed < len(covered), f"{what}: the API's PDB allows {allowed} of {len(covered)}"
            others = [n for n in nodes if n.name != node.name]
            staying = [p for p in pods if p.node != node.name]
            evicted = [Pod(p.app, p.spec, p.labels, p.cpu, p.memory) for p in covered if p.node == node.name]
            stuck = schedule(evicted, others, list(staying))
            assert len(stuck) <= allowed, f"{what}: draining {node.name} blocks on PDB {pdb['metadata']['name']}"


def test_only_the_worker_is_pinned_to_the_pg_egress_node():
    """Saleor's deferred payment calls run in the worker (see the prod overlay's placement.yaml):
    it alone is pinned to the PG-egress node; the API stays off that single node."""
    docs = support.render(support.APP / "apps" / "saleor" / "overlays" / "prod")
    pinned = {
        d["metadata"]["name"] for d in support.find(docs, "Deployment") if support.pod_spec(d).get("nodeSelector") == PG_LABEL
    }
    assert pinned == {"saleor-worker"}
