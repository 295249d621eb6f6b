"""The benchmarks still run, at a tiny scale, and still measure what they claim.

Not timing tests: they check the structure of the results (the critical path, the no-op
outcome, which modules the CLI imports), never how fast this machine is today.
"""

from __future__ import annotations

import importlib.util

import pytest

from benchmarks import critical_path, noop_redeploy, run
from benchmarks.graph import ARCHITECTURE, MINUTES, _from_architecture_table, graph_source, kyeol_dev_graph
from steps.wiring.project import _PHASE_MODULES

pytestmark = pytest.mark.slow


def test_the_architecture_table_parses_to_the_twelve_dev_steps() -> None:
    shapes = _from_architecture_table(ARCHITECTURE.read_text(encoding="utf-8"))
    assert [s.id for s in shapes] == list(MINUTES)
    assert {s.id: s.needs for s in shapes}["dev.register"] == ("argocd", "dev.infra")
    assert {s.id: s.phase for s in shapes}["dev.verify"] == 9


@pytest.mark.skipif(any(importlib.util.find_spec(m) is None for m in _PHASE_MODULES), reason="not every phase module exists yet")
def test_the_real_step_graph_matches_the_architecture_table() -> None:
    assert graph_source() == "steps.wiring.project.build_steps"
    real = [(s.id, s.phase, s.needs) for s in kyeol_dev_graph()]
    table = [(s.id, s.phase, s.needs) for s in _from_architecture_table(ARCHITECTURE.read_text(encoding="utf-8"))]
    assert real == table


def test_the_critical_path_benchmark_runs_in_parallel_and_the_path_moves_with_multi_az_rds() -> None:
    single = critical_path.measure(10.0)
    multi = critical_path.measure(10.0, multi_az=True)

    assert single.critical_minutes == pytest.approx(33.0) and single.sum_minutes == pytest.approx(58.5)
    assert single.path == [
        "bootstrap",
        "mgmt.registry",
        "mgmt.infra",
        "argocd",
        "dev.register",
        "dev.addons",
        "dev.sync",
        "dev.verify",
    ]
    assert multi.critical_minutes == pytest.approx(34.0)
    # The env root waits for MGMT's NAT addresses (mgmt.registry, 2.5 min) more than for global (2).
    assert multi.path[:3] == ["bootstrap", "mgmt.registry", "dev.infra"]
    for r in (single, multi):
        assert r.wall_s >= r.critical_s  # the floor holds
        # mgmt.infra, dev.infra and dev.images overlap (timing-independent: read from the step records)
        assert r.peak_parallel == 3
        assert r.checkpoints == 2 + 2 * 12  # run start and end, and two transitions per step


def test_the_whole_platform_is_one_graph_whose_path_runs_through_a_multi_az_env() -> None:
    """MGMT + dev + stage + prod in one run: the critical path is stage's chain (Multi-AZ RDS,
    16 min), 34 min; three runs one after another take about three times as long."""
    from benchmarks import full_platform
    from benchmarks.graph import kyeol_platform_graph, platform_minutes
    from runbook.graph import Graph

    minutes = platform_minutes()
    assert minutes["dev.infra"] == 14.0 and minutes["stage.infra"] == minutes["prod.infra"] == 16.0
    shapes = kyeol_platform_graph()
    assert [s.id for s in shapes].count("argocd") == 1 and len(shapes) == 6 + 3 * 6
    graph = Graph(full_platform.sleep_steps(shapes, minutes, {}))
    critical, path = graph.critical_path(minutes)
    assert critical == pytest.approx(34.0)
    assert path == ["bootstrap", "mgmt.registry", "stage.infra", "stage.register", "stage.addons", "stage.sync", "stage.verify"]
    # What the slots alone allow (no engine overhead): 4 leaves the images waiting behind four
    # infra applies; 6 reaches the critical path. Pure arithmetic, timing-independent.
    ideal = {p: full_platform.schedule_length(graph, minutes, p) for p in (1, 4, 5, 6, 8)}
    assert ideal[1] == pytest.approx(sum(minutes[s.id] for s in shapes))
    assert ideal[4] > ideal[5] > critical and ideal[6] == ideal[8] == pytest.approx(critical)
    # Two envs (dev + stage) reach the same 34-minute path with the default 4 slots.
    two = platform_minutes(("dev", "stage"))
    two_graph = Graph(full_platform.sleep_steps(kyeol_platform_graph(("dev", "stage")), two, {}))
    assert full_platform.schedule_length(two_graph, two, 4) == pytest.approx(critical)

    measured = full_platform.measure(5.0, parallelisms=(4, 6))
    assert measured.needed_parallelism == 6
    for p in (4, 6):
        assert measured.walls[p] >= measured.ideal[p] * 0.999  # the floor holds
    assert measured.peaks[4] <= 4 and measured.peaks[6] <= 6  # never more steps at once than slots
    assert len(measured.sequential_runs) == 3 and measured.sequential_s > 2 * measured.critical_s


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
        "kyeol --version",
        "kyeol status",
    ):
        assert name in rows, out
    assert all("no cloud SDK" in rows[name] for name in ("kyeol --help", "kyeol --version", "kyeol status"))
    assert "34.0 min: bootstrap → mgmt.registry → dev.infra" in out
