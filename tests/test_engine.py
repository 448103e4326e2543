"""The compiled engine gives the Python engine's results bit for bit; choosing an engine.

The comparison is exact (assert_frame_equal with check_exact=True) on every example scenario
and on stress scenarios that take every rare path of the loop: 504s (slot kept or freed),
503s at arrival and after the queue patience, drains of replicas holding several requests,
a router queue and record buffers that outgrow their first allocation, service-time batches
used up mid-loop.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pandas.testing import assert_frame_equal
from typer.testing import CliRunner

from planner.autoscalers import Observation, make_policy
from planner.cli import app
from planner.distributions import Constant, Distribution, Empirical, Exponential, Gamma, Lognormal
from planner.engine import model_class
from planner.model import SERVICE_BATCH, Model, ModelOutput
from planner.scenario import AUTOSCALERS, Deployment, Scenario, Service, load_scenario
from planner.simulate import Results, run
from planner.traffic import Phase, Traffic

numba = pytest.importorskip("numba")

from planner.engine.compiled import CompiledModel  # noqa: E402  (after the numba skip)

SCENARIOS = sorted(Path(__file__).resolve().parents[1].glob("scenarios/*.yaml"))


def assert_same_results(a: Results, b: Results) -> None:
    """Identical summary, timeline and requests frames, value for value."""
    assert_frame_equal(a.summary, b.summary, check_exact=True)
    assert_frame_equal(a.timeline, b.timeline, check_exact=True)
    if a.requests is None:
        assert b.requests is None
    else:
        assert b.requests is not None
        assert_frame_equal(a.requests, b.requests, check_exact=True)


def same_output(a: ModelOutput, b: ModelOutput) -> bool:
    """Every field equal: counters, sums, histogram, timeline rows and request records."""
    return all(
        np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y
        for x, y in ((getattr(a, f), getattr(b, f)) for f in ModelOutput.__dataclass_fields__)
    )


def both(sc: Scenario, seeds: list[int], *, keep: bool) -> tuple[Results, Results]:
    return (
        run(sc, seeds, keep_requests=keep, engine="python"),
        run(sc, seeds, keep_requests=keep, engine="compiled"),
    )


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
@pytest.mark.parametrize("keep", [True, False], ids=["requests", "no-requests"])
def test_every_example_scenario_bit_for_bit(path: Path, keep: bool) -> None:
    sc = load_scenario(path)
    py, cc = both(sc, [0, 1], keep=keep)
    assert_same_results(py, cc)
    assert py.summary["requests"].sum() > 0


def stress(
    *, wait_s: float, mc: int, duration_s: float = 600.0, cold_start_s: float = 20.0
) -> Scenario:
    """Overload spikes on a small autoscaled pool: long queues, 503s, 504s, drains."""
    return Scenario(
        name="stress",
        duration_s=duration_s,
        warmup_s=30.0,
        traffic=Traffic(
            pattern=(
                Phase(duration_s=120.0, rps=40.0),
                Phase(duration_s=60.0, rps=40.0, to_rps=400.0),
                Phase(duration_s=120.0, rps=400.0),
                Phase(duration_s=300.0, rps=20.0),
            )
        ),
        service=Service(
            request_time_s=Lognormal.from_mean_p99(0.2, 2.0),
            max_concurrent=mc,
            cold_start_s=Lognormal.from_mean_p99(cold_start_s, 3.0 * cold_start_s),
        ),
        deployment=Deployment(
            autoscaler="azureml",
            replicas=2,
            min_replicas=1,
            max_replicas=12,
            target_utilization=0.7,
            max_request_wait_s=wait_s,
            scoring_timeout_s=1.0,
        ),
    )


@pytest.mark.parametrize(("wait_s", "mc"), [(30.0, 4), (0.0, 1), (0.5, 3)])
@pytest.mark.parametrize("keep", [True, False], ids=["requests", "no-requests"])
def test_stress_rare_paths_bit_for_bit(wait_s: float, mc: int, keep: bool) -> None:
    sc = stress(wait_s=wait_s, mc=mc)
    py, cc = both(sc, [3], keep=keep)
    assert_same_results(py, cc)
    row = py.summary.iloc[0]
    # The scenario does reach the paths it is meant to exercise.
    assert row["requests"] > 2 * SERVICE_BATCH  # service batches run out mid-loop
    assert row["n_503"] > 1000 and row["n_504"] > 100
    if wait_s > 10:
        assert py.timeline["queue_len"].max() > 2048  # the queue ring grows twice


def outputs(cls: type[Model], sc: Scenario, **kw: object) -> ModelOutput:
    policy = make_policy(sc.deployment, sc.service.max_concurrent)
    return cls(sc, 5, policy=policy, **kw).run()  # type: ignore[arg-type]


class Flapping:
    """A policy that swings between 12 and 3 replicas every 7 s: drains of busy replicas."""

    interval_s = 1.0

    def decide(self, obs: Observation) -> int:
        return 12 if int(obs.t_s // 7) % 2 == 0 else 3


@pytest.mark.parametrize("keep", [True, False], ids=["requests", "no-requests"])
def test_drains_of_busy_replicas_bit_for_bit(keep: bool) -> None:
    sc = stress(wait_s=5.0, mc=4, duration_s=400.0, cold_start_s=2.0)
    a = Model(sc, 2, policy=Flapping(), keep_requests=keep).run()
    b = CompiledModel(sc, 2, policy=Flapping(), keep_requests=keep).run()
    assert same_output(a, b)
    assert sum(row[5] for row in a.timeline) >= 10  # replicas draining at one-second samples


@pytest.mark.parametrize("keep_slot", [True, False])
def test_timed_out_slot_choice_bit_for_bit(keep_slot: bool) -> None:
    sc = stress(wait_s=2.0, mc=2, duration_s=400.0)
    a = outputs(Model, sc, timed_out_keeps_slot=keep_slot, keep_requests=True)
    b = outputs(CompiledModel, sc, timed_out_keeps_slot=keep_slot, keep_requests=True)
    assert same_output(a, b)
    assert a.n_504 > 0


def test_comparison_catches_a_different_model() -> None:
    """The exact comparison fails when the engines differ in one rule or one random number."""
    sc = stress(wait_s=2.0, mc=2, duration_s=400.0)
    ref = outputs(Model, sc)
    assert same_output(outputs(CompiledModel, sc), ref)
    assert not same_output(outputs(CompiledModel, sc, timed_out_keeps_slot=False), ref)
    py = run(sc, [0], engine="python")
    with pytest.raises(AssertionError):
        assert_same_results(py, run(sc, [1], engine="compiled"))
    with pytest.raises(AssertionError):
        assert_same_results(py, run(sc, [0], engine="compiled", keep_requests=True))


def test_cli_engines_print_the_same_json() -> None:
    path = next(p for p in SCENARIOS if p.stem == "spike")
    outs = [
        CliRunner().invoke(
            app, ["simulate", str(path), "--seeds", "2", "--format", "json", "--engine", e]
        )
        for e in ("python", "compiled")
    ]
    assert [o.exit_code for o in outs] == [0, 0]
    assert outs[0].stdout == outs[1].stdout


def test_model_class_of_the_compiled_engine() -> None:
    assert model_class("compiled") is CompiledModel and model_class("python") is Model


def test_long_run_buffers_stay_bounded() -> None:
    """Without records the compiled engine's buffers do not grow with the number of requests."""
    sc = Scenario(
        name="long",
        duration_s=1200.0,
        traffic=Traffic(rps=400.0),
        service=Service(request_time_s=Lognormal.from_mean_p99(0.1, 0.5), max_concurrent=1),
        deployment=Deployment(autoscaler="none", replicas=60, max_request_wait_s=0.5),
    )
    model = CompiledModel(sc, 0)
    out = model.run()
    assert out.n_requests > 400_000
    assert out.requests is None and model._rec_a.shape[0] == 0
    assert model._lat_a.size <= 1 << 15 and model._q_a.size <= 1024
    assert model._svc_a.size <= 2 * SERVICE_BATCH
    assert int(np.asarray(out.latency_hist).sum()) == out.n_200 + out.n_504


def random_scenario(k: int) -> Scenario:
    """Configuration number k of a seeded random set: every autoscaler, distribution and mode."""
    r = np.random.default_rng(1000 + k)
    services: list[Distribution] = [
        Constant(value_s=float(r.uniform(0.05, 0.5))),
        Exponential(mean_s=float(r.uniform(0.05, 0.5))),
        Gamma(mean_s=float(r.uniform(0.05, 0.5)), shape=float(r.uniform(0.3, 4.0))),
        Empirical(samples_s=tuple(float(x) for x in r.uniform(0.01, 1.0, 50))),
    ]
    service = services[k % 4]
    auto = AUTOSCALERS[(k // 4) % len(AUTOSCALERS)]
    rps = float(r.uniform(5.0, 60.0))
    hi = 3 * max(1, int(rps * service.mean_s))
    return Scenario(
        name=f"random-{k}",
        duration_s=float(r.integers(120, 300)),
        warmup_s=float(r.choice([0.0, 20.0])),
        traffic=Traffic(
            arrivals=str(r.choice(["poisson", "uniform"])),
            pattern=(
                Phase(duration_s=60.0, rps=rps),
                Phase(duration_s=30.0, rps=rps, to_rps=4 * rps),
                Phase(duration_s=60.0, rps=rps / 2),
            ),
        ),
        service=Service(
            request_time_s=service,
            max_concurrent=int(r.integers(1, 5)),
            cold_start_s=Exponential(mean_s=float(r.uniform(1.0, 20.0))),
        ),
        deployment=Deployment(
            autoscaler=auto,
            replicas=int(r.integers(1, 4)),
            min_replicas=1,
            max_replicas=hi,
            max_request_wait_s=float(r.choice([0.0, 0.2, 3.0])),
            scoring_timeout_s=float(r.choice([0.3, 5.0])),
        ),
    )


@pytest.mark.parametrize("k", range(16))
def test_random_configurations_bit_for_bit(k: int) -> None:
    sc = random_scenario(k)
    py, cc = both(sc, [k], keep=k % 2 == 0)
    assert_same_results(py, cc)
