"""Closed forms for sizing a model-serving deployment: Azure ML's formula, Erlang B/C, M/M/c.

The sizing rules (`replicas_needed`, the max_replicas cap `max_replicas_rule`), the Erlang
B/C probabilities, the plain M/M/c waits, and the request-time distribution (`service_quantile_s`).
The router's patience (M/G/c+D, the 503 rate and the response-time quantiles) is in
`planner.queueing`; the fluid view of a sudden step in traffic in `planner.spike_fill`.

Notation: λ = rps (arrival rate), μ = 1/request_time_s (service rate of one slot),
c = servers = replicas × max_concurrent slots, a = λ/μ (offered load in Erlangs),
ρ = a/c, θ = cμ − λ.

Pure functions on floats (math and fractions; scipy.special is imported inside the few
functions that need it: above 20,000 slots, and for gamma request times, so a small
exponential answer loads no scipy). Invalid arguments raise `ValueError`: callers (the CLI,
the scenario loader) validate first and report the option or field.
References: Kleinrock, *Queueing Systems* I (1975) §3.5-3.6 (M/M/c, Erlang B/C).
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

__all__ = [
    "MAX_SERVERS",
    "NOISE_SIGMAS",
    "erlang_b",
    "erlang_c",
    "max_replicas_rule",
    "mmc_mean_wait_s",
    "mmc_utilization",
    "mmc_wait_quantile",
    "mmc_wait_tail",
    "replicas_needed",
    "service_quantile_s",
]

MAX_SERVERS = 10**9  # the most slots (replicas × max_concurrent) the closed forms represent
NOISE_SIGMAS = 2  # standard deviations of Poisson noise the max_replicas cap leaves room for
_RECURSION_SERVERS = 20_000  # above this, Erlang B comes from the incomplete gamma function


def _exact(name: str, x: float | int | Fraction | Decimal) -> Fraction:
    """Convert a number to a Fraction through its decimal text, so 0.7 is exactly 7/10."""
    if isinstance(x, bool) or not isinstance(x, int | float | Fraction | Decimal):
        raise ValueError(f"{name} must be a number: {x!r}")
    if isinstance(x, float) and not math.isfinite(x):
        raise ValueError(f"{name} must be finite: {x}")
    return Fraction(repr(x)) if isinstance(x, float) else Fraction(x)


def _is_count(x: object, minimum: int) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= minimum


def replicas_needed(
    rps: float,
    request_time_s: float,
    target_utilization: float = 0.7,
    max_concurrent: int = 1,
) -> int:
    """Azure ML's sizing formula: ceil(rps × request_time_s / target_utilization / max_concurrent).

    The inputs are converted exactly from their decimal text, so the ceiling is not fooled by
    binary rounding: 21 rps × 1 s / 0.7 gives 30 (a float computation gives 30.000000000000004
    and 31). Documented example: 20 × 10 / 0.7 / 1 → 286. Reference: Azure ML "Deploy to AKS"
    (v1), section autoscaling; see docs/autoscalers.md §1.3.

    Raises:
        ValueError: rps < 0, request_time_s <= 0, target outside (0, 1], max_concurrent < 1.
    """
    rps_q = _exact("rps", rps)
    time_q = _exact("request_time_s", request_time_s)
    target_q = _exact("target_utilization", target_utilization)
    if rps_q < 0:
        raise ValueError(f"rps must be >= 0: {rps}")
    if time_q <= 0:
        raise ValueError(f"request_time_s must be > 0: {request_time_s}")
    if not 0 < target_q <= 1:
        raise ValueError(f"target_utilization must be in (0, 1]: {target_utilization}")
    if not _is_count(max_concurrent, 1):
        raise ValueError(f"max_concurrent must be an integer >= 1: {max_concurrent!r}")
    return math.ceil(rps_q * time_q / target_q / max_concurrent)


def _check_load(servers: int, offered_load: float) -> None:
    if not _is_count(servers, 0):
        raise ValueError(f"servers must be an integer >= 0: {servers!r}")
    if not (math.isfinite(offered_load) and offered_load >= 0):
        raise ValueError(f"offered_load must be finite and >= 0: {offered_load}")


def erlang_b(servers: int, offered_load: float) -> float:
    """Erlang B blocking probability B(c, A) = (A^c/c!) / Σ_{k≤c} A^k/k!.

    Computed by the stable recursion B(0) = 1, B(n) = A·B(n−1) / (n + A·B(n−1)), which needs no
    factorials (Kleinrock 1975, eq. 3.46); above 20,000 servers in O(1) from the incomplete
    gamma function (see `_log_inverse_erlang_b`).
    """
    _check_load(servers, offered_load)
    if offered_load == 0 or servers == 0:
        return 0.0 if servers else 1.0
    if servers > _RECURSION_SERVERS:
        return math.exp(-_log_inverse_erlang_b(servers, offered_load))
    b = 1.0
    for n in range(1, servers + 1):
        b = offered_load * b / (n + offered_load * b)
    return b


def _log_inverse_erlang_b(servers: int, offered_load: float) -> float:
    """log(1/B(c, A)) = log(Σ_{k≤c} (c!/k!) A^(k−c)), finite even where B underflows.

    Up to 20,000 servers by the recursion 1/B(n) = 1 + (n/A)/B(n−1) (continued in logs);
    beyond, in O(1) from 1/B(c, A) = P(N ≤ c) / P(N = c) for N ~ Poisson(A), with
    P(N ≤ c) = Q(c + 1, A) the regularised upper incomplete gamma function (scipy, imported
    only here). Where Q underflows (A far above c) its asymptote P(N = c)/(1 − c/A) is used.
    """
    if servers > _RECURSION_SERVERS:
        from scipy.special import gammaincc

        log_pmf = servers * math.log(offered_load) - offered_load - math.lgamma(servers + 1)
        q = float(gammaincc(servers + 1, offered_load))
        if q > 0:
            return math.log(q) - log_pmf
        return -math.log1p(-servers / offered_load)
    inv = 1.0  # 1/B(0)
    for n in range(1, servers + 1):
        inv = 1.0 + n / offered_load * inv  # 1/B(n) = 1 + (n/A)/B(n−1)
        if inv > 1e250:  # continue in logs: y = log(1/B), y(n) = log(1 + (n/A)·e^y(n−1))
            y = math.log(inv)
            for m in range(n + 1, servers + 1):
                z = math.log(m / offered_load) + y
                y = z + math.log1p(math.exp(-z)) if z > 0 else math.log1p(math.exp(z))
            return y
    return math.log(inv)


def erlang_c(servers: int, offered_load: float) -> float:
    """Erlang C probability of waiting C(c, A) = c·B / (c − A(1 − B)) for A < c, else 1.

    B = erlang_b(c, A). Equals P(W > 0) in M/M/c (Kleinrock 1975, eq. 3.40).
    """
    _check_load(servers, offered_load)
    if offered_load >= servers:
        return 1.0
    b = erlang_b(servers, offered_load)
    return servers * b / (servers - offered_load * (1.0 - b))


def _rates(rps: float, request_time_s: float, servers: int) -> tuple[float, float]:
    """Check M/M/c inputs; return (a, θ = cμ − λ)."""
    if not (math.isfinite(rps) and rps > 0):
        raise ValueError(f"rps must be finite and > 0: {rps}")
    if not (math.isfinite(request_time_s) and request_time_s > 0):
        raise ValueError(f"request_time_s must be finite and > 0: {request_time_s}")
    if not _is_count(servers, 1):
        raise ValueError(f"servers must be an integer >= 1: {servers!r}")
    return rps * request_time_s, servers / request_time_s - rps


def mmc_utilization(rps: float, request_time_s: float, servers: int) -> float:
    """Offered utilisation ρ = λ / (cμ) = rps × request_time_s / servers (≥ 1 means unstable)."""
    a, _ = _rates(rps, request_time_s, servers)
    return a / servers


def mmc_mean_wait_s(rps: float, request_time_s: float, servers: int) -> float:
    """M/M/c mean queue wait W_q = C(c, a) / (cμ − λ); math.inf when ρ >= 1 (Kleinrock eq. 3.43)."""
    a, theta = _rates(rps, request_time_s, servers)
    return math.inf if theta <= 0 else erlang_c(servers, a) / theta


def mmc_wait_tail(rps: float, request_time_s: float, servers: int, t_s: float) -> float:
    """M/M/c P(W_q > t) = C(c, a)·exp(−(cμ − λ)t) for t >= 0; 1 when ρ >= 1."""
    a, theta = _rates(rps, request_time_s, servers)
    if t_s < 0:
        raise ValueError(f"t_s must be >= 0: {t_s}")
    return 1.0 if theta <= 0 else erlang_c(servers, a) * math.exp(-theta * t_s)


def mmc_wait_quantile(rps: float, request_time_s: float, servers: int, q: float) -> float:
    """M/M/c wait quantile: 0 if q <= 1 − C, else ln(C / (1 − q)) / (cμ − λ); inf when ρ >= 1."""
    a, theta = _rates(rps, request_time_s, servers)
    if not 0 <= q < 1:
        raise ValueError(f"q must be in [0, 1): {q}")
    if theta <= 0:
        return math.inf if q > 0 else 0.0
    c_wait = erlang_c(servers, a)
    return 0.0 if q <= 1 - c_wait else math.log(c_wait / (1 - q)) / theta


def _service_survival(t_s: float, request_time_s: float, scv: float) -> float:
    """P(S > t) for a request time of mean T: exponential (scv 1), constant (0), else gamma."""
    if t_s < 0:
        return 1.0
    if scv == 0:
        return 1.0 if t_s < request_time_s else 0.0
    if scv == 1:
        return math.exp(-t_s / request_time_s)
    from scipy.special import gammaincc

    shape = 1.0 / scv
    return float(gammaincc(shape, t_s * shape / request_time_s))


def service_quantile_s(request_time_s: float, scv: float, q: float) -> float:
    """The q-quantile of the request time alone: T (constant), −T ln(1 − q) (exponential), gamma.

    No replica count brings a response-time quantile below it: it is the floor of any latency
    target.
    """
    if not 0 <= q < 1:
        raise ValueError(f"q must be in [0, 1): {q}")
    if scv == 0:
        return request_time_s
    if scv == 1:
        return -request_time_s * math.log1p(-q)
    from scipy.special import gammainccinv

    shape = 1.0 / scv
    return float(gammainccinv(shape, 1.0 - q)) * request_time_s / shape


def max_replicas_rule(
    peak_rps: float,
    request_time_s: float,
    target_utilization: float = 0.7,
    max_concurrent: int = 1,
    *,
    min_replicas: int = 1,
) -> int:
    """The max_replicas cap: Azure ML's formula at the peak plus room for Poisson noise.

    The in-flight count at offered load a = peak_rps × request_time_s fluctuates by about √a
    (Poisson), so the cap sits NOISE_SIGMAS = 2 standard deviations above the load:
    max(min_replicas, 1, ceil((a + 2√a) / (target_utilization × max_concurrent))). Computed
    exactly, like `replicas_needed`: the smallest integer n with n·k − a >= 2√a,
    k = target × max_concurrent, is found by squaring, (n·k − a)² >= 4a with n·k >= a, in
    rational arithmetic, so no float rounding adds or drops a replica.

    Raises:
        ValueError: as `replicas_needed`, or min_replicas < 0.
    """
    base = replicas_needed(peak_rps, request_time_s, target_utilization, max_concurrent)
    if not _is_count(min_replicas, 0):
        raise ValueError(f"min_replicas must be an integer >= 0: {min_replicas!r}")
    a = _exact("rps", peak_rps) * _exact("request_time_s", request_time_s)
    k = _exact("target_utilization", target_utilization) * max_concurrent

    def enough(n: int) -> bool:
        spare = n * k - a
        return spare >= 0 and spare * spare >= NOISE_SIGMAS**2 * a

    guess = (float(a) + NOISE_SIGMAS * math.sqrt(float(a))) / float(k)
    hi, step = max(base, math.ceil(guess)), 1
    while not enough(hi):  # the float guess is within a unit or two: these loops are short
        hi, step = hi + step, step * 2
    lo, step = hi - 1, 1
    while lo >= 0 and enough(lo):
        hi, lo, step = lo, lo - step, step * 2
    lo = max(lo, -1)
    while hi - lo > 1:  # bisect: lo fails (or is −1), hi is enough
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if enough(mid) else (mid, hi)
    n = hi
    return max(min_replicas, 1, n)
