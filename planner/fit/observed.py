"""What a log shows besides arrivals and request times: statuses, instances, cold starts.

- `status_mix`: the share of each HTTP status.
- `instances_per_minute`: distinct instances that served a request in each minute [60 m,
  60 (m + 1)): the observed replica count over time (a replica that served nothing in a
  minute is not seen, so it is a lower bound when traffic is light).
- `cold_start_estimate`: a request log does not say when a replica was created, only when it
  first served. When the log also has statuses, an instance that first appears after the
  first minute is taken as a scale-up, and the time from the first 503 of the overload
  before it (the 503s since the previous instance appeared, at most `lookback_s` earlier)
  to its first request is the time it took to add capacity. That includes the autoscaler's
  reaction time (its refresh interval and window), so it is an upper bound of
  `service.cold_start_s`; the median over scale-ups is reported. Without statuses, or with
  no new instance preceded by 503s, no estimate can be made and the reason is given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.fit.logs import RequestLog

__all__ = ["ColdStart", "cold_start_estimate", "instances_per_minute", "status_mix"]


def status_mix(status: np.ndarray) -> dict[int, float]:
    """Share of each status code, most frequent first."""
    codes, counts = np.unique(status, return_counts=True)
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


@dataclass(frozen=True, slots=True, kw_only=True)
class ColdStart:
    """The median time to add capacity over the scale-ups seen (None: no estimate), and why."""

    seconds: float | None
    samples_s: tuple[float, ...]
    how: str


def cold_start_estimate(log: RequestLog, *, lookback_s: float = 600.0) -> ColdStart:
    """Estimate the time to add a replica from new instances and the 503s before them."""
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
    if log.status is None:
        return ColdStart(
            seconds=None,
            samples_s=(),
            how=f"{len(new)} instance(s) appeared later, but without statuses the overload "
            "that started them is not seen: cannot estimate",
        )
    t503 = log.t_s[log.status == 503]
    samples: list[float] = []
    previous = float(first.iloc[0])
    for t_new in first.to_numpy(dtype=np.float64):
        if t_new >= 60.0:
            lo = max(previous, t_new - lookback_s)
            before = t503[(t503 >= lo) & (t503 < t_new)]
            if before.size:
                samples.append(float(t_new - before[0]))
        previous = float(t_new)
    if not samples:
        return ColdStart(
            seconds=None,
            samples_s=(),
            how=f"{len(new)} instance(s) appeared later with no 503 before them: cannot estimate",
        )
    return ColdStart(
        seconds=float(np.median(samples)),
        samples_s=tuple(samples),
        how=f"median over {len(samples)} scale-up(s) of first 503 → new instance's first "
        "request (includes the autoscaler's reaction: an upper bound of cold_start_s)",
    )
