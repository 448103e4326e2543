"""Closed-form recommendation: Azure ML's formula, the queueing view, and min/max/target settings.

`closed_form_recommendation` answers in well under a second from `planner.formulas` alone, with
one line of reasoning per setting. It is pure (no simulation, no I/O) so a simulation-backed
search can start from it and confirm or correct it.

Policy (each step is explainable to a person reading the table):
- replicas: Azure ML's formula ceil(rps × request_time_s / target / max_concurrent).
- min_replicas: the smallest warm pool that carries the peak within the 503 SLO (and the p99
  latency target), M/M/c+D steady state at peak_rps. New replicas need a cold start to become
  ready, so replicas that are not already warm cannot help during a spike.
- max_replicas: the formula's count at the peak plus room for Poisson noise: the in-flight
  count at load a fluctuates by about √a, so the cap sits two standard deviations above the
  target, ceil((a + 2√a) / (target × max_concurrent)), and never below min_replicas.
- target_utilization: the input target; the reason states what 10 points lower would buy.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from planner.errors import InfeasibleError, ScenarioError
from planner.formulas import mmc_patience, replicas_needed, smallest_replicas, spike_headroom

__all__ = ["Recommendation", "closed_form_recommendation"]

NOISE_SIGMAS = 2.0  # standard deviations of Poisson noise the max_replicas cap leaves room for
LATENCY_QUANTILE = 0.99


@dataclass(frozen=True, slots=True, kw_only=True)
class Recommendation:
    """The formula's answer, what queueing theory says about it, and recommended settings."""

    # inputs
    rps: float
    request_time_s: float
    max_concurrent: int
    target_utilization: float
    max_wait_s: float
    peak_rps: float  # = rps when no peak was given
    max_rate_503: float
    latency_p99_s: float | None
    # the formula
    concurrent: float  # rps × request_time_s / target_utilization
    replicas: int
    # queueing view at `replicas`, steady state at rps (M/M/c+D)
    p_wait: float
    wait_p99_s: float
    predicted_latency_p99_s: float
    predicted_rate_503: float
    utilization: float
    # spike view at `replicas` (fluid)
    capacity_rps: float
    spike_absorbed: float
    seconds_to_first_503: float | None  # at peak_rps; None when the peak fits the capacity
    # recommendation
    min_replicas: int
    max_replicas: int
    recommended_target_utilization: float
    rate_503_at_min_replicas: float  # steady state at peak_rps with min_replicas warm
    reasons: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        """A JSON/YAML-ready dict: inputs, results and reasons (None for 'never').

        Also carries `max_request_wait_s` (= max_wait_s), the scenario and export name, so
        `planner export --from-json` reads the settings directly.
        """
        out = asdict(self)
        out["max_request_wait_s"] = self.max_wait_s
        out["reasons"] = dict(self.reasons)
        return out


def _check(name: str, value: float, ok: bool, rule: str) -> None:
    if not ok:
        raise ScenarioError(f"{name} must be {rule}: {value}")


def _validate(
    rps: float,
    request_time_s: float,
    max_concurrent: int,
    target_utilization: float,
    max_wait_s: float,
    peak_rps: float,
    max_rate_503: float,
    latency_p99_s: float | None,
) -> None:
    finite = math.isfinite
    _check("rps", rps, finite(rps) and rps > 0, "> 0")
    _check("request_time_s", request_time_s, finite(request_time_s) and request_time_s > 0, "> 0")
    _check(
        "max_concurrent",
        max_concurrent,
        isinstance(max_concurrent, int) and max_concurrent >= 1,
        "an integer >= 1",
    )
    _check("target_utilization", target_utilization, 0 < target_utilization <= 1, "in (0, 1]")
    _check("max_wait_s", max_wait_s, finite(max_wait_s) and max_wait_s >= 0, ">= 0")
    _check("peak_rps", peak_rps, finite(peak_rps) and peak_rps >= rps, f">= rps ({rps:g})")
    _check("max_rate_503", max_rate_503, 0 <= max_rate_503 < 1, "in [0, 1)")
    if max_rate_503 == 0:
        raise InfeasibleError(
            "max_rate_503 must be > 0 with a finite max_wait_s: some request always waits longer: 0"
        )
    if latency_p99_s is not None and not latency_p99_s > request_time_s:
        raise InfeasibleError(
            f"latency_p99_s must be > request_time_s ({request_time_s:g} s): {latency_p99_s}"
        )


def closed_form_recommendation(
    *,
    rps: float,
    request_time_s: float = 10.0,
    max_concurrent: int = 1,
    target_utilization: float = 0.7,
    max_wait_s: float = 0.5,
    peak_rps: float | None = None,
    max_rate_503: float = 0.001,
    latency_p99_s: float | None = None,
) -> Recommendation:
    """Size a deployment from closed forms: formula, M/M/c+D view, spike headroom, settings.

    Args:
        rps: steady request rate. request_time_s: mean time one request takes on a replica.
        max_concurrent: requests one replica serves at once. target_utilization: autoscale target.
        max_wait_s: router queue wait before a 503. peak_rps: the spike the warm pool must
            carry (defaults to rps). max_rate_503: 503 SLO. latency_p99_s: optional p99 target.

    Raises:
        ScenarioError: an input breaks its rule (the message names it).
        InfeasibleError: the SLO cannot be met by any replica count.
    """
    peak = rps if peak_rps is None else peak_rps
    _validate(
        rps, request_time_s, max_concurrent, target_utilization, max_wait_s, peak, max_rate_503,
        latency_p99_s,
    )  # fmt: skip
    replicas = replicas_needed(rps, request_time_s, target_utilization, max_concurrent)
    servers = replicas * max_concurrent
    profile = mmc_patience(rps, request_time_s, servers, max_wait_s)
    wait_p99 = profile.wait_quantile(LATENCY_QUANTILE)
    spike = spike_headroom(
        rps, request_time_s, replicas, max_concurrent=max_concurrent, max_wait_s=max_wait_s,
        peak_rps=peak,
    )  # fmt: skip

    try:
        min_replicas = smallest_replicas(
            peak, request_time_s, max_concurrent=max_concurrent, max_wait_s=max_wait_s,
            max_rate_503=max_rate_503, latency_quantile=LATENCY_QUANTILE,
            latency_target_s=latency_p99_s,
        )  # fmt: skip
    except ValueError as exc:
        raise InfeasibleError(f"no replica count meets the SLO at {peak:g} rps: {exc}") from None
    at_min = mmc_patience(peak, request_time_s, min_replicas * max_concurrent, max_wait_s)

    load_peak = peak * request_time_s
    at_target = replicas_needed(peak, request_time_s, target_utilization, max_concurrent)
    with_noise = math.ceil(
        (load_peak + NOISE_SIGMAS * math.sqrt(load_peak)) / (target_utilization * max_concurrent)
        - 1e-9
    )
    max_replicas = max(min_replicas, at_target, with_noise)

    reasons = {
        "replicas": (
            f"Azure ML formula: {rps:g} rps × {request_time_s:g} s / {target_utilization:g} "
            f"/ {max_concurrent} → {replicas} replicas"
        ),
        "min_replicas": _min_reason(peak, rps, max_rate_503, max_wait_s, latency_p99_s),
        "max_replicas": _max_reason(
            max_replicas, min_replicas, at_target, peak, target_utilization, load_peak
        ),
        "target_utilization": _target_reason(
            rps, request_time_s, max_concurrent, target_utilization, replicas
        ),
    }
    return Recommendation(
        rps=rps,
        request_time_s=request_time_s,
        max_concurrent=max_concurrent,
        target_utilization=target_utilization,
        max_wait_s=max_wait_s,
        peak_rps=peak,
        max_rate_503=max_rate_503,
        latency_p99_s=latency_p99_s,
        concurrent=rps * request_time_s / target_utilization,
        replicas=replicas,
        p_wait=profile.p_wait,
        wait_p99_s=wait_p99,
        predicted_latency_p99_s=wait_p99 + request_time_s,
        predicted_rate_503=profile.rate_503,
        utilization=profile.utilization,
        capacity_rps=spike.capacity_rps,
        spike_absorbed=spike.spike_absorbed,
        seconds_to_first_503=spike.seconds_to_first_503,
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        recommended_target_utilization=target_utilization,
        rate_503_at_min_replicas=at_min.rate_503,
        reasons=reasons,
    )


def _min_reason(
    peak: float, rps: float, max_rate_503: float, max_wait_s: float, latency_p99_s: float | None
) -> str:
    at = f"the {peak:g} rps peak" if peak > rps else f"{rps:g} rps (no peak given)"
    latency = "" if latency_p99_s is None else f" and p99 ≤ {latency_p99_s:g} s"
    return (
        f"smallest warm pool keeping 503s ≤ {max_rate_503:.2%} (wait limit {max_wait_s:g} s)"
        f"{latency} at {at}: new replicas need a cold start, so a spike meets only warm ones"
    )


def _max_reason(
    max_replicas: int,
    min_replicas: int,
    at_target: int,
    peak: float,
    target: float,
    load_peak: float,
) -> str:
    if max_replicas == min_replicas and min_replicas >= at_target:
        return (
            f"equal to min_replicas: the warm pool already covers the {at_target} the formula asks"
            " for at the peak, plus Poisson noise"
        )
    return (
        f"{at_target} carry {peak:g} rps at the {target:.0%} target; +{max_replicas - at_target} "
        f"lets the autoscaler follow Poisson noise (±{NOISE_SIGMAS:g}√{load_peak:g} ≈ "
        f"{NOISE_SIGMAS * math.sqrt(load_peak):.0f} in flight) instead of pinning at the cap"
    )


def _target_reason(
    rps: float, request_time_s: float, max_concurrent: int, target: float, replicas: int
) -> str:
    absorbed = 1 / target - 1
    lower = round(target - 0.1, 10)
    if lower <= 0:
        return f"at {target:.0%} a sudden rise of {absorbed:.0%} is absorbed before queueing"
    more = replicas_needed(rps, request_time_s, lower, max_concurrent) - replicas
    return (
        f"at {target:.0%} a sudden rise of {absorbed:.0%} is absorbed before queueing; "
        f"{lower:.0%} would absorb {1 / lower - 1:.0%} for {more} more replicas at {rps:g} rps"
    )
