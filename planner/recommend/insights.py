"""Why the 503s happened: a few plain facts read off a simulation's per-second timeline.

`explain_503s(timeline, warmup_s=..., max_replicas=...)` returns an `Explanation`: how many 503s
per replication, what share of them fell in seconds when replicas were still starting (the
spike outran cold starts) or when the deployment was already at `max_replicas` (the ceiling was
too low), and the worst minute. `describe(explanation)` turns it into sentences for
`planner simulate`. Pure pandas on the documented timeline columns; no simulation here.

With a node layer (`nodes:` in the scenario) pass the per-replica phase table too
(`Results.replicas`, or call `explain_results(results)`): the explanation then names the phase
that held the missing capacity. The replicas that were on their way to ready while the 503s
came (requested before the last 503, ready after the first) are the capacity that was
missing; their mean time to ready is split into waiting for a node, node provisioning, image
pull and cold start, and the largest part is named with what would shorten it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from planner.model_nodes import PHASES

if TYPE_CHECKING:
    from planner.scenario import Scenario
    from planner.simulate import Results

__all__ = [
    "Explanation",
    "NodePhases",
    "describe",
    "explain_503s",
    "explain_results",
    "replica_ceiling",
]

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
    nodes: NodePhases | None = None  # with a node layer and its replica table only


@dataclass(frozen=True, slots=True, kw_only=True)
class NodePhases:
    """The time to ready of the replicas that were on their way while the 503s came.

    `mean_s` holds the mean seconds of each phase of `planner.model_nodes.PHASES`, in order:
    waiting for a node (no node provisioning for it yet: the scan interval, or the pool at
    max_nodes), node provisioning, image pull, cold start.
    """

    replicas_per_rep: float
    waited_per_rep: float  # of those, the replicas that waited for a node (Pending)
    mean_s: tuple[float, ...]

    @property
    def to_ready_s(self) -> float:
        """Mean time from request to ready: the sum of the phases."""
        return float(sum(self.mean_s))

    @property
    def main(self) -> str:
        """The phase with the largest mean share of the time to ready (the first on ties)."""
        return PHASES[int(np.argmax(self.mean_s))]


def replica_ceiling(scenario: Scenario) -> int | None:
    """The autoscaler's ceiling (max_replicas), or None for a fixed deployment."""
    dep = scenario.deployment
    return None if dep.autoscaler == "none" else int(dep.max_replicas)


def explain_results(results: Results) -> Explanation:
    """`explain_503s` on a run's timeline and replica table, with the scenario's settings."""
    scenario = results.scenario
    return explain_503s(
        results.timeline,
        warmup_s=scenario.warmup_s,
        max_replicas=replica_ceiling(scenario),
        replicas=results.replicas,
    )


def explain_503s(
    timeline: pd.DataFrame,
    *,
    warmup_s: float = 0.0,
    max_replicas: int | None = None,
    replicas: pd.DataFrame | None = None,
) -> Explanation:
    """Summarise when and why 503s happened in a timeline (rep, t_s, arrivals, ready, starting).

    Shares are weighted by 503 count, so "90 % while starting" means nine in ten 503 responses
    were given in a second when at least one replica was still cold. `replicas` is the node
    layer's per-replica table (`Results.replicas`: rep, requested_s, ready_s and one `<phase>_s`
    column per phase); with it, `Explanation.nodes` splits the time to ready of the replicas
    that were starting while the 503s came.
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
        nodes=None if replicas is None else _node_phases(tl, replicas, reps),
    )


def _node_phases(tl: pd.DataFrame, replicas: pd.DataFrame, reps: int) -> NodePhases | None:
    """Phases of the replicas requested before a rep's last 503 and ready after its first.

    A 503 is counted in the second its request arrived, so the span of a rep's 503s is
    [first second, last second + 1). None when there were no 503s or no such replica.
    """
    with_503 = tl[tl["n_503"] > 0]
    if with_503.empty:
        return None
    if "rep" not in tl.columns:
        with_503 = with_503.assign(rep=0)
        replicas = replicas.assign(rep=0) if "rep" not in replicas.columns else replicas
    span = with_503.groupby("rep")["t_s"].agg(["min", "max"])
    rows = replicas.join(span, on="rep", how="inner")
    during = rows[(rows["requested_s"] < rows["max"] + 1.0) & (rows["ready_s"] > rows["min"])]
    if during.empty:
        return None
    means = tuple(float(during[f"{p}_s"].mean()) for p in PHASES)
    pending_s = during[f"{PHASES[0]}_s"] + during[f"{PHASES[1]}_s"]
    return NodePhases(
        replicas_per_rep=len(during) / reps,
        waited_per_rep=float((pending_s > 0).sum()) / reps,
        mean_s=means,
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
                # With nodes, the sentence on the phases below says which part of the
                # start-up it was; without them, the start-up is the cold start.
                + ("became ready." if ex.nodes is not None else "became ready (cold start).")
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
        if ex.nodes is not None:
            lines.append(_describe_nodes(ex.nodes, per))
    if ex.n_504_per_rep > 0:
        lines.append(f"{_n(ex.n_504_per_rep)} requests{per} ran past the scoring timeout (504).")
    return lines


_PHASE_WORDS = {
    "node_wait": "waiting for a node",
    "node_provisioning": "node provisioning",
    "image_pull": "image pull",
    "cold_start": "cold start",
}
# What shortens each phase, in the scenario's own field names.
_PHASE_HELP = {
    "node_wait": (
        "room held in advance would help: headroom pods (nodes.headroom_pods) or more warm "
        "nodes (nodes.min_nodes); if the pool reached nodes.max_nodes, raise it"
    ),
    "node_provisioning": (
        "room held in advance would help: headroom pods (nodes.headroom_pods) or more warm "
        "nodes (nodes.min_nodes), so new replicas start on a Ready node"
    ),
    "image_pull": (
        "nodes that already hold the image would help: more warm nodes (nodes.min_nodes), "
        "or a smaller image"
    ),
    "cold_start": (
        "more warm replicas would help (deployment.min_replicas), or a lower "
        "target_utilization so the scale-up starts earlier"
    ),
}


def _describe_nodes(ph: NodePhases, per: str) -> str:
    """The node-layer sentence: which phase made up most of the time to ready, and the help."""
    main = ph.main
    one = ph.replicas_per_rep == 1
    who = f"1 replica{per} was on its way" if one else f"{_n(ph.replicas_per_rep)} replicas{per}"
    if not one:
        who += " were on their way"
    if ph.waited_per_rep == 0:
        waited = "none of them waiting for a node" if not one else "not waiting for a node"
    elif ph.waited_per_rep == ph.replicas_per_rep:
        waited = "waiting for a node" if one else "all of them waiting for a node"
    else:
        waited = f"{_n(ph.waited_per_rep)} of them waiting for a node"
    others = ", ".join(
        f"{_PHASE_WORDS[p]} {s:.0f} s" for p, s in zip(PHASES, ph.mean_s, strict=True) if p != main
    )
    main_s = ph.mean_s[PHASES.index(main)]
    their = "its" if one else "their"
    return (
        f"The 503s came while {who} to ready, {waited}: "
        f"{_PHASE_WORDS[main]} {main_s:.0f} s of {their} {ph.to_ready_s:.0f} s to ready "
        f"{'' if one else 'on average '}({others}). "
        f"{_PHASE_HELP[main][0].upper()}{_PHASE_HELP[main][1:]}."
    )
