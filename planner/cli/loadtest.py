"""`planner loadtest FILE`: drive a deployment with the scenario's traffic, check the prediction."""

from __future__ import annotations

import difflib
import json
import math
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from planner.cli._app import app, handles_errors
from planner.cli._common import TableOrJson, json_safe, with_warnings
from planner.cli._loadtest_render import columns, print_table, rows
from planner.errors import PlannerError

if TYPE_CHECKING:
    from planner.loadtest.compare import Validation
    from planner.loadtest.verdict import Tolerance
    from planner.scenario import Scenario

T = TypeVar("T")
DEFAULT_OUT = Path(".planner") / "loadtest"


@app.command()
@handles_errors
def loadtest(
    file: Annotated[
        Path,
        typer.Argument(metavar="SCENARIO", help="scenario YAML file: traffic, deployment, SLO."),
    ],
    host: Annotated[
        str | None,
        typer.Option(
            "--host", help="Endpoint base URL (https://...); default: a local deployment."
        ),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option("--key", envvar="PLANNER_KEY", help="Sent as 'Authorization: Bearer KEY'."),
    ] = None,
    deployment_name: Annotated[
        str | None,
        typer.Option(
            "--deployment-name",
            envvar="AZUREML_MODEL_DEPLOYMENT",
            help="Sent as header 'azureml-model-deployment' (Azure ML v2 endpoints).",
        ),
    ] = None,
    score: Annotated[
        Path | None,
        typer.Option(
            "--score",
            help="Your score.py (default: an example that sleeps the service time).",
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Locust worker processes sending requests.")
    ] = 1,
    seeds: Annotated[
        int | None,
        typer.Option(
            "--seeds",
            min=3,
            help="Simulated replications: the sent seed (its paired prediction) and the others "
            "for the band's spread (default: the file's seeds, at least 3).",
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option("--seed", min=0, help="Seed of the arrival sample (default: the first seed)."),
    ] = None,
    tolerance: Annotated[
        list[str] | None,
        typer.Option(
            "--tolerance",
            help="NAME=VALUE, repeatable: rate_503_slo_fraction (0.5: the 503 allowance is "
            "half of slo.max_rate_503), replicas (1: the /stats polling resolution).",
        ),
    ] = None,
    out: Annotated[
        Path,
        typer.Option("--out", help="Directory for locust's CSVs, validation.json and plots."),
    ] = DEFAULT_OUT,
    html: Annotated[
        Path | None, typer.Option("--html", help="Write a self-contained HTML report here.")
    ] = None,
    output_format: Annotated[
        TableOrJson, typer.Option("--format", help="A readable table, or one JSON object.")
    ] = TableOrJson.table,
    score_path: Annotated[
        str, typer.Option("--score-path", help="Path the requests are posted to.")
    ] = "/score",
    body: Annotated[
        str | None,
        typer.Option("--body", help='JSON body of each request (default: {"data": \\[0]}).'),
    ] = None,
    max_in_flight: Annotated[
        int,
        typer.Option("--max-in-flight", min=1, help="Abort past this many open requests."),
    ] = 1000,
    timeout_s: Annotated[
        float | None,
        typer.Option(
            "--timeout-s",
            min=1.0,
            help="Stop locust after this many seconds (default: the scenario length + a margin).",
        ),
    ] = None,
    calibrate: Annotated[
        bool,
        typer.Option(
            "--calibrate/--no-calibrate",
            help="Local deployment: judge against a second simulation with the measured replica "
            "start and request times (the as-specified one is shown beside it).",
        ),
    ] = True,
) -> None:
    """Load-test the scenario with Locust and compare the measurement with the simulation.

    Without --host, SCORE runs as a local deployment with the scenario's autoscaler on 127.0.0.1 (stopped afterwards). With --host and --key the same Locust users target a real endpoint (replicas over time are then unknown).

    The measurement is compared with the paired prediction (the simulated seed whose arrivals were sent), metric by metric and two-sided: the band is the other seeds' spread plus one stated allowance (the measured per-request overhead for latencies, a fraction of the SLO for the 503 rate).

    Exit 0 when the SLO is met (the measurement's upper 95 % bounds) and every metric agrees with the prediction; 1 otherwise, with the reasons; 2 for bad input; 3 when the deployment or Locust failed.
    """  # noqa: E501  (typer rewraps help paragraphs; one line each keeps them readable)
    if host is not None and not host.startswith(("http://", "https://")):
        raise typer.BadParameter(
            f"must start with http:// or https://: {host}", param_hint="--host"
        )
    if host is not None and score is not None:
        raise typer.BadParameter(
            "--score runs a local deployment; drop --host", param_hint="--score"
        )
    if body is not None:
        try:
            json.loads(body)
        except json.JSONDecodeError as exc:
            raise typer.BadParameter(f"not JSON ({exc.msg}): {body}", param_hint="--body") from None
    tol = _tolerance(tolerance or [])
    if not file.is_file():
        raise PlannerError(f"scenario file not found: {file}")
    if score is not None and not score.is_file():
        raise PlannerError(f"--score file not found: {score}")

    from planner.loadtest.judge import exit_code, judge, predict, prediction_seeds
    from planner.loadtest.run import measure
    from planner.scenario import load_scenario

    scenario = with_warnings(lambda: load_scenario(file))
    seed_list = prediction_seeds(scenario.seeds, n=seeds, seed=seed)
    predicted = with_warnings(lambda: predict(scenario, seed_list))
    measured = measure(
        file, scenario, out_dir=out, host=host, score=score, key=key,
        deployment_name=deployment_name, workers=workers, seed=seed_list[0], body=body,
        score_path=score_path, max_in_flight=max_in_flight, timeout_s=timeout_s,
    )  # fmt: skip
    validation = with_warnings(
        lambda: judge(scenario, seed_list, measured, predicted, tol, calibrate=calibrate)
    )
    payload = {
        "scenario": scenario.name,
        "file": str(file),
        "host": host or "local deployment",
        "seeds": list(seed_list),
        **validation.to_json_dict(),
    }
    if measured.platform is not None and measured.platform.nodes is not None:
        payload["nodes"] = measured.platform.nodes  # the local node pool: phases per replica
    payload["files"] = [str(p) for p in _write_outputs(scenario, validation, payload, out, html)]
    if output_format is TableOrJson.json:
        typer.echo(json.dumps(json_safe(payload), indent=2))
    else:
        print_table(scenario, validation, payload["files"])
    code = exit_code(validation)
    if code:
        for reason in validation.reasons:
            typer.echo(f"FAILED: {reason}", err=True)
        raise typer.Exit(code)


def _tolerance(items: list[str]) -> Tolerance:
    """Parse --tolerance NAME=VALUE items into a Tolerance."""
    from planner.loadtest.verdict import Tolerance

    names = [f.name for f in fields(Tolerance)]
    values: dict[str, float] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in names:
            near = difflib.get_close_matches(name, names, n=1)
            hint = f" (did you mean '{near[0]}'?)" if near else f" (one of {', '.join(names)})"
            raise typer.BadParameter(f"expected NAME=VALUE{hint}: {item}", param_hint="--tolerance")
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value >= 0):
            raise typer.BadParameter(
                f"{name} must be a number >= 0: {text}", param_hint="--tolerance"
            )
        values[name] = value
    return Tolerance(**values)


def _write_outputs(
    scenario: Scenario,
    validation: Validation,
    payload: dict[str, Any],
    out: Path,
    html: Path | None,
) -> list[Path]:
    """validation.json, per_second.csv, replicas.csv, validation.png in --out; the HTML page."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from planner.loadtest.timeline import plot_validation
    from planner.report import save_figure, write_html

    out.mkdir(parents=True, exist_ok=True)
    written = [out / "validation.json", out / "per_second.csv"]
    written[0].write_text(json.dumps(json_safe(payload), indent=2), encoding="utf-8")
    validation.per_second.to_csv(written[1], index=False)
    if validation.replicas is not None:
        validation.replicas.to_csv(out / "replicas.csv", index=False)
        written.append(out / "replicas.csv")
    title = f"{scenario.name}: measured vs predicted"
    if validation.calibration is not None:
        title += f"\n{validation.calibration.label}"
    axes = plot_validation(validation, title=title)
    figure = axes[0].figure
    written.append(save_figure(figure, out / "validation.png"))
    if html is not None:
        import pandas as pd

        table = pd.DataFrame(rows(validation), columns=list(columns(validation)))
        verdict = "PASSED" if validation.ok else "FAILED: " + "; ".join(validation.reasons)
        written.append(
            write_html(
                html,
                title=f"planner loadtest: {scenario.name}",
                sections=[
                    ("Verdict", verdict),
                    ("Predicted vs measured", table),
                    ("Over time", figure),
                    ("Counts", validation.counts),
                    ("Notes", "\n\n".join(validation.notes) or "none"),
                ],
            )
        )
    plt.close(figure)
    return written
