#!/usr/bin/env python3
"""Plan of the images workflow: which images to build for which environment, and where to push.

Runs in GitHub Actions (images.yml, job ``plan``) with only the standard library. It reads the
names from ``kyeol.toml`` (the same file kyeol reads, so the registry, role and hosts cannot
drift) and the upstream pins from ``docker/versions.toml``, validates the dispatch inputs
(they arrive from outside: nothing unvalidated reaches a shell), and prints ``key=value``
lines for ``$GITHUB_OUTPUT``.

Inputs come from the environment: ``EVENT`` (``workflow_dispatch`` or ``push``), ``INPUT_ENV``,
``INPUT_TAGS`` (``image=tag`` pairs, comma or space separated), ``INPUT_CORRELATION_ID``.
On a push to main it plans the dev images at the pinned versions.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PUSH_ENV = "dev"
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
_CORRELATION = re.compile(r"^[A-Za-z0-9._-]{0,64}$")


class PlanError(Exception):
    """A bad input: printed as a workflow error annotation."""


def load(root: Path = ROOT) -> tuple[dict, dict]:
    config = tomllib.loads((root / "kyeol.toml").read_text(encoding="utf-8"))
    versions = tomllib.loads((root / "docker" / "versions.toml").read_text(encoding="utf-8"))
    return config, versions


def parse_tags(text: str, known: list[str]) -> dict[str, str]:
    """``saleor-api=3.23.28,saleor-storefront=1.0.0-dev`` → ``{image: tag}``."""
    wanted: dict[str, str] = {}
    for pair in (p for p in re.split(r"[,\s]+", text.strip()) if p):
        name, sep, tag = pair.partition("=")
        if not sep or name not in known:
            raise PlanError(f"{pair!r} is not IMAGE=TAG with IMAGE one of {', '.join(known)}")
        if not _TAG.match(tag):
            raise PlanError(f"{tag!r} is not a valid image tag")
        if name in wanted and wanted[name] != tag:
            raise PlanError(f"{name} is given two tags: {wanted[name]} and {tag}")
        wanted[name] = tag
    if not wanted:
        raise PlanError("no images given: pass tags as IMAGE=TAG pairs")
    return wanted


def plan(environ: dict[str, str], root: Path = ROOT) -> dict[str, str]:
    config, versions = load(root)
    project = config["project"]
    prefix, region = project["prefix"], project["region"]
    envs = [name for name in config["envs"] if name != "mgmt"]
    event = environ.get("EVENT", "")
    if event == "workflow_dispatch":
        env = environ.get("INPUT_ENV", "")
        if env not in envs:
            raise PlanError(f"env {env!r} is not one of {', '.join(envs)}")
        tags = parse_tags(environ.get("INPUT_TAGS", ""), list(versions))
    elif event == "push":
        env = PUSH_ENV
        tags = {name: _default_tag(name, spec, env) for name, spec in versions.items()}
    else:
        raise PlanError(f"images.yml does not handle the {event!r} event")
    correlation = environ.get("INPUT_CORRELATION_ID", "")
    if not _CORRELATION.match(correlation):
        raise PlanError(f"correlation id {correlation!r} must be letters, digits, '.', '_' or '-'")

    account = config["envs"]["mgmt"]["account_id"]
    registry = f"{account}.dkr.ecr.{region}.amazonaws.com"
    env_cfg = config["envs"][env]
    matrix = []
    for name, tag in tags.items():
        spec = versions[name]
        repository = f"{prefix}{name}"
        entry = {"image": name, "repository": repository, "tag": tag}
        if "upstream" in spec:
            if not _VERSION.match(tag):
                raise PlanError(f"{name} tag {tag!r} must be an upstream release version like {spec['version']}")
            entry.update(kind="upstream", upstream=f"{spec['upstream']}:{tag}")
        else:
            expected = _default_tag(name, spec, env)
            if tag != expected:
                raise PlanError(
                    f"{name} tag {tag!r} does not match docker/versions.toml for {env} ({expected}); "
                    "bump the version there when the storefront source changes"
                )
            entry.update(
                kind="source",
                source=spec["source"],
                source_ref=spec["ref"],
                schema_source=spec["schema_source"],
                schema_ref=spec["schema_ref"],
                schema_path=spec["schema_path"],
                api_url=f"https://{env_cfg['api_host']}/graphql/",
                storefront_url=f"https://{env_cfg['service_host']}",
            )
        matrix.append(entry)
    app_repo = config.get("paths", {}).get("app_repo", "kyeol-app-gitops")
    return {
        "env": env,
        "region": region,
        "registry": registry,
        "role_arn": f"arn:aws:iam::{account}:role/{prefix}mgmt-github-ecr-push",
        "overlay": f"{app_repo}/apps/saleor/overlays/{env}",
        "matrix": json.dumps(matrix, separators=(",", ":")),
        "images": " ".join(f"{e['image']}={registry}/{e['repository']}:{e['tag']}" for e in matrix),
        "correlation_id": correlation,
    }


def _default_tag(name: str, spec: dict, env: str) -> str:
    return spec["version"] if "upstream" in spec else f"{spec['version']}-{env}"


def main() -> int:
    try:
        outputs = plan(dict(os.environ))
    except PlanError as exc:
        print(f"::error title=images plan::{exc}", file=sys.stderr)
        return 1
    for key, value in outputs.items():
        print(f"{key}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
