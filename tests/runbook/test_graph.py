"""Graph: validation errors a user can act on, runbook order, selection, critical path, drawing."""

from __future__ import annotations

import itertools
import json

import pytest

from runbook.errors import EXIT_USAGE, UsageError
from runbook.graph import Graph
from runbook.step import Step


class S(Step):
    def __init__(self, id: str, phase: int, needs: tuple[str, ...] = (), estimate: float = 60.0, title: str = "") -> None:
        self.id = id
        self.phase = phase
        self.needs = needs
        self.estimate_s = estimate
        self.title = title


def kyeol_like(minutes: dict[str, float] | None = None) -> list[Step]:
    """The dev graph of docs/architecture.md §1, estimates from reference/durations.md (minutes)."""
    m = {
        "bootstrap": 1,
        "global": 1,
        "mgmt.registry": 0.5,
        "mgmt.infra": 13.5,
        "dev.infra": 14,
        "argocd": 2,
        "dev.register": 0.5,
        "dev.addons": 3,
        "dev.images": 8,
        "dev.sync": 9,
        "dev.verify": 2,
    }
    m.update(minutes or {})
    spec = [
        ("bootstrap", 1, ()),
        ("global", 2, ("bootstrap",)),
        ("mgmt.registry", 2, ("bootstrap",)),
        ("mgmt.infra", 2, ("mgmt.registry",)),
        ("dev.infra", 3, ("bootstrap", "global")),
        ("argocd", 4, ("mgmt.infra",)),
        ("dev.register", 5, ("argocd", "dev.infra")),
        ("dev.addons", 6, ("dev.register",)),
        ("dev.images", 7, ("mgmt.registry",)),
        ("dev.sync", 8, ("dev.addons", "dev.images")),
        ("dev.verify", 9, ("dev.sync",)),
    ]
    return [S(sid, phase, needs, m[sid] * 60) for sid, phase, needs in spec]


def test_order_is_the_runbook_order_for_the_architecture_graph() -> None:
    steps = kyeol_like()
    # Declared last phase first (same-phase steps keep their relative order): the order
    # comes from phases and needs, not from the position in the list.
    graph = Graph(sorted(steps, key=lambda s: -s.phase))
    assert graph.order() == [s.id for s in steps]


def test_order_keeps_declaration_order_within_a_phase_and_respects_needs_across_phases() -> None:
    graph = Graph([S("b", 1), S("a", 1), S("late", 1, ("z",)), S("z", 2), S("c", 3, ("a",))])
    order = graph.order()
    assert order[:2] == ["b", "a"]  # same phase: declaration order
    assert order.index("z") < order.index("late")  # a need in a later phase still comes first
    assert order == ["b", "a", "z", "late", "c"]


def test_unknown_need_names_the_step_and_the_missing_id() -> None:
    with pytest.raises(UsageError) as err:
        Graph([S("dev.infra", 3), S("dev.register", 5, ("dev.infr",))])
    assert "'dev.register'" in err.value.message and "'dev.infr'" in err.value.message
    assert "dev.infra" in err.value.hint  # did you mean
    assert err.value.exit_code == EXIT_USAGE


def test_duplicate_ids_are_refused() -> None:
    with pytest.raises(UsageError, match="'a' is declared twice"):
        Graph([S("a", 1), S("a", 2)])


def test_cycle_error_lists_the_cycle_path() -> None:
    steps = [S("root", 1), S("a", 2, ("root", "c")), S("b", 3, ("a",)), S("c", 4, ("b",))]
    with pytest.raises(UsageError) as err:
        Graph(steps)
    message = err.value.message
    assert message.startswith("dependency cycle: ")
    path = message.split(": ", 1)[1].split(" → ")
    assert path[0] == path[-1]
    assert set(path) == {"a", "b", "c"} and "root" not in path
    # consecutive entries are real edges, need → dependent
    needs = {s.id: s.needs for s in steps}
    for need, dependent in itertools.pairwise(path):
        assert need in needs[dependent]


def test_self_need_is_a_cycle() -> None:
    with pytest.raises(UsageError, match="dependency cycle: a → a"):
        Graph([S("a", 1, ("a",))])


def test_ready_and_dependents() -> None:
    graph = Graph(kyeol_like())
    assert graph.ready(set()) == ["bootstrap"]
    assert graph.ready({"bootstrap"}) == ["global", "mgmt.registry"]
    assert graph.ready({"bootstrap", "mgmt.registry"}) == ["global", "mgmt.infra", "dev.images"]
    assert graph.dependents("dev.infra") == ["dev.register", "dev.addons", "dev.sync", "dev.verify"]
    assert graph.dependents("dev.verify") == []


def test_critical_path_matches_the_reference_durations() -> None:
    graph = Graph(kyeol_like())
    length, path = graph.critical_path()
    assert length / 60 == pytest.approx(31.5)
    assert path == ["bootstrap", "mgmt.registry", "mgmt.infra", "argocd", "dev.register", "dev.addons", "dev.sync", "dev.verify"]
    assert graph.as_json()["sequential_s"] / 60 == pytest.approx(54.5)


def test_critical_path_follows_measured_durations_over_estimates() -> None:
    graph = Graph(kyeol_like())
    # A slow DEV apply (Multi-AZ RDS, say) moves the critical path through dev.infra.
    length, path = graph.critical_path({"dev.infra": 25 * 60})
    assert path[:3] == ["bootstrap", "global", "dev.infra"]
    assert length / 60 == pytest.approx(1 + 1 + 25 + 0.5 + 3 + 9 + 2)


def test_select_only_from_to() -> None:
    graph = Graph(kyeol_like())
    assert graph.select() == graph.order()
    assert graph.select(only="dev.sync,dev.register") == ["dev.register", "dev.sync"]
    assert graph.select(only=["dev.verify"]) == ["dev.verify"]
    assert graph.select(from_="dev.register") == ["dev.register", "dev.addons", "dev.images", "dev.sync", "dev.verify"]
    assert graph.select(to="mgmt.infra") == ["bootstrap", "global", "mgmt.registry", "mgmt.infra"]
    assert graph.select(from_="argocd", to="dev.addons") == ["argocd", "dev.register", "dev.addons"]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"only": "dev.synk"}, "--only 'dev.synk' is not a step"),
        ({"from_": "nope"}, "--from 'nope' is not a step"),
        ({"from_": "dev.sync", "to": "argocd"}, "comes after"),
        ({"only": "argocd", "to": "dev.sync"}, "cannot be combined"),
    ],
)
def test_select_errors_are_usage_errors(kwargs: dict, fragment: str) -> None:
    with pytest.raises(UsageError, match=fragment):
        Graph(kyeol_like()).select(**kwargs)


def test_select_suggests_a_close_id() -> None:
    with pytest.raises(UsageError) as err:
        Graph(kyeol_like()).select(only="dev.synk")
    assert "dev.sync" in err.value.hint


def test_mermaid_has_phase_subgraphs_and_every_edge() -> None:
    steps = kyeol_like()
    steps[0].title = 'state "bucket"'
    text = Graph(steps).mermaid({1: "Bootstrap"})
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    assert sum(1 for l in lines if l.strip().startswith("subgraph")) == 9
    assert sum(1 for l in lines if l.strip() == "end") == 9
    assert 'subgraph phase1["Phase 1: Bootstrap"]' in text
    assert sum(1 for l in lines if "-->" in l) == sum(len(s.needs) for s in steps)
    assert "state 'bucket'" in text  # quotes cannot break the label
    # node ids are safe (no dots); labels carry the real ids
    node_lines = [l.strip() for l in lines if '["' in l and not l.strip().startswith("subgraph")]
    assert len(node_lines) == 11
    assert all(l.split("[", 1)[0].isidentifier() for l in node_lines)
    assert any('"dev.register"' in l for l in node_lines)


def test_as_json_is_serialisable_and_complete() -> None:
    data = Graph(kyeol_like()).as_json()
    round_trip = json.loads(json.dumps(data))
    assert [s["id"] for s in round_trip["steps"]] == round_trip["order"]
    register = next(s for s in round_trip["steps"] if s["id"] == "dev.register")
    assert register["needs"] == ["argocd", "dev.infra"] and register["phase"] == 5
    assert round_trip["critical_path"]["steps"][0] == "bootstrap"
