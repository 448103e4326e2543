"""Closed forms for sizing a model-serving deployment: Azure ML's formula, Erlang B/C, M/M/c(+D).

Notation: λ = rps (arrival rate), μ = 1/request_time_s (service rate of one slot),
c = servers = replicas × max_concurrent slots, a = λ/μ (offered load in Erlangs),
ρ = a/c, θ = cμ − λ, τ = max_wait_s (the router's patience before a 503).

Pure functions on floats (math and fractions only). Invalid arguments raise `ValueError`:
callers (the CLI, the scenario loader) validate first and report the option or field.
References: Kleinrock, *Queueing Systems* I (1975) §3.5-3.6 (M/M/c, Erlang B/C);
Allen, *Probability, Statistics and Queueing Theory* (1990) (Allen-Cunneen);
Baccelli & Hébuterne (1981) and Zeltyn & Mandelbaum, *Queueing Systems* 51 (2005) (M/M/n+G);
Barrer, *Operations Research* 5 (1957) (M/M/1 with deterministic impatience).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

__all__ = [
    "SpikeHeadroom",
    "WaitProfile",
    "erlang_b",
    "erlang_c",
    "mgc_mean_wait_s",
    "mmc_mean_wait_s",
    "mmc_patience",
    "mmc_utilization",
    "mmc_wait_quantile",
    "mmc_wait_tail",
    "replicas_needed",
    "smallest_replicas",
    "spike_headroom",
]

_MAX_REPLICAS_SEARCHED = 10_000_000


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
    (v1), section autoscaling; see `reference/autoscalers.md` §1.2 item 5.

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
    factorials and is fine for thousands of servers (Kleinrock 1975, eq. 3.46).
    """
    _check_load(servers, offered_load)
    b = 1.0
    for n in range(1, servers + 1):
        b = offered_load * b / (n + offered_load * b)
    return b


def _log_inverse_erlang_b(servers: int, offered_load: float) -> float:
    """log(1/B(c, A)) = log(Σ_{k≤c} (c!/k!) A^(k−c)), finite even where B underflows."""
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


def mgc_mean_wait_s(rps: float, request_time_s: float, servers: int, scv: float = 1.0) -> float:
    """Allen-Cunneen / Kingman approximation for M/G/c: W_q ≈ W_q(M/M/c) × (1 + scv) / 2.

    scv is the squared coefficient of variation of the request time (0 constant, 1 exponential;
    Poisson arrivals have scv 1). An approximation, exact for scv = 1 and for M/G/1 (Pollaczek-
    Khinchine); Allen (1990) §6.
    """
    if not (math.isfinite(scv) and scv >= 0):
        raise ValueError(f"scv must be finite and >= 0: {scv}")
    return mmc_mean_wait_s(rps, request_time_s, servers) * (1 + scv) / 2


def _log_phi0(u: float) -> float:
    """log of φ0(u) = ∫_0^1 e^(−us) ds = (1 − e^−u)/u, any sign of u."""
    if abs(u) < 1e-4:
        return math.log1p(-u / 2 + u * u / 6)
    if u > 0:
        return math.log(-math.expm1(-u) / u)
    return -u + math.log(-math.expm1(u)) - math.log(-u)


def _log_phi1(u: float) -> float:
    """log of φ1(u) = ∫_0^1 s e^(−us) ds = (1 − e^−u(1 + u))/u², any sign of u."""
    if abs(u) < 1e-3:
        return math.log(0.5 - u / 3 + u * u / 8 - u**3 / 30)
    if u > 0:
        return math.log((-math.expm1(-u) - u * math.exp(-u)) / (u * u))
    v = -u  # φ1(−v) = e^v ∫_0^1 (1 − t) e^(−vt) dt = e^v (v + e^−v − 1)/v²
    return v + math.log((v + math.expm1(-v)) / (v * v))


def _logsumexp(*xs: float) -> float:
    top = max(xs)
    if top == -math.inf:
        return top
    return top + math.log(sum(math.exp(x - top) for x in xs))


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitProfile:
    """Steady state of M/M/c+D: Poisson arrivals, c slots, exponential service, patience τ.

    Attributes:
        p_wait: P(an arrival finds every slot busy) = P(V > 0): it queues, then is served or 503s.
        rate_503: P(V > τ): fraction of arrivals that wait τ and get 503.
        mean_wait_s: mean queue wait of the served (non-503) requests.
        utilization: fraction of slots busy = λ(1 − rate_503) / (cμ).
        p_idle: P(V = 0). On (0, τ), V has the density exp(log_density_at_zero − decay_per_s·x).
    """

    servers: int
    max_wait_s: float
    p_wait: float
    rate_503: float
    mean_wait_s: float
    utilization: float
    p_idle: float
    log_density_at_zero: float
    decay_per_s: float

    @property
    def p_wait_served(self) -> float:
        """P(wait > 0) among served requests."""
        return max(0.0, self.p_wait - self.rate_503) / (1.0 - self.rate_503)

    def wait_quantile(self, q: float) -> float:
        """The q-quantile of the queue wait of served requests (0 inside the atom at zero)."""
        if not 0 <= q <= 1:
            raise ValueError(f"q must be in [0, 1]: {q}")
        served, theta, tau = 1.0 - self.rate_503, self.decay_per_s, self.max_wait_s
        if q == 1 or served <= 0:
            return tau if served > 0 else 0.0
        if theta > 0:  # solve P(W > t | served) = 1 − q from the tail: accurate for high q
            # ∫_t^τ e^(−θx) dx = (1 − q)·served / f(0)  ⇔  e^(−θt) = θ·that + e^(−θτ)
            log_tail = math.log(theta * (1 - q) * served) - self.log_density_at_zero
            if log_tail >= 0:
                return 0.0
            inner = math.exp(log_tail) + (0.0 if math.isinf(tau) else math.exp(-theta * tau))
            t = -math.log(inner) / theta
        else:  # θ <= 0: solve from the head, ∫_0^t e^(|θ|x) dx = (q·served − P(V=0)) / f(0)
            mass = q * served - self.p_idle
            if mass <= 0:
                return 0.0
            log_k = math.log(mass) - self.log_density_at_zero
            if theta == 0:
                t = math.exp(log_k)
            else:
                z = math.log(-theta) + log_k  # t = log(1 + |θ|k) / |θ|
                t = (z + math.log1p(math.exp(-z)) if z > 0 else math.log1p(math.exp(z))) / -theta
        return min(max(t, 0.0), tau)


def mmc_patience(rps: float, request_time_s: float, servers: int, max_wait_s: float) -> WaitProfile:
    """M/M/c+D: the 503 rate and waits when the router rejects requests queued longer than τ.

    Exact stationary solution (Baccelli & Hébuterne 1981; Zeltyn & Mandelbaum 2005 with
    deterministic patience): π_j = π_0 a^j/j! for j < c; virtual wait V has the density
    f(x) = λπ_{c−1} e^(−θx) on (0, τ) and λπ_{c−1} e^(−θτ) e^(−cμ(x−τ)) beyond τ, and
    Σ_j π_j + ∫f = 1. Then P(503) = P(V > τ) = λπ_{c−1} e^(−θτ) / (cμ). Works for λ >= cμ too
    (the integral is finite). τ = 0 gives Erlang B; c = 1 gives Barrer's M/M/1+D
    ρE(1 − ρ)/(1 − ρ²E), E = e^(−(μ−λ)τ); τ = inf (needs ρ < 1) gives Erlang C and no 503s.
    Computed in logs, so thousands of servers neither overflow nor underflow to NaN.
    """
    a, theta = _rates(rps, request_time_s, servers)
    if math.isnan(max_wait_s) or max_wait_s < 0:
        raise ValueError(f"max_wait_s must be >= 0: {max_wait_s}")
    tau = float(max_wait_s)
    if math.isinf(tau) and theta <= 0:
        raise ValueError(f"an unlimited wait needs rps < servers / request_time_s: {rps}")
    log_rps, log_cmu = math.log(rps), math.log(servers / request_time_s)
    log_idle = _log_inverse_erlang_b(servers - 1, a)  # log(Σ_{j<c} π_j / π_{c−1})
    if math.isinf(tau):
        log_queue, log_503, log_mean = log_rps - math.log(theta), -math.inf, -2 * math.log(theta)
    elif tau == 0:
        log_queue, log_503, log_mean = -math.inf, log_rps - log_cmu, -math.inf
    else:
        u = theta * tau
        log_queue = log_rps + math.log(tau) + _log_phi0(u)  # λ∫_0^τ e^(−θx)dx
        log_503 = log_rps - log_cmu - u
        log_mean = 2 * math.log(tau) + _log_phi1(u)  # ∫_0^τ x e^(−θx)dx
    log_norm = _logsumexp(log_idle, log_queue, log_503)  # = −log π_{c−1}
    # NOTE: carried load <= c; the clamp only absorbs rounding of large exponents in overload.
    rate_503 = max(math.exp(log_503 - log_norm), 1.0 - servers / a)
    served = 1.0 - rate_503
    mean_wait = math.exp(log_rps + log_mean - log_norm) / served if served > 0 else tau
    return WaitProfile(
        servers=servers,
        max_wait_s=tau,
        p_wait=math.exp(_logsumexp(log_queue, log_503) - log_norm),
        rate_503=rate_503,
        mean_wait_s=mean_wait,
        utilization=a * served / servers,
        p_idle=math.exp(log_idle - log_norm),
        log_density_at_zero=log_rps - log_norm,
        decay_per_s=theta,
    )


def smallest_replicas(
    rps: float,
    request_time_s: float,
    *,
    max_concurrent: int = 1,
    max_wait_s: float = 0.5,
    max_rate_503: float = 0.001,
    latency_quantile: float = 0.99,
    latency_target_s: float | None = None,
    scv: float = 1.0,
) -> int:
    """Smallest replica count whose M/M/c+D steady state meets the 503 and latency targets.

    The 503 rate comes from `mmc_patience` (exponential request times). The latency quantile is
    approximated by min(τ, wait quantile × (1 + scv)/2) + request_time_s: exact for the wait
    part when scv = 1, Allen-Cunneen scaling otherwise, and the service part taken at its mean
    (exact for constant request times). Both measures fall as replicas grow, so the search
    gallops up from the load bound c >= a(1 − max_rate_503) and then bisects.

    Raises:
        ValueError: bad arguments, a latency target <= request_time_s, max_rate_503 <= 0 with a
            finite max_wait_s, or no answer below 10 million replicas.
    """
    _rates(rps, request_time_s, max_concurrent)
    if not 0 <= max_rate_503 <= 1:
        raise ValueError(f"max_rate_503 must be in [0, 1]: {max_rate_503}")
    if max_rate_503 <= 0 and not math.isinf(max_wait_s):
        raise ValueError("max_rate_503 must be > 0 when max_wait_s is finite: 0")
    if not 0 < latency_quantile < 1:
        raise ValueError(f"latency_quantile must be in (0, 1): {latency_quantile}")
    if latency_target_s is not None and latency_target_s <= request_time_s:
        raise ValueError(
            f"latency_target_s must be > request_time_s ({request_time_s}): {latency_target_s}"
        )

    def meets(replicas: int) -> bool:
        servers = replicas * max_concurrent
        if math.isinf(max_wait_s) and servers / request_time_s <= rps:
            return False
        profile = mmc_patience(rps, request_time_s, servers, max_wait_s)
        if profile.rate_503 > max_rate_503:
            return False
        if latency_target_s is None:
            return True
        wait_s = min(max_wait_s, profile.wait_quantile(latency_quantile) * (1 + scv) / 2)
        return wait_s + request_time_s <= latency_target_s

    # Fewer than a(1 − r) slots cannot carry the load: the 503 rate is at least 1 − c/a.
    lo = max(0, math.floor(rps * request_time_s * (1 - max_rate_503) / max_concurrent) - 1)
    step, hi = 1, lo + 1
    while not meets(hi):
        lo, hi, step = hi, hi + step, step * 2
        if hi > _MAX_REPLICAS_SEARCHED:
            raise ValueError(f"no replica count below {_MAX_REPLICAS_SEARCHED} meets the targets")
    while hi - lo > 1:  # invariant: lo fails (or is 0), hi meets
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if meets(mid) else (mid, hi)
    return hi


@dataclass(frozen=True, slots=True, kw_only=True)
class SpikeHeadroom:
    """How much sudden extra traffic a fixed set of warm replicas absorbs."""

    capacity_rps: float  # replicas × max_concurrent / request_time_s
    spike_absorbed: float  # capacity_rps / rps − 1: a jump this large does not build a queue
    peak_rps: float | None
    seconds_to_first_503: float | None  # None: the peak fits the capacity (never, when fluid)


def spike_headroom(
    rps: float,
    request_time_s: float,
    replicas: int,
    *,
    max_concurrent: int = 1,
    max_wait_s: float = 0.5,
    peak_rps: float | None = None,
) -> SpikeHeadroom:
    """Fluid view of a sudden spike on a fixed, warm set of replicas (no new replicas arrive).

    capacity = replicas × max_concurrent / request_time_s. A step to peak_rps > capacity grows
    the queue by (peak − capacity) requests per second; the newest request waits
    queue / capacity, so it first exceeds max_wait_s (the first 503s) after
    capacity × max_wait_s / (peak − capacity) seconds. Deterministic (fluid) approximation:
    it ignores the queue already present and Poisson noise, so treat it as an upper bound.
    """
    _rates(rps, request_time_s, replicas * max_concurrent)
    if max_wait_s < 0:
        raise ValueError(f"max_wait_s must be >= 0: {max_wait_s}")
    capacity = replicas * max_concurrent / request_time_s
    seconds: float | None = None
    if peak_rps is not None:
        if not (math.isfinite(peak_rps) and peak_rps > 0):
            raise ValueError(f"peak_rps must be finite and > 0: {peak_rps}")
        if peak_rps > capacity:
            seconds = capacity * max_wait_s / (peak_rps - capacity)
    return SpikeHeadroom(
        capacity_rps=capacity,
        spike_absorbed=capacity / rps - 1,
        peak_rps=peak_rps,
        seconds_to_first_503=seconds,
    )
