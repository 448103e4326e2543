"""Why the 503s happened: a few plain facts read off a simulation's per-second timeline.

`explain_503s(timeline, warmup_s=..., max_replicas=...)` returns an `Explanation`: how many 503s
per replication, what share of them fell in seconds when replicas were still starting (the
spike outran cold starts) or when the deployment was already at `max_replicas` (the ceiling was
too low), and the worst minute. `describe(explanation)` turns it into sentences for
`planner simulate`. Pure pandas on the documented timeline columns; no simulation here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Explanation", "describe", "explain_503s"]

WINDOW_S = 60


@dataclass(frozen=True, slots=True, kw_only=True)
class Explanation:
    """Facts about the 503s of a run, averaged per replication, warm-up excluded."""

    reps: int
    n_503_per_rep: float
    n_504_per_rep: float
    arrivals_per_rep: float
    first_503_s: float | None  # first and last second with a 503 in any rep
    last_503_s: float | None
    share_while_starting: float  # of the 503s, the share in seconds with starting replicas
    share_at_max: float | None  # ... in seconds at max_replicas, all ready (the ceiling)
    starting_during_503: float  # mean starting replicas over the 503s (weighted by count)
    ready_during_503: float
    worst_start_s: float  # the window of WINDOW_S seconds with the most 503s
    worst_end_s: float
    worst_503_per_rep: float
    worst_arrivals_per_rep: float


def explain_503s(
    timeline: pd.DataFrame, *, warmup_s: float = 0.0, max_replicas: int | None = None
) -> Explanation:
    """Summarise when and why 503s happened in a timeline (rep, t_s, arrivals, ready, starting).

    Shares are weighted by 503 count, so "90 % while starting" means nine in ten 503 responses
    were given in a second when at least one replica was still cold.
    """
    tl = timeline[timeline["t_s"] >= warmup_s]
    reps = int(tl["rep"].nunique()) if "rep" in tl.columns and len(tl) else 1
    n503 = tl["n_503"].to_numpy(dtype=float)
    total_503 = float(n503.sum())
    starting = tl["starting"].to_numpy(dtype=float)
    ready = tl["ready"].to_numpy(dtype=float)

    def share(mask: np.ndarray) -> float:
        return float(n503[mask].sum() / total_503) if total_503 > 0 else 0.0

    at_max: float | None = None
    if max_replicas is not None:
        at_max = share((ready >= max_replicas) & (starting == 0))
    with_503 = tl["t_s"][n503 > 0]

    per_s = tl.groupby("t_s", sort=True)[["n_503", "arrivals"]].sum()
    if len(per_s):
        seconds = np.arange(per_s.index.min(), per_s.index.max() + 1.0)
        per_s = per_s.reindex(seconds, fill_value=0)
    window = min(WINDOW_S, max(len(per_s), 1))
    start, worst_503, worst_arrivals = _worst_window(per_s, window)
    if start is None:
        start = float(per_s.index.min()) if len(per_s) else warmup_s
    weights = n503 if total_503 > 0 else np.ones_like(n503)

    return Explanation(
        reps=reps,
        n_503_per_rep=total_503 / reps,
        n_504_per_rep=float(tl["n_504"].sum()) / reps if "n_504" in tl.columns else 0.0,
        arrivals_per_rep=float(tl["arrivals"].sum()) / reps,
        first_503_s=float(with_503.min()) if len(with_503) else None,
        last_503_s=float(with_503.max()) if len(with_503) else None,
        share_while_starting=share(starting > 0),
        share_at_max=at_max,
        starting_during_503=float(np.average(starting, weights=weights)) if len(n503) else 0.0,
        ready_during_503=float(np.average(ready, weights=weights)) if len(n503) else 0.0,
        worst_start_s=start,
        worst_end_s=start + window,
        worst_503_per_rep=worst_503 / reps,
        worst_arrivals_per_rep=worst_arrivals / reps,
    )


def _worst_window(per_s: pd.DataFrame, window: int) -> tuple[float | None, float, float]:
    """Start, 503s and arrivals of the `window`-second span with the most 503s (all reps pooled).

    Spans start at a second that has 503s, so the span begins where the trouble begins
    rather than up to a minute before it; ties go to the earliest.
    """
    n503 = per_s["n_503"].to_numpy(dtype=float) if len(per_s) else np.zeros(0)
    if not (n503 > 0).any():
        return None, 0.0, 0.0
    arrivals = per_s["arrivals"].to_numpy(dtype=float)
    cs503 = np.concatenate(([0.0], np.cumsum(n503)))
    csarr = np.concatenate(([0.0], np.cumsum(arrivals)))
    starts = np.flatnonzero(n503 > 0)
    ends = np.minimum(starts + window, n503.size)
    sums = cs503[ends] - cs503[starts]
    best = int(np.argmax(sums))
    i, j = starts[best], ends[best]
    return float(per_s.index[i]), float(sums[best]), float(csarr[j] - csarr[i])


def _n(value: float) -> str:
    """A per-rep count: whole, except small fractional means (2.4 per replication)."""
    return f"{value:.1f}" if value < 10 and abs(value - round(value)) >= 0.05 else f"{value:,.0f}"


def describe(ex: Explanation, *, max_replicas: int | None = None) -> list[str]:
    """Sentences a person reads under the summary table: how many 503s, when, and why."""
    per = " per replication" if ex.reps > 1 else ""
    if ex.n_503_per_rep == 0:
        lines = [f"No 503 responses after warm-up ({_n(ex.arrivals_per_rep)} requests{per})."]
    else:
        lines = [
            f"{_n(ex.n_503_per_rep)} of {_n(ex.arrivals_per_rep)} requests{per} got 503, "
            f"between t = {ex.first_503_s:.0f} s and {ex.last_503_s:.0f} s."
        ]
        if ex.share_while_starting > 0:
            lines.append(
                f"{100 * ex.share_while_starting:.0f} % of the 503s happened while replicas were "
                f"starting (on average {ex.starting_during_503:.1f} starting, "
                f"{ex.ready_during_503:.1f} ready): the load rose faster than new replicas "
                "became ready (cold start)."
            )
        if ex.share_at_max is not None and ex.share_at_max > 0 and max_replicas is not None:
            lines.append(
                f"{100 * ex.share_at_max:.0f} % happened with the deployment at max_replicas "
                f"({max_replicas}) and every replica ready: the ceiling is too low for the load."
            )
        rest = 1.0 - ex.share_while_starting - (ex.share_at_max or 0.0)
        if rest > 0.005:
            lines.append(
                f"{100 * rest:.0f} % happened with no replica starting, below the ceiling: "
                "the autoscaler had not (yet) asked for more replicas."
            )
        wrate = ex.worst_503_per_rep / ex.worst_arrivals_per_rep if ex.worst_arrivals_per_rep else 0
        span = ex.worst_end_s - ex.worst_start_s
        label = "minute" if span >= WINDOW_S else f"{span:.0f} s"
        lines.append(
            f"Worst {label}: t = {ex.worst_start_s:.0f}–{ex.worst_end_s:.0f} s, "
            f"{_n(ex.worst_503_per_rep)} of {_n(ex.worst_arrivals_per_rep)} arrivals{per} "
            f"got 503 ({100 * wrate:.3g} %)."
        )
    if ex.n_504_per_rep > 0:
        lines.append(f"{_n(ex.n_504_per_rep)} requests{per} ran past the scoring timeout (504).")
    return lines
