"""Small statistics without scipy: Student-t intervals, Clopper–Pearson, quantile intervals.

Pure numpy/math, shared by `metrics` (confidence intervals across replications), `sweep`
(the same, per grid point) and `validation` (measured vs predicted bands):

- `t_quantile_975(df)`: the 97.5 % quantile of Student's t, from a table for df 1..30 and a
  Cornish–Fisher series beyond (error < 1e-6).
- `mean_ci(x)`: mean ± t(0.975, n−1) · s / √n over the finite values of x.
- `prediction_interval(x)`: mean ± t(0.975, n−1) · s · √(1 + 1/n) for one new replication,
  never narrower than x's min..max.
- `betainc(a, b, x)` and `clopper_pearson(k, n)`: the regularised incomplete beta (continued
  fraction, Numerical Recipes §6.4) and the exact binomial interval by bisection on it.
- `quantile_ci(values, q)`: a sample quantile and its distribution-free 95 % interval from
  order statistics.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "betainc",
    "clopper_pearson",
    "mean_ci",
    "prediction_interval",
    "quantile_ci",
    "t_quantile_975",
]

# t(0.975, df) for df = 1..30 (Student's t, two-sided 95 %).
_T975 = (
    12.706204736, 4.302652730, 3.182446305, 2.776445105, 2.570581836, 2.446911851,
    2.364624252, 2.306004135, 2.262157163, 2.228138852, 2.200985160, 2.178812830,
    2.160368656, 2.144786688, 2.131449546, 2.119905299, 2.109815578, 2.100922040,
    2.093024054, 2.085963447, 2.079613845, 2.073873068, 2.068657610, 2.063898562,
    2.059538553, 2.055529439, 2.051830516, 2.048407142, 2.045229642, 2.042272456,
)  # fmt: skip
_Z975 = 1.959963984540054


# --------------------------------------------------------------------------- Student t


def t_quantile_975(df: int) -> float:
    """The 97.5 % quantile of Student's t with `df` degrees of freedom (df >= 1).

    A table for df <= 30; beyond, the Cornish–Fisher expansion in 1/df
    (Abramowitz & Stegun 26.7.5), accurate to better than 1e-6 there.
    """
    if df < 1:
        raise ValueError(f"df must be >= 1: {df}")
    if df <= len(_T975):
        return _T975[df - 1]
    z, n = _Z975, float(df)
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / n + g2 / n**2 + g3 / n**3 + g4 / n**4


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


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, eps = 1e-300, 1e-15
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 100_000):
        m2 = 2 * m
        for aa in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < eps:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b), the CDF of Beta(a, b) at x (a, b > 0)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def _beta_ppf(q: float, a: float, b: float) -> float:
    """The q-quantile of Beta(a, b), by bisection on `betainc` (to ~1e-15)."""
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if betainc(a, b, mid) < q:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper–Pearson) interval for a binomial proportion k/n.

    lower = Beta(α/2; k, n−k+1), upper = Beta(1−α/2; k+1, n−k), with 0 and 1 at the edges
    (Clopper & Pearson 1934). n = 0 gives (0, 1).
    """
    if not 0 <= k <= n:
        raise ValueError(f"k must be in 0..n ({n}): {k}")
    if n == 0:
        return 0.0, 1.0
    alpha = 1.0 - confidence
    lo = 0.0 if k == 0 else _beta_ppf(alpha / 2.0, k, n - k + 1)
    hi = 1.0 if k == n else _beta_ppf(1.0 - alpha / 2.0, k + 1, n - k)
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
    half = _Z975 * math.sqrt(m * q * (1.0 - q))
    j = math.floor(m * q - half)
    k = math.ceil(m * q + half)
    lower = float(x[min(j, m) - 1]) if j >= 1 else -math.inf
    upper = float(x[max(k, 1) - 1]) if k <= m else math.inf
    return float(np.quantile(x, q)), lower, upper
