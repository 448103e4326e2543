"""Service-time and cold-start distributions: `sample(rng, size)`, `mean_s`, `scv`.

CONTRACT (owned by the engine work; other modules rely on exactly this):
every distribution is a frozen dataclass with
    mean_s: float               (property or field) the mean in seconds
    scv: float                  (property) squared coefficient of variation, Var/mean^2
    sample(rng, size) -> np.ndarray[float64]   non-negative seconds, shape (size,)
    quantile(q) -> float        q in (0, 1)
Classes: Constant(value_s), Exponential(mean_s), Lognormal(mean_s, sigma) with
Lognormal.from_mean_p99(mean_s, p99_s), Gamma(mean_s, shape), Empirical(samples_s: tuple[float, ...]).
"""

from __future__ import annotations
