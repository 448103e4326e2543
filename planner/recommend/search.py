"""Simulation-backed recommendation: the cheapest min/max/target settings that meet the SLO.

`search_settings(scenario)` simulates candidate settings of `deployment.min_replicas`,
`max_replicas` and `target_utilization` over the scenario's seeds and returns the cheapest
(mean replica-hours over the scenario, warm-up excluded; money with a price) whose 503 rate AND
latency p99 meet `scenario.slo` by their UPPER 95 % confidence bounds (`metrics.summarise`).

How it stays at a few dozen simulations:
- Closed forms give the start. For each target the first candidate minimum is the smallest
  warm pool that carries the PEAK in M/M/c+D steady state (`queueing.smallest_replicas`):
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
- max_replicas RULE, then SEARCH: each target's minimum is found at Azure ML's formula at the
  peak plus two standard deviations of Poisson noise, ceil((a + 2√a) / (target ×
  max_concurrent)) with a = peak_rps × request_time_s (`recommend.closed_form_recommendation`'s
  rule), at least min_replicas, at most the user's `max_replicas_cap`. In a spike azureml
  overshoots to max_replicas (queued requests count as load), so the maximum drives cost: then
  the smallest passing max_replicas in [min_replicas, rule] is found by bisection.
- ASSUMPTION (monotone in the maximum): with min and target fixed, a higher max never adds
  503s (the autoscaler may only add replicas) and never lowers cost. Checked on evaluated
  points like the other one (`SearchResult.monotone_violations`). Targets' maxima are searched
  cheapest first; a target is skipped when even a fixed pool of its minimum (its cheapest
  possible cost: replicas never fall below min_replicas) costs more than the best found. With
  the two other assumptions, a max that passed at a higher target and no larger minimum should
  pass here too: it is evaluated first (not trusted) and, passing, the search gallops down
  from it (steps 1, 2, 4, ...) until a failure, then bisects.
- The (min, max) plane is searched along two lines, min at the rule's max, then max at that
  min: a higher min with a lower max is not tried, so "cheapest" means among those evaluated.
- MINIMALITY at the final settings: min − 1 at the chosen max and target is evaluated (not
  assumed) and must fail, and so must max − 1 at the chosen min and target (or max equals
  min). A passing cheaper neighbour becomes the choice and the check repeats, so the answer is
  the cheapest passing candidate found. At the autoscaler's lowest allowed minimum there is no
  min neighbour; when the budget runs out first, the result says what was not shown.
- NODES: with a `nodes:` block, "cheapest" is money (node-hours × nodes.price_per_hour; node-
  hours when the pool has no price; `Candidate.ranked_cost`), and after the steps above a node
  stage tries a few headroom_pods and min_nodes, each with the smallest min_replicas it allows,
  and checks the choice's node neighbours: `planner.recommend.search_nodes`, whose docstring
  states its assumptions (monotone in headroom_pods and in min_nodes). Without `nodes:` none
  of it runs.
The search steps are in `planner.recommend.search_steps`. How one candidate is simulated
and judged (its starting replicas, the cache, the failure reason in words):
`planner.recommend.evaluate`.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from planner.errors import PlannerError, ScenarioError
from planner.executors import process_pool
from planner.formulas import replicas_needed
from planner.plain import plain
from planner.progress import Progress, ProgressMode
from planner.recommend.closed_form import Recommendation, closed_form_recommendation
from planner.recommend.evaluate import (
    CANDIDATE_COLUMNS,
    Candidate,
    Evaluator,
    candidate_columns,
    chosen_reasons,
    infeasible_error,
    max_minimality_text,
    minimality_text,
)
from planner.recommend.search_nodes import (
    node_monotone_violations,
    node_reasons,
    node_tradeoff,
    search_nodes,
    settle_all,
    warm_node_cost,
)
from planner.recommend.search_steps import (
    closed_min,
    cost_key,
    max_for,
    monotone_violations,
    search_max,
    search_target,
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
DEFAULT_MAX_SIMULATIONS = 80  # the min search needs a few dozen, the max search ~log2(range)
PARALLEL_REQUESTS = 50_000  # per evaluation (all seeds): above this, seeds run on every core


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchResult:
    """The cheapest passing settings, the proof that one replica fewer fails, and the evidence.

    One replica fewer means min_replicas − 1 (same max and target) and max_replicas − 1 (same
    min and target), both evaluated at the final settings; the candidates table holds every
    evaluation with the search step that asked for it (`planner.recommend.evaluate.STEPS`).
    """

    scenario: Scenario  # as given; `chosen.results.scenario` is the one with the settings
    chosen: Candidate
    failing_neighbour: Candidate | None  # min_replicas − 1, same max and target; None at the floor
    minimality: str  # the statement, in words
    max_neighbour: Candidate | None  # max_replicas − 1, same min and target, failing; None if
    # max equals min (nothing lower allowed) or it was not shown
    max_minimality: str  # the statement, in words
    cheapest_failing: Candidate | None  # cheaper than the chosen one (or the cheapest failure)
    candidates: pd.DataFrame  # CANDIDATE_COLUMNS, one row per evaluation, in evaluation order
    simulations: int  # candidate evaluations (each over every seed)
    replications: int  # simulate.run_rep calls = simulations × seeds
    seeds: tuple[int, ...]
    closed_form: Recommendation | None  # at the scenario's own target; None if it has no answer
    targets: tuple[float, ...]
    max_replicas_rule: str  # the top of the max_replicas search
    reasons: dict[str, str]  # one line per chosen setting
    monotone_violations: tuple[str, ...]
    budget_exhausted: bool
    elapsed_s: float
    cost_per_replica_hour: float | None
    # With a `nodes:` block: the choice's node neighbours (one node's worth of headroom fewer,
    # one warm node fewer; evaluated) and the trade-off between warm replicas, warm nodes and
    # headroom pods in words (`planner.recommend.search_nodes`). Empty without nodes.
    node_neighbours: tuple[Candidate, ...] = ()
    node_tradeoff: tuple[str, ...] = ()

    @property
    def headroom_pods(self) -> int | None:
        return self.chosen.headroom_pods

    @property
    def min_nodes(self) -> int | None:
        return self.chosen.min_nodes

    @property
    def min_replicas(self) -> int:
        return self.chosen.min_replicas

    @property
    def max_replicas(self) -> int:
        return self.chosen.max_replicas

    @property
    def target_utilization(self) -> float:
        return self.chosen.target_utilization

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe plain data (`planner.plain`): every field, the candidates as row dicts."""
        return plain(self)  # type: ignore[no-any-return]

    @property
    def summary(self) -> Summary:
        return self.chosen.summary


# ------------------------------------------------------------------------------ the search


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
    progress: ProgressMode = True,
) -> SearchResult:
    """Cheapest min_replicas, max_replicas and target_utilization meeting the scenario's SLO.

    Per target the smallest passing minimum at the max_replicas rule, then the smallest passing
    maximum at that minimum; the cheapest passing candidate, with min − 1 and max − 1 evaluated
    at its settings (see the module docstring).

    Args:
        scenario: a validated scenario with an autoscaler; its seeds, SLO and traffic are used.
        targets: target utilizations to try (default 0.5, 0.6, 0.7, 0.8 plus the scenario's).
        cost_per_replica_hour: price of one replica for one hour; the cost column is then money.
        max_replicas_cap: the largest max_replicas (and so min_replicas) allowed.
        processes: worker processes for the seeds of one candidate; None: 1, or every core
            when one evaluation simulates more than PARALLEL_REQUESTS requests.
        max_simulations: most candidate evaluations (each over every seed).
        progress: a `planner.progress.Progress` mode over candidates simulated (True: a bar
            when stderr is a terminal).

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
    upper = closed_min(peak_rps, scenario) or replicas_needed(peak_rps, rt, 1.0, mc)
    lower = closed_min(base_rps, scenario) if base_rps > 0 else floor
    lower = max(floor, lower if lower is not None else floor)
    rule_max = {t: max_for(peak_rps, rt, mc, t) for t in tried}
    top_default = max(2 * upper, max(rule_max.values()))
    top = top_default if max_replicas_cap is None else max_replicas_cap
    if max_replicas_cap is not None:
        rule_max = {t: min(m, max_replicas_cap) for t, m in rule_max.items()}

    workers = _pool_size(scenario, processes)
    pool = process_pool(workers) if workers > 1 else None
    ev = Evaluator(
        scenario, base_rps=base_rps, price=cost_per_replica_hour, pool=pool, budget=max_simulations
    )
    found: dict[float, Candidate] = {}
    measured_h = (scenario.duration_s - scenario.warmup_s) / 3600.0
    bar = Progress(None, text="search: candidates simulated", mode=progress)
    ev.progress = bar
    bar.start()
    try:
        start = upper
        for t in tried:  # high to low: a lower target never needs a higher minimum
            if ev.exhausted:
                break
            best = search_target(
                ev, t, start=start, lower=lower, floor=floor, top=top, max_cap=rule_max[t]
            )
            if best is not None:
                found[t] = best
                start = min(start, best.min_replicas)
        ev.step = "max"
        for t in sorted(found, key=lambda t: cost_key(found[t])):  # cheapest first
            passing = [c for c in ev.order if c.meets_slo]
            # A fixed pool of the minimum is the cheapest any max can be: skip if it cannot win.
            if ev.exhausted or _pool_cost(found[t], measured_h) > min(
                c.ranked_cost for c in passing
            ):
                continue
            search_max(ev, found[t])
        passing = [c for c in ev.order if c.meets_slo]
        if not passing:
            raise infeasible_error(ev.order, top, max_replicas_cap, ev.exhausted)
        if ev.nodes is not None:  # headroom_pods and min_nodes, cheapest in money
            search_nodes(ev, min(passing, key=cost_key), lower=lower, floor=floor)
            passing = [c for c in ev.order if c.meets_slo]
        ev.step = "check"
        chosen, neighbour, max_neighbour, node_near = settle_all(
            ev, min(passing, key=cost_key), floor
        )
    finally:
        bar.stop()
        if pool is not None:
            pool.shutdown()

    columns = candidate_columns(ev.file_nodes is not None)
    candidates = pd.DataFrame([c.row() for c in ev.order], columns=list(columns))
    failing = [c for c in ev.order if not c.meets_slo]
    cheaper = [c for c in failing if cost_key(c) < cost_key(chosen)]
    cheapest_failing = min(cheaper or failing, key=cost_key) if failing else None
    return SearchResult(
        scenario=scenario,
        chosen=chosen,
        failing_neighbour=neighbour if neighbour is not None and not neighbour.meets_slo else None,
        minimality=minimality_text(chosen, neighbour, floor, slo.max_rate_503),
        max_neighbour=(
            max_neighbour if max_neighbour is not None and not max_neighbour.meets_slo else None
        ),
        max_minimality=max_minimality_text(chosen, max_neighbour),
        cheapest_failing=cheapest_failing,
        candidates=candidates,
        simulations=len(ev.order),
        replications=len(ev.order) * len(ev.seeds),
        seeds=ev.seeds,
        closed_form=closed,
        targets=tried,
        max_replicas_rule=(
            "the top of the max_replicas search, Azure ML's formula at the peak plus two "
            "standard deviations of Poisson noise: "
            f"ceil(({peak_rps:g} × {rt:g} + 2√({peak_rps * rt:g})) / (target × {mc}))"
            + ("" if max_replicas_cap is None else f", capped at {max_replicas_cap}")
            + ", at least min_replicas"
        ),
        reasons=chosen_reasons(
            chosen,
            neighbour,
            max_neighbour,
            peak=peak_rps,
            base=base_rps,
            seeds=len(ev.seeds),
            rule_max=max(rule_max[chosen.target_utilization], chosen.min_replicas),
        )
        | (
            {}
            if ev.file_nodes is None
            else node_reasons(chosen, node_near, ev.file_nodes, ev.order)
        ),
        monotone_violations=(
            *monotone_violations(ev.order),
            *node_monotone_violations(ev.order),
        ),
        budget_exhausted=ev.exhausted,
        elapsed_s=time.perf_counter() - started,
        cost_per_replica_hour=cost_per_replica_hour,
        node_neighbours=tuple(node_near),
        node_tradeoff=(
            () if ev.file_nodes is None else tuple(node_tradeoff(chosen, ev.order, ev.file_nodes))
        ),
    )


def _pool_cost(c: Candidate, measured_h: float) -> float:
    """The least any max_replicas can cost at `c`'s minimum: a fixed pool of it, in the ranked
    unit (replica-hours; with nodes the nodes that hold the pool, in money or node-hours)."""
    scenario = c.results.scenario
    if c.nodes is None or scenario.nodes is None:
        return c.min_replicas * measured_h
    return warm_node_cost(scenario, min_nodes=c.nodes[1], pods=c.min_replicas)
