"""Every name in the two GitOps trees that must match Terraform or kyeol comes from kyeol.toml:
prefixed names, account ids, hostnames, the Git repository and revision, the region."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from steps.wiring.config import ADDONS, ALL_ENVS, IMAGES, TARGET_ENVS, KyeolConfig
from tests.gitops import support

PREFIXED = re.compile(r"\bjung-[a-z0-9-]*[a-z0-9-]")
ACCOUNT = re.compile(r"(?<!\d)\d{12}(?!\d)")
HOST = re.compile(r"(?<![@\w.-])(?:[a-z0-9-]+\.)*mgz-g2-u3\.shop\b")
REGION = re.compile(r"\b[a-z]{2}-(?:north|south|east|west|central|northeast|southeast|northwest|southwest)-\d\b")


def _files() -> list[Path]:
    return sorted(p for tree in (support.PLATFORM, support.APP) for p in tree.rglob("*") if p.is_file())


def _derived_names(config: KyeolConfig) -> set[str]:
    names = {config.github_role_name, config.argocd_manager_role_name, *(config.ecr_repository(i) for i in IMAGES)}
    for env_name in ALL_ENVS:
        env = config.env(env_name)
        base = f"{config.prefix}{env_name}"
        names |= {base, f"{base}-", env.cluster_name, env.vpc_name, env.txt_owner_id}
        names |= {
            env.role_name(p)
            for p in ("lbc", "external-dns", "external-secrets", "argocd-deployer", "saleor", "cluster-autoscaler")
        }
        names |= {env.media_bucket, env.private_media_bucket}
        names.add(env.alb_logs_bucket)
        names |= {env.secret_name(p) for p in ("saleor-app", "saleor-db", "saleor-cache", "origin-verify")}
    return names


def test_every_prefixed_name_in_the_trees_is_one_kyeol_toml_derives(config):
    derived = _derived_names(config)
    for path in _files():
        unknown = set(PREFIXED.findall(path.read_text(encoding="utf-8"))) - derived
        assert not unknown, (
            f"{path.relative_to(support.ROOT)} names {sorted(unknown)}, which steps/wiring/config.py does not derive"
        )


def test_account_ids_and_region_are_the_configured_ones(config):
    accounts = {config.env(e).account_id for e in ALL_ENVS}
    for path in _files():
        text = path.read_text(encoding="utf-8")
        assert set(ACCOUNT.findall(text)) <= accounts, path
        assert set(REGION.findall(text)) <= {config.region}, path


def _env_of(path: Path) -> str | None:
    parts = path.relative_to(support.ROOT).parts
    names = [p.removesuffix(".yaml").removeprefix("saleor-") for p in parts]
    found = [n for n in names if n in TARGET_ENVS]
    return found[0] if found else None


def test_hostnames_in_each_environments_files_are_that_environments(config):
    for path in _files():
        hosts = set(HOST.findall(path.read_text(encoding="utf-8")))
        env = _env_of(path)
        if env is None:
            assert hosts <= set(), f"{path.relative_to(support.ROOT)} is shared but names hosts {hosts}"
            continue
        e = config.env(env)
        assert hosts <= {*e.public_hosts, *e.origin_hosts}, f"{path.relative_to(support.ROOT)}: {hosts}"


def _git_sources(doc: Any) -> list[dict[str, Any]]:
    spec = doc.get("spec", {})
    spec = spec.get("template", {}).get("spec", spec) if doc.get("kind") == "ApplicationSet" else spec
    sources = spec.get("sources") or ([spec["source"]] if "source" in spec else [])
    return [s for s in sources if "chart" not in s]


def test_argo_cd_reads_this_repository_at_the_configured_revision(config):
    documents = [d for p in _files() if p.suffix == ".yaml" for d in yaml.safe_load_all(p.read_text(encoding="utf-8")) if d]
    argo = [d for d in documents if isinstance(d, dict) and d.get("kind") in ("Application", "ApplicationSet")]
    assert len(argo) == 1 + len(ADDONS) + 3  # platform-root, one ApplicationSet per add-on, saleor-<env>
    for doc in argo:
        sources = _git_sources(doc)
        assert sources, doc["metadata"]["name"]
        for source in sources:
            assert (source["repoURL"], source["targetRevision"]) == (config.git_repo_url, config.git_revision), doc["metadata"][
                "name"
            ]


def _expand(token: str) -> list[str]:
    match = re.search(r"\{([^{}]*)\}", token)
    if match is None:
        return [token]
    return [e for part in match.group(1).split(",") for e in _expand(token[: match.start()] + part + token[match.end() :])]


def test_readme_layouts_list_exactly_the_files_of_their_tree():
    """The README trees are checked, so they cannot drift from the folders they describe."""
    for tree in (support.PLATFORM, support.APP):
        readme = (tree / "README.md").read_text(encoding="utf-8")
        layout = readme.split("```", 2)[1]
        listed = {name for token in re.findall(r"[\w.{},-]+\.(?:yaml|env)\b", layout) for name in _expand(token)}
        on_disk = {p.name for p in tree.rglob("*") if p.is_file() and p.name != "README.md"}
        assert listed == on_disk, (
            f"{tree.name}/README.md: listed but absent {sorted(listed - on_disk)}, present but unlisted {sorted(on_disk - listed)}"
        )
