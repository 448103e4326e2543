"""The latency histogram: fixed log-spaced bins, binning, and percentiles read from the counts.

This is planner's one latency percentile estimator. Every replication bins its served
latencies on the same edges, so histograms of several replications add up, a percentile costs
O(bins), not a sort of every request, and a run that does not keep its request records still
has its percentiles. With 1000 bins per decade a bin is 0.23 % wide; percentiles interpolate
log-linearly within a bin and are clamped to the exact observed min/max, so they are within a
bin width (< 0.25 %) of the exact order statistic.

The same definition applies to latencies given as values (`latency_percentiles`, e.g. the
per-request table of a run): they are binned first, so the summary of a run and its request
table give the same percentiles, to the last bit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "LATENCY_BIN_EDGES_S",
    "N_LATENCY_BINS",
    "hist_percentile",
    "latency_bin_counts",
    "latency_percentiles",
]

LATENCY_BIN_EDGES_S: np.ndarray = np.logspace(-4.0, 4.0, 8 * 1000 + 1)
"""Histogram edges for latencies: 1e-4 s .. 1e4 s, 1000 log bins per decade (0.23 % wide).

Latencies outside are counted in the end bins; percentiles are clamped to the exact observed
min/max, so the interpolation error stays below a bin width (< 0.25 %).
"""

N_LATENCY_BINS = LATENCY_BIN_EDGES_S.size - 1
_LOG_LO = -4.0
_BINS_PER_DECADE = 1000.0


def latency_bin_counts(lat: np.ndarray) -> np.ndarray:
    """Counts of latencies `lat` (seconds) per bin of LATENCY_BIN_EDGES_S (end bins catch all)."""
    idx = np.floor((np.log10(np.maximum(lat, 1e-300)) - _LOG_LO) * _BINS_PER_DECADE)
    idx = np.clip(idx, 0, N_LATENCY_BINS - 1).astype(np.int64)
    return np.bincount(idx, minlength=N_LATENCY_BINS)


def hist_percentile(hist: np.ndarray, q: float, lo_s: float, hi_s: float) -> float:
    """The q-quantile (0..1) of a latency histogram on LATENCY_BIN_EDGES_S, log-interpolated.

    The result is clamped to [lo_s, hi_s], the exact smallest and largest latency observed.
    NaN for an empty histogram.
    """
    total = int(hist.sum())
    if total == 0:
        return math.nan
    cum = np.cumsum(hist)
    target = q * total
    i = int(np.searchsorted(cum, target, side="left"))
    i = min(i, hist.size - 1)
    before = float(cum[i - 1]) if i else 0.0
    frac = (target - before) / float(hist[i]) if hist[i] else 0.0
    lo, hi = math.log(LATENCY_BIN_EDGES_S[i]), math.log(LATENCY_BIN_EDGES_S[i + 1])
    value = math.exp(lo + frac * (hi - lo))
    return min(max(value, lo_s), hi_s)


def latency_percentiles(lat: np.ndarray, qs: Sequence[float]) -> list[float]:
    """The q-quantiles of latencies given as values, by the histogram definition above.

    Equal to `hist_percentile` on the histogram of `lat` with its exact min and max; NaNs for
    no value.
    """
    values = np.asarray(lat, dtype=np.float64)
    if values.size == 0:
        return [math.nan for _ in qs]
    hist = latency_bin_counts(values)
    lo_s, hi_s = float(values.min()), float(values.max())
    return [hist_percentile(hist, q, lo_s, hi_s) for q in qs]
