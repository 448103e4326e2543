"""azureml-fe autoscaler (Azure ML on AKS, v1 web services and v2 Kubernetes online endpoints).

Documented rules (Microsoft Learn, "Deploy to Azure Kubernetes Service" and "azureml-fe
inference routing"): every `refresh_s` (SDK `autoscale_refresh_seconds`, default 1 s) the
router computes

    utilization = (busy + queued) / (ready × max_concurrent)     (azureml-fe routing doc)

and adds replicas when it exceeds `target_utilization` ("eager and fast, ~1 s"), removes them
when below ("conservative, ~1 min" in older docs, "~20 × refresh interval" in 2024 docs).
Everything else is undocumented and is a named field of `AzureMlParams`:

    desired = ceil(load / (max_concurrent × target))                 # proportional, HPA-like
    up:     if desired > ready + starting: set desired (or +1 in "step" mode)
    down:   window_max = max(desired over the last scale_down_delay_s)
            if window_max < ready + starting and the policy has watched a whole window:
                set window_max (or at most `scale_down_step` fewer, once per delay)

`deployment.scale_down_delay_s` (scenario default 60 s, the older docs' "~1 minute") is this
policy's stabilisation window; the HPA and Knative policies have their own fields.
"""

from __future__ import annotations

import math
from collections import deque
from fractions import Fraction
from typing import TYPE_CHECKING

from planner.scenario_params import AzureMlParams

if TYPE_CHECKING:
    from planner.autoscalers.base import Observation
    from planner.scenario_types import Deployment

__all__ = ["AzureMlParams", "AzureMlPolicy", "ceil_ratio"]

_EPS = 1e-9  # seconds: samples this close to a window edge count as outside


_EXACT_INT = 2**53  # integral floats below this have an exact decimal repr ("21.0")
_FAST_TOL = 1e-9  # relative: a float ratio this far from an integer has the exact ceil


def _decimal(x: float) -> Fraction | int:
    """The exact value of `x` at its shortest decimal repr: `Fraction(str(x))`, int when whole.

    An int, or an integral float below 2**53 (whose repr shows every digit), is its own value;
    only the other floats pay for parsing their repr.
    """
    if type(x) is int:
        return x
    if x.is_integer() and -_EXACT_INT < x < _EXACT_INT:
        return int(x)
    return Fraction(str(x))


def _ceil_div(num: Fraction | int, den_p: int, den_q: int) -> int:
    """ceil(num / (den_p / den_q)), exactly, for den_p > 0 (a Fraction's lowest terms)."""
    if type(num) is int:
        return -((-num * den_q) // den_p)
    return math.ceil(num * den_q / den_p)


def ceil_ratio(numerator: float, denominator: float) -> int:
    """Return ceil(numerator / denominator) without binary floating-point error.

    Both numbers are taken at their shortest decimal repr (`Fraction(str(x))`), so
    `ceil_ratio(21, 0.7)` is 30, where `math.ceil(21 / 0.7)` gives 31.
    """
    if denominator <= 0:
        raise ValueError(f"denominator must be > 0: {denominator}")
    den = _decimal(denominator)
    if type(den) is int:
        return _ceil_div(_decimal(numerator), den, 1)
    return _ceil_div(_decimal(numerator), den.numerator, den.denominator)


class AzureMlPolicy:
    """azureml-fe: eager proportional scale-up, windowed conservative scale-down."""

    __slots__ = (
        "_down_window_s",
        "_last_down_t_s",
        "_max",
        "_max_concurrent",
        "_min",
        "_params",
        "_per_p",
        "_per_q",
        "_per_replica",
        "_t_first_s",
        "_target",
        "_window",
        "interval_s",
    )

    def __init__(
        self,
        *,
        min_replicas: int,
        max_replicas: int,
        target_utilization: float,
        max_concurrent: int,
        refresh_s: float = 1.0,
        scale_down_delay_s: float = 60.0,
        params: AzureMlParams | None = None,
    ) -> None:
        self.interval_s = float(refresh_s)
        self._min = min_replicas
        self._max = max_replicas
        self._target = target_utilization
        self._max_concurrent = max_concurrent
        # NOTE: exact product of the decimal inputs, so 21 in flight at 0.7 → 30, not 31.
        self._per_replica = Fraction(max_concurrent) * Fraction(str(target_utilization))
        self._per_p = self._per_replica.numerator
        self._per_q = self._per_replica.denominator
        self._down_window_s = float(scale_down_delay_s)
        self._params = params if params is not None else AzureMlParams()
        # Monotonic deque of (t_s, desired): values strictly decreasing from left to right,
        # so the window maximum is the leftmost entry (amortised O(1) per step).
        self._window: deque[tuple[float, int]] = deque()
        self._t_first_s: float | None = None
        self._last_down_t_s: float | None = None

    @classmethod
    def from_deployment(cls, deployment: Deployment, max_concurrent: int) -> AzureMlPolicy:
        """Build from the scenario's deployment block (`planner.scenario_types.Deployment`)."""
        return cls(
            min_replicas=deployment.min_replicas,
            max_replicas=deployment.max_replicas,
            target_utilization=deployment.target_utilization,
            max_concurrent=max_concurrent,
            refresh_s=deployment.refresh_s,
            scale_down_delay_s=deployment.scale_down_delay_s,
            params=deployment.azureml,
        )

    def load(self, obs: Observation) -> float:
        """Requests the router counts toward utilization: in flight (+ queued)."""
        p = self._params
        busy: float = obs.busy_avg if p.use_time_average else obs.busy
        queued: float = obs.queued_avg if p.use_time_average else obs.queued
        return busy + queued if p.utilization_includes_queued else busy

    def utilization(self, obs: Observation) -> float:
        """(busy + queued) / (ready × max_concurrent); inf with load and no ready replica."""
        load = self.load(obs)
        if obs.ready == 0:
            return math.inf if load > 0 else 0.0
        return load / (obs.ready * self._max_concurrent)

    def proportional_desired(self, load: float) -> int:
        """ceil(load / (max_concurrent × target)), computed exactly, clamped to min..max.

        The load is read at its shortest decimal repr, as `Fraction(str(load))`. An integral
        load (the in-flight and queued counts) takes integer arithmetic. A fractional one (a
        time average) takes a float quotient when it is further than `_FAST_TOL` (relative)
        from an integer: the float's error (the repr's half ulp and two roundings, below
        1e-15 relative) cannot carry it across one, so its ceil is the exact one; near an
        integer the quotient is computed with `Fraction`.
        """
        p, q = self._per_p, self._per_q
        if type(load) is int or (load.is_integer() and -_EXACT_INT < load < _EXACT_INT):
            raw = -((-int(load) * q) // p)
        else:
            exact_pq = p < _EXACT_INT and q < _EXACT_INT  # as floats, p and q are exact
            r = load * q / p
            raw = math.ceil(r) if math.isfinite(r) else 0
            tol = _FAST_TOL * max(1.0, abs(r))
            if not (exact_pq and raw - r > tol and r - (raw - 1) > tol):
                raw = math.ceil(Fraction(str(load)) / self._per_replica)
        return max(self._min, min(self._max, raw))

    def decide(self, obs: Observation) -> int:
        """Desired total replicas (ready + starting) after this refresh."""
        t = obs.t_s
        p = self._params
        if self._t_first_s is None:
            self._t_first_s = t
        current = obs.ready + obs.starting
        desired = self.proportional_desired(self.load(obs))
        self._record(t, desired)

        # Scale-up: compare against the capacity the router believes it has.
        have = current if p.count_starting_as_capacity else obs.ready
        if desired > have:
            new = current + 1 if p.scale_up_mode == "step" else current + desired - have
            return self._clamp(new)

        window_max = self._window[0][1]
        watched_s = t - self._t_first_s
        if window_max < current and watched_s >= self._down_window_s - _EPS:
            if p.scale_down_step is None:
                self._last_down_t_s = t
                return self._clamp(window_max)
            if self._last_down_t_s is None or t - self._last_down_t_s >= self._down_window_s - _EPS:
                self._last_down_t_s = t
                return self._clamp(max(window_max, current - p.scale_down_step))
        return self._clamp(current)

    def _record(self, t: float, desired: int) -> None:
        window = self._window
        while window and window[-1][1] <= desired:
            window.pop()
        window.append((t, desired))
        cutoff = t - self._down_window_s + _EPS
        # Keep samples strictly newer than the cutoff; the newest one always stays.
        while len(window) > 1 and window[0][0] <= cutoff:
            window.popleft()

    def _clamp(self, n: int) -> int:
        return max(self._min, min(self._max, n))
