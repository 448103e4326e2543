"""`planner export`: chosen autoscale settings as ready-to-paste deployment configuration."""

from __future__ import annotations

import json
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from planner.cli._app import aliased, app, handles_errors
from planner.errors import PlannerError, ScenarioError
from planner.export.formats import NODE_FORMATS
from planner.export.limits import FORMATS

# Which configuration to write: every format the export package renders, and "all".
# Built from planner.export.FORMATS so a new format appears here without a CLI edit.
_MEMBERS = {name.replace("-", "_"): name for name in (*FORMATS, *NODE_FORMATS, "all")}
ExportFormat = StrEnum("ExportFormat", _MEMBERS)  # type: ignore[misc]
_DEFAULT_FORMAT = ExportFormat("azureml-v2")


class HpaMetric(StrEnum):
    """What the HPA scales on."""

    cpu = "cpu"
    concurrency = "concurrency"


FILE_NAMES = {
    "azureml-v1": "azureml_v1_deploy_config.py",
    "azureml-v1-json": "deploymentconfig.json",
    "azureml-v2": "kubernetes-online-deployment.yml",
    "hpa": "hpa.yaml",
    "aks-nodepool": "aks-nodepool.sh",
    "headroom": "headroom.yaml",
}


@app.command(cls=aliased({"--target-util": "--target-utilization"}))
@handles_errors
def export(
    scenario_file: Annotated[
        Path | None,
        typer.Argument(
            metavar="SCENARIO",
            help="scenario YAML file: its deployment/service settings are exported.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    from_json: Annotated[
        Path | None,
        typer.Option(
            "--from-json",
            help="A recommendation (`planner recommend --format json` output) to export.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    output_format: Annotated[
        ExportFormat, typer.Option("--format", help="Which configuration to write.")
    ] = _DEFAULT_FORMAT,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write files into this directory instead of stdout."),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Deployment / HPA name (DNS-1123 label).")
    ] = None,
    min_replicas: Annotated[
        int | None,
        typer.Option("--min-replicas", min=1, help="Fewest replicas (autoscale min_replicas)."),
    ] = None,
    max_replicas: Annotated[
        int | None,
        typer.Option("--max-replicas", min=1, help="Most replicas (autoscale max_replicas)."),
    ] = None,
    target_util: Annotated[
        float | None,
        typer.Option("--target-utilization", help="Target utilization, a fraction (0, 1]."),
    ] = None,
    refresh_s: Annotated[
        float | None,
        typer.Option(
            "--refresh-s", help="Seconds between autoscaler decisions (autoscale_refresh_seconds)."
        ),
    ] = None,
    max_concurrent: Annotated[
        int | None,
        typer.Option(
            "--max-concurrent",
            min=1,
            help="Requests one replica serves at once (max_concurrent_requests_per_instance).",
        ),
    ] = None,
    max_request_wait_s: Annotated[
        float | None,
        typer.Option(
            "--max-request-wait-s",
            help="Router queue wait before a 503 (max_request_wait_time), seconds.",
        ),
    ] = None,
    scoring_timeout_s: Annotated[
        float | None,
        typer.Option(
            "--scoring-timeout-s",
            help="Longest a request may run before it is cut (scoring_timeout), seconds.",
        ),
    ] = None,
    scale_down_delay_s: Annotated[
        float | None,
        typer.Option(
            "--scale-down-delay-s",
            help="Seconds the load must stay low before replicas are removed.",
        ),
    ] = None,
    cpu_cores: Annotated[
        float | None, typer.Option("--cpu-cores", help="CPU cores requested per replica.")
    ] = None,
    memory_gb: Annotated[
        float | None, typer.Option("--memory-gb", help="Memory requested per replica, GB.")
    ] = None,
    endpoint_name: Annotated[
        str | None, typer.Option("--endpoint-name", help="Azure ML endpoint name (azureml-v2).")
    ] = None,
    model_name: Annotated[
        str | None, typer.Option("--model-name", help="Registered model name (azureml-v2).")
    ] = None,
    instance_type: Annotated[
        str | None,
        typer.Option(
            "--instance-type", help="Kubernetes instance type of the compute (azureml-v2)."
        ),
    ] = None,
    namespace: Annotated[str, typer.Option("--namespace", help="HPA namespace.")] = "default",
    deployment_name: Annotated[
        str | None,
        typer.Option("--deployment-name", help="Deployment the HPA scales (default: --name)."),
    ] = None,
    metric: Annotated[
        HpaMetric,
        typer.Option("--metric", help="HPA metric: pod CPU, or per-pod in-flight requests."),
    ] = HpaMetric.cpu,
    metric_name: Annotated[
        str, typer.Option("--metric-name", help="Per-pod metric name for --metric concurrency.")
    ] = "requests_in_flight",
) -> None:
    """Write autoscale settings as Azure ML v1/v2 or Kubernetes HPA configuration.

    Settings come from a scenario file, a recommendation JSON (--from-json) or Azure ML's defaults.
    Options given override them.
    Each output states, as comments, what the target platform cannot express.
    """
    from planner.export import FORMATS, ExportSettings, from_recommendation, notes, render

    if scenario_file is not None and from_json is not None:
        raise typer.BadParameter("give a SCENARIO_FILE or --from-json, not both")
    overrides = {
        key: value
        for key, value in {
            "name": name,
            "min_replicas": min_replicas,
            "max_replicas": max_replicas,
            "target_utilization": target_util,
            "refresh_s": refresh_s,
            "max_concurrent": max_concurrent,
            "max_request_wait_s": max_request_wait_s,
            "scoring_timeout_s": scoring_timeout_s,
            "scale_down_delay_s": scale_down_delay_s,
            "cpu_cores": cpu_cores,
            "memory_gb": memory_gb,
            "endpoint_name": endpoint_name,
            "model_name": model_name,
            "instance_type": instance_type,
        }.items()
        if value is not None
    }
    nodes = None
    if scenario_file is not None:
        settings, nodes = _from_scenario_file(scenario_file, overrides)
    elif from_json is not None:
        from planner.export import nodepool_from_recommendation

        data = _read_json(from_json)
        settings = from_recommendation(data, **overrides)
        nodes = nodepool_from_recommendation(data)
    else:
        settings = _with_overrides(ExportSettings(), overrides)

    hpa_options: dict[str, Any] = {
        "deployment_name": deployment_name,
        "namespace": namespace,
        "metric": metric.value,
        "metric_name": metric_name,
    }
    if output_format.value == "all":
        # the node formats join "all" when the scenario has a nodes: block
        fmts: tuple[str, ...] = (*FORMATS, *(NODE_FORMATS if nodes is not None else ()))
    else:
        fmts = (output_format.value,)
    if any(fmt in NODE_FORMATS for fmt in fmts) and nodes is None:
        raise ScenarioError(
            f"--format {output_format.value} needs a SCENARIO with a nodes: block "
            "(or --from-json of a recommendation for one)"
        )
    texts = {
        fmt: render(settings, fmt, nodes=nodes, **(hpa_options if fmt == "hpa" else {}))
        for fmt in fmts
    }
    if out is not None:
        try:
            out.mkdir(parents=True, exist_ok=True)
            for fmt, text in texts.items():
                path = out / FILE_NAMES[fmt]
                path.write_text(text, encoding="utf-8")
                typer.echo(f"wrote {path}")
        except OSError as exc:
            raise PlannerError(f"--out {out}: cannot write: {exc.strerror or exc}") from None
    else:
        for index, (fmt, text) in enumerate(texts.items()):
            if len(texts) > 1:
                typer.echo(("\n" if index else "") + f"# ===== {fmt}: {FILE_NAMES[fmt]} =====")
            typer.echo(text, nl=False)
    if "azureml-v1-json" in texts:  # JSON cannot carry comments: its limits go to stderr
        for note in notes(settings, "azureml-v1-json"):
            typer.echo(f"note (deploymentconfig.json): {note}", err=True)


def _with_overrides(settings: Any, overrides: dict[str, Any]) -> Any:
    """`settings` with the explicit options applied (validated again)."""
    return replace(settings, **overrides) if overrides else settings


def _from_scenario_file(path: Path, overrides: dict[str, Any]) -> tuple[Any, Any]:
    """The deployment settings of a scenario file, and its node settings (None without nodes)."""
    from planner.export import from_scenario, nodepool_from_scenario
    from planner.scenario import load_scenario

    scenario = load_scenario(path)
    nodes = nodepool_from_scenario(scenario) if getattr(scenario, "nodes", None) else None
    return from_scenario(scenario, **overrides), nodes


def _read_json(path: Path) -> dict[str, Any]:
    """A JSON object from `path`, or a ScenarioError naming the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"--from-json {path}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ScenarioError(
            f"--from-json {path}: not JSON ({exc.msg} at line {exc.lineno})"
        ) from None
    if not isinstance(data, dict):
        raise ScenarioError(f"--from-json {path}: must hold a JSON object: {type(data).__name__}")
    return data
