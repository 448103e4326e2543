"""Rendering of a settings search (`recommend.search.SearchResult`): rich text, JSON dict, HTML.

Not a command: `planner recommend` calls these when it runs the simulation-backed search.
`render_search(result, console)` prints the chosen settings with their reasons, the cheapest
candidates with pass/fail and the search step that evaluated each, the cheapest failing
candidate and why, the minimality statements (min − 1 and max − 1 at the chosen settings)
and the work done. `search_to_dict(result)` is the JSON/YAML form (its top-level
min_replicas / max_replicas / target_utilization / max_concurrent / ... keys are what
`planner export --from-json` reads). `search_html_sections(result)` gives (heading, content)
pairs for `planner.report.write_html`.
"""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING, Any

from planner.plain import plain
from planner.recommend.spike import has_latency_objective

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console

    from planner.recommend.search import Candidate, SearchResult

__all__ = ["TABLE_ROWS", "render_search", "search_html_sections", "search_to_dict"]

TABLE_ROWS = 12  # candidates shown in the terminal table (all of them go to JSON and HTML)
BUDGET_NOTE = (
    "The max_simulations budget ran out: the search stopped early, so the choice is the "
    "cheapest of the candidates evaluated and may not be shown minimal (see above)."
)


def _num(x: Any) -> Any:
    """A JSON-safe number: NaN/inf become None, numpy scalars plain Python (ints stay ints)."""
    if x is None or isinstance(x, bool):
        return x
    if isinstance(x, numbers.Integral):
        return int(x)
    value = float(x)
    return value if math.isfinite(value) else None


def _rate(p: float) -> str:
    if p is None or not math.isfinite(p):
        return "n/a"
    if p == 0:
        return "0"
    return f"{p:.2%}" if p >= 1e-4 else f"{p:.1e}"


def _secs(x: float) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.3g} s"


def _money(result: SearchResult, cand: Candidate) -> str:
    hours = f"{cand.replica_hours:.3g} replica-h"
    if cand.node_hours is not None:
        hours = f"{cand.node_hours:.3g} node-h, {hours}"
    if cand.cost is None:
        return hours
    digits = 2 if cand.node_hours is None else _digits(cand.cost)
    return f"{cand.cost:,.{digits}f} ({hours})"


def _digits(cost: float) -> int:
    """Decimals for money: two, more for small sums (a node-hour is a fraction of a unit)."""
    return 2 if abs(cost) >= 10 or cost == 0 else 3 if abs(cost) >= 1 else 4


def _candidate_dict(cand: Candidate | None) -> dict[str, Any] | None:
    if cand is None:
        return None
    row = cand.row()
    return {k: (v if isinstance(v, str | bool) else _num(v)) for k, v in row.items()}


def sorted_candidates(result: SearchResult) -> pd.DataFrame:
    """The candidates table sorted cheapest first, with a boolean `chosen` column."""
    df = result.candidates.copy()
    c = result.chosen
    df["chosen"] = (
        (df["min_replicas"] == c.min_replicas)
        & (df["max_replicas"] == c.max_replicas)
        & (df["target_utilization"] == c.target_utilization)
    )
    if c.nodes is None:
        return df.sort_values(
            ["replica_hours", "min_replicas", "target_utilization"], ascending=[True, True, False]
        ).reset_index(drop=True)
    # With nodes, cheapest is money (node-hours without a node price): `search_steps.cost_key`.
    df["chosen"] &= (df["headroom_pods"] == c.nodes[0]) & (df["min_nodes"] == c.nodes[1])
    ranked = df["cost"].astype(float) if c.cost_unit == "money" else df["node_hours"]
    order = ["_ranked", "replica_hours", "min_replicas", "target_utilization", "headroom_pods"]
    return (
        df.assign(_ranked=ranked)
        .sort_values([*order, "min_nodes"], ascending=[True, True, True, False, True, True])
        .drop(columns="_ranked")
        .reset_index(drop=True)
    )


def search_to_dict(result: SearchResult) -> dict[str, Any]:
    """The search result as a JSON/YAML-ready dict (NaN as None)."""
    from planner.formulas import replicas_needed

    c, s = result.chosen, result.chosen.summary
    scenario = c.results.scenario
    dep, svc = scenario.deployment, scenario.service
    closed = result.closed_form
    base_rps = closed.rps if closed is not None else None
    replicas = (
        replicas_needed(
            base_rps, svc.request_time_s.mean_s, c.target_utilization, svc.max_concurrent
        )
        if base_rps
        else c.min_replicas
    )
    lo, hi = s.ci95["rate_503"]
    p99_lo, p99_hi = s.ci95["latency_p99_s"]
    slo_p99 = scenario.slo.latency_p99_s if has_latency_objective(scenario) else None
    return {
        "method": "simulation",
        "name": scenario.name,
        "replicas": replicas,  # Azure ML formula at the base rate and chosen target
        "min_replicas": c.min_replicas,
        "max_replicas": c.max_replicas,
        "target_utilization": c.target_utilization,
        "max_concurrent": svc.max_concurrent,
        "max_request_wait_s": dep.max_request_wait_s,
        "scoring_timeout_s": dep.scoring_timeout_s,
        "refresh_s": dep.refresh_s,
        "scale_down_delay_s": dep.scale_down_delay_s,
        "predicted_rate_503": _num(s.values["rate_503"]),
        "predicted_rate_503_ci95": [_num(lo), _num(hi)],
        "latency_p99_s": _num(s.values["latency_p99_s"]),
        "latency_p99_s_ci95": [_num(p99_lo), _num(p99_hi)],
        "peak_replicas": _num(s.values["peak_replicas"]),
        "replica_hours": _num(c.replica_hours),
        "cost": _num(c.cost),
        "cost_per_replica_hour": _num(result.cost_per_replica_hour),
        "slo": {
            "max_rate_503": scenario.slo.max_rate_503,
            "latency_p99_s": slo_p99,  # None: no latency objective
        },
        "meets_slo": c.meets_slo,
        "reasons": dict(result.reasons),
        "minimality": result.minimality,
        "failing_neighbour": _candidate_dict(result.failing_neighbour),
        "max_minimality": result.max_minimality,
        "max_neighbour": _candidate_dict(result.max_neighbour),
        "cheapest_failing": _candidate_dict(result.cheapest_failing),
        "max_replicas_rule": result.max_replicas_rule,
        "targets": list(result.targets),
        "seeds": list(result.seeds),
        "simulations": result.simulations,
        "replications": result.replications,
        "elapsed_s": round(result.elapsed_s, 3),
        "budget_exhausted": result.budget_exhausted,
        "monotone_violations": list(result.monotone_violations),
        **_nodes_dict(result),
        "closed_form": None if closed is None else closed.to_dict(),
        "summary": s.to_json_dict(),
        "candidates": [
            {k: (v if isinstance(v, str | bool) else _num(v)) for k, v in row.items()}
            for row in sorted_candidates(result).to_dict("records")
        ],
    }


def _nodes_dict(result: SearchResult) -> dict[str, Any]:
    """The node pool's recommended settings and the trade-off (empty without `nodes:`)."""
    c = result.chosen
    nodes = c.results.scenario.nodes
    if c.nodes is None or nodes is None:
        return {}
    return {
        "nodes": {
            "vm_size": nodes.vm_size,
            "headroom_pods": c.nodes[0],
            "min_nodes": c.nodes[1],
            "initial_nodes": nodes.initial_nodes,
            "max_nodes": nodes.max_nodes,
            "pod_cpu": _num(c.results.scenario.service.cpu),
            "pod_memory_gb": _num(c.results.scenario.service.memory_gb),
            "autoscaler": plain(nodes.autoscaler),  # the cluster-autoscaler profile, for export
            "price_per_hour": _num(nodes.price_per_hour),
            "cost_unit": "money" if c.cost_unit == "money" else "node-hours",
            "node_hours": _num(c.node_hours),
            "peak_nodes": _num(c.summary.values["peak_nodes"]),
            "reasons": {k: result.reasons[k] for k in ("headroom_pods", "min_nodes")},
            "tradeoff": list(result.node_tradeoff),
            "neighbours": [_candidate_dict(n) for n in result.node_neighbours],
        }
    }


def render_search(result: SearchResult, console: Console) -> None:
    """Print the search result for a person: settings and why, candidates, the proof, the work."""
    from rich import box
    from rich.table import Table

    from planner.cli._recommend_render import settings_table
    from planner.recommend.evaluate import STEPS

    c, s = result.chosen, result.chosen.summary
    scenario = result.scenario
    slo = scenario.slo
    slo_p99 = (
        f"SLO {_secs(slo.latency_p99_s)}" if has_latency_objective(scenario) else "no latency SLO"
    )
    lo, hi = s.ci95["rate_503"]
    console.print(
        f"[bold]Simulation-backed settings[/bold] for {scenario.name} "
        f"({len(result.seeds)} seeds, same seeds for every candidate; SLO judged on the upper "
        "95 % bound)"
    )
    settings = settings_table(c.min_replicas, c.max_replicas, c.target_utilization, result.reasons)
    settings.add_row(
        "503 rate",
        _rate(s.values["rate_503"]),
        f"95 % CI {_rate(lo)} – {_rate(hi)}; SLO {_rate(slo.max_rate_503)}",
    )
    settings.add_row(
        "latency p99",
        _secs(s.values["latency_p99_s"]),
        f"upper bound {_secs(s.ci95['latency_p99_s'][1])}; {slo_p99}",
    )
    if c.nodes is not None:
        settings.add_row("headroom_pods", str(c.nodes[0]), result.reasons["headroom_pods"])
        settings.add_row("min_nodes", str(c.nodes[1]), result.reasons["min_nodes"])
    if c.nodes is None:
        settings.add_row("cost", _money(result, c), "mean over seeds, warm-up excluded")
    else:  # the hours go to the "why" column: the value column stays narrow
        value = f"{c.node_hours:.3g} node-h" if c.cost is None else f"{c.cost:,.{_digits(c.cost)}f}"
        settings.add_row(
            "cost",
            value,
            f"{c.node_hours:.3g} node-h, {c.replica_hours:.3g} replica-h; mean over seeds, "
            "warm-up excluded",
        )
    console.print(settings)

    df = sorted_candidates(result)
    shown = df.head(TABLE_ROWS)
    table = Table(
        title=f"Candidates, cheapest first ({len(shown)} of {len(df)})",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=False,
        collapse_padding=True,  # fits 80 columns with the step column
    )
    with_nodes = c.nodes is not None
    # With nodes the judged upper bound stays and the mean goes: two node columns must fit.
    heads = ("min", "max", "target", *(() if with_nodes else ("503 mean",)), "503 upper")
    heads = (*heads, "p99 upper")
    for name in (*heads, *(("head", "nodes") if with_nodes else ()), "cost"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("SLO", min_width=13)  # "pass ◀ chosen" must not be cut
    table.add_column("step")  # last: cut before the verdict on a narrow terminal
    for row in shown.to_dict("records"):
        cost = f"{row['replica_hours']:.3g} h"
        if with_nodes:
            cost = f"{row['node_hours']:.3g} node-h"
        if row["cost"] is not None and not _isnan(row["cost"]):
            cost = f"{row['cost']:,.{_digits(row['cost']) if with_nodes else 2}f}"
        verdict = "pass" if row["meets_slo"] else "FAIL"
        nodes = (str(row["headroom_pods"]), str(row["min_nodes"])) if with_nodes else ()
        table.add_row(
            str(row["min_replicas"]),
            str(row["max_replicas"]),
            f"{row['target_utilization']:g}",
            *(() if with_nodes else (_rate(row["rate_503"]),)),
            _rate(row["rate_503_upper"]),
            _secs(row["latency_p99_upper_s"]),
            *nodes,
            cost,
            verdict + (" ◀ chosen" if row["chosen"] else ""),
            row["step"],
            style="bold" if row["chosen"] else ("red" if not row["meets_slo"] else None),
        )
    console.print(table)
    console.print()

    failing = result.cheapest_failing
    if failing is not None:
        console.print(
            f"[bold]Cheapest failing[/bold]: min {failing.min_replicas}, max "
            f"{failing.max_replicas}, target {failing.target_utilization:g} "
            f"({_money(result, failing)}): {failing.reason}"
        )
    if result.node_tradeoff:
        console.print("[bold]Warm replicas, warm nodes and headroom pods[/bold]:")
        for line in result.node_tradeoff:
            console.print(f"- {line}")
    console.print(f"[bold]Minimality[/bold]: {result.minimality}")
    console.print(f"[bold]Minimality of the maximum[/bold]: {result.max_minimality}")
    for note in result.monotone_violations:
        node = ": headroom_pods " in note or ": min_nodes " in note
        more = "more headroom or warm nodes" if node else "more replicas"
        console.print(f"[yellow]Assumption broken[/yellow] ({more}, more 503s): {note}")
    if result.budget_exhausted:
        console.print(f"[yellow]{BUDGET_NOTE}[/yellow]")
    start = ""
    if result.closed_form is not None:
        cf = result.closed_form
        start = f"; closed-form start: min {cf.min_replicas}, max {cf.max_replicas}"
    console.print(
        f"{result.simulations} simulations ({result.replications} replications) in "
        f"{result.elapsed_s:.1f} s{start}. max_replicas rule: {result.max_replicas_rule}. "
        "Steps: " + "; ".join(f"{k}: {v}" for k, v in STEPS.items()) + "."
    )


def _isnan(x: Any) -> bool:
    return isinstance(x, float) and math.isnan(x)


def search_html_sections(result: SearchResult) -> list[tuple[str, Any]]:
    """(heading, content) pairs for `planner.report.write_html`: settings, plots, tables, proof."""
    from planner.recommend.evaluate import STEPS
    from planner.report import plot_candidates, plot_timeline, summary_frame

    c = result.chosen
    data = search_to_dict(result)
    keys = (
        "min_replicas", "max_replicas", "target_utilization", "predicted_rate_503",
        "predicted_rate_503_ci95", "latency_p99_s", "latency_p99_s_ci95", "replica_hours", "cost",
    )  # fmt: skip
    settings = {key: data[key] for key in keys}
    if "nodes" in data:
        settings |= {k: data["nodes"][k] for k in ("headroom_pods", "min_nodes", "node_hours")}
    df = sorted_candidates(result)
    x = "cost" if result.cost_per_replica_hour is not None else "replica_hours"
    if c.node_hours is not None:  # the axis the candidates are ranked on
        x = "cost" if c.cost_unit == "money" else "node_hours"
    ax = plot_candidates(
        df.astype({"cost": float}),
        x=x,
        max_rate_503=result.scenario.slo.max_rate_503,
        label="min_replicas",
    )
    scenario = c.results.scenario
    timeline = plot_timeline(
        c.results.timeline,
        min_replicas=c.min_replicas,
        max_replicas=c.max_replicas,
        warmup_s=scenario.warmup_s,
        title=f"Chosen settings: min {c.min_replicas}, max {c.max_replicas}, "
        f"target {c.target_utilization:g}",
    )
    sections: list[tuple[str, Any]] = [
        ("Recommended settings", settings),
        ("Why", dict(result.reasons)),
        ("Predicted at the chosen settings", summary_frame(c.summary)),
        ("Chosen settings over time", timeline),
        ("Candidates: cost against 503 rate", ax),
        ("Candidates, cheapest first", df),
        ("Minimality", f"{result.minimality}\n\n{result.max_minimality}"),
    ]
    if result.node_tradeoff:
        sections.insert(2, ("Warm replicas, warm nodes and headroom pods",
                            "\n\n".join(result.node_tradeoff)))  # fmt: skip
    if result.cheapest_failing is not None:
        f = result.cheapest_failing
        sections.append(
            (
                "Cheapest failing candidate",
                f"min {f.min_replicas}, max {f.max_replicas}, target "
                f"{f.target_utilization:g}: {f.reason}",
            )
        )
    notes = [
        f"{result.simulations} simulations ({result.replications} replications over seeds "
        f"{list(result.seeds)}) in {result.elapsed_s:.1f} s.",
        f"max_replicas rule: {result.max_replicas_rule}.",
        "Steps: " + "; ".join(f"{k}: {v}" for k, v in STEPS.items()) + ".",
    ]
    if result.budget_exhausted:
        notes.append(BUDGET_NOTE)
    notes += [f"Assumption broken: {v}" for v in result.monotone_violations]
    sections.append(("Search", "\n\n".join(notes)))
    return sections
