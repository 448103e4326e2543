"""Service-time and cold-start distributions: `sample(rng, size)`, `mean_s`, `scv`.

CONTRACT (owned by the engine work; other modules rely on exactly this):
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
and reports the field path, so users see its messages, not these. Pure: numpy and math only.
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
    "normal_quantile",
]

Z99 = 2.3263478740408408  # standard normal 0.99 quantile


def _check_q(q: float) -> None:
    if not 0.0 < q < 1.0:
        raise ValueError(f"quantile q must be in (0, 1): {q!r}")


def normal_quantile(q: float) -> float:
    """Standard normal quantile Φ⁻¹(q) to about 1e-15 relative error.

    Acklam's rational approximation (relative error 1.15e-9) refined by one Halley step
    on Φ computed with `math.erfc` (P. J. Acklam, "An algorithm for computing the inverse
    normal cumulative distribution function", 2003).
    """
    _check_q(q)
    a = (-39.69683028665376, 220.9460984245205, -275.9285104469687,
         138.3577518672690, -30.66479806614716, 2.506628277459239)  # fmt: skip
    b = (-54.47609879822406, 161.5858368580409, -155.6989798598866,
         66.80131188771972, -13.28068155288572)  # fmt: skip
    c = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838,
         -2.549732539343734, 4.374664141464968, 2.938163982698783)  # fmt: skip
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996, 3.754408661907416)
    q_low = 0.02425
    if q < q_low:
        r = math.sqrt(-2.0 * math.log(q))
        x = (((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) * r + c[5]) / (
            (((d[0] * r + d[1]) * r + d[2]) * r + d[3]) * r + 1.0
        )
    elif q <= 1.0 - q_low:
        s = q - 0.5
        r = s * s
        x = (
            (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5])
            * s
            / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0)
        )
    else:
        r = math.sqrt(-2.0 * math.log1p(-q))
        x = -(((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) * r + c[5]) / (
            (((d[0] * r + d[1]) * r + d[2]) * r + d[3]) * r + 1.0
        )
    # One Halley step: e = Φ(x) - q.
    e = 0.5 * math.erfc(-x / math.sqrt(2.0)) - q
    u = e * math.sqrt(2.0 * math.pi) * math.exp(x * x / 2.0)
    return x - u / (1.0 + x * u / 2.0)


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
        disc = Z99 * Z99 - 2.0 * log_ratio
        if disc < 0:
            limit = mean_s * math.exp(Z99 * Z99 / 2.0)
            raise ValueError(
                f"p99 must be <= {limit:.4g} (mean × {math.exp(Z99 * Z99 / 2):.2f}) "
                f"for a lognormal with mean {mean_s:g}: {p99_s!r}"
            )
        # Stable form of the smaller root: z − √disc = 2 ln(r) / (z + √disc).
        sigma = 2.0 * log_ratio / (Z99 + math.sqrt(disc))
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
        """F⁻¹(q) = exp(μ + σ Φ⁻¹(q))."""
        return math.exp(self.mu + self.sigma * normal_quantile(q))


def _gamma_p(a: float, x: float) -> float:
    """Regularised lower incomplete gamma P(a, x) (series / Lentz continued fraction)."""
    if x <= 0:
        return 0.0
    log_pre = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1.0:
        term = total = 1.0 / a
        ap = a
        for _ in range(10_000):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-16:
                break
        return min(1.0, total * math.exp(log_pre))
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            break
    return max(0.0, 1.0 - math.exp(log_pre) * h)


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
        """F⁻¹(q) by safeguarded bisection/Newton on P(k, x/θ) (relative accuracy ~1e-12)."""
        _check_q(q)
        k = self.shape
        # Bracket in standardised units y = x/θ.
        lo, hi = 0.0, max(1.0, k)
        while _gamma_p(k, hi) < q:
            lo, hi = hi, hi * 2.0
        y = 0.5 * (lo + hi)
        for _ in range(200):
            p = _gamma_p(k, y)
            if p < q:
                lo = y
            else:
                hi = y
            log_pdf = (k - 1.0) * math.log(y) - y - math.lgamma(k) if y > 0 else -math.inf
            pdf = math.exp(log_pdf)
            step_y = y - (p - q) / pdf if pdf > 0 else math.nan
            y = step_y if lo < step_y < hi else 0.5 * (lo + hi)
            if hi - lo <= 1e-14 * hi:
                break
        return y * self.scale_s


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
