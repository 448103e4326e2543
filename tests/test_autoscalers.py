"""Autoscaler policies: each rule at its edges, expectations hand-computed from the reference."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import pytest

from planner.autoscalers import (
    AzureMlParams,
    AzureMlPolicy,
    FixedPolicy,
    HpaParams,
    HpaPolicy,
    HpaScalingPolicy,
    KnativeParams,
    KnativePolicy,
    Observation,
    ceil_ratio,
    make_policy,
)
from planner.autoscalers.hpa import replica_count
from planner.errors import ScenarioError


def obs(
    t_s: float,
    ready: int,
    *,
    starting: int = 0,
    busy: int = 0,
    queued: int = 0,
    busy_avg: float | None = None,
    queued_avg: float | None = None,
) -> Observation:
    """An observation; the averages default to the instantaneous counts."""
    return Observation(
        t_s=t_s,
        ready=ready,
        starting=starting,
        busy=busy,
        queued=queued,
        busy_avg=float(busy) if busy_avg is None else busy_avg,
        queued_avg=float(queued) if queued_avg is None else queued_avg,
    )


# ----------------------------------------------------------------------------- azureml-fe


def azureml(
    *, min_r: int = 1, max_r: int = 100, mc: int = 1, delay_s: float = 60.0, **params: Any
) -> AzureMlPolicy:
    """An azureml-fe policy with target 0.7 and a 1 s refresh."""
    return AzureMlPolicy(
        min_replicas=min_r,
        max_replicas=max_r,
        target_utilization=0.7,
        max_concurrent=mc,
        refresh_s=1.0,
        scale_down_delay_s=delay_s,
        params=AzureMlParams(**params),
    )


def drive(policy: AzureMlPolicy, ready: int, loads: Sequence[int]) -> list[int]:
    """One load (all in the router queue) per second; new replicas are ready at once."""
    out = []
    for t, load in enumerate(loads):
        ready = policy.decide(obs(float(t), ready, queued=load))
        out.append(ready)
    return out


@pytest.mark.parametrize(
    ("num", "den", "expected"),
    [(21, 0.7, 30), (22, 0.7, 32), (7, 0.7, 10), (0, 0.7, 0), (3, 0.6, 5), (2.1, 0.7, 3)],
)
def test_ceil_ratio_is_exact(num: float, den: float, expected: int) -> None:
    """ceil(num/den) on the decimal values: 21/0.7 is 30 (float division gives 31)."""
    assert ceil_ratio(num, den) == expected


@pytest.mark.parametrize(
    ("mc", "busy", "queued", "expected"),
    [(1, 10, 11, 30), (2, 20, 1, 15), (1, 10, 0, 15), (4, 7, 0, 3)],
)
def test_azureml_proportional_exact_ceiling(mc: int, busy: int, queued: int, expected: int) -> None:
    """21 in flight at 0.7 → 30; 2 per replica → ceil(21/1.4) = 15; 7 on 4 per replica → 3."""
    assert azureml(mc=mc).decide(obs(0.0, 2, busy=busy, queued=queued)) == expected


def test_azureml_eager_scale_up_first_refresh() -> None:
    """util (2+1)/2 = 1.5 > 0.7: the first refresh asks for ceil(3/0.7) = 5."""
    assert azureml().decide(obs(0.0, 2, busy=2, queued=1)) == 5


def test_azureml_at_target_no_change() -> None:
    """util exactly 0.7 (7 in flight on 10) is not above target: stays 10, no float error."""
    policy = azureml()
    assert policy.decide(obs(0.0, 10, busy=7)) == 10
    assert policy.utilization(obs(0.0, 10, busy=7)) == pytest.approx(0.7)


@pytest.mark.parametrize(("count_starting", "expected"), [(True, 5), (False, 8)])
def test_azureml_no_repeated_scale_up_while_starting(count_starting: bool, expected: int) -> None:
    """After 2 → 5, 3 starting replicas suffice; the naive router adds 5 - 2 = 3 more."""
    policy = azureml(count_starting_as_capacity=count_starting)
    assert policy.decide(obs(0.0, 2, busy=2, queued=1)) == 5
    assert policy.decide(obs(1.0, 2, starting=3, busy=2, queued=1)) == expected


def test_azureml_step_mode_adds_one_per_refresh() -> None:
    """step: +1 per refresh while the desired count exceeds ready + starting."""
    policy = azureml(scale_up_mode="step")
    assert policy.decide(obs(0.0, 2, busy=2, queued=1)) == 3
    assert policy.decide(obs(1.0, 2, starting=1, busy=2, queued=1)) == 4
    assert policy.decide(obs(2.0, 2, starting=3, busy=2, queued=1)) == 5
    assert policy.decide(obs(3.0, 2, starting=3, busy=2, queued=1)) == 5


def test_azureml_scale_down_after_delay_to_window_max() -> None:
    """Desired 10 at t=0, 6 at t=1..30, 3 after: 10 until t=59, 6 from t=60, 3 from t=90.

    The window at t is (t - 60, t]: t=0 leaves it at t=60, t=30 at t=90.
    """
    loads = [7] + [4] * 30 + [2] * 70
    out = drive(azureml(), 10, loads)
    assert out[:60] == [10] * 60
    assert out[60:90] == [6] * 30
    assert out[90:] == [3] * 11


def test_azureml_no_scale_down_before_a_full_window() -> None:
    """Idle from the start at 5 replicas: nothing before t=60 s, then straight to min 1."""
    out = drive(azureml(), 5, [0] * 62)
    assert out[:60] == [5] * 60
    assert out[60:] == [1, 1]


def test_azureml_scale_down_step_waits_again() -> None:
    """scale_down_step=1: 5 → 4 at t=60, 4 → 3 at t=120."""
    out = drive(azureml(scale_down_step=1), 5, [0] * 121)
    assert out[59] == 5
    assert out[60:120] == [4] * 60
    assert out[120] == 3


def test_azureml_zero_delay_follows_load_down() -> None:
    """scale_down_delay_s=0: scale down to the current desired count at once."""
    out = drive(azureml(delay_s=0.0), 10, [7, 2])
    assert out == [10, 3]


@pytest.mark.parametrize(
    ("ready", "load", "expected"), [(5, 0, 2), (5, 100, 8), (0, 1, 2), (0, 0, 2), (9, 7, 8)]
)
def test_azureml_clamps_to_min_max(ready: int, load: int, expected: int) -> None:
    """min 2 / max 8 (no delay): idle → 2; 100 in flight → 8; no replica → 2; 9 → 8."""
    policy = azureml(min_r=2, max_r=8, delay_s=0.0)
    assert policy.decide(obs(0.0, ready, queued=load)) == expected


def test_azureml_utilization_without_queue() -> None:
    """utilization_includes_queued=False: 2 busy + 10 queued counts as 2 → ceil(2/0.7) = 3."""
    assert azureml(utilization_includes_queued=False).decide(obs(0.0, 2, busy=2, queued=10)) == 3
    assert azureml().decide(obs(0.0, 2, busy=2, queued=10)) == 18


def test_azureml_time_average_option() -> None:
    """use_time_average: busy_avg 3.5 → ceil(3.5/0.7) = 5 though nothing is busy now."""
    policy = azureml(use_time_average=True)
    assert policy.decide(obs(0.0, 1, busy=0, busy_avg=3.5, queued_avg=0.0)) == 5


# ----------------------------------------------------------------------------- HPA


def hpa(
    *, target: float = 0.5, min_r: int = 1, max_r: int = 100, mc: int = 1, **params: Any
) -> HpaPolicy:
    """An HPA policy (default behavior) with the given params."""
    return HpaPolicy(
        min_replicas=min_r,
        max_replicas=max_r,
        target_utilization=target,
        max_concurrent=mc,
        params=HpaParams(**params),
    )


SETTLED_S = 301.0  # past the first scale-down stabilization window (300 s)


def settled(policy: HpaPolicy, ready: int) -> HpaPolicy:
    """An HPA that has run one sync at t = 0 exactly on target, so its initial window is over."""
    target_load = 0.5 * ready  # hpa(): target 0.5 per pod, max_concurrent 1
    assert policy.decide(obs(0.0, ready, busy_avg=target_load, queued_avg=0.0)) == ready
    return policy


def test_hpa_holds_the_initial_count_for_the_first_window() -> None:
    """recordInitialRecommendation: no scale-down below the start count in the first 300 s."""
    policy = hpa(metric="concurrency")
    assert policy.decide(obs(0.0, 10, busy_avg=0.0, queued_avg=0.0)) == 10
    assert policy.decide(obs(150.0, 10, busy_avg=0.0, queued_avg=0.0)) == 10
    assert policy.decide(obs(300.0 + 1e-3, 10, busy_avg=0.0, queued_avg=0.0)) == 1


@pytest.mark.parametrize(
    ("per_pod_load", "expected"),
    [(0.445, 9), (0.455, 10), (0.5, 10), (0.545, 10), (0.555, 12)],
)
def test_hpa_tolerance_band_concurrency(per_pod_load: float, expected: int) -> None:
    """Target 0.5/pod, 10 pods: ratio 0.89 → 9; 0.91, 1.09 → 10; 1.11 → ceil(11.1) = 12."""
    policy = settled(hpa(metric="concurrency"), 10)
    load = round(per_pod_load * 10, 6)
    assert policy.decide(obs(SETTLED_S, 10, busy_avg=load, queued_avg=0.0)) == expected


@pytest.mark.parametrize(("busy", "expected"), [(5.4, 10), (5.6, 12), (4.7, 10), (4.4, 9)])
def test_hpa_tolerance_band_cpu(busy: float, expected: int) -> None:
    """cpu at 50 %: 54 % (1.08), 47 % (0.94) inside; 56 % → ceil(11.2) = 12; 44 % → 9."""
    policy = settled(hpa(), 10)
    assert policy.decide(obs(SETTLED_S, 10, busy_avg=busy, queued_avg=0.0)) == expected


@pytest.mark.parametrize(
    ("metric", "ready", "busy", "queued", "expected"),
    [
        ("concurrency", 4, 3.0, 0.0, 6),  # 0.75/pod / 0.5 = 1.5 → ceil(6.0)
        ("cpu", 3, 2.1, 0.0, 5),  # 70 % / 50 % = 1.4 → ceil(4.2)
        ("cpu", 2, 2.0, 10.0, 4),  # cpu cannot see the queue: 100 % → 2.0 → 4
        ("concurrency", 2, 2.0, 10.0, 6),  # 6/pod → ratio 12 → 24, rate-limited to 2 + 4
    ],
)
def test_hpa_ceil_ratio_times_ready(
    metric: str, ready: int, busy: float, queued: float, expected: int
) -> None:
    """desired = ceil(ratio × ready pods), under the default scale-up rate limit."""
    policy = hpa(metric=metric)
    assert policy.decide(obs(0.0, ready, busy_avg=busy, queued_avg=queued)) == expected


@pytest.mark.parametrize(
    ("select", "current", "expected"),
    [("Max", 2, 6), ("Max", 10, 20), ("Min", 2, 4), ("Min", 10, 14), ("Disabled", 2, 2)],
)
def test_hpa_scale_up_rate_limit(select: str, current: int, expected: int) -> None:
    """Pods 4 / Percent 100 per 15 s: Max picks 2 + 4 = 6 and 2 × 10 = 20; Min 4 and 14."""
    policy = hpa(metric="concurrency", scale_up_select_policy=select)
    assert policy.decide(obs(0.0, current, busy_avg=100.0 * current, queued_avg=0.0)) == expected


def test_hpa_scale_up_events_hold_within_period() -> None:
    """Sync 5 s: 2 → 6 at t=0; the +4 counts until it is 15 s old, then 6 → 12 at t=15."""
    policy = hpa(metric="concurrency", sync_period_s=5.0)
    out = []
    current = 2
    for t in (0.0, 5.0, 10.0, 15.0):
        current = policy.decide(obs(t, current, busy_avg=100.0 * current, queued_avg=0.0))
        out.append(current)
    assert out == [6, 6, 6, 12]


def test_hpa_scale_down_stabilization_holds_recommendation() -> None:
    """Recommendation 10 at t=0 is held 300 s; at t=300 it leaves the window → 2."""
    policy = hpa()
    assert policy.decide(obs(0.0, 10, busy_avg=5.0, queued_avg=0.0)) == 10
    out = [
        policy.decide(obs(float(t), 10, busy_avg=1.0, queued_avg=0.0)) for t in range(15, 301, 15)
    ]
    assert out[:-1] == [10] * 19
    assert out[-1] == 2  # 10 % / 50 % = 0.2 → ceil(2.0)


def test_hpa_scale_down_pods_policy() -> None:
    """scaleDown Pods 1 per 60 s: 10 → 9 at t=300, held, 9 → 8 at t=360."""
    policy = hpa(scale_down_policies=(HpaScalingPolicy(kind="Pods", value=1, period_s=60.0),))
    current = policy.decide(obs(0.0, 10, busy_avg=5.0, queued_avg=0.0))
    out = {}
    for t in range(15, 361, 15):
        current = policy.decide(obs(float(t), current, busy_avg=0.1 * current, queued_avg=0.0))
        out[t] = current
    assert out[285] == 10
    assert [out[t] for t in (300, 315, 345, 360)] == [9, 9, 9, 8]


def test_hpa_scale_down_disabled() -> None:
    """selectPolicy Disabled for scale-down: idle pods are never removed."""
    policy = hpa(scale_down_select_policy="Disabled", scale_down_stabilization_s=0.0)
    assert policy.decide(obs(0.0, 10, busy_avg=0.0, queued_avg=0.0)) == 10


@pytest.mark.parametrize(
    ("ready", "starting", "busy", "expected"),
    [
        (2, 2, 1.2, 4),  # 60 % → 1.2; with 2 unready at 0: 30 % → 0.6 flips direction: keep 4
        (2, 1, 2.0, 4),  # 100 % → 2.0; over 3 pods 66 % → 1.32 → ceil(3.96) = 4
        (4, 4, 4.0, 8),  # 100 % → 2.0; over 8 pods 50 % → 1.0, within tolerance: keep 8
        (2, 0, 1.2, 3),  # no unready pod: 1.2 → ceil(2.4) = 3
    ],
)
def test_hpa_unready_pods_on_scale_up(
    ready: int, starting: int, busy: float, expected: int
) -> None:
    """Starting pods count with usage 0 on a scale-up (groupPods / replica_calculator.go)."""
    assert (
        hpa().decide(obs(0.0, ready, starting=starting, busy_avg=busy, queued_avg=0.0)) == expected
    )


@pytest.mark.parametrize(
    ("ready_total", "ready", "missing", "expected"),
    [(0.4, 2, 2, 3), (0.4, 2, 0, 1), (2.0, 2, 2, 4), (3.0, 2, 2, 6)],
)
def test_hpa_missing_pods(ready_total: float, ready: int, missing: int, expected: int) -> None:
    """Missing pods: target usage on scale-down ((0.4+1)/4/0.5 = 0.7 → 3), 0 on scale-up."""
    got = replica_count(
        current=ready + missing,
        ready=ready,
        unready=0,
        missing=missing,
        usage_ready_total=ready_total,
        usage_per_pod_target=0.5,
        missing_scale_down_usage=0.5,
        tolerance=0.1,
    )
    assert got == expected


@pytest.mark.parametrize(("current", "expected"), [(2, 4), (3, 6), (10, 12)])
def test_hpa_legacy_scale_up_limit(current: int, expected: int) -> None:
    """Behavior omitted: scale-up limit max(2 × current, 4), then max_replicas 12."""
    policy = hpa(metric="concurrency", legacy=True, max_r=12)
    assert policy.decide(obs(0.0, current, busy_avg=100.0 * current, queued_avg=0.0)) == expected


def test_hpa_legacy_down_window() -> None:
    """Legacy: max of the recommendations of the last 300 s."""
    policy = hpa(legacy=True)
    assert policy.decide(obs(0.0, 10, busy_avg=5.0, queued_avg=0.0)) == 10
    assert policy.decide(obs(285.0, 10, busy_avg=1.0, queued_avg=0.0)) == 10
    assert policy.decide(obs(300.0, 10, busy_avg=1.0, queued_avg=0.0)) == 2


def test_hpa_metric_delay() -> None:
    """metric_delay_s=30: no usable sample until t=30, then the t=0 spike drives 2 → 4."""
    policy = hpa(metric_delay_s=30.0)
    assert policy.decide(obs(0.0, 2, busy_avg=2.0, queued_avg=0.0)) == 2
    assert policy.decide(obs(15.0, 2, busy_avg=0.0, queued_avg=0.0)) == 2
    assert policy.decide(obs(30.0, 2, busy_avg=0.0, queued_avg=0.0)) == 4


@pytest.mark.parametrize(("ready", "expected"), [(12, 8), (1, 3)])
def test_hpa_out_of_bounds_goes_to_bound(ready: int, expected: int) -> None:
    """current > max → max; current < min → min, whatever the metric."""
    policy = hpa(min_r=3, max_r=8)
    assert policy.decide(obs(0.0, ready, busy_avg=0.5 * ready, queued_avg=0.0)) == expected


def test_hpa_no_ready_pod_keeps_current() -> None:
    """All pods starting: no metric, no change."""
    assert hpa().decide(obs(0.0, 0, starting=3, busy_avg=0.0, queued_avg=5.0)) == 3


# ----------------------------------------------------------------------------- Knative


def kpa(*, min_r: int = 1, max_r: int = 1000, **params: Any) -> KnativePolicy:
    """A KPA with per-pod target 5 (containerConcurrency 10 × 0.5), not starting in panic."""
    params.setdefault("start_in_panic", False)
    return KnativePolicy(
        min_replicas=min_r,
        max_replicas=max_r,
        target_utilization=0.5,
        max_concurrent=10,
        params=KnativeParams(**params),
    )


def kobs(t_s: float, ready: int, value: float) -> Observation:
    """Observed revision concurrency `value` (in service + activator queue)."""
    return obs(t_s, ready, busy_avg=value, queued_avg=0.0)


@pytest.mark.parametrize(
    ("value", "ready", "panic"),
    [(20.0, 2, True), (15.0, 2, False), (10.0, 1, True), (5.0, 1, False)],
)
def test_knative_panic_entry_at_threshold(value: float, ready: int, panic: bool) -> None:
    """Panic when dppc / ready >= 2.0: ceil(20/5) / 2 = 2.0 panics, ceil(15/5) / 2 does not."""
    policy = kpa()
    policy.decide(kobs(0.0, ready, value))
    assert policy.in_panic is panic


def test_knative_panic_ratchet_and_exit() -> None:
    """Ratchet to 6, no scale-down while panicking (last over at t=4), leave at t=66 → 1."""
    policy = kpa()
    values = {0: 20.0, 2: 40.0}
    out = {}
    panic = {}
    for t in range(0, 68, 2):
        out[t] = policy.decide(kobs(float(t), 2, values.get(t, 0.0)))
        panic[t] = policy.in_panic
    assert out[0] == 4  # dspc = dppc = 4
    assert all(out[t] == 6 for t in range(2, 66, 2))
    assert panic[64] and not panic[66]
    assert out[66] == 1  # stable 0, max-down floor(2/2) = 1


def test_knative_panic_window_is_shorter() -> None:
    """After 60 s idle, 10 at t=60: panic avg (0+0+10)/3 → 1/1, calm; at t=62 20/3 → 2/1 panics."""
    policy = kpa()
    for t in range(0, 60, 2):
        assert policy.decide(kobs(float(t), 1, 0.0)) == 1
    assert policy.decide(kobs(60.0, 1, 10.0)) == 1
    assert not policy.in_panic
    assert policy.decide(kobs(62.0, 1, 10.0)) == 2
    assert policy.in_panic
    assert policy.window_average(62.0, 60.0) == pytest.approx(20 / 30)


@pytest.mark.parametrize(
    ("ready", "down_rate", "expected"),
    [(10, 2.0, 5), (9, 2.0, 4), (3, 2.0, 1), (1, 2.0, 1), (10, 4.0, 2)],
)
def test_knative_scale_down_rate(ready: int, down_rate: float, expected: int) -> None:
    """Idle: desired = floor(ready / max_scale_down_rate), at least min 1."""
    policy = kpa(max_scale_down_rate=down_rate)
    assert policy.decide(kobs(0.0, ready, 0.0)) == expected


def test_knative_scale_up_rate() -> None:
    """max_scale_up_rate 2: dspc 20 limited to ceil(2 × 2) = 4."""
    assert kpa(max_scale_up_rate=2.0).decide(kobs(0.0, 2, 100.0)) == 4


def test_knative_stable_window_average() -> None:
    """Samples 0, 2, ..., 60 at t: the 60 s mean at t=60 drops t=0 → 31; panic (56+58+60)/3."""
    policy = KnativePolicy(
        min_replicas=1,
        max_replicas=1000,
        target_utilization=0.5,
        max_concurrent=2,
        params=KnativeParams(start_in_panic=False, max_scale_down_rate=1000.0),
    )
    assert policy.target == 1.0
    decided = 0
    for t in range(0, 62, 2):
        if t == 4:
            assert policy.window_average(4.0, 60.0) == pytest.approx(1.0)  # (0+2)/2 so far
        decided = policy.decide(kobs(float(t), 100, float(t)))
    assert policy.window_average(60.0, 60.0) == pytest.approx(31.0)
    assert policy.window_average(60.0, 6.0) == pytest.approx(58.0)
    assert decided == 31


def test_knative_average_over_samples_written() -> None:
    """Three samples in a 60 s window average over 3 buckets, not 30."""
    policy = kpa()
    for t, v in ((0.0, 3.0), (2.0, 6.0), (4.0, 9.0)):
        policy.decide(kobs(t, 10, v))
    assert policy.window_average(4.0, 60.0) == pytest.approx(6.0)


@pytest.mark.parametrize(
    ("delay_s", "expected"), [(0.0, [10, 5, 4, 1, 1]), (4.0, [10, 10, 5, 4, 1])]
)
def test_knative_scale_down_delay(delay_s: float, expected: list[int]) -> None:
    """Stable window 6 s: desired 10, 5, 4, 0; a 4 s delay keeps the max of the last 4 s."""
    policy = kpa(stable_window_s=6.0, max_scale_down_rate=1000.0, scale_down_delay_s=delay_s)
    got = [
        policy.decide(kobs(t, 10, v))
        for t, v in ((0.0, 50.0), (2.0, 0.0), (4.0, 0.0), (6.0, 0.0), (8.0, 0.0))
    ]
    assert got == expected


def test_knative_start_in_panic_keeps_scale() -> None:
    """A new KPA at 4 ready pods holds 4 for a stable window, then halves to 2."""
    policy = kpa(start_in_panic=True)
    out = [policy.decide(kobs(float(t), 4, 0.0)) for t in range(0, 64, 2)]
    assert out[:31] == [4] * 31
    assert out[31] == 2  # t=62 > 0 + 60


def test_knative_scale_to_zero_and_back() -> None:
    """min 0, activator in path from t=0 (TBC 211): Inactive at t=60 keeps the pod, 0 at t=62."""
    policy = kpa(min_r=0)
    out = {t: policy.decide(kobs(float(t), 1, 0.0)) for t in range(0, 64, 2)}
    assert out[58] == 1 and out[60] == 1 and out[62] == 0
    assert policy.decide(kobs(64.0, 0, 1.0)) == 1


def test_knative_max_clamp() -> None:
    """max_replicas caps the panic count."""
    assert kpa(max_r=3).decide(kobs(0.0, 2, 100.0)) == 3


# ----------------------------------------------------------------------------- make_policy


@pytest.mark.parametrize(
    ("kind", "cls", "interval_s"),
    [
        ("azureml", AzureMlPolicy, 2.0),
        ("hpa", HpaPolicy, 30.0),
        ("knative", KnativePolicy, 4.0),
        ("none", FixedPolicy, 60.0),
    ],
)
def test_make_policy_from_scenario_deployment(kind: str, cls: type, interval_s: float) -> None:
    """make_policy builds each kind from planner.scenario.Deployment, with its interval."""
    from planner.scenario import Deployment

    deployment = Deployment(
        autoscaler=kind,
        replicas=3,
        refresh_s=2.0,
        hpa=HpaParams(sync_period_s=30.0),
        knative=KnativeParams(tick_s=4.0),
    )
    policy = make_policy(deployment, 1)
    assert isinstance(policy, cls)
    assert policy.interval_s == interval_s


def test_fixed_policy_ignores_load() -> None:
    """autoscaler none: always deployment.replicas."""
    from planner.scenario import Deployment

    policy = make_policy(Deployment(autoscaler="none", replicas=4), 1)
    assert policy.decide(obs(0.0, 1, queued=1000)) == 4
    assert policy.decide(obs(1.0, 9)) == 4


def test_make_policy_rejects_unknown_kind() -> None:
    """An unknown autoscaler is a ScenarioError naming the field and the value."""
    from planner.scenario import Deployment

    with pytest.raises(ScenarioError, match=r"deployment.autoscaler must be one of .*'keda'"):
        make_policy(Deployment(autoscaler="keda"), 1)


@pytest.mark.parametrize("block", [AzureMlParams, HpaParams, KnativeParams, HpaScalingPolicy])
def test_param_fields_documented_and_defaults_valid(block: type) -> None:
    """Every parameter has a doc and its default satisfies its own validation metadata."""
    for f in dataclasses.fields(block):
        assert "doc" in f.metadata, f.name
        if f.default is dataclasses.MISSING:
            continue
        value = f.default
        meta = f.metadata
        if value is None:
            continue
        assert "gt" not in meta or value > meta["gt"], f.name
        assert "ge" not in meta or value >= meta["ge"], f.name
        assert "lt" not in meta or value < meta["lt"], f.name
        assert "le" not in meta or value <= meta["le"], f.name
        assert "choices" not in meta or value in meta["choices"], f.name


def test_reference_defaults() -> None:
    """Defaults match docs/autoscalers.md §2.1 and §3.1."""
    h = HpaParams()
    assert (h.sync_period_s, h.tolerance, h.scale_up_stabilization_s) == (15.0, 0.1, 0.0)
    assert h.scale_down_stabilization_s == 300.0
    assert [(p.kind, p.value, p.period_s) for p in h.scale_up_policies] == [
        ("Pods", 4, 15.0),
        ("Percent", 100, 15.0),
    ]
    assert [(p.kind, p.value, p.period_s) for p in h.scale_down_policies] == [
        ("Percent", 100, 15.0)
    ]
    assert (h.scale_up_tolerance, h.scale_down_tolerance, h.tolerances) == (None, None, (0.1, 0.1))
    k = KnativeParams()
    assert (k.tick_s, k.stable_window_s, k.panic_window_s) == (2.0, 60.0, 6.0)
    assert (k.target_burst_capacity, k.scale_to_zero_pod_retention_period_s) == (211.0, 0.0)
    assert (k.max_scale_up_rate, k.max_scale_down_rate, k.panic_threshold_percentage) == (
        1000.0,
        2.0,
        200.0,
    )
