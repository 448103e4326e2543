"""`planner recommend`: replicas and autoscale settings from closed forms, in under a second.

The command parses and validates options, makes one library call
(`planner.recommend.closed_form.closed_form_recommendation`) and renders the result as a
table, JSON or YAML. Heavy libraries are never imported here (the answer must come back fast).
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from planner import defaults
from planner.cli import _recommend_options as opt
from planner.cli._app import aliased, app, handles_errors
from planner.formulas import MAX_SERVERS, service_quantile_s
from planner.recommend.closed_form import (
    LATENCY_QUANTILE,
)

if TYPE_CHECKING:
    from planner.recommend.closed_form import Recommendation


class OutputFormat(StrEnum):
    """How to print the recommendation."""

    table = "table"
    json = "json"
    yaml = "yaml"
    azureml_v1 = "azureml-v1"
    azureml_v1_json = "azureml-v1-json"
    azureml_v2 = "azureml-v2"
    hpa = "hpa"


def _render_export(data: dict[str, Any], output_format: OutputFormat) -> None:
    """Print the recommended settings as ready-to-paste deployment configuration."""
    from planner.export import from_recommendation, notes, render

    settings = from_recommendation(data)
    typer.echo(render(settings, output_format.value), nl=False)
    if output_format is OutputFormat.azureml_v1_json:  # JSON holds no comments
        for note in notes(settings, output_format.value):
            typer.echo(f"note (deploymentconfig.json): {note}", err=True)


_PEAK = "'--peak-rps'"
# The scenario schema's defaults, from planner.defaults (the schema module imports numpy and
# `planner recommend` must start light).
_TARGET_UTILIZATION = defaults.TARGET_UTILIZATION
_MAX_REQUEST_WAIT_S = defaults.MAX_REQUEST_WAIT_S
_MAX_RATE_503 = defaults.MAX_RATE_503
_COLD_START_S = defaults.COLD_START_S
HELP = (
    "Replicas and min/max/target autoscale settings from Azure ML's formula and queueing "
    "theory.\n\n"
    "Prints the formula's replica count; what an M/M/c queue with the router's wait limit "
    "says about waits and 503s at that size; how large a sudden spike the warm replicas "
    "absorb; and recommended min_replicas, max_replicas and target utilization, each with "
    "its reason. Assumes Poisson arrivals and one request-time shape for every figure: "
    "exponential (Erlang C) unless --request-time-scv says otherwise; the p99 is the response "
    "time (queue wait + request time) of served requests."
)
EPILOG = (
    "Example: [bold]planner recommend --rps 20[/bold] gives Azure ML's documented example, "
    "20 rps × 10 s / 0.7 / 1 → 286 replicas. Add [bold]--peak-rps 60[/bold] to size the warm "
    "pool for a spike, [bold]--format json[/bold] for machines "
    "(feed it to [bold]planner export --from-json[/bold])."
)


ALIASES = {
    "--request-time": "--request-time-s",
    "--target-util": "--target-utilization",
    "--max-wait": "--max-request-wait-s",
    "--slo-503": "--max-rate-503",
    "--latency-p99": "--latency-p99-s",
    "--spike-duration": "--spike-duration-s",
    "--cold-start": "--cold-start-s",
}


@app.command(help=HELP, epilog=EPILOG, cls=aliased(ALIASES))
@handles_errors
def recommend(
    rps: Annotated[
        float | None,
        typer.Option(
            "--rps",
            help="Steady request rate, requests per second (required unless --scenario).",
            callback=opt.optional_positive,
            show_default=False,
        ),
    ] = None,
    request_time: Annotated[
        float,
        typer.Option(
            "--request-time-s",
            help="Mean time one request takes on a replica, seconds.",
            callback=opt.request_time,
        ),
    ] = 10.0,
    request_time_scv: Annotated[
        float,
        typer.Option(
            "--request-time-scv",
            help="Variability of the request time: its squared coefficient of variation "
            "(1 = exponential, as Erlang C assumes; 0 = constant; others: gamma, through the "
            "Kingman / Allen-Cunneen approximation). Every figure uses it.",
            callback=opt.scv,
        ),
    ] = 1.0,
    max_concurrent: Annotated[
        int,
        typer.Option(
            "--max-concurrent",
            help="Requests one replica serves at once (Azure ML max_concurrent_requests).",
            callback=opt.concurrency,
        ),
    ] = 1,
    target_util: Annotated[
        float,
        typer.Option(
            "--target-utilization",
            help="Autoscale target utilization, a fraction in (0, 1].",
            callback=opt.fraction_target,
        ),
    ] = _TARGET_UTILIZATION,
    max_wait: Annotated[
        float,
        typer.Option(
            "--max-request-wait-s",
            help="Router queue wait before a 503 (max_request_wait_time), seconds; 0 = no queue.",
            callback=opt.max_wait,
        ),
    ] = _MAX_REQUEST_WAIT_S,
    peak_rps: Annotated[
        float | None,
        typer.Option(
            "--peak-rps",
            help="Spike the warm pool must carry, rps (>= --rps). \\[default: --rps]",
            callback=opt.optional_positive,
            show_default=False,
        ),
    ] = None,
    slo_503: Annotated[
        float,
        typer.Option(
            "--max-rate-503",
            help="Largest acceptable fraction of 503s, in (0, 1) (0.001 = 0.1 %).",
            callback=opt.fraction_slo,
        ),
    ] = _MAX_RATE_503,
    latency_p99: Annotated[
        float | None,
        typer.Option(
            "--latency-p99-s",
            help="Target p99 latency (queue wait + request time), seconds. \\[default: none]",
            callback=opt.optional_positive,
            show_default=False,
        ),
    ] = None,
    output_format: Annotated[
        OutputFormat,
        typer.Option(
            "--format",
            help="table for people, json or yaml for tools, or deployment configuration: "
            "azureml-v1 (deploy_configuration arguments), azureml-v1-json, azureml-v2 "
            "(Kubernetes online deployment YAML), hpa (Kubernetes HPA YAML).",
        ),
    ] = OutputFormat.table,
    simulate: Annotated[
        bool | None,
        typer.Option(
            "--simulate/--no-simulate",
            help="Check the settings by simulating the spike and search the cheapest ones "
            "meeting the SLO. \\[default: on when --peak-rps > --rps or --scenario is given]",
            show_default=False,
        ),
    ] = None,
    spike_duration: Annotated[
        float,
        typer.Option(
            "--spike-duration-s",
            help="Seconds the spike at --peak-rps lasts (simulated search).",
            callback=opt.spike_seconds,
        ),
    ] = 60.0,
    cold_start: Annotated[
        float,
        typer.Option(
            "--cold-start-s",
            help="Seconds a new replica takes to become ready (simulated search).",
            callback=opt.simulated_seconds,
        ),
    ] = _COLD_START_S,
    scenario_file: Annotated[
        Path | None,
        typer.Option(
            "--scenario",
            metavar="SCENARIO",
            help="scenario YAML file: search the settings for its traffic, service and SLO.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    cost_per_replica_hour: Annotated[
        float | None,
        typer.Option(
            "--cost-per-replica-hour",
            help="Price of one replica for an hour; costs are then money. \\[default: none]",
            callback=opt.optional_non_negative,
            show_default=False,
        ),
    ] = None,
    seeds: Annotated[
        int | None,
        typer.Option(
            "--seeds",
            help="Replications per candidate (simulated search). \\[default: 5, or the file's]",
            callback=opt.optional_at_least_one,
            show_default=False,
        ),
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Also write an HTML report of the search.", dir_okay=False),
    ] = None,
    allow_large: Annotated[
        bool,
        typer.Option(
            "--allow-large",
            help="Search even when the estimated work (requests × candidates × seeds) is past "
            "the limit that is otherwise refused (planner.budget.MAX_REQUESTS_WITHOUT_ALLOW).",
        ),
    ] = False,
) -> None:
    """Replicas and min/max/target autoscale settings from closed forms (help text: HELP)."""
    if rps is None and scenario_file is None:
        raise typer.BadParameter("is required (or give --scenario FILE)", param_hint="'--rps'")
    if simulate is None:  # a described spike or a scenario is checked by simulation
        simulate = scenario_file is not None or (
            rps is not None and peak_rps is not None and peak_rps > rps
        )
    if scenario_file is not None and not simulate:
        raise typer.BadParameter("a scenario is always simulated", param_hint="'--no-simulate'")
    if rps is not None and peak_rps is not None and peak_rps < rps:
        raise typer.BadParameter(f"must be >= --rps ({rps:g}): {peak_rps:g}", param_hint=_PEAK)
    _check_size(rps, peak_rps, request_time, target_util)
    floor_s = service_quantile_s(request_time, request_time_scv, LATENCY_QUANTILE)
    if latency_p99 is not None and latency_p99 <= floor_s:
        message = f"must be > {floor_s:.4g} s, the request time's own p99: {latency_p99:g}"
        raise typer.BadParameter(message, param_hint="'--latency-p99-s'")
    if simulate:
        _search(
            scenario_file=scenario_file,
            spike={
                "rps": rps, "peak_rps": rps if peak_rps is None else peak_rps,
                "spike_duration_s": spike_duration,
                "request_time_s": request_time, "request_time_scv": request_time_scv,
                "max_concurrent": max_concurrent,
                "cold_start_s": cold_start, "target_utilization": target_util,
                "max_wait_s": max_wait, "max_rate_503": slo_503, "latency_p99_s": latency_p99,
            },
            seeds=seeds,
            cost_per_replica_hour=cost_per_replica_hour,
            html=html,
            output_format=output_format,
            allow_large=allow_large,
        )  # fmt: skip
        return
    assert rps is not None  # checked above: without --scenario, --rps is required
    if html is not None or cost_per_replica_hour is not None:
        flag = "'--html'" if html is not None else "'--cost-per-replica-hour'"
        raise typer.BadParameter(
            "needs the simulated search (--peak-rps or --simulate)", param_hint=flag
        )
    rec = _recommendation(
        rps=rps,
        request_time_s=request_time,
        max_concurrent=max_concurrent,
        target_utilization=target_util,
        max_wait_s=max_wait,
        peak_rps=peak_rps,
        max_rate_503=slo_503,
        latency_p99_s=latency_p99,
        request_time_scv=request_time_scv,
    )
    _render(rec, output_format)


def _check_size(
    rps: float | None, peak_rps: float | None, request_time: float, target_util: float
) -> None:
    """Refuse a load the closed forms cannot represent (more than MAX_SERVERS / 2 slots)."""
    rate, option = (peak_rps, "'--peak-rps'") if peak_rps is not None else (rps, "'--rps'")
    if rate is None:
        return
    slots = rate * request_time / target_util
    if not slots <= MAX_SERVERS / 2:
        raise typer.BadParameter(
            f"{rate:g} rps × --request-time-s {request_time:g} / --target-utilization "
            f"{target_util:g} is {slots:.3g} slots, more than the {MAX_SERVERS / 2:.0e} "
            f"the closed forms represent: {rate:g}",
            param_hint=option,
        )


def _recommendation(**options: Any) -> Recommendation:
    """The closed-form library call (the simulated search is `_search`)."""
    from planner.recommend.closed_form import closed_form_recommendation

    return closed_form_recommendation(**options)


def _search(
    *,
    scenario_file: Path | None,
    spike: dict[str, Any],
    seeds: int | None,
    cost_per_replica_hour: float | None,
    html: Path | None,
    output_format: OutputFormat,
    allow_large: bool,
) -> None:
    """Simulation-backed search: a spike from the options, or the scenario file; then render."""
    from rich.console import Console

    from planner.cli._search_render import render_search, search_html_sections, search_to_dict
    from planner.recommend.search import search_settings

    if scenario_file is not None:
        from planner.scenario import load_scenario, with_overrides

        scenario = load_scenario(scenario_file)
        if seeds is not None:
            scenario = with_overrides(scenario, {"seeds": seeds}, warn=False)
    else:
        from planner.recommend.spike import request_time_spec, spike_scenario

        options = dict(spike)
        scv = options.pop("request_time_scv")
        options["request_time_s"] = request_time_spec(options["request_time_s"], scv)
        scenario = spike_scenario(**options, seeds=5 if seeds is None else seeds)
    from planner.budget import check_work, estimate_requests
    from planner.recommend.search import DEFAULT_MAX_SIMULATIONS

    # At most DEFAULT_MAX_SIMULATIONS candidates, each over every seed.
    check_work(
        requests_per_run=estimate_requests(scenario),
        runs=DEFAULT_MAX_SIMULATIONS * len(scenario.seeds),
        allow_large=allow_large,
    )
    result = search_settings(scenario, cost_per_replica_hour=cost_per_replica_hour)
    if output_format is OutputFormat.json:
        typer.echo(json.dumps(search_to_dict(result), indent=2, ensure_ascii=False))
    elif output_format not in (OutputFormat.table, OutputFormat.yaml):
        _render_export(search_to_dict(result), output_format)
    elif output_format is OutputFormat.yaml:
        import yaml

        data = search_to_dict(result)
        typer.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), nl=False)
    else:
        render_search(result, Console(highlight=False))
    if html is not None:
        from planner.report import write_html

        title = f"planner recommend: {scenario.name}"
        path = write_html(html, title=title, sections=search_html_sections(result))
        typer.echo(f"HTML report written to {path}", err=True)


def _render(rec: Recommendation, output_format: OutputFormat) -> None:
    from planner.cli._recommend_render import print_table

    if output_format is OutputFormat.json:
        typer.echo(json.dumps(rec.to_dict(), indent=2, ensure_ascii=False))
    elif output_format is OutputFormat.yaml:
        import yaml

        typer.echo(yaml.safe_dump(rec.to_dict(), sort_keys=False, allow_unicode=True), nl=False)
    elif output_format is OutputFormat.table:
        print_table(rec)
    else:
        _render_export(rec.to_dict(), output_format)
