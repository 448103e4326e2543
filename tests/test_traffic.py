"""Tests for planner.traffic: the rate curve, exact NHPP sampling, uniform spacing, traces."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from planner.traffic import Phase, Traffic


def spike() -> Traffic:
    """The documented spike: 20 rps, 60 s at 60 rps, then a ramp 20 → 10."""
    return Traffic(
        pattern=(
            Phase(duration_s=300, rps=20),
            Phase(duration_s=60, rps=60),
            Phase(duration_s=540, rps=20, to_rps=10),
        )
    )


def collect(traffic: Traffic, duration_s: float, seed: int = 1, chunk: int = 65536) -> np.ndarray:
    """All arrival times as one array."""
    chunks = list(traffic.arrival_times(duration_s, np.random.default_rng(seed), chunk))
    return np.concatenate(chunks) if chunks else np.zeros(0)


def test_rate_at_boundaries_is_right_continuous() -> None:
    """At a boundary the next phase's rate applies; ramps interpolate; the last rate persists."""
    tr = spike()
    assert tr.rate_rps(0.0) == 20.0
    assert tr.rate_rps(299.999) == 20.0
    assert tr.rate_rps(300.0) == 60.0
    assert tr.rate_rps(360.0) == 20.0
    assert tr.rate_rps(630.0) == pytest.approx(15.0)
    assert tr.rate_rps(900.0) == 10.0
    assert tr.rate_rps(5000.0) == 10.0
    assert tr.rate_rps(-1.0) == 0.0
    t = np.array([-1.0, 0.0, 300.0, 630.0, 900.0, 5000.0])
    assert np.allclose(tr.rates_rps(t), [tr.rate_rps(float(x)) for x in t])
    assert tr.total_duration_s == 900.0
    assert Traffic(rps=5.0).total_duration_s is None


def test_cumulative_mean_and_peak() -> None:
    """Λ, mean and peak match hand-computed areas of the spike pattern."""
    tr = spike()
    expected = 300 * 20 + 60 * 60 + 540 * 15  # 17,700
    assert tr.cumulative(900.0) == pytest.approx(expected)
    assert tr.cumulative(330.0) == pytest.approx(6000 + 1800)
    assert tr.cumulative(1000.0) == pytest.approx(expected + 100 * 10)
    assert tr.mean_rps(0.0, 900.0) == pytest.approx(expected / 900)
    assert tr.mean_rps(300.0, 360.0) == pytest.approx(60.0)
    assert tr.mean_rps(10.0, 10.0) == 20.0
    assert tr.peak_rps(900.0) == 60.0
    assert tr.peak_rps(300.0) == 20.0  # the spike starts at 300, outside [0, 300)
    ramp = Traffic(pattern=(Phase(duration_s=100, rps=0, to_rps=50),))
    assert ramp.peak_rps(40.0) == pytest.approx(20.0)
    assert ramp.peak_rps(1000.0) == 50.0


def test_poisson_counts_per_phase_match_lambda() -> None:
    """Counts per phase are within 4σ of Λ (Poisson: variance = mean), across seeds."""
    tr = spike()
    edges = [0.0, 300.0, 360.0, 630.0, 900.0]
    for seed in range(3):
        t = collect(tr, 900.0, seed)
        counts, _ = np.histogram(t, bins=edges)
        expected = np.diff([tr.cumulative(e) for e in edges])
        z = (counts - expected) / np.sqrt(expected)
        assert np.all(np.abs(z) < 4), z


def test_poisson_ramp_is_exact_nhpp() -> None:
    """On a ramp 0 → 100 rps, Λ(arrival times) is a unit-rate Poisson process (Exp(1) gaps)."""
    tr = Traffic(pattern=(Phase(duration_s=200, rps=0, to_rps=100),))
    t = collect(tr, 200.0, seed=3)
    lam = tr.cumulative(t)
    gaps = np.diff(np.concatenate([[0.0], lam]))
    n = gaps.size
    assert abs(n - 10_000) < 4 * 100
    assert abs(gaps.mean() - 1.0) < 4 / math.sqrt(n)
    # Kolmogorov-Smirnov against Exp(1); critical value at α = 0.001 is 1.95/√n.
    g = np.sort(gaps)
    cdf = 1 - np.exp(-g)
    d = max(np.max(np.arange(1, n + 1) / n - cdf), np.max(cdf - np.arange(n) / n))
    assert d < 1.95 / math.sqrt(n)
    # Second-half count: Λ(200) − Λ(100) = 7,500.
    assert abs(np.sum(t >= 100) - 7500) < 4 * math.sqrt(7500)


def test_uniform_constant_rate_is_evenly_spaced() -> None:
    """Uniform arrivals at 4 rps are exactly (k + 1/2)/4 in [0, duration)."""
    t = collect(Traffic(rps=4.0, arrivals="uniform"), 10.0)
    assert np.allclose(t, (np.arange(40) + 0.5) / 4.0, rtol=0, atol=1e-12)


def test_uniform_ramp_inverts_lambda() -> None:
    """On ramps (up and down) the uniform points satisfy Λ(t_k) = k + 1/2 exactly."""
    tr = Traffic(
        arrivals="uniform",
        pattern=(
            Phase(duration_s=50, rps=0, to_rps=40),
            Phase(duration_s=30, rps=0),
            Phase(duration_s=70, rps=40, to_rps=1),
        ),
    )
    t = collect(tr, 150.0, chunk=1000)
    k = np.arange(t.size)
    assert np.allclose(tr.cumulative(t), k + 0.5, rtol=0, atol=1e-8)
    assert t.size == math.floor(tr.cumulative(150.0) + 0.5)
    assert not np.any((t > 50) & (t < 80))  # the rate-0 phase produces nothing
    assert np.all(np.diff(t) > 0)


def test_uniform_point_on_a_phase_end_before_a_zero_phase() -> None:
    """A uniform point with Λ = k + 1/2 exactly at a phase end stays there (the first such t),
    not after the following rate-0 phase: 0.1 rps for 5 s puts it at (0 + 1/2) / 0.1 = 5 s."""
    tr = Traffic(
        arrivals="uniform",
        pattern=(
            Phase(duration_s=5, rps=0.1),
            Phase(duration_s=10, rps=0),
            Phase(duration_s=10, rps=0.1),
        ),
    )
    assert collect(tr, 30.0).tolist() == [5.0, 25.0]


def test_zero_rate_produces_nothing() -> None:
    """A zero rate yields no chunks at all."""
    assert collect(Traffic(rps=0.0), 100.0).size == 0
    assert collect(Traffic(pattern=(Phase(duration_s=10, rps=0),)), 100.0).size == 0


def test_chunks_bounded_sorted_and_within_duration() -> None:
    """Chunks are non-empty, at most chunk_size long, sorted across chunks, inside [0, duration)."""
    tr = Traffic(rps=1000.0)
    chunks = list(tr.arrival_times(50.0, np.random.default_rng(5), chunk_size=4096))
    assert all(0 < c.size <= 4096 and c.dtype == np.float64 for c in chunks)
    t = np.concatenate(chunks)
    assert np.all(np.diff(t) >= 0) and t[0] >= 0 and t[-1] < 50.0
    assert abs(t.size - 50_000) < 4 * math.sqrt(50_000)


def test_same_seed_same_arrivals_and_after_pattern_rate() -> None:
    """Same seed gives identical times; after the pattern the last rate continues."""
    tr = Traffic(pattern=(Phase(duration_s=10, rps=5, to_rps=50),))
    a, b = collect(tr, 110.0, seed=9), collect(tr, 110.0, seed=9)
    assert np.array_equal(a, b)
    late = np.sum(a >= 10.0)
    assert abs(late - 5000) < 4 * math.sqrt(5000)


def test_trace_timestamps_replayed_exactly() -> None:
    """Timestamps come back sorted and filtered to [0, duration), without using the rng."""
    times = np.array([3.5, 0.0, 1.25, 1.75, 9.0, 12.0])
    tr = Traffic(trace_times_s=times, trace_name="t.csv")
    assert np.array_equal(collect(tr, 9.0, chunk=2), [0.0, 1.25, 1.75, 3.5])
    assert tr.rate_rps(1.5) == 2.0 and tr.rate_rps(2.0) == 0.0 and tr.rate_rps(100.0) == 0.0
    assert tr.total_duration_s == 13.0
    assert tr.peak_rps(100.0) == 2.0


def test_trace_counts_spread_within_each_second() -> None:
    """Per-second counts: exactly k points in [i, i+1), evenly for uniform, random for poisson."""
    counts = np.array([2, 0, 5, 1])
    uni = Traffic(trace_counts=counts, arrivals="uniform")
    assert np.allclose(
        collect(uni, 4.0), [0.25, 0.75, 2.1, 2.3, 2.5, 2.7, 2.9, 3.5], rtol=0, atol=1e-12
    )
    poi = Traffic(trace_counts=counts)
    t = collect(poi, 4.0, chunk=3)
    assert np.array_equal(np.bincount(np.floor(t).astype(int), minlength=4), counts)
    assert np.all(np.diff(t) >= 0)
    cut = collect(poi, 2.5)
    assert cut.max() < 2.5 and np.sum(cut < 2.0) == 2 and cut.size <= 7
    assert poi.mean_rps(0.0, 4.0) == 2.0 and poi.total_duration_s == 4.0


def test_trace_counts_memory_bounded() -> None:
    """A long count trace comes out in chunks no larger than chunk_size."""
    counts = np.full(2000, 50)
    chunks = list(Traffic(trace_counts=counts).arrival_times(2000.0, np.random.default_rng(0), 999))
    assert max(c.size for c in chunks) <= 999
    assert sum(c.size for c in chunks) == 100_000


def test_invalid_traffic_rejected() -> None:
    """Exactly one source, known arrival kind, non-negative rates; frozen."""
    with pytest.raises(ValueError, match="exactly one"):
        Traffic()
    with pytest.raises(ValueError, match="exactly one"):
        Traffic(rps=1.0, pattern=(Phase(duration_s=1, rps=1),))
    with pytest.raises(ValueError, match="arrivals"):
        Traffic(rps=1.0, arrivals="burst")
    with pytest.raises(ValueError, match="duration_s"):
        Phase(duration_s=0, rps=1)
    with pytest.raises(ValueError, match="to_rps"):
        Phase(duration_s=1, rps=1, to_rps=-1)
    with pytest.raises(ValueError, match="integers"):
        Traffic(trace_counts=np.array([1.5]))
    tr = Traffic(rps=1.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        tr.rps = 2.0  # type: ignore[misc]
    assert dataclasses.replace(tr, rps=3.0).rate_rps(1.0) == 3.0
