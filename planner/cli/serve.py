"""`planner serve SCORE.PY` and `planner logs`: a score.py as a local Azure ML deployment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from planner.cli._app import aliased, app, handles_errors
from planner.errors import ScenarioError
from planner.serve.config import DEFAULT_LOG_DIR


@app.command(cls=aliased({"--config": "--scenario"}))
@handles_errors
def serve(
    score: Annotated[Path, typer.Argument(help="The scoring script: defines init() and run().")],
    config: Annotated[
        Path | None,
        typer.Option(
            "--scenario",
            metavar="SCENARIO",
            help="scenario YAML file, or any YAML with `deployment:` and `service:` blocks.",
        ),
    ] = None,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Router port.")] = 8890,
    host: Annotated[
        str, typer.Option("--host", help="Address to bind; only this machine by default.")
    ] = "127.0.0.1",
    log_dir: Annotated[
        Path,
        typer.Option("--log-dir", help="Replica logs (cleared at start; read by `planner logs`)."),
    ] = DEFAULT_LOG_DIR,
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            envvar="PLANNER_KEY",
            show_envvar=True,
            help="Require `Authorization: Bearer KEY` on every endpoint but liveness.",
        ),
    ] = None,
    key_file: Annotated[
        Path | None,
        typer.Option("--key-file", help="Read the key from this file (keeps it off `ps`)."),
    ] = None,
    runtime: Annotated[
        str,
        typer.Option(
            "--runtime",
            help="azureml: Azure ML's inference server in each replica; builtin: a light one.",
        ),
    ] = "azureml",
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            help="A model file or folder, or NAME=PATH (repeatable); under AZUREML_MODEL_DIR.",
        ),
    ] = None,
    reload: Annotated[
        bool,
        typer.Option("--reload", help="Roll the replicas when score.py or a model changes."),
    ] = False,
    debug_errors: Annotated[
        bool,
        typer.Option("--debug-errors", help="Put run()'s exception text in error bodies."),
    ] = False,
    seed: Annotated[
        int, typer.Option("--seed", min=0, help="Seed for sampled cold starts and node times.")
    ] = 0,
    backoff_base_s: Annotated[
        float,
        typer.Option("--backoff-base-s", min=0.0, help="First CrashLoopBackOff delay (doubles)."),
    ] = 10.0,
    backoff_cap_s: Annotated[
        float, typer.Option("--backoff-cap-s", min=0.0, help="Longest CrashLoopBackOff delay.")
    ] = 300.0,
) -> None:
    """Run SCORE as a local deployment: a router on --host:--port and replica processes.

    Each replica runs SCORE inside Azure ML's own inference server (--runtime azureml, the default) with the --model files under AZUREML_MODEL_DIR. Azure ML router semantics: POST /score waits in a FIFO queue; 503 after max_request_wait_s, 504 after scoring_timeout_s, 502 when run() raises or a replica dies. A failing init() is retried with CrashLoopBackOff. The config's autoscaler scales real replica processes. With a `nodes:` block, a replica that does not fit on the Ready nodes waits (pending) for the cluster autoscaler's new node and its image pull before its process starts.

    GET /stats shows replicas, queue and counts. Replica logs go to --log-dir (default ./.planner/serve-logs; see `planner logs`). Error bodies are generic unless --debug-errors. Ctrl-C drains and stops everything.
    """  # noqa: E501  (typer rewraps help paragraphs; one line each keeps them readable)
    from planner.serve.config import (
        ServeConfig,
        check_key,
        check_runtime,
        check_score_path,
        load_serve_settings,
    )
    from planner.serve.logs import clear_logs
    from planner.serve.models import parse_models
    from planner.serve.router import run_router

    score_path = check_score_path(score)
    check_runtime(runtime)
    if key is None and "PLANNER_KEY" in os.environ:
        # typer treats an empty variable as unset; an empty key must be refused, not ignored
        key = os.environ["PLANNER_KEY"]
    if key_file is not None:
        try:
            key = key_file.read_text().strip()
        except OSError as exc:
            raise ScenarioError(f"--key-file {key_file}: cannot read it ({exc.strerror})") from None
    key = check_key(key)
    models = parse_models(model)
    deployment, service, nodes = load_serve_settings(config)
    clear_logs(log_dir)
    serve_config = ServeConfig(
        score_path=score_path,
        deployment=deployment,
        service=service,
        nodes=nodes,
        host=host,
        port=port,
        log_dir=log_dir.resolve(),
        key=key,
        seed=seed,
        backoff_base_s=backoff_base_s,
        backoff_cap_s=backoff_cap_s,
        runtime=runtime,
        models=tuple(models.items()),
        debug_errors=debug_errors,
    )
    watchers = []

    def start_watcher(url: str) -> None:
        from planner.serve.watch import Watcher

        watcher = Watcher(url, score_path, models, key=key)
        watcher.start()
        watchers.append(watcher)

    status = run_router(serve_config, on_ready=start_watcher if reload else None)
    for watcher in watchers:
        watcher.stopped.set()
    raise typer.Exit(status)


@app.command()
@handles_errors
def logs(
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines until Ctrl-C.")
    ] = False,
    replica: Annotated[
        int | None, typer.Option("--replica", min=0, help="Only this replica's log.")
    ] = None,
    log_dir: Annotated[
        Path, typer.Option("--log-dir", help="The --log-dir given to `planner serve`.")
    ] = DEFAULT_LOG_DIR,
) -> None:
    """Show the replica logs of the last `planner serve` (default dir ./.planner/serve-logs)."""
    from planner.serve.logs import follow_logs, read_logs

    lines = follow_logs(log_dir, replica) if follow else read_logs(log_dir, replica)
    for line in lines:
        typer.echo(line)
