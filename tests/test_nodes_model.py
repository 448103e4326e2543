"""The node layer inside the simulation (Python engine): ready times checked by hand."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

from planner.model import Model
from planner.scenario import load_scenario, scenario_from_dict, scenario_to_dict, with_overrides
from planner.simulate import run_rep


def _spec(**nodes: Any) -> dict[str, Any]:
    return {
        "traffic": {"rps": 1},
        "duration_s": 400,
        "warmup_s": 1,
        "service": {"request_time_s": 0.5, "cold_start_s": 20, "cpu": 2, "memory_gb": 2},
        "deployment": {"autoscaler": "none", "replicas": 3},
        "nodes": {
            "cpu": 4,
            "memory_gb": 16,
            "min_nodes": 1,
            "max_nodes": 5,
            "provision_s": 100,
            "image_pull_s": 30,
            **nodes,
        },
    }


def _run(spec: dict[str, Any]) -> Model:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = Model(scenario_from_dict(spec), 0)
    model.run()
    return model


def test_ready_times_by_hand() -> None:
    # A node holds two 2-core pods. Replicas 0 and 1 fit on the initial node (which has the
    # image): ready at 0. Replica 2 is Pending; the scan at t = 0 adds a node, Ready at 100,
    # the first pod on it pulls the image (30 s), then its cold start (20 s): ready at 150.
    nodes = _run(_spec())._nodes
    assert nodes is not None
    assert nodes.ready_s == {0: 0.0, 1: 0.0, 2: 150.0}
    assert nodes.placements[2].placed_s == 100.0 and nodes.placements[2].start_s == 130.0
    assert nodes.peak_nodes == 2


def test_two_initial_nodes_hold_all_three() -> None:
    nodes = _run(_spec(min_nodes=2))._nodes
    assert nodes is not None
    assert nodes.ready_s == {0: 0.0, 1: 0.0, 2: 0.0}
    assert nodes.peak_nodes == 2


@pytest.mark.parametrize(("scan", "ready"), [(10.0, 150.0), (7.0, 150.0)])
def test_scan_interval_does_not_delay_a_pod_pending_at_zero(scan: float, ready: float) -> None:
    nodes = _run(_spec(autoscaler={"scan_interval_s": scan}))._nodes
    assert nodes is not None
    assert nodes.ready_s[2] == ready


SPIKE = Path(__file__).resolve().parents[1] / "scenarios" / "nodes_spike.yaml"


def _n503(overrides: dict[str, Any], *, nodes: bool = True, engine: str = "python") -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = with_overrides(load_scenario(SPIKE), {"seeds": 1, **overrides})
        if not nodes:
            spec = scenario_to_dict(s)
            spec.pop("nodes")
            s = scenario_from_dict(spec)
    return run_rep(s, 0, engine=engine).stats["n_503"]


@pytest.mark.parametrize("engine", ["python", "compiled"])
def test_spike_beyond_the_warm_nodes_brings_503s_and_headroom_removes_them(engine: str) -> None:
    # The two warm nodes hold 8 one-core replicas; the spike needs about 18. Without headroom
    # the extra replicas wait a scan and a 180 s node: many more 503s than with unlimited
    # nodes. Eight headroom pods hold a further two nodes warm, each replica preempts one at
    # once, and (no image pull) the run is then the unlimited-nodes run, request for request.
    unlimited = _n503({}, nodes=False, engine=engine)
    without = _n503({"nodes.image_pull_s": 0, "nodes.headroom_pods": 0}, engine=engine)
    held = _n503({"nodes.image_pull_s": 0, "nodes.headroom_pods": 8}, engine=engine)
    assert without > 2 * unlimited > 0
    assert held == unlimited


def test_headroom_pods_do_not_pull_the_image() -> None:
    # A pause pod holds room but not the model's image: the first replica on a headroom node
    # still pulls it, so with a 40 s pull the held run keeps more 503s than unlimited nodes.
    unlimited = _n503({}, nodes=False)
    held = _n503({"nodes.headroom_pods": 8})
    assert held > unlimited


def test_summary_keys_by_hand() -> None:
    # The hand case: node 0 from t = 0, node 1 added at 0 (Ready at 100), neither removed
    # before 600 s (scale-down-delay-after-add): 2 nodes over the window [1, 400).
    spec = _spec(price_per_hour=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = run_rep(scenario_from_dict(spec), 0, engine="python").stats
    assert stats["peak_nodes"] == 2
    assert stats["node_seconds"] == pytest.approx(2 * 399)
    assert stats["cost"] == pytest.approx(2 * 399 / 3600 * 0.5)
    # Replica 2 spent 100 s on its node's provisioning, 30 s on the pull, 20 s cold; the two
    # on the warm node nothing at all.
    assert stats["node_provisioning_max_s"] == 100.0
    assert stats["node_provisioning_mean_s"] == pytest.approx(100 / 3)
    assert stats["node_wait_max_s"] == 0.0
    assert (stats["image_pull_max_s"], stats["cold_start_max_s"]) == (30.0, 20.0)


def test_no_node_keys_without_nodes() -> None:
    spec = _spec()
    spec.pop("nodes")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = run_rep(scenario_from_dict(spec), 0, engine="python").stats
    assert "peak_nodes" not in stats and "cost" not in stats


def test_timeline_shows_nodes_and_pending_pods() -> None:
    from planner.simulate import run

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run(scenario_from_dict(_spec(price_per_hour=0.5)), engine="python")
    tl = res.timeline.set_index("t_s")
    # Replica 2 is Pending from 0 until its node is Ready at 100.
    assert tuple(tl.loc[50.0, ["nodes_ready", "nodes_provisioning", "pods_pending"]]) == (1, 1, 1)
    assert tuple(tl.loc[100.0, ["nodes_ready", "nodes_provisioning", "pods_pending"]]) == (2, 0, 0)
    assert res.summary["cost"].iloc[0] == pytest.approx(2 * 399 / 3600 * 0.5)
    assert int(tl.loc[160.0, "ready"]) == 3


def test_simulate_json_carries_the_node_figures() -> None:
    """`planner simulate --format json` of the nodes example: peak_nodes, node_seconds, cost."""
    import json
    from pathlib import Path

    from typer.testing import CliRunner

    from planner.cli import app
    from planner.scenario import load_scenario

    path = Path(__file__).resolve().parents[1] / "scenarios" / "nodes_spike.yaml"
    price = load_scenario(path).nodes.price_per_hour
    result = CliRunner().invoke(app, ["simulate", str(path), "--seeds", "2", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["peak_nodes"] >= 1 and doc["node_seconds"] > 0
    assert doc["cost"] == pytest.approx(doc["node_seconds"] / 3600 * price)
    for phase in ("node_wait", "node_provisioning", "image_pull", "cold_start"):
        assert 0 <= doc[f"{phase}_mean_s"] <= doc[f"{phase}_max_s"]
    # "Why the 503s" names the node phase that held the capacity: provisioning (180 s here).
    assert any("node provisioning" in line for line in doc["why_503"]), doc["why_503"]
