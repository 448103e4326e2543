"""Every example in scenarios/ loads without warnings and has the settings its comments claim."""

from __future__ import annotations

from pathlib import Path

import pytest

from planner.distributions import Constant, Exponential, Lognormal
from planner.scenario import Scenario, load_scenario, scenario_from_dict, scenario_to_dict

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
FILES = sorted(SCENARIOS.glob("*.yaml"))


def test_the_examples_are_all_there() -> None:
    """The documented example files exist."""
    names = {f.stem for f in FILES}
    expected = {"steady", "spike", "ramp", "diurnal", "trace", "sweep", "fixed_mmc"}
    assert expected <= names


@pytest.mark.parametrize("file", FILES, ids=[f.stem for f in FILES])
def test_example_loads_small_and_round_trips(file: Path) -> None:
    """Each example loads (no warning), stays within 1k-200k requests and 1 h, and round-trips."""
    s = load_scenario(file)
    assert 0 < s.warmup_s < s.duration_s <= 3600
    expected_requests = s.traffic.cumulative(s.duration_s)
    # Load-test examples (spike_local: ~1,400 requests, two minutes of real time) are short.
    assert 1_000 <= expected_requests <= 200_000
    assert s.name and s.seeds
    assert scenario_from_dict(scenario_to_dict(s)) == s


def load(stem: str) -> Scenario:
    """An example by its file stem."""
    return load_scenario(SCENARIOS / f"{stem}.yaml")


def test_spike_is_the_design_spike() -> None:
    """spike.yaml: 20 → 60 rps for 60 s → 20 (ramping to 10), 30 s cold start, azureml."""
    s = load("spike")
    assert [(p.duration_s, p.rps, p.to_rps) for p in s.traffic.pattern] == [
        (300.0, 20.0, None),
        (60.0, 60.0, None),
        (540.0, 20.0, 10.0),
    ]
    assert s.service.cold_start_s == Constant(value_s=30.0)
    d = s.deployment
    assert d.autoscaler == "azureml"
    # The spike needs 60 × 0.5 = 30 busy replicas: more than the initial pool, less than max.
    assert d.replicas < 30 <= d.max_replicas


def test_steady_ramp_and_fixed_mmc_settings() -> None:
    """steady is 20 rps lognormal 0.5 s; ramp climbs 10 → 50; fixed_mmc is M/M/4 at ρ = 0.75."""
    steady = load("steady")
    assert steady.traffic.rps == 20.0 and steady.deployment.autoscaler == "azureml"
    assert isinstance(steady.service.request_time_s, Lognormal)
    assert steady.service.request_time_s.mean_s == 0.5
    ramp = load("ramp")
    assert ramp.traffic.rate_rps(0.0) == 10.0 and ramp.traffic.rate_rps(1200.0) == 50.0
    mmc = load("fixed_mmc")
    assert mmc.deployment.autoscaler == "none" and mmc.deployment.replicas == 4
    assert mmc.service.request_time_s == Exponential(mean_s=0.5)
    rho = mmc.traffic.rps * mmc.service.request_time_s.mean_s / mmc.deployment.replicas
    assert rho == 0.75


def test_diurnal_trace_and_sweep_settings() -> None:
    """diurnal has 24 phases of 150 s; trace replays per-second counts; sweep is 4 × 3 × 3 seeds."""
    diurnal = load("diurnal")
    assert len(diurnal.traffic.pattern) == 24
    assert {p.duration_s for p in diurnal.traffic.pattern} == {150.0}
    assert diurnal.deployment.autoscaler in ("hpa", "knative")
    trace = load("trace")
    assert trace.traffic.trace_counts is not None and trace.duration_s == 600.0
    assert trace.deployment.autoscaler in ("hpa", "knative")
    sweep = load("sweep")
    assert sweep.sweep == (
        ("deployment.min_replicas", (10, 20, 30, 40)),
        ("deployment.target_utilization", (0.5, 0.6, 0.7)),
    )
    assert sweep.seeds == (0, 1, 2)
    assert sweep.traffic.pattern == load("spike").traffic.pattern
