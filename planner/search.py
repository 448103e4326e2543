"""Simulation-backed recommendation: the cheapest min/max/target settings that meet the SLO.

`search_settings(scenario)` simulates candidate settings of `deployment.min_replicas`,
`max_replicas` and `target_utilization` over the scenario's seeds and returns the cheapest
(mean replica-hours over the scenario, warm-up excluded; money with a price) whose 503 rate AND
latency p99 meet `scenario.slo` by their UPPER 95 % confidence bounds (`metrics.summarise`).

How it stays at a few dozen simulations:
- Closed forms give the start. For each target the first candidate minimum is the smallest
  warm pool that carries the PEAK in M/M/c+D steady state (`formulas.smallest_replicas`):
  a pool that needs no new replica during the spike. The lower start is the same count at
  the BASE rate: below it the minimum never binds while traffic is steady.
- ASSUMPTION (monotone in the minimum): with target and max fixed, more minimum replicas never
  add 503s (a larger warm pool only adds capacity), and cost never falls. So per target the
  cheapest passing minimum is the smallest passing one, found by galloping down from the
  start (steps 1, 2, 4, ...; the first step tests min − 1 at once) until a failure, then
  bisecting. Every evaluated target is checked against the assumption: a failing minimum
  above a passing one is listed in `SearchResult.monotone_violations`.
- ASSUMPTION (monotone in the target): a lower target scales earlier and keeps a bigger pool,
  so it never needs a higher minimum. Targets run from high to low, and a target's start is
  capped by the previous target's answer (the cap is evaluated, not trusted).
- Common random numbers: every candidate runs on the same seeds, so differences between
  candidates are differences of settings, not of luck; evaluated points are cached.
- max_replicas RULE: Azure ML's formula at the peak plus two standard deviations of Poisson
  noise, ceil((a + 2√a) / (target × max_concurrent)) with a = peak_rps × request_time_s
  (`recommend.closed_form_recommendation`'s rule), at least min_replicas, at most the user's
  `max_replicas_cap`. It is not searched: it bounds overshoot while letting the autoscaler
  follow noise. `peak_replicas` in the candidates table shows when it was reached.
- MINIMALITY: the chosen minimum comes with its neighbour min − 1 (same target and max),
  evaluated and failing, and the words why; at the autoscaler's lowest allowed minimum
  there is no neighbour and the result says so.
How one candidate is simulated and judged (its starting replicas, the cache, the failure
reason in words): `planner.search_eval`.
"""

from __future__ import annotations

import itertools
import math
import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from planner.errors import PlannerError, ScenarioError
from planner.formulas import replicas_needed, smallest_replicas
from planner.recommend import NOISE_SIGMAS, Recommendation, closed_form_recommendation
from planner.search_eval import (
    CANDIDATE_COLUMNS,
    Candidate,
    Evaluator,
    chosen_reasons,
    infeasible_error,
    minimality_text,
)

if TYPE_CHECKING:
    from planner.metrics import Summary
    from planner.scenario import Scenario

__all__ = [
    "CANDIDATE_COLUMNS",
    "DEFAULT_TARGETS",
    "Candidate",
    "SearchResult",
    "search_settings",
]

DEFAULT_TARGETS = (0.5, 0.6, 0.7, 0.8)
DEFAULT_MAX_SIMULATIONS = 60
PARALLEL_REQUESTS = 50_000  # per evaluation (all seeds): above this, seeds run on every core


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchResult:
    """The cheapest passing settings, the proof that one replica fewer fails, and the evidence."""

    scenario: Scenario  # as given; `chosen.results.scenario` is the one with the settings
    chosen: Candidate
    failing_neighbour: Candidate | None  # min_replicas − 1, same max and target; None at the floor
    minimality: str  # the statement, in words
    cheapest_failing: Candidate | None  # cheaper than the chosen one (or the cheapest failure)
    candidates: pd.DataFrame  # CANDIDATE_COLUMNS, one row per evaluation, in evaluation order
    simulations: int  # candidate evaluations (each over every seed)
    replications: int  # simulate.run_rep calls = simulations × seeds
    seeds: tuple[int, ...]
    closed_form: Recommendation | None  # at the scenario's own target; None if it has no answer
    targets: tuple[float, ...]
    max_replicas_rule: str
    reasons: dict[str, str]  # one line per chosen setting
    monotone_violations: tuple[str, ...]
    budget_exhausted: bool
    elapsed_s: float
    cost_per_replica_hour: float | None

    @property
    def min_replicas(self) -> int:
        return self.chosen.min_replicas

    @property
    def max_replicas(self) -> int:
        return self.chosen.max_replicas

    @property
    def target_utilization(self) -> float:
        return self.chosen.target_utilization

    @property
    def summary(self) -> Summary:
        return self.chosen.summary


# ------------------------------------------------------------------------------ the search


def _max_for(peak_rps: float, request_time_s: float, max_concurrent: int, target: float) -> int:
    """The max_replicas rule: formula at the peak plus 2√a of Poisson noise (see module doc)."""
    load = peak_rps * request_time_s
    with_noise = math.ceil(
        (load + NOISE_SIGMAS * math.sqrt(load)) / (target * max_concurrent) - 1e-9
    )
    return max(1, with_noise, replicas_needed(peak_rps, request_time_s, target, max_concurrent))


def _closed_min(rps: float, scenario: Scenario) -> int | None:
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


def _search_target(
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


def _monotone_violations(candidates: Sequence[Candidate]) -> list[str]:
    """Points that break 'more minimum replicas never add 503s' (same target and max)."""
    out: list[str] = []
    groups: dict[tuple[float, int], list[Candidate]] = {}
    for c in candidates:
        groups.setdefault((c.target_utilization, c.max_replicas), []).append(c)
    for (target, max_r), group in groups.items():
        group.sort(key=lambda c: c.min_replicas)
        for lo, hi in itertools.pairwise(group):
            r_lo, r_hi = lo.summary.values["rate_503"], hi.summary.values["rate_503"]
            if (lo.meets_slo and not hi.meets_slo) or r_hi > r_lo + 1e-12:
                out.append(
                    f"target {target:g}, max {max_r}: min_replicas {hi.min_replicas} gives "
                    f"rate_503 {r_hi:.4g} ({'fails' if not hi.meets_slo else 'passes'}) but "
                    f"{lo.min_replicas} gives {r_lo:.4g} "
                    f"({'passes' if lo.meets_slo else 'fails'})"
                )
    return out


def _pool_size(scenario: Scenario, processes: int | None) -> int:
    if processes is not None:
        return max(1, processes)
    cores = os.cpu_count() or 1
    expected = scenario.traffic.mean_rps(0.0, scenario.duration_s) * scenario.duration_s
    per_eval = expected * len(scenario.seeds)
    return min(cores, len(scenario.seeds)) if per_eval >= PARALLEL_REQUESTS else 1


def search_settings(
    scenario: Scenario,
    *,
    targets: Sequence[float] | None = None,
    cost_per_replica_hour: float | None = None,
    max_replicas_cap: int | None = None,
    processes: int | None = None,
    max_simulations: int = DEFAULT_MAX_SIMULATIONS,
) -> SearchResult:
    """Cheapest min_replicas, max_replicas and target_utilization meeting the scenario's SLO.

    Args:
        scenario: a validated scenario with an autoscaler; its seeds, SLO and traffic are used.
        targets: target utilizations to try (default 0.5, 0.6, 0.7, 0.8 plus the scenario's).
        cost_per_replica_hour: price of one replica for one hour; the cost column is then money.
        max_replicas_cap: the largest max_replicas (and so min_replicas) allowed.
        processes: worker processes for the seeds of one candidate; None: 1, or every core
            when one evaluation simulates more than PARALLEL_REQUESTS requests.
        max_simulations: most candidate evaluations (each over every seed).

    Raises:
        ScenarioError: an argument or the scenario does not allow a search (autoscaler none).
        InfeasibleError: no candidate within the bounds meets the SLO; the message names the
            bound and the best achievable 503 rate.
    """
    started = time.perf_counter()
    dep, svc, slo = scenario.deployment, scenario.service, scenario.slo
    if dep.autoscaler == "none":
        raise ScenarioError(
            "deployment.autoscaler must be azureml, hpa or knative to search settings: none"
        )
    tried = tuple(DEFAULT_TARGETS if targets is None else targets)
    for t in tried:
        if not (isinstance(t, int | float) and 0 < t <= 1):
            raise ScenarioError(f"targets must be in (0, 1]: {t!r}")
    if targets is None and dep.target_utilization not in tried:
        tried = (*tried, dep.target_utilization)
    tried = tuple(sorted(set(float(t) for t in tried), reverse=True))
    if cost_per_replica_hour is not None and not (
        math.isfinite(cost_per_replica_hour) and cost_per_replica_hour >= 0
    ):
        raise ScenarioError(f"cost_per_replica_hour must be >= 0: {cost_per_replica_hour}")
    floor = 0 if dep.autoscaler == "knative" else 1
    if max_replicas_cap is not None and max_replicas_cap < max(floor, 1):
        raise ScenarioError(f"max_replicas_cap must be >= 1: {max_replicas_cap}")
    if max_simulations < 1:
        raise ScenarioError(f"max_simulations must be >= 1: {max_simulations}")

    rt, mc = svc.request_time_s.mean_s, svc.max_concurrent
    traffic = scenario.traffic
    base_rps = (
        traffic.mean_rps(0.0, scenario.warmup_s) if scenario.warmup_s > 0 else traffic.rate_rps(0)
    )
    peak_rps = max(traffic.peak_rps(scenario.duration_s), base_rps)
    closed: Recommendation | None = None
    try:
        closed = closed_form_recommendation(
            rps=max(base_rps, 1e-9), request_time_s=rt, max_concurrent=mc,
            target_utilization=dep.target_utilization, max_wait_s=dep.max_request_wait_s,
            peak_rps=peak_rps, max_rate_503=slo.max_rate_503,
            latency_p99_s=slo.latency_p99_s if slo.latency_p99_s > rt else None,
        )  # fmt: skip
    except PlannerError:
        closed = None
    upper = _closed_min(peak_rps, scenario) or replicas_needed(peak_rps, rt, 1.0, mc)
    lower = _closed_min(base_rps, scenario) if base_rps > 0 else floor
    lower = max(floor, lower if lower is not None else floor)
    rule_max = {t: _max_for(peak_rps, rt, mc, t) for t in tried}
    top_default = max(2 * upper, max(rule_max.values()))
    top = top_default if max_replicas_cap is None else max_replicas_cap
    if max_replicas_cap is not None:
        rule_max = {t: min(m, max_replicas_cap) for t, m in rule_max.items()}

    workers = _pool_size(scenario, processes)
    pool = ProcessPoolExecutor(max_workers=workers) if workers > 1 else None
    ev = Evaluator(
        scenario, base_rps=base_rps, price=cost_per_replica_hour, pool=pool, budget=max_simulations
    )
    best_per_target: dict[float, Candidate] = {}
    try:
        start = upper
        for t in tried:  # high to low: a lower target never needs a higher minimum
            if ev.exhausted:
                break
            found = _search_target(
                ev, t, start=start, lower=lower, floor=floor, top=top, max_cap=rule_max[t]
            )
            if found is not None:
                best_per_target[t] = found
                start = min(start, found.min_replicas)
        passing = [c for c in ev.order if c.meets_slo]
        if not passing:
            raise infeasible_error(ev.order, top, max_replicas_cap, ev.exhausted)
        chosen = min(passing, key=_cost_key)
        # Minimality: min − 1 at the same max and target must fail; step down while it passes.
        neighbour: Candidate | None = None
        while chosen.min_replicas > floor and not ev.exhausted:
            neighbour = ev(chosen.min_replicas - 1, chosen.max_replicas, chosen.target_utilization)
            if not neighbour.meets_slo:
                break
            chosen, neighbour = neighbour, None
        if neighbour is None and chosen.min_replicas > floor:
            key = (chosen.min_replicas - 1, chosen.max_replicas, chosen.target_utilization)
            neighbour = ev.cache.get(key)
    finally:
        if pool is not None:
            pool.shutdown()

    candidates = pd.DataFrame([c.row() for c in ev.order], columns=list(CANDIDATE_COLUMNS))
    failing = [c for c in ev.order if not c.meets_slo]
    cheaper = [c for c in failing if _cost_key(c) < _cost_key(chosen)]
    cheapest_failing = min(cheaper or failing, key=_cost_key) if failing else None
    return SearchResult(
        scenario=scenario,
        chosen=chosen,
        failing_neighbour=neighbour if neighbour is not None and not neighbour.meets_slo else None,
        minimality=minimality_text(chosen, neighbour, floor, slo.max_rate_503),
        cheapest_failing=cheapest_failing,
        candidates=candidates,
        simulations=len(ev.order),
        replications=len(ev.order) * len(ev.seeds),
        seeds=ev.seeds,
        closed_form=closed,
        targets=tried,
        max_replicas_rule=(
            "Azure ML formula at the peak plus two standard deviations of Poisson noise: "
            f"ceil(({peak_rps:g} × {rt:g} + 2√({peak_rps * rt:g})) / (target × {mc}))"
            + ("" if max_replicas_cap is None else f", capped at {max_replicas_cap}")
            + ", at least min_replicas"
        ),
        reasons=chosen_reasons(chosen, neighbour, peak_rps, base_rps, len(ev.seeds)),
        monotone_violations=tuple(_monotone_violations(ev.order)),
        budget_exhausted=ev.exhausted,
        elapsed_s=time.perf_counter() - started,
        cost_per_replica_hour=cost_per_replica_hour,
    )


def _cost_key(c: Candidate) -> tuple[float, int, float]:
    """Cheapest first; ties go to the smaller minimum, then the higher target."""
    return (c.replica_hours, c.min_replicas, -c.target_utilization)
