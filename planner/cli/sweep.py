"""`planner sweep FILE`: a grid over scenario fields × seeds, in parallel, cached, with heatmaps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from planner.cli._app import app, handles_errors
from planner.cli._common import (
    TableOrJson,
    check_output_dir,
    check_output_file,
    json_safe,
    warn_one_replication,
    with_warnings,
)

if TYPE_CHECKING:  # pandas is imported by the library call, not at CLI start-up
    import pandas as pd


@app.command()
@handles_errors
def sweep(
    file: Annotated[
        Path, typer.Argument(metavar="SCENARIO", help="scenario YAML file, with a `sweep:` block.")
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output directory (default: sweep-<scenario name>/)."),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Dask scheduler address (tcp://host:8786)."),
    ] = None,
    processes: Annotated[
        int | None,
        typer.Option("--processes", min=1, help="Local worker processes (default: one per CPU)."),
    ] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Ignore cached results.")] = False,
    plot: Annotated[
        str | None,
        typer.Option(
            "--plot",
            help="Two swept fields 'x,y' for the heatmaps (default: the first two).",
        ),
    ] = None,
    cost_per_replica_hour: Annotated[
        float | None,
        typer.Option("--cost-per-replica-hour", min=0.0, help="Adds a cost column."),
    ] = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Write a self-contained HTML report.")
    ] = None,
    output_format: Annotated[
        TableOrJson, typer.Option("--format", help="Summary as a table or JSON.")
    ] = TableOrJson.table,
    allow_large: Annotated[
        bool,
        typer.Option(
            "--allow-large",
            help="Run even when the estimated work (requests × cells × seeds) is past the "
            "limit that is otherwise refused (planner.budget.MAX_REQUESTS_WITHOUT_ALLOW).",
        ),
    ] = False,
) -> None:
    """Run a grid of scenario variants over seeds; show which cells meet the SLO, cheapest first."""
    from planner.budget import check_work, estimate_requests
    from planner.errors import ScenarioError
    from planner.executors import check_scheduler
    from planner.scenario import load_scenario
    from planner.sweep import cell_scenarios, cell_summary, grid, run_sweep, swept_fields

    if scheduler is not None:
        check_scheduler(scheduler)
    scenario = with_warnings(lambda: load_scenario(file))
    fields = swept_fields(scenario)
    if not fields:
        raise ScenarioError(f"{file}: no sweep: block (planner sweep needs dotted field -> values)")
    axes = _plot_axes(plot, fields)
    out_dir = out if out is not None else Path(f"sweep-{_slug(scenario.name)}")
    variants = cell_scenarios(scenario, grid(scenario))
    check_work(
        requests_per_run=max(estimate_requests(v) for v in variants),
        runs=len(variants) * len(scenario.seeds),
        allow_large=allow_large,
    )
    check_output_dir(out_dir, "--out")
    if html is not None:
        check_output_file(html, "--html")
    with_warnings(lambda: warn_one_replication(scenario.seeds, "seeds: N in the scenario file"))

    df = run_sweep(scenario, out_dir=out_dir, scheduler=scheduler, processes=processes, fresh=fresh)
    cells = cell_summary(df, scenario.slo)
    cost_col = "cost" if cost_per_replica_hour is not None else "replica_hours"
    if cost_per_replica_hour is not None:
        cells["cost"] = cells["replica_hours"] * cost_per_replica_hour
    cells.to_csv(out_dir / "cells.csv", index=False)
    figures = _heatmaps(cells, axes, out_dir) if axes else []
    try:
        if html is not None:
            _write_html(html, scenario.name, cells, figures)
    finally:
        _close(figures)
    images = [out_dir / f"heatmap_{v}.png" for v in ("rate_503", cost_col)] if axes else []

    ranked = cells.sort_values([cost_col, "cell"], kind="stable").reset_index(drop=True)
    best = ranked[ranked["meets_slo"]].head(1)
    counts = {"computed": int(df.attrs["computed"]), "cached": int(df.attrs["cached"])}
    if output_format is TableOrJson.json:
        payload = {
            "scenario": scenario.name,
            "out_dir": str(out_dir),
            "tasks": counts,
            "fields": fields,
            "cells": _records(ranked),
            "cheapest_passing": _records(best)[0] if len(best) else None,
            "heatmaps": [str(p) for p in images],
        }
        typer.echo(json.dumps(payload, indent=2))
    else:
        _print_table(scenario.name, ranked, fields, cost_col, scenario.slo, counts, out_dir)


def _plot_axes(plot: str | None, fields: list[str]) -> tuple[str, str] | None:
    if plot is None:
        return (fields[0], fields[1]) if len(fields) >= 2 else None
    names = [name.strip() for name in plot.split(",")]
    if len(names) != 2 or not all(names):
        raise typer.BadParameter(f"expected two swept fields 'x,y': {plot!r}", param_hint="--plot")
    for name in names:
        if name not in fields:
            raise typer.BadParameter(
                f"{name!r} is not a swept field (swept: {', '.join(fields)})", param_hint="--plot"
            )
    if names[0] == names[1]:
        raise typer.BadParameter(f"x and y must differ: {plot!r}", param_hint="--plot")
    return names[0], names[1]


def _heatmaps(cells: pd.DataFrame, axes: tuple[str, str], out_dir: Path) -> list[Any]:
    """Heatmaps of mean 503 rate and of cost over two swept fields, saved as PNGs in out_dir.

    Returns the open figures (for the HTML page); the caller closes them.
    """
    import matplotlib.pyplot as plt

    from planner.report import plot_heatmap

    x, y = axes
    cost = "cost" if "cost" in cells.columns else "replica_hours"
    # NOTE: other swept fields are averaged away; the table keeps every cell.
    table = cells.groupby([x, y], as_index=False, sort=True)[["rate_503", cost]].mean()
    averaged = " (mean over other swept fields)" if _n_fields(cells) > 2 else ""
    labels = {
        "rate_503": "mean 503 rate",
        "replica_hours": "replica-hours per run",
        "cost": "cost per run",
    }
    figures = []
    for value in ("rate_503", cost):
        fig, ax = plt.subplots(figsize=(6.4, 4.8))
        figures.append(fig)
        plot_heatmap(table, x, y, value, ax=ax, label=labels[value] + averaged)
        fig.savefig(out_dir / f"heatmap_{value}.png", dpi=100, bbox_inches="tight")
    return figures


def _n_fields(cells: pd.DataFrame) -> int:
    columns = list(cells.columns)
    return columns.index("seeds") - columns.index("cell") - 1


def _write_html(path: Path, name: str, cells: pd.DataFrame, figures: list[Any]) -> None:
    from planner.report import write_html

    sections: list[tuple[str, Any]] = [("Cells", cells)]
    if figures:
        sections.append(("Heatmaps", figures))
    write_html(path, title=f"planner sweep: {name}", sections=sections)


def _print_table(
    name: str,
    ranked: pd.DataFrame,
    fields: list[str],
    cost_col: str,
    slo: Any,
    counts: dict[str, int],
    out_dir: Path,
) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.measure import Measurement
    from rich.table import Table

    from planner.report import format_rate

    one_seed = bool(len(ranked)) and int(ranked["seeds"].max()) < 2
    basis = "one seed: no interval" if one_seed else "95 % upper bounds across seeds"
    # Names and swept values are the user's text: shown as written, never read as rich markup.
    table = Table(
        title=escape(f"sweep {name}: {len(ranked)} cells, cheapest first"),
        caption=f"SLO: 503 rate ≤ {slo.max_rate_503:g}, p99 ≤ {slo.latency_p99_s:g} s ({basis})",
    )
    for header in _short_names(fields):
        table.add_column(escape(header))
    for column in ("503 rate", "503 hi", "p99 s", "replica-h", *(["cost"] * (cost_col == "cost"))):
        table.add_column(column, justify="right")
    table.add_column("SLO")
    best_found = False
    for _, row in ranked.iterrows():
        passed = bool(row["meets_slo"])
        cells = [escape(_fmt(row[f])) for f in fields]
        upper = "—" if int(row["seeds"]) < 2 else format_rate(row["rate_503_hi"])
        cells += [format_rate(row["rate_503"]), upper]
        cells += [f"{row['latency_p99_s']:.3g}", f"{row['replica_hours']:.3g}"]
        if cost_col == "cost":
            cells.append(f"{row['cost']:.2f}")
        style = None
        if passed and not best_found:
            best_found, style = True, "bold green"
            cells.append("pass ★")
        else:
            cells.append("pass" if passed else "[red]fail[/red]")
        table.add_row(*cells, style=style)
    console = Console()
    if not console.is_terminal:  # a file or pipe: as wide as the table needs, no cropping
        wide = console.options.update_width(1000)
        console = Console(width=max(80, Measurement.get(console, wide, table).maximum))
    console.print(table)
    if best_found:
        console.print("★ the cheapest cell that meets the SLO")
    else:
        console.print("No cell meets the SLO.")
    console.print(
        escape(
            f"{counts['computed']} tasks computed, {counts['cached']} cached; "
            f"results in {out_dir}/results.parquet"
        )
    )


def _close(figures: list[Any]) -> None:
    import matplotlib.pyplot as plt

    for fig in figures:
        plt.close(fig)


def _short_names(fields: list[str]) -> list[str]:
    """The shortest dotted suffix of each field that tells it apart from the others."""
    names = []
    for field in fields:
        parts = field.split(".")
        for n in range(1, len(parts) + 1):
            suffix = ".".join(parts[-n:])
            if sum(f == suffix or f.endswith("." + suffix) for f in fields) == 1:
                break
        names.append(suffix)
    return names


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json_safe(frame.to_dict(orient="records"))
    return records


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in name) or "scenario"
