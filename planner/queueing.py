"""The router's patience in closed form: M/M/c+D exactly, M/G/c+D approximately.

Poisson arrivals, c slots, request times of mean T, and a router that rejects (503) a request
queued longer than τ = max_wait_s. `mmc_patience` solves the exponential case exactly,
`mgc_patience` scales it for another request-time variability (squared coefficient of
variation scv), and `smallest_replicas` searches the smallest replica count that meets a
503 rate and a response-time quantile. Both return a `WaitProfile`.

Notation as in `planner.formulas`: λ = rps, μ = 1/request_time_s, c = servers, a = λ/μ,
ρ = a/c, θ = cμ − λ, τ = max_wait_s.

References: Allen, *Probability, Statistics and Queueing Theory* (1990) (Allen-Cunneen);
Baccelli & Hébuterne (1981) and Zeltyn & Mandelbaum, *Queueing Systems* 51 (2005) (M/M/n+G);
Barrer, *Operations Research* 5 (1957) (M/M/1 with deterministic impatience);
Kingman (1961) and Whitt (1993) (heavy-traffic scaling of the wait by (1 + scv)/2);
Cosmetatos (1976) (M/D/c).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from planner.formulas import (
    MAX_SERVERS,
    _log_inverse_erlang_b,
    _rates,
    _service_survival,
    mmc_mean_wait_s,
    service_quantile_s,
)

__all__ = [
    "WaitProfile",
    "mgc_mean_wait_s",
    "mgc_patience",
    "mmc_patience",
    "smallest_replicas",
]


def mgc_mean_wait_s(rps: float, request_time_s: float, servers: int, scv: float = 1.0) -> float:
    """M/G/c mean wait approximated as W_q(M/M/c) × `_wait_scale(ρ, c, scv)`.

    scv is the squared coefficient of variation of the request time (0 constant, 1 exponential).
    Above scv 1 the scale is Allen-Cunneen's (1 + scv)/2 (Allen 1990 §6); below, Cosmetatos'
    M/D/c correction interpolated in scv. Exact for scv = 1 and for M/G/1 (Pollaczek-Khinchine).
    """
    if not (math.isfinite(scv) and scv >= 0):
        raise ValueError(f"scv must be finite and >= 0: {scv}")
    wait = mmc_mean_wait_s(rps, request_time_s, servers)
    return wait * _wait_scale(rps * request_time_s / servers, servers, scv)


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
    if u > 0:  # 1 − e^−u(1 + u), in logs so that a huge u neither overflows nor hits log(0)
        return math.log1p(-math.exp(-u + math.log1p(u))) - 2 * math.log(u)
    v = -u  # φ1(−v) = e^v ∫_0^1 (1 − t) e^(−vt) dt = e^v (v + e^−v − 1)/v²
    return v + math.log((v + math.expm1(-v)) / (v * v))


def _logsumexp(*xs: float) -> float:
    top = max(xs)
    if top == -math.inf:
        return top
    return top + math.log(sum(math.exp(x - top) for x in xs))


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitProfile:
    """Steady state of M/G/c+D: Poisson arrivals, c slots, request times, patience τ.

    Exact for exponential request times (`mmc_patience`); for another variability an
    approximation (`mgc_patience`). `request_time_s` and `request_time_scv` describe the
    request time the response-time figures add to the wait.

    Attributes:
        p_wait: P(an arrival finds every slot busy) = P(V > 0): it queues, then is served or 503s.
        rate_503: P(V > τ): fraction of arrivals that wait τ and get 503.
        mean_wait_s: mean queue wait of the served (non-503) requests.
        utilization: fraction of slots busy = λ(1 − rate_503) / (cμ).
        p_idle: P(V = 0). On (0, τ), V has the density exp(log_density_at_zero − decay_per_s·x).
        request_time_s: mean request time T. request_time_scv: its squared coefficient of
            variation (1 exponential, 0 constant, otherwise a gamma distribution).
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
    request_time_s: float
    request_time_scv: float = 1.0

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

    def response_tail(self, t_s: float) -> float:
        """P(R > t | served) for the response time R = W + S of a served request.

        The request's own time S is independent of its wait W (FIFO: W depends only on the
        requests ahead). With the atom P(W = 0) = p0 and the density g(x) = K e^(−θx) of W on
        (0, τ), K = f(0) / P(served), and m = min(t, τ):
            P(R > t) = p0 S̄(t) + ∫_0^m g(x) S̄(t − x) dx + ∫_t^τ g(x) dx   (last term if t < τ).
        For exponential S (S̄(t) = e^(−t/T)) the integral is K e^(−t/T) m φ0((θ − 1/T) m) in
        closed form; for a gamma S it is integrated numerically (scipy); constant S shifts W.
        """
        served = 1.0 - self.rate_503
        if served <= 0 or t_s < 0:
            return 1.0
        theta, tau, rt, scv = (
            self.decay_per_s,
            self.max_wait_s,
            self.request_time_s,
            self.request_time_scv,
        )
        if scv == 0:
            return self._wait_tail(t_s - rt) if t_s >= rt else 1.0
        log_k = self.log_density_at_zero - math.log(served)
        m = min(t_s, tau)
        rest = self._wait_tail(t_s)  # P(W > t): the wait alone already passes t
        atom = self.p_idle / served
        if scv == 1:
            mu = 1.0 / rt
            head = atom * math.exp(-mu * t_s)
            conv = (
                0.0
                if m <= 0
                else math.exp(log_k - mu * t_s + math.log(m) + _log_phi0((theta - mu) * m))
            )
            return min(1.0, head + conv + rest)
        from scipy.integrate import quad

        def integrand(x: float) -> float:
            return math.exp(log_k - theta * x) * _service_survival(t_s - x, rt, scv)

        conv = 0.0 if m <= 0 else float(quad(integrand, 0.0, m, limit=200)[0])
        return min(1.0, atom * _service_survival(t_s, rt, scv) + conv + rest)

    def _wait_tail(self, t_s: float) -> float:
        """P(W > t | served): 1 for t < 0, the density's mass above t for t >= 0."""
        served = 1.0 - self.rate_503
        if t_s < 0:
            return 1.0
        tau, theta = self.max_wait_s, self.decay_per_s
        if t_s >= tau:
            return 0.0
        if math.isinf(tau):  # θ > 0 here: ∫_t^∞ f = f(0) e^(−θt)/θ
            log_mass = self.log_density_at_zero - theta * t_s - math.log(theta)
        else:  # ∫_t^τ f(0) e^(−θx) dx = f(0) e^(−θt) (τ − t) φ0(θ(τ − t))
            log_mass = (
                self.log_density_at_zero
                - theta * t_s
                + math.log(tau - t_s)
                + _log_phi0(theta * (tau - t_s))
            )
        return min(1.0, math.exp(log_mass) / served)

    def response_quantile(self, q: float) -> float:
        """The q-quantile of the response time (queue wait + request time) of served requests.

        Solves P(R > t | served) = 1 − q by bisection on a bracket that always holds:
        R >= W and R >= S give the lower end max(w_q, s_q); P(W + S > a + b) <= P(W > a) +
        P(S > b) gives the upper end w_q' + s_q' at q' = 1 − (1 − q)/2. Constant request
        times need no search: the wait quantile plus T.
        """
        if not 0 < q < 1:
            raise ValueError(f"q must be in (0, 1): {q}")
        rt, scv = self.request_time_s, self.request_time_scv
        if scv == 0 or self.rate_503 >= 1:
            return self.wait_quantile(q) + rt
        q2 = 1 - (1 - q) / 2
        lo = max(self.wait_quantile(q), service_quantile_s(rt, scv, q))
        hi = self.wait_quantile(q2) + service_quantile_s(rt, scv, q2)
        for _ in range(200):
            if hi - lo <= 1e-12 * hi:
                break
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if self.response_tail(mid) > 1 - q else (lo, mid)
        return (lo + hi) / 2


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
        request_time_s=request_time_s,
    )


def _wait_scale(utilization: float, servers: int, scv: float) -> float:
    """M/G/c wait over M/M/c wait: Allen-Cunneen (1 + scv)/2 above scv 1, Cosmetatos below.

    Cosmetatos (1976) corrects the M/D/c half-wait for moderate loads and several servers,
    W(M/D/c) ≈ ½ W(M/M/c) (1 + (1 − ρ)(c − 1)(√(4 + 5c) − 2) / (16ρc)), and interpolates
    linearly in scv for M/G/c with scv <= 1.
    """
    if scv >= 1:
        return (1.0 + scv) / 2.0
    rho = min(utilization, 1.0)
    corr = (1 - rho) * (servers - 1) * (math.sqrt(4 + 5 * servers) - 2) / (16 * rho * servers)
    return scv + (1.0 - scv) * 0.5 * (1.0 + corr)


def mgc_patience(
    rps: float, request_time_s: float, servers: int, max_wait_s: float, scv: float = 1.0
) -> WaitProfile:
    """M/G/c+D approximated by a time-scaled M/M/c+D: the Kingman / Allen-Cunneen scaling.

    Heavy-traffic theory (Kingman 1961; Whitt, "Approximations for the GI/G/m queue",
    *Production and Operations Management* 2 (1993)) says the wait of a queue whose slots are
    all busy scales with (c_a² + c_s²)/2, which for Poisson arrivals is (1 + scv)/2; Allen-Cunneen
    (Allen 1990 §6) applies that factor to the M/M/c mean wait, and Cosmetatos (*Operational
    Research Quarterly* 27 (1976)) corrects it for M/D/c at moderate loads (`_wait_scale`).
    Here the whole wait density is scaled: with 1/s = that scale, the wait of M/G/c+D with
    patience τ is taken as W/s for the wait W of M/M/c+D with patience s·τ. So P(wait > 0)
    stays Erlang C's, the mean wait is `mgc_mean_wait_s` when τ = ∞, and τ = 0 gives Erlang
    B, which is exact for any request-time distribution (Erlang's loss formula is insensitive).
    An approximation in between, measured against the simulator in
    tests/test_closed_forms_vs_simulation.py: for constant request times on 10 slots at ρ
    0.5-0.95 with a 0.5 s wait limit, the latency p99 is within 3 %, P(wait > 0) is Erlang C's,
    6-8 % above the simulated M/D/c's, the wait p99 14 % low at ρ = 0.5 (within 1 % from 0.8
    on), the 503 rate within 13 % from ρ = 0.8 on and 30 % high at 0.5, where it is 3e-4. scv =
    1 is `mmc_patience` exactly.
    """
    if not (math.isfinite(scv) and scv >= 0):
        raise ValueError(f"scv must be finite and >= 0: {scv}")
    if scv == 1:
        return mmc_patience(rps, request_time_s, servers, max_wait_s)
    if math.isnan(max_wait_s) or max_wait_s < 0:
        raise ValueError(f"max_wait_s must be >= 0: {max_wait_s}")
    s = 1.0 / _wait_scale(rps * request_time_s / servers, servers, scv)
    base = mmc_patience(rps, request_time_s, servers, max_wait_s * s)
    return replace(
        base,
        max_wait_s=float(max_wait_s),
        mean_wait_s=base.mean_wait_s / s,
        log_density_at_zero=base.log_density_at_zero + math.log(s),
        decay_per_s=base.decay_per_s * s,
        request_time_scv=float(scv),
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
    """Smallest replica count whose M/G/c+D steady state meets the 503 and latency targets.

    The 503 rate and the response-time quantile (wait + request time) come from
    `mgc_patience` (exact for exponential request times, scv = 1). Both fall as replicas
    grow, so the search gallops up from the load bound c >= a(1 − max_rate_503) and then
    bisects: O(log c) evaluations, each O(1) above 20,000 slots.

    Raises:
        ValueError: bad arguments, a latency target at or below the request time's own
            quantile (no replica count reaches it), max_rate_503 <= 0 with a finite
            max_wait_s, or no answer within MAX_SERVERS slots.
    """
    _rates(rps, request_time_s, max_concurrent)
    if not 0 <= max_rate_503 <= 1:
        raise ValueError(f"max_rate_503 must be in [0, 1]: {max_rate_503}")
    if max_rate_503 <= 0 and not math.isinf(max_wait_s):
        raise ValueError("max_rate_503 must be > 0 when max_wait_s is finite: 0")
    if not 0 < latency_quantile < 1:
        raise ValueError(f"latency_quantile must be in (0, 1): {latency_quantile}")
    floor_s = service_quantile_s(request_time_s, scv, latency_quantile)
    if latency_target_s is not None and latency_target_s <= floor_s:
        raise ValueError(
            f"latency_target_s must be > the request time's own p{latency_quantile * 100:g} "
            f"({floor_s:.4g} s): {latency_target_s}"
        )

    def meets(replicas: int) -> bool:
        servers = replicas * max_concurrent
        if math.isinf(max_wait_s) and servers / request_time_s <= rps:
            return False
        profile = mgc_patience(rps, request_time_s, servers, max_wait_s, scv)
        if profile.rate_503 > max_rate_503:
            return False
        if latency_target_s is None:
            return True
        return profile.response_quantile(latency_quantile) <= latency_target_s

    top = MAX_SERVERS // max_concurrent
    # Fewer than a(1 − r) slots cannot carry the load: the 503 rate is at least 1 − c/a.
    lo = max(0, math.floor(rps * request_time_s * (1 - max_rate_503) / max_concurrent) - 1)
    step, hi = 1, lo + 1
    while not meets(hi):
        if hi >= top:
            raise ValueError(
                f"no replica count up to {top} ({MAX_SERVERS:.0e} slots) meets the targets"
            )
        lo, hi, step = hi, min(hi + step, top), step * 2
    while hi - lo > 1:  # invariant: lo fails (or is 0), hi meets
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if meets(mid) else (mid, hi)
    return hi
