"""Closed-form recommendation: Azure ML's formula, the queueing view, and min/max/target settings.

`closed_form_recommendation` answers in well under a second from `planner.formulas` alone, with
one line of reasoning per setting. It is pure (no simulation, no I/O) so a simulation-backed
search can start from it and confirm or correct it.

Policy (each step is explainable to a person reading the table):
- replicas: Azure ML's formula ceil(rps × request_time_s / target / max_concurrent).
- min_replicas: the smallest warm pool that carries the peak within the 503 SLO (and the p99
  latency target), M/M/c+D steady state at peak_rps. New replicas need a cold start to become
  ready, so replicas that are not already warm cannot help during a spike.
- max_replicas: `planner.formulas.max_replicas_rule`, the formula's count at the peak plus room
  for Poisson noise, ceil((a + 2√a) / (target × max_concurrent)), never below min_replicas.
- target_utilization: the input target; the reason states what 10 points lower would buy.

The queueing view keeps ONE request-time assumption for every figure: exponential by default
(Erlang C, exact M/M/c+D), or the given squared coefficient of variation through the
approximation of `planner.queueing.mgc_patience`. Its p99 is the response-time quantile
(queue wait + request time) of served requests under that assumption.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from planner.errors import InfeasibleError, ScenarioError
from planner.formulas import (
    MAX_SERVERS,
    NOISE_SIGMAS,
    max_replicas_rule,
    replicas_needed,
    service_quantile_s,
)
from planner.plain import plain
from planner.queueing import mgc_patience, smallest_replicas
from planner.spike_fill import spike_headroom

__all__ = ["NOISE_SIGMAS", "Recommendation", "closed_form_recommendation", "request_time_shape"]

LATENCY_QUANTILE = 0.99
MAX_REQUEST_TIME_S = 1e6  # about 11.6 days: longer is no request-response service
MAX_WAIT_S = 1e9  # about 32 years: a wait limit beyond is no limit
MAX_SCV = 100.0  # squared coefficient of variation: beyond, the mean says little about a request
MIN_TARGET_UTILIZATION = 0.01  # Azure ML takes the target as a whole percent, 1 to 100


def request_time_shape(scv: float) -> str:
    """The request-time assumption in words: exponential, constant, or gamma with this scv."""
    if scv == 1:
        return "exponential request times"
    if scv == 0:
        return "constant request times"
    return f"request times of squared coefficient of variation {scv:g} (gamma)"


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
    request_time_scv: float  # 1 exponential (the default), 0 constant
    # the formula
    concurrent: float  # rps × request_time_s / target_utilization
    replicas: int
    # queueing view at `replicas`, steady state at rps (M/G/c+D; exact M/M/c+D when scv = 1)
    p_wait: float
    wait_p99_s: float  # of served requests
    predicted_latency_p99_s: float  # response time (wait + request time) of served requests
    predicted_rate_503: float
    utilization: float
    # spike view at `replicas` (fluid, "about")
    capacity_rps: float
    spike_absorbed: float
    seconds_to_full: float | None  # at peak_rps, every slot busy; None when the peak fits
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
        return plain(out)  # type: ignore[no-any-return]


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
    scv: float,
) -> None:
    finite = math.isfinite
    _check("rps", rps, finite(rps) and rps > 0, "> 0")
    _check(
        "request_time_s", request_time_s,
        finite(request_time_s) and 0 < request_time_s <= MAX_REQUEST_TIME_S,
        f"in (0, {MAX_REQUEST_TIME_S:g}] s",
    )  # fmt: skip
    _check(
        "max_concurrent",
        max_concurrent,
        isinstance(max_concurrent, int) and 1 <= max_concurrent <= MAX_SERVERS,
        f"an integer in [1, {MAX_SERVERS:.0e}]",
    )
    _check(
        "target_utilization", target_utilization,
        MIN_TARGET_UTILIZATION <= target_utilization <= 1, f"in [{MIN_TARGET_UTILIZATION:g}, 1]",
    )  # fmt: skip
    _check(
        "max_wait_s", max_wait_s, finite(max_wait_s) and 0 <= max_wait_s <= MAX_WAIT_S,
        f"in [0, {MAX_WAIT_S:g}] s",
    )  # fmt: skip
    _check("request_time_scv", scv, finite(scv) and 0 <= scv <= MAX_SCV, f"in [0, {MAX_SCV:g}]")
    _check("peak_rps", peak_rps, finite(peak_rps) and peak_rps >= rps, f">= rps ({rps:g})")
    _check("max_rate_503", max_rate_503, 0 <= max_rate_503 < 1, "in [0, 1)")
    slots = peak_rps * request_time_s / target_utilization
    if not slots <= MAX_SERVERS / 2:  # the cap adds 2√a: keep the rule's answer representable
        raise ScenarioError(
            f"peak_rps × request_time_s / target_utilization must be <= {MAX_SERVERS / 2:.0e} "
            f"slots (the most the closed forms represent): {slots:.3g}"
        )
    if max_rate_503 == 0:
        raise InfeasibleError(
            "max_rate_503 must be > 0 with a finite max_wait_s: some request always waits longer: 0"
        )
    floor_s = service_quantile_s(request_time_s, scv, LATENCY_QUANTILE)
    if latency_p99_s is not None and not latency_p99_s > floor_s:
        raise InfeasibleError(
            f"latency_p99_s must be > the p99 of the request time alone ({floor_s:.4g} s for "
            f"{request_time_shape(scv)} of mean {request_time_s:g} s): {latency_p99_s}"
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
    request_time_scv: float = 1.0,
) -> Recommendation:
    """Size a deployment from closed forms: formula, M/M/c+D view, spike headroom, settings.

    Args:
        rps: steady request rate. request_time_s: mean time one request takes on a replica.
        max_concurrent: requests one replica serves at once. target_utilization: autoscale target.
        max_wait_s: router queue wait before a 503. peak_rps: the spike the warm pool must
            carry (defaults to rps). max_rate_503: 503 SLO. latency_p99_s: optional p99 target.
        request_time_scv: squared coefficient of variation of the request time: 1
            exponential (the default, exact), 0 constant, others through `mgc_patience`.

    Raises:
        ScenarioError: an input breaks its rule (the message names it).
        InfeasibleError: the SLO cannot be met by any replica count.
    """
    peak = rps if peak_rps is None else peak_rps
    _validate(
        rps, request_time_s, max_concurrent, target_utilization, max_wait_s, peak, max_rate_503,
        latency_p99_s, request_time_scv,
    )  # fmt: skip
    scv = request_time_scv
    replicas = replicas_needed(rps, request_time_s, target_utilization, max_concurrent)
    servers = replicas * max_concurrent
    profile = mgc_patience(rps, request_time_s, servers, max_wait_s, scv)
    wait_p99 = profile.wait_quantile(LATENCY_QUANTILE)
    spike = spike_headroom(
        rps, request_time_s, replicas, max_concurrent=max_concurrent, max_wait_s=max_wait_s,
        peak_rps=peak, scv=scv,
    )  # fmt: skip

    try:
        min_replicas = smallest_replicas(
            peak, request_time_s, max_concurrent=max_concurrent, max_wait_s=max_wait_s,
            max_rate_503=max_rate_503, latency_quantile=LATENCY_QUANTILE,
            latency_target_s=latency_p99_s, scv=scv,
        )  # fmt: skip
    except ValueError as exc:
        raise InfeasibleError(f"no replica count meets the SLO at {peak:g} rps: {exc}") from None
    at_min = mgc_patience(peak, request_time_s, min_replicas * max_concurrent, max_wait_s, scv)

    load_peak = peak * request_time_s
    at_target = replicas_needed(peak, request_time_s, target_utilization, max_concurrent)
    max_replicas = max_replicas_rule(
        peak, request_time_s, target_utilization, max_concurrent, min_replicas=min_replicas
    )

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
        request_time_scv=scv,
        concurrent=rps * request_time_s / target_utilization,
        replicas=replicas,
        p_wait=profile.p_wait,
        wait_p99_s=wait_p99,
        predicted_latency_p99_s=profile.response_quantile(LATENCY_QUANTILE),
        predicted_rate_503=profile.rate_503,
        utilization=profile.utilization,
        capacity_rps=spike.capacity_rps,
        spike_absorbed=spike.spike_absorbed,
        seconds_to_full=spike.seconds_to_full,
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
