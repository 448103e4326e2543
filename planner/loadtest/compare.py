"""Does a load test agree with the simulation? Measured vs the paired prediction, two-sided.

`compare(measured, predicted, slo, tolerance)` takes what `planner.loadtest.run` measured (one run:
every request's scheduled arrival, status and response time; replicas polled from /stats) and
what `planner.simulate.run` predicted for the same scenario (several seeds, among them the seed
whose arrivals were sent), and answers two questions for `planner loadtest`:

- meets_slo: `planner.slo.judge_slo` on the measurement's own upper 95 % bounds: the
  Clopper–Pearson upper bound of the overload rate (503 and 429 over requests that arrived
  after warm-up) and the order-statistic upper bound of the latency p99 (over served requests:
  2xx and 504). A run that might be over the objective does not meet it.
- agrees_with_prediction: for each metric (503 rate, latency p50 and p95, and peak replicas
  when the deployment's /stats is observable) the measured 95 % interval overlaps the band
  around the paired prediction (`planner.loadtest.verdict`): the seeds' own spread plus one
  stated allowance. Too high and too low both disagree. The p99 is shown beside them, not
  judged (one run's p99 is its few slowest requests).

The per-second frames to plot come from `planner.loadtest.timeline`.

Pure numpy/pandas: the intervals come from `planner.stats`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from planner.loadtest.timeline import per_second_frame, replicas_frame
from planner.loadtest.verdict import Overhead, Tolerance, measured_overhead, paired_band
from planner.loadtest.wording import (
    LABELS,
    disagreement,
    format_value,
    node_note,
    pct,
    too_short,
    validity,
)
from planner.plain import plain
from planner.slo import judge_slo
from planner.stats import clopper_pearson, quantile_ci

if TYPE_CHECKING:
    from planner.loadtest.calibrate import Calibration, PlatformTimes
    from planner.scenario import Slo
    from planner.simulate import Results

__all__ = [
    "JUDGED_METRICS",
    "LABELS",
    "MEASURED_COLUMNS",
    "REPLICA_COLUMNS",
    "Check",
    "Measurement",
    "Tolerance",
    "Validation",
    "compare",
    "format_value",
]

MEASURED_COLUMNS = ("t_s", "lag_s", "status", "response_time_s")
REPLICA_COLUMNS = ("t_s", "ready", "starting", "draining", "queued", "busy", "desired", "rtt_s")
# Latency quantiles judged, by metric name (the simulator's summary columns).
LATENCY_QUANTILES = {"latency_p50_s": 0.50, "latency_p95_s": 0.95, "latency_p99_s": 0.99}
NOT_JUDGED = frozenset({"latency_p99_s"})  # in the table beside the others, not in the verdict
JUDGED_METRICS = (
    "rate_503",
    *(q for q in LATENCY_QUANTILES if q not in NOT_JUDGED),
    "peak_replicas",
)


# ------------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True, kw_only=True)
class Measurement:
    """One load test: answered requests (MEASURED_COLUMNS) and replicas polled (REPLICA_COLUMNS).

    `requests.t_s` is the scheduled arrival since the test started (the simulator's
    t_arrival_s); `sent` counts requests sent, of which `pending` never answered and
    `not_sent` were refused by the load generator's in-flight bound. `replicas` and
    `platform` (replica start and slot times, `planner.loadtest.calibrate`) are None for a
    remote endpoint (not observable).
    """

    requests: pd.DataFrame
    sent: int
    pending: int = 0
    not_sent: int = 0
    aborted: str = ""
    max_lag_s: float = 0.0
    replicas: pd.DataFrame | None = None
    host: str = ""
    local: bool = False
    seed: int | None = None
    notes: tuple[str, ...] = ()
    platform: PlatformTimes | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Check:
    """One metric side by side: measured (95 % CI), predicted (mean; paired; band), verdict."""

    name: str
    measured: float
    measured_ci95: tuple[float, float]
    predicted: float
    paired: float
    spread: float
    allowance: float
    band: tuple[float, float]
    judged: bool = True

    @property
    def agrees(self) -> bool | None:
        """Measured value inside the band (None when not judged or undefined)."""
        if not self.judged or not all(math.isfinite(v) for v in (self.measured, self.paired)):
            return None
        return self.band[0] <= self.measured <= self.band[1]

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-ready values (NaN and infinities as null)."""
        return {
            "measured": _num(self.measured),
            "measured_ci95": [_num(v) for v in self.measured_ci95],
            "predicted": _num(self.predicted),
            "paired": _num(self.paired),
            "spread": _num(self.spread),
            "allowance": _num(self.allowance),
            "band": [_num(v) for v in self.band],
            "agrees": self.agrees,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Validation:
    """The comparison: checks, counts, verdicts and reasons, and per-second frames to plot.

    When the prediction was calibrated (`planner.loadtest.calibrate.compare_calibrated`), the
    checks and verdict are against the calibrated simulation, `specified` is the comparison
    with the scenario as specified and `calibration` says what was replaced.
    """

    checks: dict[str, Check]
    counts: dict[str, int]
    reps: int
    meets_slo: bool | None
    agrees_with_prediction: bool
    reasons: tuple[str, ...]
    notes: tuple[str, ...]
    tolerance: Tolerance
    overhead: Overhead
    per_second: pd.DataFrame = field(repr=False)
    replicas: pd.DataFrame | None = field(default=None, repr=False)
    specified: Validation | None = field(default=None, repr=False)
    calibration: Calibration | None = None

    @property
    def ok(self) -> bool:
        """The SLO is met and the measurement agrees with the prediction."""
        return bool(self.meets_slo) and self.agrees_with_prediction

    @property
    def disagreements(self) -> tuple[str, ...]:
        """Names of the metrics outside their band."""
        return tuple(name for name, check in self.checks.items() if check.agrees is False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe plain data (`planner.plain`): the `to_json_dict` object."""
        return plain(self.to_json_dict())  # type: ignore[no-any-return]

    def to_json_dict(self) -> dict[str, Any]:
        """One JSON object: verdicts first, then each check, calibration, counts, notes."""
        spec = self.specified
        return {
            "ok": self.ok,
            "meets_slo": self.meets_slo,
            "agrees_with_prediction": self.agrees_with_prediction,
            "reasons": list(self.reasons),
            **{name: check.to_json_dict() for name, check in self.checks.items()},
            "overhead_s": _num(self.overhead.overhead_s),
            "calibration": None if self.calibration is None else self.calibration.to_json_dict(),
            "as_specified": None
            if spec is None
            else {
                "agrees_with_prediction": spec.agrees_with_prediction,
                **{name: check.to_json_dict() for name, check in spec.checks.items()},
            },
            "counts": dict(self.counts),
            "reps": self.reps,
            "tolerance": {k: getattr(self.tolerance, k) for k in Tolerance.__dataclass_fields__},
            "notes": list(self.notes),
        }


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


# ------------------------------------------------------------------------------ compare


def _count_statuses(status: np.ndarray) -> dict[str, int]:
    ok = (status >= 200) & (status < 300)
    return {
        "n_2xx": int(ok.sum()),
        "n_503": int((status == 503).sum()),
        "n_429": int((status == 429).sum()),
        "n_504": int((status == 504).sum()),
        "n_no_answer": int((status == 0).sum()),
        "n_other": int((~ok & ~np.isin(status, (0, 429, 503, 504))).sum()),
    }


def _check(
    name: str,
    measured: tuple[float, float, float],
    summary: pd.DataFrame,
    seed: int | None,
    allowance: float,
) -> Check:
    per_rep = summary[name].to_numpy(dtype=np.float64)
    band = paired_band(
        per_rep, summary["rep"].to_numpy(), seed, measured=measured, allowance=allowance
    )
    finite = per_rep[np.isfinite(per_rep)]
    return Check(
        name=name,
        measured=measured[0],
        measured_ci95=(measured[1], measured[2]),
        predicted=float(finite.mean()) if finite.size else math.nan,
        paired=band.paired,
        spread=band.spread,
        allowance=allowance,
        band=band.band,
    )


def compare(
    measured: Measurement,
    predicted: Results,
    slo: Slo | None = None,
    tolerance: Tolerance | None = None,
    overhead: Overhead | None = None,
) -> Validation:
    """Judge a load test against the simulation of the same scenario (see the module text).

    Args:
        measured: what the load test saw (`planner.loadtest.run`).
        predicted: `simulate.run` of the same scenario over several seeds, the measured
            seed among them; with keep_requests the per-second latency is predicted too.
        slo: the objective; default the scenario's.
        tolerance: the allowances that are not measured; default `Tolerance()`.
        overhead: the measured per-request overhead; default `measured_overhead` of the
            measurement (pass it to judge several predictions with the same one).
    """
    scenario = predicted.scenario
    slo = scenario.slo if slo is None else slo
    tolerance = Tolerance() if tolerance is None else tolerance
    overhead = measured_overhead(measured, scenario) if overhead is None else overhead
    req = measured.requests
    t = req["t_s"].to_numpy(dtype=np.float64)
    status = req["status"].to_numpy(dtype=np.int64)
    rt = req["response_time_s"].to_numpy(dtype=np.float64)
    window = (t >= scenario.warmup_s) & (t < scenario.duration_s)
    st_w = status[window]
    counts = {
        "sent": int(measured.sent),
        "answered": len(req),
        "pending": int(measured.pending),
        "not_sent": int(measured.not_sent),
        "requests": int(window.sum()),
        **_count_statuses(st_w),
    }
    n = counts["requests"]
    n_over = counts["n_503"] + counts["n_429"]
    rate = n_over / n if n else math.nan
    served = rt[window & (((status >= 200) & (status < 300)) | (status == 504))]
    summary = predicted.summary
    seed = measured.seed
    checks = {
        "rate_503": _check(
            "rate_503",
            (rate, *clopper_pearson(n_over, n)) if n else (math.nan,) * 3,
            summary,
            seed,
            tolerance.rate_503_slo_fraction * slo.max_rate_503,
        )
    }
    for name, q in LATENCY_QUANTILES.items():
        allowance = overhead.allowance_at(q)
        check = _check(name, quantile_ci(served, q), summary, seed, allowance)
        # NOTE: the p99 is shown, not judged: in one run it is the few slowest exchanges, and
        # where the queue wait caps latency it sits at the cap plus the machine's jitter.
        checks[name] = replace(check, judged=False) if name in NOT_JUDGED else check
    replicas = replicas_frame(measured, predicted)
    if replicas is not None:
        in_window = replicas[(replicas["t_s"] >= scenario.warmup_s)]
        total = (in_window["measured_ready"] + in_window["measured_starting"]).to_numpy()
        peak = float(total.max()) if total.size else math.nan
        checks["peak_replicas"] = _check(
            "peak_replicas", (peak, peak, peak), summary, seed, tolerance.replicas
        )

    rate_hi = checks["rate_503"].measured_ci95[1]
    slo_judgement = judge_slo(
        rate_503_hi=rate_hi,
        latency_p99_s_hi=checks["latency_p99_s"].measured_ci95[1] if served.size else math.nan,
        slo=slo,
        requests=n,
        basis="measured upper 95 % bound",
    )
    meets = slo_judgement.meets
    reasons = list(slo_judgement.reasons)
    if meets is False:
        count = f" (measured {pct(rate)}: {n_over} of {n})"
        reasons = [f"SLO missed: {r}" + count * r.startswith("rate") for r in reasons]
        if rate <= slo.max_rate_503 < rate_hi:
            reasons.append(too_short(slo.max_rate_503))
    notes = list(measured.notes)
    paired_rep = seed is not None and bool((summary["rep"].to_numpy() == seed).any())
    agrees = n > 0 and paired_rep
    if n > 0 and not paired_rep:
        reasons.append(
            f"seed {seed} (the arrivals sent) is not among the simulated seeds: no paired "
            "prediction to compare with"
        )
    for check in checks.values():
        if check.agrees is False:
            agrees = False
            reasons.append(disagreement(check))
    agrees = validity(measured, counts, reasons, notes) and agrees
    notes.append(overhead.detail)
    if paired_rep:
        row = summary.loc[summary["rep"].to_numpy() == seed].iloc[0]
        notes.append(
            f"seed {seed} was simulated with the very arrivals that were sent: "
            f"{int(row['n_503'])} 503s predicted for it, {n_over} measured; the bands are its "
            f"values ± the spread of the other {len(summary) - 1} seeds"
        )
    if replicas is None:
        notes.append("replicas over time unknown: the endpoint's /stats is not observable")
    platform = measured.platform
    if platform is not None and platform.nodes is not None and "peak_nodes" in summary.columns:
        notes.append(node_note(platform.nodes, summary))
    return Validation(
        checks=checks,
        counts=counts,
        reps=len(summary),
        meets_slo=meets,
        agrees_with_prediction=agrees,
        reasons=tuple(reasons),
        notes=tuple(notes),
        tolerance=tolerance,
        overhead=overhead,
        per_second=per_second_frame(measured, predicted),
        replicas=replicas,
    )
