"""Calibrate the prediction with what the local deployment measured about itself.

A real replica takes longer to become ready than the scenario's `service.cold_start_s`: the
local deployment adds the configured cold start to the real process start, imports and
`init()`. A request holds its replica slot for the score's service time plus the router's
HTTP hop. The simulator is told neither, so its prediction of a spike is optimistic.

`platform_times(before, after)` reads the two /stats documents taken around the load test: the
request-to-ready time of every replica started during the test (`replica_start_s.samples_s`;
the initial replicas' when none started) and the mean slot time (`busy_seconds /
dispatched`). `calibrate(scenario, platform)` replaces `service.cold_start_s` by the measured
start times (a constant of their mean, or their empirical distribution when there are >= 3) and
scales `service.request_time_s` so that its mean is the measured slot time, keeping its shape
(a constant becomes the measured mean; exponential, lognormal sigma, gamma shape and empirical
samples are scaled). `compare_calibrated` judges the measurement against the calibrated
simulation and keeps the comparison with the scenario as specified beside it, so a reader sees
how much of the gap is the platform's own start-up overhead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from planner.distributions import Constant, Empirical, Exponential, Gamma, Lognormal
from planner.loadtest.compare import Validation, compare

if TYPE_CHECKING:
    from planner.distributions import Distribution
    from planner.loadtest.compare import Measurement, Tolerance
    from planner.scenario import Scenario, Slo
    from planner.simulate import Results

__all__ = [
    "EMPIRICAL_MIN_STARTS",
    "Calibration",
    "PlatformTimes",
    "calibrate",
    "calibration_overrides",
    "compare_calibrated",
    "platform_times",
    "scaled_spec",
]

EMPIRICAL_MIN_STARTS = 3  # fewer measured starts: a constant of their mean


@dataclass(frozen=True, slots=True, kw_only=True)
class PlatformTimes:
    """What a local deployment measured about itself during a load test.

    `start_times_s`: request-to-ready time of each replica start (the supervisor's decision to
    the replica's READY); `starts_during_test` says whether they are the starts during the
    test (else those of the initial replicas, at deployment start). `slot_time_s`: mean time a
    request held a replica slot, over `dispatched` requests (NaN when none was). `nodes`, with a
    node pool: the phases' means and maxima (/stats `nodes.phases`), `peak_nodes`, and each
    replica's node, request and ready times and phases (`replicas`); with a node pool the start
    times are the cold-start phase alone (process start to ready).
    """

    start_times_s: tuple[float, ...]
    starts_during_test: bool
    slot_time_s: float
    dispatched: int
    nodes: dict[str, Any] | None = None

    @property
    def mean_start_s(self) -> float:
        """Mean request-to-ready time (NaN without a start)."""
        n = len(self.start_times_s)
        return math.fsum(self.start_times_s) / n if n else math.nan


def platform_times(before: dict[str, Any], after: dict[str, Any]) -> PlatformTimes:
    """PlatformTimes from the /stats documents taken before and after the load test."""
    starts_before = before.get("replica_start_s") or {}
    starts_after = after.get("replica_start_s") or {}
    samples = [float(x) for x in starts_after.get("samples_s", [])]
    n_new = int(starts_after.get("count", 0)) - int(starts_before.get("count", 0))
    during = 0 < n_new <= len(samples)
    chosen = samples[len(samples) - n_new :] if during else samples
    dispatched = int(after.get("dispatched", 0)) - int(before.get("dispatched", 0))
    busy_s = float(after.get("busy_seconds", 0.0)) - float(before.get("busy_seconds", 0.0))
    nodes = None
    if "nodes" in after:
        # The rows the phase means and maxima are taken over: every replica that became ready,
        # also one scaled away before the last poll (the replica_list has only live ones).
        replicas = [dict(r) for r in after["nodes"].get("ready_replicas") or []]
        nodes = {
            "phases": dict(after["nodes"].get("phases") or {}),
            "peak_nodes": after["nodes"].get("peak_nodes"),
            "replicas": replicas,
        }
    return PlatformTimes(
        start_times_s=tuple(chosen),
        starts_during_test=during,
        slot_time_s=busy_s / dispatched if dispatched > 0 else math.nan,
        dispatched=max(dispatched, 0),
        nodes=nodes,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Calibration:
    """The overrides of the calibrated scenario, and the specified vs measured means."""

    overrides: dict[str, Any] = field(default_factory=dict)
    specified_cold_start_s: float
    measured_cold_start_s: float
    n_starts: int
    starts_during_test: bool
    specified_request_time_s: float
    measured_request_time_s: float
    n_requests: int

    @property
    def detail(self) -> str:
        """`cold start 6.31 s measured vs 5 s specified, request 0.204 s vs 0.2 s`."""
        if math.isfinite(self.measured_cold_start_s):
            cold = (
                f"cold start {_s(self.measured_cold_start_s)} measured vs "
                f"{_s(self.specified_cold_start_s)} specified"
            )
        else:
            cold = f"cold start {_s(self.specified_cold_start_s)} (no start measured)"
        if math.isfinite(self.measured_request_time_s):
            request = (
                f"request {_s(self.measured_request_time_s)} vs {_s(self.specified_request_time_s)}"
            )
        else:
            request = f"request {_s(self.specified_request_time_s)} (not measured)"
        return f"{cold}, {request}"

    @property
    def label(self) -> str:
        """`calibrated: ` and the detail."""
        return f"calibrated: {self.detail}"

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-ready: both means of each, the sample sizes and the overrides applied."""
        return {
            "label": self.label,
            "cold_start_s": {
                "specified": self.specified_cold_start_s,
                "measured": _num(self.measured_cold_start_s),
                "starts": self.n_starts,
                "starts_during_test": self.starts_during_test,
            },
            "request_time_s": {
                "specified": self.specified_request_time_s,
                "measured": _num(self.measured_request_time_s),
                "requests": self.n_requests,
            },
            "overrides": dict(self.overrides),
        }


def scaled_spec(dist: Distribution, mean_s: float) -> Any:
    """The scenario spec of `dist` with its mean moved to `mean_s`, its shape kept.

    A constant becomes `mean_s`; an exponential gets the new mean; a lognormal keeps sigma and
    a gamma its shape (so the scv is unchanged); empirical samples are multiplied by
    mean_s / mean.
    """
    if isinstance(dist, Constant) or dist.mean_s <= 0:
        return float(mean_s)
    if isinstance(dist, Exponential):
        return {"dist": "exponential", "mean": float(mean_s)}
    if isinstance(dist, Lognormal):
        return {"dist": "lognormal", "mean": float(mean_s), "sigma": dist.sigma}
    if isinstance(dist, Gamma):
        return {"dist": "gamma", "mean": float(mean_s), "shape": dist.shape}
    if isinstance(dist, Empirical):
        factor = mean_s / dist.mean_s
        return {"dist": "empirical", "samples": [x * factor for x in dist.samples_s]}
    raise TypeError(f"unknown distribution: {dist!r}")


def calibration_overrides(scenario: Scenario, platform: PlatformTimes) -> dict[str, Any]:
    """`with_overrides` paths: the measured start times and slot time (only what was measured)."""
    overrides: dict[str, Any] = {}
    starts = platform.start_times_s
    if len(starts) >= EMPIRICAL_MIN_STARTS:
        overrides["service.cold_start_s"] = {"dist": "empirical", "samples": list(starts)}
    elif starts:
        overrides["service.cold_start_s"] = platform.mean_start_s
    if math.isfinite(platform.slot_time_s) and platform.slot_time_s > 0:
        request = scenario.service.request_time_s
        overrides["service.request_time_s"] = scaled_spec(request, platform.slot_time_s)
    return overrides


def calibrate(scenario: Scenario, platform: PlatformTimes) -> tuple[Scenario, Calibration]:
    """The scenario with the measured start and slot times, and what was replaced."""
    from planner.scenario import with_overrides

    overrides = calibration_overrides(scenario, platform)
    service = scenario.service
    calibration = Calibration(
        overrides=overrides,
        specified_cold_start_s=service.cold_start_s.mean_s,
        measured_cold_start_s=platform.mean_start_s,
        n_starts=len(platform.start_times_s),
        starts_during_test=platform.starts_during_test,
        specified_request_time_s=service.request_time_s.mean_s,
        measured_request_time_s=platform.slot_time_s,
        n_requests=platform.dispatched,
    )
    if not overrides:
        return scenario, calibration
    return with_overrides(scenario, overrides, warn=False), calibration


def compare_calibrated(
    measured: Measurement,
    specified: Results,
    calibrated: Results,
    calibration: Calibration,
    slo: Slo | None = None,
    tolerance: Tolerance | None = None,
) -> Validation:
    """The verdict against the calibrated prediction, with the as-specified one beside it.

    Both simulations must use the same seeds (common random numbers: the arrivals are the
    same, only the start and service times differ). The result is the calibrated `compare`
    with `specified` (the as-specified comparison), `calibration`, and the as-specified
    predictions added to its per-second frames (`specified_503`, `specified_p95_s`,
    `specified_total`) for the plot.
    """
    slo = specified.scenario.slo if slo is None else slo
    v_cal = compare(measured, calibrated, slo, tolerance)
    v_spec = compare(measured, specified, slo, tolerance)
    per_second = v_cal.per_second.assign(
        specified_503=v_spec.per_second["predicted_503"].to_numpy(),
        specified_p95_s=v_spec.per_second["predicted_p95_s"].to_numpy(),
    )
    replicas = v_cal.replicas
    if replicas is not None and v_spec.replicas is not None:
        spec_total = v_spec.replicas["predicted_ready"] + v_spec.replicas["predicted_starting"]
        replicas = replicas.assign(specified_total=spec_total.to_numpy())
    where = "during the test" if calibration.starts_during_test else "at deployment start"
    notes = [
        *v_cal.notes,
        f"the verdict uses the prediction calibrated with what the local deployment measured "
        f"({calibration.detail}; {calibration.n_starts} replica starts {where}, "
        f"{calibration.n_requests} requests)",
    ]
    spec_503 = v_spec.checks["rate_503"]
    paired = f", paired seed {_pct(spec_503.paired)}" if math.isfinite(spec_503.paired) else ""
    agree = "agrees" if v_spec.agrees_with_prediction else "would NOT agree"
    notes.append(
        f"as specified, the simulator predicts {_pct(spec_503.predicted)} 503s{paired}; "
        f"the measurement {agree} with that"
    )
    return replace(
        v_cal,
        per_second=per_second,
        replicas=replicas,
        notes=tuple(notes),
        specified=v_spec,
        calibration=calibration,
    )


def _s(x: float) -> str:
    return f"{x:.3g} s"


def _pct(x: float) -> str:
    return f"{100 * x:.2f} %" if math.isfinite(x) else "n/a"


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None
