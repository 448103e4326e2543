"""planner.budget: expected requests of a run from its traffic, and the work limit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from planner.budget import MAX_REQUESTS_WITHOUT_ALLOW, check_work, estimate_requests
from planner.distributions import Constant
from planner.errors import ScenarioError
from planner.scenario import Scenario, Service
from planner.traffic import Phase, Traffic

SERVICE = Service(request_time_s=Constant(value_s=0.1), cold_start_s=Constant(value_s=1.0))


def _scenario(traffic: Traffic, duration_s: float) -> Scenario:
    return Scenario(name="b", duration_s=duration_s, traffic=traffic, service=SERVICE)


def test_constant_rate_is_rps_times_duration() -> None:
    """20 rps for 900 s: 18,000 expected requests."""
    assert estimate_requests(_scenario(Traffic(rps=20.0), 900.0)) == pytest.approx(18_000.0)


def test_pattern_is_the_integral_of_its_rate() -> None:
    """300 s at 20, 60 s at 60, then a ramp 20 → 10 over 540 s: 6000 + 3600 + 8100."""
    pattern = (
        Phase(duration_s=300, rps=20),
        Phase(duration_s=60, rps=60),
        Phase(duration_s=540, rps=20, to_rps=10),
    )
    sc = _scenario(Traffic(pattern=pattern), 900.0)
    assert estimate_requests(sc) == pytest.approx(6000 + 3600 + 8100)


def test_traces_count_their_requests_within_the_run() -> None:
    """Timestamps before the end count one each; per-second counts add up."""
    times = Traffic(trace_times_s=np.array([0.5, 1.0, 2.5, 9.0, 12.0]))
    assert estimate_requests(_scenario(times, 10.0)) == 4.0
    counts = Traffic(trace_counts=np.array([3, 0, 5, 7]))
    assert estimate_requests(_scenario(counts, 3.0)) == 8.0


def test_the_limit_refuses_with_the_estimate_and_the_option() -> None:
    """Past MAX_REQUESTS_WITHOUT_ALLOW: ScenarioError naming the total and --allow-large."""
    check_work(requests_per_run=MAX_REQUESTS_WITHOUT_ALLOW / 10, runs=10, allow_large=False)
    with pytest.raises(ScenarioError, match=r"about 2\.2e\+08 simulated requests.*--allow-large"):
        check_work(requests_per_run=2.2e7, runs=10, allow_large=False)
    check_work(requests_per_run=2.2e7, runs=10, allow_large=True)  # allowed: no error


@pytest.mark.parametrize("per_run", [math.inf, math.nan])
def test_an_infinite_estimate_is_refused_even_when_allowed(per_run: float) -> None:
    """No option makes an infinite amount of work finish."""
    with pytest.raises(ScenarioError, match="not a finite number"):
        check_work(requests_per_run=per_run, runs=1, allow_large=True)
