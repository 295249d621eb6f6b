"""The storefront image builds without the environment's API (issue 8, defect 4).

Phase 7 (images) runs before phase 8 creates the API, so nothing in the storefront build may
fetch from ``NEXT_PUBLIC_SALEOR_API_URL``. The build is modelled from the upstream sources at
the pinned commit (saleor/storefront@60fea09057dd596df07cd5bf45e0467d7ef6c02c):

* package.json ``scripts``: ``build`` = ``next build``, ``prebuild`` = ``pnpm run generate:all``,
  ``generate`` = ``graphql-codegen --config .graphqlrc.ts``, ``generate:checkout`` =
  ``graphql-codegen --config src/checkout/graphql/codegen.ts``, ``generate:all`` = both;
* .npmrc ``enable-pre-post-scripts=true``: ``pnpm build`` / ``pnpm run build`` run ``prebuild``
  first; ``pnpm exec next build`` runs no script;
* .graphqlrc.ts: ``schema`` is ``"schema.graphql"`` when ``GITHUB_ACTION ==
  "generate-schema-from-file"``, else ``NEXT_PUBLIC_SALEOR_API_URL``;
  src/checkout/graphql/codegen.ts: ``schema`` is ``NEXT_PUBLIC_SALEOR_API_URL`` (graphql-codegen
  loads a URL by introspection, a path from the file);
* Dockerfile: ``ARG``/``ENV NEXT_PUBLIC_SALEOR_API_URL`` then ``RUN NEXT_OUTPUT=standalone pnpm
  build`` — what ``docker build`` uses when build_image.sh names no ``-f``.

The schema file is saleor/saleor's ``saleor/graphql/schema.graphql`` at the tag of the Saleor
version the API runs (3.23.28).
"""

from __future__ import annotations

import json
import re
import shlex
import sys
import tomllib
from pathlib import Path

import yaml

from runbook.graph import Graph
from steps.wiring.config import load_config
from steps.wiring.project import build_steps
from steps.wiring.services import Services

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "docker"))
import plan_images  # noqa: E402  (docker/plan_images.py)

SCRIPTS = {  # saleor/storefront@60fea09 package.json
    "build": "next build",
    "prebuild": "pnpm run generate:all",
    "generate": "graphql-codegen --config .graphqlrc.ts",
    "generate:checkout": "graphql-codegen --config src/checkout/graphql/codegen.ts",
    "generate:all": "pnpm run generate && pnpm run generate:checkout",
}
PRE_POST_SCRIPTS = True  # saleor/storefront@60fea09 .npmrc enable-pre-post-scripts=true
UPSTREAM_DOCKERFILE = """\
ARG NEXT_PUBLIC_SALEOR_API_URL
ENV NEXT_PUBLIC_SALEOR_API_URL=${NEXT_PUBLIC_SALEOR_API_URL}
RUN NEXT_OUTPUT=standalone pnpm build
"""  # the build stage of saleor/storefront@60fea09 Dockerfile, the lines that matter here


def codegen_schema(config: str, env: dict[str, str]) -> str | None:
    """Where graphql-codegen reads the schema from, per config file (see the module docstring)."""
    if config == ".graphqlrc.ts" and env.get("GITHUB_ACTION") == "generate-schema-from-file":
        return "schema.graphql"
    return env.get("NEXT_PUBLIC_SALEOR_API_URL")


def run_command(command: str, env: dict[str, str], schemas: list[str | None], depth: int = 0) -> None:
    """Follow one shell command line through pnpm's scripts, recording codegen schema sources."""
    assert depth < 10, command
    for part in re.split(r"&&|;|\|\|", command):
        words = shlex.split(part)
        local = dict(env)
        while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
            key, _, value = words.pop(0).partition("=")
            local[key] = value
        if not words:
            continue
        if words[0] == "pnpm" and len(words) > 1 and words[1] != "exec":
            name = words[2] if words[1] == "run" else words[1]
            if name in SCRIPTS:
                if PRE_POST_SCRIPTS and f"pre{name}" in SCRIPTS:
                    run_command(SCRIPTS[f"pre{name}"], local, schemas, depth + 1)
                run_command(SCRIPTS[name], local, schemas, depth + 1)
        elif words[0] == "graphql-codegen":
            schemas.append(codegen_schema(words[words.index("--config") + 1], local))


def docker_build(dockerfile: str, build_args: dict[str, str]) -> tuple[list[str | None], set[str]]:
    """The codegen schema sources of every RUN in ``dockerfile`` and the files COPY'd in."""
    env: dict[str, str] = {}
    schemas: list[str | None] = []
    copied: set[str] = set()
    text = re.sub(r"\\\n", " ", dockerfile)
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        op, _, rest = line.partition(" ")
        op = op.upper()
        if op == "ARG":
            name, _, default = rest.partition("=")
            env[name] = build_args.get(name, default)
        elif op == "ENV":
            name, _, value = rest.partition("=")
            env[name] = re.sub(r"\$\{(\w+)\}", lambda m: env.get(m.group(1), ""), value.strip('"'))
        elif op == "COPY" and "--from" not in rest:
            copied.update(Path(w).name for w in rest.split()[:-1])
        elif op == "RUN":
            run_command(rest, env, schemas)
    return schemas, copied


def _source_build() -> tuple[str, dict[str, str], str]:
    """How docker/build_image.sh builds a ``source`` image: the Dockerfile, the build args and
    what it copies into the context as schema.graphql."""
    script = (ROOT / "docker" / "build_image.sh").read_text()
    branch = script[script.index("  source)") : script.index(";;", script.index("  source)"))]
    args = dict(a.split("=", 1) for a in re.findall(r'--build-arg "([^"]+)"', branch))
    named = re.search(r'-f "docker/\$\{IMAGE\}/Dockerfile"', branch)
    dockerfile = (ROOT / "docker" / "saleor-storefront" / "Dockerfile").read_text() if named else UPSTREAM_DOCKERFILE
    copy = re.search(r'cp "\$(\w+)" "\$\{SOURCE_DIR\}/schema.graphql"', branch)
    return dockerfile, args, copy.group(1) if copy else ""


def test_the_storefront_build_reads_the_schema_file_never_the_api():
    dockerfile, args, schema_var = _source_build()
    plan = plan_images.plan({"EVENT": "workflow_dispatch", "INPUT_ENV": "dev", "INPUT_TAGS": "saleor-storefront=1.0.0-dev"})
    [entry] = json.loads(plan["matrix"])
    api_url = entry["api_url"]
    build_args = {
        k: v.replace("${API_URL}", api_url).replace("${STOREFRONT_URL}", entry["storefront_url"]) for k, v in args.items()
    }
    assert build_args["NEXT_PUBLIC_SALEOR_API_URL"] == api_url  # still baked in for the browser
    schemas, copied = docker_build(dockerfile, build_args)
    assert schemas, "the build runs GraphQL codegen (src/gql and the checkout types are not in Git)"
    live = [s for s in schemas if not s or re.match(r"https?://", s)]
    assert not live, f"codegen would introspect the live API {live} while phase 7 builds, before phase 8 creates it"
    assert set(schemas) == {"schema.graphql"} and "schema.graphql" in copied
    assert schema_var == "SCHEMA_FILE"


def test_the_schema_is_the_pinned_saleor_release_checked_out_by_the_workflow():
    versions = tomllib.loads((ROOT / "docker" / "versions.toml").read_text())
    storefront = versions["saleor-storefront"]
    assert storefront["schema_source"] == "saleor/saleor"
    assert storefront["schema_version"] == versions["saleor-api"]["version"]
    assert re.fullmatch(r"[0-9a-f]{40}", storefront["schema_ref"])
    assert storefront["schema_path"] == "saleor/graphql/schema.graphql"
    [entry] = json.loads(
        plan_images.plan({"EVENT": "workflow_dispatch", "INPUT_ENV": "stage", "INPUT_TAGS": "saleor-storefront=1.0.0-stage"})[
            "matrix"
        ]
    )
    assert (entry["schema_source"], entry["schema_ref"], entry["schema_path"]) == (
        storefront["schema_source"],
        storefront["schema_ref"],
        storefront["schema_path"],
    )
    build = yaml.load((ROOT / ".github" / "workflows" / "images.yml").read_text(), Loader=yaml.BaseLoader)["jobs"]["build"]
    [checkout] = [s for s in build["steps"] if (s.get("with") or {}).get("repository") == "${{ matrix.schema_source }}"]
    assert checkout["with"]["ref"] == "${{ matrix.schema_ref }}"
    [run] = [s for s in build["steps"] if s.get("run") == "docker/build_image.sh"]
    assert run["env"]["SCHEMA_FILE"] == f"{checkout['with']['path']}/${{{{ matrix.schema_path }}}}"


def test_phase_7_is_not_ordered_after_phase_8():
    services = Services(load_config(ROOT / "kyeol.toml"), dry_run=True, environ={"AWS_DEFAULT_REGION": "ap-northeast-1"})
    graph = Graph(build_steps(services, "dev"))
    seen: set[str] = set()
    todo = list(graph["dev.images"].needs)
    while todo:
        step = todo.pop()
        if step not in seen:
            seen.add(step)
            todo.extend(graph[step].needs)
    assert not seen & {"dev.sync", "dev.verify", "dev.addons", "dev.register", "dev.infra"}, seen


def test_the_model_catches_the_upstream_build():
    """The upstream Dockerfile's ``pnpm build`` reaches the API through ``prebuild``."""
    schemas, _ = docker_build(UPSTREAM_DOCKERFILE, {"NEXT_PUBLIC_SALEOR_API_URL": "https://dev-api.example/graphql/"})
    assert schemas == ["https://dev-api.example/graphql/", "https://dev-api.example/graphql/"]
