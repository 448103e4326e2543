"""A surge whose replicas beyond the nodes get 503s, and the recommended headroom removes them.

scenarios/nodes_headroom.yaml: a night at 4 rps, a ramp to 16 rps, a surge to 32 rps in two
minutes; replicas load in 2 s, a VM takes 180 s. With the file's headroom_pods 0 the new
replicas wait for VMs and the surge gets 503s; the search recommends headroom pods, cheaper in
money than holding the nodes with warm replicas or warm nodes. Each claim is checked on a fresh
simulation of the settings, not on the search's own numbers alone.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from planner import metrics, simulate
from planner.cli import app
from planner.recommend.evaluate import Candidate
from planner.recommend.insights import explain_results
from planner.recommend.search import SearchResult, search_settings
from planner.scenario import Scenario, load_scenario, with_overrides

FILE = Path(__file__).parents[1] / "scenarios" / "nodes_headroom.yaml"
PROVISION_S = 180.0  # the file's nodes.provision_s (a constant)
MAX_RATE_503 = 0.001  # the file's slo.max_rate_503


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(FILE)


@pytest.fixture(scope="module")
def result(scenario: Scenario) -> SearchResult:
    """One search over the file, shared by the tests that read it (a few seconds)."""
    return search_settings(scenario, processes=1, progress=False)


def _run(scenario: Scenario, headroom_pods: int | None = None) -> simulate.Results:
    """The scenario simulated afresh on its seeds, with `headroom_pods` if given."""
    if headroom_pods is not None:
        scenario = with_overrides(scenario, {"nodes.headroom_pods": headroom_pods}, warn=False)
    return simulate.run(scenario, scenario.seeds)


def _after_warmup(results: simulate.Results) -> pd.DataFrame:
    """The replicas requested after the warm-up: those the autoscaler asked for under load."""
    table = results.replicas
    assert table is not None
    return table[table["requested_s"] >= results.scenario.warmup_s]


def _share_of_503s_while_a_replica_waited_for_a_node(results: simulate.Results) -> float:
    """The share of the measured 503s given in a second when some replica that had to wait
    for a node (node_wait or node_provisioning > 0) was on its way to ready."""
    table = results.replicas
    assert table is not None
    waited = table[(table["node_wait_s"] + table["node_provisioning_s"]) > 0]
    tl = results.timeline
    tl = tl[(tl["t_s"] >= results.scenario.warmup_s) & (tl["n_503"] > 0)]
    inside = 0.0
    for rep, seconds in tl.groupby("rep"):
        mine = waited[waited["rep"] == rep]
        t = seconds["t_s"].to_numpy()[:, None]
        during = (t >= mine["requested_s"].to_numpy()) & (t < mine["ready_s"].to_numpy())
        inside += float(seconds["n_503"][during.any(axis=1)].sum())
    return inside / float(tl["n_503"].sum())


def test_the_files_zero_headroom_gives_503s_from_pods_waiting_for_a_node(
    scenario: Scenario,
) -> None:
    """The file as it is: the SLO is missed, and the 503s came while replicas waited for VMs."""
    assert scenario.nodes is not None and scenario.nodes.headroom_pods == 0
    results = _run(scenario)
    s = metrics.summarise(results)
    assert s.meets_slo is False
    assert s.ci95["rate_503"][0] > MAX_RATE_503  # even the lower bound is above the SLO
    late = _after_warmup(results)
    assert late["node_provisioning_s"].max() == pytest.approx(PROVISION_S)
    assert (late["node_provisioning_s"] > 0).sum() >= len(late) / 3
    assert _share_of_503s_while_a_replica_waited_for_a_node(results) >= 0.95
    ex = explain_results(results).nodes
    assert ex is not None and ex.main == "node_provisioning"


def test_the_search_recommends_headroom_pods(scenario: Scenario, result: SearchResult) -> None:
    """Headroom pods in whole nodes' worth, at the file's min_nodes; the choice passes."""
    c = result.chosen
    assert c.meets_slo
    assert c.nodes is not None
    headroom, min_nodes = c.nodes
    assert headroom > 0 and headroom % 4 == 0  # 4 one-core pods per 4-core node
    assert min_nodes == 1  # the file's: warm nodes are not what the choice buys
    assert result.headroom_pods == headroom


def _verdict_at(c: Candidate, headroom_pods: int) -> tuple[metrics.Summary, pd.DataFrame]:
    results = _run(c.results.scenario, headroom_pods)
    return metrics.summarise(results), _after_warmup(results)


def test_the_recommended_headroom_removes_the_503s(result: SearchResult) -> None:
    """The chosen settings, simulated again: no replica under load waits for a VM, the SLO is
    met; the same settings with headroom_pods 0 miss it again, from node provisioning."""
    c = result.chosen
    assert c.nodes is not None
    again, late = _verdict_at(c, c.nodes[0])
    assert again.meets_slo is True
    assert again.ci95["rate_503"][1] <= MAX_RATE_503
    assert again.values["rate_503"] == pytest.approx(c.summary.values["rate_503"])
    assert len(late) > 0
    assert (late["node_wait_s"] + late["node_provisioning_s"]).max() == 0

    without, late0 = _verdict_at(c, 0)  # the recommendation with its headroom taken away
    assert without.meets_slo is False
    assert without.ci95["rate_503"][1] > 10 * MAX_RATE_503
    assert late0["node_provisioning_s"].max() == pytest.approx(PROVISION_S)


def test_the_headroom_costs_less_than_the_min_nodes_and_warm_replica_alternatives(
    scenario: Scenario, result: SearchResult
) -> None:
    """From the candidates table: every passing candidate that holds the room with warm nodes
    (min_nodes above the file's, no headroom) or with warm replicas alone (the file's node
    settings) costs more money than the choice; the choice's money is its node-hours × price."""
    df = result.candidates
    passing = df[df["meets_slo"]]
    min_nodes = passing[(passing["headroom_pods"] == 0) & (passing["min_nodes"] > 1)]
    warm = passing[(passing["headroom_pods"] == 0) & (passing["min_nodes"] == 1)]
    assert len(min_nodes) > 0 and len(warm) > 0
    c = result.chosen
    assert c.cost is not None
    assert c.cost < min_nodes["cost"].min()
    assert c.cost < warm["cost"].min()

    assert scenario.nodes is not None and scenario.nodes.price_per_hour is not None
    again = metrics.summarise(_run(c.results.scenario))
    money = again.values["node_seconds"] / 3600.0 * scenario.nodes.price_per_hour
    assert c.cost == pytest.approx(money, rel=1e-9)


def test_cli_recommends_the_headroom() -> None:
    """`planner recommend --scenario FILE --format json`: the headroom in the nodes block."""
    out = CliRunner().invoke(app, ["recommend", "--scenario", str(FILE), "--format", "json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["nodes"]["headroom_pods"] > 0 and data["nodes"]["min_nodes"] == 1
    assert data["meets_slo"] is True


def test_the_recommended_node_settings_export_to_aks(tmp_path: Path) -> None:
    """`planner export --from-json` of that recommendation: the headroom Deployment has the
    recommended pause pods (the real Kubernetes schema accepts it), and the az command the
    recommended min_nodes; the pool and profile are the scenario's."""
    import kubernetes_validate
    import yaml

    runner = CliRunner()
    out = runner.invoke(app, ["recommend", "--scenario", str(FILE), "--format", "json"])
    assert out.exit_code == 0, out.output
    rec = json.loads(out.output)
    (tmp_path / "rec.json").write_text(out.output, encoding="utf-8")
    got = runner.invoke(app, ["export", "--from-json", str(tmp_path / "rec.json"),
                              "--format", "headroom"])  # fmt: skip
    assert got.exit_code == 0, got.output
    docs = list(yaml.safe_load_all(got.stdout))
    for doc in docs:
        kubernetes_validate.validate(doc, "1.30", strict=True)
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    assert deployment["spec"]["replicas"] == rec["nodes"]["headroom_pods"] > 0
    pause = deployment["spec"]["template"]["spec"]["containers"][0]["resources"]
    scenario = load_scenario(FILE)
    assert pause["requests"] == {
        "cpu": "1",
        "memory": f"{int(scenario.service.memory_gb * 1024)}Mi",
    }
    assert "&" not in got.stdout  # no YAML anchors: requests and limits are written out
    cmd = runner.invoke(app, ["export", "--from-json", str(tmp_path / "rec.json"),
                              "--format", "aks-nodepool"])  # fmt: skip
    assert cmd.exit_code == 0, cmd.output
    assert scenario.nodes is not None
    assert (
        f"--min-count {rec['nodes']['min_nodes']} --max-count {scenario.nodes.max_nodes}"
        in cmd.stdout
    )
    assert f"scan-interval={scenario.nodes.autoscaler.scan_interval_s:g}" in cmd.stdout


def test_the_tradeoff_names_the_node_wait_the_headroom_removes(result: SearchResult) -> None:
    """The trade-off's "cut the slowest wait for a node ... from X s to Y s" agrees with the
    replica tables of fresh runs at the file's headroom 0 and at the choice."""
    c = result.chosen
    assert c.nodes is not None
    line = next(t for t in result.node_tradeoff if "cut the slowest wait for a node" in t)
    found = re.search(r"after the warm-up from (\d+) s to (\d+) s", line)
    assert found is not None, line
    _, late0 = _verdict_at(c, 0)
    _, late = _verdict_at(c, c.nodes[0])
    expected = [(t["node_wait_s"] + t["node_provisioning_s"]).max() for t in (late0, late)]
    assert [float(g) for g in found.groups()] == pytest.approx(expected, abs=0.5)
    assert expected[0] >= PROVISION_S and expected[1] == 0
