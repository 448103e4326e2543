"""The settings search with a node pool: headroom_pods and min_nodes, cheapest in money."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from planner import metrics, simulate
from planner.cli import app
from planner.cli._search_render import render_search, search_to_dict, sorted_candidates
from planner.recommend.evaluate import CANDIDATE_COLUMNS, NODE_COLUMNS, Candidate, Evaluator
from planner.recommend.search import SearchResult, search_settings
from planner.recommend.search_steps import cost_key
from planner.scenario import Scenario, load_scenario, with_overrides

SCENARIOS = Path(__file__).parents[1] / "scenarios"
PRICE = 0.192  # scenarios/nodes_spike.yaml's nodes.price_per_hour
FILE_NODES = (0, 1)  # its headroom_pods and min_nodes


@pytest.fixture(scope="module")
def spike() -> Scenario:
    """scenarios/nodes_spike.yaml as it is: 4 → 24 rps, 2 warm nodes of 4 pods, 3 seeds."""
    return load_scenario(SCENARIOS / "nodes_spike.yaml")


@pytest.fixture(scope="module")
def spike_result(spike: Scenario) -> SearchResult:
    """One search over the file, shared by the tests that only read it."""
    return search_settings(spike, processes=1, progress=False)


@pytest.fixture(scope="module")
def fast(spike: Scenario) -> Scenario:
    """The same spike with a model that loads in 2 s: the node, not the cold start, is slow."""
    return with_overrides(spike, {"service.cold_start_s": 2.0}, warn=False)


@pytest.fixture(scope="module")
def fast_result(fast: Scenario) -> SearchResult:
    """One search over the fast-loading variant."""
    return search_settings(fast, processes=1, progress=False)


def _rerun(scenario: Scenario, c: Candidate, nodes: tuple[int, int]) -> metrics.Summary:
    """The candidate's replica settings at `nodes`, simulated again from the scenario."""
    start = max(c.min_replicas, c.results.scenario.deployment.replicas)
    overrides = {
        "deployment.min_replicas": c.min_replicas,
        "deployment.max_replicas": c.max_replicas,
        "deployment.target_utilization": c.target_utilization,
        "deployment.replicas": min(start, c.max_replicas),
        "nodes.headroom_pods": nodes[0],
        "nodes.min_nodes": nodes[1],
        "nodes.initial_nodes": max(2, nodes[1]),  # the file sets 2: at least min_nodes
    }
    s = with_overrides(scenario, overrides, warn=False)
    return metrics.summarise(simulate.run(s, s.seeds))


def _passing(result: SearchResult) -> pd.DataFrame:
    df = result.candidates
    return df[df["meets_slo"]]


def test_warm_nodes_hold_the_spike_where_the_files_zero_headroom_does_not(
    fast: Scenario, fast_result: SearchResult
) -> None:
    """Fast-loading replicas: the search adds warm room (nodes or headroom) and lowers the
    warm pool; simulated again, the choice meets the SLO and the file's node settings at the
    same replica settings do not."""
    c = fast_result.chosen
    assert c.nodes is not None and c.nodes != FILE_NODES
    assert c.nodes[0] > 0 or c.nodes[1] > FILE_NODES[1]
    warm_replicas = [
        r
        for r in _passing(fast_result).itertuples()
        if (r.headroom_pods, r.min_nodes) == FILE_NODES
    ]
    assert c.min_replicas < min(r.min_replicas for r in warm_replicas)
    again = _rerun(fast, c, c.nodes)
    assert again.meets_slo is True
    assert again.values["rate_503"] == pytest.approx(c.summary.values["rate_503"])
    assert again.values["node_provisioning_max_s"] == 0  # no replica waited for a new VM
    at_file = _rerun(fast, c, FILE_NODES)
    assert at_file.meets_slo is False
    assert at_file.values["node_provisioning_max_s"] >= 180  # nodes_spike's provision_s
    # The neighbour the search itself evaluated says the same.
    assert any(n.nodes == FILE_NODES and not n.meets_slo for n in fast_result.node_neighbours)


@pytest.mark.parametrize("which", ["spike_result", "fast_result"])
def test_chosen_is_the_cheapest_passing_in_money(
    which: str, request: pytest.FixtureRequest
) -> None:
    """Money recomputed from the table (node-hours × price) is least for the choice; among
    equal money it has the fewest replica-hours."""
    r: SearchResult = request.getfixturevalue(which)
    df = r.candidates
    assert list(df.columns) == [*CANDIDATE_COLUMNS[:8], *NODE_COLUMNS, *CANDIDATE_COLUMNS[8:]]
    money = df["node_hours"] * PRICE
    assert money.to_numpy() == pytest.approx(df["cost"].to_numpy(dtype=float), rel=1e-12)
    passing = df[df["meets_slo"]]
    cheapest = (passing["node_hours"] * PRICE).min()
    assert r.chosen.cost == pytest.approx(cheapest, rel=1e-12)
    ties = passing[(passing["node_hours"] * PRICE) <= cheapest * (1 + 1e-12)]
    assert r.chosen.replica_hours == pytest.approx(ties["replica_hours"].min())
    assert r.chosen.meets_slo
    # The node stage ran: some candidates hold headroom, some more warm nodes.
    assert (df["headroom_pods"] > 0).any() and (df["min_nodes"] > 1).any()
    assert set(df["step"]) >= {"min", "max", "nodes", "check"}
    assert r.simulations <= 80  # the default max_simulations


def test_node_hours_agree_with_the_timeline(spike_result: SearchResult) -> None:
    """The chosen node-hours equal the integral of nodes (ready + provisioning) over the
    per-second timeline after warm-up, a second computation of the same quantity."""
    c = spike_result.chosen
    tl = c.results.timeline
    s = c.results.scenario
    kept = tl[tl["t_s"] >= s.warmup_s]
    per_rep = (kept["nodes_ready"] + kept["nodes_provisioning"]).groupby(kept["rep"]).sum()
    assert c.node_hours == pytest.approx(per_rep.mean() / 3600.0, rel=0.01)


def test_the_price_scales_the_money_and_zero_falls_to_replica_hours(spike: Scenario) -> None:
    """A huge node price ranks alike (money is node-hours × price); a price of 0 makes every
    cost 0, and the choice is then the passing candidate with the fewest replica-hours."""
    normal = search_settings(spike, processes=1, progress=False, targets=(0.8,))
    huge = with_overrides(spike, {"nodes.price_per_hour": 1e6}, warn=False)
    dear = search_settings(huge, processes=1, progress=False, targets=(0.8,))
    assert (dear.chosen.key, dear.chosen.nodes) == (normal.chosen.key, normal.chosen.nodes)
    assert normal.chosen.node_hours is not None
    assert dear.chosen.cost == pytest.approx(normal.chosen.node_hours * 1e6, rel=1e-12)
    free = with_overrides(spike, {"nodes.price_per_hour": 0}, warn=False)
    zero = search_settings(free, processes=1, progress=False, targets=(0.8,))
    assert (zero.candidates["cost"] == 0).all()
    assert zero.chosen.replica_hours == pytest.approx(_passing(zero)["replica_hours"].min())


@pytest.mark.parametrize("price", [PRICE, 1e6, 0.0])
def test_money_ranks_first_and_a_free_node_falls_to_replica_hours(
    fast: Scenario, price: float
) -> None:
    """Two passing candidates: 13 warm replicas on the file's nodes, and 10 replicas with 8
    headroom pods (two more nodes, fewer replica-hours). Priced nodes (any price) rank the
    warm replicas first, by money; free nodes (price 0) tie in money and rank the headroom
    first, by replica-hours."""
    scenario = with_overrides(fast, {"nodes.price_per_hour": price}, warn=False)
    ev = Evaluator(scenario, base_rps=4.0, price=None, pool=None, budget=10)
    warm = ev(13, 15, 0.8)
    ev.nodes = (8, 1)
    headroom = ev(10, 15, 0.8)
    assert warm.meets_slo and headroom.meets_slo
    assert headroom.replica_hours < warm.replica_hours
    assert headroom.node_hours is not None and warm.node_hours is not None
    assert headroom.node_hours > warm.node_hours
    assert warm.cost == pytest.approx(warm.node_hours * price, rel=1e-12)
    first = min((warm, headroom), key=cost_key)
    assert first is (warm if price > 0 else headroom)


def test_a_replica_price_adds_to_the_node_cost(spike: Scenario) -> None:
    """With --cost-per-replica-hour too, money is node-hours × price + replica-hours × its price."""
    r = search_settings(
        spike, processes=1, progress=False, targets=(0.8,), cost_per_replica_hour=1.0
    )
    df = r.candidates
    expected = df["node_hours"] * PRICE + df["replica_hours"] * 1.0
    assert df["cost"].to_numpy(dtype=float) == pytest.approx(expected.to_numpy(), rel=1e-12)


def test_without_a_price_candidates_rank_by_node_hours(spike: Scenario) -> None:
    """No nodes.price_per_hour: no money, the ranking is node-hours, and the result says so."""
    spec = dict(spike.spec)
    spec["nodes"] = {k: v for k, v in spec["nodes"].items() if k != "price_per_hour"}
    unpriced = with_overrides(spike, {"nodes": spec["nodes"]}, warn=False)
    r = search_settings(unpriced, processes=1, progress=False, targets=(0.8,))
    passing = _passing(r)
    assert r.chosen.cost is None and r.chosen.node_hours == passing["node_hours"].min()
    assert "ranked by node-hours" in r.node_tradeoff[0]
    assert sorted_candidates(r)["node_hours"].is_monotonic_increasing


def test_an_unpriced_pool_with_a_replica_price_ranks_and_plots_node_hours(
    spike: Scenario,
) -> None:
    """No node price but --cost-per-replica-hour: the cost column is replica money, yet the
    choice, the table's order and the HTML plot's x axis are all node-hours (one cost unit)."""
    from planner.cli._search_render import search_html_sections

    spec = dict(spike.spec)
    spec["nodes"] = {k: v for k, v in spec["nodes"].items() if k != "price_per_hour"}
    unpriced = with_overrides(spike, {"nodes": spec["nodes"]}, warn=False)
    r = search_settings(
        unpriced, processes=1, progress=False, targets=(0.8,), cost_per_replica_hour=1.0
    )
    assert r.chosen.cost_unit == "node-h" and r.chosen.cost is not None
    assert sorted_candidates(r)["node_hours"].is_monotonic_increasing
    ax = dict(search_html_sections(r))["Candidates: cost against 503 rate"]
    xs = {round(float(x), 9) for points in ax.collections for x, _ in points.get_offsets()}
    assert xs == {round(float(h), 9) for h in r.candidates["node_hours"]}


def test_monotone_violations_match_the_table(fast_result: SearchResult) -> None:
    """The reported node-assumption breaks are exactly the pairs of the table (same replica
    settings, the other node setting equal) where more headroom_pods or more min_nodes give a
    higher 503 rate or turn a pass into a failure: recounted from the candidates table."""
    df = fast_result.candidates
    for name, other in (("headroom_pods", "min_nodes"), ("min_nodes", "headroom_pods")):
        expected = 0
        for _, g in df.groupby(["min_replicas", "max_replicas", "target_utilization", other]):
            rows = list(g.sort_values(name).itertuples())
            for lo, hi in itertools.pairwise(rows):
                if (lo.meets_slo and not hi.meets_slo) or hi.rate_503 > lo.rate_503 + 1e-12:
                    expected += 1
        found = [v for v in fast_result.monotone_violations if f": {name} " in v]
        assert len(found) == expected, (name, found)


def test_text_json_and_80_columns(fast_result: SearchResult) -> None:
    """The table names headroom_pods and min_nodes and the trade-off; JSON carries them."""
    console = Console(record=True, width=80, color_system=None)
    render_search(fast_result, console)
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    words = " ".join(text.split())
    c = fast_result.chosen
    assert c.nodes is not None
    row = {"headroom_pods": c.nodes[0], "min_nodes": c.nodes[1]}
    for name, value in row.items():  # the settings table: setting, value, why
        assert any(line.split()[:2] == [name, str(value)] for line in text.splitlines())
    assert "pass ◀ chosen" in text
    assert "Warm replicas, warm nodes and headroom pods" in words
    slot = f"a warm replica, an empty warm slot and a headroom pod each hold {PRICE / 4:.3g}/h"
    assert f"holds 4 replicas: {slot}" in words
    data = json.loads(json.dumps(search_to_dict(fast_result)))
    assert (data["nodes"]["headroom_pods"], data["nodes"]["min_nodes"]) == c.nodes
    assert data["nodes"]["tradeoff"] == list(fast_result.node_tradeoff)
    assert {"headroom_pods", "min_nodes", "node_hours"} <= set(data["candidates"][0])


def test_without_nodes_nothing_changes(spike: Scenario) -> None:
    """The same file without `nodes:`: no node columns, no node stage, no JSON block."""
    spec = {k: v for k, v in spike.spec.items() if k != "nodes"}
    from planner.scenario_types import validate_scenario

    plain = validate_scenario(spec, base_dir=spike.base_dir)
    r = search_settings(plain, processes=1, progress=False, targets=(0.8,))
    assert tuple(r.candidates.columns) == CANDIDATE_COLUMNS
    assert "nodes" not in set(r.candidates["step"]) and r.node_tradeoff == ()
    assert "nodes" not in search_to_dict(r) and r.chosen.nodes is None


runner = CliRunner()


@pytest.mark.slow
def test_cli_prints_and_exports_the_node_settings() -> None:
    """`planner recommend --scenario scenarios/nodes_spike.yaml`: the settings table names the
    node settings; `--format json` carries them, equal to the library's search."""
    path = str(SCENARIOS / "nodes_spike.yaml")
    env = {"COLUMNS": "100", "NO_COLOR": "1"}
    out = runner.invoke(app, ["recommend", "--scenario", path, "--seeds", "2"], env=env)
    assert out.exit_code == 0, out.stderr
    assert "headroom_pods" in out.stdout and "min_nodes" in out.stdout
    assert "Warm replicas, warm nodes and headroom pods" in out.stdout
    js = runner.invoke(app, ["recommend", "--scenario", path, "--seeds", "2", "--format", "json"])
    assert js.exit_code == 0, js.stderr
    data = json.loads(js.stdout)
    scenario = with_overrides(load_scenario(path), {"seeds": 2}, warn=False)
    lib = search_settings(scenario, processes=1, progress=False)
    assert (data["nodes"]["headroom_pods"], data["nodes"]["min_nodes"]) == lib.chosen.nodes
    assert data["cost"] == pytest.approx(lib.chosen.cost)


def test_initial_nodes_follow_min_nodes_unless_the_file_sets_them(spike: Scenario) -> None:
    """The file sets initial_nodes 2: it stays 2 below min_nodes 2 and rises with min_nodes
    above; a file without it starts at min_nodes, as the schema's default does."""
    ev = Evaluator(spike, base_rps=4.0, price=None, pool=None, budget=10)
    starts = {}
    for min_nodes in (1, 4):
        ev.nodes = (0, min_nodes)
        starts[min_nodes] = ev(2, 4, 0.8).results.scenario.nodes.initial_nodes  # type: ignore[union-attr]
    assert starts == {1: 2, 4: 4}
    spec = {k: v for k, v in spike.spec["nodes"].items() if k != "initial_nodes"}
    unset = with_overrides(spike, {"nodes": spec}, warn=False)
    ev = Evaluator(unset, base_rps=4.0, price=None, pool=None, budget=10)
    ev.nodes = (0, 3)
    assert ev(2, 4, 0.8).results.scenario.nodes.initial_nodes == 3  # type: ignore[union-attr]


def test_a_small_budget_says_the_node_settings_were_not_tried(spike: Scenario) -> None:
    """With a budget spent before the node stage, the node reasons say nothing else was tried."""
    r = search_settings(spike, processes=1, progress=False, targets=(0.8,), max_simulations=6)
    assert r.budget_exhausted and r.simulations == 6
    assert "nodes" not in set(r.candidates["step"])
    assert "no other value was evaluated" in r.reasons["headroom_pods"]
    assert "no other value was evaluated" in r.reasons["min_nodes"]


def test_html_report_has_the_trade_off(fast_result: SearchResult, tmp_path: Path) -> None:
    """The HTML report of a node search has the trade-off section and the node settings."""
    from planner.cli._search_render import search_html_sections
    from planner.report import write_html

    sections = dict(search_html_sections(fast_result))
    assert sections["Warm replicas, warm nodes and headroom pods"] == "\n\n".join(
        fast_result.node_tradeoff
    )
    settings = sections["Recommended settings"]
    assert (settings["headroom_pods"], settings["min_nodes"]) == fast_result.chosen.nodes
    path = write_html(tmp_path / "r.html", title="nodes", sections=list(sections.items()))
    assert "headroom_pods" in Path(path).read_text()


def test_a_files_headroom_that_costs_more_is_dropped(fast: Scenario) -> None:
    """A file holding 8 headroom pods and 2 warm nodes: the search also tries none, and the
    choice costs less than every passing candidate at the file's node settings."""
    dear = with_overrides(fast, {"nodes.headroom_pods": 8, "nodes.min_nodes": 2}, warn=False)
    r = search_settings(dear, processes=1, progress=False, targets=(0.8,))
    df = _passing(r)
    at_file = df[(df["headroom_pods"] == 8) & (df["min_nodes"] == 2)]
    assert r.chosen.nodes is not None and r.chosen.nodes[0] < 8
    assert r.chosen.cost is not None and r.chosen.cost < at_file["cost"].astype(float).min()
    assert r.reasons["headroom_pods"].startswith("none (the file's 8")
