"""One candidate setting of a settings search, simulated over every seed and judged.

`Evaluator(scenario, ...)(min_replicas, max_replicas, target)` overrides the scenario's
deployment with the candidate's settings, simulates it on the scenario's seeds (common random
numbers: every candidate runs on the same seeds; in a process pool when given one), summarises
it with `metrics.summarise` and returns a `Candidate`: the summary, the replica-hours (and
cost), the SLO verdict, the search step that asked for it (`STEPS`) and, for a failure, the
reason in words: the summary's reasons plus
when the 503s came and what the replicas were doing then (`insights.explain_503s`).
Evaluations are cached by setting and counted against the search's budget.

The search's result in words is written here too: why the chosen settings
(`chosen_reasons`), whether its minimum and its maximum are shown minimal (`minimality_text`,
`max_minimality_text`) and, when nothing passes, the `InfeasibleError` naming the bound and
the best candidate (`infeasible_error`).

Each candidate starts at the replica count its autoscaler settles at for the opening rate
(clamped to min..max), so the warm-up absorbs noise, not a cold start of the whole deployment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from planner import metrics, simulate
from planner.errors import InfeasibleError
from planner.executors import map_in_order
from planner.formulas import replicas_needed
from planner.scenario import with_overrides

if TYPE_CHECKING:
    from planner.metrics import Summary
    from planner.progress import Progress
    from planner.scenario import Scenario
    from planner.simulate import Results

__all__ = [
    "CANDIDATE_COLUMNS",
    "NODE_COLUMNS",
    "STEPS",
    "Candidate",
    "Evaluator",
    "candidate_columns",
    "chosen_reasons",
    "cost_words",
    "infeasible_error",
    "max_minimality_text",
    "minimality_text",
]

CANDIDATE_COLUMNS = (
    "min_replicas", "max_replicas", "target_utilization", "rate_503", "rate_503_upper",
    "latency_p99_upper_s", "peak_replicas", "replica_hours", "cost", "meets_slo", "reason",
    "step",
)  # fmt: skip
NODE_COLUMNS = ("headroom_pods", "min_nodes", "peak_nodes", "node_hours")
"""With a `nodes:` block the candidates table also has these, after `replica_hours`."""
STEPS = {
    "min": "smallest min_replicas at the max_replicas rule",
    "max": "smallest max_replicas at that minimum (bisection)",
    "nodes": "headroom_pods and min_nodes, each with the smallest min_replicas it allows",
    "check": "neighbours min − 1 and max − 1 at the final settings",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    """One evaluated setting: its summary over all seeds and the SLO verdict in words."""

    min_replicas: int
    max_replicas: int
    target_utilization: float
    summary: Summary
    replica_hours: float
    cost: float | None
    meets_slo: bool
    reason: str  # why it fails (or "meets the SLO")
    step: str = "min"  # the search step that evaluated it: a key of STEPS
    results: Results = field(repr=False, compare=False)
    # The node pool's settings and use; None without a `nodes:` block.
    headroom_pods: int | None = None
    min_nodes: int | None = None
    node_hours: float | None = None  # mean node-hours over the seeds, warm-up excluded

    @property
    def key(self) -> tuple[int, int, float]:
        """(min_replicas, max_replicas, target_utilization)."""
        return (self.min_replicas, self.max_replicas, self.target_utilization)

    @property
    def nodes(self) -> tuple[int, int] | None:
        """(headroom_pods, min_nodes), or None without a `nodes:` block."""
        if self.headroom_pods is None or self.min_nodes is None:
            return None
        return (self.headroom_pods, self.min_nodes)

    @property
    def cost_unit(self) -> str:
        """What `ranked_cost` counts: "replica-h" without nodes; with nodes "money" when the
        node pool has a price, else "node-h"."""
        if self.node_hours is None:
            return "replica-h"
        nodes = self.results.scenario.nodes
        return "money" if nodes is not None and nodes.price_per_hour is not None else "node-h"

    @property
    def ranked_cost(self) -> float:
        """What "cheapest" compares: replica-hours; with nodes the cost in money (node-hours ×
        nodes.price_per_hour, plus replica-hours × the replica price if one is given), or the
        node-hours when the node pool has no price."""
        if self.cost_unit == "money":
            assert self.cost is not None  # a node price makes the cost money
            return self.cost
        return self.replica_hours if self.node_hours is None else self.node_hours

    def row(self) -> dict[str, Any]:
        """One row of the candidates table (`candidate_columns`)."""
        s = self.summary
        nodes: dict[str, Any] = {}
        if self.node_hours is not None:
            nodes = {
                "headroom_pods": self.headroom_pods,
                "min_nodes": self.min_nodes,
                "peak_nodes": s.values["peak_nodes"],
                "node_hours": self.node_hours,
            }
        return {
            "min_replicas": self.min_replicas,
            "max_replicas": self.max_replicas,
            "target_utilization": self.target_utilization,
            "rate_503": s.values["rate_503"],
            "rate_503_upper": s.ci95["rate_503"][1],
            "latency_p99_upper_s": s.ci95["latency_p99_s"][1],
            "peak_replicas": s.values["peak_replicas"],
            "replica_hours": self.replica_hours,
            **nodes,
            "cost": self.cost,
            "meets_slo": self.meets_slo,
            "reason": self.reason,
            "step": self.step,
        }


def candidate_columns(has_nodes: bool) -> tuple[str, ...]:
    """The candidates table's columns: CANDIDATE_COLUMNS, with NODE_COLUMNS when nodes exist."""
    if not has_nodes:
        return CANDIDATE_COLUMNS
    at = CANDIDATE_COLUMNS.index("replica_hours") + 1
    return (*CANDIDATE_COLUMNS[:at], *NODE_COLUMNS, *CANDIDATE_COLUMNS[at:])


def _rep_task(args: tuple[Scenario, int]) -> simulate.RepResult:
    """Top-level (picklable) task for the process pool."""
    scenario, seed = args
    return simulate.run_rep(scenario, seed)


def ready_words(values: Mapping[str, float]) -> str:
    """The slowest time to ready by phase, from a node summary's `<phase>_max_s` values."""
    v = values
    return (
        f"{v['node_wait_max_s'] + v['node_provisioning_max_s']:.0f} s for a node "
        f"({v['node_provisioning_max_s']:.0f} s of it provisioning), "
        f"{v['image_pull_max_s']:.0f} s image pull, {v['cold_start_max_s']:.0f} s cold start"
    )


def _failure_reason(summary: Summary, results: Results, max_replicas: int) -> str:
    """Summary's verdict plus when the 503s came and what the replicas were doing."""
    from planner.recommend.insights import explain_503s

    words = "; ".join(summary.reasons) or "SLO not met"
    scenario = results.scenario
    if scenario.nodes is not None:
        words += f"; slowest time to ready: {ready_words(summary.values)}"
    ex = explain_503s(results.timeline, warmup_s=scenario.warmup_s, max_replicas=max_replicas)
    if ex.n_503_per_rep <= 0:
        return words
    when = f" (503s at t = {ex.first_503_s:.0f}–{ex.last_503_s:.0f} s"
    if ex.share_while_starting >= 0.5:
        cause = (
            f"{ex.share_while_starting:.0%} while replicas were still starting: "
            "the load rose faster than the cold start)"
        )
    elif ex.share_at_max is not None and ex.share_at_max >= 0.5:
        cause = (
            f"{ex.share_at_max:.0%} at max_replicas {max_replicas} with every replica ready: "
            "the ceiling is too low)"
        )
    else:
        cause = "mostly with no replica starting: the autoscaler had not asked for more)"
    return words + when + ", " + cause


class Evaluator:
    """Runs candidates over the seeds with a cache, counting simulations."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        base_rps: float,
        price: float | None,
        pool: Executor | None,
        budget: int,
    ) -> None:
        self.scenario = scenario
        self.base_rps = base_rps
        self.price = price
        self.pool = pool
        self.budget = budget
        self.seeds = tuple(int(s) for s in scenario.seeds)
        nodes = scenario.nodes
        # The node settings new candidates are evaluated at, (headroom_pods, min_nodes): the
        # file's, until the node stage of the search changes them. None without nodes.
        self.file_nodes = None if nodes is None else (nodes.headroom_pods, nodes.min_nodes)
        self.nodes = self.file_nodes
        self.cache: dict[tuple[int, int, float, tuple[int, int] | None], Candidate] = {}
        self.order: list[Candidate] = []
        self.step = "min"  # recorded on each new candidate: the search sets it as it goes
        self.progress: Progress | None = None  # advanced after each new candidate

    @property
    def exhausted(self) -> bool:
        return len(self.order) >= self.budget

    def within_budget(
        self, min_replicas: int, max_replicas: int, target: float
    ) -> Candidate | None:
        """The cached candidate, else a new evaluation if the budget allows, else None."""
        key = (min_replicas, max_replicas, target, self.nodes)
        if key in self.cache or not self.exhausted:
            return self(min_replicas, max_replicas, target)
        return None

    def node_overrides(self) -> dict[str, int]:
        """The scenario overrides of the current node settings (empty without nodes); initial
        nodes follow min_nodes, or a file's own count is moved into the range
        (`planner.scenario.with_overrides`)."""
        if self.nodes is None:
            return {}
        headroom, min_nodes = self.nodes
        return {"nodes.headroom_pods": headroom, "nodes.min_nodes": min_nodes}

    def __call__(self, min_replicas: int, max_replicas: int, target: float) -> Candidate:
        """The candidate at these replica settings and the current node settings (`nodes`)."""
        key = (min_replicas, max_replicas, target, self.nodes)
        if key in self.cache:
            return self.cache[key]
        svc = self.scenario.service
        settled = replicas_needed(
            max(self.base_rps, 1e-9), svc.request_time_s.mean_s, target, svc.max_concurrent
        )
        overrides = {
            "deployment.min_replicas": min_replicas,
            "deployment.max_replicas": max_replicas,
            "deployment.target_utilization": target,
            "deployment.replicas": min(max(settled, min_replicas, 1), max_replicas),
            **self.node_overrides(),
        }
        scenario = with_overrides(self.scenario, overrides, warn=False)
        reps = map_in_order(_rep_task, [(scenario, s) for s in self.seeds], pool=self.pool)
        results = simulate.results_from_reps(scenario, reps)
        summary = metrics.summarise(results)
        meets = summary.meets_slo is True
        hours = summary.values["replica_seconds"] / 3600.0
        reason = "meets the SLO" if meets else _failure_reason(summary, results, max_replicas)
        cost = None if self.price is None else hours * self.price
        node_hours = None
        if self.nodes is not None:
            node_hours = summary.values["node_seconds"] / 3600.0
            if scenario.nodes is not None and scenario.nodes.price_per_hour is not None:
                cost = summary.values["cost"] + (cost or 0.0)  # node-hours × price_per_hour
        cand = Candidate(
            min_replicas=min_replicas,
            max_replicas=max_replicas,
            target_utilization=target,
            summary=summary,
            replica_hours=hours,
            cost=cost,
            meets_slo=meets,
            reason=reason,
            step=self.step,
            results=results,
            headroom_pods=None if self.nodes is None else self.nodes[0],
            min_nodes=None if self.nodes is None else self.nodes[1],
            node_hours=node_hours,
        )
        self.cache[key] = cand
        self.order.append(cand)
        if self.progress is not None:
            self.progress.advance()
        return cand


# ------------------------------------------------------------------------------ in words


def infeasible_error(
    evaluated: Sequence[Candidate], top: int, cap: int | None, exhausted: bool
) -> InfeasibleError:
    """The error when nothing passed: the bound searched up to and the best candidate."""
    if not evaluated:
        return InfeasibleError("no candidate setting could be evaluated")
    best = min(evaluated, key=lambda c: (c.summary.ci95["rate_503"][1], c.replica_hours))
    bound = f"max_replicas_cap {cap}" if cap is not None else f"the search limit min_replicas {top}"
    if exhausted:
        bound += " (the max_simulations budget ran out first)"
    return InfeasibleError(
        f"no setting up to {bound} meets the SLO: the best, min_replicas {best.min_replicas}, "
        f"max_replicas {best.max_replicas}, target {best.target_utilization:g}, achieves "
        f"rate_503 {best.summary.values['rate_503']:.4g} (upper 95 % bound "
        f"{best.summary.ci95['rate_503'][1]:.4g}): {best.reason}"
    )


def cost_words(c: Candidate, other: Candidate | None = None) -> str:
    """The ranked cost of `c` (against `other`) in words: replica-h, money or node-h."""
    unit = "in money" if c.cost_unit == "money" else c.cost_unit
    if other is None:
        return f"{c.ranked_cost:.4g} {unit}"
    return f"{c.ranked_cost:.4g} against {other.ranked_cost:.4g} {unit}"


def minimality_text(chosen: Candidate, neighbour: Candidate | None, floor: int, slo: float) -> str:
    """Whether the chosen minimum is shown minimal: its failing neighbour, the floor, or not."""
    m = chosen.min_replicas
    same = f"same max {chosen.max_replicas}, target {chosen.target_utilization:g}"
    if neighbour is not None and not neighbour.meets_slo:
        return f"min_replicas {m} is minimal: {m - 1} ({same}) fails: {neighbour.reason}"
    if m <= floor:
        return f"min_replicas {m} is the lowest the autoscaler allows: nothing smaller to test"
    if neighbour is not None:
        return (
            f"min_replicas {m} is NOT shown minimal: {m - 1} ({same}) also passes but costs "
            f"more ({cost_words(neighbour, chosen)})"
        )
    return (
        f"min_replicas {m} is NOT shown minimal: {m - 1} was not evaluated as failing "
        "(the max_simulations budget ran out)"
    )


def max_minimality_text(chosen: Candidate, neighbour: Candidate | None) -> str:
    """Whether the chosen maximum is shown minimal: max − 1 fails, is below min, or not shown."""
    m, top = chosen.min_replicas, chosen.max_replicas
    same = f"same min {m}, target {chosen.target_utilization:g}"
    if top <= max(m, 1):
        lowest = "min_replicas" if top == m else "1"
        return (
            f"max_replicas {top} is the lowest allowed (max_replicas >= {lowest}): a pool of "
            f"at most {top} replicas meets the SLO"
        )
    if neighbour is not None and not neighbour.meets_slo:
        return f"max_replicas {top} is minimal: {top - 1} ({same}) fails: {neighbour.reason}"
    if neighbour is not None:
        return (
            f"max_replicas {top} is NOT shown minimal: {top - 1} ({same}) also passes but costs "
            f"more ({cost_words(neighbour, chosen)})"
        )
    return (
        f"max_replicas {top} is NOT shown minimal: {top - 1} was not evaluated "
        "(the max_simulations budget ran out)"
    )


def chosen_reasons(
    chosen: Candidate,
    neighbour: Candidate | None,
    max_neighbour: Candidate | None,
    *,
    peak: float,
    base: float,
    seeds: int,
    rule_max: int,
) -> dict[str, str]:
    """One line per chosen setting (min_replicas, max_replicas, target_utilization): why."""
    s = chosen.summary
    lo, hi = s.ci95["rate_503"]
    verdict = (
        f"over {seeds} seeds the 503 rate is {s.values['rate_503']:.4g} "
        f"(95 % CI {lo:.4g}–{hi:.4g}) and p99 latency ≤ {s.ci95['latency_p99_s'][1]:.3g} s"
    )
    failing = (
        f"; {chosen.min_replicas - 1} fails"
        if neighbour is not None and not neighbour.meets_slo
        else ""
    )
    return {
        "min_replicas": (
            f"smallest warm pool meeting the SLO through the {base:g} → {peak:g} rps spike: "
            f"{verdict}{failing}"
        ),
        "max_replicas": _max_reason(chosen, max_neighbour, peak, rule_max),
        "target_utilization": (
            f"the cheapest passing target tried: {chosen.replica_hours:.3g} replica-hours "
            "over the scenario"
            if chosen.node_hours is None
            else f"the cheapest passing target tried: {cost_words(chosen)} over the scenario"
        ),
    }


def _max_reason(chosen: Candidate, neighbour: Candidate | None, peak: float, rule: int) -> str:
    """Why this max: the search's answer (and max − 1's failure), and whether it was reached."""
    top = chosen.max_replicas
    peaks = chosen.results.summary["peak_replicas"].to_numpy()
    hit = int((peaks >= top).sum())
    rule_text = f"the rule's {rule} (formula at {peak:g} rps plus Poisson headroom)"
    if top <= max(chosen.min_replicas, 1):
        text = (
            f"smallest max meeting the SLO: {top}, the lowest allowed (a pool of at most {top} "
            f"replicas); searched from {rule_text} down"
        )
    elif neighbour is not None and not neighbour.meets_slo:
        text = (
            f"smallest max meeting the SLO: {top}; {top - 1} fails: {neighbour.reason}; "
            f"searched from {rule_text} down"
        )
    else:
        text = f"{rule_text if top == rule else f'max {top}'}; NOT shown minimal: " + (
            f"{top - 1} also passes but costs more" if neighbour is not None else
            f"{top - 1} was not evaluated (the max_simulations budget ran out)"
        )  # fmt: skip
    if hit == 0:
        return f"{text}; never reached: at most {int(peaks.max())} replicas ran"
    return (
        f"{text}; reached in {hit} of {peaks.size} seeds (queued requests count as load, so "
        "the autoscaler overshoots in a spike)"
    )
