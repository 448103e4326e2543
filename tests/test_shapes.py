"""The load shape as functions of t (loadtests.curve; no locust in this process)."""

from __future__ import annotations

import importlib.util
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

if importlib.util.find_spec("loadtests") is None:  # plain `pytest` from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loadtests.curve import Stage, arrival_schedule, plan_stages, stage_at, users_for_rate
from planner.traffic import Phase, Traffic

CONSTANT = Traffic(rps=30.0)
RAMP = Traffic(pattern=(Phase(duration_s=20.0, rps=0.0, to_rps=100.0),))
SPIKE = Traffic(
    pattern=(
        Phase(duration_s=10.0, rps=10.0),
        Phase(duration_s=8.0, rps=60.0),
        Phase(duration_s=12.0, rps=10.0),
    )
)


def _users(stages: tuple[Stage, ...]) -> list[tuple[float, float, int]]:
    return [(s.start_s, s.end_s, s.users) for s in stages]


def test_constant_rate_is_one_stage_until_duration_plus_drain() -> None:
    """Constant 30 rps at 20 rps/user: 2 users from 0 to 20 s + 1 s drain, then None."""
    stages = plan_stages(CONSTANT, 20.0, rps_per_user=20.0, drain_s=1.0)
    assert _users(stages) == [(0.0, 21.0, 2)]
    assert stage_at(stages, 0.0) == stages[0]
    assert stage_at(stages, 20.999) == stages[0]
    assert stage_at(stages, 21.0) is None


def test_ramp_users_follow_the_rate_in_steps() -> None:
    """0 → 100 rps over 20 s in 5 s steps: each stage's users cover its peak (25, 50, 75, 100)."""
    stages = plan_stages(RAMP, 20.0, rps_per_user=20.0, step_s=5.0, drain_s=0.0)
    assert _users(stages) == [(0.0, 5.0, 2), (5.0, 10.0, 3), (10.0, 15.0, 4), (15.0, 20.0, 5)]
    for t in np.arange(0.0, 20.0, 0.25):
        stage = stage_at(stages, float(t))
        assert stage is not None
        assert stage.users * 20.0 >= RAMP.rate_rps(float(t))
        assert stage.users == users_for_rate(stage.peak_rps, rps_per_user=20.0)


def test_spike_stages_and_spawn_rates() -> None:
    """10 → 60 → 10 rps: 1, 3, 1 users; the change of 2 users is spawned at 2 users/s."""
    stages = plan_stages(SPIKE, 30.0, rps_per_user=20.0, drain_s=2.0)
    assert _users(stages) == [(0.0, 10.0, 1), (10.0, 18.0, 3), (18.0, 32.0, 1)]
    assert [s.spawn_rate for s in stages] == [1.0, 2.0, 2.0]
    assert [s.peak_rps for s in stages] == [10.0, 60.0, 10.0]
    assert stage_at(stages, -1.0) == stages[0]
    assert stage_at(stages, 32.0) is None


@pytest.mark.parametrize("traffic", [CONSTANT, RAMP, SPIKE], ids=["constant", "ramp", "spike"])
@pytest.mark.parametrize("rps_per_user", [1.0, 7.0, 20.0])
def test_each_stage_change_fits_within_its_stage(traffic: Traffic, rps_per_user: float) -> None:
    """|Δusers| / spawn_rate <= stage length (locust blocks while ramping), stages contiguous."""
    stages = plan_stages(traffic, 30.0, rps_per_user=rps_per_user, step_s=2.0, min_users=2)
    prev = 0
    for i, stage in enumerate(stages):
        assert abs(stage.users - prev) / stage.spawn_rate <= min(1.0, stage.end_s - stage.start_s)
        assert stage.users >= 2
        assert stage.start_s == (0.0 if i == 0 else stages[i - 1].end_s)
        prev = stage.users
    assert stages[-1].end_s == 31.0


def test_plan_stages_rejects_bad_arguments() -> None:
    """Zero duration, step or rps_per_user are errors naming the argument."""
    with pytest.raises(ValueError, match="duration_s"):
        plan_stages(CONSTANT, 0.0)
    with pytest.raises(ValueError, match="step_s"):
        plan_stages(RAMP, 10.0, step_s=0.0)
    with pytest.raises(ValueError, match="rps_per_user"):
        users_for_rate(10.0, rps_per_user=0.0)


def test_arrival_schedule_is_the_simulators_sample() -> None:
    """Seed 3's schedule equals the arrivals the simulator drew for seed 3, time for time."""
    from planner.scenario import scenario_from_dict
    from planner.simulate import run

    spec = {
        "duration_s": 30,
        "warmup_s": 1,
        "traffic": {"pattern": [{"duration_s": 10, "rps": 10}, {"duration_s": 20, "rps": 40}]},
        "service": {"request_time_s": 0.01, "cold_start_s": 1},
        "deployment": {"autoscaler": "none", "replicas": 4},
    }
    scenario = scenario_from_dict(spec)
    results = run(scenario, [3], keep_requests=True)
    assert results.requests is not None
    simulated = np.sort(results.requests["t_arrival_s"].to_numpy())
    schedule = np.fromiter(arrival_schedule(scenario.traffic, 30.0, 3), dtype=np.float64)
    assert schedule.size == simulated.size == results.requests.shape[0]
    np.testing.assert_array_equal(schedule, simulated)


def test_arrival_schedule_workers_share_the_sample() -> None:
    """Three workers take every third arrival: disjoint, and together the whole sample."""
    full = list(arrival_schedule(SPIKE, 30.0, 7))
    parts = [list(arrival_schedule(SPIKE, 30.0, 7, worker_index=w, workers=3)) for w in range(3)]
    assert parts[1] == full[1::3]
    assert sorted(parts[0] + parts[1] + parts[2]) == full
    expected = SPIKE.cumulative(30.0)
    assert abs(len(full) - expected) < 4 * math.sqrt(expected)  # Poisson count: 880 ± 4σ
    with pytest.raises(ValueError, match="worker_index"):
        next(arrival_schedule(SPIKE, 30.0, 7, worker_index=3, workers=3))


def test_importing_the_pure_modules_does_not_import_locust() -> None:
    """loadtests, its curve, planner.loadtest.run and compare, and the CLI leave gevent alone."""
    code = (
        "import sys; import loadtests, loadtests.curve, planner.loadtest.run, "
        "planner.loadtest.compare, "
        "planner.cli; bad = sorted(m for m in ('locust', 'gevent') if m in sys.modules); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
