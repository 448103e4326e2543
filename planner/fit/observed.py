"""What a log shows besides arrivals and request times: statuses, instances, cold starts.

- `status_mix`: the share of each HTTP status.
- `instances_per_minute`: distinct instances that served a request in each minute [60 m,
  60 (m + 1)): the observed replica count over time (a replica that served nothing in a
  minute is not seen, so it is a lower bound when traffic is light).
- `cold_start_estimate`: a request log does not say when a replica was created, only when it
  first served. An instance first seen after the first minute is taken as a scale-up. The
  log gives the load at each arrival: requests in flight (arrived, not yet finished: the
  duration includes any wait in the router's queue) over the instances seen so far. The
  scale-up is taken to start when that load first exceeded `target_utilization` (Azure ML's
  rule; default 70 %) in the overload episode before the new instance: the last crossing
  above the target before its first request, at most `lookback_s` earlier. The median of
  (first request − crossing) over scale-ups is the estimate: the replica's cold start plus
  the autoscaler's reaction (its refresh interval), so slightly above `cold_start_s`. An
  episode of overload ends only after QUIET_S seconds without an overloaded arrival. An
  instance that was idle, not new, would bias it; with no instance column, or no new
  instance after a crossing, no estimate is made and the reason is given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.fit.logs import RequestLog

__all__ = [
    "ColdStart",
    "cold_start_estimate",
    "cold_start_from",
    "initial_instances",
    "instances_per_minute",
    "status_mix",
    "status_mix_of_counts",
]

QUIET_S = 5.0
TARGET_UTILIZATION = 0.7  # Azure ML's default target: the overload the scale-up answers
LOOKBACK_S = 600.0  # how far before a new instance its overload episode may start


def status_mix(status: np.ndarray) -> dict[int, float]:
    """Share of each status code, most frequent first."""
    codes, counts = np.unique(status, return_counts=True)
    return status_mix_of_counts(codes, counts)


def status_mix_of_counts(codes: np.ndarray, counts: np.ndarray) -> dict[int, float]:
    """`status_mix` from each code (ascending) and its count."""
    order = np.argsort(-counts, kind="stable")
    total = float(counts.sum())
    return {int(codes[i]): float(counts[i] / total) for i in order}


def instances_per_minute(log: RequestLog) -> pd.DataFrame:
    """Columns minute, t_s (minute start), requests, instances (distinct, empty names ignored)."""
    minute = np.floor(log.t_s / 60.0).astype(np.int64)
    frame = pd.DataFrame({"minute": minute})
    out = frame.groupby("minute").size().rename("requests").to_frame()
    if log.instance is not None:
        named = pd.DataFrame({"minute": minute, "instance": log.instance})
        named = named[named["instance"] != ""]
        out["instances"] = named.groupby("minute")["instance"].nunique()
    full = out.reindex(range(int(minute.max()) + 1 if minute.size else 0), fill_value=0)
    full = full.fillna(0).astype(np.int64).reset_index()
    full.insert(1, "t_s", full["minute"] * 60.0)
    return full


INITIAL_WINDOW_S = 10.0


def initial_instances(log: RequestLog, *, window_s: float = INITIAL_WINDOW_S) -> int:
    """Distinct instances serving in the log's first `window_s` seconds (0: no instances).

    Short, so that an autoscaler's first steps are not counted as the starting pool; with
    light traffic an idle replica is not seen, so it is a lower bound.
    """
    if log.instance is None:
        return 0
    names = log.instance[(log.t_s < window_s) & (log.instance != "")]
    return len(set(names.tolist()))


@dataclass(frozen=True, slots=True, kw_only=True)
class ColdStart:
    """The median time to add capacity over the scale-ups seen (None: no estimate), and why."""

    seconds: float | None
    samples_s: tuple[float, ...]
    how: str


def cold_start_estimate(
    log: RequestLog,
    *,
    target_utilization: float = TARGET_UTILIZATION,
    lookback_s: float = LOOKBACK_S,
) -> ColdStart:
    """Estimate the time to add a replica from new instances and the load before them."""
    if log.instance is None:
        return ColdStart(seconds=None, samples_s=(), how="no instance column: cannot estimate")
    names = log.instance
    seen = names != ""
    if not seen.any():
        return ColdStart(seconds=None, samples_s=(), how="no instance names: cannot estimate")
    first = pd.Series(log.t_s[seen]).groupby(names[seen]).min().sort_values()
    new = first[first >= 60.0]
    if new.empty:
        return ColdStart(
            seconds=None,
            samples_s=(),
            how="every instance served in the first minute: no scale-up seen",
        )
    # Load at each arrival: requests in flight over the instances seen up to then.
    t = log.t_s
    ends = np.sort(t + log.duration_s)
    in_flight = np.arange(1, t.size + 1) - np.searchsorted(ends, t, side="right")
    first_seen = np.sort(first.to_numpy(dtype=np.float64))
    instances = np.maximum(np.searchsorted(first_seen, t, side="right"), 1)
    over = in_flight > target_utilization * instances
    # Episode starts: an overloaded arrival with none in the QUIET_S before it (a dip of a
    # second or two in a noisy load does not end the episode).
    t_over = t[over]
    crossings = t_over[np.r_[True, np.diff(t_over) > QUIET_S]] if t_over.size else t_over
    return cold_start_from(new, crossings, target_utilization, lookback_s)


def cold_start_from(
    new: pd.Series, crossings: np.ndarray, target_utilization: float, lookback_s: float
) -> ColdStart:
    """The estimate from new instances' first requests (`new`) and the overload crossings."""
    samples: list[float] = []
    for t_new in new.to_numpy(dtype=np.float64):
        before = crossings[(crossings < t_new) & (crossings >= t_new - lookback_s)]
        if before.size:
            samples.append(float(t_new - before[-1]))
    if not samples:
        return ColdStart(
            seconds=None,
            samples_s=(),
            how=f"{len(new)} instance(s) appeared later, none after the load crossed the "
            "target: cannot estimate",
        )
    return ColdStart(
        seconds=float(np.median(samples)),
        samples_s=tuple(samples),
        how=f"median over {len(samples)} new instance(s) of the time from the load crossing "
        f"{target_utilization:.0%} of the instances seen to the new one's first request "
        "(cold start plus the autoscaler's reaction)",
    )
