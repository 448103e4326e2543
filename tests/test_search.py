"""Tests of the simulation-backed settings search, the spike scenario builder and the rendering."""

from __future__ import annotations

import json
import math

import pytest
from rich.console import Console

from planner import metrics, simulate
from planner.cli._search_render import render_search, search_html_sections, search_to_dict
from planner.errors import InfeasibleError, ScenarioError
from planner.formulas import replicas_needed
from planner.queueing import smallest_replicas
from planner.recommend.search import SearchResult, search_settings
from planner.recommend.spike import spike_scenario
from planner.report import write_html
from planner.scenario import Scenario, with_overrides

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


# 4 → 12 rps, otherwise as SMALL: the cheapest settings have min > 1 and max > min, so both
# neighbours (min − 1 and max − 1) exist and fail.
LEAN = {**SMALL, "rps": 4, "peak_rps": 12}


@pytest.fixture(scope="module")
def result(small: Scenario) -> SearchResult:
    """One search over the small scenario, shared by the tests that only read it."""
    return search_settings(small, processes=1)


@pytest.fixture(scope="module")
def lean() -> Scenario:
    """The 4 → 12 rps spike scenario."""
    return spike_scenario(**LEAN)


@pytest.fixture(scope="module")
def lean_result(lean: Scenario) -> SearchResult:
    """One search over the 4 → 12 rps scenario."""
    return search_settings(lean, processes=1)


def _independent(
    scenario: Scenario, min_r: int, max_r: int, target: float, rps: float = SMALL["rps"]
) -> metrics.Summary:
    """Simulate one setting straight through simulate.run + metrics.summarise."""
    settled = replicas_needed(rps, SMALL["request_time_s"], target, 1)
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


def test_minimality_checked_independently(lean: Scenario, lean_result: SearchResult) -> None:
    """The chosen min meets the SLO on the upper bound; min − 1 (same max, target) violates it."""
    c, rps = lean_result.chosen, LEAN["rps"]
    ok = _independent(lean, c.min_replicas, c.max_replicas, c.target_utilization, rps)
    assert ok.meets_slo is True
    assert ok.ci95["rate_503"][1] <= lean.slo.max_rate_503
    assert ok.values == c.summary.values  # same seeds, same numbers, bit for bit
    below = _independent(lean, c.min_replicas - 1, c.max_replicas, c.target_utilization, rps)
    assert below.meets_slo is False
    assert below.ci95["rate_503"][1] > lean.slo.max_rate_503
    n = lean_result.failing_neighbour
    assert n is not None and n.min_replicas == c.min_replicas - 1
    assert n.max_replicas == c.max_replicas  # at the final max, not the rule's
    assert n.summary.values == below.values
    assert "while replicas were still starting" in n.reason
    assert lean_result.minimality.startswith(f"min_replicas {c.min_replicas} is minimal")


def test_max_minimality_checked_independently(lean: Scenario, lean_result: SearchResult) -> None:
    """max − 1 (same min, target) violates the SLO when re-run; the search said so, and why."""
    c, rps = lean_result.chosen, LEAN["rps"]
    assert (c.min_replicas, c.max_replicas, c.target_utilization) == (8, 10, 0.8)
    below = _independent(lean, c.min_replicas, c.max_replicas - 1, c.target_utilization, rps)
    assert below.meets_slo is False
    assert below.ci95["rate_503"][1] > lean.slo.max_rate_503
    n = lean_result.max_neighbour
    assert n is not None and n.key == (8, 9, 0.8)
    assert n.summary.values == below.values
    assert "at max_replicas 9 with every replica ready: the ceiling is too low" in n.reason
    assert lean_result.max_minimality.startswith("max_replicas 10 is minimal: 9 (same min 8")
    why = lean_result.reasons["max_replicas"]
    assert why.startswith("smallest max meeting the SLO: 10; 9 fails: rate_503 upper 95 % bound")
    # the rule at 0.8, the top of the search: ceil((6 + 2√6) / 0.8) = ceil(13.62) = 14
    assert "searched from the rule's 14" in why
    assert lean_result.candidates.iloc[0]["max_replicas"] == 14


def test_lower_max_is_cheaper_and_the_search_records_its_steps(lean_result: SearchResult) -> None:
    """The rule's max (14) passes but costs more; each row names the step that asked for it."""
    df = lean_result.candidates
    at_rule = df[(df["min_replicas"] == 8) & (df["max_replicas"] == 14)].iloc[0]
    assert at_rule["meets_slo"] and at_rule["target_utilization"] == 0.8
    assert at_rule["replica_hours"] > lean_result.chosen.replica_hours + 0.05  # 0.398 > 0.314
    assert set(df["step"]) == {"min", "max", "check"}
    assert df.loc[df["step"] == "min", "max_replicas"].isin([14, 16, 19, 22]).all()  # rules
    steps = df["step"].tolist()
    assert steps == sorted(steps, key=["min", "max", "check"].index)  # in this order


def test_max_search_is_monotone(lean: Scenario, lean_result: SearchResult) -> None:
    """With min and target fixed, a higher max gives no more 503s and no lower cost."""
    c, rps = lean_result.chosen, LEAN["rps"]
    runs = [_independent(lean, 8, m, 0.8, rps) for m in (8, 9, 10, 12, 14)]
    rates = [r.values["rate_503"] for r in runs]
    seconds = [r.values["replica_seconds"] for r in runs]
    assert rates == sorted(rates, reverse=True) and rates[0] > rates[-1] == 0.0
    assert seconds == sorted(seconds)
    assert lean_result.monotone_violations == ()
    assert c.min_replicas == 8


@pytest.mark.parametrize("which", ["result", "lean_result"])
def test_chosen_cost_below_every_passing(which: str, request: pytest.FixtureRequest) -> None:
    """The chosen cost is <= every passing candidate's; replicas never fall below the minimum."""
    r: SearchResult = request.getfixturevalue(which)
    df = r.candidates
    assert (df.loc[df["meets_slo"], "replica_hours"] >= r.chosen.replica_hours).all()
    assert r.chosen.meets_slo
    # The pruning premise: replica-hours >= min_replicas × the measured 120 s (180 − 60).
    assert (df["replica_hours"] >= df["min_replicas"] * 120 / 3600 - 1e-12).all()


def test_simulations_stay_few(lean_result: SearchResult) -> None:
    """The 4 → 12 rps search needs at most 35 simulations (28 at the time of writing)."""
    assert lean_result.simulations == len(lean_result.candidates) <= 35
    assert not lean_result.budget_exhausted
    keys = list(zip(lean_result.candidates["min_replicas"], lean_result.candidates["max_replicas"],
                    lean_result.candidates["target_utilization"], strict=True))  # fmt: skip
    assert len(keys) == len(set(keys))


def test_budget_cuts_the_max_search(lean: Scenario) -> None:
    """A budget that ends inside the max search says what is not shown minimal."""
    r = search_settings(lean, targets=(0.8,), max_simulations=5)
    assert r.simulations == 5 and r.budget_exhausted
    assert r.candidates["min_replicas"].tolist() == [9, 8, 6, 7, 8]
    assert r.candidates["max_replicas"].tolist() == [14, 14, 14, 14, 10]
    assert r.chosen.key == (8, 10, 0.8)
    assert r.failing_neighbour is None and r.max_neighbour is None
    assert r.minimality.startswith("min_replicas 8 is NOT shown minimal")
    assert r.max_minimality.startswith("max_replicas 10 is NOT shown minimal: 9 was not evaluated")
    console = Console(record=True, width=140, color_system=None)
    render_search(r, console)
    assert "The max_simulations budget ran out" in console.export_text()


def test_known_answer_for_the_small_spike(result: SearchResult) -> None:
    """5 → 15 rps with a 10 s cold start: min 1, max 11 at target 0.6 (seeds 0–2).

    At max 11 the autoscaler rides at the ceiling (noise pushes it up, it scales down only
    after a minute), so the minimum does not bind: cheaper than min 11, max 17 at 0.8, the
    answer while max_replicas was the rule, which still passes.
    """
    assert (result.min_replicas, result.max_replicas, result.target_utilization) == (1, 11, 0.6)
    # the max rule at 0.8: ceil((15 × 0.5 + 2√7.5) / 0.8) = ceil(16.22) = 17
    df = result.candidates
    old = df[(df["min_replicas"] == 11) & (df["max_replicas"] == 17)].iloc[0]
    assert old["max_replicas"] == math.ceil((7.5 + 2 * math.sqrt(7.5)) / 0.8)
    assert old["meets_slo"] and old["replica_hours"] > result.chosen.replica_hours
    assert result.failing_neighbour is None  # min 1: nothing lower
    assert result.minimality == (
        "min_replicas 1 is the lowest the autoscaler allows: nothing smaller to test"
    )
    assert result.max_neighbour is not None and result.max_neighbour.key == (1, 10, 0.6)
    assert result.max_minimality.startswith("max_replicas 11 is minimal: 10 (same min 1")


def test_monotone_in_min_replicas(small: Scenario, result: SearchResult) -> None:
    """More minimum replicas never give more 503s (same max and target), checked directly."""
    # At the rule's max 17 and target 0.8, where the smallest passing minimum is 11.
    mins = [1, 4, 11 - 2, 11, 11 + 3]
    rates = [_independent(small, m, 17, 0.8).values["rate_503"] for m in mins]
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
    # the scenario's request time is constant (scv 0): the closed form's approximation for it
    assert first["min_replicas"] == smallest_replicas(15, 0.5, scv=0.0) == 10
    assert first["target_utilization"] == 0.8  # targets run high to low
    assert result.closed_form is not None and result.closed_form.min_replicas == 12
    assert result.simulations == len(result.candidates) <= 30
    assert result.replications == 3 * result.simulations
    keys = list(zip(result.candidates["min_replicas"], result.candidates["max_replicas"],
                    result.candidates["target_utilization"], strict=True))  # fmt: skip
    assert len(keys) == len(set(keys))  # cached: no point evaluated twice
    assert result.targets == (0.8, 0.7, 0.6, 0.5)


def test_parallel_seeds_give_the_same_answer(small: Scenario) -> None:
    """Seeds in a process pool give the very numbers of the serial search (common seeds)."""
    par = search_settings(small, processes=2, targets=(0.8,))
    serial_08 = search_settings(small, processes=1, targets=(0.8,)).candidates
    assert par.min_replicas == 11 and par.chosen.key == (11, 11, 0.8)
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
    """A tiny budget stops early and says so."""
    r = search_settings(small, targets=(0.8,), max_simulations=2)
    assert r.simulations == 2 and r.budget_exhausted
    assert r.candidates["min_replicas"].tolist() == [10, 11]  # the start fails, 11 passes
    assert r.min_replicas == 11 and r.failing_neighbour is not None
    assert r.minimality.startswith("min_replicas 11 is minimal: 10")


# ---- rendering -----------------------------------------------------------------------------


def test_render_search_text(result: SearchResult) -> None:
    """The rich rendering shows settings, candidates with pass/fail, the proof and the work."""
    console = Console(record=True, width=140, color_system=None)
    render_search(result, console)
    text = console.export_text()
    assert "min_replicas" in text and " 11 " in text
    assert "◀ chosen" in text and "FAIL" in text and "pass" in text
    assert "Cheapest failing" in text
    assert "Minimality: min_replicas 1 is the lowest the autoscaler allows" in text
    assert "Minimality of the maximum: max_replicas 11 is minimal: 10" in text
    assert f"{result.simulations} simulations" in text
    assert "step" in text and " check" in text


def test_render_fits_80_columns(lean_result: SearchResult) -> None:
    """At 80 columns the candidates table keeps the verdict and the chosen mark whole."""
    console = Console(record=True, width=80, color_system=None)
    render_search(lean_result, console)
    text = console.export_text()
    assert "pass ◀ chosen" in text
    assert "Minimality of the maximum: max_replicas 10 is minimal: 9" in " ".join(text.split())


def test_search_to_dict_is_json(result: SearchResult) -> None:
    """The JSON dict carries settings, the predicted rate with its CI, candidates, the proof."""
    d = search_to_dict(result)
    text = json.dumps(d, allow_nan=False)
    back = json.loads(text)
    assert (back["min_replicas"], back["max_replicas"], back["target_utilization"]) == (1, 11, 0.6)
    assert back["predicted_rate_503"] == result.summary.values["rate_503"]
    assert back["predicted_rate_503_ci95"] == list(result.summary.ci95["rate_503"])
    assert back["replicas"] == 5  # ceil(5 × 0.5 / 0.6)
    assert back["cost"] is None and back["replica_hours"] == result.chosen.replica_hours
    assert len(back["candidates"]) == result.simulations
    assert back["cheapest_failing"]["meets_slo"] is False
    assert back["failing_neighbour"] is None  # min 1 is the floor
    assert back["max_neighbour"]["max_replicas"] == 10
    assert back["max_neighbour"]["meets_slo"] is False
    assert back["max_minimality"] == result.max_minimality
    assert {c["step"] for c in back["candidates"]} == {"min", "max"}  # checks: all cached
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
    assert "max_replicas 11 is minimal" in page
