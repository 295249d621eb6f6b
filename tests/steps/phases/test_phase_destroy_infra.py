"""`<env>.infra.destroy` with the real Terraform CLI on the fixture roots (state in moto's S3):
a destroy plan that is shown, then applied from the saved file; a second run does nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook.errors import PermanentError
from steps.phases import phase1_bootstrap, phase2_mgmt, phase3_env_infra
from steps.phases.phase_destroy import EnvInfraDestroy
from steps.phases.terraform_root import TerraformRootStep
from tests.fixtures.infra.world import World, make_world
from tests.standins.kube_world import drive

pytestmark = pytest.mark.slow


def deploy_steps(world: World) -> list[TerraformRootStep]:
    """dev.infra and the steps it needs (bootstrap, global, ...), nothing else."""
    services = world.services()
    cfg = world.config.env("dev")
    every = {s.id: s for m in (phase1_bootstrap, phase2_mgmt, phase3_env_infra) for s in m.build(services, cfg)}
    wanted, pending = set(), ["dev.infra"]
    while pending:
        sid = pending.pop()
        if sid not in wanted:
            wanted.add(sid)
            pending += list(every[sid].needs)
    return [s for sid, s in every.items() if sid in wanted]


def destroy_step(world: World, *, dry_run: bool = False) -> EnvInfraDestroy:
    return EnvInfraDestroy(world.services(dry_run=dry_run), world.config.env("dev"))


@pytest.fixture
def world(tmp_path: Path, moto_endpoint: str) -> World:
    built = make_world(tmp_path, moto_endpoint)
    result = built.run(deploy_steps(built))
    assert result.exit_code == 0, [s.error for s in result.steps if s.error]
    return built


def state_list(world: World) -> list[str]:
    step = destroy_step(world)
    return step._state(world.context(step))


def test_destroy_plans_then_applies_the_saved_destroy_plan_and_a_second_run_does_nothing(world: World) -> None:
    before = state_list(world)
    assert any(a.startswith("module.eks") for a in before), before

    dry = destroy_step(world, dry_run=True)
    planned = drive(dry, world.context(dry, dry_run=True))
    assert planned.kind == "planned" and planned.plan is not None
    deletes = sorted(c.target for c in planned.plan.changes if c.action == "delete")
    assert deletes and set(deletes) == set(before)
    assert not world.log.commands("apply") or all("-destroy" not in c for c in world.log.commands("apply"))
    assert state_list(world) == before  # the dry-run destroyed nothing

    applies = len(world.log.commands("apply"))
    step = destroy_step(world)
    outcome = drive(step, world.context(step))
    assert outcome.kind == "applied"
    assert outcome.outputs == {"destroyed": "envs/dev", "resources_destroyed": len(before)}
    plans = [c for c in world.log.commands("plan") if "-destroy" in c.split()]
    assert plans and all("-out=" in c for c in plans)
    new_applies = world.log.commands("apply")[applies:]
    assert len(new_applies) == 1 and new_applies[0].split()[-1].endswith("plan.tfplan")  # the saved plan, nothing else
    assert state_list(world) == []

    again = destroy_step(world)
    second = drive(again, world.context(again))
    assert second.kind == "done" and "holds nothing" in second.reason
    assert len(world.log.commands("apply")) == applies + 1, "a second destroy applies nothing"


def test_a_resource_with_prevent_destroy_stops_the_destroy_with_what_to_do(world: World) -> None:
    root = world.infra / "envs/dev"
    (root / "kept.tf").write_text(
        'resource "terraform_data" "kept" {\n  input = "allow-listed address"\n  lifecycle {\n    prevent_destroy = true\n  }\n}\n'
    )
    result = world.run(deploy_steps(world))  # the new resource is applied (its files changed)
    assert result.exit_code == 0, [s.error for s in result.steps if s.error]
    before = state_list(world)
    assert "terraform_data.kept" in before

    step = destroy_step(world)
    with pytest.raises(PermanentError) as refused:
        drive(step, world.context(step))
    message = getattr(refused.value, "message", str(refused.value))
    assert "prevent_destroy" in message and "nothing of envs/dev was destroyed" in message
    assert "state rm" in refused.value.hint
    assert state_list(world) == before
