"""What each change of a KYEOL run is, for the run summary's counts: Terraform resources per
root (phases 1-3 and the env's destroy), the Helm release of Argo CD, Kubernetes objects
(phases 5, 6, 8 and the drain), images (phase 7), Argo CD syncs, and verification reads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The phases that run Terraform (12: the env's terraform destroy); the tool check uses it too.
TERRAFORM_PHASES = frozenset({1, 2, 3, 12})


def kind_of(step: Mapping[str, Any], change: Mapping[str, Any]) -> str:
    phase = step.get("phase")
    target = str(change.get("target", ""))
    if phase in TERRAFORM_PHASES:
        return "Terraform resources"
    if phase == 4:
        return "Helm release" if change.get("action") != "read" else "checks"
    if phase == 7:
        return "images"
    if change.get("action") == "run" and target.startswith("sync "):
        return "Argo CD syncs"
    if change.get("action") == "read":
        return "checks"
    return "Kubernetes objects"
