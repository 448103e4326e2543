"""Kubernetes HPA policy at the edges the controller's own tests pin down.

Tables follow kubernetes/kubernetes `pkg/controller/podautoscaler/replica_calculator_test.go`
(missing and unready pods) and `horizontal_test.go` (tolerances, behavior normalisation);
each test names the upstream test or function it replays.
"""

from __future__ import annotations

from typing import Any

import pytest

from planner.autoscalers import HpaParams, HpaPolicy, HpaScalingPolicy, Observation
from planner.autoscalers.hpa import HpaHistory, normalize, replica_count


def cpu_usage(target_pct: int) -> Any:
    """`GetResourceUtilizationRatio` for pods with a 1-core request: int(total % / n) / target."""
    return lambda total_cores, n: int(total_cores * 100 / n) / target_pct


def hpa(*, target: float = 0.5, min_r: int = 1, max_r: int = 100, **params: Any) -> HpaPolicy:
    """An HPA with one slot per replica (max_concurrent 1)."""
    return HpaPolicy(
        min_replicas=min_r,
        max_replicas=max_r,
        target_utilization=target,
        max_concurrent=1,
        params=HpaParams(**params),
    )


def obs(t_s: float, ready: int, busy: float, **kw: Any) -> Observation:
    """An observation whose busy and queued averages are `busy` and 0."""
    return Observation(
        t_s=t_s,
        ready=ready,
        starting=kw.pop("starting", 0),
        busy=round(busy),
        queued=0,
        busy_avg=busy,
        queued_avg=0.0,
        **kw,
    )


# ------------------------------------------------------------------ missing and unready pods


@pytest.mark.parametrize(
    ("name", "current", "ready_cores", "ready", "unready", "missing", "target_pct", "expected"),
    [
        # TestReplicaCalcMissingMetricsNoChangeEq: 1 of 2 pods at 100 % of a 100 % target.
        # Exactly on target the missing pod is left out: no change (the bug proposed 1).
        ("NoChangeEq", 2, 1.0, 1, 0, 1, 100, 2),
        # TestReplicaCalcMissingMetricsNoChangeGt: 190 %; missing at 0 → 95 %, within 10 %.
        ("NoChangeGt", 2, 1.9, 1, 0, 1, 100, 2),
        # Below target, the missing pod counts at 100 %: (60 + 100) / 2 = 80 % → ceil(1.6) = 2.
        ("NoChangeLt", 2, 0.6, 1, 0, 1, 100, 2),
        # TestReplicaCalcMissingMetricsUnreadyScaleDown: 3 × 10 % + 1 missing at 100 %:
        # 130 / 4 = 32 % of a 50 % target → ceil(0.64 × 4) = 3.
        ("UnreadyScaleDown", 4, 0.3, 3, 0, 1, 50, 3),
        # TestReplicaCalcMissingMetricsHotCpuScaleUp: 1 ready at 200 %, 1 unready, 1 missing:
        # both count at 0 on a scale-up → 66 % / 50 % = 1.32 → ceil(3.96) = 4.
        ("HotCpuScaleUp", 3, 2.0, 1, 1, 1, 50, 4),
        # Exactly on target with an unready pod: no scale-up, so the unready pod stays out.
        ("UnreadyOnTarget", 3, 1.0, 2, 1, 0, 50, 3),
        # Exactly on target with missing AND unready pods: neither is filled in.
        ("MissingUnreadyOnTarget", 4, 1.0, 2, 1, 1, 50, 4),
    ],
)
def test_get_resource_replicas_missing_and_unready(
    name: str,
    current: int,
    ready_cores: float,
    ready: int,
    unready: int,
    missing: int,
    target_pct: int,
    expected: int,
) -> None:
    """replica_calculator.go GetResourceReplicas: the missing-pod fallback only off target."""
    got = replica_count(
        current=current,
        ready=ready,
        unready=unready,
        missing=missing,
        usage_ready_total=ready_cores,
        usage_per_pod_target=target_pct / 100,
        missing_scale_down_usage=max(100, target_pct) / 100,
        tolerance=0.1,
        usage_of=cpu_usage(target_pct),
    )
    assert got == expected, name


@pytest.mark.parametrize(
    ("levels_total", "ready", "missing", "expected"),
    [
        # TestPlainMetricReplicaCalcMissingMetricsNoChangeEq: 3 of 5 pods report 20 qps in
        # total 60 against 20 per pod: ratio 1.0, the 2 missing pods stay out → 5.
        (60.0, 3, 2, 5),
        # Off target the same pods do count: 30 qps over 3 → 0.5; missing at the target:
        # (30 + 40) / 5 = 14 → 0.7 → ceil(3.5) = 4.
        (30.0, 3, 2, 4),
    ],
)
def test_calc_plain_metric_replicas_missing(
    levels_total: float, ready: int, missing: int, expected: int
) -> None:
    """replica_calculator.go calcPlainMetricReplicas (Pods metric): same rule as CPU."""
    got = replica_count(
        current=ready + missing,
        ready=ready,
        unready=0,
        missing=missing,
        usage_ready_total=levels_total,
        usage_per_pod_target=20.0,
        missing_scale_down_usage=20.0,
        tolerance=0.1,
    )
    assert got == expected


def test_on_target_with_new_pods_no_false_scale_down() -> None:
    """The policy end to end: 2 new pods without a sample while the others sit on target.

    metric_delay_s 30: the sample is from t=0 when 4 pods ran at exactly 50 %; at t=315 six
    pods are ready (2 have no sample). On target, GetResourceReplicas keeps 6 pods.
    """
    policy = hpa(metric_delay_s=30.0, scale_down_stabilization_s=0.0)
    assert policy.decide(obs(0.0, 4, 2.0)) == 4
    assert policy.decide(obs(15.0, 4, 2.0)) == 4
    assert policy.decide(obs(30.0, 6, 2.0, spec_replicas=6)) == 6


# ------------------------------------------------------------------ tolerances


@pytest.mark.parametrize(
    ("up_tol", "down_tol", "busy", "expected"),
    [
        (None, None, 5.4, 10),  # 54 % / 50 % = 1.08: inside the single 10 % band
        (0.05, None, 5.4, 11),  # scaleUp.tolerance 5 %: 1.08 is out → ceil(10.8) = 11
        (0.0, None, 5.2, 11),  # scaleUp.tolerance 0: any rise scales (1.04 → ceil(10.4))
        (None, None, 4.4, 9),  # 0.88: below the 10 % band → ceil(8.8) = 9
        (None, 0.2, 4.4, 10),  # scaleDown.tolerance 20 %: 0.88 is inside
        (None, 0.2, 3.9, 8),  # 0.78 is out → ceil(7.8) = 8
        (None, None, 4.5, 10),  # 0.9 exactly: on the edge of the band, inside
        (0.5, 0.0, 4.5, 9),  # scaleDown.tolerance 0: 0.9 is out → ceil(9.0) = 9
        (0.5, 0.0, 5.4, 10),  # scaleUp.tolerance 50 %: 1.08 inside
    ],
)
def test_configurable_tolerances(
    up_tol: float | None, down_tol: float | None, busy: float, expected: int
) -> None:
    """horizontal.go tolerancesForHpa + Tolerances.isWithin: scaleUp/scaleDown apart (1.33+)."""
    policy = hpa(
        scale_up_tolerance=up_tol, scale_down_tolerance=down_tol, scale_down_stabilization_s=0.0
    )
    assert policy.decide(obs(0.0, 10, busy)) == expected


def test_legacy_ignores_per_direction_tolerances() -> None:
    """Without behavior there is no scaleUp.tolerance: the cluster-wide flag applies."""
    params = HpaParams(legacy=True, scale_up_tolerance=0.0, scale_down_tolerance=0.5)
    assert params.tolerances == (0.1, 0.1)
    assert HpaParams(scale_up_tolerance=0.0, scale_down_tolerance=0.5).tolerances == (0.5, 0.0)
    policy = hpa(legacy=True, scale_up_tolerance=0.0)
    assert policy.decide(obs(0.0, 10, 5.4)) == 10


# ------------------------------------------------------------------ spec.replicas


def test_spec_replicas_is_current_replicas() -> None:
    """reconcileAutoscaler uses scale.spec.replicas: 5 asked for, 3 pods exist and are ready.

    On target the proposal is currentReplicas = 5, not the 3 pods the observation counts;
    the stabilised count 5 is kept and no scale event is recorded.
    """
    policy = hpa()
    assert policy.decide(obs(0.0, 3, 1.5, spec_replicas=5)) == 5
    assert policy.history.up_events == policy.history.down_events == ()
    # Without spec_replicas the same observation means spec.replicas = ready + starting = 3.
    assert hpa().decide(obs(0.0, 3, 1.5)) == 3


def test_spec_replicas_bounds_and_rate_limit_start_from_spec() -> None:
    """spec.replicas above max goes to max; scale-up limits count from spec.replicas."""
    assert hpa(max_r=4).decide(obs(0.0, 2, 2.0, spec_replicas=6)) == 4
    # 2 ready pods with 2 in flight each against 0.5 → ratio 4 → proposal 8; spec 3 → the
    # scale-up limit is max(3 + 4, 2 × 3) = 7 (from ready + starting = 2 it would be 6).
    assert hpa(metric="concurrency").decide(obs(0.0, 2, 4.0, spec_replicas=3)) == 7
    assert hpa(metric="concurrency").decide(obs(0.0, 2, 4.0)) == 6


# ------------------------------------------------------------------ normalize


DOCS_DOWN = HpaParams(
    scale_down_stabilization_s=0.0,
    scale_down_policies=(
        HpaScalingPolicy(kind="Pods", value=4, period_s=60.0),
        HpaScalingPolicy(kind="Percent", value=10, period_s=60.0),
    ),
)


def test_normalize_replays_the_documented_scale_down() -> None:
    """The HPA docs' scaleDown example (Pods 4 + Percent 10 % per 60 s, selectPolicy Max).

    kubernetes/website horizontal-pod-autoscale.md "Scaling policies": from 80 replicas the
    controller removes 8, then from 72 another 8 (int(72 × 0.9) = 64), and below 40 only 4
    per minute. Replayed with a proposal of 1 at every 15 s sync.
    """
    history, current, per_minute = HpaHistory(), 80, []
    for k in range(0, 12 * 4):
        t = 15.0 * k
        current, history = normalize(
            DOCS_DOWN, history, proposal=1, current=current, t_s=t, min_replicas=1, max_replicas=100
        )
        if k % 4 == 0:
            per_minute.append(current)
    assert per_minute == [72, 64, 57, 51, 45, 40, 36, 32, 28, 24, 20, 16]


def test_normalize_is_pure_and_is_what_decide_uses() -> None:
    """Same inputs, same answer; the history passed in is untouched; decide() == normalize()."""
    h0 = HpaHistory()
    a = normalize(DOCS_DOWN, h0, proposal=3, current=10, t_s=0.0, min_replicas=1, max_replicas=9)
    b = normalize(DOCS_DOWN, h0, proposal=3, current=10, t_s=0.0, min_replicas=1, max_replicas=9)
    assert a == b and h0 == HpaHistory()
    assert a[0] == 9  # above max → max, whatever the proposal

    # A second HPA fed only the first one's proposals reaches the same decisions.
    live, replay = hpa(), hpa()
    current = 4
    for t, busy in [(0.0, 2.0), (15.0, 6.0), (30.0, 9.0), (45.0, 1.0), (60.0, 0.5)]:
        o = obs(t, current, busy)
        desired = live.decide(o)
        mirrored = replay.normalize(replay.proposal(o), o.current, t)
        assert mirrored == desired
        current = desired


def test_normalize_up_stabilization_window() -> None:
    """stabilizeRecommendationWithBehaviors: scale-up takes the min over the up window."""
    p = HpaParams(scale_up_stabilization_s=30.0)
    h = HpaHistory()
    out = []
    for t, proposal in [(0.0, 4), (15.0, 8), (30.0, 8), (45.0, 8)]:
        d, h = normalize(p, h, proposal=proposal, current=4, t_s=t, min_replicas=1, max_replicas=20)
        out.append(d)
    # t=15: min(4 @0, 8) = 4; t=30: the t=0 sample is 30 s old (outside) → 8.
    assert out == [4, 4, 8, 8]


def test_normalize_disabled_when_spec_is_zero() -> None:
    """spec.replicas 0 with minReplicas > 0: autoscaling is disabled, nothing is changed."""
    d, h = normalize(
        HpaParams(), HpaHistory(), proposal=5, current=0, t_s=0.0, min_replicas=1, max_replicas=9
    )
    assert d == 0 and h.up_events == ()
