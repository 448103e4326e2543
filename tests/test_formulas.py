"""Closed forms vs published tables, textbook examples, independent computations, a simulation."""

from __future__ import annotations

import heapq
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.formulas import (
    erlang_b,
    erlang_c,
    max_replicas_rule,
    mmc_mean_wait_s,
    mmc_utilization,
    mmc_wait_quantile,
    mmc_wait_tail,
    replicas_needed,
    service_quantile_s,
)
from planner.queueing import mgc_mean_wait_s, mgc_patience, mmc_patience, smallest_replicas
from planner.spike_fill import spike_headroom

# ---- Azure ML's sizing formula ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rps", "request_time_s", "target", "max_concurrent", "expected"),
    [
        (20, 10, 0.7, 1, 286),  # the documented example
        (21, 1, 0.7, 1, 30),  # float: 21 / 0.7 = 30.000000000000004 -> 31
        (14, 1, 0.7, 1, 20),
        (7, 0.1, 0.7, 1, 1),  # 0.7 exactly / 0.7 = 1
        (0.3, 1, 0.1, 1, 3),
        (20, 10, 0.7, 2, 143),
        (20, 10, 0.7, 4, 72),
        (35, 2, 0.7, 10, 10),  # 70 / 0.7 / 10 = 10 exactly
        (20, 10, 1.0, 1, 200),
        (0, 10, 0.7, 1, 0),
    ],
)
def test_replicas_needed_exact_ceiling(
    rps: float, request_time_s: float, target: float, max_concurrent: int, expected: int
) -> None:
    """The ceiling is taken on exact decimals: no replica is added by binary rounding."""
    assert replicas_needed(rps, request_time_s, target, max_concurrent) == expected


def test_replicas_needed_beats_naive_float() -> None:
    """A case where the float computation rounds up wrongly is answered exactly."""
    assert math.ceil(21 * 1 / 0.7) == 31
    assert replicas_needed(21, 1, 0.7) == 30


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("rps", {"rps": -1, "request_time_s": 1}),
        ("request_time_s", {"rps": 1, "request_time_s": 0}),
        ("target_utilization", {"rps": 1, "request_time_s": 1, "target_utilization": 0}),
        ("target_utilization", {"rps": 1, "request_time_s": 1, "target_utilization": 1.5}),
        ("max_concurrent", {"rps": 1, "request_time_s": 1, "max_concurrent": 0}),
        ("rps", {"rps": math.nan, "request_time_s": 1}),
    ],
)
def test_replicas_needed_rejects_bad_input(name: str, kwargs: dict[str, float]) -> None:
    """Invalid inputs raise ValueError naming the argument."""
    with pytest.raises(ValueError, match=name):
        replicas_needed(**kwargs)  # type: ignore[arg-type]


# ---- Erlang B and C -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("servers", "load", "expected", "tol"),
    [
        (10, 5.0, 0.01838, 5e-6),  # Erlang B table
        (5, 2.0, 0.03670, 5e-6),  # Erlang B table
        (15, 8.108, 0.01, 5e-5),  # erlang.com: 15 lines at 1 % blocking carry 8.108 E
        (1, 3.0, 0.75, 1e-15),  # B(1, A) = A / (1 + A)
        (3, 0.0, 0.0, 0.0),
        (0, 2.0, 1.0, 0.0),
    ],
)
def test_erlang_b_published_values(servers: int, load: float, expected: float, tol: float) -> None:
    """Erlang B matches published table values."""
    assert erlang_b(servers, load) == pytest.approx(expected, abs=tol)


def _erlang_c_direct(servers: int, load: Fraction) -> Fraction:
    """Erlang C from its factorial-sum definition, in exact rational arithmetic."""
    top = load**servers / math.factorial(servers) * servers / (servers - load)
    bottom = sum(load**k / math.factorial(k) for k in range(servers)) + top
    return top / bottom


@pytest.mark.parametrize("servers", [1, 2, 3, 5, 8, 13])
@pytest.mark.parametrize("utilization", [Fraction(1, 10), Fraction(1, 2), Fraction(9, 10)])
def test_erlang_c_matches_factorial_sum(servers: int, utilization: Fraction) -> None:
    """Erlang C via Erlang B equals the direct factorial-sum formula."""
    load = utilization * servers
    expected = float(_erlang_c_direct(servers, load))
    assert erlang_c(servers, float(load)) == pytest.approx(expected, rel=1e-12)


def test_erlang_c_textbook_examples() -> None:
    """Erlang C / M/M/c against worked textbook examples."""
    # Hillier & Lieberman, County Hospital: λ = 2/h, μ = 3/h: W_q = 2/3 h (s=1), 1/24 h (s=2)
    assert mmc_mean_wait_s(2, 1 / 3, 1) == pytest.approx(2 / 3, rel=1e-12)
    assert mmc_mean_wait_s(2, 1 / 3, 2) == pytest.approx(1 / 24, rel=1e-12)
    # 120 customers/h, 3 min each, 10 assistants: "the probability of waiting is about 0.10"
    assert erlang_c(10, 6.0) == pytest.approx(0.10, abs=0.005)
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3, rel=1e-12)
    assert erlang_c(4, 4.0) == 1.0
    assert erlang_c(4, 5.0) == 1.0


def test_mm1_closed_forms() -> None:
    """With one server: C = ρ, W_q = ρ/(μ−λ), P(W>t) = ρe^(−(μ−λ)t), quantiles by inversion."""
    rps, request_time_s = 0.8, 1.0
    assert erlang_c(1, 0.8) == pytest.approx(0.8, rel=1e-12)
    assert mmc_utilization(rps, request_time_s, 1) == pytest.approx(0.8)
    assert mmc_mean_wait_s(rps, request_time_s, 1) == pytest.approx(4.0, rel=1e-12)
    assert mmc_wait_tail(rps, request_time_s, 1, 3.0) == pytest.approx(0.8 * math.exp(-0.6))
    assert mmc_wait_quantile(rps, request_time_s, 1, 0.99) == pytest.approx(math.log(80) / 0.2)
    assert mmc_wait_quantile(rps, request_time_s, 1, 0.2) == 0.0
    assert mmc_mean_wait_s(1.0, 1.0, 1) == math.inf
    assert mmc_wait_tail(2.0, 1.0, 1, 5.0) == 1.0


def test_mgc_kingman_is_pollaczek_khinchine_for_md1() -> None:
    """For M/D/1 the scaling is ½ (Cosmetatos' correction vanishes): P-K's ρ·s/(2(1−ρ))."""
    assert mgc_mean_wait_s(0.5, 1.0, 1, scv=0.0) == pytest.approx(0.5, rel=1e-12)
    assert mgc_mean_wait_s(0.5, 1.0, 3, scv=1.0) == mmc_mean_wait_s(0.5, 1.0, 3)


# ---- M/M/c+D: deterministic patience ------------------------------------------------------------


@pytest.mark.parametrize(
    ("servers", "load"), [(1, 0.5), (5, 2.0), (10, 5.0), (20, 30.0), (300, 200.0)]
)
def test_patience_zero_is_erlang_b(servers: int, load: float) -> None:
    """With τ = 0 nobody queues: the 503 rate is Erlang B exactly."""
    profile = mmc_patience(load / 2, 2.0, servers, 0.0)
    assert profile.rate_503 == pytest.approx(erlang_b(servers, load), rel=1e-10)
    assert profile.p_wait == pytest.approx(profile.rate_503, rel=1e-12)
    assert profile.mean_wait_s == 0.0
    assert profile.p_wait_served == 0.0


@pytest.mark.parametrize(
    ("rps", "tau"), [(0.5, 1.0), (0.8, 2.0), (1.0, 3.0), (1.6, 0.7), (0.3, 20.0)]
)
def test_patience_single_server_is_barrer(rps: float, tau: float) -> None:
    """c = 1 gives Barrer's M/M/1+D: ρE(1−ρ)/(1−ρ²E), E = e^(−(μ−λ)τ); ρ = 1: 1/(2+τ)."""
    rho = rps  # μ = 1
    e = math.exp(-(1 - rps) * tau)
    expected = 1 / (2 + tau) if rps == 1 else rho * e * (1 - rho) / (1 - rho**2 * e)
    assert mmc_patience(rps, 1.0, 1, tau).rate_503 == pytest.approx(expected, rel=1e-10)


def test_patience_infinite_wait_is_erlang_c() -> None:
    """τ → ∞ with ρ < 1: no 503s, and P(wait), mean wait and quantiles are Erlang C's."""
    rps, request_time_s, servers = 20.0, 10.0, 230
    for tau in (math.inf, 1e4):
        profile = mmc_patience(rps, request_time_s, servers, tau)
        assert profile.rate_503 == pytest.approx(0.0, abs=1e-300)
        assert profile.p_wait == pytest.approx(erlang_c(servers, 200.0), rel=1e-10)
        expected_mean = mmc_mean_wait_s(rps, request_time_s, servers)
        assert profile.mean_wait_s == pytest.approx(expected_mean, rel=1e-10)
        for q in (0.5, 0.99, 0.999):
            expected_q = mmc_wait_quantile(rps, request_time_s, servers, q)
            assert profile.wait_quantile(q) == pytest.approx(expected_q, rel=1e-9, abs=1e-12)


def _patience_direct(rps: float, mu: float, servers: int, tau: float) -> tuple[float, float]:
    """(rate_503, served mean wait) from the densities, with plain sums and midpoint quadrature."""
    a, theta = rps / mu, servers * mu - rps
    idle = sum(a**j / math.factorial(j) for j in range(servers)) / (
        a ** (servers - 1) / math.factorial(servers - 1)
    )
    n = 200_000
    xs = (np.arange(n) + 0.5) * tau / n
    dens = rps * np.exp(-theta * xs)  # f(x) / π_{c−1} on (0, τ)
    queued = float(dens.sum() * tau / n)
    tail = rps * math.exp(-theta * tau) / (servers * mu)
    pi_last = 1 / (idle + queued + tail)
    rate = tail * pi_last
    mean = float((xs * dens).sum() * tau / n) * pi_last / (1 - rate)
    return rate, mean


@pytest.mark.parametrize(
    ("rps", "servers", "tau"), [(2.7, 3, 0.5), (3.0, 2, 1.0), (6.0, 8, 2.0), (10.0, 8, 0.3)]
)
def test_patience_matches_direct_quadrature(rps: float, servers: int, tau: float) -> None:
    """The log-space solution equals a plain-sum, numerically integrated one."""
    rate, mean = _patience_direct(rps, 1.0, servers, tau)
    profile = mmc_patience(rps, 1.0, servers, tau)
    assert profile.rate_503 == pytest.approx(rate, rel=1e-8)
    assert profile.mean_wait_s == pytest.approx(mean, rel=1e-6)


def _simulate_patience(
    rng: np.random.Generator, rps: float, servers: int, tau: float, n: int
) -> tuple[float, float, float, np.ndarray]:
    """FIFO c-server queue where a request waiting more than τ leaves (Kiefer-Wolfowitz)."""
    arrivals = np.cumsum(rng.exponential(1 / rps, n)).tolist()
    services = rng.exponential(1.0, n).tolist()
    free = [0.0] * servers  # heap of the times each server becomes free
    waits, n_503, n_wait = [], 0, 0
    for t, s in zip(arrivals, services, strict=True):
        w = max(0.0, free[0] - t)
        n_wait += w > 0
        if w > tau:
            n_503 += 1
            continue
        heapq.heapreplace(free, t + w + s)
        waits.append(w)
    return n_503 / n, n_wait / n, float(np.mean(waits)), np.asarray(waits)


@pytest.mark.parametrize(("rps", "servers", "tau"), [(2.7, 3, 0.5), (3.0, 2, 1.0)])
def test_patience_matches_simulation(
    rng: np.random.Generator, rps: float, servers: int, tau: float
) -> None:
    """An independent event-by-event simulation agrees with M/M/c+D within sampling error."""
    rate, p_wait, mean, waits = _simulate_patience(rng, rps, servers, tau, 200_000)
    profile = mmc_patience(rps, 1.0, servers, tau)
    assert rate == pytest.approx(profile.rate_503, abs=0.006)
    assert p_wait == pytest.approx(profile.p_wait, abs=0.008)
    assert mean == pytest.approx(profile.mean_wait_s, abs=0.005)
    assert np.quantile(waits, 0.9) == pytest.approx(profile.wait_quantile(0.9), abs=0.015)


@pytest.mark.parametrize("utilization", [0.001, 0.5, 0.9, 0.99, 1.0, 1.5, 3.0])
@pytest.mark.parametrize("tau", [0.0, 0.5, 10.0])
def test_patience_stable_for_thousand_servers(utilization: float, tau: float) -> None:
    """c = 1000: no overflow, no NaN, probabilities in [0, 1], carried load <= capacity."""
    servers = 1000
    profile = mmc_patience(utilization * servers, 1.0, servers, tau)
    values = (profile.p_wait, profile.rate_503, profile.p_idle, profile.utilization)
    assert all(math.isfinite(v) and 0.0 <= v <= 1.0 + 1e-12 for v in values)
    assert math.isfinite(profile.mean_wait_s) and 0.0 <= profile.mean_wait_s <= tau
    assert 0.0 <= profile.wait_quantile(0.99) <= tau
    if utilization > 1 and tau > 0:  # overload: nearly every served request waits almost τ
        assert profile.wait_quantile(0.5) == pytest.approx(tau, rel=0.05)
    if tau == 0:
        assert profile.rate_503 == pytest.approx(erlang_b(servers, utilization * servers), rel=1e-9)
    if utilization >= 1.5:  # heavy overload: the throughput bound is nearly tight
        assert profile.rate_503 == pytest.approx(1 - 1 / utilization, rel=0.05)


def test_wait_quantile_inverts_the_distribution() -> None:
    """P(W <= quantile(q) | served) = q for q beyond the atom at zero."""
    profile = mmc_patience(2.7, 1.0, 3, 0.5)
    atom = profile.p_idle / (1 - profile.rate_503)
    theta = profile.decay_per_s
    for q in (atom + 0.01, 0.9, 0.99):
        t = profile.wait_quantile(q)
        density = math.exp(profile.log_density_at_zero)
        cdf = atom + density * -math.expm1(-theta * t) / theta / (1 - profile.rate_503)
        assert cdf == pytest.approx(q, rel=1e-10)
    assert profile.wait_quantile(atom / 2) == 0.0
    assert profile.wait_quantile(1.0) == 0.5


@settings(max_examples=60, deadline=None)
@given(
    servers=st.integers(1, 60),
    utilization=st.floats(0.05, 2.0),
    tau=st.floats(0.0, 5.0),
)
def test_more_servers_never_hurt(servers: int, utilization: float, tau: float) -> None:
    """Adding a server never raises the 503 rate, P(wait) or the served mean wait."""
    rps = utilization * servers
    fewer, more = mmc_patience(rps, 1.0, servers, tau), mmc_patience(rps, 1.0, servers + 1, tau)
    assert more.rate_503 <= fewer.rate_503 * (1 + 1e-9)
    assert more.p_wait <= fewer.p_wait * (1 + 1e-9)
    assert more.mean_wait_s <= fewer.mean_wait_s * (1 + 1e-9) + 1e-15


@settings(max_examples=60, deadline=None)
@given(
    servers=st.integers(1, 60),
    utilization=st.floats(0.05, 2.0),
    tau=st.floats(0.0, 5.0),
    extra=st.floats(0.01, 5.0),
)
def test_rate_503_falls_with_patience(
    servers: int, utilization: float, tau: float, extra: float
) -> None:
    """A longer wait limit never raises the 503 rate."""
    rps = utilization * servers
    shorter = mmc_patience(rps, 1.0, servers, tau).rate_503
    assert mmc_patience(rps, 1.0, servers, tau + extra).rate_503 <= shorter * (1 + 1e-9)


@settings(max_examples=60, deadline=None)
@given(servers=st.integers(1, 500), utilization=st.floats(0.01, 0.999))
def test_finite_when_stable(servers: int, utilization: float) -> None:
    """ρ < 1: Erlang C waits and the unlimited-wait profile are finite."""
    rps = utilization * servers
    assert math.isfinite(mmc_mean_wait_s(rps, 1.0, servers))
    assert math.isfinite(mmc_wait_quantile(rps, 1.0, servers, 0.999))
    profile = mmc_patience(rps, 1.0, servers, math.inf)
    assert math.isfinite(profile.mean_wait_s) and profile.rate_503 == 0.0


# ---- sizing by target ---------------------------------------------------------------------------


def test_smallest_replicas_erlang_b_table() -> None:
    """τ = 0 is Erlang B dimensioning: 8.108 E at 1 % blocking needs 15 lines (erlang.com)."""
    assert smallest_replicas(8.108, 1.0, max_wait_s=0.0, max_rate_503=0.01) == 15
    assert smallest_replicas(8.2, 1.0, max_wait_s=0.0, max_rate_503=0.01) == 16


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rps": 5.0, "request_time_s": 1.0},
        {"rps": 20.0, "request_time_s": 10.0},
        {"rps": 20.0, "request_time_s": 10.0, "max_concurrent": 3},
        {"rps": 3.0, "request_time_s": 1.0, "max_wait_s": 2.0, "max_rate_503": 0.05},
        {"rps": 20.0, "request_time_s": 1.0, "latency_target_s": 4.8},
        {"rps": 20.0, "request_time_s": 1.0, "latency_target_s": 1.05, "scv": 0.0},
        {"rps": 20.0, "request_time_s": 1.0, "latency_target_s": 3.6, "scv": 0.5},
    ],
)
def test_smallest_replicas_is_smallest(kwargs: dict[str, float]) -> None:
    """The answer meets the targets and one replica fewer does not (brute-force check)."""
    rps, request_time_s = kwargs["rps"], kwargs["request_time_s"]
    per = int(kwargs.get("max_concurrent", 1))
    tau, target = kwargs.get("max_wait_s", 0.5), kwargs.get("max_rate_503", 0.001)
    latency, scv = kwargs.get("latency_target_s"), kwargs.get("scv", 1.0)

    def meets(replicas: int) -> bool:
        profile = mgc_patience(rps, request_time_s, replicas * per, tau, scv)
        p99 = profile.response_quantile(0.99)
        return profile.rate_503 <= target and (latency is None or p99 <= latency)

    brute = next(r for r in range(1, 10_000) if meets(r))
    assert smallest_replicas(**kwargs) == brute  # type: ignore[arg-type]


def test_smallest_replicas_large_load() -> None:
    """Ten thousand slots: between the throughput bound a(1 − r) and square-root staffing."""
    replicas = smallest_replicas(10_000.0, 1.0)
    assert 10_000 * (1 - 0.001) <= replicas < 10_000 + 5 * math.sqrt(10_000)
    assert mmc_patience(10_000.0, 1.0, replicas, 0.5).rate_503 <= 0.001
    assert mmc_patience(10_000.0, 1.0, replicas - 1, 0.5).rate_503 > 0.001


def test_smallest_replicas_rejects_impossible_targets() -> None:
    """A latency target <= the request time's own p99, or zero 503s with a finite wait: error."""
    with pytest.raises(ValueError, match="latency_target_s"):
        smallest_replicas(20.0, 1.0, latency_target_s=4.6)  # exponential p99 is 4.605 s
    assert smallest_replicas(20.0, 1.0, latency_target_s=1.05, scv=0.0) >= 20
    with pytest.raises(ValueError, match="max_rate_503"):
        smallest_replicas(20.0, 1.0, max_rate_503=0.0)
    assert smallest_replicas(20.0, 1.0, max_rate_503=0.0, max_wait_s=math.inf) == 21


def test_spike_headroom_documented_example() -> None:
    """286 replicas of 10 s requests, a 60 rps step: slots full after 10·ln(400/314), +0.455 s."""
    view = spike_headroom(20, 10, 286, peak_rps=60)
    assert view.capacity_rps == pytest.approx(28.6)
    assert view.spike_absorbed == pytest.approx(0.43)
    full = 10 * math.log((600 - 200) / (600 - 286))
    assert view.seconds_to_full == pytest.approx(full, rel=1e-12)
    assert view.seconds_to_first_503 == pytest.approx(full + 28.6 * 0.5 / (60 - 28.6), rel=1e-12)
    assert spike_headroom(20, 10, 286, peak_rps=25).seconds_to_first_503 is None
    overloaded = spike_headroom(30, 10, 286, peak_rps=60)  # 300 busy > 286 slots already
    assert overloaded.seconds_to_full == overloaded.seconds_to_first_503 == 0.0
    assert spike_headroom(20, 10, 143, max_concurrent=2).capacity_rps == pytest.approx(28.6)


def test_spike_fill_constant_request_times() -> None:
    """Constant 10 s requests: the 86 idle slots fill at 60 − 20 rps, in 2.15 s; then, within
    T, completions stay at 20 rps, so the newest waits queue/20: 0.5 s after 0.25 s more."""
    view = spike_headroom(20, 10, 286, peak_rps=60, scv=0.0)
    assert view.seconds_to_full == pytest.approx(86 / 40, rel=1e-12)
    assert view.seconds_to_first_503 == pytest.approx(86 / 40 + 0.5 * 20 / 40, rel=1e-9)
    gamma = spike_headroom(20, 10, 286, peak_rps=60, scv=0.5)  # in between
    assert view.seconds_to_full < (gamma.seconds_to_full or 0) < 10 * math.log(400 / 314)


# ---- response time -------------------------------------------------------------------------------


@pytest.mark.parametrize(("rps", "servers"), [(7.0, 10), (0.5, 1), (9.5, 10), (150.0, 160)])
def test_response_quantile_is_the_hypoexponential_mixture(rps: float, servers: int) -> None:
    """Erlang C, no wait limit: P(R > t) = (1 − C)e^(−μt) + C(θe^(−μt) − μe^(−θt))/(θ − μ)."""
    profile = mmc_patience(rps, 1.0, servers, math.inf)
    c_wait, theta, mu = erlang_c(servers, rps), servers - rps, 1.0
    t = profile.response_quantile(0.99)

    def tail(x: float) -> float:
        if theta == mu:
            return (1 - c_wait) * math.exp(-x) + c_wait * (1 + x) * math.exp(-x)
        mix = (theta * math.exp(-mu * x) - mu * math.exp(-theta * x)) / (theta - mu)
        return (1 - c_wait) * math.exp(-mu * x) + c_wait * mix

    assert tail(t) == pytest.approx(0.01, rel=1e-9)
    assert t > profile.wait_quantile(0.99) + 1.0  # the mean-added figure is too small


def test_response_quantile_with_wait_limit_matches_quadrature() -> None:
    """M/M/c+D: P(R > t) from a direct numerical convolution of W (atom + density) and S."""
    profile = mmc_patience(9.0, 1.0, 10, 0.5)
    t = profile.response_quantile(0.99)
    served = 1 - profile.rate_503
    n = 200_000
    xs = (np.arange(n) + 0.5) * 0.5 / n
    dens = np.exp(profile.log_density_at_zero - profile.decay_per_s * xs) / served
    tail = profile.p_idle / served * math.exp(-t) + float(
        (dens * np.exp(-np.clip(t - xs, 0, None))).sum() * 0.5 / n
    )
    assert tail == pytest.approx(0.01, rel=1e-6)


def test_response_quantile_constant_is_wait_plus_time() -> None:
    """Constant request times: the response p99 is the wait p99 plus T exactly."""
    profile = mgc_patience(9.0, 1.0, 10, 0.5, scv=0.0)
    assert profile.response_quantile(0.99) == profile.wait_quantile(0.99) + 1.0


def test_service_quantiles() -> None:
    """The request time's own p99: T, T·ln 100, and a gamma's (scipy as the second computation)."""
    from scipy import stats

    assert service_quantile_s(10.0, 0.0, 0.99) == 10.0
    assert service_quantile_s(10.0, 1.0, 0.99) == pytest.approx(10 * math.log(100), rel=1e-12)
    expected = stats.gamma(a=2.0, scale=5.0).ppf(0.99)
    assert service_quantile_s(10.0, 0.5, 0.99) == pytest.approx(expected, rel=1e-10)


def test_cosmetatos_md_c_mean_wait() -> None:
    """M/D/c mean waits against Cosmetatos' formula and its heavy-traffic limit of one half."""
    for servers, rho in ((10, 0.5), (10, 0.8), (5, 0.9)):
        rps = rho * servers
        corr = (1 - rho) * (servers - 1) * (math.sqrt(4 + 5 * servers) - 2) / (16 * rho * servers)
        expected = 0.5 * mmc_mean_wait_s(rps, 1.0, servers) * (1 + corr)
        assert mgc_mean_wait_s(rps, 1.0, servers, scv=0.0) == pytest.approx(expected, rel=1e-12)
    ratio = mgc_mean_wait_s(99.9, 1.0, 100, 0.0) / mmc_mean_wait_s(99.9, 1.0, 100)
    assert ratio == pytest.approx(0.5, abs=1e-3)
    assert mgc_mean_wait_s(8.0, 1.0, 10, 3.0) == 2 * mmc_mean_wait_s(8.0, 1.0, 10)


def test_mgc_patience_limits() -> None:
    """scv = 1 is M/M/c+D; τ = 0 is Erlang B for any scv; τ = ∞ gives Allen-Cunneen's mean."""
    assert mgc_patience(9.0, 1.0, 10, 0.5, 1.0) == mmc_patience(9.0, 1.0, 10, 0.5)
    assert mgc_patience(9.0, 1.0, 10, 0.0, 0.0).rate_503 == pytest.approx(erlang_b(10, 9.0))
    mean = mgc_patience(9.0, 1.0, 10, math.inf, 0.0).mean_wait_s
    assert mean == pytest.approx(mgc_mean_wait_s(9.0, 1.0, 10, scv=0.0), rel=1e-10)


# ---- one max_replicas rule ----------------------------------------------------------------------


def _rule_exact(peak: Fraction, time: Fraction, target: Fraction, per: int) -> int:
    """Smallest n with n·k >= a + 2√a, by brute force over integers in exact arithmetic."""
    a, k = peak * time, target * per
    n = 0
    while not (n * k - a >= 0 and (n * k - a) ** 2 >= 4 * a):
        n += 1
    return max(n, 1)


@pytest.mark.parametrize(
    ("peak", "time", "target", "per"),
    [("60", "10", "0.7", 1), ("20", "10", "0.7", 1), ("4", "1", "0.5", 1), ("9", "1", "1", 1),
     ("16", "1", "1", 1), ("7.5", "2", "0.6", 3), ("0", "1", "0.7", 1), ("15", "0.5", "0.8", 1)],
)  # fmt: skip
def test_max_replicas_rule_exact(peak: str, time: str, target: str, per: int) -> None:
    """ceil((a + 2√a)/(target × per)) exactly: a = 9 and 16 at target 1 land on integers."""
    expected = _rule_exact(Fraction(peak), Fraction(time), Fraction(target), per)
    assert max_replicas_rule(float(peak), float(time), float(target), per) == expected


def test_max_replicas_rule_edges() -> None:
    """Perfect squares are not rounded up by float error; min_replicas is a floor; big is fast."""
    assert max_replicas_rule(9, 1, 1.0) == 15  # 9 + 2·3 exactly: a float fudge would give 16
    assert max_replicas_rule(60, 10, 0.7) == 928  # ceil((600 + 2√600) / 0.7)
    assert max_replicas_rule(60, 10, 0.7, min_replicas=1000) == 1000
    big = max_replicas_rule(1e7, 10, 0.7)
    assert big == math.ceil((1e8 + 2e4) / 0.7)


@settings(max_examples=40, deadline=None)
@given(
    servers=st.integers(1, 40),
    utilization=st.floats(0.05, 1.5),
    tau=st.floats(0.0, 3.0),
    scv=st.sampled_from([0.0, 1.0]),
)
def test_response_quantile_properties(
    servers: int, utilization: float, tau: float, scv: float
) -> None:
    """p99 of wait + service: at least each part's p99, at most their sum at p99.5, and a
    server more never raises it."""
    rps = utilization * servers
    profile = mgc_patience(rps, 1.0, servers, tau, scv)
    p99 = profile.response_quantile(0.99)
    assert p99 >= max(profile.wait_quantile(0.99), service_quantile_s(1.0, scv, 0.99)) - 1e-9
    assert p99 <= profile.wait_quantile(0.995) + service_quantile_s(1.0, scv, 0.995) + 1e-9
    more = mgc_patience(rps, 1.0, servers + 1, tau, scv).response_quantile(0.99)
    assert more <= p99 + 1e-9


@pytest.mark.parametrize(("servers", "load"), [(20_001, 19_000.0), (20_500, 20_400.0),
                                               (30_000, 35_000.0), (25_000, 10_000.0)])  # fmt: skip
def test_erlang_b_large_servers_matches_the_recursion(
    servers: int, load: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above 20,000 slots the incomplete-gamma path equals the recursion it replaces."""
    import planner.formulas as formulas

    fast = formulas.erlang_b(servers, load)
    monkeypatch.setattr(formulas, "_RECURSION_SERVERS", 10**9)
    slow = formulas.erlang_b(servers, load)
    assert fast == pytest.approx(slow, rel=1e-9, abs=1e-300)
    patience_fast = mmc_patience(load, 1.0, servers, 0.5)  # recursion still patched: compare
    monkeypatch.setattr(formulas, "_RECURSION_SERVERS", 20_000)
    assert mmc_patience(load, 1.0, servers, 0.5).rate_503 == pytest.approx(
        patience_fast.rate_503, rel=1e-8, abs=1e-300
    )
