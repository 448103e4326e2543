"""Tests of the simulation-backed settings search, the spike scenario builder and the rendering."""

from __future__ import annotations

import json
import math

import pytest
from rich.console import Console

from planner import metrics, simulate
from planner.cli._search_render import render_search, search_html_sections, search_to_dict
from planner.errors import InfeasibleError, ScenarioError
from planner.formulas import replicas_needed, smallest_replicas
from planner.report import write_html
from planner.scenario import Scenario, with_overrides
from planner.search import SearchResult, search_settings
from planner.spike import spike_scenario

# 5 → 15 rps, 0.5 s requests, 10 s cold start, a 30 s spike, 3 seeds: a search takes < 1 s.
SMALL = {
    "rps": 5,
    "peak_rps": 15,
    "request_time_s": 0.5,
    "cold_start_s": 10,
    "spike_duration_s": 30,
    "seeds": 3,
}


@pytest.fixture(scope="module")
def small() -> Scenario:
    """The small spike scenario of these tests."""
    return spike_scenario(**SMALL)


@pytest.fixture(scope="module")
def result(small: Scenario) -> SearchResult:
    """One search over the small scenario, shared by the tests that only read it."""
    return search_settings(small, processes=1)


def _independent(scenario: Scenario, min_r: int, max_r: int, target: float) -> metrics.Summary:
    """Simulate one setting straight through simulate.run + metrics.summarise."""
    settled = replicas_needed(SMALL["rps"], SMALL["request_time_s"], target, 1)
    s = with_overrides(
        scenario,
        {
            "deployment.min_replicas": min_r,
            "deployment.max_replicas": max_r,
            "deployment.target_utilization": target,
            "deployment.replicas": min(max(settled, min_r), max_r),
        },
        warn=False,
    )
    return metrics.summarise(simulate.run(s, scenario.seeds, processes=1))


# ---- spike_scenario --------------------------------------------------------------------------


def test_spike_scenario_phases_and_rates(small: Scenario) -> None:
    """Lead at rps past the warm-up, a step to the peak for the spike, back to rps for the tail."""
    phases = small.traffic.pattern
    assert [(p.duration_s, p.rps, p.to_rps) for p in phases] == [
        (90.0, 5.0, None),
        (30.0, 15.0, None),
        (60.0, 5.0, None),
    ]
    assert small.warmup_s == 60.0  # max(60, 2 × 10 s cold start)
    assert small.duration_s == 180.0
    assert small.traffic.rate_rps(89.9) == 5.0
    assert small.traffic.rate_rps(90.0) == 15.0
    assert small.traffic.rate_rps(120.0) == 5.0
    assert small.seeds == (0, 1, 2)
    assert small.service.request_time_s.mean_s == 0.5
    assert small.service.cold_start_s.mean_s == 10.0
    dep = small.deployment
    assert dep.autoscaler == "azureml"
    # max: ceil((7.5 + 2√7.5) / 0.7) = ceil(18.54) = 19; start at the formula for 5 rps: 4.
    assert (dep.min_replicas, dep.max_replicas, dep.replicas) == (1, 19, 4)
    assert small.slo.max_rate_503 == 0.001
    assert small.slo.latency_p99_s == 60.5  # no latency target: wait limit + scoring timeout


def test_spike_scenario_defaults_follow_the_cold_start() -> None:
    """A 45 s cold start gets a 90 s warm-up and the spike 30 s after it."""
    s = spike_scenario(rps=2, peak_rps=4, request_time_s=1.0, cold_start_s=45, latency_p99_s=3.0)
    assert s.warmup_s == 90.0
    assert s.traffic.pattern[0].duration_s == 120.0
    assert s.slo.latency_p99_s == 3.0
    assert len(s.seeds) == 5


def test_spike_scenario_errors_name_the_field() -> None:
    """Bad values are rejected by the scenario validation, worded as for a file."""
    with pytest.raises(ScenarioError, match=r"traffic\.pattern\[1\]\.rps must be >= 0: -3"):
        spike_scenario(rps=2, peak_rps=-3, request_time_s=1.0)
    with pytest.raises(ScenarioError, match="lead_s must be > warmup_s"):
        spike_scenario(rps=2, peak_rps=4, request_time_s=1.0, lead_s=30, warmup_s=60)


# ---- the search --------------------------------------------------------------------------------


def test_minimality_checked_independently(small: Scenario, result: SearchResult) -> None:
    """The chosen min meets the SLO on the upper bound; min − 1 (same max, target) violates it."""
    c = result.chosen
    ok = _independent(small, c.min_replicas, c.max_replicas, c.target_utilization)
    assert ok.meets_slo is True
    assert ok.ci95["rate_503"][1] <= small.slo.max_rate_503
    assert ok.values == c.summary.values  # same seeds, same numbers, bit for bit
    below = _independent(small, c.min_replicas - 1, c.max_replicas, c.target_utilization)
    assert below.meets_slo is False
    assert below.ci95["rate_503"][1] > small.slo.max_rate_503
    n = result.failing_neighbour
    assert n is not None and n.min_replicas == c.min_replicas - 1
    assert n.summary.values == below.values
    assert "while replicas were still starting" in n.reason
    assert result.minimality.startswith(f"min_replicas {c.min_replicas} is minimal")


def test_known_answer_for_the_small_spike(result: SearchResult) -> None:
    """5 → 15 rps with a 10 s cold start: min 11, max 17 at target 0.8 (seeds 0–2)."""
    assert (result.min_replicas, result.max_replicas, result.target_utilization) == (11, 17, 0.8)
    # the max rule at 0.8: ceil((15 × 0.5 + 2√7.5) / 0.8) = ceil(16.22) = 17
    assert result.max_replicas == math.ceil((7.5 + 2 * math.sqrt(7.5)) / 0.8)


def test_monotone_in_min_replicas(small: Scenario, result: SearchResult) -> None:
    """More minimum replicas never give more 503s (same max and target), checked directly."""
    c = result.chosen
    mins = [1, 4, c.min_replicas - 2, c.min_replicas, c.min_replicas + 3]
    rates = [
        _independent(small, m, c.max_replicas, c.target_utilization).values["rate_503"]
        for m in mins
    ]
    assert rates == sorted(rates, reverse=True)
    assert rates[0] > rates[-1] == 0.0
    assert result.monotone_violations == ()


def test_chosen_is_cheapest_passing(result: SearchResult) -> None:
    """Every cheaper candidate fails; the chosen cost is <= every passing candidate's."""
    df = result.candidates
    chosen_h = result.chosen.replica_hours
    assert not df.loc[df["replica_hours"] < chosen_h, "meets_slo"].any()
    assert (df.loc[df["meets_slo"], "replica_hours"] >= chosen_h).all()
    assert df["meets_slo"].any() and (~df["meets_slo"]).any()
    f = result.cheapest_failing
    assert f is not None and not f.meets_slo and f.replica_hours < chosen_h
    assert "rate_503 upper 95 % bound" in f.reason


def test_few_simulations_from_the_closed_form_start(small: Scenario, result: SearchResult) -> None:
    """The search starts at the closed-form warm pool for the peak and needs few simulations."""
    first = result.candidates.iloc[0]
    assert first["min_replicas"] == smallest_replicas(15, 0.5) == 12
    assert first["target_utilization"] == 0.8  # targets run high to low
    assert result.closed_form is not None and result.closed_form.min_replicas == 12
    assert result.simulations == len(result.candidates) <= 30
    assert result.replications == 3 * result.simulations
    keys = list(zip(result.candidates["min_replicas"], result.candidates["max_replicas"],
                    result.candidates["target_utilization"], strict=True))  # fmt: skip
    assert len(keys) == len(set(keys))  # cached: no point evaluated twice
    assert result.targets == (0.8, 0.7, 0.6, 0.5)


def test_parallel_seeds_give_the_same_answer(small: Scenario, result: SearchResult) -> None:
    """Seeds in a process pool give the very numbers of the serial search (common seeds)."""
    par = search_settings(small, processes=2, targets=(0.8,))
    serial_08 = result.candidates[result.candidates["target_utilization"] == 0.8]
    assert par.min_replicas == result.min_replicas
    assert par.candidates["rate_503"].tolist() == serial_08["rate_503"].tolist()


def test_cost_in_money(small: Scenario) -> None:
    """With a price, cost = replica-hours × price for every candidate."""
    r = search_settings(small, targets=(0.8,), cost_per_replica_hour=2.5)
    df = r.candidates
    assert (df["cost"] == df["replica_hours"] * 2.5).all()
    assert r.chosen.cost == pytest.approx(2.5 * r.chosen.replica_hours)


def test_infeasible_cap_names_the_bound(small: Scenario) -> None:
    """A max_replicas cap below the load raises InfeasibleError with the best achievable rate."""
    with pytest.raises(InfeasibleError) as info:
        search_settings(small, max_replicas_cap=5, targets=(0.7,))
    msg = str(info.value)
    assert "no setting up to max_replicas_cap 5 meets the SLO" in msg
    assert "min_replicas 5, max_replicas 5" in msg
    assert "rate_503" in msg and "upper 95 % bound" in msg


def test_rejects_unsearchable_input(small: Scenario) -> None:
    """No autoscaler, a target outside (0, 1] or a zero budget are named errors."""
    fixed = with_overrides(small, {"deployment.autoscaler": "none"}, warn=False)
    with pytest.raises(ScenarioError, match=r"deployment\.autoscaler must be azureml"):
        search_settings(fixed)
    with pytest.raises(ScenarioError, match=r"targets must be in \(0, 1\]: 1.5"):
        search_settings(small, targets=(0.5, 1.5))
    with pytest.raises(ScenarioError, match="max_simulations must be >= 1: 0"):
        search_settings(small, max_simulations=0)


def test_budget_stops_the_search(small: Scenario) -> None:
    """A tiny budget stops early and says so (minimality not shown)."""
    r = search_settings(small, targets=(0.8,), max_simulations=2)
    assert r.simulations == 2 and r.budget_exhausted
    assert r.candidates["min_replicas"].tolist() == [12, 11]  # start, then min − 1: both pass
    assert r.min_replicas == 11 and r.failing_neighbour is None
    assert r.minimality.startswith("min_replicas 11 is NOT shown minimal")


# ---- rendering -----------------------------------------------------------------------------


def test_render_search_text(result: SearchResult) -> None:
    """The rich rendering shows settings, candidates with pass/fail, the proof and the work."""
    console = Console(record=True, width=140, color_system=None)
    render_search(result, console)
    text = console.export_text()
    assert "min_replicas" in text and " 11 " in text
    assert "◀ chosen" in text and "FAIL" in text and "pass" in text
    assert "Cheapest failing" in text
    assert "Minimality: min_replicas 11 is minimal: 10" in text
    assert f"{result.simulations} simulations" in text


def test_search_to_dict_is_json(result: SearchResult) -> None:
    """The JSON dict carries settings, the predicted rate with its CI, candidates, the proof."""
    d = search_to_dict(result)
    text = json.dumps(d, allow_nan=False)
    back = json.loads(text)
    assert (back["min_replicas"], back["max_replicas"], back["target_utilization"]) == (11, 17, 0.8)
    assert back["predicted_rate_503"] == result.summary.values["rate_503"]
    assert back["predicted_rate_503_ci95"] == list(result.summary.ci95["rate_503"])
    assert back["replicas"] == 4  # ceil(5 × 0.5 / 0.8)
    assert back["cost"] is None and back["replica_hours"] == result.chosen.replica_hours
    assert len(back["candidates"]) == result.simulations
    assert back["cheapest_failing"]["meets_slo"] is False
    assert back["failing_neighbour"]["min_replicas"] == 10
    hours = [c["replica_hours"] for c in back["candidates"]]
    assert hours == sorted(hours)


def test_html_sections_write(result: SearchResult, tmp_path: object) -> None:
    """The HTML sections (with the candidates plot) make a self-contained page."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sections = search_html_sections(result)
    headings = [h for h, _ in sections]
    assert "Candidates: cost against 503 rate" in headings and "Minimality" in headings
    path = write_html(f"{tmp_path}/search.html", title="search", sections=sections)
    plt.close("all")
    page = path.read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 2
    assert "min_replicas 11 is minimal" in page
