"""Every figure of `planner recommend`'s queueing and spike views against the simulator.

The simulator runs the same inputs with the autoscaler off (a fixed set of warm replicas) and
the matching request-time distribution. Exponential request times are exact M/M/c+D: each
figure must lie inside the simulation's 95 % confidence interval (Student t over seeds).
Constant request times go through the Kingman-scaled approximation of `mgc_patience`: each
figure must lie within the interval widened by the approximation's stated error (measured
here and quoted in its docstring). The fluid spike times are "about" figures: inside the 95 %
interval of the mean over seeds.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest
from scipy import stats

from planner.errors import PlannerWarning
from planner.recommend.closed_form import Recommendation, closed_form_recommendation
from planner.recommend.spike import request_time_spec
from planner.scenario import scenario_from_dict
from planner.simulate import run
from planner.spike_fill import spike_headroom

SERVERS = 10
SEEDS = tuple(range(10))
FIGURES = ("utilization", "p_wait", "wait_p99_s", "predicted_latency_p99_s", "predicted_rate_503")


def _scenario(
    pattern: list[dict[str, float]], request_time_s: float, replicas: int, max_wait_s: float,
    scv: float, warmup_s: float, seeds: tuple[int, ...],
) -> Any:  # fmt: skip
    with warnings.catch_warnings():  # overload on purpose: "expect 503s"
        warnings.simplefilter("ignore", PlannerWarning)
        return scenario_from_dict(
            {
                "name": "closed-form-check",
                "warmup_s": warmup_s,
                "seeds": list(seeds),
                "traffic": {"arrivals": "poisson", "pattern": pattern},
                "service": {
                    "request_time_s": request_time_spec(request_time_s, scv),
                    "max_concurrent": 1,
                    "cold_start_s": 0,
                },
                "deployment": {
                    "autoscaler": "none",
                    "replicas": replicas,
                    "max_request_wait_s": max_wait_s,
                    "scoring_timeout_s": 1e6,
                },
                "slo": {"max_rate_503": 0.5, "latency_p99_s": 1e6},
            }
        )


def _steady(rec: Recommendation, scv: float, requests_per_seed: int) -> dict[str, np.ndarray]:
    """Per-seed values of the queueing view's figures, simulated at rec.replicas, rec.rps."""
    warm = 50 * rec.request_time_s
    duration = warm + requests_per_seed / rec.rps
    scenario = _scenario(
        [{"duration_s": duration, "rps": rec.rps}], rec.request_time_s, rec.replicas,
        rec.max_wait_s, scv, warm, SEEDS,
    )  # fmt: skip
    res = run(scenario, keep_requests=True)
    assert res.requests is not None
    counted = res.requests[res.requests["t_arrival_s"] >= warm]
    served = counted[counted["status"] != 503]
    timeline = res.timeline[res.timeline["t_s"] >= warm]
    by_rep = res.summary.set_index("rep")
    return {
        "utilization": (timeline.groupby("rep")["busy"].mean() / rec.replicas).to_numpy(),
        "p_wait": by_rep["p_wait"].to_numpy(),
        "wait_p99_s": served.groupby("rep")["wait_s"].quantile(0.99).to_numpy(),
        "predicted_latency_p99_s": served.groupby("rep")["latency_s"].quantile(0.99).to_numpy(),
        "predicted_rate_503": by_rep["rate_503"].to_numpy(),
    }


def _ci95(values: np.ndarray) -> tuple[float, float]:
    """Student t 95 % interval of the mean over seeds."""
    mean = float(np.mean(values))
    half = float(
        stats.t.ppf(0.975, len(values) - 1) * np.std(values, ddof=1) / math.sqrt(len(values))
    )
    return mean - half, mean + half


def _inside(value: float, values: np.ndarray, rel_error: float = 0.0) -> bool:
    lo, hi = _ci95(values)
    slack = rel_error * abs(float(np.mean(values)))
    return lo - slack <= value <= hi + slack


def _rec(utilization: float, max_wait_s: float, scv: float) -> Recommendation:
    """The closed form at exactly SERVERS slots: target = ρ makes the formula give SERVERS."""
    rec = closed_form_recommendation(
        rps=utilization * SERVERS, request_time_s=1.0, target_utilization=utilization,
        max_wait_s=max_wait_s, request_time_scv=scv,
    )  # fmt: skip
    assert rec.replicas == SERVERS
    return rec


# ---- exponential request times: exact, inside the confidence interval -------------------------


@pytest.mark.parametrize(
    ("utilization", "max_wait_s"),
    [
        pytest.param(0.5, 0.5, marks=pytest.mark.slow),
        (0.8, 0.5),
        pytest.param(0.95, 0.5, marks=pytest.mark.slow),
        pytest.param(0.5, 1e5, marks=pytest.mark.slow),
        pytest.param(0.8, 1e5, marks=pytest.mark.slow),
    ],
)
def test_queueing_view_exponential_inside_ci(utilization: float, max_wait_s: float) -> None:
    """Utilization, P(wait), wait p99, latency p99 and 503 rate: inside the simulation's CI."""
    rec = _rec(utilization, max_wait_s, scv=1.0)
    sim = _steady(rec, 1.0, requests_per_seed=40_000)
    for name in FIGURES:
        value = getattr(rec, name)
        assert _inside(value, sim[name]), (name, value, _ci95(sim[name]))


def test_mean_added_p99_is_refuted() -> None:
    """7 rps, 1 s, 10 slots: the response p99 (4.7 s) agrees; wait p99 + mean (2.03 s) does not."""
    rec = closed_form_recommendation(rps=7, request_time_s=1.0, max_wait_s=1e5)
    assert rec.replicas == SERVERS
    sim = _steady(rec, 1.0, requests_per_seed=40_000)["predicted_latency_p99_s"]
    assert _inside(rec.predicted_latency_p99_s, sim)
    assert rec.predicted_latency_p99_s == pytest.approx(4.71, abs=0.01)
    old = rec.wait_p99_s + rec.request_time_s  # the quantile of the wait plus the MEAN time
    assert old == pytest.approx(2.03, abs=0.01)
    assert not _inside(old, sim)


# ---- constant request times: the approximation, within its stated error ------------------------

# Largest relative error of the Kingman/Cosmetatos-scaled M/M/c+D against M/D/c+D simulations
# at 10 slots, ρ = 0.5-0.95, 0.5 s wait limit (measured: wait p99 −14 % at ρ = 0.5, within 1 %
# from 0.8 on; P(wait > 0) +6 to +8 %, Erlang C's; 503 rate +30 % at ρ = 0.5 where it is 3e-4,
# −13 % from 0.8 on; latency p99 within 3 %). The limits leave a little room above those.
CONSTANT_ERROR = {
    "utilization": 0.01,
    "p_wait": 0.10,
    "wait_p99_s": 0.20,
    "predicted_latency_p99_s": 0.04,
    "predicted_rate_503": 0.40,
}


@pytest.mark.parametrize(
    "utilization",
    [pytest.param(0.5, marks=pytest.mark.slow), 0.8, pytest.param(0.95, marks=pytest.mark.slow)],
)
def test_queueing_view_constant_within_stated_error(utilization: float) -> None:
    """Constant request times: each figure within the CI widened by the stated error."""
    rec = _rec(utilization, 0.5, scv=0.0)
    sim = _steady(rec, 0.0, requests_per_seed=30_000)
    for name, error in CONSTANT_ERROR.items():
        value = getattr(rec, name)
        assert _inside(value, sim[name], error), (name, value, _ci95(sim[name]))
    # The exponential formulas do not describe constant request times: refuted here.
    wrong = _rec(utilization, 0.5, scv=1.0).predicted_latency_p99_s
    assert not _inside(wrong, sim["predicted_latency_p99_s"], CONSTANT_ERROR["p_wait"])
    # Without the time scaling (the exponential wait with a constant service) 503s are off.
    exp_rate = _rec(utilization, 0.5, scv=1.0).predicted_rate_503
    assert not _inside(exp_rate, sim["predicted_rate_503"], CONSTANT_ERROR["predicted_rate_503"])


# ---- spike view: idle slots fill, then the queue builds ----------------------------------------


def _first_times(
    rps: float, peak_rps: float, request_time_s: float, replicas: int, max_wait_s: float,
    scv: float,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Per seed: seconds from the step to the first queued request and to the first 503."""
    lead = 30 * request_time_s
    scenario = _scenario(
        [{"duration_s": lead, "rps": rps}, {"duration_s": 3 * request_time_s, "rps": peak_rps}],
        request_time_s, replicas, max_wait_s, scv, 0.0, tuple(range(10)),
    )  # fmt: skip
    requests = run(scenario, keep_requests=True).requests
    assert requests is not None
    after = requests[requests["t_arrival_s"] >= lead]
    full = after[after["wait_s"] > 0].groupby("rep")["t_arrival_s"].min() - lead
    first = after[after["status"] == 503].groupby("rep")["t_arrival_s"].min() - lead
    assert len(full) == len(first) == 10
    return full.to_numpy(), first.to_numpy()


@pytest.mark.slow
@pytest.mark.parametrize("scv", [1.0, 0.0])
@pytest.mark.parametrize(
    ("rps", "peak_rps", "request_time_s", "replicas", "max_wait_s"),
    [(20, 60, 10.0, 286, 0.5), (200, 400, 1.0, 286, 0.2)],
)
def test_spike_view_inside_ci(
    rps: float, peak_rps: float, request_time_s: float, replicas: int, max_wait_s: float,
    scv: float,
) -> None:  # fmt: skip
    """Seconds until every slot is busy and until the first 503: inside the CI of the mean."""
    view = spike_headroom(
        rps, request_time_s, replicas, max_wait_s=max_wait_s, peak_rps=peak_rps, scv=scv
    )
    assert view.seconds_to_full is not None and view.seconds_to_first_503 is not None
    full, first = _first_times(rps, peak_rps, request_time_s, replicas, max_wait_s, scv)
    assert _inside(view.seconds_to_full, full), (view.seconds_to_full, _ci95(full))
    assert _inside(view.seconds_to_first_503, first), (view.seconds_to_first_503, _ci95(first))


def test_spike_view_without_the_fill_is_refuted() -> None:
    """20 → 60 rps on 286 replicas: queue-only 0.455 s is far below what the simulator shows."""
    full, first = _first_times(20, 60, 10.0, 286, 0.5, 1.0)
    queue_only = 28.6 * 0.5 / (60 - 28.6)
    assert not _inside(queue_only, first)
    assert _inside(spike_headroom(20, 10.0, 286, peak_rps=60).seconds_to_first_503 or 0.0, first)
    assert np.all(full > 0)


@pytest.mark.parametrize("scv", [1.0, 0.0])
def test_capacity_bounds_the_throughput(scv: float) -> None:
    """The spike view's capacity c/T is what the replicas serve at most: at twice the capacity
    the simulated throughput reaches it (its CI within 3 % of it), and the long-run bound holds:
    the CI's lower end is not above it."""
    rec = closed_form_recommendation(
        rps=5, request_time_s=1.0, target_utilization=0.5, peak_rps=20, request_time_scv=scv
    )
    assert rec.capacity_rps == pytest.approx(SERVERS / 1.0)
    scenario = _scenario(
        [{"duration_s": 2_050.0, "rps": 20.0}], 1.0, rec.replicas, 0.5, scv, 50.0, SEEDS[:5]
    )
    throughput = run(scenario).summary["throughput_rps"].to_numpy()
    assert _inside(rec.capacity_rps, throughput, 0.03)
    assert _ci95(throughput)[0] <= rec.capacity_rps
    assert rec.spike_absorbed == pytest.approx(rec.capacity_rps / 5 - 1)
