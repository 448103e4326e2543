"""Kubernetes HorizontalPodAutoscaler (autoscaling/v2), one HPA with one metric.

Follows reference/autoscalers.md §2.2 (`replica_calculator.go`) and §2.3 (`horizontal.go`):
every `sync_period_s` the per-metric proposal is computed from the ready pods' metric (with
the unready/missing-pod adjustment), then normalised either with `behavior` (stabilisation
windows + rate-limit policies over the recorded scale events, the default here) or, with
`legacy=True`, the behavior-less rule (300 s max window, scale-up limit max(2 × current, 4)).

Pods in the model: `ready` pods report the metric; `starting` pods exist (they count in
spec.replicas) but are unready (Pending, or not Ready yet), so they are ignored except on a
scale-up, where they count with usage 0 (groupPods). Metrics:

- "cpu" (Resource, averageUtilization): a pod's CPU is assumed proportional to its busy slots,
  100 % of its request when all `max_concurrent` slots are busy (ASSUMPTION). util% =
  int(busy_avg × 100 / (ready × max_concurrent)) against round(target_utilization × 100).
  HPA cannot see the router queue.
- "concurrency" (Pods metric, AverageValue): per-pod in-flight (busy_avg + queued_avg) / ready
  in milli-units (integer division, as `GetMetricUsageRatio`) against
  target_utilization × max_concurrent.

`deployment.scale_down_delay_s` is azureml's; HPA uses `scale_down_stabilization_s` (300 s).
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING, Any

from planner.scenario_params import HpaParams, HpaScalingPolicy

if TYPE_CHECKING:
    from planner.autoscalers.base import Observation

__all__ = ["HpaParams", "HpaPolicy", "HpaScalingPolicy", "replica_count"]

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
    usage_of: Any = None,
) -> int:
    """Per-metric proposal of `replica_calculator.go` (reference §2.2), in usage units.

    Args:
        current: spec.replicas.
        ready: pods with a metric sample (`usage_ready_total` is their sum).
        unready: pods ignored unless scaling up (then counted with usage 0).
        missing: pods without a sample: usage `missing_scale_down_usage` on a scale-down
            (the target, or 100 % of the request for CPU), 0 on a scale-up.
        usage_per_pod_target: the target per pod, same units as the usage.
        usage_of: optional `f(total, n_pods) -> ratio` replacing total / (n × target) (the
            integer truncations of the real metric types).

    Returns:
        The proposal; `current` when within tolerance or when the adjustment flips direction.
        With no ready pod the metric is invalid: `current`.
    """
    if ready <= 0:
        return current

    def ratio_of(total: float, n: int) -> float:
        if usage_of is not None:
            return float(usage_of(total, n))
        return total / (n * usage_per_pod_target)

    def within(r: float) -> bool:
        return (1.0 - tolerance) <= r <= (1.0 + tolerance)

    ratio = ratio_of(usage_ready_total, ready)
    scale_up_with_unready = unready > 0 and ratio > 1.0
    if not scale_up_with_unready and missing == 0:
        return current if within(ratio) else math.ceil(ratio * ready)
    total, n = usage_ready_total, ready
    if missing > 0:
        n += missing
        if ratio < 1.0:
            total += missing * missing_scale_down_usage
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
        "_down_events",
        "_max",
        "_max_concurrent",
        "_metric_history",
        "_min",
        "_params",
        "_recommendations",
        "_started",
        "_target",
        "_up_events",
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
        self.interval_s = float(self._params.sync_period_s)
        self._min = min_replicas
        self._max = max_replicas
        self._target = target_utilization
        self._max_concurrent = max_concurrent
        self._recommendations: deque[tuple[float, int]] = deque()
        self._started = False
        self._up_events: deque[tuple[float, int]] = deque()
        self._down_events: deque[tuple[float, int]] = deque()
        # (t_s, ready, load) where load is busy_avg (cpu) or busy_avg + queued_avg.
        self._metric_history: deque[tuple[float, int, float]] = deque()

    @classmethod
    def from_deployment(cls, deployment: Any, max_concurrent: int) -> HpaPolicy:
        """Build from a `planner.scenario.Deployment` (duck-typed)."""
        return cls(
            min_replicas=deployment.min_replicas,
            max_replicas=deployment.max_replicas,
            target_utilization=deployment.target_utilization,
            max_concurrent=max_concurrent,
            params=deployment.hpa,
        )

    def proposal(self, obs: Observation) -> int:
        """The unnormalised per-metric replica count for this sync (reference §2.2)."""
        p = self._params
        current = obs.ready + obs.starting
        load = obs.busy_avg if p.metric == "cpu" else obs.busy_avg + obs.queued_avg
        self._metric_history.append((obs.t_s, obs.ready, load))
        newest_usable_t = obs.t_s - p.metric_delay_s + _EPS
        history = self._metric_history
        while len(history) > 1 and history[1][0] <= newest_usable_t:
            history.popleft()
        if history[0][0] > newest_usable_t:
            return current  # no sample old enough yet: invalid metric, no change
        sample = history[0]
        _, ready_then, load_then = sample
        if ready_then <= 0 or obs.ready <= 0:
            return current
        with_sample = min(obs.ready, ready_then)
        missing = obs.ready - with_sample
        # Pods that became ready after the sample have none (missing); the rest keep its average.
        total = load_then if with_sample == ready_then else load_then * with_sample / ready_then
        mc = self._max_concurrent
        if p.metric == "cpu":
            target_pct = round(self._target * 100)

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
                tolerance=p.tolerance,
                usage_of=cpu_ratio,
            )
        target_milli = max(1, round(self._target * mc * 1000))

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
            tolerance=p.tolerance,
            usage_of=pods_ratio,
        )

    def decide(self, obs: Observation) -> int:
        """Desired total replicas after this sync (controller loop, reference §2.3)."""
        current = obs.ready + obs.starting
        if not self._started:
            # horizontal.go recordInitialRecommendation: the first pass records the current
            # count, so the scale-down stabilization window holds it for its first 300 s.
            self._started = True
            self._recommendations.append((obs.t_s, current))
        if current > self._max:
            desired = self._max
        elif current < self._min:
            desired = self._min
        else:
            proposal = self.proposal(obs)
            if self._params.legacy:
                desired = self._normalize_legacy(obs.t_s, current, proposal)
            else:
                desired = self._normalize_behaviors(obs.t_s, current, proposal)
        if desired != current and not self._params.legacy:
            events = self._up_events if desired > current else self._down_events
            events.append((obs.t_s, abs(desired - current)))
        return max(self._min, min(self._max, desired))

    def _normalize_legacy(self, t: float, current: int, proposal: int) -> int:
        window_s = self._params.scale_down_stabilization_s
        recs = self._recommendations
        while recs and recs[0][0] <= t - window_s + _EPS:
            recs.popleft()
        stabilized = max([proposal, *(r for _, r in recs)])
        recs.append((t, proposal))
        scale_up_limit = max(2 * current, 4)
        return max(self._min, min(stabilized, min(self._max, scale_up_limit)))

    def _normalize_behaviors(self, t: float, current: int, proposal: int) -> int:
        p = self._params
        up_cut = t - p.scale_up_stabilization_s + _EPS
        down_cut = t - p.scale_down_stabilization_s + _EPS
        recs = self._recommendations
        up_rec = down_rec = proposal
        for ts, r in recs:
            if ts > up_cut:
                up_rec = min(up_rec, r)
            if ts > down_cut:
                down_rec = max(down_rec, r)
        oldest_needed = min(up_cut, down_cut)
        while recs and recs[0][0] <= oldest_needed:
            recs.popleft()
        recs.append((t, proposal))
        rec = min(max(current, up_rec), down_rec)
        if rec > current:
            limit = max(current, self._scale_limit(t, current, up=True))
            return min(rec, min(self._max, limit))
        if rec < current:
            limit = min(current, self._scale_limit(t, current, up=False))
            return max(rec, max(self._min, limit))
        return rec

    def _scale_limit(self, t: float, current: int, *, up: bool) -> int:
        """calculateScaleUpLimitWithScalingRules / calculateScaleDownLimitWithBehaviors."""
        p = self._params
        select = p.scale_up_select_policy if up else p.scale_down_select_policy
        policies = p.scale_up_policies if up else p.scale_down_policies
        if select == "Disabled" or not policies:
            return current
        longest = max(pol.period_s for pol in (*p.scale_up_policies, *p.scale_down_policies))
        for events in (self._up_events, self._down_events):
            while events and events[0][0] <= t - longest + _EPS:
                events.popleft()
        proposals = []
        for pol in policies:
            cutoff = t - pol.period_s + _EPS
            added = sum(n for ts, n in self._up_events if ts > cutoff)
            removed = sum(n for ts, n in self._down_events if ts > cutoff)
            start = current - added + removed
            if pol.kind == "Pods":
                proposals.append(start + pol.value if up else start - pol.value)
            elif up:
                # NOTE: float maths as in Go: 10 × (1 + 10/100) = 11.000000000000002 → 12.
                proposals.append(math.ceil(start * (1 + pol.value / 100)))
            else:
                proposals.append(int(start * (1 - pol.value / 100)))
        # Max selects the biggest change: the highest limit up, the lowest limit down.
        if up:
            return max(proposals) if select == "Max" else min(proposals)
        return min(proposals) if select == "Max" else max(proposals)
