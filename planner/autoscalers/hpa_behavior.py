"""Kubernetes HPA normalisation (horizontal.go): stabilisation windows, behavior policies, bounds.

`normalize()` is the controller's step after the per-metric proposal, as a pure function of
the parameters, the history kept between syncs and this sync's inputs. `HpaPolicy.decide()`
uses it for its own proposals; a user can call it with a real controller's proposals to
replay its decisions. Source: kubernetes/kubernetes
`pkg/controller/podautoscaler/horizontal.go` (`reconcileAutoscaler`,
`normalizeDesiredReplicasWithBehaviors`, `normalizeDesiredReplicas`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from planner.autoscalers.hpa import HpaParams

__all__ = ["HpaHistory", "normalize"]

_EPS = 1e-9  # seconds: samples this close to a window edge count as outside


@dataclass(frozen=True, slots=True, kw_only=True)
class HpaHistory:
    """What horizontal.go keeps per HPA between syncs, as (t_s, count) tuples, oldest first.

    `recommendations` are the raw per-sync proposals (the stabilisation windows read them);
    `up_events` / `down_events` the replicas added / removed by each rescale (the behavior
    policies' periods read them). `started` is False until the first sync recorded the
    initial count (`recordInitialRecommendation`).
    """

    started: bool = False
    recommendations: tuple[tuple[float, int], ...] = ()
    up_events: tuple[tuple[float, int], ...] = ()
    down_events: tuple[tuple[float, int], ...] = ()


def normalize(
    params: HpaParams,
    history: HpaHistory,
    *,
    proposal: int,
    current: int,
    t_s: float,
    min_replicas: int,
    max_replicas: int,
) -> tuple[int, HpaHistory]:
    """One controller step after the per-metric proposal (horizontal.go `reconcileAutoscaler`).

    Pure: the same inputs give the same answer. Replaying a real HPA means calling it once
    per sync with the controller's proposal, spec.replicas and time, threading `history`.
    The steps: record the initial count on the first sync; spec.replicas 0 with a non-zero
    minimum leaves scaling disabled; a count outside min..max goes to the bound (the proposal
    is not used); otherwise `normalizeDesiredReplicasWithBehaviors` (stabilisation windows,
    then the scale-up / scale-down policies) or, with `legacy`, `normalizeDesiredReplicas`.
    A rescale is recorded as a scale event (behavior only, as `storeScaleEvent`).

    Args:
        params: the HPA's parameters (windows, policies, legacy).
        history: the state after the previous sync (`HpaHistory()` for a new HPA).
        proposal: the per-metric desired count (the max over metrics).
        current: spec.replicas.
        t_s: the sync time, seconds.
        min_replicas: spec.minReplicas.
        max_replicas: spec.maxReplicas.

    Returns:
        (desired replicas, the history to pass to the next sync).
    """
    recs = history.recommendations
    if not history.started:
        # horizontal.go recordInitialRecommendation: the first pass records the current
        # count, so the scale-down stabilization window holds it for its first 300 s.
        recs = ((t_s, current),)
    history = HpaHistory(
        started=True,
        recommendations=recs,
        up_events=history.up_events,
        down_events=history.down_events,
    )
    if current == 0 and min_replicas != 0:
        return 0, history  # autoscaling disabled for this resource: no rescale
    if current > max_replicas:
        desired = max_replicas
    elif current < min_replicas:
        desired = min_replicas
    elif params.legacy:
        desired, recs = _normalize_legacy(
            params, recs, t_s, current, proposal, min_replicas, max_replicas
        )
    else:
        desired, recs = _stabilize(params, recs, t_s, current, proposal)
        desired = _rate_limit(params, history, t_s, current, desired, min_replicas, max_replicas)
    up, down = _prune_events(params, history, t_s)
    if desired != current and not params.legacy:
        if desired > current:
            up = (*up, (t_s, desired - current))
        else:
            down = (*down, (t_s, current - desired))
    return max(min_replicas, min(max_replicas, desired)), HpaHistory(
        started=True, recommendations=recs, up_events=up, down_events=down
    )


def _normalize_legacy(
    p: HpaParams,
    recs: tuple[tuple[float, int], ...],
    t: float,
    current: int,
    proposal: int,
    min_r: int,
    max_r: int,
) -> tuple[int, tuple[tuple[float, int], ...]]:
    """stabilizeRecommendation (max over the window) + convertDesiredReplicasWithRules."""
    kept = tuple((ts, r) for ts, r in recs if ts > t - p.scale_down_stabilization_s + _EPS)
    stabilized = max([proposal, *(r for _, r in kept)])
    scale_up_limit = max(2 * current, 4)
    desired = max(min_r, min(stabilized, min(max_r, scale_up_limit)))
    return desired, (*kept, (t, proposal))


def _stabilize(
    p: HpaParams, recs: tuple[tuple[float, int], ...], t: float, current: int, proposal: int
) -> tuple[int, tuple[tuple[float, int], ...]]:
    """stabilizeRecommendationWithBehaviors: clamp(current, min over up window, max over down)."""
    up_cut = t - p.scale_up_stabilization_s + _EPS
    down_cut = t - p.scale_down_stabilization_s + _EPS
    up_rec = down_rec = proposal
    for ts, r in recs:
        if ts > up_cut:
            up_rec = min(up_rec, r)
        if ts > down_cut:
            down_rec = max(down_rec, r)
    oldest_needed = min(up_cut, down_cut)
    kept = tuple((ts, r) for ts, r in recs if ts > oldest_needed)
    return min(max(current, up_rec), down_rec), (*kept, (t, proposal))


def _rate_limit(
    p: HpaParams, h: HpaHistory, t: float, current: int, rec: int, min_r: int, max_r: int
) -> int:
    """convertDesiredReplicasWithBehaviorRate: the policies' limits, then min/max."""
    if rec > current:
        limit = max(current, _scale_limit(p, h, t, current, up=True))
        return min(rec, min(max_r, limit))
    if rec < current:
        limit = min(current, _scale_limit(p, h, t, current, up=False))
        return max(rec, max(min_r, limit))
    return rec


def _prune_events(
    p: HpaParams, h: HpaHistory, t: float
) -> tuple[tuple[tuple[float, int], ...], tuple[tuple[float, int], ...]]:
    """The scale events still inside the longest policy period (older ones can never count)."""
    periods = [pol.period_s for pol in (*p.scale_up_policies, *p.scale_down_policies)]
    cut = t - max(periods, default=0.0) + _EPS
    return (
        tuple(e for e in h.up_events if e[0] > cut),
        tuple(e for e in h.down_events if e[0] > cut),
    )


def _scale_limit(p: HpaParams, h: HpaHistory, t: float, current: int, *, up: bool) -> int:
    """calculateScaleUpLimitWithScalingRules / calculateScaleDownLimitWithBehaviors."""
    select = p.scale_up_select_policy if up else p.scale_down_select_policy
    policies = p.scale_up_policies if up else p.scale_down_policies
    if select == "Disabled" or not policies:
        return current
    proposals = []
    for pol in policies:
        cutoff = t - pol.period_s + _EPS
        added = sum(n for ts, n in h.up_events if ts > cutoff)
        removed = sum(n for ts, n in h.down_events if ts > cutoff)
        start = current - added + removed
        if pol.kind == "Pods":
            proposals.append(start + pol.value if up else start - pol.value)
        elif up:
            # NOTE: float maths as in Go: 10 × (1 + 10/100) = 11.000000000000002 → 12.
            proposals.append(math.ceil(start * (1 + pol.value / 100)))
        else:
            proposals.append(int(start * (1 - pol.value / 100)))
    # Max selects the biggest change: the highest limit up, the lowest limit down.
    if up:
        return max(proposals) if select == "Max" else min(proposals)
    return min(proposals) if select == "Max" else max(proposals)
