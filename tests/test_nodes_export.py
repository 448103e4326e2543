"""`render` of the node formats, from a scenario's `nodes:` block."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from planner.errors import ScenarioError
from planner.export import FORMATS, NODE_FORMATS, from_scenario, nodepool_from_scenario, render
from planner.scenario import load_scenario, with_overrides

EXAMPLE = Path(__file__).resolve().parents[1] / "scenarios" / "nodes_spike.yaml"


def test_aks_nodepool_carries_the_scenario_bounds_and_profile() -> None:
    s = with_overrides(
        load_scenario(EXAMPLE),
        {"nodes.min_nodes": 3, "nodes.initial_nodes": 3, "nodes.autoscaler.scan_interval_s": 25},
    )
    text = render(from_scenario(s), "aks-nodepool", nodes=nodepool_from_scenario(s))
    assert "--min-count 3 --max-count 10" in text
    assert "scan-interval=25 " in text
    assert "scale-down-unneeded-time=10m" in text


@pytest.mark.parametrize("count", [0, 5])
def test_headroom_deployment_holds_the_scenario_count_and_requests(count: int) -> None:
    s = with_overrides(load_scenario(EXAMPLE), {"nodes.headroom_pods": count})
    text = render(from_scenario(s), "headroom", nodes=nodepool_from_scenario(s))
    docs = [d for d in yaml.safe_load_all(text) if d]
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    assert deployment["spec"]["replicas"] == count
    requests = deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]
    assert requests["cpu"] == "1" and requests["memory"] == "2048Mi"


def test_node_formats_need_the_nodes_block() -> None:
    s = load_scenario(EXAMPLE)
    assert not set(NODE_FORMATS) & set(FORMATS)  # `--format all` stays the replica formats
    for fmt in NODE_FORMATS:
        with pytest.raises(ScenarioError, match=f"format {fmt} needs"):
            render(from_scenario(s), fmt)
    with pytest.raises(ScenarioError, match="aks-nodepool, headroom"):
        render(from_scenario(s), "nodes")
