"""The benchmarks still run, at a tiny scale, and still measure what they claim.

Not timing tests: they check the structure of the results (the critical path, the no-op
outcome, which modules the CLI imports), never how fast this machine is today.
"""

from __future__ import annotations

import importlib.util

import pytest

from benchmarks import critical_path, noop_redeploy, run
from benchmarks.graph import ARCHITECTURE, MINUTES, _from_architecture_table, graph_source, kyeol_dev_graph
from steps.project import _PHASE_MODULES

pytestmark = pytest.mark.slow


def test_the_architecture_table_parses_to_the_twelve_dev_steps() -> None:
    shapes = _from_architecture_table(ARCHITECTURE.read_text(encoding="utf-8"))
    assert [s.id for s in shapes] == list(MINUTES)
    assert {s.id: s.needs for s in shapes}["dev.register"] == ("argocd", "dev.infra")
    assert {s.id: s.phase for s in shapes}["dev.verify"] == 9


@pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in _PHASE_MODULES), reason="not every phase module exists yet"
)
def test_the_real_step_graph_matches_the_architecture_table() -> None:
    assert graph_source() == "steps.project.build_steps"
    real = [(s.id, s.phase, s.needs) for s in kyeol_dev_graph()]
    table = [(s.id, s.phase, s.needs) for s in _from_architecture_table(ARCHITECTURE.read_text(encoding="utf-8"))]
    assert real == table


def test_the_critical_path_benchmark_runs_in_parallel_and_the_path_moves_with_multi_az_rds() -> None:
    single = critical_path.measure(10.0)
    multi = critical_path.measure(10.0, multi_az=True)

    assert single.critical_minutes == pytest.approx(33.0) and single.sum_minutes == pytest.approx(58.5)
    assert single.path == ["bootstrap", "mgmt.registry", "mgmt.infra", "argocd", "dev.register", "dev.addons", "dev.sync", "dev.verify"]
    assert multi.critical_minutes == pytest.approx(34.0)
    # The env root waits for MGMT's NAT addresses (mgmt.registry, 2.5 min) more than for global (2).
    assert multi.path[:3] == ["bootstrap", "mgmt.registry", "dev.infra"]
    for r in (single, multi):
        assert r.wall_s >= r.critical_s  # the floor holds
        # mgmt.infra, dev.infra and dev.images overlap (timing-independent: read from the step records)
        assert r.peak_parallel == 3
        assert r.checkpoints == 2 + 2 * 12  # run start and end, and two transitions per step


def test_a_noop_redeploy_applies_nothing_and_writes_only_the_run_record() -> None:
    result = noop_redeploy.measure(3)
    assert result.steps == 12 and result.repeats == 3
    assert result.checkpoints_per_run == 2
    assert len(result.engine_ms) == 3 and len(result.command_ms) == 3
    assert result.engine_median_ms < run.NOOP_TARGET_MS  # measures ~20 ms; a regression to 1 s is a bug


def test_the_runner_prints_every_row_and_the_cli_imports_no_cloud_sdk(capsys: pytest.CaptureFixture[str]) -> None:
    run.main(["--quick"])
    out = capsys.readouterr().out
    rows = {line.split("  ")[0]: line for line in out.splitlines() if line and not line.startswith((" ", "-"))}
    for name in (
        "deploy dev, single-AZ RDS",
        "deploy dev, Multi-AZ RDS",
        "no-op re-deploy, engine",
        "no-op re-deploy, whole command",
        "kyeol --help",
        "kyeol status",
    ):
        assert name in rows, out
    assert "no cloud SDK" in rows["kyeol --help"] and "no cloud SDK" in rows["kyeol status"]
    assert "34.0 min: bootstrap → mgmt.registry → dev.infra" in out
