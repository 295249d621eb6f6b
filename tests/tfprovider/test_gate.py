"""The gate: the real ``terraform`` inits, validates, plans (from an empty state), applies and
outputs every root of kyeol-infra-terraform through the provider stand-in, and each root's
outputs are what kyeol's steps require of it, with the shapes kyeol records.

Roots are discovered (``tree.roots``), never listed, so a root another branch adds is gated
too. The values passed are those kyeol passes (each step's ``variables()``, fed with the
outputs of the roots applied before, as kyeol chains them) plus ``gate.FILLED_IN``.
"""

from __future__ import annotations

import json
import resource
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from runbook.errors import OutputUnknown
from steps.config import TARGET_ENVS, load_config
from steps.project import build_steps
from steps.services import Services
from steps.terraform_root import TerraformRootStep
from tests.tfprovider import gate, tree
from tests.tfprovider.conftest import INFRA

pytestmark = pytest.mark.slow
REPO = INFRA.parent
ROOTS = gate.root_order(tree.roots(INFRA))
# The whole gate's budget on CI's 2 cores (issue 9): wall time per root and in total is reported;
# what is asserted is the CPU time all its processes use, which a loaded machine does not inflate:
# within 180 s of CPU the gate fits 3 minutes even on one free core.
BUDGET_S = 180.0


def root_steps() -> dict[str, list[TerraformRootStep]]:
    """Every Terraform step of every target environment, by the root it applies."""
    config = load_config(REPO / "kyeol.toml")
    by_root: dict[str, dict[str, TerraformRootStep]] = {}
    for env in TARGET_ENVS:
        for step in build_steps(Services(config), env):
            if isinstance(step, TerraformRootStep):
                by_root.setdefault(step.root, {})[step.id] = step
    return {root: list(steps.values()) for root, steps in by_root.items()}


class _Outputs:
    """The part of a step context that ``variables()`` reads: earlier steps' outputs."""

    def __init__(self, by_step: dict[str, dict[str, Any]]):
        self.by_step = by_step

    def outputs_of(self, step_id: str) -> dict[str, Any]:
        if step_id not in self.by_step:
            raise OutputUnknown(f"outputs of step {step_id!r} are not known yet", hint="apply it first")
        return self.by_step[step_id]

    def output(self, step_id: str, key: str) -> Any:
        return self.outputs_of(step_id)[key]


def recorded_shapes() -> dict[str, dict[str, str]]:
    """JSON type names of the outputs kyeol records, per step kind (state.json.example, itself
    tested against the real steps): ``dev.infra`` stands for every ``<env>.infra``."""
    steps = json.loads((REPO / "state.json.example").read_text())["steps"]
    return {sid.replace("dev.", "<env>."): {k: type(v).__name__ for k, v in rec.get("outputs", {}).items()}
            for sid, rec in steps.items()}


def record_key(step_id: str) -> str:
    """The state.json.example record that shows *step_id*'s outputs (``dev.infra`` for every env)."""
    env, _, rest = step_id.partition(".")
    return f"<env>.{rest}" if rest == "infra" and env != "mgmt" else step_id


def output_problems(step: TerraformRootStep, outputs: dict[str, Any], shapes: dict[str, dict[str, str]]) -> list[str]:
    """What *step* requires of ``terraform output -json`` and does not get: a missing or empty
    output, or one whose JSON type differs from what kyeol records for it."""
    recorded = shapes.get(record_key(step.id), {})
    problems = []
    for name in step.required_outputs:
        out = outputs.get(name)
        if out is None or out["value"] in (None, "", [], {}):
            problems.append(f"{step.id} requires output {name}: {'missing' if out is None else 'empty'}")
            continue
        want, got = recorded.get(name), type(out["value"]).__name__
        if want is None:
            problems.append(f"{step.id} output {name}: state.json.example records no shape for it")
        elif got != want:
            problems.append(f"{step.id} output {name} is a {got}, kyeol records a {want}")
    return problems


def test_output_check_reports_missing_empty_and_mistyped_outputs() -> None:
    env_infra = next(s for s in root_steps()["envs/stage"] if s.id == "stage.infra")
    good = {name: {"value": {"api": "E1"} if name in ("cloudfront_distribution_ids", "secret_arns") else "x"}
            for name in env_infra.required_outputs}
    assert output_problems(env_infra, good, recorded_shapes()) == []
    bad = dict(good, rds_endpoint={"value": ""}, secret_arns={"value": ["arn"]})
    del bad["vpc_id"]
    assert sorted(output_problems(env_infra, bad, recorded_shapes())) == [
        "stage.infra output secret_arns is a list, kyeol records a dict",
        "stage.infra requires output rds_endpoint: empty",
        "stage.infra requires output vpc_id: missing",
    ]


@pytest.fixture(scope="module")
def gate_runs(standin, tmp_path_factory) -> dict[str, gate.RootRun | Exception]:
    """Every root, in waves: a root runs once the outputs its steps' ``variables()`` read are
    known (as kyeol chains them). Roots run one at a time: terraform already plans and applies
    in parallel inside a root, and two roots at once were slower on a loaded 2-core machine."""
    tree_copy = gate.copy_tree(INFRA, tmp_path_factory.mktemp("gate"))
    steps = root_steps()
    outputs_by_step: dict[str, dict[str, Any]] = {}
    results: dict[str, gate.RootRun | Exception] = {}
    pending = list(ROOTS)
    started, cpu_before = time.monotonic(), _children_cpu()
    while pending:
        wave: dict[str, dict[str, Any]] = {}
        for root in pending:
            declared = gate.declared_variables(tree_copy / root)
            values: dict[str, Any] = {k: v for k, v in gate.FILLED_IN.items() if k in declared}
            try:
                for step in steps.get(root, []):
                    values.update({k: v for k, v in (step.variables(_Outputs(outputs_by_step)) or {}).items() if k in declared})
            except OutputUnknown:
                continue  # needs a root of a later wave
            wave[root] = values
        if not wave:  # what they wait for failed or never comes
            for root in pending:
                results[root] = AssertionError(f"{root}: the outputs its variables need never became known")
            break
        with ThreadPoolExecutor(max_workers=1) as pool:
            futures = {root: pool.submit(gate.run_root, standin, tree_copy / root, values) for root, values in wave.items()}
        for root, future in futures.items():
            pending.remove(root)
            try:
                run = future.result()
            except gate.TerraformFailed as exc:
                results[root] = exc
                continue
            results[root] = run
            plain = {name: out["value"] for name, out in run.outputs.items()}
            for step in steps.get(root, []):
                outputs_by_step[step.id] = plain
    WALL["seconds"] = time.monotonic() - started
    WALL["cpu"] = _children_cpu() - cpu_before
    return results


WALL: dict[str, float] = {}


def _children_cpu() -> float:
    """CPU seconds of every finished child process (terraform, and the provider processes it
    reaps): unlike wall time, it does not grow when other jobs load the machine."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@pytest.mark.parametrize("root", ROOTS)
def test_root_plans_applies_and_outputs_what_kyeol_reads(root: str, gate_runs, gate_summary) -> None:
    result = gate_runs[root]
    if isinstance(result, Exception):
        raise result
    gate_summary.append(f"{root}: {result.total:.1f} s (" + ", ".join(f"{k} {v:.1f}" for k, v in result.seconds.items()) + ")")
    problems = [p for step in root_steps().get(root, []) for p in output_problems(step, result.outputs, recorded_shapes())]
    assert not problems, f"{root}: " + "; ".join(problems)


def test_a_second_plan_of_an_applied_env_root_has_no_changes(standin, gate_runs) -> None:
    """envs/dev stands for the env roots (they share modules/saleor-environment); kept out of
    the gate's budget, which covers init, validate, plan, apply and output."""
    run = gate_runs["envs/dev"]
    if isinstance(run, Exception):
        raise run
    gate.replan(standin, run)


def test_every_root_ran_and_the_gate_fits_its_budget(gate_runs, gate_summary) -> None:
    assert ROOTS and {"envs/bootstrap", "envs/mgmt"} <= set(ROOTS), f"root discovery found {ROOTS}"
    runs = [r for r in gate_runs.values() if isinstance(r, gate.RootRun)]
    cpu = WALL["cpu"]
    gate_summary.append(f"all {len(runs)} roots: {WALL['seconds']:.1f} s wall, {cpu:.1f} s CPU (budget {BUDGET_S:.0f} s CPU)")
    assert len(runs) == len(ROOTS), "a root failed: see its own test"
    assert cpu <= BUDGET_S, f"the gate used {cpu:.0f} s of CPU, over its {BUDGET_S:.0f} s budget (3 minutes on CI's 2 cores)"
