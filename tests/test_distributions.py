"""Tests for planner.distributions: moments, quantiles against scipy, constructors."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import stats

from planner.distributions import (
    Z99,
    Constant,
    Distribution,
    Empirical,
    Exponential,
    Gamma,
    Lognormal,
)

N = 400_000

DISTS: list[Distribution] = [
    Constant(value_s=0.5),
    Exponential(mean_s=0.5),
    Lognormal(mean_s=0.5, sigma=0.6),
    Lognormal.from_mean_p99(0.5, 2.0),
    Gamma(mean_s=2.0, shape=3.0),
    Gamma.from_mean_scv(0.25, 4.0),
    Empirical(samples_s=(0.1, 0.2, 0.2, 0.9, 3.0)),
]


@pytest.mark.parametrize("dist", DISTS, ids=repr)
def test_sample_mean_and_scv_match(dist: Distribution, rng: np.random.Generator) -> None:
    """Sample mean and scv agree with mean_s and scv within 5 standard errors."""
    x = dist.sample(rng, N)
    assert x.shape == (N,) and x.dtype == np.float64 and np.all(x >= 0)
    se_mean = dist.mean_s * math.sqrt(dist.scv / N)
    assert abs(x.mean() - dist.mean_s) <= 5 * se_mean + 1e-12
    scv_hat = x.var() / x.mean() ** 2
    # Heavy tails make the variance estimator noisy: a relative tolerance is enough here.
    assert scv_hat == pytest.approx(dist.scv, rel=0.08, abs=1e-12)


# Standard normal quantiles z(q), NIST/SEMATECH e-Handbook Table 1.3.6.7.1 and Abramowitz &
# Stegun Table 26.5, to nine decimals.
PUBLISHED_Z = {0.5: 0.0, 0.9: 1.281551566, 0.95: 1.644853627, 0.975: 1.959963985,
               0.99: 2.326347874, 0.999: 3.090232306}  # fmt: skip
# Chi-square quantiles χ²(q; df), NIST/SEMATECH e-Handbook Table 1.3.6.7.4, three decimals.
# χ²(df) is the gamma with shape df/2 and scale 2, i.e. Gamma(mean_s=df, shape=df/2).
PUBLISHED_CHI2 = [
    (1, 0.95, 3.841), (1, 0.99, 6.635), (2, 0.95, 5.991), (5, 0.05, 1.145), (5, 0.95, 11.070),
    (10, 0.05, 3.940), (10, 0.95, 18.307), (10, 0.99, 23.209), (30, 0.95, 43.773),
]  # fmt: skip


@pytest.mark.parametrize(("q", "z"), sorted(PUBLISHED_Z.items()))
def test_lognormal_quantile_matches_published_normal_quantiles(q: float, z: float) -> None:
    """Lognormal F⁻¹(q) = exp(μ + σ z(q)) with z from the printed normal table."""
    ln = Lognormal(mean_s=0.5, sigma=0.8)
    assert ln.quantile(q) == pytest.approx(math.exp(ln.mu + 0.8 * z), rel=1e-9)
    assert ln.quantile(1 - q) * ln.quantile(q) == pytest.approx(math.exp(2 * ln.mu), rel=1e-9)


@pytest.mark.parametrize(("df", "q", "chi2"), PUBLISHED_CHI2)
def test_gamma_quantile_matches_the_chi_square_table(df: int, q: float, chi2: float) -> None:
    """Gamma(mean df, shape df/2) is χ²(df): its quantiles equal the printed table's."""
    assert Gamma(mean_s=float(df), shape=df / 2).quantile(q) == pytest.approx(chi2, abs=6e-4)


@pytest.mark.parametrize("q", [0.001, 0.05, 0.5, 0.9, 0.99, 0.9999])
def test_quantiles_match_scipy(q: float) -> None:
    """Quantiles equal scipy.stats' ppf for the parametric families (its parametrisations)."""
    ln = Lognormal(mean_s=0.5, sigma=0.8)
    assert ln.quantile(q) == pytest.approx(
        stats.lognorm.ppf(q, 0.8, scale=math.exp(ln.mu)), rel=1e-10
    )
    assert Exponential(mean_s=2.0).quantile(q) == pytest.approx(
        stats.expon.ppf(q, scale=2.0), rel=1e-12
    )
    for shape in (0.2, 1.0, 3.5, 40.0):
        g = Gamma(mean_s=1.5, shape=shape)
        assert g.quantile(q) == pytest.approx(
            stats.gamma.ppf(q, shape, scale=1.5 / shape), rel=1e-9
        )
    assert Constant(value_s=3.0).quantile(q) == 3.0


@pytest.mark.parametrize(("mean", "p99"), [(0.5, 2.0), (1.0, 1.01), (0.2, 2.9), (3.0, 9.0)])
def test_lognormal_from_mean_p99_reproduces_p99(mean: float, p99: float) -> None:
    """from_mean_p99 gives the mean and the 99th percentile back (scipy as oracle)."""
    d = Lognormal.from_mean_p99(mean, p99)
    assert stats.lognorm.mean(d.sigma, scale=math.exp(d.mu)) == pytest.approx(mean, rel=1e-12)
    assert stats.lognorm.ppf(0.99, d.sigma, scale=math.exp(d.mu)) == pytest.approx(p99, rel=1e-9)
    assert d.sigma < PUBLISHED_Z[0.99]  # the smaller (light-tailed) root


def test_lognormal_from_mean_p99_known_sigma() -> None:
    """A lognormal with σ = 1 has p99/mean = exp(z99 − 1/2); the inverse recovers σ = 1."""
    ratio = math.exp(2.3263478740408408 - 0.5)
    assert Lognormal.from_mean_p99(1.0, ratio).sigma == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize(
    ("mean", "p99", "match"),
    [
        (0.5, 0.5, r"p99 must be > mean \(0.5\)"),
        (0.5, 0.2, r"p99 must be > mean"),
        (0.5, 8.0, r"p99 must be <= 7.48"),
        (0.0, 1.0, r"mean must be > 0"),
    ],
)
def test_lognormal_from_mean_p99_infeasible(mean: float, p99: float, match: str) -> None:
    """Infeasible mean/p99 pairs raise ValueError naming the rule."""
    with pytest.raises(ValueError, match=match):
        Lognormal.from_mean_p99(mean, p99)


def test_scv_closed_forms() -> None:
    """scv is exp(σ²) − 1 for the lognormal, 1/k for the gamma, 1 for the exponential."""
    assert Lognormal(mean_s=1.0, sigma=0.5).scv == pytest.approx(math.exp(0.25) - 1)
    assert Gamma(mean_s=1.0, shape=4.0).scv == 0.25
    assert Gamma.from_mean_scv(1.0, 0.5).shape == 2.0
    assert Exponential(mean_s=3.0).scv == 1.0
    assert Lognormal.from_mean_sigma(2.0, 0.3) == Lognormal(mean_s=2.0, sigma=0.3)


def test_empirical_moments_and_quantile(rng: np.random.Generator) -> None:
    """Empirical uses the population variance, resamples only its values, inverts its CDF."""
    e = Empirical(samples_s=(1.0, 2.0, 3.0, 6.0))
    assert e.mean_s == 3.0
    assert e.scv == pytest.approx(3.5 / 9.0)
    assert set(np.unique(e.sample(rng, 1000))) == {1.0, 2.0, 3.0, 6.0}
    assert e.quantile(0.25) == 1.0 and e.quantile(0.26) == 2.0 and e.quantile(0.99) == 6.0


def test_constant_does_not_draw(rng: np.random.Generator) -> None:
    """Constant.sample fills without touching the generator."""
    state = rng.bit_generator.state
    assert np.array_equal(Constant(value_s=2.0).sample(rng, 3), [2.0, 2.0, 2.0])
    assert rng.bit_generator.state == state


@pytest.mark.parametrize(
    "make",
    [
        lambda: Constant(value_s=-1.0),
        lambda: Exponential(mean_s=0.0),
        lambda: Lognormal(mean_s=1.0, sigma=-0.1),
        lambda: Gamma(mean_s=1.0, shape=0.0),
        lambda: Gamma.from_mean_scv(1.0, 0.0),
        lambda: Empirical(samples_s=()),
        lambda: Empirical(samples_s=(1.0, -2.0)),
        lambda: Empirical(samples_s=(0.0, 0.0)),
    ],
)
def test_invalid_parameters_raise(make: object) -> None:
    """Constructors reject impossible parameters."""
    with pytest.raises(ValueError):
        make()  # type: ignore[operator]


def test_frozen_and_same_seed_same_draws() -> None:
    """Distributions are frozen and sampling is reproducible from the seed."""
    d = Lognormal(mean_s=1.0, sigma=0.5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.sigma = 2.0  # type: ignore[misc]
    a = d.sample(np.random.default_rng(7), 10)
    b = d.sample(np.random.default_rng(7), 10)
    assert np.array_equal(a, b)
    with pytest.raises(ValueError, match="q must be in"):
        d.quantile(1.0)


def test_z99_constant_is_the_normal_quantile() -> None:
    """The constant Z99 used by from_mean_p99 is z(0.99) of the printed normal table."""
    assert pytest.approx(PUBLISHED_Z[0.99], abs=1e-9) == Z99
