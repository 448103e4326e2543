"""The model step by step: deterministic traces (evenly spaced arrivals, constant service).

Every test runs on both engines: the Python `Model` and the compiled `CompiledModel` (skipped
without numba), so each engine meets the exact numbers on its own.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from planner.autoscalers import Observation
from planner.distributions import Constant, Distribution, Lognormal
from planner.latency import LATENCY_BIN_EDGES_S, hist_percentile
from planner.model import Model, ModelOutput
from planner.scenario import Deployment, Scenario, Service
from planner.traffic import Traffic


def det_scenario(
    *,
    rps: float,
    service_s: float,
    replicas: int,
    duration_s: float = 20.0,
    warmup_s: float = 0.0,
    cold_start: Distribution | None = None,
    **deployment: object,
) -> Scenario:
    """Evenly spaced arrivals (at (k + 1/2) / rps) and a constant service time."""
    return Scenario(
        name="det",
        duration_s=duration_s,
        warmup_s=warmup_s,
        traffic=Traffic(arrivals="uniform", rps=rps),
        service=Service(
            request_time_s=Constant(value_s=service_s),
            cold_start_s=cold_start or Constant(value_s=10.0),
        ),
        deployment=Deployment(autoscaler="none", replicas=replicas, **deployment),  # type: ignore[arg-type]
    )


class Scripted:
    """A policy that returns planned counts at given times and records what it saw."""

    interval_s = 1.0

    def __init__(self, plan: dict[float, int]) -> None:
        self.plan = plan
        self.seen: list[Observation] = []

    def decide(self, obs: Observation) -> int:
        """The planned count at obs.t_s, else the current one."""
        self.seen.append(obs)
        return self.plan.get(obs.t_s, obs.ready + obs.starting)


@pytest.fixture(params=["python", "compiled"])
def model_cls(request: pytest.FixtureRequest) -> type[Model]:
    """The engine under test: Model, or CompiledModel when numba is installed."""
    if request.param == "python":
        return Model
    pytest.importorskip("numba")
    from planner.engine.compiled import CompiledModel

    return CompiledModel


def run_model(sc: Scenario, model_cls: type[Model], **kw: object) -> ModelOutput:
    return model_cls(sc, 0, **kw).run()  # type: ignore[arg-type]


def timeline_at(out: ModelOutput, t_s: float) -> tuple[int, ...]:
    """(ready, starting, draining, desired, queue_len, busy) of the timeline row at t_s."""
    row = next(r for r in out.timeline if r[0] == t_s)
    return tuple(row[3:9])


def test_light_load_exact_numbers(model_cls: type[Model]) -> None:
    """1 rps, 0.5 s service, one replica: no waits; latency, occupancy and cost are exact."""
    out = run_model(
        det_scenario(rps=1.0, service_s=0.5, replicas=1, duration_s=100, warmup_s=10), model_cls
    )
    assert out.n_requests == 90 == out.n_200
    assert out.n_503 == out.n_504 == out.n_no_free == 0
    assert out.sum_wait_s == 0
    assert out.sum_latency_s == pytest.approx(45.0)
    assert out.latency_min_s == out.latency_max_s == 0.5
    assert hist_percentile(out.latency_hist, 0.99, 0.5, 0.5) == 0.5
    assert out.area_in_system / out.window_s == pytest.approx(0.5)
    assert out.area_replicas == pytest.approx(90.0)
    assert out.peak_replicas == 1
    assert timeline_at(out, 0.0)[0] == 1  # initial replicas are ready at t = 0
    assert sum(r[2] for r in out.timeline) == 100


@pytest.mark.parametrize(("keep_slot", "n_503"), [(True, 10), (False, 0)])
def test_timed_out_request_keeps_slot(keep_slot: bool, n_503: int, model_cls: type[Model]) -> None:
    """504 after scoring_timeout_s; with the ASSUMPTION the slot stays busy until service ends."""
    sc = det_scenario(
        rps=1.0, service_s=1.5, replicas=1, scoring_timeout_s=1.0, max_request_wait_s=0.0
    )
    out = run_model(sc, model_cls, timed_out_keeps_slot=keep_slot, keep_requests=True)
    # busy until t + 1.5 → every other request finds the slot taken; freed at t + 1 → none do
    assert out.n_503 == n_503
    assert out.n_504 == 20 - n_503
    assert out.latency_max_s == out.latency_min_s == 1.0
    assert out.requests is not None
    statuses = [r[4] for r in sorted(out.requests)]
    assert statuses[:4] == ([504, 503, 504, 503] if keep_slot else [504] * 4)


def test_queue_patience_trace(model_cls: type[Model]) -> None:
    """2 rps into one 1 s replica with 0.6 s patience: from the 2nd second, one 503 and one
    request served after a 0.5 s wait per second; 503s answered after exactly 0.6 s."""
    sc = det_scenario(rps=2.0, service_s=1.0, replicas=1, max_request_wait_s=0.6, duration_s=200.0)
    out = run_model(sc, model_cls, keep_requests=True)
    assert out.requests is not None
    rows = sorted(out.requests)
    assert rows[0] == (0.25, 0.0, 1.0, 0, 200)
    assert rows[1] == (0.75, 0.5, 1.5, 0, 200)
    for ta, wait, lat, rid, status in rows[2:]:
        if status == 503:
            assert (wait, lat, rid) == (0.6, 0.6, -1)
            assert ta % 1 == 0.25
        else:
            assert (wait, lat, status) == (0.5, 1.5, 200)
            assert ta % 1 == 0.75
    assert out.n_503 == 199 and out.n_200 == 201 and out.n_requests == 400
    # Little's law on the exact trace: the queue integral counts 503s until their deadline
    sojourn = out.sum_time_in_system_s / out.n_requests
    assert out.area_in_system / out.window_s == pytest.approx(2.0 * sojourn, rel=0.005)


def test_observation_time_averages(model_cls: type[Model]) -> None:
    """The control loop sees ready, starting, busy and exact time averages since the last step."""
    policy = Scripted({})
    run_model(det_scenario(rps=1.0, service_s=0.25, replicas=2), model_cls, policy=policy)
    assert [o.t_s for o in policy.seen] == [float(k) for k in range(1, 20)]
    for o in policy.seen:
        assert (o.ready, o.starting, o.busy, o.queued) == (2, 0, 0, 0)
        assert o.busy_avg == pytest.approx(0.25)
        assert o.queued_avg == 0.0


def test_scale_up_then_cancel_newest_starting(model_cls: type[Model]) -> None:
    """1 → 3 replicas at t=1, back to 2 at t=2: the newest starting one is cancelled."""
    policy = Scripted({1.0: 3, 2.0: 2})
    out = run_model(det_scenario(rps=0.5, service_s=0.5, replicas=1), model_cls, policy=policy)
    assert timeline_at(out, 1.0)[:2] == (1, 0)
    assert timeline_at(out, 2.0)[:2] == (1, 2)
    assert timeline_at(out, 3.0)[:2] == (1, 1)
    assert timeline_at(out, 12.0)[:2] == (2, 0)  # cold start 10 s: ready at t = 11
    assert out.peak_replicas == 3
    # replica-seconds: the first 20 s, the kept one 19 s, the cancelled one 1 s
    assert out.area_replicas == pytest.approx(40.0)


def test_scale_down_drains_in_flight_work(model_cls: type[Model]) -> None:
    """Scale-down of a busy replica: it takes no new work, finishes its request, then leaves."""
    policy = Scripted({6.0: 1})
    sc = det_scenario(rps=0.5, service_s=3.0, replicas=2, max_request_wait_s=100.0)
    out = run_model(sc, model_cls, policy=policy, keep_requests=True)
    assert timeline_at(out, 7.0)[:3] == (1, 0, 1)  # ready, starting, draining
    assert timeline_at(out, 9.0)[:3] == (1, 0, 0)
    assert out.requests is not None
    drained = [r for r in out.requests if r[3] == 1]
    assert drained and max(r[0] for r in drained) < 6.0  # no new work after the decision
    assert out.n_requests == out.n_200 + out.n_503 + out.n_504 == 10
    assert out.area_replicas == pytest.approx(20.0 + 8.0)  # replica 1 left at t = 8


def test_hist_percentile_error_below_half_percent() -> None:
    """Histogram percentiles are within 0.5 % of exact ones (1000 log bins per decade)."""
    rng = np.random.default_rng(5)
    lat = Lognormal.from_mean_p99(0.3, 3.0).sample(rng, 200_000)
    idx = np.searchsorted(LATENCY_BIN_EDGES_S, lat, side="right") - 1
    hist = np.bincount(idx, minlength=LATENCY_BIN_EDGES_S.size - 1)
    for q in (0.5, 0.9, 0.95, 0.99, 0.999):
        got = hist_percentile(hist, q, float(lat.min()), float(lat.max()))
        assert got == pytest.approx(float(np.quantile(lat, q)), rel=0.005)
    assert math.isnan(hist_percentile(np.zeros_like(hist), 0.5, 0.0, 0.0))
