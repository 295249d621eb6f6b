"""`state.json.example` is what a user reads to learn the checkpoint: its records must look like
the ones kyeol's real steps write, or it teaches the wrong shapes."""

from __future__ import annotations

import json
from pathlib import Path

from steps.phases.terraform_root import INPUTS_OUTPUT, TerraformRootStep
from steps.wiring.config import IMAGES, load_config
from steps.wiring.project import build_steps
from steps.wiring.services import Services

ROOT = Path(__file__).resolve().parents[3]


def example_steps() -> dict[str, dict]:
    return json.loads((ROOT / "state.json.example").read_text(encoding="utf-8"))["steps"]


def real_steps() -> dict[str, object]:
    config = load_config(ROOT / "kyeol.toml")
    return {step.id: step for step in build_steps(Services(config), "dev")}


def test_the_example_names_exactly_the_real_dev_steps_with_their_phases() -> None:
    example, real = example_steps(), real_steps()
    assert list(example) == list(real)
    assert {sid: rec["phase"] for sid, rec in example.items()} == {sid: step.phase for sid, step in real.items()}


def test_every_applied_terraform_step_records_its_required_outputs_and_the_inputs_digest() -> None:
    example, real = example_steps(), real_steps()
    checked = 0
    for sid, step in real.items():
        if not isinstance(step, TerraformRootStep) or example[sid]["status"] != "done":
            continue
        outputs = example[sid]["outputs"]
        missing = [name for name in (*step.required_outputs, INPUTS_OUTPUT) if name not in outputs]
        assert not missing, f"{sid} in state.json.example lacks {missing}"
        checked += 1
    assert checked == 6  # bootstrap, account, global, mgmt.registry, mgmt.infra, dev.infra


def test_output_shapes_match_what_the_roots_output() -> None:
    example = example_steps()
    for sid in ("mgmt.registry", "mgmt.infra"):
        assert set(example[sid]["outputs"]["ecr_repository_urls"]) == set(IMAGES), sid
        assert all(isinstance(ip, str) for ip in example[sid]["outputs"]["nat_public_ips"])
    assert "pg_nat_eip" not in example["dev.infra"]["outputs"], "null outside prod: Terraform records no value"
