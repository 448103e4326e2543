"""Arrivals of a log: per-second counts, and a phase pattern fitted to them for what-ifs.

`smooth_phases(counts)` fits piecewise-constant phases to the per-second rate by binary
segmentation: starting from one segment, the split that most reduces the sum of squared
deviations from the segment means is made when the reduction exceeds a BIC-style penalty,
`PENALTY_FACTOR × σ² × log(n)` with σ² = the segment's mean count per second (the variance
of a Poisson count at that rate), and repeated on each part, so a split needs a change in
rate larger than Poisson noise explains. Segments are at least `min_phase_s` long and at
most `max_phases` are made (the largest reductions first). Each phase's rate is its
segment's mean, so the pattern offers exactly the log's request count over the log's length.
"""

from __future__ import annotations

import heapq
import itertools
import math

import numpy as np

__all__ = ["PENALTY_FACTOR", "counts_per_second", "smooth_phases"]

PENALTY_FACTOR = 2.0


def counts_per_second(t_s: np.ndarray) -> np.ndarray:
    """Requests arriving in each whole second [i, i + 1), from 0 to the last arrival."""
    if not t_s.size:
        return np.zeros(0, dtype=np.int64)
    n = math.floor(float(t_s[-1])) + 1
    return np.bincount(np.floor(t_s).astype(np.int64), minlength=n)


def _best_split(
    cum: np.ndarray, cum2: np.ndarray, lo: int, hi: int, min_len: int
) -> tuple[float, int]:
    """(reduction in squared error, split index) of the best split of [lo, hi)."""
    if hi - lo < 2 * min_len:
        return 0.0, -1
    ks = np.arange(lo + min_len, hi - min_len + 1)

    def sse(a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
        s = cum[b] - cum[a]
        s2 = cum2[b] - cum2[a]
        return np.asarray(s2 - s * s / np.maximum(np.asarray(b) - np.asarray(a), 1))

    whole = float(sse(lo, hi))
    gains = whole - sse(lo, ks) - sse(ks, hi)
    j = int(np.argmax(gains))
    return float(gains[j]), int(ks[j])


def smooth_phases(
    counts: np.ndarray, *, min_phase_s: int = 30, max_phases: int = 20
) -> list[tuple[int, float]]:
    """Piecewise-constant phases [(duration_s, rps), ...] fitted to per-second counts.

    See the module docstring for the method. Adjacent phases always differ in rate.
    """
    x = np.asarray(counts, dtype=np.float64)
    n = x.size
    if n == 0:
        return []
    cum = np.concatenate(([0.0], np.cumsum(x)))
    cum2 = np.concatenate(([0.0], np.cumsum(x * x)))
    log_n = math.log(max(n, 2))
    min_len = max(1, int(min_phase_s))
    cuts = [0, n]
    heap: list[tuple[float, int, int, int]] = []

    def consider(lo: int, hi: int) -> None:
        """Queue the best split of [lo, hi) if it beats the segment's penalty."""
        gain, k = _best_split(cum, cum2, lo, hi, min_len)
        variance = max(float((cum[hi] - cum[lo]) / (hi - lo)), 1e-9)
        if k > 0 and gain > PENALTY_FACTOR * variance * log_n:
            heapq.heappush(heap, (-gain, k, lo, hi))

    consider(0, n)
    while heap and len(cuts) - 1 < max_phases:
        _, k, lo, hi = heapq.heappop(heap)
        cuts.append(k)
        consider(lo, k)
        consider(k, hi)
    cuts.sort()
    phases: list[tuple[int, float]] = []
    for a, b in itertools.pairwise(cuts):
        rate = float((cum[b] - cum[a]) / (b - a))
        if phases and phases[-1][1] == rate:
            phases[-1] = (phases[-1][0] + b - a, rate)
        else:
            phases.append((b - a, rate))
    return phases
