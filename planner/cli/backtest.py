"""`planner backtest LOGS --scenario deployment.yaml`: what your settings did, what would have held."""  # noqa: E501

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from planner.cli._app import app, handles_errors
from planner.cli._common import TableOrJson, json_safe, with_warnings
from planner.cli.fit import (
    ContextOpt,
    DurationOpt,
    GeneratedOpt,
    InstanceOpt,
    PresetOpt,
    SortOpt,
    StatusOpt,
    TimestampOpt,
    UnitOpt,
    columns_from_options,
)
from planner.errors import EXIT_SLO_MISSED

if TYPE_CHECKING:
    from planner.backtest import Backtest


@app.command()
@handles_errors
def backtest(
    logs: Annotated[Path, typer.Argument(help="Request log: CSV, JSON Lines or Parquet.")],
    scenario: Annotated[
        Path,
        typer.Option(
            "--scenario",
            metavar="SCENARIO",
            help="scenario YAML file giving deployment, service and SLO (its traffic is ignored; "
            "request times come from the log unless service.request_time_s is given).",
        ),
    ],
    preset: PresetOpt = None,
    timestamp: TimestampOpt = None,
    duration: DurationOpt = None,
    duration_unit: UnitOpt = None,
    status: StatusOpt = None,
    instance: InstanceOpt = None,
    per_context_token_s: ContextOpt = None,
    per_generated_token_s: GeneratedOpt = None,
    sort: SortOpt = False,
    seeds: Annotated[
        int | None, typer.Option("--seeds", min=1, help="Replications (default: the file's).")
    ] = None,
    search: Annotated[
        bool,
        typer.Option("--search/--no-search", help="Search the settings that would have held."),
    ] = True,
    cost: Annotated[
        float | None,
        typer.Option("--cost-per-replica-hour", min=0, help="Price of a replica-hour."),
    ] = None,
    max_replicas_cap: Annotated[
        int | None, typer.Option("--max-replicas-cap", min=1, help="Largest max_replicas.")
    ] = None,
    max_simulations: Annotated[
        int | None,
        typer.Option("--max-simulations", min=1, help="Most candidate evaluations (default 80)."),
    ] = None,
    output_format: Annotated[
        TableOrJson, typer.Option("--format", help="A readable report, or one JSON object.")
    ] = TableOrJson.table,
    html: Annotated[
        Path | None, typer.Option("--html", help="Write a self-contained HTML report.")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Folder to keep the backtest scenario in (backtest.yaml, with the trace and "
            "samples it reads) and per_minute.csv.",
        ),
    ] = None,
) -> None:
    """Replay a log through your deployment; compare with what was observed; say what would have held.

    Exit code 1 when the settings you had missed the SLO on the logged traffic.
    """  # noqa: E501
    from planner.backtest import run_backtest
    from planner.cli._common import choose_seeds
    from planner.fit import open_log

    cols = columns_from_options(
        preset, timestamp, duration, duration_unit, status, instance,
        per_context_token_s, per_generated_token_s,
    )  # fmt: skip
    log = open_log(logs, cols, sort=sort)
    seed_list = None if seeds is None else choose_seeds((0,), n=seeds)
    bt = with_warnings(
        lambda: run_backtest(
            log,
            scenario,
            seeds=seed_list,
            search=search,
            cost_per_replica_hour=cost,
            max_replicas_cap=max_replicas_cap,
            max_simulations=max_simulations,
            work_dir=out,
        )
    )
    if out is not None:
        import yaml

        from planner.scenario import scenario_to_dict

        bt.per_minute.to_csv(out / "per_minute.csv", index=False)
        spec = scenario_to_dict(bt.scenario)
        (out / "backtest.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), "utf-8")
    if html is not None:
        _write_html(bt, html)
    if output_format is TableOrJson.json:
        typer.echo(json.dumps(json_safe(_payload(bt, html)), indent=2))
    else:
        _print(bt, html)
    if not bt.had_meets_slo:
        raise typer.Exit(EXIT_SLO_MISSED)


def _payload(bt: Backtest, html: Path | None) -> dict[str, object]:
    from planner.backtest.render import backtest_to_dict
    from planner.cli._search_render import search_to_dict

    found = None if bt.search is None else search_to_dict(bt.search)
    payload = backtest_to_dict(bt, found)
    if html is not None:
        payload["files"] = [str(html)]
    return payload


def _write_html(bt: Backtest, path: Path) -> None:
    import matplotlib.pyplot as plt

    from planner.backtest.render import html_sections
    from planner.report import write_html

    sections = html_sections(bt)
    try:
        write_html(path, title=f"planner backtest: {bt.scenario.name}", sections=sections)
    finally:
        plt.close("all")


def _fmt(x: object, spec: str) -> str:
    if x is None or (isinstance(x, float) and x != x):
        return "n/a"
    return format(x, spec)


def _print(bt: Backtest, html: Path | None) -> None:
    from rich.console import Console
    from rich.table import Table

    from planner.backtest.render import settings_frame

    console = Console(highlight=False)
    fit = bt.fit
    console.print(
        f"[bold]{bt.scenario.name}[/bold]: {fit.log.requests} logged requests over "
        f"{fit.duration_s:g} s replayed through {bt.scenario.deployment.autoscaler}, "
        f"{len(bt.scenario.seeds)} seed(s); request time "
        + (
            f"fitted from the log ({fit.request_time.reason})"
            if bt.request_time_from_log
            else "from the scenario file"
        )
    )
    table = Table(title="What you had / what would have held / what it costs")
    for col in ("", "min", "max", "target", "503 rate (upper)", "p99 s (upper)", "peak",
                "replica-h", "cost", "SLO"):  # fmt: skip
        table.add_column(col)
    for r in settings_frame(bt).to_dict("records"):
        table.add_row(
            str(r["settings"]),
            str(r["min_replicas"]),
            str(r["max_replicas"]),
            f"{r['target_utilization']:.0%}",
            f"{_fmt(r['rate_503'], '.2%')} ({_fmt(r['rate_503_upper'], '.2%')})",
            f"{_fmt(r['latency_p99_s'], '.3f')} ({_fmt(r['latency_p99_upper_s'], '.3f')})",
            _fmt(r["peak_replicas"], ".0f"),
            _fmt(r["replica_hours"], ".2f"),
            _fmt(r["cost"], ".2f"),
            "met" if r["meets_slo"] else "missed",
        )
    console.print(table)
    for reason in bt.had.reasons:
        console.print(f"what you had: {reason}")
    if bt.search_note:
        console.print(bt.search_note)
    if bt.validation is not None:
        v = bt.validation
        console.print(
            "observed vs simulated: "
            + ("the simulation reproduces the log" if v.agrees_with_prediction else "differs")
        )
        for name, check in v.checks.items():
            console.print(
                f"  {name}: observed {_fmt(check.measured, '.4g')}, simulated "
                f"{_fmt(check.predicted, '.4g')}, band {_fmt(check.band[0], '.4g')} – "
                f"{_fmt(check.band[1], '.4g')}"
            )
        for reason in v.reasons:
            console.print(f"  {reason}")
        for note in v.notes:
            console.print(f"  note: {note}")
    else:
        console.print("observed vs simulated: the log has no status or latency to compare")
    if html is not None:
        console.print(f"Wrote {html}")
