"""KYEOL's dev step graph (ids, phases, needs) and how long each step takes in reality.

The shape comes from the real steps (``steps.wiring.project.build_steps``) when every phase module
exists; until then from the table in ``docs/architecture.md`` §1, which is the contract those
modules follow. Durations are ``shared/reference/durations.md`` §3, in minutes.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARCHITECTURE = ROOT / "docs" / "architecture.md"

# Minutes per step (durations.md §3). mgmt.registry is the ECR + OIDC + VPC part of phase 2
# that images (and the env roots, for MGMT's NAT addresses) wait for: VPC < 0.5 + NAT gateway
# 2 (durations.md §1); global is ACM validation + WAF in us-east-1.
MINUTES: dict[str, float] = {
    "bootstrap": 1.0,
    "account": 1.5,  # KMS key, two buckets, trail, detector, recorder, rules: API calls of seconds each
    "global": 2.0,
    "mgmt.registry": 2.5,
    "mgmt.infra": 13.0,  # EKS 10 + vpc-cni 0.5 + node group 2 + Terraform 0.5; the VPC is already there
    "dev.infra": 14.0,  # VPC + EKS + node group + add-ons; RDS single-AZ (6) fits inside
    "argocd": 2.0,
    "dev.register": 0.5,
    "dev.addons": 3.0,
    "dev.images": 8.0,
    "dev.sync": 9.0,
    "dev.verify": 2.0,
}
# With a Multi-AZ RDS (as stage has), the env apply waits on RDS instead of EKS:
# VPC 0.5 + Multi-AZ RDS 15 + Terraform's own 0.5 = 16 minutes, longer than the 14-minute EKS chain.
MULTI_AZ_DEV_INFRA = 16.0


@dataclass(frozen=True)
class StepShape:
    id: str
    phase: int
    needs: tuple[str, ...]
    scope: str
    title: str


def graph_source() -> str:
    """Where the shape comes from: the real steps, or the architecture table."""
    from steps.wiring.project import _PHASE_MODULES

    missing = [m for m in _PHASE_MODULES if importlib.util.find_spec(m) is None]
    return "docs/architecture.md §1 (missing: " + ", ".join(missing) + ")" if missing else "steps.wiring.project.build_steps"


def kyeol_dev_graph() -> list[StepShape]:
    """The dev deployment's steps in runbook order."""
    if graph_source() == "steps.wiring.project.build_steps":
        return _from_real_steps()
    return _from_architecture_table(ARCHITECTURE.read_text(encoding="utf-8"))


def _from_real_steps(envs: str = "dev") -> list[StepShape]:
    from steps.wiring.config import load_config
    from steps.wiring.project import build_steps
    from steps.wiring.services import Services

    services = Services(load_config(ROOT / "kyeol.toml"), dry_run=True)
    return [StepShape(s.id, s.phase, tuple(s.needs), s.scope, s.title) for s in build_steps(services, envs)]


PLATFORM_ENVS = ("dev", "stage", "prod")


def kyeol_platform_graph(envs: tuple[str, ...] = PLATFORM_ENVS) -> list[StepShape]:
    """One run over several envs (``kyeol deploy --env all``): the shared steps once, each
    env's chain. Only from the real steps (the architecture table describes one env)."""
    return _from_real_steps(",".join(envs))


def platform_minutes(envs: tuple[str, ...] = PLATFORM_ENVS) -> dict[str, float]:
    """Minutes per step of the whole platform: each env's chain takes dev's durations, with
    the Multi-AZ RDS apply (16 min) for every env configured Multi-AZ (stage and prod)."""
    from steps.wiring.config import load_config

    config = load_config(ROOT / "kyeol.toml")
    table = {sid: m for sid, m in MINUTES.items() if not sid.startswith("dev.")}
    for env in envs:
        for suffix in ("infra", "register", "addons", "images", "sync", "verify"):
            table[f"{env}.{suffix}"] = MINUTES[f"dev.{suffix}"]
        if config.env(env).rds_multi_az:
            table[f"{env}.infra"] = MULTI_AZ_DEV_INFRA
    return table


def _from_architecture_table(text: str, env: str = "dev") -> list[StepShape]:
    """Rows ``| phase | `id` | scope | needs | what |`` of §1, ``<env>`` filled in."""
    section = text.split("## 1.", 1)[1].split("\n## ", 1)[0]
    shapes: list[StepShape] = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 5 or not cells[0].isdigit():
            continue
        fill = lambda s: s.replace("`", "").replace("<env>", env).strip()  # noqa: E731
        needs = tuple(fill(n) for n in re.split(r",\s*", cells[3]) if fill(n) not in ("", "–", "-"))
        scope = env if cells[2] == "env" else cells[2]
        shapes.append(StepShape(fill(cells[1]), int(cells[0]), needs, scope, fill(cells[4])))
    if not shapes:
        raise ValueError(f"no step table found in §1 of {ARCHITECTURE}")
    return shapes


def minutes(multi_az: bool = False) -> dict[str, float]:
    table = dict(MINUTES)
    if multi_az:
        table["dev.infra"] = MULTI_AZ_DEV_INFRA
    return table
