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
  - latency: the deployment's measured per-request overhead (`measured_overhead`: an HTTP
    exchange with the router under the test's load, which a simulated request does not pay);
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
    "measured_overhead",
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


@dataclass(frozen=True, slots=True, kw_only=True)
class Overhead:
    """The measured per-request overhead (NaN where not observable) and its sample size."""

    overhead_s: float
    polls: int
    rtt_s: tuple[float, ...] = ()  # every round trip, for the allowance at a quantile

    @property
    def allowance_s(self) -> float:
        """The latency allowance: the overhead, 0 when it could not be measured."""
        return self.overhead_s if math.isfinite(self.overhead_s) else 0.0

    def allowance_at(self, q: float) -> float:
        """The allowance for a latency quantile q: the same quantile of the round trips.

        The overhead is itself a distribution (the machine's load comes and goes): a latency
        p99 carries the slow exchanges, a p50 the typical one. Without samples, `allowance_s`.
        """
        if not self.rtt_s:
            return self.allowance_s
        return float(np.quantile(np.asarray(self.rtt_s), q))

    @property
    def detail(self) -> str:
        """`per-request overhead 2.1 ms: the median round trip of ...`."""
        if not math.isfinite(self.overhead_s):
            return (
                "per-request overhead not measured (the endpoint's /stats is not observable): "
                "latency allowance 0"
            )
        return (
            f"per-request overhead {1000 * self.overhead_s:.1f} ms: the median round trip of "
            f"the router's /stats over {self.polls} polls during the test (the latency "
            "allowance; a latency quantile gets the same quantile of the round trips)"
        )


def measured_overhead(measured: Measurement, scenario: Scenario) -> Overhead:
    """The deployment's per-request overhead: the /stats round trips during the test.

    A simulated request costs its wait and its service time, nothing else; a real one also
    makes an HTTP exchange with the router (parsing, the event loop's turn, the answer back)
    under the test's CPU load. The /stats polls make that same exchange once a second from
    this process, so their median round trip over [warmup_s, duration_s) measures it. It
    involves neither the queue nor the replicas, so a wrong model cannot hide in it. NaN for a
    remote endpoint (nothing polled).
    """
    polls = measured.replicas
    if polls is None or "rtt_s" not in polls.columns:
        return Overhead(overhead_s=math.nan, polls=0)
    t = polls["t_s"].to_numpy(dtype=np.float64)
    rtt = polls["rtt_s"].to_numpy(dtype=np.float64)
    rtt = rtt[(t >= scenario.warmup_s) & (t < scenario.duration_s) & np.isfinite(rtt)]
    if not rtt.size:
        return Overhead(overhead_s=math.nan, polls=0)
    return Overhead(
        overhead_s=float(np.median(rtt)), polls=int(rtt.size), rtt_s=tuple(rtt.tolist())
    )
