"""Knative KPA policy at the edges knative/serving's own tests pin down.

Tables follow `pkg/reconciler/autoscaling/resources/metric_test.go` (panic window),
`pkg/reconciler/autoscaling/kpa/scaler_test.go` (`TestScaler`, scale to zero) and
`pkg/autoscaler/config/config_test.go` (whole-second windows); each test names its source.
"""

from __future__ import annotations

from typing import Any

import pytest

from planner.autoscalers import KnativeParams, KnativePolicy, Observation
from planner.autoscalers.knative import panic_window_s
from planner.errors import ScenarioError


def kpa(*, min_r: int = 0, **params: Any) -> KnativePolicy:
    """A KPA with per-pod target 5 (containerConcurrency 10 × 0.5), not starting in panic."""
    params.setdefault("start_in_panic", False)
    return KnativePolicy(
        min_replicas=min_r,
        max_replicas=100,
        target_utilization=0.5,
        max_concurrent=10,
        params=KnativeParams(**params),
    )


def kobs(t_s: float, ready: int, value: float = 0.0, *, starting: int = 0) -> Observation:
    """Observed revision concurrency `value`; `starting` pods are not ready yet."""
    return Observation(
        t_s=t_s,
        ready=ready,
        starting=starting,
        busy=0,
        queued=0,
        busy_avg=value,
        queued_avg=0.0,
    )


def run(policy: KnativePolicy, ticks: range, ready: int, value: float = 0.0) -> dict[int, int]:
    """Decide at each tick with a fixed pod count; the desired count by tick time."""
    return {t: policy.decide(kobs(float(t), ready, value)) for t in ticks}


# ------------------------------------------------------------------ panic window


@pytest.mark.parametrize(
    ("stable_s", "percentage", "expected_s"),
    [
        (60, 10, 6.0),  # "defaults"
        (10, 10, 1.0),  # "with too short panic window": 1 s is also the bucket size
        (600, 10, 60.0),  # "with longer stable window ... defaults to 10%"
        (60, 50, 30.0),  # "with longer panic window percentage"
        (60, 51, 31.0),  # "with panic window percentage+rounding": 30.6 s → 31 s
        (65, 10, 7.0),  # 6.5 s: Duration.Round rounds halves away from zero
        (64, 10, 6.0),  # 6.4 s → 6 s
        (6, 1, 1.0),  # 0.06 s → 0 s, raised to the 1 s bucket
    ],
)
def test_panic_window_make_metric(stable_s: int, percentage: float, expected_s: float) -> None:
    """resources.MakeMetric: the panic window is whole seconds, at least 1 s (metric_test.go)."""
    assert panic_window_s(stable_s, percentage) == expected_s
    params = KnativeParams(stable_window_s=stable_s, panic_window_percentage=percentage)
    assert params.panic_window_s == expected_s


# ------------------------------------------------------------------ whole seconds


@pytest.mark.parametrize(
    ("field", "value"),
    [("stable_window_s", 60.5), ("stable_window_s", 6.25), ("scale_down_delay_s", 0.5)],
)
def test_windows_need_whole_seconds(field: str, value: float) -> None:
    """config.go validate(): "must be specified with at most second precision"."""
    with pytest.raises(ScenarioError, match=rf"deployment\.knative\.{field} .*whole.*{value}"):
        KnativeParams(**{field: value})


@pytest.mark.parametrize(("field", "value"), [("stable_window_s", 61.0), ("scale_down_delay_s", 3)])
def test_whole_seconds_are_accepted(field: str, value: float) -> None:
    """A whole number of seconds, given as a float or an int, is valid."""
    assert getattr(KnativeParams(**{field: value}), field) == value


def test_scenario_loader_reports_the_field(tmp_path: Any) -> None:
    """A scenario file with stable_window_s 60.5 fails on load, naming field and value."""
    from planner.scenario import load_scenario

    path = tmp_path / "kn.yaml"
    path.write_text(
        "name: kn\nduration_s: 600\ntraffic:\n  rps: 1\nservice:\n  request_time_s: 0.1\n"
        "deployment:\n  autoscaler: knative\n  knative:\n    stable_window_s: 60.5\n"
    )
    with pytest.raises(ScenarioError, match=r"stable_window_s.*60\.5"):
        load_scenario(path)


def test_target_burst_capacity_rule() -> None:
    """config.go: target-burst-capacity "must be either non-negative or -1"."""
    assert KnativeParams(target_burst_capacity=-1).target_burst_capacity == -1
    with pytest.raises(ScenarioError, match=r"target_burst_capacity must be >= 0 or -1: -0\.5"):
        KnativeParams(target_burst_capacity=-0.5)


# ------------------------------------------------------------------ scale to zero


def test_scale_to_one_while_active_for_less_than_a_stable_window() -> None:
    """TestScaler "scale to 1 waiting for idle expires": desired 0, Active 58 s of 60 → 1.

    One pod ready and 9 still starting: the starting ones are cancelled, 1 is kept.
    """
    policy = kpa()
    assert policy.decide(kobs(0.0, 1, 0.0, starting=9)) == 1
    assert policy.pa_state == "active"


def test_inactive_revision_keeps_its_pods() -> None:
    """TestScaler "waits to scale to zero after idle period": Active for a stable window.

    The PA is marked Inactive and nothing is applied: the 1 ready and 2 starting pods stay
    (spec.replicas 3), where a drop to 1 would cancel the starting ones.
    """
    policy = kpa(target_burst_capacity=0)
    run(policy, range(0, 60, 2), 1)
    assert policy.decide(kobs(60.0, 1, 0.0, starting=2)) == 3
    assert policy.pa_state == "inactive"


@pytest.mark.parametrize(
    ("params", "inactive_at", "zero_at"),
    [
        # TBC 0: the activator joins the path only when the PA goes Inactive (t = 60), so
        # "scale to zero after grace period" applies: Inactive for 30 s → 0 at t = 90.
        ({"target_burst_capacity": 0}, 60, 90),
        # Default TBC 211 with 1 pod of 10 slots: the activator was in the path from t = 0,
        # "sks in proxy long": 0 at the first tick after the PA is marked Inactive.
        ({}, 60, 62),
        # TBC -1: activator always in the path ("scale to zero with TBC=-1").
        ({"target_burst_capacity": -1}, 60, 62),
        # Pod retention 90 s > grace ("can't scale to zero after grace period, but before
        # last pod retention"): 0 only after 90 s Inactive, proxy mode or not.
        ({"scale_to_zero_pod_retention_period_s": 90.0}, 60, 150),
        # Retention 20 s < grace with the activator in the path long ("... and last pod
        # timeout positive"): 0 once Inactive for 20 s.
        ({"scale_to_zero_pod_retention_period_s": 20.0}, 60, 80),
        # Grace 45 s with TBC 0 → 0 at 60 + 45.
        ({"target_burst_capacity": 0, "scale_to_zero_grace_period_s": 45.0}, 60, 106),
    ],
)
def test_scale_to_zero_timeline(params: dict[str, Any], inactive_at: int, zero_at: int) -> None:
    """scaler.go handleScaleToZero: 1 until Active for a stable window, kept, then 0."""
    policy = kpa(**params)
    out: dict[int, int] = {}
    states: dict[int, str | None] = {}
    for t in range(0, 200, 2):
        out[t] = policy.decide(kobs(float(t), 1 if t < zero_at else 0))
        states[t] = policy.pa_state
    assert states[inactive_at - 2] == "active" and states[inactive_at] == "inactive"
    assert all(out[t] == 1 for t in range(0, zero_at, 2))
    assert out[zero_at] == 0


def test_grace_starts_after_the_stable_window_not_with_it() -> None:
    """A new idle revision: desired is 0 from t = 0, but the grace starts at t = 60.

    The PA must be Active for a stable window before it goes Inactive, and only then does the
    30 s grace run (TBC 0). Overlapping the two would reach 0 at t = 60.
    """
    out = run(kpa(target_burst_capacity=0), range(0, 92, 2), 1)
    assert out[60] == 1 and out[88] == 1 and out[90] == 0


def test_traffic_after_idle_period_needs_a_new_stable_window() -> None:
    """Traffic until t = 100, then none (TBC 0): stable average 0 from t = 160 → 0 at 190."""
    policy = kpa(target_burst_capacity=0)
    out = {}
    for t in range(0, 200, 2):
        out[t] = policy.decide(kobs(float(t), 1, 1.0 if t <= 100 else 0.0))
    assert out[158] == 1 and out[160] == 1 and policy.pa_state == "inactive"
    assert out[188] == 1 and out[190] == 0


def test_traffic_while_inactive_reactivates() -> None:
    """Inactive with its pod kept, a request arrives: want > 0 → Active again (kpa.go).

    The new Active period must last a stable window before the PA can go Inactive again.
    """
    policy = kpa(target_burst_capacity=0)
    run(policy, range(0, 62, 2), 1)
    assert policy.pa_state == "inactive"
    assert policy.decide(kobs(62.0, 1, 4.0)) == 1
    assert policy.pa_state == "active"
    out = run(policy, range(64, 160, 2), 1)
    # The request's sample leaves the stable window at t = 122; Active since 62 → Inactive
    # at 122, then 30 s of grace → 0 at 152.
    assert out[120] == 1 and policy.pa_state == "inactive"
    assert out[150] == 1 and out[152] == 0


def test_activating_with_no_traffic_left_holds() -> None:
    """TestScaler activating cases: pods still starting after a scale from zero, desired 0.

    handleScaleToZero returns "unknown" while Activating: the starting pod is not cancelled.
    When it is ready the PA turns Active; then the stable window rule applies as usual.
    """
    policy = kpa()
    assert policy.decide(kobs(0.0, 0, 0.0, starting=1)) == 1
    assert policy.pa_state == "activating"
    assert policy.decide(kobs(2.0, 1, 0.0)) == 1
    assert policy.pa_state == "active"


def test_min_scale_never_reaches_zero() -> None:
    """With min_replicas 1 desired is never 0, so the scale-to-zero rules never apply."""
    out = run(kpa(min_r=1), range(0, 300, 2), 1)
    assert set(out.values()) == {1}


def test_scale_from_zero() -> None:
    """A request at zero pods (held by the activator) → 1 at the next tick."""
    policy = kpa()
    run(policy, range(0, 64, 2), 1)
    assert policy.decide(kobs(64.0, 0, 0.0)) == 0
    assert policy.decide(kobs(66.0, 0, 1.0)) == 1
