"""`planner fit LOGS --out scenario.yaml`: a scenario from a production request log."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from planner.cli._app import app, handles_errors
from planner.cli._common import TableOrJson, json_safe, with_warnings

if TYPE_CHECKING:
    from planner.fit import Columns, LogFit


class Preset(StrEnum):
    """Known log layouts (planner.fit.presets)."""

    appinsights = "appinsights"
    locust = "locust"
    azure_llm = "azure-llm"


class DurationUnit(StrEnum):
    """Unit of the duration column."""

    ms = "ms"
    s = "s"


PresetOpt = Annotated[
    Preset | None,
    typer.Option(
        "--preset",
        help="Column layout: appinsights (requests export), locust (loadtests/locustfile.py "
        "--requests-csv), azure-llm (Azure public LLM trace; request time from tokens).",
    ),
]
TimestampOpt = Annotated[
    str | None, typer.Option("--timestamp", help="Arrival time column (ISO 8601 or seconds).")
]
DurationOpt = Annotated[str | None, typer.Option("--duration", help="Request time column.")]
UnitOpt = Annotated[
    DurationUnit | None, typer.Option("--duration-unit", help="Unit of --duration (default ms).")
]
StatusOpt = Annotated[str | None, typer.Option("--status", help="HTTP status column.")]
InstanceOpt = Annotated[
    str | None, typer.Option("--instance", help="Serving instance (replica) column.")
]
ContextOpt = Annotated[
    float | None,
    typer.Option(
        "--per-context-token-s",
        min=0,
        help="azure-llm: seconds per prompt token (default 0.0002, an illustrative assumption).",
    ),
]
GeneratedOpt = Annotated[
    float | None,
    typer.Option(
        "--per-generated-token-s",
        min=0,
        help="azure-llm: seconds per generated token (default 0.03, an illustrative assumption).",
    ),
]
SortOpt = Annotated[
    bool, typer.Option("--sort", help="Sort the log by time instead of refusing it.")
]


def columns_from_options(
    preset: Preset | None,
    timestamp: str | None,
    duration: str | None,
    duration_unit: DurationUnit | None,
    status: str | None,
    instance: str | None,
    per_context_token_s: float | None,
    per_generated_token_s: float | None,
) -> Columns:
    """The column layout: the preset's, with any column named by an option replacing it."""
    from dataclasses import replace

    from planner.fit import PRESETS, Columns

    if preset is None:
        if timestamp is None or duration is None:
            raise typer.BadParameter(
                "give --preset, or at least --timestamp COL and --duration COL",
                param_hint="--preset",
            )
        base = Columns(timestamp=timestamp, duration=duration)
    else:
        base = PRESETS[preset.value]
    changes: dict[str, Any] = {}
    for key, value in (("timestamp", timestamp), ("status", status), ("instance", instance)):
        if value is not None:
            changes[key] = value
    if duration is not None:
        changes["duration"], changes["tokens"] = duration, None
    if duration_unit is not None:
        changes["duration_unit"] = duration_unit.value
    cols = replace(base, **changes)
    if per_context_token_s is not None or per_generated_token_s is not None:
        if cols.tokens is None:
            raise typer.BadParameter(
                "token times apply to --preset azure-llm", param_hint="--per-context-token-s"
            )
        tokens = cols.tokens
        if per_context_token_s is not None:
            tokens = replace(tokens, per_context_token_s=per_context_token_s)
        if per_generated_token_s is not None:
            tokens = replace(tokens, per_generated_token_s=per_generated_token_s)
        cols = replace(cols, tokens=tokens)
    return cols


@app.command()
@handles_errors
def fit(
    logs: Annotated[Path, typer.Argument(help="Request log: CSV, JSON Lines or Parquet.")],
    out: Annotated[
        Path,
        typer.Option("--out", help="Scenario YAML to write (trace and samples files beside it)."),
    ],
    preset: PresetOpt = None,
    timestamp: TimestampOpt = None,
    duration: DurationOpt = None,
    duration_unit: UnitOpt = None,
    status: StatusOpt = None,
    instance: InstanceOpt = None,
    per_context_token_s: ContextOpt = None,
    per_generated_token_s: GeneratedOpt = None,
    smooth: Annotated[
        bool,
        typer.Option(
            "--smooth",
            help="Fit constant-rate phases to the per-second rate (binary segmentation) "
            "instead of replaying the arrivals: a pattern to edit for what-ifs.",
        ),
    ] = False,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write a QQ plot of the request-time fit.")
    ] = None,
    sort: SortOpt = False,
    output_format: Annotated[
        TableOrJson, typer.Option("--format", help="A readable summary, or one JSON object.")
    ] = TableOrJson.table,
) -> None:
    """Fit a scenario to a request log: its arrivals, request times, statuses and replicas."""
    from planner.fit import LogSummary, fit_log, open_log, write_scenario
    from planner.scenario import load_scenario

    cols = columns_from_options(
        preset, timestamp, duration, duration_unit, status, instance,
        per_context_token_s, per_generated_token_s,
    )  # fmt: skip
    name = out.name.removesuffix(".yaml").removesuffix(".yml")
    # A long log's arrivals stream straight into the trace file the scenario reads, so
    # write_scenario has no copy to make; a short log or a --smooth fit leaves none there.
    trace = out.with_name(f"{name}.arrivals.npy")
    log = open_log(logs, cols, sort=sort, trace_path=trace)
    streamed = isinstance(log, LogSummary)
    try:
        result = fit_log(log, name=name, smooth=smooth)
        written = write_scenario(result, out)
    except BaseException:
        if streamed:
            trace.unlink(missing_ok=True)
        raise
    if streamed and trace not in written:
        trace.unlink(missing_ok=True)
    # What was written must load (a ScenarioError here would be a bug); doubtful settings warn.
    with_warnings(lambda: load_scenario(out))
    if plot is not None:
        written.append(_write_plot(result, plot))
    payload = {**result.to_json_dict(), "files": [str(p) for p in written]}
    if output_format is TableOrJson.json:
        typer.echo(json.dumps(json_safe(payload), indent=2))
        return
    _print(result, written)


def _write_plot(result: LogFit, path: Path) -> Path:
    import matplotlib.pyplot as plt

    from planner.fit.plot import plot_qq
    from planner.report import save_figure

    ax = plot_qq(result.request_time)
    try:
        return save_figure(ax.figure, path)
    finally:
        plt.close(ax.figure)


def _print(result: LogFit, written: list[Path]) -> None:
    rt = result.request_time
    log = result.log
    lines = [
        f"{log.requests} requests over {result.duration_s:g} s: {result.mean_rps:.4g} rps mean, "
        f"busiest second {int(result.counts.max())} requests"
        + ("" if log.start is None else f" (from {log.start.isoformat()})"),
        f"request time: mean {rt.mean_s:.4g} s (fitted {rt.fitted_mean_s:.4g} s); {rt.reason}",
    ]
    for c in rt.candidates:
        lines.append(f"  {c.family:<9} KS distance {c.ks_distance:.4f}   AIC {c.aic:.6g}")
    lines.append(f"offered load: {result.offered_load:.4g} busy replicas on average")
    if result.phases is not None:
        lines.append(f"traffic: {len(result.phases)} phases (binary segmentation of the rate)")
    else:
        lines.append("traffic: the logged arrivals, replayed exactly")
    if result.statuses is not None:
        mix = ", ".join(f"{k} {v:.2%}" for k, v in result.statuses.items())
        lines.append(f"status mix: {mix}")
    if "instances" in result.per_minute:
        inst = result.per_minute["instances"]
        lines.append(f"instances per minute: {int(inst.min())}..{int(inst.max())}")
    cold = result.cold_start
    lines.append(
        "cold start: " + ("" if cold.seconds is None else f"~{cold.seconds:.3g} s, ") + cold.how
    )
    lines.append("Wrote " + ", ".join(str(p) for p in written))
    for line in lines:
        typer.echo(line)
