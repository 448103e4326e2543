"""Fit a request-time distribution to observed durations, keeping their mean.

Candidates are a lognormal and a gamma whose MEAN is the sample mean (so the offered load,
rate × mean request time, is the log's) and whose shape is the maximum-likelihood one:

- lognormal: σ is the standard deviation of log(duration) (its MLE); the mean is then set
  to the sample mean (μ = log(mean) − σ²/2), not left at the MLE's exp(μ̂ + σ̂²/2), which
  can miss a heavy-tailed sample's mean by more than the 2 % the offered load may move.
- gamma: shape k by `scipy.stats.gamma.fit` with location 0; the gamma MLE's mean is the
  sample mean already (scale = mean / k).

The criterion is the Kolmogorov–Smirnov distance D (largest gap between the empirical and
the fitted CDF, `scipy.stats.kstest`): the candidate with the smaller D wins, provided
D <= KS_THRESHOLD (0.05: no quantile off by more than 5 percentage points). Otherwise the
durations themselves are used (empirical: resampled with replacement, mean exact). With
millions of rows every parametric fit "fails" a KS test at 5 %, so the distance, not its
p-value, is what is judged. AIC is reported beside D for information. A sample with a zero
duration has no lognormal or gamma fit (both are > 0), and a sample whose durations are all
equal is a constant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["KS_THRESHOLD", "Candidate", "RequestTimeFit", "fit_request_time"]

KS_THRESHOLD = 0.05
# Parametric fits on a random subsample of at most this many durations (KS and AIC on it
# too): the shapes are estimated to ~1 % on it, and a day of logs stays quick to fit.
MAX_FIT_SAMPLES = 200_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    """One fitted family: its scenario spec, KS distance and AIC."""

    family: str
    spec: dict[str, Any]
    ks_distance: float
    aic: float


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestTimeFit:
    """The chosen distribution (`spec` for `service.request_time_s`) and the evidence."""

    chosen: str  # "lognormal", "gamma", "empirical" or "constant"
    spec: dict[str, Any]  # {dist: ...}; an empirical spec has no samples: see `samples_s`
    mean_s: float  # the sample mean
    fitted_mean_s: float  # the mean of the chosen distribution
    candidates: tuple[Candidate, ...]
    samples_s: np.ndarray  # the durations (for an empirical spec and the QQ plot)
    reason: str

    def quantiles(self, probs: np.ndarray) -> np.ndarray:
        """The chosen distribution's quantiles at `probs` (empirical: the sample's)."""
        return _ppf(self.chosen, self.spec, self.samples_s, probs)

    @staticmethod
    def quantiles_of(
        family: str, spec: dict[str, Any], samples: np.ndarray, probs: np.ndarray
    ) -> np.ndarray:
        """Quantiles of a family's spec (a candidate's, for instance) at `probs`."""
        return _ppf(family, spec, samples, probs)

    def to_json_dict(self) -> dict[str, Any]:
        """The choice, the means and each candidate's KS distance and AIC."""
        return {
            "chosen": self.chosen,
            "spec": self.spec,
            "mean_s": self.mean_s,
            "fitted_mean_s": self.fitted_mean_s,
            "reason": self.reason,
            "criterion": f"smallest KS distance, at most {KS_THRESHOLD:g}; else empirical",
            "candidates": [
                {"family": c.family, "ks_distance": c.ks_distance, "aic": c.aic}
                for c in self.candidates
            ],
        }


def fit_request_time(
    durations_s: np.ndarray,
    *,
    seed: int = 0,
    mean_s: float | None = None,
    min_s: float | None = None,
    max_s: float | None = None,
) -> RequestTimeFit:
    """Fit lognormal and gamma to the durations; keep the better by KS distance, or the data.

    Args:
        durations_s: request times in seconds (finite, >= 0, not all 0), or a uniform
            sample of them when `mean_s`, `min_s` and `max_s` give the whole set's.
        seed: the subsample's random stream when there are more than MAX_FIT_SAMPLES.
        mean_s: the mean of all the durations (default: of `durations_s`): the fit keeps it.
        min_s: the smallest of all the durations (a zero rules out lognormal and gamma).
        max_s: the largest (equal to `min_s`: a constant).
    """
    from scipy import stats

    x = np.asarray(durations_s, dtype=np.float64)
    mean = float(x.mean()) if mean_s is None else float(mean_s)
    low = float(x.min()) if min_s is None else float(min_s)
    high = float(x.max()) if max_s is None else float(max_s)
    if not mean > 0:
        raise ValueError("durations must not all be 0")
    if low == high:
        spec = {"dist": "constant", "value": mean}
        reason = f"every duration is {mean:g} s"
        return RequestTimeFit(
            chosen="constant", spec=spec, mean_s=mean, fitted_mean_s=mean, candidates=(),
            samples_s=x, reason=reason,
        )  # fmt: skip
    sub = x
    if x.size > MAX_FIT_SAMPLES:
        sub = np.random.default_rng(seed).choice(x, MAX_FIT_SAMPLES, replace=False)
    candidates: list[Candidate] = []
    if low > 0:
        logs = np.log(sub)
        sigma = float(logs.std())
        mu = math.log(mean) - sigma * sigma / 2
        ln = stats.lognorm(s=sigma, scale=math.exp(mu))
        candidates.append(_candidate("lognormal", {"dist": "lognormal", "mean": mean,
                                                    "sigma": sigma}, ln, sub, 2))  # fmt: skip
        shape, _, _ = stats.gamma.fit(sub, floc=0)
        ga = stats.gamma(a=float(shape), scale=mean / float(shape))
        candidates.append(_candidate("gamma", {"dist": "gamma", "mean": mean,
                                               "shape": float(shape)}, ga, sub, 2))  # fmt: skip
    best = min(candidates, key=lambda c: c.ks_distance) if candidates else None
    if best is not None and best.ks_distance <= KS_THRESHOLD:
        others = [c for c in candidates if c is not best]
        vs = f" (gamma D = {others[0].ks_distance:.3f})" if others else ""
        if others and best.family == "gamma":
            vs = f" (lognormal D = {others[0].ks_distance:.3f})"
        reason = f"{best.family}: KS distance {best.ks_distance:.3f} <= {KS_THRESHOLD:g}{vs}"
        fitted = _mean_of(best.family, best.spec)
        return RequestTimeFit(
            chosen=best.family, spec=best.spec, mean_s=mean, fitted_mean_s=fitted,
            candidates=tuple(candidates), samples_s=x, reason=reason,
        )  # fmt: skip
    if best is None:
        reason = "empirical: a zero duration rules out lognormal and gamma"
    else:
        reason = (
            f"empirical: the best fit ({best.family}) has KS distance {best.ks_distance:.3f} "
            f"> {KS_THRESHOLD:g}"
        )
    return RequestTimeFit(
        chosen="empirical", spec={"dist": "empirical"}, mean_s=mean, fitted_mean_s=mean,
        candidates=tuple(candidates), samples_s=x, reason=reason,
    )  # fmt: skip


def _candidate(family: str, spec: dict[str, Any], dist: Any, x: np.ndarray, k: int) -> Candidate:
    from scipy import stats

    d = float(stats.kstest(x, dist.cdf).statistic)
    loglik = float(np.sum(dist.logpdf(x)))
    return Candidate(family=family, spec=spec, ks_distance=d, aic=2 * k - 2 * loglik)


def _mean_of(family: str, spec: dict[str, Any]) -> float:
    """The mean of the distribution the spec describes (computed back from its parameters)."""
    from scipy import stats

    if family == "lognormal":
        sigma, mean = spec["sigma"], spec["mean"]
        return float(stats.lognorm(s=sigma, scale=math.exp(math.log(mean) - sigma**2 / 2)).mean())
    if family == "gamma":
        return float(stats.gamma(a=spec["shape"], scale=spec["mean"] / spec["shape"]).mean())
    return float(spec.get("value", spec.get("mean", math.nan)))


def _ppf(family: str, spec: dict[str, Any], samples: np.ndarray, probs: np.ndarray) -> np.ndarray:
    from scipy import stats

    if family == "lognormal":
        sigma, mean = spec["sigma"], spec["mean"]
        scale = math.exp(math.log(mean) - sigma**2 / 2)
        return np.asarray(stats.lognorm(s=sigma, scale=scale).ppf(probs))
    if family == "gamma":
        return np.asarray(
            stats.gamma(a=spec["shape"], scale=spec["mean"] / spec["shape"]).ppf(probs)
        )
    if family == "constant":
        return np.full(np.shape(probs), float(spec["value"]))
    return np.asarray(np.quantile(samples, probs))
