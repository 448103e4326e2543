"""`planner simulate FILE`: replay a scenario through the simulated deployment and report it."""

from __future__ import annotations

import json
import os
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from planner.cli._app import app, handles_errors, stdout_is_terminal
from planner.cli._common import (
    TableOrJson,
    check_output_dir,
    check_output_file,
    choose_seeds,
    json_safe,
    warn_one_replication,
    with_warnings,
)
from planner.engine import COMPILED_MIN_REQUESTS
from planner.errors import PlannerError

if TYPE_CHECKING:
    from planner.scenario import Scenario

T = TypeVar("T")


class Engine(StrEnum):
    """Which simulation engine runs the replications (planner.engine)."""

    auto = "auto"
    python = "python"
    compiled = "compiled"


@app.command()
@handles_errors
def simulate(
    file: Annotated[
        Path, typer.Argument(metavar="SCENARIO", help="scenario YAML file (examples: scenarios/).")
    ],
    seeds: Annotated[
        int | None,
        typer.Option("--seeds", min=1, help="Number of replications (default: the file's seeds)."),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", min=0, help="Run one replication with this seed.")
    ] = None,
    processes: Annotated[
        int | None,
        typer.Option("--processes", min=1, help="Worker processes (default: min(reps, CPUs))."),
    ] = None,
    output_format: Annotated[
        TableOrJson, typer.Option("--format", help="A readable table, or one JSON object.")
    ] = TableOrJson.table,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Directory for requests.parquet (per request), timeline.csv (per second), "
            "summary.csv, summary.json and timeline.png.",
        ),
    ] = None,
    requests: Annotated[
        bool | None,
        typer.Option(
            "--requests/--no-requests",
            help="Write the per-request table to --out (default: yes; --no-requests for very "
            "long runs, whose per-request rows would fill memory).",
            show_default=False,
        ),
    ] = None,
    csv: Annotated[
        bool,
        typer.Option("--csv", help="Write the per-request table to --out as CSV, not Parquet."),
    ] = False,
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Write a self-contained HTML report to this file."),
    ] = None,
    no_progress: Annotated[
        bool, typer.Option("--no-progress", help="No progress bar (it goes to stderr).")
    ] = False,
    engine: Annotated[
        Engine,
        typer.Option(
            "--engine",
            help="python, compiled (numba: pip install planner\\[fast]; same results, faster) or "
            "auto: compiled when numba is installed and a replication expects more than "
            f"{COMPILED_MIN_REQUESTS:,} requests.",
        ),
    ] = Engine.auto,
    allow_large: Annotated[
        bool,
        typer.Option(
            "--allow-large",
            help="Run even when the estimated work (requests × seeds) is past the limit that "
            "is otherwise refused (planner.budget.MAX_REQUESTS_WITHOUT_ALLOW).",
        ),
    ] = False,
) -> None:
    """Simulate a scenario: 503/504 rates, latency, replicas over time and cost, with 95 % CIs."""
    if seeds is not None and seed is not None:
        raise typer.BadParameter("give --seeds N or --seed S, not both", param_hint="--seed")
    if (requests or csv) and out is None:
        raise typer.BadParameter("--requests and --csv need --out DIR", param_hint="--requests")
    if requests is False and csv:
        raise typer.BadParameter("--csv writes the per-request table", param_hint="--no-requests")
    if not file.exists():
        raise PlannerError(f"scenario file not found: {file}")
    if not file.is_file():
        raise PlannerError(f"scenario path is not a file: {file}")
    # The per-request table is written with --out unless --no-requests; --csv writes it as CSV.
    requests = out is not None and requests is not False

    from planner.budget import check_work, estimate_requests
    from planner.metrics import summarise
    from planner.recommend.insights import describe, explain_results, replica_ceiling
    from planner.scenario import load_scenario
    from planner.simulate import run

    scenario = with_warnings(lambda: load_scenario(file))
    runs = 1 if seed is not None else len(scenario.seeds) if seeds is None else seeds
    check_work(requests_per_run=estimate_requests(scenario), runs=runs, allow_large=allow_large)
    seed_list = choose_seeds(scenario.seeds, n=seeds, one=seed)
    if out is not None:
        check_output_dir(out, "--out")
    if html is not None:
        check_output_file(html, "--html")
    with_warnings(lambda: warn_one_replication(seed_list, "--seeds N"))
    workers = processes or max(1, min(len(seed_list), os.cpu_count() or 1))
    show_progress = not no_progress and stdout_is_terminal()
    results = with_warnings(
        lambda: run(
            scenario,
            seed_list,
            keep_requests=requests,
            processes=workers,
            progress=show_progress,
            engine=engine.value,
        )
    )
    summary = summarise(results, scenario.slo)
    why = describe(explain_results(results), max_replicas=replica_ceiling(scenario))
    payload = {
        "scenario": scenario.name,
        "file": str(file),
        "reps": len(seed_list),
        "seeds": list(seed_list),
        **summary.to_json_dict(),
        "why_503": why,
    }
    written: list[Path] = []
    if out is not None or html is not None:
        written = _write_outputs(scenario, results, summary, payload, out, html, requests, csv)
    if written:
        payload["files"] = [str(p) for p in written]

    if output_format is TableOrJson.json:
        typer.echo(json.dumps(json_safe(payload), indent=2))
        return
    _print_report(scenario, seed_list, summary, why, written)


def _timeline_figure(scenario: Scenario, results: Any) -> Any:
    """The stacked timeline figure of a run (mean over reps with a band when there are several)."""
    from planner.report import plot_timeline

    dep = scenario.deployment
    fixed = dep.autoscaler == "none"
    axes = plot_timeline(
        results.timeline,
        min_replicas=None if fixed else dep.min_replicas,
        max_replicas=None if fixed else dep.max_replicas,
        warmup_s=scenario.warmup_s or None,
        title=f"{scenario.name}: {dep.autoscaler} autoscaler",
    )
    return axes[0].figure


def _write_outputs(
    scenario: Scenario,
    results: Any,
    summary: Any,
    payload: dict[str, Any],
    out: Path | None,
    html: Path | None,
    requests: bool,
    csv: bool,
) -> list[Path]:
    """Write the --out files and the --html page; return the paths written."""
    import matplotlib.pyplot as plt

    from planner.report import save_figure, summary_frame, write_html
    from planner.scenario import scenario_to_dict

    written: list[Path] = []
    fig = _timeline_figure(scenario, results)
    try:
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            results.timeline.to_csv(out / "timeline.csv", index=False)
            results.summary.to_csv(out / "summary.csv", index=False)
            (out / "summary.json").write_text(
                json.dumps(json_safe(payload), indent=2) + "\n", encoding="utf-8"
            )
            written += [out / "timeline.csv", out / "summary.csv", out / "summary.json"]
            if requests and results.requests is not None:
                if csv:
                    results.requests.to_csv(out / "requests.csv", index=False)
                    written.append(out / "requests.csv")
                else:
                    results.requests.to_parquet(out / "requests.parquet", index=False)
                    written.append(out / "requests.parquet")
            written.append(save_figure(fig, out / "timeline.png"))
        if html is not None:
            sections: list[tuple[str, Any]] = [
                ("Summary", [_run_line(payload), summary_frame(summary), _verdict(summary)]),
                ("Why the 503s", "\n\n".join(payload["why_503"])),
                ("Timeline", fig),
                ("Replications", results.summary),
                ("Scenario settings", scenario_to_dict(scenario)),
            ]
            title = f"planner simulate: {scenario.name} ({payload['reps']} reps)"
            written.append(write_html(html, title=title, sections=sections))
    finally:
        plt.close(fig)
    return written


def _run_line(payload: dict[str, Any]) -> str:
    """Which file and seeds the report is about."""
    seeds = ", ".join(str(s) for s in payload["seeds"])
    return f"Scenario file {payload['file']}; {payload['reps']} replication(s), seeds {seeds}."


def _verdict(summary: Any) -> str:
    """The SLO verdict line of the report."""
    from planner.report import slo_verdict

    return slo_verdict(summary)


def _print_report(
    scenario: Scenario,
    seed_list: tuple[int, ...],
    summary: Any,
    why: list[str],
    written: list[Path],
) -> None:
    """The human output: a heading, the summary table with CIs, why the 503s, files written."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from planner.report import summary_table

    console = Console(highlight=False)
    dep = scenario.deployment
    scaling = (
        "fixed replicas"
        if dep.autoscaler == "none"
        else f"{dep.autoscaler} autoscaler {dep.min_replicas}..{dep.max_replicas} replicas, "
        f"target {dep.target_utilization:.0%}"
    )
    reps = len(seed_list)
    console.print(
        f"[bold]{escape(scenario.name)}[/bold]: {scenario.duration_s:g} s simulated, "
        f"{scenario.warmup_s:g} s warm-up excluded, {reps} replication{'s' if reps != 1 else ''}; "
        f"{scaling}"
    )
    console.print(summary_table(summary, title="Results"))  # escapes what it shows
    console.print("[bold]Why the 503s[/bold]")
    bullets = Table.grid(padding=(0, 1))
    bullets.add_column(width=1)
    bullets.add_column()
    for line in why:
        bullets.add_row("•", escape(line))
    console.print(bullets)
    if written:
        console.print(escape("Wrote " + ", ".join(str(p) for p in written)))
