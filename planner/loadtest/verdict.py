"""The two-sided verdict of one metric: a measurement against its paired prediction.

A load test sends the simulator's own arrival sample for one seed (`loadtests.curve`), so the
simulated replication of that seed saw the very arrivals that were sent: it is the *paired*
prediction. What still separates the measurement from it:

- the rest of the randomness (service times, start times, the order of events): taken from the
  seeds' own spread, a Student-t prediction interval of one replication from the OTHER seeds'
  values of the metric, t(0.975, n−1)·s·√(1 + 1/n), centred on the paired value;
- the measurement's own noise: its 95 % interval (Clopper–Pearson for the 503 rate, order
  statistics for a latency quantile); the measurement agrees when that interval overlaps the
  band, so the band is widened by it on each side;
- what the model leaves out, ONE stated allowance per kind of metric:
  - latency: the deployment's measured per-request overhead (`overhead_s`: the HTTP hops
    and the router's own work, which a simulated request does not pay);
  - 503 rate: a fraction of the SLO (`Tolerance.rate_503_slo_fraction` × slo.max_rate_503), so
    the allowance is small where the objective is strict;
  - peak replicas: the /stats polling resolution (`Tolerance.replicas`, one replica: a poll
    every second can miss a replica that lived less than a second).

The band is two-sided: a measurement too far below the prediction disagrees as much as one too
far above (a service faster than stated is a wrong model too).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from planner.stats import t_quantile_975

if TYPE_CHECKING:
    from planner.loadtest.compare import Measurement
    from planner.scenario import Scenario

__all__ = [
    "Band",
    "Overhead",
    "Tolerance",
    "little_mean_wait_s",
    "measured_overhead",
    "overhead_s",
    "paired_band",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Tolerance:
    """The allowances that are not measured: the 503 rate's (relative to the SLO), replicas'."""

    rate_503_slo_fraction: float = 0.5
    replicas: float = 1.0

    def __post_init__(self) -> None:
        for name in ("rate_503_slo_fraction", "replicas"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"tolerance {name} must be >= 0: {value!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Band:
    """The paired prediction, the seeds' spread around it and the allowance, and the band.

    `band` is where the measured value must lie: paired ± (spread + allowance), widened on each
    side by the measurement's own 95 % interval, and never below `floor`.
    """

    paired: float
    spread: float
    allowance: float
    band: tuple[float, float]
    seeds: int


def paired_band(
    per_rep: np.ndarray,
    reps: np.ndarray,
    seed: int | None,
    *,
    measured: tuple[float, float, float],
    allowance: float,
    floor: float = 0.0,
) -> Band:
    """The band of one metric around the replication of `seed` (see the module text).

    Args:
        per_rep: the metric in each simulated replication.
        reps: the seed of each replication (same order).
        seed: the seed whose arrivals were sent; None or absent: the mean of all seeds is the
            prediction and all of them give the spread.
        measured: (value, lower, upper) of the measurement's own 95 % interval.
        allowance: the stated allowance for what the model leaves out (>= 0).
        floor: the lowest value the metric can take.
    """
    values = np.asarray(per_rep, dtype=np.float64)
    same = np.asarray(reps) == seed if seed is not None else np.zeros(values.size, dtype=bool)
    if same.any():
        paired = float(values[same][0])
        others = values[~same]
    else:
        finite = values[np.isfinite(values)]
        paired = float(finite.mean()) if finite.size else math.nan
        others = values
    others = others[np.isfinite(others)]
    n = others.size
    if n >= 2:
        spread = t_quantile_975(n - 1) * float(others.std(ddof=1)) * math.sqrt(1.0 + 1.0 / n)
    else:  # one other seed says nothing about the spread; the caller asks for >= 3 seeds
        spread = 0.0
    x, lo, hi = measured
    half = spread + max(allowance, 0.0)
    below = hi - x if math.isfinite(hi - x) else math.inf
    above = x - lo if math.isfinite(x - lo) else math.inf
    band = (max(floor, paired - half - below), paired + half + above)
    return Band(paired=paired, spread=spread, allowance=allowance, band=band, seeds=n)


def little_mean_wait_s(
    mean_queued: float, window_s: float, n_served: int, n_expired: int, max_wait_s: float
) -> float:
    """Mean queue wait of the served requests, by Little's law on the router's queue.

    The time-average queue length over the window (`mean_queued`, from the /stats polls) times
    the window is the total time requests spent queued; the `n_expired` requests that waited
    `max_wait_s` and got 503 take their share, the rest is the served requests'. NaN when
    nothing was served or the queue was not observed.
    """
    if n_served <= 0 or not math.isfinite(mean_queued):
        return math.nan
    queued_s = mean_queued * window_s - n_expired * max_wait_s
    return max(queued_s, 0.0) / n_served


def overhead_s(mean_latency_s: float, slot_time_s: float, mean_wait_s: float) -> float:
    """The per-request overhead the model leaves out: latency − wait − time in a replica slot.

    `mean_latency_s` is what the load generator measured (served requests), `slot_time_s` the
    router's mean time a request held a replica (`busy_seconds / dispatched` from /stats) and
    `mean_wait_s` the router's mean queue wait (`little_mean_wait_s`). What is left is the
    client's and the router's HTTP work. Never below 0; NaN when a part is unknown.
    """
    value = mean_latency_s - slot_time_s - mean_wait_s
    return max(value, 0.0) if math.isfinite(value) else math.nan


@dataclass(frozen=True, slots=True, kw_only=True)
class Overhead:
    """The measured per-request overhead and its parts (NaN where not observable)."""

    overhead_s: float
    mean_latency_s: float
    slot_time_s: float
    mean_wait_s: float

    @property
    def allowance_s(self) -> float:
        """The latency allowance: the overhead, 0 when it could not be measured."""
        return self.overhead_s if math.isfinite(self.overhead_s) else 0.0

    @property
    def detail(self) -> str:
        """`per-request overhead 2.1 ms = latency 0.1406 s − wait 0.0375 s − slot 0.1010 s`."""
        if not math.isfinite(self.overhead_s):
            return (
                "per-request overhead not measured (the endpoint's /stats is not observable): "
                "latency allowance 0"
            )
        return (
            f"per-request overhead {1000 * self.overhead_s:.1f} ms = measured mean latency "
            f"{self.mean_latency_s:.4f} s − queue wait {self.mean_wait_s:.4f} s − replica slot "
            f"{self.slot_time_s:.4f} s (the latency allowance)"
        )


def measured_overhead(measured: Measurement, scenario: Scenario) -> Overhead:
    """The deployment's per-request overhead, from the measurement and its /stats.

    Mean latency of the 2xx answers after warm-up, minus the router's mean queue wait (Little's
    law on the polled queue length, `verdict.little_mean_wait_s`), minus the mean time a
    request held a replica slot (`PlatformTimes.slot_time_s`). None of it comes from the
    model, so a wrong model cannot hide in it. NaN for a remote endpoint.
    """
    req = measured.requests
    t = req["t_s"].to_numpy(dtype=np.float64)
    status = req["status"].to_numpy(dtype=np.int64)
    window = (t >= scenario.warmup_s) & (t < scenario.duration_s)
    ok = window & (status >= 200) & (status < 300)
    latency = req["response_time_s"].to_numpy(dtype=np.float64)[ok]
    mean_latency = float(latency.mean()) if latency.size else math.nan
    slot = measured.platform.slot_time_s if measured.platform is not None else math.nan
    wait = math.nan
    polls = measured.replicas
    if polls is not None and len(polls):
        inside = polls[(polls["t_s"] >= scenario.warmup_s) & (polls["t_s"] < scenario.duration_s)]
        mean_queued = float(inside["queued"].mean()) if len(inside) else math.nan
        n_expired = int(np.isin(status[window], (429, 503)).sum())
        wait = little_mean_wait_s(
            mean_queued,
            scenario.duration_s - scenario.warmup_s,
            int(ok.sum()),
            n_expired if scenario.deployment.max_request_wait_s > 0 else 0,
            scenario.deployment.max_request_wait_s,
        )
    return Overhead(
        overhead_s=overhead_s(mean_latency, slot, wait),
        mean_latency_s=mean_latency,
        slot_time_s=slot,
        mean_wait_s=wait,
    )
