"""From a checked request log to a scenario: traffic, fitted request times, observations.

`fit_log(log)` gathers everything `planner fit` reports; `write_scenario(fit, out)` writes
the scenario YAML and, beside it, the files it points to: `<stem>.arrivals.csv` (one `t_s`
per request, seconds since the first one: replayed exactly; `<stem>.arrivals.npy`, float64,
for a log streamed into a `LogSummary`) unless the traffic was smoothed
into phases, and `<stem>.request_times.csv` when the request time is empirical.

The deployment block is a starting point for what-ifs, not an observation: Azure ML's
defaults (azureml autoscaler, target 70 %), an initial replica count of the instances seen
in the first 10 seconds (else the documented formula at the first minute's rate), and a maximum
high enough for the busiest second's load at that target (at least 10, the default).
"""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from planner.fit.arrivals import counts_per_second, smooth_phases
from planner.fit.logs import RequestLog
from planner.fit.observed import (
    ColdStart,
    cold_start_estimate,
    initial_instances,
    instances_per_minute,
    status_mix,
)
from planner.fit.reduce import LogSummary
from planner.fit.request_time import RequestTimeFit, fit_request_time

__all__ = ["LogFit", "fit_log", "seen_at_start", "write_scenario"]

DEFAULT_COLD_START_S = 30.0
DEFAULT_TARGET = 0.7
WARMUP_CAP_S = 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class LogFit:
    """Traffic, request time and observations of one log, and the scenario spec they make."""

    log: RequestLog | LogSummary
    name: str
    duration_s: float  # whole seconds covering every arrival
    counts: np.ndarray  # per second
    phases: list[tuple[int, float]] | None  # --smooth
    request_time: RequestTimeFit
    statuses: dict[int, float] | None
    per_minute: pd.DataFrame  # minute, t_s, requests[, instances]
    cold_start: ColdStart

    @property
    def mean_rps(self) -> float:
        """Requests per second over the log."""
        return self.log.requests / self.duration_s

    @property
    def offered_load(self) -> float:
        """Mean busy slots: rate × mean request time (the log's, which the fit keeps)."""
        return self.mean_rps * self.request_time.mean_s

    def initial_replicas(self) -> int:
        """Instances seen in the first 10 s, else the formula at the first minute's rate."""
        seen = seen_at_start(self.log)
        if seen > 0:
            return seen
        pm = self.per_minute
        rps0 = float(pm["requests"].iloc[0]) / min(60.0, self.duration_s)
        return max(1, math.ceil(rps0 * self.request_time.mean_s / DEFAULT_TARGET))

    def max_replicas(self) -> int:
        """Enough for the busiest second at the target, the instances seen, at least 10."""
        peak = float(self.counts.max()) if self.counts.size else 0.0
        if self.phases:
            peak = max(rate for _, rate in self.phases)
        need = math.ceil(peak * self.request_time.mean_s / DEFAULT_TARGET)
        seen = int(self.per_minute["instances"].max()) if "instances" in self.per_minute else 0
        return max(10, need, seen, self.initial_replicas())

    def spec(self, *, arrivals_file: str, samples_file: str) -> dict[str, Any]:
        """The scenario mapping, with the given relative file names for trace and samples."""
        rt = dict(self.request_time.spec)
        if rt["dist"] == "empirical":
            rt["file"] = samples_file
        traffic: dict[str, Any] = {"arrivals": "poisson"}
        if self.phases is None:
            traffic["trace"] = arrivals_file
        else:
            traffic["pattern"] = [{"duration_s": d, "rps": _round(r)} for d, r in self.phases]
        cold = self.cold_start.seconds
        return {
            "name": self.name,
            "duration_s": _round(self.duration_s),
            "warmup_s": _round(min(WARMUP_CAP_S, math.floor(self.duration_s / 10))),
            "seeds": 3,
            "traffic": traffic,
            "service": {
                "request_time_s": {k: _round(v) for k, v in rt.items()},
                "max_concurrent": 1,
                "cold_start_s": _round(DEFAULT_COLD_START_S if cold is None else cold),
            },
            "deployment": {
                "autoscaler": "azureml",
                "replicas": self.initial_replicas(),
                "min_replicas": 1,
                "max_replicas": self.max_replicas(),
                "target_utilization": DEFAULT_TARGET,
            },
            "slo": {"max_rate_503": 0.001, "latency_p99_s": 2.0},
        }

    def to_json_dict(self) -> dict[str, Any]:
        """What the fit found, JSON-ready."""
        out: dict[str, Any] = {
            "log": self.log.source,
            "requests": self.log.requests,
            "start": None if self.log.start is None else self.log.start.isoformat(),
            "duration_s": self.duration_s,
            "mean_rps": self.mean_rps,
            "peak_rps_1s": int(self.counts.max()) if self.counts.size else 0,
            "offered_load": self.offered_load,
            "request_time": self.request_time.to_json_dict(),
            "phases": None
            if self.phases is None
            else [{"duration_s": d, "rps": r} for d, r in self.phases],
            "status_mix": None
            if self.statuses is None
            else {str(k): v for k, v in self.statuses.items()},
            "cold_start_s": self.cold_start.seconds,
            "cold_start_how": self.cold_start.how,
        }
        if "instances" in self.per_minute:
            out["instances_per_minute"] = self.per_minute["instances"].tolist()
        return out


def fit_log(log: RequestLog | LogSummary, *, name: str, smooth: bool = False) -> LogFit:
    """Fit arrivals (trace, or phases when `smooth`) and request times; gather observations.

    A `LogSummary` (a log reduced while streaming) gives the same fit as its `RequestLog`
    when it sampled every request time, and the fit of its sample, with the exact mean, else.
    """
    if isinstance(log, LogSummary):
        return _fit_summary(log, name=name, smooth=smooth)
    counts = counts_per_second(log.t_s)
    duration_s = float(counts.size)
    return LogFit(
        log=log,
        name=name,
        duration_s=duration_s,
        counts=counts,
        phases=smooth_phases(counts) if smooth else None,
        request_time=fit_request_time(served_durations(log)),
        statuses=None if log.status is None else status_mix(log.status),
        per_minute=instances_per_minute(log),
        cold_start=cold_start_estimate(log),
    )


def _fit_summary(log: LogSummary, *, name: str, smooth: bool) -> LogFit:
    counts = log.counts
    every = log.served_count == log.served_sample_s.size
    request_time = fit_request_time(
        log.served_sample_s,
        mean_s=None if every else log.served_mean_s,
        min_s=log.served_min_s,
        max_s=log.served_max_s,
    )
    return LogFit(
        log=log,
        name=name,
        duration_s=float(counts.size),
        counts=counts,
        phases=smooth_phases(counts) if smooth else None,
        request_time=request_time,
        statuses=log.statuses,
        per_minute=log.per_minute,
        cold_start=log.cold_start,
    )


def seen_at_start(log: RequestLog | LogSummary) -> int:
    """Distinct instances serving in the log's first seconds (0: no instance column)."""
    if isinstance(log, LogSummary):
        return log.initial_instances
    return initial_instances(log)


def served_durations(log: RequestLog) -> np.ndarray:
    """Durations of the served (2xx) requests when the log has statuses, else all of them.

    A rejected request's duration is the time until it was refused, not a request time.
    """
    if log.status is None:
        return log.duration_s
    ok = (log.status >= 200) & (log.status < 300)
    return log.duration_s[ok] if ok.any() else log.duration_s


def write_scenario(fit: LogFit, out: Path) -> list[Path]:
    """Write the scenario YAML at `out` and its trace / samples files beside it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    stem = out.name.removesuffix(".yaml").removesuffix(".yml")
    streamed = isinstance(fit.log, LogSummary)
    arrivals = out.with_name(f"{stem}.arrivals.{'npy' if streamed else 'csv'}")
    samples = out.with_name(f"{stem}.request_times.csv")
    spec = fit.spec(arrivals_file=arrivals.name, samples_file=samples.name)
    written = []
    if fit.phases is None:
        if isinstance(fit.log, LogSummary):
            # Full float64 precision, copied from the file the arrivals streamed into.
            if fit.log.trace_file.resolve() != arrivals.resolve():
                shutil.copyfile(fit.log.trace_file, arrivals)
        else:
            _write_column(arrivals, "t_s", fit.log.t_s)
        written.append(arrivals)
    if fit.request_time.chosen == "empirical":
        _write_column(samples, "request_time_s", fit.request_time.samples_s)
        written.append(samples)
    out.write_text(_header(fit) + yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return [out, *written]


def _write_column(path: Path, header: str, values: np.ndarray) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(header + "\n")
        np.savetxt(fh, values, fmt="%.6f")


def _round(x: Any) -> Any:
    """Six significant digits for readability (counts and names unchanged)."""
    if isinstance(x, float) and math.isfinite(x):
        return float(f"{x:.6g}") if not x.is_integer() else (int(x) if abs(x) < 1e15 else x)
    return x


def _header(fit: LogFit) -> str:
    rt = fit.request_time
    lines = [
        f"Fitted by `planner fit` from {Path(fit.log.source).name}: {fit.log.requests} requests "
        f"over {fit.duration_s:g} s ({fit.mean_rps:.4g} rps mean, busiest second "
        f"{int(fit.counts.max())})"
        + ("" if fit.log.start is None else f", starting {fit.log.start.isoformat()}"),
        f"Request time: mean {rt.mean_s:.4g} s; {rt.reason}",
        "Traffic: "
        + (
            "the logged arrivals, replayed exactly"
            if fit.phases is None
            else f"{len(fit.phases)} constant phases fitted by binary segmentation"
        ),
    ]
    if fit.statuses is not None:
        mix = ", ".join(f"{k}: {v:.2%}" for k, v in list(fit.statuses.items())[:6])
        lines.append(f"Observed status mix: {mix}")
    if "instances" in fit.per_minute:
        inst = fit.per_minute["instances"]
        lines.append(f"Observed instances per minute: {int(inst.min())}..{int(inst.max())}")
    cold = fit.cold_start
    shown = "" if cold.seconds is None else f"{cold.seconds:.3g} s, "
    lines.append(f"Cold start: {shown}{cold.how}")
    lines.append("The deployment block is a starting point (Azure ML defaults), not observed.")
    return "".join(f"# {line}\n" for line in lines)
