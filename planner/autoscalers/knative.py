"""Knative Pod Autoscaler (KPA), concurrency metric.

Follows knative/serving `pkg/autoscaler/scaling/autoscaler.go` (`Scale`). Every `tick_s` (2 s)
the observed revision concurrency busy_avg + queued_avg (pods plus the activator's queue) is
recorded; the stable and panic values are the means of the samples in the last
`stable_window_s` and panic window (`WindowAverage`: the window total divided by the number
of buckets written, one bucket per tick here). The panic window is the stable window ×
percentage rounded to whole seconds, at least 1 s (`resources.MakeMetric`). Then, with
ready = max(1, ready pods) and per-pod target = max(0.01, max_concurrent × target_utilization):

    dspc = ceil(stable / target); dppc = ceil(panic / target)      # float maths, as in Go
    stable_pods, panic_pods = clamp(dspc | dppc, floor(ready / down_rate), ceil(up_rate × ready))
    over = dppc / ready >= panic_threshold
    enter/extend panic while over; leave after a stable window not over (maxPanicPods := 0)
    desired = stable_pods, or in panic max(stable_pods, panic_pods, maxPanicPods) (ratchet)
    desired = max(desired over the last scale_down_delay_s)            # if delay > 0

then clamped to deployment.min_replicas..max_replicas (Knative's min-scale/max-scale).

Scale to zero (min_replicas == 0) follows `pkg/reconciler/autoscaling/kpa/scaler.go`
(`handleScaleToZero`) and `kpa.go` (`computeActiveCondition`). A desired 0 from a PA that has
been Active for less than a stable window scales to 1 and waits. Once Active for a stable
window, the PA is marked Inactive and nothing is applied: the revision keeps all its pods.
It goes to 0 when it has been Inactive for max(grace period, pod retention), or earlier when
the activator has been in the request path (SKS proxy mode) for the grace period and the
pod retention is over. The activator is in the path unless desired > 0 and the excess burst
capacity floor(ready × max_concurrent − target_burst_capacity − panic) is >= 0; with the
default 211 that is nearly always, so a revision usually reaches 0 right after it is marked
Inactive. A desired 0 while pods are still starting after a scale from zero (Activating)
changes nothing. Traffic while Inactive marks it Active again. Scale-from-zero is decided at
the next tick (the real activator pokes the autoscaler at once); the simulator must hold
requests at zero replicas (the activator's queue) for this to be meaningful. Not modelled:
activation scale, initial-scale, the sample-size estimate, the activation timeout.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING

from planner.scenario_params import KnativeParams, panic_window_s

if TYPE_CHECKING:
    from planner.autoscalers.base import Observation
    from planner.scenario_types import Deployment

__all__ = ["KnativeParams", "KnativePolicy", "panic_window_s"]

_EPS = 1e-9  # seconds: samples this close to a window edge count as outside


class KnativePolicy:
    """Knative KPA decider with stable/panic windows; see the module docstring."""

    __slots__ = (
        "_delay_window",
        "_max",
        "_max_concurrent",
        "_max_panic_pods",
        "_min",
        "_pa_since_s",
        "_pa_state",
        "_panic_time_s",
        "_params",
        "_proxy_since_s",
        "_samples",
        "_t_first_s",
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
        params: KnativeParams | None = None,
    ) -> None:
        self._params = params if params is not None else KnativeParams()
        self.interval_s = float(self._params.tick_s)
        self._min = min_replicas
        self._max = max_replicas
        self._max_concurrent = max_concurrent
        self._target = max(0.01, max_concurrent * target_utilization)
        self._samples: deque[tuple[float, float]] = deque()
        self._delay_window: deque[tuple[float, int]] = deque()
        self._panic_time_s: float | None = None
        self._max_panic_pods = 0
        self._t_first_s: float | None = None
        # The PodAutoscaler's Active condition (kpa.go computeActiveCondition): "active",
        # "activating" or "inactive", and when it last changed; None before the first tick.
        self._pa_state: str | None = None
        self._pa_since_s = 0.0
        # When the activator entered the request path (SKS proxy mode); None while serving.
        self._proxy_since_s: float | None = None

    @classmethod
    def from_deployment(cls, deployment: Deployment, max_concurrent: int) -> KnativePolicy:
        """Build from the scenario's deployment block (`planner.scenario_types.Deployment`)."""
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

    @property
    def pa_state(self) -> str | None:
        """The PodAutoscaler's Active condition: "active", "activating", "inactive"."""
        return self._pa_state

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
            # The revision's PA as the policy finds it: Active with a ready pod, Activating
            # with pods only starting, Inactive (scaled to zero) with none.
            if obs.ready >= 1:
                self._pa_state = "active"
            else:
                self._pa_state = "activating" if obs.current > 0 else "inactive"
            self._pa_since_s = t
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
        want, apply = self._scale_to_zero(t, desired)
        self._track_proxy(t, want, obs.ready, panic)
        self._track_active(t, want, obs.ready)
        return want if apply else obs.current

    def _delayed(self, t: float, desired: int) -> int:
        """Max of the desired counts of the last scale_down_delay_s (monotonic deque)."""
        window = self._delay_window
        while window and window[-1][1] <= desired:
            window.pop()
        window.append((t, desired))
        while len(window) > 1 and window[0][0] <= t - self._params.scale_down_delay_s + _EPS:
            window.popleft()
        return window[0][1]

    def _scale_to_zero(self, t: float, desired: int) -> tuple[int, bool]:
        """scaler.go handleScaleToZero: (want, apply it?). `want` -1 means unknown."""
        if desired != 0:
            return desired, True
        p = self._params
        state, since = self._pa_state, self._pa_since_s
        if state == "activating":
            return -1, False  # pods still starting after a scale from zero: wait for them
        if state == "active":
            if t - since >= p.stable_window_s - _EPS:
                return 0, False  # mark Inactive; the revision keeps its pods for now
            return 1, True  # scale down to at most 1 for the rest of the stable window
        inactive_for = t - since
        retention = p.scale_to_zero_pod_retention_period_s
        if inactive_for >= max(p.scale_to_zero_grace_period_s, retention) - _EPS:
            return 0, True
        if retention > 0 and inactive_for < retention - _EPS:
            return 0, False
        proxy = self._proxy_since_s
        if proxy is not None and t - proxy >= p.scale_to_zero_grace_period_s - _EPS:
            return 0, True  # the activator has been in the path for the grace period
        return 0, False

    def _track_proxy(self, t: float, want: int, ready: int, panic: float) -> None:
        """kpa.go: the activator leaves the path only if want > 0 and burst capacity >= 0."""
        tbc = self._params.target_burst_capacity
        if tbc == -1:
            ebc = -1.0
        elif tbc == 0:
            ebc = 0.0
        else:
            ebc = math.floor(ready * self._max_concurrent - tbc - panic)
        if want > 0 and ebc >= 0:
            self._proxy_since_s = None
        elif self._proxy_since_s is None:
            self._proxy_since_s = t

    def _track_active(self, t: float, want: int, ready: int) -> None:
        """kpa.go computeActiveCondition, with an activation threshold of 1 ready pod."""
        state = self._pa_state
        if want == 0:
            new = "inactive"
        elif ready < 1:
            new = "activating" if want > 0 or state != "inactive" else "inactive"
        else:
            new = "active" if want > 0 or state != "inactive" else "inactive"
        if new != state:
            self._pa_state = new
            self._pa_since_s = t
