"""A small model of kube-scheduler's filters, to check that an overlay's pods can be placed on
the nodes runbook §3 gives an environment, and what a node or AZ failure leaves running.

Filters modelled (kubernetes/kubernetes v1.34 pkg/scheduler/framework/plugins/):
* ``nodeaffinity`` — ``nodeSelector`` labels must all be on the node;
* ``tainttoleration`` — every ``NoSchedule`` taint must be tolerated;
* ``noderesources/fit.go`` — the pod's requests fit in what is left of the node's allocatable;
* ``podtopologyspread/filtering.go`` — for each ``DoNotSchedule`` constraint, the eligible
  domains are the values of ``topologyKey`` on nodes that pass the pod's node affinity
  (``nodeAffinityPolicy: Honor``, the default) and, with ``nodeTaintsPolicy: Honor``, whose
  taints it tolerates (default ``Ignore``: tainted nodes' domains count too); placing the pod
  in domain d is allowed when ``matching(d) + 1 - min(matching over eligible domains) <=
  maxSkew``.

Among feasible nodes the model picks the one with the fewest pods of the same app, then the
fewest in its zone (the spreading the default scoring plugins prefer), then the name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ZONE = "topology.kubernetes.io/zone"
HOSTNAME = "kubernetes.io/hostname"


def quantity(value: str | float) -> float:
    """CPU in cores or memory in MiB from a Kubernetes quantity."""
    text = str(value)
    for suffix, factor in (("m", 1e-3), ("Ki", 1 / 1024), ("Mi", 1.0), ("Gi", 1024.0)):
        if text.endswith(suffix):
            return float(text.removesuffix(suffix)) * factor
    return float(text)


@dataclass
class Node:
    name: str
    zone: str
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[dict[str, str]] = field(default_factory=list)
    cpu: float = 0.0  # cores left for the pods modelled here
    memory: float = 0.0  # MiB left

    def label(self, key: str) -> str | None:
        return {ZONE: self.zone, HOSTNAME: self.name, **self.labels}.get(key)


@dataclass
class Pod:
    app: str
    spec: dict[str, Any]
    labels: dict[str, str]
    cpu: float
    memory: float
    node: str | None = None


def pods_of(deployment: dict[str, Any], replicas: int) -> list[Pod]:
    template = deployment["spec"]["template"]
    spec = template["spec"]
    cpu = sum(quantity(c["resources"]["requests"]["cpu"]) for c in spec["containers"])
    memory = sum(quantity(c["resources"]["requests"]["memory"]) for c in spec["containers"])
    return [Pod(deployment["metadata"]["name"], spec, dict(template["metadata"]["labels"]), cpu, memory) for _ in range(replicas)]


def _tolerates(spec: dict[str, Any], taint: dict[str, str]) -> bool:
    for t in spec.get("tolerations") or []:
        if t.get("effect") not in (None, "", taint["effect"]):
            continue
        if t.get("operator") == "Exists" and t.get("key") in (None, taint["key"]):
            return True
        if t.get("key") == taint["key"] and t.get("value") == taint.get("value"):
            return True
    return False


def _affinity_ok(spec: dict[str, Any], node: Node) -> bool:
    return all(node.labels.get(k) == v for k, v in (spec.get("nodeSelector") or {}).items())


def _taints_ok(spec: dict[str, Any], node: Node) -> bool:
    return all(t["effect"] != "NoSchedule" or _tolerates(spec, t) for t in node.taints)


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def _spread_ok(pod: Pod, node: Node, nodes: list[Node], placed: list[Pod]) -> bool:
    for c in pod.spec.get("topologySpreadConstraints") or []:
        if c.get("whenUnsatisfiable", "DoNotSchedule") != "DoNotSchedule":
            continue
        key = c["topologyKey"]
        eligible = [
            n
            for n in nodes
            if n.label(key) is not None
            and (c.get("nodeAffinityPolicy", "Honor") != "Honor" or _affinity_ok(pod.spec, n))
            and (c.get("nodeTaintsPolicy", "Ignore") != "Honor" or _taints_ok(pod.spec, n))
        ]
        if node.label(key) is None:
            return False
        domains = {n.label(key) for n in eligible}
        on = {n.name: n.label(key) for n in eligible}
        counts = dict.fromkeys(domains, 0)
        for other in placed:
            if other.node in on and _selects(c["labelSelector"], other.labels):
                counts[on[other.node]] += 1
        self_match = 1 if _selects(c["labelSelector"], pod.labels) else 0
        if counts.get(node.label(key), 0) + self_match - min(counts.values(), default=0) > int(c["maxSkew"]):
            return False
    return True


def feasible(pod: Pod, node: Node, nodes: list[Node], placed: list[Pod]) -> bool:
    used_cpu = sum(p.cpu for p in placed if p.node == node.name)
    used_mem = sum(p.memory for p in placed if p.node == node.name)
    return (
        _affinity_ok(pod.spec, node)
        and _taints_ok(pod.spec, node)
        and used_cpu + pod.cpu <= node.cpu + 1e-9
        and used_mem + pod.memory <= node.memory + 1e-9
        and _spread_ok(pod, node, nodes, placed)
    )


def schedule(pods: list[Pod], nodes: list[Node], placed: list[Pod] | None = None) -> list[Pod]:
    """Place ``pods`` one by one (``placed`` already run); returns the ones left Pending."""
    placed = placed if placed is not None else []
    pending = []
    for pod in pods:
        options = [n for n in nodes if feasible(pod, n, nodes, placed)]
        if not options:
            pending.append(pod)
            continue

        same = [p for p in placed if p.app == pod.app]
        zone_of = {m.name: m.zone for m in nodes}
        pod.node = min(
            options,
            key=lambda n: (sum(p.node == n.name for p in same), sum(zone_of.get(p.node or "") == n.zone for p in same), n.name),
        ).name
        placed.append(pod)
    return pending
