"""The steps of the settings search: per-target minimum, the maximum, and the final check.

`planner.recommend.search.search_settings` calls them in order; its module docstring explains
the strategy (closed-form starts, galloping then bisection, the monotonicity assumptions) and
the minimality check that `settle` performs.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Sequence
from operator import attrgetter
from typing import TYPE_CHECKING

from planner.formulas import max_replicas_rule
from planner.queueing import smallest_replicas

if TYPE_CHECKING:
    from planner.recommend.evaluate import Candidate, Evaluator
    from planner.scenario import Scenario

__all__ = [
    "closed_min",
    "cost_key",
    "max_for",
    "monotone_violations",
    "search_max",
    "search_target",
    "settle",
]


def max_for(peak_rps: float, request_time_s: float, max_concurrent: int, target: float) -> int:
    """The max_replicas rule: formula at the peak plus 2√a of Poisson noise (see module doc)."""
    return max_replicas_rule(peak_rps, request_time_s, target, max_concurrent)


def closed_min(rps: float, scenario: Scenario) -> int | None:
    """smallest_replicas at `rps` for the scenario's service and SLO; None without an answer."""
    svc, dep, slo = scenario.service, scenario.deployment, scenario.slo
    rt = svc.request_time_s.mean_s
    latency = slo.latency_p99_s if slo.latency_p99_s > rt else None
    try:
        return smallest_replicas(
            rps, rt, max_concurrent=svc.max_concurrent, max_wait_s=dep.max_request_wait_s,
            max_rate_503=max(slo.max_rate_503, 1e-12), latency_target_s=latency,
            scv=svc.request_time_s.scv,
        )  # fmt: skip
    except ValueError:
        return None


def search_target(
    ev: Evaluator, target: float, *, start: int, lower: int, floor: int, top: int, max_cap: int
) -> Candidate | None:
    """Smallest passing min_replicas at `target` (gallop down from `start`, then bisect).

    `max_cap` is the rule's max_replicas; a minimum above it raises max to the minimum (a
    fixed warm pool) unless that is above `top`, the largest minimum allowed.
    """

    def at(m: int) -> Candidate:
        return ev(m, max(max_cap, m), target)

    hi = min(max(start, floor), top)
    cand = at(hi)
    step = 1
    while not cand.meets_slo:  # gallop up until a pass or the top
        if hi >= top or ev.exhausted:
            return None
        hi, step = min(hi + step, top), step * 2
        cand = at(hi)
    passing, failing = hi, None
    step = 1
    while failing is None and passing > floor and not ev.exhausted:  # gallop down
        m = passing - step
        if passing > lower > m:
            m = lower  # the lower start: below it the minimum does not bind at the base rate
        m = max(m, floor)
        if at(m).meets_slo:
            passing, step = m, step * 2
        else:
            failing = m
    while failing is not None and passing - failing > 1 and not ev.exhausted:  # bisect
        mid = (passing + failing) // 2
        if at(mid).meets_slo:
            passing = mid
        else:
            failing = mid
    return at(passing)  # cached: every value `passing` takes was evaluated


def search_max(ev: Evaluator, found: Candidate) -> Candidate:
    """Smallest passing max_replicas in [min, found's max] at found's min and target (bisection).

    `found` passes; below min_replicas nothing is allowed, so min − 1 acts as the failing end.
    A passing (min', max', target') already evaluated with min' <= min and target' >= target
    should pass here too with max' (monotone in min and target): the smallest such max' is
    evaluated first (evaluated, not trusted); passing, the search gallops down from it (steps
    1, 2, 4, ...: the answer is usually at or just below it) before bisecting.
    """
    m, t = found.min_replicas, found.target_utilization
    passing, failing = found.max_replicas, max(m, 1) - 1
    hints = [
        c.max_replicas
        for c in ev.order
        if c.meets_slo and c.min_replicas <= m and c.target_utilization >= t
    ]
    hint = min((h for h in hints if h > failing), default=None)
    if hint is not None and hint < passing and not ev.exhausted:
        if ev(m, hint, t).meets_slo:
            passing, step = hint, 1
            while passing - failing > 1 and not ev.exhausted:  # gallop down
                probe = max(passing - step, failing + 1)
                if not ev(m, probe, t).meets_slo:
                    failing = probe
                    break
                passing, step = probe, step * 2
        else:
            failing = hint
    while passing - failing > 1 and not ev.exhausted:  # bisect
        mid = (passing + failing) // 2
        if ev(m, mid, t).meets_slo:
            passing = mid
        else:
            failing = mid
    return ev(m, passing, t)  # cached: every value `passing` takes was evaluated


def settle(
    ev: Evaluator, chosen: Candidate, floor: int
) -> tuple[Candidate, Candidate | None, Candidate | None]:
    """Minimality at the final settings: evaluate min − 1 and max − 1; a cheaper pass wins.

    Returns the choice and its min and max neighbours (evaluated; None when below the floor,
    below min_replicas or past the budget). Ends because every switch lowers the cost key.
    """
    while True:
        ev.nodes = chosen.nodes  # the neighbours share the choice's node settings
        m, top, t = chosen.key
        below_min = ev.within_budget(m - 1, top, t) if m > floor else None
        below_max = ev.within_budget(m, top - 1, t) if top > max(m, 1) else None
        better = [
            c
            for c in (below_min, below_max)
            if c is not None and c.meets_slo and cost_key(c) < cost_key(chosen)
        ]
        if not better:
            return chosen, below_min, below_max
        chosen = min(better, key=cost_key)


def cost_key(c: Candidate) -> tuple[float, float, int, float, int, int]:
    """Cheapest first; ties go to the smaller minimum, then the higher target.

    Cheapest is `Candidate.ranked_cost`: replica-hours, or with nodes the money (node-hours
    when the pool has no price). With nodes, equal money (whole nodes make ties common) goes to
    fewer replica-hours first, and last to less headroom and fewer warm nodes.
    """
    headroom, min_nodes = c.nodes or (0, 0)
    return (
        c.ranked_cost, c.replica_hours, c.min_replicas, -c.target_utilization, headroom, min_nodes
    )  # fmt: skip


def broken_pairs(
    candidates: Sequence[Candidate],
    *,
    value: Callable[[Candidate], int],
    group: Callable[[Candidate], Hashable | None],
) -> list[tuple[Candidate, Candidate]]:
    """Pairs (lo, hi) of evaluated candidates that break a monotone assumption: within one
    `group` (None: left out), neighbours by `value` where the higher value gives a higher 503
    rate or turns a pass into a failure. Groups in order of first appearance."""
    groups: dict[Hashable, list[Candidate]] = {}
    for c in candidates:
        key = group(c)
        if key is not None:
            groups.setdefault(key, []).append(c)
    out: list[tuple[Candidate, Candidate]] = []
    for members in groups.values():
        members.sort(key=value)
        for lo, hi in itertools.pairwise(members):
            r_lo, r_hi = lo.summary.values["rate_503"], hi.summary.values["rate_503"]
            if (lo.meets_slo and not hi.meets_slo) or r_hi > r_lo + 1e-12:
                out.append((lo, hi))
    return out


def _same_but(fixed: str) -> Callable[[Candidate], Hashable]:
    """The group of candidates with the same target, `fixed` setting and node settings."""
    return lambda c: (c.target_utilization, getattr(c, fixed), c.nodes)


def monotone_violations(candidates: Sequence[Candidate]) -> list[str]:
    """Evaluated points that break the search's monotone assumptions, in words.

    More min_replicas (same target and max) or more max_replicas (same target and min) must
    never give a higher 503 rate, nor turn a pass into a failure.
    """

    def verdict(c: Candidate) -> str:
        return "passes" if c.meets_slo else "fails"

    out: list[str] = []
    for setting, other in (("min_replicas", "max"), ("max_replicas", "min")):
        fixed = "max_replicas" if setting == "min_replicas" else "min_replicas"
        pairs = broken_pairs(candidates, value=attrgetter(setting), group=_same_but(fixed))
        for lo, hi in pairs:
            nodes = lo.nodes
            at = "" if nodes is None else f", headroom_pods {nodes[0]}, min_nodes {nodes[1]}"
            r_lo, r_hi = lo.summary.values["rate_503"], hi.summary.values["rate_503"]
            out.append(
                f"target {lo.target_utilization:g}, {other} {getattr(lo, fixed)}{at}: {setting} "
                f"{getattr(hi, setting)} gives rate_503 {r_hi:.4g} ({verdict(hi)}) but "
                f"{getattr(lo, setting)} gives {r_lo:.4g} ({verdict(lo)})"
            )
    return out
