"""Small statistics: Student-t intervals, Clopper–Pearson, quantile intervals.

Shared by `metrics` (confidence intervals across replications), `sweep` (the same, per grid
point) and `loadtest` (measured vs predicted bands). The distribution functions are scipy's
(`scipy.special`, the routines behind `scipy.stats.t.ppf`, `norm.ppf` and `beta.ppf`),
imported inside the functions so that importing this module stays cheap:

- `t_quantile_975(df)`: the 97.5 % quantile of Student's t.
- `mean_ci(x)`: mean ± t(0.975, n−1) · s / √n over the finite values of x.
- `prediction_interval(x)`: mean ± t(0.975, n−1) · s · √(1 + 1/n) for one new replication,
  never narrower than x's min..max.
- `clopper_pearson(k, n)`: the exact binomial interval from quantiles of the beta distribution.
- `quantile_ci(values, q)`: a sample quantile and its distribution-free 95 % interval from
  order statistics.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "clopper_pearson",
    "mean_ci",
    "mean_ci_within",
    "prediction_interval",
    "quantile_ci",
    "t_quantile_975",
]


# --------------------------------------------------------------------------- Student t


def t_quantile_975(df: int) -> float:
    """The 97.5 % quantile of Student's t with `df` degrees of freedom (df >= 1).

    `scipy.stats.t.ppf(0.975, df)`, by its underlying `scipy.special.stdtrit`.
    """
    if df < 1:
        raise ValueError(f"df must be >= 1: {df}")
    from scipy.special import stdtrit

    return float(stdtrit(df, 0.975))


def mean_ci(x: np.ndarray) -> tuple[float, tuple[float, float]]:
    """Mean and Student-t 95 % interval of the finite values of x."""
    x = x[np.isfinite(x)]
    if x.size == 0:
        return math.nan, (math.nan, math.nan)
    mean = float(x.mean())
    if x.size == 1:
        return mean, (mean, mean)
    half = t_quantile_975(x.size - 1) * float(x.std(ddof=1)) / math.sqrt(x.size)
    return mean, (mean - half, mean + half)


def mean_ci_within(x: np.ndarray, low: float, high: float) -> tuple[float, tuple[float, float]]:
    """`mean_ci`, its interval clipped to the metric's range [low, high].

    A symmetric t-interval may cross a bound (a rate below 0 or above 1) when few
    replications differ a lot; the true value cannot.
    """
    mean, (lo, hi) = mean_ci(x)
    return mean, (min(max(lo, low), high), min(max(hi, low), high))


def prediction_interval(x: np.ndarray) -> tuple[float, float, float]:
    """Mean and Student-t 95 % prediction interval of one new replication (>= min..max)."""
    x = x[np.isfinite(x)]
    if x.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if x.size == 1:
        return mean, mean, mean
    half = t_quantile_975(x.size - 1) * float(x.std(ddof=1)) * math.sqrt(1.0 + 1.0 / x.size)
    return mean, min(mean - half, float(x.min())), max(mean + half, float(x.max()))


# --------------------------------------------------------------------------- proportions


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper–Pearson) interval for a binomial proportion k/n.

    lower = Beta(α/2; k, n−k+1), upper = Beta(1−α/2; k+1, n−k), with 0 and 1 at the edges
    (Clopper & Pearson 1934); the beta quantiles are `scipy.stats.beta.ppf`'s
    (`scipy.special.betaincinv`). n = 0 gives (0, 1).
    """
    if not 0 <= k <= n:
        raise ValueError(f"k must be in 0..n ({n}): {k}")
    if n == 0:
        return 0.0, 1.0
    from scipy.special import betaincinv

    alpha = 1.0 - confidence
    lo = 0.0 if k == 0 else float(betaincinv(k, n - k + 1, alpha / 2.0))
    hi = 1.0 if k == n else float(betaincinv(k + 1, n - k, 1.0 - alpha / 2.0))
    return lo, hi


# --------------------------------------------------------------------------- quantiles


def quantile_ci(values: np.ndarray, q: float) -> tuple[float, float, float]:
    """Sample q-quantile and its distribution-free 95 % interval from order statistics.

    The ranks are m·q ∓ z·√(m·q·(1−q)) (normal approximation of the binomial count below the
    true quantile; e.g. Conover, Practical Nonparametric Statistics, §3.2), clipped to the
    sample. A rank beyond the sample means the sample cannot bound the quantile on that side:
    the bound is then -inf (below the smallest) or +inf (above the largest), e.g. the upper
    bound of a p95 from fewer than ~100 values. Returns (quantile, lower, upper); NaNs for an
    empty sample.
    """
    x = np.sort(np.asarray(values, dtype=np.float64))
    m = x.size
    if m == 0:
        return math.nan, math.nan, math.nan
    from scipy.special import ndtri

    half = float(ndtri(0.975)) * math.sqrt(m * q * (1.0 - q))
    j = math.floor(m * q - half)
    k = math.ceil(m * q + half)
    lower = float(x[min(j, m) - 1]) if j >= 1 else -math.inf
    upper = float(x[max(k, 1) - 1]) if k <= m else math.inf
    return float(np.quantile(x, q)), lower, upper
