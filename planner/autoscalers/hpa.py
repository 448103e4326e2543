"""Kubernetes HorizontalPodAutoscaler (autoscaling/v2), one HPA with one metric.

Follows the controller's own code, kubernetes/kubernetes `pkg/controller/podautoscaler/`:
every `sync_period_s` the per-metric proposal of `replica_calculator.go` is computed from the
ready pods' metric (with the unready/missing-pod adjustment), then `horizontal.go`
normalises it either with `behavior` (stabilisation windows + rate-limit policies over the
recorded scale events, the default here) or, with `legacy=True`, the behavior-less rule (300 s
max window, scale-up limit max(2 × current, 4)). The normalisation is the pure `normalize()`
of this module, so a real controller's proposals can be replayed through it.

currentReplicas is the Deployment's spec.replicas (`Observation.current`: `spec_replicas`, or
ready + starting when not given). Pods in the model: `ready` pods report the metric;
`starting` pods exist but are unready (Pending, or not Ready yet), so they are ignored except
on a scale-up, where they count with usage 0 (groupPods). Metrics:

- "cpu" (Resource, averageUtilization): a pod's CPU is assumed proportional to its busy slots,
  100 % of its request when all `max_concurrent` slots are busy (ASSUMPTION). util% =
  int(busy_avg × 100 / (ready × max_concurrent)) against the integer percent the HPA object
  holds (`units.percent`, as `planner export --format hpa` writes it). HPA cannot see the
  router queue.
- "concurrency" (Pods metric, AverageValue): per-pod in-flight (busy_avg + queued_avg) / ready
  in milli-units (integer division, as `GetMetricUsageRatio`) against the averageValue
  quantity target_utilization × max_concurrent in milli-units (`units.milli`).

`deployment.scale_down_delay_s` is azureml's; HPA uses `scale_down_stabilization_s` (300 s).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from planner.autoscalers.hpa_behavior import HpaHistory, normalize
from planner.autoscalers.units import as_decimal, milli, percent
from planner.errors import ScenarioError
from planner.scenario_params import HpaParams, HpaScalingPolicy

if TYPE_CHECKING:
    from planner.autoscalers.base import Observation
    from planner.scenario_types import Deployment

__all__ = [
    "HpaHistory",
    "HpaParams",
    "HpaPolicy",
    "HpaScalingPolicy",
    "normalize",
    "replica_count",
]  # HpaHistory and normalize live in hpa_behavior; re-exported here

_SELECT = ("Max", "Min", "Disabled")
_EPS = 1e-9  # seconds: samples this close to a window edge count as outside


def replica_count(
    *,
    current: int,
    ready: int,
    unready: int,
    missing: int,
    usage_ready_total: float,
    usage_per_pod_target: float,
    missing_scale_down_usage: float,
    tolerance: float,
    scale_up_tolerance: float | None = None,
    usage_of: Callable[[float, int], float] | None = None,
) -> int:
    """Per-metric proposal of `replica_calculator.go` (`GetResourceReplicas`), in usage units.

    Missing pods are filled only off target: with the target usage on a scale-down (ratio
    < 1), with 0 on a scale-up (ratio > 1). At a ratio of exactly 1.0 they stay out of the
    calculation, so the recomputed ratio is the same 1.0 and nothing changes.

    Args:
        current: spec.replicas.
        ready: pods with a metric sample (`usage_ready_total` is their sum).
        unready: pods ignored unless scaling up (then counted with usage 0).
        missing: pods without a sample: usage `missing_scale_down_usage` on a scale-down
            (the target, or 100 % of the request for CPU), 0 on a scale-up.
        usage_per_pod_target: the target per pod, same units as the usage.
        tolerance: the scale-down tolerance (and the scale-up one unless given).
        scale_up_tolerance: the scale-up tolerance (None: `tolerance`).
        usage_of: optional `f(total, n_pods) -> ratio` replacing total / (n × target) (the
            integer truncations of the real metric types).

    Returns:
        The proposal; `current` when within tolerance or when the adjustment flips direction.
        With no ready pod the metric is invalid: `current`.
    """
    if ready <= 0:
        return current
    down_tol = tolerance
    up_tol = tolerance if scale_up_tolerance is None else scale_up_tolerance

    def ratio_of(total: float, n: int) -> float:
        if usage_of is not None:
            return float(usage_of(total, n))
        return total / (n * usage_per_pod_target)

    def within(r: float) -> bool:  # Tolerances.isWithin
        return (1.0 - down_tol) <= r <= (1.0 + up_tol)

    ratio = ratio_of(usage_ready_total, ready)
    scale_up_with_unready = unready > 0 and ratio > 1.0
    if not scale_up_with_unready and missing == 0:
        return current if within(ratio) else math.ceil(ratio * ready)
    total, n = usage_ready_total, ready
    if missing > 0 and ratio < 1.0:
        n += missing
        total += missing * missing_scale_down_usage
    elif missing > 0 and ratio > 1.0:
        n += missing  # with usage 0
    if scale_up_with_unready:
        n += unready
    new_ratio = ratio_of(total, n)
    if within(new_ratio) or (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio):
        return current
    new = math.ceil(new_ratio * n)
    if (new_ratio < 1.0 and new > current) or (new_ratio > 1.0 and new < current):
        return current
    return new


class HpaPolicy:
    """Kubernetes HPA v2 with behavior (or legacy) normalisation; see the module docstring."""

    __slots__ = (
        "_history",
        "_max",
        "_max_concurrent",
        "_metric_history",
        "_min",
        "_params",
        "_target",
        "interval_s",
    )

    def __init__(
        self,
        *,
        min_replicas: int,
        max_replicas: int,
        target_utilization: float,
        max_concurrent: int,
        params: HpaParams | None = None,
    ) -> None:
        self._params = params if params is not None else HpaParams()
        if self._params.metric == "cpu" and percent(target_utilization) < 1:
            # The HPA API requires averageUtilization > 0; the export refuses it the same way.
            raise ScenarioError(
                "deployment.target_utilization must be >= 0.005 for an HPA cpu target "
                f"(1 % once rounded): {target_utilization!r}"
            )
        self.interval_s = float(self._params.sync_period_s)
        self._min = min_replicas
        self._max = max_replicas
        self._target = target_utilization
        self._max_concurrent = max_concurrent
        self._history = HpaHistory()
        # (t_s, ready, load) where load is busy_avg (cpu) or busy_avg + queued_avg.
        self._metric_history: deque[tuple[float, int, float]] = deque()

    @classmethod
    def from_deployment(cls, deployment: Deployment, max_concurrent: int) -> HpaPolicy:
        """Build from the scenario's deployment block (`planner.scenario_types.Deployment`)."""
        return cls(
            min_replicas=deployment.min_replicas,
            max_replicas=deployment.max_replicas,
            target_utilization=deployment.target_utilization,
            max_concurrent=max_concurrent,
            params=deployment.hpa,
        )

    @property
    def history(self) -> HpaHistory:
        """The stabilisation and scale-event history after the last sync."""
        return self._history

    @property
    def target_percent(self) -> int:
        """The CPU target as the HPA object holds it: an integer percent (`units.percent`)."""
        return percent(self._target)

    @property
    def target_milli(self) -> int:
        """The per-pod concurrency target as the HPA object holds it, in milli-units (>= 1)."""
        return max(1, milli(as_decimal(self._target) * self._max_concurrent))

    def proposal(self, obs: Observation) -> int:
        """The unnormalised per-metric replica count for this sync (`replica_calculator.go`)."""
        p = self._params
        current = obs.current
        load = obs.busy_avg if p.metric == "cpu" else obs.busy_avg + obs.queued_avg
        self._metric_history.append((obs.t_s, obs.ready, load))
        newest_usable_t = obs.t_s - p.metric_delay_s + _EPS
        history = self._metric_history
        while len(history) > 1 and history[1][0] <= newest_usable_t:
            history.popleft()
        if history[0][0] > newest_usable_t:
            return current  # no sample old enough yet: invalid metric, no change
        _, ready_then, load_then = history[0]
        if ready_then <= 0 or obs.ready <= 0:
            return current
        with_sample = min(obs.ready, ready_then)
        missing = obs.ready - with_sample
        # Pods that became ready after the sample have none (missing); the rest keep its average.
        total = load_then if with_sample == ready_then else load_then * with_sample / ready_then
        mc = self._max_concurrent
        down_tol, up_tol = p.tolerances
        if p.metric == "cpu":
            target_pct = self.target_percent

            def cpu_ratio(total_busy: float, n: int) -> float:
                return int(total_busy * 100 / (n * mc)) / target_pct

            return replica_count(
                current=current,
                ready=with_sample,
                unready=obs.starting,
                missing=missing,
                usage_ready_total=total,
                usage_per_pod_target=target_pct / 100 * mc,
                missing_scale_down_usage=max(100, target_pct) / 100 * mc,
                tolerance=down_tol,
                scale_up_tolerance=up_tol,
                usage_of=cpu_ratio,
            )
        target_milli = self.target_milli

        def pods_ratio(total_load: float, n: int) -> float:
            return (int(total_load * 1000) // n) / target_milli

        return replica_count(
            current=current,
            ready=with_sample,
            unready=obs.starting,
            missing=missing,
            usage_ready_total=total,
            usage_per_pod_target=target_milli / 1000,
            missing_scale_down_usage=target_milli / 1000,
            tolerance=down_tol,
            scale_up_tolerance=up_tol,
            usage_of=pods_ratio,
        )

    def normalize(self, proposal: int, current: int, t_s: float) -> int:
        """Normalise a given proposal at `t_s` (module `normalize`), keeping the history.

        decide() calls it with its own proposal; a replay calls it with a real controller's
        proposals (the per-metric counts in its events or status), in time order.
        """
        desired, self._history = normalize(
            self._params,
            self._history,
            proposal=proposal,
            current=current,
            t_s=t_s,
            min_replicas=self._min,
            max_replicas=self._max,
        )
        return desired

    def decide(self, obs: Observation) -> int:
        """Desired total replicas after this sync (horizontal.go `reconcileAutoscaler`)."""
        return self.normalize(self.proposal(obs), obs.current, obs.t_s)
