"""Every example in scenarios/ simulates: counts add up, Little's law holds, the story is true."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from planner.scenario import Scenario, load_scenario
from planner.simulate import run_rep

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
FILES = sorted(SCENARIOS.glob("*.yaml"))


def _one_rep(file: Path) -> tuple[Scenario, dict[str, float]]:
    scenario = load_scenario(file)
    return scenario, run_rep(scenario, scenario.seeds[0]).stats


@pytest.mark.parametrize("file", FILES, ids=[f.stem for f in FILES])
def test_example_simulates_consistently(file: Path) -> None:
    """One replication: the request count is Poisson-plausible, outcomes add up, L = λW."""
    scenario, stats = _one_rep(file)
    window_s = scenario.duration_s - scenario.warmup_s
    expected = scenario.traffic.cumulative(scenario.duration_s) - scenario.traffic.cumulative(
        scenario.warmup_s
    )
    # Poisson count (or exact replay for traces / uniform arrivals): within 5 standard deviations.
    assert abs(stats["requests"] - expected) <= 5 * math.sqrt(expected) + 1
    assert stats["n_200"] + stats["n_503"] + stats["n_504"] == stats["requests"]
    assert 0 <= stats["rate_503"] <= 1
    # Little's law over the window: L = λ W (requests that straddle the window edges blur it).
    little = stats["requests"] / window_s * stats["mean_time_in_system_s"]
    assert stats["mean_in_system"] == pytest.approx(little, rel=0.03)
    assert stats["peak_replicas"] <= scenario.deployment.max_replicas
    assert stats["replica_seconds"] >= scenario.deployment.min_replicas * window_s * 0.999


def test_spike_example_gets_503s_and_steady_gets_none() -> None:
    """The headline story: the 3× spike causes 503s; steady load at the same size does not."""
    _, spike = _one_rep(SCENARIOS / "spike.yaml")
    _, steady = _one_rep(SCENARIOS / "steady.yaml")
    assert spike["n_503"] > 0 and spike["rate_503"] > 0.001
    assert steady["n_503"] == 0
