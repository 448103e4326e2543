"""Observed against simulated: the log as a load test's measurement, and per-minute frames.

The log becomes a `planner.loadtest.compare.Measurement` (arrival second, status, response
time; instances per minute as the replica polls), so the verdict machinery of the load test
judges whether the simulated deployment reproduces what production saw: the observed 503 rate
and latency p95 inside the simulation's band. A log without statuses counts every request as
answered (200); a log whose durations were derived (azure-llm tokens) has no observed
latency, and one with neither is not compared at all.

A long log comes streamed (`planner.fit.reduce.LogSummary`): the verdict is then given on its
uniform random sample of rows (ROW_SAMPLE_SIZE; the intervals are as wide as that sample
makes them), and the per-minute frame comes from its per-minute counts and latency
histograms (the p95 to the histogram's 2.3 % bins). The simulated per-minute p95 needs the
simulated per-request rows, which a long backtest does not keep: it is left empty there.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from planner.fit.logs import RequestLog
from planner.fit.reduce import LogSummary
from planner.loadtest.compare import Measurement, Validation, compare
from planner.simulate import Results

__all__ = ["MINUTE_COLUMNS", "comparable", "compare_observed", "per_minute_frame"]

_LOAD_TEST_NOTES = ("load generator lag", "replicas over time unknown")

MINUTE_COLUMNS = (
    "minute", "observed_requests", "observed_rate_503", "observed_p95_s", "observed_instances",
    "simulated_requests", "simulated_rate_503", "simulated_p95_s", "simulated_replicas",
)  # fmt: skip


def comparable(log: RequestLog | LogSummary) -> bool:
    """True when the log observed something to compare: statuses or latencies."""
    return log.has_status or log.observed_latency


def _status(log: RequestLog) -> np.ndarray:
    return log.status if log.status is not None else np.full(log.requests, 200, dtype=np.int64)


def measurement(log: RequestLog | LogSummary, log_minutes: pd.DataFrame) -> Measurement:
    """The log as one load-test measurement (no lag: production traffic is the schedule).

    `log_minutes` is the log's per-minute table as the fit has it (`LogFit.per_minute`:
    minute, t_s, requests[, instances]).
    """
    notes = []
    if isinstance(log, LogSummary):
        sample = log.rows_sample
        requests = sample.assign(lag_s=np.zeros(len(sample)))
        if len(sample) < log.requests:
            notes.append(
                f"observed values from a uniform random sample of {len(sample):,} of the "
                f"log's {log.requests:,} requests (intervals as wide as the sample makes them)"
            )
    else:
        requests = pd.DataFrame(
            {
                "t_s": log.t_s,
                "lag_s": np.zeros(log.requests),
                "status": _status(log),
                "response_time_s": log.duration_s,
            }
        )
    replicas = None
    if log.has_instance:
        n = log_minutes["instances"].to_numpy(dtype=np.float64)
        zeros = np.zeros_like(n)
        replicas = pd.DataFrame(
            {"t_s": log_minutes["t_s"], "ready": n, "starting": zeros, "draining": zeros,
             "queued": zeros, "busy": zeros, "desired": n}
        )  # fmt: skip
        notes.append("observed replicas: distinct instances serving in each minute")
    if not log.has_status:
        notes.append("the log has no status column: every request counted as answered (200)")
    if not log.observed_latency:
        notes.append("request times derived from tokens: the latency comparison is not observed")
    return Measurement(
        requests=requests[list(("t_s", "lag_s", "status", "response_time_s"))],
        sent=len(requests),
        replicas=replicas,
        host=log.source,
        notes=tuple(notes),
    )


def compare_observed(
    log: RequestLog | LogSummary, results: Results, *, log_minutes: pd.DataFrame
) -> Validation | None:
    """The load test's verdict on the log against the simulation (None: nothing observed).

    `log_minutes` is the log's per-minute table as the fit has it (`LogFit.per_minute`).
    """
    if not comparable(log):
        return None
    # The logged arrivals are replayed as they are: every seed sends the same arrivals, so
    # the first one is the paired replication (the others spread only the request times).
    paired = int(results.summary["rep"].iloc[0])
    validation = compare(replace(measurement(log, log_minutes), seed=paired), results)
    # The load test's notes about its own load generator and /stats polling do not apply
    # to a production log (its arrivals are the schedule; instances come from the log).
    kept = tuple(n for n in validation.notes if not n.startswith(_LOAD_TEST_NOTES))
    if not log.has_instance:
        kept += ("replicas over time unknown: the log has no instance column",)
    return replace(validation, notes=kept)


def per_minute_frame(
    log: RequestLog | LogSummary, results: Results, *, log_minutes: pd.DataFrame
) -> pd.DataFrame:
    """One row per minute of the log: observed and simulated requests, 503 rate, p95, replicas.

    Simulated values are means over the replications; the p95 is over served requests of the
    minute (all replications pooled) and needs the per-request table (`keep_requests`).
    `log_minutes` is the log's per-minute table as the fit has it (`LogFit.per_minute`).
    """
    n_min = int(np.floor(log.span_s / 60.0)) + 1
    out = pd.DataFrame({"minute": np.arange(n_min)})
    if isinstance(log, LogSummary):
        observed = _observed_minutes_streamed(log, log_minutes, n_min)
    else:
        observed = _observed_minutes(log, log_minutes, n_min)
    for name, values in observed.items():
        out[name] = values
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


def _observed_minutes(
    log: RequestLog, log_minutes: pd.DataFrame, n_min: int
) -> dict[str, np.ndarray]:
    minute = np.floor(log.t_s / 60.0).astype(np.int64)
    status = _status(log)
    count = np.bincount(minute, minlength=n_min)
    n503 = np.bincount(minute[status == 503], minlength=n_min)
    out = {
        "observed_requests": count,
        "observed_rate_503": np.where(count > 0, n503 / np.maximum(count, 1), np.nan),
        "observed_p95_s": np.full(n_min, np.nan),
        "observed_instances": np.full(n_min, np.nan),
    }
    if log.observed_latency:
        served = (status != 503) & (status != 0)
        p95 = pd.Series(log.duration_s[served]).groupby(minute[served]).quantile(0.95)
        out["observed_p95_s"] = p95.reindex(range(n_min)).to_numpy()
    if log.has_instance:
        pm = log_minutes["instances"].reindex(range(n_min))
        out["observed_instances"] = pm.to_numpy()
    return out


def _observed_minutes_streamed(
    log: LogSummary, log_minutes: pd.DataFrame, n_min: int
) -> dict[str, np.ndarray]:
    count = log_minutes["requests"].to_numpy()[:n_min]
    n503 = log.minute_503[:n_min]
    out = {
        "observed_requests": count,
        "observed_rate_503": np.where(count > 0, n503 / np.maximum(count, 1), np.nan),
        "observed_p95_s": log.minute_p95_s()[:n_min]
        if log.observed_latency
        else np.full(n_min, np.nan),
        "observed_instances": np.full(n_min, np.nan),
    }
    if log.has_instance:
        out["observed_instances"] = log_minutes["instances"].to_numpy()[:n_min]
    return out
