"""How fast a sudden step in traffic fills a fixed set of warm replicas (a fluid view).

`spike_headroom` answers "how much extra traffic do these replicas absorb, and how long after
a step from rps to peak_rps do the first 503s come?" before any autoscaler reacts. It is a
deterministic (fluid) approximation: Poisson noise moves the first 503 earlier or later.
Notation as in `planner.formulas`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from planner.formulas import _rates

__all__ = ["SpikeHeadroom", "spike_headroom"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SpikeHeadroom:
    """How much sudden extra traffic a fixed set of warm replicas absorbs (fluid view).

    Attributes:
        capacity_rps: replicas × max_concurrent / request_time_s.
        spike_absorbed: capacity_rps / rps − 1: a rise this large builds no lasting queue.
        peak_rps: the step's rate, None when no step was given.
        seconds_to_full: about how long after the step every slot is busy (None: never).
        seconds_to_first_503: about how long after the step the first 503s come (None: never).
    """

    capacity_rps: float
    spike_absorbed: float
    peak_rps: float | None
    seconds_to_full: float | None
    seconds_to_first_503: float | None


def _integrated_survival_s(t_s: float, request_time_s: float, scv: float) -> float:
    """∫_0^t P(S > u) du: T(1 − e^(−t/T)) exponential, min(t, T) constant, gamma otherwise."""
    if scv == 0:
        return min(t_s, request_time_s)
    if scv == 1:
        return -request_time_s * math.expm1(-t_s / request_time_s)
    from scipy.special import gammainc, gammaincc

    shape = 1.0 / scv
    x = t_s * shape / request_time_s  # E[min(S, t)] = t P(S > t) + T P(shape + 1, t/scale)
    return t_s * float(gammaincc(shape, x)) + request_time_s * float(gammainc(shape + 1, x))


def spike_headroom(
    rps: float,
    request_time_s: float,
    replicas: int,
    *,
    max_concurrent: int = 1,
    max_wait_s: float = 0.5,
    peak_rps: float | None = None,
    scv: float = 1.0,
) -> SpikeHeadroom:
    """Fluid view of a step from rps to peak_rps on a fixed, warm set of replicas.

    Two phases, both deterministic (fluid) approximations, so the times are "about", not
    bounds: Poisson noise moves the first 503 earlier or later.

    1. The idle slots fill. Before the step about a = rps × T slots are busy (c = slots). After
       it, requests start at peak_rps; those in service before the step still finish at rps,
       so the busy count is n(t) = a + (peak_rps − rps)·∫_0^t P(S > u) du. For exponential
       request times n(t) = peak·T − (peak·T − a)·e^(−t/T), full (n = c) at
            t_full = T · ln((peak·T − a) / (peak·T − c));
       for constant ones n grows linearly, t_full = (c − a) / (peak_rps − rps) (when <= T).
       A peak with peak·T <= c never fills the slots: no 503s (None). A rate with rps·T >= c
       is overloaded before the step: both times are 0.
    2. The queue builds. With every slot busy, requests complete at d = c/T per second
       (exponential; a gamma is treated alike), the queue grows at peak − d, and the newest
       request waits queue/d: it passes max_wait_s after max_wait_s·d/(peak − d) more seconds.
       For constant request times the completions follow the starts T earlier (the old rate
       rps until T, then a periodic pattern): see `_constant_first_503_s`.

    For 20 → 60 rps on 286 replicas of 10 s requests: 10·ln(400/314) = 2.42 s to fill, then
    0.5·28.6/31.4 = 0.46 s: the first 503s about 2.9 s after the step.
    """
    servers = replicas * max_concurrent
    _rates(rps, request_time_s, servers)
    if math.isnan(max_wait_s) or max_wait_s < 0:
        raise ValueError(f"max_wait_s must be >= 0: {max_wait_s}")
    if not (math.isfinite(scv) and scv >= 0):
        raise ValueError(f"scv must be finite and >= 0: {scv}")
    capacity = servers / request_time_s
    full: float | None = None
    first: float | None = None
    if peak_rps is not None:
        if not (math.isfinite(peak_rps) and peak_rps > 0):
            raise ValueError(f"peak_rps must be finite and > 0: {peak_rps}")
        if peak_rps > capacity and peak_rps > rps:
            full, first = _spike_times(rps, peak_rps, request_time_s, servers, max_wait_s, scv)
    return SpikeHeadroom(
        capacity_rps=capacity,
        spike_absorbed=capacity / rps - 1,
        peak_rps=peak_rps,
        seconds_to_full=full,
        seconds_to_first_503=first,
    )


def _spike_times(
    rps: float, peak_rps: float, request_time_s: float, servers: int, max_wait_s: float, scv: float
) -> tuple[float, float]:
    """(t_full, t_first_503) of `spike_headroom`, for peak_rps > capacity and peak_rps > rps."""
    if rps * request_time_s >= servers:  # overloaded before the step: 503s already (fluid)
        return 0.0, 0.0
    busy = rps * request_time_s
    need_s = (servers - busy) / (peak_rps - rps)  # ∫_0^t_full P(S > u) du, < T here
    if scv == 1:
        full = request_time_s * math.log(
            (peak_rps * request_time_s - busy) / (peak_rps * request_time_s - servers)
        )
    elif scv == 0:
        full = need_s
    else:  # bisection on the increasing ∫_0^t P(S > u) du, which tends to T
        lo, hi = 0.0, request_time_s
        while _integrated_survival_s(hi, request_time_s, scv) < need_s:
            hi *= 2
        for _ in range(100):
            mid = (lo + hi) / 2
            lo, hi = (
                (mid, hi)
                if _integrated_survival_s(mid, request_time_s, scv) < need_s
                else (lo, mid)
            )
        full = hi
    if scv == 0:
        return full, _constant_first_503_s(rps, peak_rps, request_time_s, full, max_wait_s)
    done_rps = servers / request_time_s
    return full, full + max_wait_s * done_rps / (peak_rps - done_rps)


def _constant_first_503_s(
    rps: float, peak_rps: float, request_time_s: float, full_s: float, max_wait_s: float
) -> float:
    """First 503 of the fluid model with constant request times T, slots full from t_f on.

    Completions at time u are the starts at u − T: at the old rate rps in [0, T); afterwards
    at peak_rps for the first t_f of each period T (the starts that filled the idle slots)
    and rps for the rest (starts that replaced completions), so the completion rate d(u) is
    periodic. FIFO: the request arriving at t starts once the completions since t_f reach
    the arrivals since t_f, D(t + w) − D(t_f) = peak·(t − t_f); the first 503 is the t with
    w = max_wait_s, found by bisection (the left side falls with t, as d <= peak).
    """
    period, t_f = request_time_s, full_s
    per_period = peak_rps * t_f + rps * (period - t_f)

    def done(u: float) -> float:  # D(u) = ∫_0^u d
        if u <= period:
            return rps * u
        k, r = divmod(u - period, period)
        return rps * period + k * per_period + peak_rps * min(r, t_f) + rps * max(0.0, r - t_f)

    def behind(t: float) -> float:  # > 0 while the request arriving at t waits < max_wait_s
        return done(t + max_wait_s) - done(t_f) - peak_rps * (t - t_f)

    lo, hi = t_f, t_f + max(max_wait_s, period)
    while behind(hi) > 0:
        lo, hi = hi, hi + 2 * (hi - t_f)
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if behind(mid) > 0 else (lo, mid)
    return hi
