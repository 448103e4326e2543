"""The node stage of the settings search: headroom_pods and min_nodes, cheapest in money.

With a `nodes:` block, `planner.recommend.search.search_settings` first finds min, max and
target at the file's node settings (`headroom_pods`, `min_nodes`), ranked by money: node-hours
× `nodes.price_per_hour` (node-hours when the pool has no price). Then `search_nodes` tries a
few node settings and, for each, the smallest min_replicas it allows at the same max and
target. That is the trade between the three ways of holding room for a spike:

- warm replicas (min_replicas): ready at once, but each holds a node slot all the time;
- warm nodes (min_nodes): empty slots all the time; a replica placed there still pays its
  image pull (first pod on a node) and cold start, not the node provisioning;
- headroom pods (placeholder pause pods, the cluster autoscaler's over-provisioning pattern):
  slots all the time, preempted by a replica at once; the preempted placeholder goes Pending
  and so asks for the next node before a replica needs it.

Every slot of a node costs the same (price_per_hour / pods per node), so money differs only in
how many nodes each choice keeps, when, and what the SLO needs.

How it stays at a few dozen simulations:
- The settings tried: headroom_pods in whole nodes' worth added to the file's (pods per node ×
  1, 2, ... up to the nodes the max_replicas beyond the file's warm nodes need; at most three of
  them: one node, the middle, all), and 0 when the file has some, at the file's min_nodes; and
  min_nodes in {the nodes that hold max_replicas, the nodes that hold min_replicas, the middle
  between the file's and the latter (warm nodes beside fewer warm replicas)} other than the
  file's, at the file's headroom. Those whose cheapest possible cost (their warm nodes for the
  whole measured time) exceeds the best passing candidate are skipped; the others run cheapest
  first.
- ASSUMPTION (monotone in headroom_pods and in min_nodes): with the replica settings fixed,
  more headroom or more warm nodes never add 503s (they only add room) and never lower the
  cost. So the warm-replica answer, which passes at the file's node settings, should pass at
  any larger headroom or min_nodes: each setting's min_replicas search starts there (evaluated,
  not trusted) and gallops down, then bisects (`search_steps.search_target`); at a smaller
  setting it gallops up first. Evaluated points that break the assumption are listed
  (`node_monotone_violations`).
- At the final settings, one node's worth of headroom fewer, one warm node fewer (where the
  choice differs from the file) and the file's node settings are evaluated too (`settle_all`):
  a cheaper passing one becomes the choice, like min − 1 and max − 1 (`search_steps.settle`).
  The budget (max_simulations) bounds it all.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING

from planner import model_nodes
from planner.recommend.evaluate import ready_words
from planner.recommend.search_steps import broken_pairs, cost_key, search_target, settle

if TYPE_CHECKING:
    from planner.recommend.evaluate import Candidate, Evaluator
    from planner.scenario import Scenario

__all__ = [
    "node_monotone_violations",
    "node_reasons",
    "node_settings",
    "node_tradeoff",
    "search_nodes",
    "settle_all",
    "slots_per_node",
    "warm_node_cost",
]

MAX_HEADROOM_SETTINGS = 3  # one node's worth, the middle, all the spike needs


def slots_per_node(scenario: Scenario) -> int:
    """How many replicas one node of the scenario's pool holds."""
    assert scenario.nodes is not None
    return model_nodes.slots_per_node(scenario.nodes, scenario.service)


def node_settings(ev: Evaluator, best: Candidate) -> list[tuple[int, int]]:
    """The (headroom_pods, min_nodes) settings the node stage tries (see the module docstring)."""
    scenario = ev.scenario
    nodes = scenario.nodes
    assert nodes is not None and ev.file_nodes is not None
    h0, n0 = ev.file_nodes
    slots = slots_per_node(scenario)
    warm = max(nodes.initial_nodes, n0)  # nodes at the start, before any scale-up
    extra = max(0, best.max_replicas - warm * slots)
    whole = math.ceil(extra / slots)
    steps = sorted({1, (whole + 1) // 2, whole} if whole > MAX_HEADROOM_SETTINGS else
                   set(range(1, whole + 1)))  # fmt: skip
    out = [(h0 + k * slots, n0) for k in steps if k > 0]
    if h0 > 0:
        out.append((0, n0))  # the file's headroom may be more than the spike needs
    hold_min = math.ceil(best.min_replicas / slots)
    warm_nodes = {math.ceil(best.max_replicas / slots), hold_min}
    if hold_min - n0 > 1:
        warm_nodes.add((n0 + hold_min) // 2)  # the middle: warm nodes with fewer warm replicas
    for n in sorted(warm_nodes):
        if n != n0 and n <= nodes.max_nodes:
            out.append((h0, n))
    return out


def warm_node_cost(scenario: Scenario, *, min_nodes: int, pods: int) -> float:
    """The least a pool can cost in the ranked unit (money, or node-hours without a price):
    the nodes that hold `pods` pods, at least `min_nodes`, for the whole measured time."""
    nodes = scenario.nodes
    assert nodes is not None
    held = max(min_nodes, math.ceil(pods / slots_per_node(scenario)))
    hours = held * (scenario.duration_s - scenario.warmup_s) / 3600.0
    return hours if nodes.price_per_hour is None else hours * nodes.price_per_hour


def _floor_cost(ev: Evaluator, setting: tuple[int, int], floor: int) -> float:
    """The least a node setting can cost: its warm nodes (and headroom) all the time."""
    headroom, min_nodes = setting
    return warm_node_cost(ev.scenario, min_nodes=min_nodes, pods=headroom + floor)


def search_nodes(ev: Evaluator, best: Candidate, *, lower: int, floor: int) -> None:
    """Evaluate the node settings with, for each, its smallest passing min_replicas.

    `best` is the cheapest passing candidate at the file's node settings; every evaluation goes
    to `ev.order` (step "nodes"). The caller picks the cheapest passing one afterwards.
    """
    ev.step = "nodes"
    settings = sorted(node_settings(ev, best), key=lambda s: _floor_cost(ev, s, floor))
    m, top, t = best.key
    for setting in settings:
        passing = [c for c in ev.order if c.meets_slo]
        cheapest = min((c.ranked_cost for c in passing), default=math.inf)
        if ev.exhausted or _floor_cost(ev, setting, floor) > cheapest:
            continue
        ev.nodes = setting
        search_target(ev, t, start=m, lower=lower, floor=floor, top=top, max_cap=top)
    ev.nodes = ev.file_nodes


def _node_neighbours(ev: Evaluator, chosen: Candidate) -> list[Candidate]:
    """One node's worth of headroom fewer, one warm node fewer and the file's node settings, at
    the choice's replica settings."""
    assert chosen.nodes is not None and ev.file_nodes is not None
    h, n = chosen.nodes
    h0, n0 = ev.file_nodes
    slots = slots_per_node(ev.scenario)
    out: list[Candidate] = []
    fewer = [
        (max(0, h - slots), n) if h != h0 and h > 0 else None,
        (h, n - 1) if n != n0 and n > 0 else None,
    ]
    if (h, n) != (h0, n0) and (h0, n0) not in fewer:
        fewer.append((h0, n0))  # the file's node settings at the same replica settings
    for setting in fewer:
        if setting is None:
            continue
        ev.nodes = setting
        c = ev.within_budget(*chosen.key)
        if c is not None:
            out.append(c)
    ev.nodes = chosen.nodes
    return out


def settle_all(
    ev: Evaluator, chosen: Candidate, floor: int
) -> tuple[Candidate, Candidate | None, Candidate | None, list[Candidate]]:
    """`search_steps.settle`, then the node neighbours; a cheaper pass wins and it repeats.

    Returns the choice, its min − 1 and max − 1 neighbours and its node neighbours (evaluated).
    Ends because every switch lowers the cost key.
    """
    while True:
        chosen, below_min, below_max = settle(ev, chosen, floor)
        if chosen.nodes is None:
            return chosen, below_min, below_max, []
        near = _node_neighbours(ev, chosen)
        better = [c for c in near if c.meets_slo and cost_key(c) < cost_key(chosen)]
        if not better:
            return chosen, below_min, below_max, near
        chosen = min(better, key=cost_key)


def _node_setting(i: int) -> Callable[[Candidate], int]:
    """Candidate → its node setting i (0 headroom_pods, 1 min_nodes)."""
    return lambda c: c.nodes[i] if c.nodes is not None else 0


def _same_but_node(other: int) -> Callable[[Candidate], Hashable | None]:
    """The group of candidates with the same replica settings and node setting `other`."""
    return lambda c: None if c.nodes is None else (*c.key, c.nodes[other])


def node_monotone_violations(candidates: Sequence[Candidate]) -> list[str]:
    """Evaluated points breaking the node stage's assumption: more headroom_pods (or min_nodes),
    all else equal, giving a higher 503 rate or turning a pass into a failure."""
    out: list[str] = []
    for i, name in enumerate(("headroom_pods", "min_nodes")):
        pairs = broken_pairs(candidates, value=_node_setting(i), group=_same_but_node(1 - i))
        for lo, hi in pairs:
            assert lo.nodes is not None and hi.nodes is not None
            m, top, t = lo.key
            r_lo, r_hi = lo.summary.values["rate_503"], hi.summary.values["rate_503"]
            out.append(
                f"min {m}, max {top}, target {t:g}, "
                f"{'min_nodes' if i == 0 else 'headroom_pods'} {lo.nodes[1 - i]}: {name} "
                f"{hi.nodes[i]} gives rate_503 {r_hi:.4g} but {lo.nodes[i]} gives "
                f"{r_lo:.4g}"
            )
    return out


# ------------------------------------------------------------------------------ in words


def _per_hour(c: Candidate) -> float:
    """The candidate's ranked cost per hour of the measured time (money/h, or nodes)."""
    s = c.results.scenario
    return c.ranked_cost / ((s.duration_s - s.warmup_s) / 3600.0)


def _unit(scenario: Scenario) -> str:
    nodes = scenario.nodes
    return "/h" if nodes is not None and nodes.price_per_hour is not None else " nodes"


def _setting(c: Candidate, chosen: Candidate | None = None) -> str:
    """The candidate's settings in words; max and target only where they differ from `chosen`."""
    assert c.nodes is not None
    words = f"min_replicas {c.min_replicas}"
    if chosen is not None and c.max_replicas != chosen.max_replicas:
        words += f", max_replicas {c.max_replicas}"
    if chosen is not None and c.target_utilization != chosen.target_utilization:
        words += f", target {c.target_utilization:g}"
    return words + f", headroom_pods {c.nodes[0]}, min_nodes {c.nodes[1]}"


def _ready(c: Candidate) -> str:
    return "slowest time to ready (replicas started at t = 0 included) " + ready_words(
        c.summary.values
    )


def _wait_under_load_s(c: Candidate) -> float:
    """The longest wait for a node (node_wait + node_provisioning) of the replicas requested
    after the warm-up, over the seeds: those started at t = 0 wait in the warm-up, unmeasured."""
    table = c.results.replicas
    if table is None:
        return 0.0
    late = table[table["requested_s"] >= c.results.scenario.warmup_s]
    return float((late["node_wait_s"] + late["node_provisioning_s"]).max()) if len(late) else 0.0


def _holds(pods: int, slots: int, price: float | None) -> str:
    """ "8 pods (2 nodes' worth, 0.384/h)": what holding `pods` slots costs per hour."""
    worth = pods / slots
    money = "" if price is None else f", {worth * price:.3g}/h"
    unit = "node's" if math.isclose(worth, 1.0) else "nodes'"
    return f"{pods} pods ({worth:.3g} {unit} worth{money})"


def node_reasons(
    chosen: Candidate,
    near: Sequence[Candidate],
    file_nodes: tuple[int, int],
    candidates: Sequence[Candidate],
) -> dict[str, str]:
    """Why the chosen headroom_pods and min_nodes: their neighbours' verdicts, the file's."""
    assert chosen.nodes is not None
    scenario = chosen.results.scenario
    nodes = scenario.nodes
    assert nodes is not None
    slots, price = slots_per_node(scenario), nodes.price_per_hour
    h, n = chosen.nodes
    out: dict[str, str] = {}
    for i, name in enumerate(("headroom_pods", "min_nodes")):
        value, file_value = chosen.nodes[i], file_nodes[i]
        below = next(
            (c for c in near if c.nodes is not None and c.nodes[i] < value
             and c.nodes[1 - i] == chosen.nodes[1 - i]),
            None,
        )  # fmt: skip
        more = [c for c in candidates if c.nodes is not None and c.nodes[i] != file_value]
        if value == file_value and not more:
            text = (
                f"the file's {file_value}: no other value was evaluated (their warm nodes "
                "alone cost more than the choice, or the max_simulations budget ran out)"
            )
        elif value == file_value:
            text = f"the file's {file_value}: others were tried and cost more or fail (see below)"
        elif name == "headroom_pods" and value == 0:
            text = f"none (the file's {file_value} cost more, or fewer fail: see below)"
        elif name == "headroom_pods":
            text = (
                f"{_holds(h, slots, price)} of placeholders (the file's {file_value}): a "
                "replica preempts one at once instead of waiting for a new node"
            )
        else:
            text = (
                f"{n} warm nodes (the file's {file_value}"
                + ("" if price is None else f", {n * price:.3g}/h")
                + "; empty room for replicas to start without a new node)"
            )
        if below is not None:
            verdict = "fails" if not below.meets_slo else "passes but costs more"
            assert below.nodes is not None
            text += f"; {below.nodes[i]} {verdict}" + (
                f": {below.reason}" if not below.meets_slo else ""
            )
        out[name] = text
    return out


def node_tradeoff(
    chosen: Candidate, candidates: Sequence[Candidate], file_nodes: tuple[int, int]
) -> list[str]:
    """The trade-off between warm replicas, warm nodes and headroom pods, from the evaluations.

    What a node slot costs, what the choice costs and does, and the cheapest evaluated
    alternative of each kind (more warm replicas at the file's node settings, more headroom,
    more warm nodes) with its cost per hour against the choice, or why it fails.
    """
    scenario = chosen.results.scenario
    nodes = scenario.nodes
    assert nodes is not None and chosen.nodes is not None
    slots, price, unit = slots_per_node(scenario), nodes.price_per_hour, _unit(scenario)
    h0, n0 = file_nodes
    lines = []
    if price is None:
        lines.append(
            "nodes.price_per_hour is not given: candidates are ranked by node-hours, and "
            "costs per hour below are mean nodes."
        )
    else:
        lines.append(
            f"A {nodes.vm_size} node costs {price:g}/h and holds {slots} replicas: a warm "
            f"replica, an empty warm slot and a headroom pod each hold {price / slots:.3g}/h "
            "of node whenever they keep a node of their own."
        )
    v = chosen.summary.values
    mean_nodes = v["node_seconds"] / (scenario.duration_s - scenario.warmup_s)
    lines.append(
        f"Chosen: {_setting(chosen)}: {mean_nodes:.3g} "
        f"nodes on average (peak {v['peak_nodes']:.3g}), {_per_hour(chosen):.3g}{unit}; "
        f"{_ready(chosen)}."
    )
    same = [c for c in candidates if c.key == chosen.key and c.nodes == file_nodes]
    if chosen.nodes != file_nodes and same:
        f = same[0]
        change = f"{_per_hour(chosen) - _per_hour(f):+.3g}{unit}"
        if f.meets_slo:
            lines.append(
                f"At the file's headroom_pods {h0} and min_nodes {n0} the same replica settings "
                f"also meet the SLO, at {_per_hour(f):.3g}{unit}: the choice costs {change} "
                "against them."
            )
        else:
            changed = (("headroom", chosen.nodes[0] != h0), ("warm nodes", chosen.nodes[1] != n0))
            lines.append(
                f"At the file's headroom_pods {h0} and min_nodes {n0} the same replica settings "
                f"fail: {'; '.join(f.summary.reasons)} ({_per_hour(f):.3g}{unit}); {_ready(f)}. "
                "The choice's "
                + " and ".join(w for w, differs in changed if differs)
                + " cut the slowest wait for a node of a replica requested after the warm-up "
                f"from {_wait_under_load_s(f):.0f} s to {_wait_under_load_s(chosen):.0f} s, "
                f"for {change}."
            )
    kinds = (
        ("Warm replicas at the file's node settings instead", (False, False)),
        ("Other headroom_pods instead", (True, False)),  # (headroom differs?, min_nodes differs?)
        ("Other min_nodes instead", (False, True)),
    )

    def of_kind(c: Candidate, kind: tuple[bool, bool]) -> bool:
        return c.nodes is not None and (c.nodes[0] != h0, c.nodes[1] != n0) == kind

    for words, kind in kinds:
        if of_kind(chosen, kind):
            continue  # the choice is of this kind: nothing "instead"
        group = [c for c in candidates if of_kind(c, kind)]
        if not group:
            continue
        passing = [c for c in group if c.meets_slo]
        if passing:
            alt = min(passing, key=cost_key)
            delta = _per_hour(alt) - _per_hour(chosen)
            fewer = [
                c
                for c in group
                if not c.meets_slo and c.nodes == alt.nodes and c.key == (
                    alt.min_replicas - 1, alt.max_replicas, alt.target_utilization)
            ]  # fmt: skip
            lines.append(
                f"{words}: {_setting(alt, chosen)} meets the SLO at {_per_hour(alt):.3g}{unit} "
                f"({delta:+.3g}{unit} against the choice"
                + ("" if alt.nodes is None or alt.nodes[0] == 0 else
                   f"; the headroom is {_holds(alt.nodes[0], slots, price)}")
                + ")"
                + (f"; min_replicas {alt.min_replicas - 1} with it fails." if fewer else ".")
            )  # fmt: skip
        else:
            alt = min(group, key=lambda c: (c.summary.ci95["rate_503"][1], cost_key(c)))
            lines.append(f"{words}: the best tried, {_setting(alt, chosen)}, fails: {alt.reason}.")
    return lines
