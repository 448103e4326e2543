"""Does a load test agree with the simulation? Measured vs predicted, with the noise of both.

`compare(measured, predicted, slo, tolerance)` takes what `planner.loadtest.run` measured (one run:
every request's scheduled arrival, status and response time; replicas polled from /stats) and
what `planner.simulate.run` predicted for the same scenario (several seeds), and answers two
questions for `planner loadtest`:

- meets_slo: the measured overload rate (503 and 429 over answered requests that arrived after
  warm-up) is <= slo.max_rate_503 and the measured latency p99 (over served requests: 2xx and
  504) is <= slo.latency_p99_s. Point estimates: one run is one run; the 95 % intervals are
  shown beside them.
- agrees_with_prediction: for the 503 rate and the latency p95, the measurement lies inside
  the predicted band. The band starts from the spread of the simulated replications (a
  Student-t prediction interval for one new run, mean ± t(0.975, n−1)·s·√(1 + 1/n), never
  narrower than the replications' min..max), is widened by the measurement's own noise (the
  width of its 95 % interval: Clopper–Pearson for the rate, order statistics for the
  quantile) and by a stated `Tolerance` (absolute + relative to the prediction) for what the
  simulator does not model (process start-up, HTTP and client overhead). Inside the band is
  the same as: the measured 95 % interval overlaps the tolerance-widened prediction interval.
  Latency p99 is compared in the table but not judged (one run's p99 is too noisy).

The per-second frames to plot come from `planner.loadtest.timeline`.

Pure numpy/pandas: the intervals come from `planner.stats`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from planner.loadtest.timeline import per_second_frame, replicas_frame
from planner.stats import clopper_pearson, prediction_interval, quantile_ci

if TYPE_CHECKING:
    from planner.loadtest.calibrate import Calibration, PlatformTimes
    from planner.scenario import Slo
    from planner.simulate import Results

__all__ = [
    "MEASURED_COLUMNS",
    "REPLICA_COLUMNS",
    "Check",
    "Measurement",
    "Tolerance",
    "Validation",
    "compare",
]

MEASURED_COLUMNS = ("t_s", "lag_s", "status", "response_time_s")
REPLICA_COLUMNS = ("t_s", "ready", "starting", "draining", "queued", "busy", "desired")


# ------------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True, kw_only=True)
class Tolerance:
    """What the simulator is allowed to miss by: absolute + relative to the predicted mean."""

    rate_503_abs: float = 0.01
    rate_503_rel: float = 0.5
    latency_abs_s: float = 0.05
    latency_rel: float = 0.25

    def __post_init__(self) -> None:
        for name in ("rate_503_abs", "rate_503_rel", "latency_abs_s", "latency_rel"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"tolerance {name} must be >= 0: {value!r}")

    def for_metric(self, name: str, predicted: float) -> float:
        """The allowance for `name` (rate_503 or a latency) around a prediction."""
        if name == "rate_503":
            return self.rate_503_abs + self.rate_503_rel * abs(predicted)
        return self.latency_abs_s + self.latency_rel * abs(predicted)


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
    """One metric side by side: measured (95 % CI), predicted (mean, band), verdict."""

    name: str
    measured: float
    measured_ci95: tuple[float, float]
    predicted: float
    predicted_interval: tuple[float, float]
    band: tuple[float, float]
    paired: float = math.nan
    judged: bool = True

    @property
    def agrees(self) -> bool | None:
        """Measured value inside the band (None when not judged or undefined)."""
        if not self.judged or not all(math.isfinite(v) for v in (self.measured, *self.band)):
            return None
        return self.band[0] <= self.measured <= self.band[1]

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-ready values (NaN as null)."""
        return {
            "measured": _num(self.measured),
            "measured_ci95": [_num(v) for v in self.measured_ci95],
            "predicted": _num(self.predicted),
            "predicted_interval": [_num(v) for v in self.predicted_interval],
            "band": [_num(v) for v in self.band],
            "paired": _num(self.paired),
            "agrees": self.agrees,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Validation:
    """The comparison: checks, counts, verdicts and reasons, and per-second frames to plot.

    When the prediction was calibrated (`validation_calibration.compare_calibrated`), the checks
    and verdict are against the calibrated simulation, `specified` is the comparison with the
    scenario as specified and `calibration` says what was replaced.
    """

    checks: dict[str, Check]
    counts: dict[str, int]
    reps: int
    meets_slo: bool | None
    agrees_with_prediction: bool
    reasons: tuple[str, ...]
    notes: tuple[str, ...]
    tolerance: Tolerance
    per_second: pd.DataFrame = field(repr=False)
    replicas: pd.DataFrame | None = field(default=None, repr=False)
    specified: Validation | None = field(default=None, repr=False)
    calibration: Calibration | None = None

    @property
    def ok(self) -> bool:
        """The SLO is met and the measurement agrees with the prediction."""
        return bool(self.meets_slo) and self.agrees_with_prediction

    def to_json_dict(self) -> dict[str, Any]:
        """One JSON object: verdicts first, then each check, calibration, counts, notes."""
        spec = self.specified
        return {
            "ok": self.ok,
            "meets_slo": self.meets_slo,
            "agrees_with_prediction": self.agrees_with_prediction,
            "reasons": list(self.reasons),
            **{name: check.to_json_dict() for name, check in self.checks.items()},
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
    per_rep: np.ndarray,
    tolerance: Tolerance,
    *,
    judged: bool = True,
    floor: float = 0.0,
    paired: int | None = None,
) -> Check:
    x, ci_lo, ci_hi = measured
    mean, pi_lo, pi_hi = prediction_interval(per_rep)
    tol = tolerance.for_metric(name, mean)
    # Inside the band <=> the measured 95 % interval overlaps the tolerance-widened prediction.
    band = (max(floor, pi_lo - tol - (ci_hi - x)), pi_hi + tol + (x - ci_lo))
    if not judged:  # shown for reference only: the bare prediction interval
        band = (max(floor, pi_lo), pi_hi)
    return Check(
        name=name,
        measured=x,
        measured_ci95=(ci_lo, ci_hi),
        predicted=mean,
        predicted_interval=(pi_lo, pi_hi),
        band=band,
        paired=math.nan if paired is None else float(per_rep[paired]),
        judged=judged,
    )


def compare(
    measured: Measurement,
    predicted: Results,
    slo: Slo | None = None,
    tolerance: Tolerance | None = None,
) -> Validation:
    """Judge a load test against the simulation of the same scenario (see the module text).

    Args:
        measured: what the load test saw (`planner.loadtest.run`).
        predicted: `simulate.run` of the same scenario over several seeds; with
            keep_requests the per-second latency is predicted too.
        slo: the objective; default the scenario's.
        tolerance: allowances for what the simulator does not model; default `Tolerance()`.
    """
    scenario = predicted.scenario
    slo = scenario.slo if slo is None else slo
    tolerance = Tolerance() if tolerance is None else tolerance
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
    same = np.flatnonzero(summary["rep"].to_numpy() == measured.seed)
    paired = int(same[0]) if measured.seed is not None and same.size else None
    checks = {
        "rate_503": _check(
            "rate_503",
            (rate, *clopper_pearson(n_over, n)) if n else (math.nan,) * 3,
            summary["rate_503"].to_numpy(dtype=np.float64),
            tolerance,
            paired=paired,
        ),
        "latency_p95_s": _check(
            "latency_p95_s",
            quantile_ci(served, 0.95),
            summary["latency_p95_s"].to_numpy(dtype=np.float64),
            tolerance,
            paired=paired,
        ),
        "latency_p99_s": _check(
            "latency_p99_s",
            quantile_ci(served, 0.99),
            summary["latency_p99_s"].to_numpy(dtype=np.float64),
            tolerance,
            judged=False,
            paired=paired,
        ),
    }
    replicas = replicas_frame(measured, predicted)
    if replicas is not None:
        in_window = replicas[(replicas["t_s"] >= scenario.warmup_s)]
        total = (in_window["measured_ready"] + in_window["measured_starting"]).to_numpy()
        peak = float(total.max()) if total.size else math.nan
        checks["peak_replicas"] = _check(
            "peak_replicas",
            (peak, peak, peak),
            summary["peak_replicas"].to_numpy(dtype=np.float64),
            tolerance,
            judged=False,
            paired=paired,
        )

    reasons: list[str] = []
    notes = list(measured.notes)
    meets: bool | None = None
    if n == 0:
        reasons.append("no request was answered after warm-up: nothing to judge")
    else:
        meets = True
        if rate > slo.max_rate_503:
            meets = False
            ci = checks["rate_503"].measured_ci95
            reasons.append(
                f"SLO missed: measured 503 rate {_pct(rate)} ({n_over} of {n}; 95 % CI "
                f"{_pct(ci[0])} – {_pct(ci[1])}) > slo.max_rate_503 {_pct(slo.max_rate_503)}"
            )
        p99 = checks["latency_p99_s"].measured
        if not math.isfinite(p99):
            meets = False
            reasons.append("SLO missed: no request was served, latency p99 undefined")
        elif p99 > slo.latency_p99_s:
            meets = False
            reasons.append(
                f"SLO missed: measured latency p99 {p99:.3f} s > slo.latency_p99_s "
                f"{slo.latency_p99_s:g} s"
            )
    agrees = n > 0
    for check in checks.values():
        if check.agrees is False:
            agrees = False
            side = "above" if check.measured > check.band[1] else "below"
            label = "503 rate" if check.name == "rate_503" else check.name
            fmt = _pct if check.name == "rate_503" else (lambda v: f"{v:.3f} s")
            reasons.append(
                f"disagrees with the prediction: measured {label} {fmt(check.measured)} is "
                f"{side} the predicted band {fmt(check.band[0])} – {fmt(check.band[1])} "
                f"(simulated mean {fmt(check.predicted)} over {len(summary)} seeds)"
            )
    agrees = _validity(measured, counts, reasons, notes) and agrees
    if paired is not None:
        notes.append(
            f"seed {measured.seed} was simulated with the very arrivals that were sent: "
            f"{int(summary['n_503'].iloc[paired])} 503s predicted for it, "
            f"{counts['n_503'] + counts['n_429']} measured"
        )
    if replicas is None:
        notes.append("replicas over time unknown: the endpoint's /stats is not observable")
    return Validation(
        checks=checks,
        counts=counts,
        reps=len(summary),
        meets_slo=meets,
        agrees_with_prediction=agrees,
        reasons=tuple(reasons),
        notes=tuple(notes),
        tolerance=tolerance,
        per_second=per_second_frame(measured, predicted),
        replicas=replicas,
    )


def _validity(
    measured: Measurement, counts: dict[str, int], reasons: list[str], notes: list[str]
) -> bool:
    """Reasons the measurement itself cannot be compared; False if there are any."""
    valid = True
    if measured.aborted:
        valid = False
        reasons.append(f"load test aborted: {measured.aborted}")
    if counts["n_other"]:
        valid = False
        statuses = measured.requests["status"]
        other = sorted(set(statuses[~statuses.isin((0, 429, 503, 504))]) - set(range(200, 300)))
        hint = " (check --key)" if {401, 403} & set(other) else ""
        reasons.append(
            f"{counts['n_other']} requests answered {', '.join(map(str, other))}, which the "
            f"simulation does not model{hint}"
        )
    lost = counts["n_no_answer"] + counts["pending"]
    if lost:
        valid = False
        reasons.append(f"{lost} requests got no HTTP answer (connection error or still pending)")
    lag = measured.requests["lag_s"].to_numpy(dtype=np.float64)
    lag_p99 = float(np.quantile(lag, 0.99)) if lag.size else 0.0
    if lag_p99 > 0.25:
        valid = False
        reasons.append(
            f"the load generator fell behind: 1 % of requests left more than {lag_p99:.2f} s "
            "late, so the offered load was not the scenario's (try --workers)"
        )
    elif lag.size:
        notes.append(f"load generator lag: p99 {lag_p99 * 1000:.1f} ms after schedule")
    return valid


def _pct(x: float) -> str:
    if not math.isfinite(x):
        return "n/a"
    return f"{100 * x:.2f} %" if x >= 0.0001 or x == 0 else f"{100 * x:.2g} %"
