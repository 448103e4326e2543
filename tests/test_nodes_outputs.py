"""The node layer's outputs: "why the 503s" names the phase, and the timeline plot draws nodes."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from planner.recommend.insights import describe, explain_503s, explain_results
from planner.scenario import load_scenario, scenario_from_dict, scenario_to_dict, with_overrides
from planner.simulate import Results, run

SPIKE = Path(__file__).resolve().parents[1] / "scenarios" / "nodes_spike.yaml"


def _hand_spec(*, provision_s: float, cold_start_s: float) -> dict[str, Any]:
    """Evenly spaced arrivals at 5/s on 0.5 s requests: two replicas (4/s) are too few, three
    (6/s) enough. A node holds two 2-core pods; replica 2 needs a second node."""
    return {
        "traffic": {"rps": 5, "arrivals": "uniform"},
        "duration_s": 400,
        "warmup_s": 1,
        "seeds": [0],
        "service": {"request_time_s": 0.5, "cold_start_s": cold_start_s, "cpu": 2, "memory_gb": 2},
        "deployment": {"autoscaler": "none", "replicas": 3},
        "nodes": {
            "cpu": 4,
            "memory_gb": 16,
            "min_nodes": 1,
            "max_nodes": 5,
            "provision_s": provision_s,
            "image_pull_s": 30,
        },
    }


def _run(spec: dict[str, Any] | Path, overrides: dict[str, Any] | None = None) -> Results:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = load_scenario(spec) if isinstance(spec, Path) else scenario_from_dict(spec)
        if overrides:
            s = with_overrides(s, overrides)
        return run(s, engine="python")


def test_replica_table_splits_time_to_ready_by_hand() -> None:
    """Replica 2 waits 100 s for its node, pulls 30 s, cold-starts 20 s: ready at 150."""
    res = _run(_hand_spec(provision_s=100, cold_start_s=20))
    assert res.replicas is not None
    row = res.replicas.set_index("replica").loc[2]
    assert (row["requested_s"], row["ready_s"]) == (0.0, 150.0)
    phases = ("node_wait_s", "node_provisioning_s", "image_pull_s", "cold_start_s")
    assert tuple(row[list(phases)]) == (0.0, 100.0, 30.0, 20.0)
    # The two initial replicas were on the warm node from t = 0.
    assert res.replicas.set_index("replica").loc[[0, 1], "ready_s"].tolist() == [0.0, 0.0]


@pytest.mark.parametrize(
    ("provision_s", "cold_start_s", "phrase"),
    [
        (100, 20, "node provisioning 100 s of its 150 s to ready (waiting for a node 0 s, "
         "image pull 30 s, cold start 20 s)"),
        (20, 100, "cold start 100 s of its 150 s to ready (waiting for a node 0 s, "
         "node provisioning 20 s, image pull 30 s)"),
    ],
)  # fmt: skip
def test_why_names_the_phase_by_hand(provision_s: float, cold_start_s: float, phrase: str) -> None:
    """Until replica 2 is ready at 150 s two replicas serve 5/s: the 503s end at 149 s, and the
    sentence names the larger of its provisioning and cold start, with the hand seconds."""
    res = _run(_hand_spec(provision_s=provision_s, cold_start_s=cold_start_s))
    ex = explain_results(res)
    assert (ex.first_503_s, ex.last_503_s) == (2.0, 149.0)
    assert ex.nodes is not None and ex.nodes.replicas_per_rep == 1
    text = " ".join(describe(ex))
    assert "The 503s came while 1 replica was on its way to ready, waiting for a node: " in text
    assert phrase in text


@pytest.mark.parametrize(
    ("overrides", "main", "help_field"),
    [
        ({}, "node_provisioning", "nodes.headroom_pods"),
        # The numbers swapped: a node is ready at once, the replica's own start is long.
        ({"nodes.provision_s": 1, "service.cold_start_s": 180}, "cold_start", "min_replicas"),
    ],
)
def test_spike_names_the_phase_that_held_the_capacity(
    overrides: dict[str, Any], main: str, help_field: str
) -> None:
    """nodes_spike.yaml: a 180 s node names provisioning; a 1 s node and 180 s cold start names
    the cold start (each case fails if the two numbers are swapped)."""
    res = _run(SPIKE, {"seeds": 2, **overrides})
    ex = explain_results(res)
    assert ex.nodes is not None and ex.nodes.main == main
    # A second computation of the same means, straight from the replica table: the replicas
    # requested before a rep's last 503 and ready after its first.
    tl, reps = res.timeline, res.replicas
    assert reps is not None
    tl = tl[(tl["t_s"] >= res.scenario.warmup_s) & (tl["n_503"] > 0)]
    picked = []
    for rep, rows in reps.groupby("rep"):
        t503 = tl[tl["rep"] == rep]["t_s"]
        picked.append(rows[(rows["requested_s"] <= t503.max()) & (rows["ready_s"] > t503.min())])
    during = pd.concat(picked)
    assert ex.nodes.replicas_per_rep == pytest.approx(len(during) / 2)
    assert ex.nodes.mean_s[1] == pytest.approx(during["node_provisioning_s"].mean())
    assert ex.nodes.mean_s[3] == pytest.approx(during["cold_start_s"].mean())
    words = main.replace("_", " ")
    line = describe(ex, max_replicas=20)[-1]
    assert line.startswith("The 503s came while ") and f": {words} " in line
    assert help_field in line


def test_without_nodes_the_text_is_as_before() -> None:
    """Without `nodes:` there is no replica table and no node sentence; the text is the
    timeline's explanation alone."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spec = scenario_to_dict(with_overrides(load_scenario(SPIKE), {"seeds": 1}))
        spec.pop("nodes")
        res = run(scenario_from_dict(spec), engine="python")
    assert res.replicas is None
    ex = explain_results(res)
    assert ex.nodes is None
    plain = explain_503s(res.timeline, warmup_s=res.scenario.warmup_s, max_replicas=20)
    assert describe(ex, max_replicas=20) == describe(plain, max_replicas=20)
    assert not any("on their way to ready" in line for line in describe(ex, max_replicas=20))
    assert any("(cold start)." in line for line in describe(ex, max_replicas=20))


def _labelled(ax: Any) -> dict[str, Any]:
    """The lines of an Axes by their legend label."""
    return {line.get_label(): line for line in ax.get_lines()}


def test_timeline_plot_draws_nodes_and_pending_pods_from_the_frame() -> None:
    """With the node columns a fifth panel draws nodes ready, provisioning and pods pending:
    each line's y data is the frame's column, second by second."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from planner.report import plot_timeline

    res = _run(_hand_spec(provision_s=100, cold_start_s=20))
    tl = res.timeline
    axes = plot_timeline(tl)
    try:
        assert len(axes) == 5
        ax_nodes = axes[2]
        assert ax_nodes.get_title(loc="left") == "Nodes"
        lines = _labelled(ax_nodes)
        (twin,) = [a for a in ax_nodes.figure.axes if a.get_ylabel() == "pods pending"]
        lines.update(_labelled(twin))
        for label, column in (
            ("nodes ready", "nodes_ready"),
            ("nodes provisioning", "nodes_provisioning"),
            ("pods pending (right axis)", "pods_pending"),
        ):
            assert list(lines[label].get_ydata()) == tl[column].astype(float).tolist(), label
            assert list(lines[label].get_xdata()) == tl["t_s"].tolist()
        # The hand case: a node provisioning and one pod pending until t = 100.
        assert lines["nodes provisioning"].get_ydata()[50] == 1.0
        assert lines["pods pending (right axis)"].get_ydata()[100] == 0.0
    finally:
        plt.close(axes[0].figure)


def test_timeline_plot_without_nodes_has_four_panels() -> None:
    """Without the node columns (or with four Axes given) there is no Nodes panel."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from planner.model_nodes import NODE_TIMELINE_COLUMNS as NODE_COLUMNS
    from planner.report import plot_timeline

    tl = _run(_hand_spec(provision_s=100, cold_start_s=20)).timeline
    plain = plot_timeline(tl.drop(columns=list(NODE_COLUMNS)))
    _, four = plt.subplots(4, 1)
    given = plot_timeline(tl, axes=four)
    try:
        for axes in (plain, given):
            assert len(axes) == 4
            titles = [ax.get_title(loc="left") for ax in axes[0].figure.axes]
            assert "Nodes" not in titles
            labels = [line.get_label() for ax in axes[0].figure.axes for line in ax.get_lines()]
            assert not any("node" in label or "pending" in label for label in labels)
        with pytest.raises(ValueError, match="needs 4 axes"):
            plot_timeline(tl.drop(columns=list(NODE_COLUMNS)), axes=plt.subplots(5, 1)[1])
    finally:
        plt.close("all")


# The second case scans every 7 s, provisions in 33 s, holds 3 headroom pods and removes an
# unneeded node after 60 s: nodes are added and one is removed.
SCALE_DOWN = {
    "nodes.autoscaler.scan_interval_s": 7,
    "nodes.provision_s": 33,
    "nodes.headroom_pods": 3,
    "nodes.autoscaler.scale_down_unneeded_s": 60,
    "nodes.autoscaler.scale_down_delay_after_add_s": 60,
}


@pytest.mark.parametrize(("overrides", "removed"), [({}, False), (SCALE_DOWN, True)])
def test_node_counts_of_the_timeline_are_the_counts_at_that_second(
    overrides: dict[str, Any], removed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The node columns, counted again only after a scan or a node's ready time, equal a
    fresh count over the nodes at every second (scale-ups, and a scale-down)."""
    from planner.model_nodes import NodeLayer

    fresh: list[tuple[int, int, int]] = []
    sample = NodeLayer._sample

    def counted(self: NodeLayer, now: float) -> None:
        c = self.cluster
        fresh.append((c.ready_nodes(now), c.provisioning_nodes(now), c.pending_pods()))
        sample(self, now)

    monkeypatch.setattr(NodeLayer, "_sample", counted)
    res = _run(SPIKE, {"seeds": 1, **overrides})
    rows = res.timeline[["nodes_ready", "nodes_provisioning", "pods_pending"]]
    assert [tuple(r) for r in rows.itertuples(index=False)] == fresh
    assert rows["nodes_provisioning"].max() > 0 and rows["nodes_ready"].nunique() >= 3
    assert (rows["nodes_ready"].diff().min() < 0) == removed
