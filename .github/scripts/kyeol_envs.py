#!/usr/bin/env python3
"""Which environments a pull request's plan covers: dev always; stage and prod when the change
touches their own files (an env root, overlay, cluster folder or Argo CD Application named after
them) or something every environment is built from (the Terraform modules and global root, the
Saleor base, the platform's shared Argo CD tree, kyeol.toml, kyeol itself).

Reads the changed paths on stdin (``git diff --name-only BASE...HEAD``), prints
``envs=["dev", …]`` for ``$GITHUB_OUTPUT``.
"""

from __future__ import annotations

import json
import re
import sys

SHARED = (
    "kyeol.toml",
    "kyeol-infra-terraform/modules/",
    "kyeol-infra-terraform/global/",
    "kyeol-infra-terraform/envs/bootstrap/",
    "kyeol-infra-terraform/envs/mgmt/",
    "kyeol-app-gitops/apps/saleor/base/",
    "kyeol-platform-gitops/argocd/",
    "kyeol-platform-gitops/clusters/mgmt/",
    "steps/",
    "runbook/",
    "pyproject.toml",
)


def envs_for(paths: list[str]) -> list[str]:
    chosen = ["dev"]
    shared = any(p.startswith(SHARED) or p == "kyeol.toml" for p in paths)
    for env in ("stage", "prod"):
        own = re.compile(rf"(^|/)(envs|overlays|clusters)/{env}(/|$)|(^|/)saleor-{env}\.ya?ml$")
        if shared or any(own.search(p) for p in paths):
            chosen.append(env)
    return chosen


def main() -> None:
    paths = [line.strip() for line in sys.stdin if line.strip()]
    print("envs=" + json.dumps(envs_for(paths)))


if __name__ == "__main__":
    main()
