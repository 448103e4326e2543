"""The `nodes:` block and the pod requests of the scenario schema."""

from __future__ import annotations

import pytest

from planner.errors import ScenarioError
from planner.scenario import scenario_from_dict

BASE = {
    "traffic": {"rps": 1},
    "duration_s": 10,
    "warmup_s": 1,
    "service": {"request_time_s": 0.5},
}


def test_defaults_follow_the_contract() -> None:
    s = scenario_from_dict(BASE)
    assert s.nodes is None
    assert (s.service.cpu, s.service.memory_gb) == (1.0, 2.0)
    n = scenario_from_dict({**BASE, "nodes": {"cpu": 4, "memory_gb": 16, "min_nodes": 2}}).nodes
    assert n is not None
    assert n.initial_nodes == 2  # default: min_nodes
    assert n.headroom_pods == 0 and n.price_per_hour is None
    a = n.autoscaler
    assert (a.scan_interval_s, a.scale_down_unneeded_s, a.scale_down_delay_after_add_s) == (
        10.0,
        600.0,
        600.0,
    )
    assert a.scale_down_utilization_threshold == 0.5


@pytest.mark.parametrize(
    ("service", "nodes", "message"),
    [
        ({"cpu": 8}, {"cpu": 4, "memory_gb": 16}, "service.cpu 8 does not fit nodes.cpu 4"),
        (
            {"memory_gb": 32},
            {"cpu": 4, "memory_gb": 16},
            "service.memory_gb 32 does not fit nodes.memory_gb 16",
        ),
        ({}, {"cpu": 4, "memory_gb": 16, "min_nodes": 3, "max_nodes": 2}, "nodes.max_nodes"),
        ({}, {"cpu": 4, "memory_gb": 16, "initial_nodes": 11}, "nodes.initial_nodes"),
        ({}, {"cpu": 4, "memory_gb": 16, "vm": "x"}, "vm"),
    ],
)
def test_bad_nodes_are_refused_naming_the_fields(
    service: dict[str, float], nodes: dict[str, object], message: str
) -> None:
    spec = {**BASE, "service": {"request_time_s": 0.5, **service}, "nodes": nodes}
    with pytest.raises(ScenarioError, match=message.replace(".", r"\.")):
        scenario_from_dict(spec)


def test_a_pod_that_fits_exactly_is_accepted() -> None:
    spec = {
        **BASE,
        "service": {"request_time_s": 0.5, "cpu": 4},
        "nodes": {"cpu": 4, "memory_gb": 16},
    }
    assert scenario_from_dict(spec).nodes is not None


def test_a_new_min_nodes_moves_the_initial_nodes_with_it() -> None:
    """`with_overrides` (`--set`, sweeps, the search): without an initial_nodes of its own the
    count follows min_nodes; a file's own count is moved into the new min..max range."""
    from pathlib import Path

    from planner.scenario import load_scenario, with_overrides

    spike = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "nodes_spike.yaml")
    assert spike.nodes is not None and spike.nodes.initial_nodes == 2  # the file's own
    raised = with_overrides(spike, {"nodes.min_nodes": 3}, warn=False).nodes
    assert raised is not None and (raised.min_nodes, raised.initial_nodes) == (3, 3)
    kept = with_overrides(spike, {"nodes.min_nodes": 0}, warn=False).nodes
    assert kept is not None and kept.initial_nodes == 2
    lowered = with_overrides(spike, {"nodes.max_nodes": 1, "nodes.min_nodes": 1}, warn=False)
    assert lowered.nodes is not None and lowered.nodes.initial_nodes == 1
