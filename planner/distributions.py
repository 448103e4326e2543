"""Service-time and cold-start distributions: `sample(rng, size)`, `mean_s`, `scv`.

The interface the simulator, the load test and the scenario loader rely on:
every distribution is a frozen dataclass with
    mean_s: float               (property or field) the mean in seconds
    scv: float                  (property) squared coefficient of variation, Var/mean^2
    sample(rng, size) -> np.ndarray[float64]   non-negative seconds, shape (size,)
    quantile(q) -> float        q in (0, 1)
Classes: Constant(value_s), Exponential(mean_s), Lognormal(mean_s, sigma) with
Lognormal.from_mean_p99(mean_s, p99_s), Gamma(mean_s, shape),
Empirical(samples_s: tuple[float, ...]).

`Distribution` is the union of these classes (usable in annotations and `isinstance`).
Constructors check their parameters and raise `ValueError`; the scenario loader validates first
and reports the field path, so users see its messages, not these. Pure: numpy and math, and
scipy's special functions for the quantiles (imported when a quantile is asked for).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TypeAlias

import numpy as np

__all__ = [
    "Constant",
    "Distribution",
    "Empirical",
    "Exponential",
    "Gamma",
    "Lognormal",
]


Z99 = 2.3263478740408408
"""The standard normal 0.99 quantile, a constant: loading a scenario needs it without scipy."""


def _check_q(q: float) -> None:
    if not 0.0 < q < 1.0:
        raise ValueError(f"quantile q must be in (0, 1): {q!r}")


def _normal_quantile(q: float) -> float:
    """Standard normal quantile Φ⁻¹(q): `scipy.stats.norm.ppf`, by `scipy.special.ndtri`."""
    from scipy.special import ndtri

    return float(ndtri(q))


@dataclass(frozen=True, slots=True, kw_only=True)
class Constant:
    """Always `value_s` seconds (deterministic service, D in Kendall's notation)."""

    value_s: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.value_s) and self.value_s >= 0):
            raise ValueError(f"Constant.value_s must be >= 0: {self.value_s!r}")

    @property
    def mean_s(self) -> float:
        """The mean: the value itself."""
        return float(self.value_s)

    @property
    def scv(self) -> float:
        """Squared coefficient of variation: 0."""
        return 0.0

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """`size` copies of the value (the generator is not advanced)."""
        return np.full(size, float(self.value_s), dtype=np.float64)

    def quantile(self, q: float) -> float:
        """The value, for every q."""
        _check_q(q)
        return float(self.value_s)


@dataclass(frozen=True, slots=True, kw_only=True)
class Exponential:
    """Exponential with mean `mean_s` (M in Kendall's notation; scv 1)."""

    mean_s: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.mean_s) and self.mean_s > 0):
            raise ValueError(f"Exponential.mean_s must be > 0: {self.mean_s!r}")

    @property
    def scv(self) -> float:
        """Squared coefficient of variation: 1."""
        return 1.0

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """`size` independent draws."""
        return rng.exponential(self.mean_s, size)

    def quantile(self, q: float) -> float:
        """F⁻¹(q) = −mean · ln(1 − q)."""
        _check_q(q)
        return -self.mean_s * math.log1p(-q)


@dataclass(frozen=True, slots=True, kw_only=True)
class Lognormal:
    """Lognormal with mean `mean_s` and log-scale standard deviation `sigma`.

    ln X ~ N(μ, σ²) with μ = ln(mean) − σ²/2, so E[X] = mean and scv = exp(σ²) − 1.
    """

    mean_s: float
    sigma: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.mean_s) and self.mean_s > 0):
            raise ValueError(f"Lognormal.mean_s must be > 0: {self.mean_s!r}")
        if not (math.isfinite(self.sigma) and self.sigma >= 0):
            raise ValueError(f"Lognormal.sigma must be >= 0: {self.sigma!r}")

    @classmethod
    def from_mean_sigma(cls, mean_s: float, sigma: float) -> Lognormal:
        """The lognormal with this mean and log-scale standard deviation."""
        return cls(mean_s=mean_s, sigma=sigma)

    @classmethod
    def from_mean_p99(cls, mean_s: float, p99_s: float) -> Lognormal:
        """The lognormal with this mean and 99th percentile.

        p99/mean = exp(σ z₉₉ − σ²/2) is a quadratic in σ, σ²/2 − z₉₉ σ + ln(p99/mean) = 0,
        with roots σ = z₉₉ ∓ √(z₉₉² − 2 ln(p99/mean)). The smaller root is the light-tailed
        solution a user means; it is positive only for p99 > mean and real only for
        p99/mean ≤ exp(z₉₉²/2) ≈ 14.97.

        Raises:
            ValueError: mean or p99 not positive, p99 ≤ mean, or p99/mean above ≈ 14.97.
        """
        if not (math.isfinite(mean_s) and mean_s > 0):
            raise ValueError(f"mean must be > 0: {mean_s!r}")
        if not (math.isfinite(p99_s) and p99_s > mean_s):
            raise ValueError(f"p99 must be > mean ({mean_s:g}) for a lognormal: {p99_s!r}")
        log_ratio = math.log(p99_s / mean_s)
        z99 = Z99
        disc = z99 * z99 - 2.0 * log_ratio
        if disc < 0:
            limit = mean_s * math.exp(z99 * z99 / 2.0)
            raise ValueError(
                f"p99 must be <= {limit:.4g} (mean × {math.exp(z99 * z99 / 2):.2f}) "
                f"for a lognormal with mean {mean_s:g}: {p99_s!r}"
            )
        # Stable form of the smaller root: z − √disc = 2 ln(r) / (z + √disc).
        sigma = 2.0 * log_ratio / (z99 + math.sqrt(disc))
        return cls(mean_s=mean_s, sigma=sigma)

    @property
    def mu(self) -> float:
        """Log-scale mean μ = ln(mean) − σ²/2."""
        return math.log(self.mean_s) - self.sigma * self.sigma / 2.0

    @property
    def scv(self) -> float:
        """Squared coefficient of variation exp(σ²) − 1."""
        return math.expm1(self.sigma * self.sigma)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """`size` independent draws."""
        return rng.lognormal(self.mu, self.sigma, size)

    def quantile(self, q: float) -> float:
        """F⁻¹(q) = exp(μ + σ Φ⁻¹(q)), as `scipy.stats.lognorm.ppf(q, σ, scale=e^μ)`."""
        _check_q(q)
        return math.exp(self.mu + self.sigma * _normal_quantile(q))


@dataclass(frozen=True, slots=True, kw_only=True)
class Gamma:
    """Gamma with mean `mean_s` and shape k (scv = 1/k; k = 1 exponential, integer k Erlang)."""

    mean_s: float
    shape: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.mean_s) and self.mean_s > 0):
            raise ValueError(f"Gamma.mean_s must be > 0: {self.mean_s!r}")
        if not (math.isfinite(self.shape) and self.shape > 0):
            raise ValueError(f"Gamma.shape must be > 0: {self.shape!r}")

    @classmethod
    def from_mean_scv(cls, mean_s: float, scv: float) -> Gamma:
        """The gamma with this mean and squared coefficient of variation (shape = 1/scv)."""
        if not (math.isfinite(scv) and scv > 0):
            raise ValueError(f"scv must be > 0: {scv!r}")
        return cls(mean_s=mean_s, shape=1.0 / scv)

    @property
    def scale_s(self) -> float:
        """Scale θ = mean / shape."""
        return self.mean_s / self.shape

    @property
    def scv(self) -> float:
        """Squared coefficient of variation 1/shape."""
        return 1.0 / self.shape

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """`size` independent draws."""
        return rng.gamma(self.shape, self.scale_s, size)

    def quantile(self, q: float) -> float:
        """F⁻¹(q) = θ · P⁻¹(k, q), as `scipy.stats.gamma.ppf(q, k, scale=θ)`.

        P⁻¹ is the inverse of the regularised lower incomplete gamma function
        (`scipy.special.gammaincinv`).
        """
        _check_q(q)
        from scipy.special import gammaincinv

        return float(gammaincinv(self.shape, q)) * self.scale_s


@dataclass(frozen=True, slots=True, kw_only=True)
class Empirical:
    """Resamples the given observations with replacement (the empirical distribution)."""

    samples_s: tuple[float, ...]
    _array: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        arr = np.asarray(self.samples_s, dtype=np.float64)
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError("Empirical.samples_s must be a non-empty sequence of seconds")
        if not np.all(np.isfinite(arr)) or np.any(arr < 0):
            bad = arr[~(np.isfinite(arr) & (arr >= 0))][0]
            raise ValueError(f"Empirical.samples_s must be finite and >= 0: {float(bad)!r}")
        if float(arr.mean()) <= 0:
            raise ValueError("Empirical.samples_s must not all be 0")
        arr.setflags(write=False)
        object.__setattr__(self, "samples_s", tuple(float(v) for v in arr))
        object.__setattr__(self, "_array", arr)

    @property
    def mean_s(self) -> float:
        """Sample mean."""
        return float(self._array.mean())

    @property
    def scv(self) -> float:
        """Variance of the empirical distribution (divisor n) over the squared mean."""
        mean = self._array.mean()
        return float(self._array.var() / (mean * mean))

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """`size` draws with replacement."""
        return self._array[rng.integers(0, self._array.size, size)]

    def quantile(self, q: float) -> float:
        """Inverse of the empirical CDF: the smallest x with F(x) ≥ q."""
        _check_q(q)
        return float(np.quantile(self._array, q, method="inverted_cdf"))


Distribution: TypeAlias = Constant | Exponential | Lognormal | Gamma | Empirical
