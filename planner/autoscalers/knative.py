"""Knative Pod Autoscaler (KPA), concurrency metric.

Follows reference/autoscalers.md §3.3 (`pkg/autoscaler/scaling/autoscaler.go` `Scale`). Every
`tick_s` (2 s) the observed revision concurrency busy_avg + queued_avg (pods plus the
activator's queue) is recorded; the stable and panic values are the means of the samples in
the last `stable_window_s` and panic window (`WindowAverage`: the window total divided by the
number of buckets written, one bucket per tick here). Then, with
ready = max(1, ready pods) and per-pod target = max(0.01, max_concurrent × target_utilization):

    dspc = ceil(stable / target); dppc = ceil(panic / target)      # float maths, as in Go
    stable_pods, panic_pods = clamp(dspc | dppc, floor(ready / down_rate), ceil(up_rate × ready))
    over = dppc / ready >= panic_threshold
    enter/extend panic while over; leave after a stable window not over (maxPanicPods := 0)
    desired = stable_pods, or in panic max(stable_pods, panic_pods, maxPanicPods) (ratchet)
    desired = max(desired over the last scale_down_delay_s)            # if delay > 0

then clamped to deployment.min_replicas..max_replicas (Knative's min-scale/max-scale).

Scale to zero (min_replicas == 0) is a simplification of the KPA reconciler: desired 0 is
applied only after it has held for `scale_to_zero_grace_period_s` (30 s) and the policy has
watched a full stable window; until then the policy keeps 1. A stable average of 0 already
means no request for a whole stable window. Scale-from-zero is decided at the next tick (the
real activator pokes the autoscaler at once); the simulator must hold requests at zero
replicas (the activator's queue) for this to be meaningful. Not modelled: target burst
capacity (activator in path), activation scale, initial-scale, the sample-size estimate.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING, Any

from planner.scenario_params import KnativeParams

if TYPE_CHECKING:
    from planner.autoscalers.base import Observation

__all__ = ["KnativeParams", "KnativePolicy"]

_EPS = 1e-9  # seconds: samples this close to a window edge count as outside


class KnativePolicy:
    """Knative KPA decider with stable/panic windows; see the module docstring."""

    __slots__ = (
        "_delay_window",
        "_max",
        "_max_panic_pods",
        "_min",
        "_panic_time_s",
        "_params",
        "_samples",
        "_t_first_s",
        "_target",
        "_zero_since_s",
        "interval_s",
    )

    def __init__(
        self,
        *,
        min_replicas: int,
        max_replicas: int,
        target_utilization: float,
        max_concurrent: int,
        params: KnativeParams | None = None,
    ) -> None:
        self._params = params if params is not None else KnativeParams()
        self.interval_s = float(self._params.tick_s)
        self._min = min_replicas
        self._max = max_replicas
        self._target = max(0.01, max_concurrent * target_utilization)
        self._samples: deque[tuple[float, float]] = deque()
        self._delay_window: deque[tuple[float, int]] = deque()
        self._panic_time_s: float | None = None
        self._max_panic_pods = 0
        self._t_first_s: float | None = None
        self._zero_since_s: float | None = None

    @classmethod
    def from_deployment(cls, deployment: Any, max_concurrent: int) -> KnativePolicy:
        """Build from a `planner.scenario.Deployment` (duck-typed)."""
        return cls(
            min_replicas=deployment.min_replicas,
            max_replicas=deployment.max_replicas,
            target_utilization=deployment.target_utilization,
            max_concurrent=max_concurrent,
            params=deployment.knative,
        )

    @property
    def target(self) -> float:
        """Per-pod concurrency target: max(0.01, containerConcurrency × utilization)."""
        return self._target

    @property
    def in_panic(self) -> bool:
        """True while the decider is in panic mode."""
        return self._panic_time_s is not None

    def window_average(self, t_s: float, window_s: float) -> float:
        """Mean of the recorded samples newer than t_s − window_s (0 with none)."""
        cutoff = t_s - window_s + _EPS
        values = [v for ts, v in self._samples if ts > cutoff]
        return sum(values) / len(values) if values else 0.0

    def decide(self, obs: Observation) -> int:
        """Desired total replicas after this tick."""
        p = self._params
        t = obs.t_s
        if self._t_first_s is None:
            self._t_first_s = t
            if p.start_in_panic and obs.ready > 1:
                self._panic_time_s = t
                self._max_panic_pods = obs.ready
        self._samples.append((t, obs.busy_avg + obs.queued_avg))
        while self._samples and self._samples[0][0] <= t - p.stable_window_s + _EPS:
            self._samples.popleft()
        stable = self.window_average(t, p.stable_window_s)
        panic = self.window_average(t, p.panic_window_s)

        ready = float(max(1, obs.ready))
        max_up = math.ceil(p.max_scale_up_rate * ready)
        max_down = math.floor(ready / p.max_scale_down_rate)
        dspc = math.ceil(stable / self._target)
        dppc = math.ceil(panic / self._target)
        stable_pods = min(max(dspc, max_down), max_up)
        panic_pods = min(max(dppc, max_down), max_up)

        over = dppc / ready >= p.panic_threshold_percentage / 100.0
        if over:
            self._panic_time_s = t  # enter, or extend
        elif self._panic_time_s is not None and self._panic_time_s + p.stable_window_s < t:
            self._panic_time_s = None
            self._max_panic_pods = 0

        desired = stable_pods
        if self._panic_time_s is not None:
            desired = max(desired, panic_pods)
            self._max_panic_pods = max(self._max_panic_pods, desired)
            desired = self._max_panic_pods  # never scale down while panicking
        if p.scale_down_delay_s > 0:
            desired = self._delayed(t, desired)
        desired = max(self._min, min(self._max, desired))
        return self._scale_to_zero(t, desired)

    def _delayed(self, t: float, desired: int) -> int:
        """Max of the desired counts of the last scale_down_delay_s (monotonic deque)."""
        window = self._delay_window
        while window and window[-1][1] <= desired:
            window.pop()
        window.append((t, desired))
        while len(window) > 1 and window[0][0] <= t - self._params.scale_down_delay_s + _EPS:
            window.popleft()
        return window[0][1]

    def _scale_to_zero(self, t: float, desired: int) -> int:
        if desired > 0:
            self._zero_since_s = None
            return desired
        if self._zero_since_s is None:
            self._zero_since_s = t
        assert self._t_first_s is not None
        p = self._params
        grace_over = t - self._zero_since_s >= p.scale_to_zero_grace_period_s - _EPS
        watched = t - self._t_first_s >= p.stable_window_s - _EPS
        return 0 if grace_over and watched else 1
