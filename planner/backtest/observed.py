"""Observed against simulated: the log as a load test's measurement, and per-minute frames.

The log becomes a `planner.loadtest.compare.Measurement` (arrival second, status, response
time; instances per minute as the replica polls), so the verdict machinery of the load test
judges whether the simulated deployment reproduces what production saw: the observed 503 rate
and latency p95 inside the simulation's band. A log without statuses counts every request as
answered (200); a log whose durations were derived (azure-llm tokens) has no observed
latency, and one with neither is not compared at all.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from planner.fit.logs import RequestLog
from planner.fit.observed import instances_per_minute
from planner.loadtest.compare import Measurement, Validation, compare
from planner.simulate import Results

__all__ = ["MINUTE_COLUMNS", "comparable", "compare_observed", "per_minute_frame"]

_LOAD_TEST_NOTES = ("load generator lag", "replicas over time unknown")

MINUTE_COLUMNS = (
    "minute", "observed_requests", "observed_rate_503", "observed_p95_s", "observed_instances",
    "simulated_requests", "simulated_rate_503", "simulated_p95_s", "simulated_replicas",
)  # fmt: skip


def comparable(log: RequestLog) -> bool:
    """True when the log observed something to compare: statuses or latencies."""
    return log.status is not None or log.observed_latency


def _status(log: RequestLog) -> np.ndarray:
    return log.status if log.status is not None else np.full(log.requests, 200, dtype=np.int64)


def measurement(log: RequestLog) -> Measurement:
    """The log as one load-test measurement (no lag: production traffic is the schedule)."""
    requests = pd.DataFrame(
        {
            "t_s": log.t_s,
            "lag_s": np.zeros(log.requests),
            "status": _status(log),
            "response_time_s": log.duration_s,
        }
    )
    replicas = None
    notes = []
    if log.instance is not None:
        pm = instances_per_minute(log)
        n = pm["instances"].to_numpy(dtype=np.float64)
        zeros = np.zeros_like(n)
        replicas = pd.DataFrame(
            {"t_s": pm["t_s"], "ready": n, "starting": zeros, "draining": zeros,
             "queued": zeros, "busy": zeros, "desired": n}
        )  # fmt: skip
        notes.append("observed replicas: distinct instances serving in each minute")
    if log.status is None:
        notes.append("the log has no status column: every request counted as answered (200)")
    if not log.observed_latency:
        notes.append("request times derived from tokens: the latency comparison is not observed")
    return Measurement(
        requests=requests,
        sent=log.requests,
        replicas=replicas,
        host=log.source,
        notes=tuple(notes),
    )


def compare_observed(log: RequestLog, results: Results) -> Validation | None:
    """The load test's verdict on the log against the simulation (None: nothing observed)."""
    if not comparable(log):
        return None
    # The logged arrivals are replayed as they are: every seed sends the same arrivals, so
    # the first one is the paired replication (the others spread only the request times).
    paired = int(results.summary["rep"].iloc[0])
    validation = compare(replace(measurement(log), seed=paired), results)
    # The load test's notes about its own load generator and /stats polling do not apply
    # to a production log (its arrivals are the schedule; instances come from the log).
    kept = tuple(n for n in validation.notes if not n.startswith(_LOAD_TEST_NOTES))
    if log.instance is None:
        kept += ("replicas over time unknown: the log has no instance column",)
    return replace(validation, notes=kept)


def per_minute_frame(log: RequestLog, results: Results) -> pd.DataFrame:
    """One row per minute of the log: observed and simulated requests, 503 rate, p95, replicas.

    Simulated values are means over the replications; the p95 is over served requests of the
    minute (all replications pooled) and needs the per-request table (`keep_requests`).
    """
    n_min = int(np.floor(log.span_s / 60.0)) + 1
    minute = np.floor(log.t_s / 60.0).astype(np.int64)
    status = _status(log)
    out = pd.DataFrame({"minute": np.arange(n_min)})
    count = np.bincount(minute, minlength=n_min)
    out["observed_requests"] = count
    n503 = np.bincount(minute[status == 503], minlength=n_min)
    out["observed_rate_503"] = np.where(count > 0, n503 / np.maximum(count, 1), np.nan)
    if log.observed_latency:
        served = (status != 503) & (status != 0)
        p95 = pd.Series(log.duration_s[served]).groupby(minute[served]).quantile(0.95)
        out["observed_p95_s"] = p95.reindex(range(n_min)).to_numpy()
    else:
        out["observed_p95_s"] = np.nan
    if log.instance is not None:
        out["observed_instances"] = instances_per_minute(log)["instances"].reindex(range(n_min))
    else:
        out["observed_instances"] = np.nan
    tl = results.timeline.assign(minute=lambda d: (d["t_s"] // 60).astype(np.int64))
    reps = max(1, tl["rep"].nunique())
    by = tl.groupby("minute")
    arrivals = by["arrivals"].sum() / reps
    out["simulated_requests"] = arrivals.reindex(range(n_min)).to_numpy()
    sim503 = (by["n_503"].sum() / reps).reindex(range(n_min)).to_numpy()
    out["simulated_rate_503"] = np.where(
        out["simulated_requests"] > 0, sim503 / np.maximum(out["simulated_requests"], 1e-12), np.nan
    )
    total = tl["ready"] + tl["starting"]
    out["simulated_replicas"] = total.groupby(tl["minute"]).mean().reindex(range(n_min)).to_numpy()
    out["simulated_p95_s"] = np.nan
    req = results.requests
    if req is not None and len(req):
        ok = req[req["status"] != 503]
        m = (ok["t_arrival_s"] // 60).astype(np.int64)
        out["simulated_p95_s"] = (
            ok["latency_s"].groupby(m).quantile(0.95).reindex(range(n_min)).to_numpy()
        )
    return out[list(MINUTE_COLUMNS)]
