"""Run the Locust load test of a scenario in a subprocess and read what it measured.

Locust never enters this process: importing it monkey-patches the interpreter with gevent.
`run_locust` starts `python -m locust -f loadtests/locustfile.py --headless --csv ...` with the
scenario in the environment, streams a progress line to stderr, bounds the run by a timeout
and reads the per-request CSV (and locust's own `*_stats.csv` and `*_stats_history.csv`) into
a `planner.loadtest.compare.Measurement`. `measure` adds the local deployment: with no host it
starts the scenario's deployment of a score.py on 127.0.0.1, polls its `/stats` every second
for replicas over time, reads the replicas' measured start times and slot time from /stats
before and after the test (`Measurement.platform`, for calibrating the prediction), and
always stops it afterwards.

`planner.loadtest.compare.compare` judges the measurement;
`planner.loadtest.timeline.plot_validation` draws it.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np
import pandas as pd

from planner.errors import DeploymentError, PlannerError
from planner.loadtest.compare import MEASURED_COLUMNS, REPLICA_COLUMNS, Measurement
from planner.model_nodes import NODE_TIMELINE_COLUMNS as NODE_COLUMNS

if TYPE_CHECKING:
    from planner.scenario import Scenario, Service
    from planner.scenario_nodes import Nodes

__all__ = [
    "EXAMPLE_SCORE",
    "StatsPoller",
    "locust_command",
    "locustfile_path",
    "measure",
    "read_requests",
    "run_locust",
]

EXAMPLE_SCORE = Path(__file__).resolve().parent.parent / "serve" / "examples" / "sleep_score.py"
EXIT_IN_FLIGHT = 3  # the locustfile's exit code when its in-flight bound is hit
STARTUP_SLACK_S = 60.0


def locustfile_path() -> Path:
    """The shipped locustfile: the `loadtests` package, else the checkout next to planner/."""
    try:
        path = Path(str(importlib.resources.files("loadtests") / "locustfile.py"))
    except ModuleNotFoundError:
        path = Path(__file__).resolve().parents[2] / "loadtests" / "locustfile.py"
    if not path.is_file():
        raise PlannerError(f"locustfile not found: {path} (is the loadtests package installed?)")
    return path


def locust_command(
    locustfile: Path, *, host: str, csv_prefix: Path, workers: int = 1, log_file: Path
) -> list[str]:
    """The locust command line: headless, CSV with full history, the shape sets users and time."""
    cmd = [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless"]
    cmd += ["--host", host, "--csv", str(csv_prefix), "--csv-full-history", "--only-summary"]
    cmd += ["--logfile", str(log_file)]
    if workers > 1:
        cmd += ["--processes", str(workers)]
    return cmd


class StatsPoller:
    """Polls a deployment's /stats in a thread: replicas, queue, busy and the round trip."""

    def __init__(self, stats: Callable[[], dict[str, Any]], interval_s: float = 1.0) -> None:
        self._stats = stats
        self._interval_s = interval_s
        self._rows: list[tuple[float, ...]] = []
        self._node_rows: list[tuple[int, ...]] = []  # with a node pool: one per row
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="stats-poller", daemon=True)
        self.latest: dict[str, Any] = {}

    def _loop(self) -> None:
        while not self._stop.is_set():
            now = time.time()
            sent = time.perf_counter()
            with contextlib.suppress(Exception):  # a missed poll is a gap, not a failure
                doc = self._stats()
                rtt_s = time.perf_counter() - sent  # one HTTP exchange with the router
                rep = doc["replicas"]
                self.latest = doc
                # A replica waiting for a node is "starting" to the autoscaler, as simulated.
                starting = rep.get("starting", 0) + rep.get("pending", 0)
                self._rows.append(
                    (now, rep.get("ready", 0), starting, rep.get("draining", 0),
                     doc.get("queued", 0), doc.get("busy", 0), doc.get("desired", 0), rtt_s)
                )  # fmt: skip
                if "nodes" in doc:
                    nodes = doc["nodes"]
                    self._node_rows.append(tuple(int(nodes[c]) for c in NODE_COLUMNS))
            self._stop.wait(self._interval_s)

    def __enter__(self) -> StatsPoller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5.0)

    def frame(self, t0_epoch: float) -> pd.DataFrame:
        """REPLICA_COLUMNS with t_s relative to `t0_epoch` (the load test's start).

        `rtt_s` is the poll's own round trip: one HTTP exchange with the router under the
        test's load (`planner.loadtest.verdict.measured_overhead`). With a node pool, the
        NODE_COLUMNS follow (nodes_ready, nodes_provisioning, pods_pending).
        """
        df = pd.DataFrame(self._rows, columns=list(REPLICA_COLUMNS))
        df["t_s"] = df["t_s"] - t0_epoch
        if self._node_rows and len(self._node_rows) == len(df):
            nodes = pd.DataFrame(self._node_rows, columns=list(NODE_COLUMNS))
            df = pd.concat([df, nodes], axis=1)
        return df


class _Progress:
    """Counts the per-request CSVs as they grow; prints a line to `stream` now and then."""

    def __init__(self, out_dir: Path, duration_s: float, stream: TextIO | None) -> None:
        self.out_dir = out_dir
        self.duration_s = duration_s
        self.stream = stream
        self.requests = self.overloaded = 0
        self._offsets: dict[Path, int] = {}
        self._partial: dict[Path, bytes] = {}

    def update(self) -> None:
        for path in sorted(self.out_dir.glob("requests*.csv")):
            with open(path, "rb") as fh:
                fh.seek(self._offsets.get(path, 0))
                data = self._partial.pop(path, b"") + fh.read()
                self._offsets[path] = fh.tell()
            lines = data.split(b"\n")
            if lines[-1]:
                self._partial[path] = lines[-1]
            for line in lines[:-1]:
                fields = line.split(b",")
                if len(fields) == 4 and fields[2] != b"status":
                    self.requests += 1
                    self.overloaded += fields[2] in (b"503", b"429")

    def line(self, elapsed_s: float, replicas: dict[str, Any] | None) -> str:
        text = (
            f"loadtest: {elapsed_s:5.0f} s of ~{self.duration_s:.0f} s  "
            f"answered {self.requests}  503/429 {self.overloaded}"
        )
        if replicas:
            text += f"  replicas {replicas.get('ready', 0)} ready"
            text += f" + {replicas.get('starting', 0)} starting"
            if "pending" in replicas:  # with a node pool: waiting for a node
                text += f" + {replicas['pending']} pending"
        return text

    def show(self, elapsed_s: float, replicas: dict[str, Any] | None) -> None:
        if self.stream is not None:
            self.stream.write(self.line(elapsed_s, replicas) + "\n")
            self.stream.flush()


def run_locust(
    scenario_path: Path,
    scenario: Scenario,
    *,
    host: str,
    out_dir: Path,
    key: str | None = None,
    deployment_name: str | None = None,
    seed: int | None = None,
    workers: int = 1,
    body: str | None = None,
    score_path: str = "/score",
    max_in_flight: int = 1000,
    timeout_s: float | None = None,
    poller: StatsPoller | None = None,
    progress: bool = True,
    progress_every_s: float = 5.0,
) -> Measurement:
    """Run the locustfile against `host` for the scenario's duration; read what it measured.

    Raises:
        PlannerError: locust failed to start or run (its log tail), or did not finish within
            `timeout_s` (default: duration + drain + scoring timeout + 60 s).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in (*out_dir.glob("requests*"), *out_dir.glob("locust_*.csv")):
        old.unlink()
    dep = scenario.deployment
    timeout_s = timeout_s or (
        scenario.duration_s + 2 * (dep.scoring_timeout_s + dep.max_request_wait_s) + STARTUP_SLACK_S
    )
    env = {
        **os.environ,
        "PLANNER_SCENARIO": str(scenario_path.resolve()),
        "PLANNER_SEED": str(scenario.seeds[0] if seed is None else seed),
        "PLANNER_REQUESTS_CSV": str((out_dir / "requests.csv").resolve()),
        "PLANNER_WORKERS": str(workers),
        "PLANNER_MAX_IN_FLIGHT": str(max_in_flight),
        "PLANNER_SCORE_PATH": score_path,
    }
    for name, value in (("PLANNER_KEY", key), ("AZUREML_MODEL_DEPLOYMENT", deployment_name)):
        if value:
            env[name] = value
    if body is not None:
        env["PLANNER_BODY"] = body
    log_file = out_dir / "locust.log"
    cmd = locust_command(
        locustfile_path(), host=host, csv_prefix=out_dir / "locust", workers=workers,
        log_file=log_file,
    )  # fmt: skip
    tracker = _Progress(out_dir, scenario.duration_s, sys.stderr if progress else None)
    started = time.monotonic()
    with open(out_dir / "locust.out", "wb") as console:
        proc = subprocess.Popen(
            cmd, env=env, stdout=console, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            last_shown = started
            while proc.poll() is None:
                time.sleep(0.25)
                now = time.monotonic()
                if now - started > timeout_s:
                    raise DeploymentError(
                        f"locust did not finish within {timeout_s:.0f} s (timeout); "
                        f"its log: {log_file}"
                    )
                if now - last_shown >= progress_every_s:
                    tracker.update()
                    tracker.show(now - started, poller.latest.get("replicas") if poller else None)
                    last_shown = now
        finally:
            _stop_process(proc)
    code = proc.returncode
    if code not in (0, 1, EXIT_IN_FLIGHT):  # 1: locust saw failed requests (503s): expected
        tail = _tail(out_dir / "locust.out") or _tail(log_file)
        raise DeploymentError(f"locust exited with status {code}:\n{tail}")
    return _measurement(out_dir, host=host, poller=poller, wall_s=time.monotonic() - started)


def _stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Stop locust and its worker processes if they still run (SIGINT first: CSVs get written)."""
    if proc.poll() is not None:
        return
    for sig, wait_s in ((signal.SIGINT, 10.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def _tail(path: Path, lines: int = 20) -> str:
    if not path.is_file():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def read_requests(out_dir: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The per-request rows of every locust process, sorted by t_s, and their summed counts."""
    frames = [
        pd.read_csv(p, dtype={"status": np.int64}) for p in sorted(out_dir.glob("requests*.csv"))
    ]
    frames = [f for f in frames if len(f.columns) == len(MEASURED_COLUMNS)]
    requests = (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=MEASURED_COLUMNS)
    )
    requests = requests.sort_values("t_s", kind="stable").reset_index(drop=True)
    totals: dict[str, Any] = {"sent": 0, "answered": 0, "pending": 0, "not_sent": 0}
    totals.update(aborted="", max_lag_s=0.0, t0_epoch=math.nan, files=0, seed=None)
    for path in sorted(out_dir.glob("requests*.summary.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        for k in ("sent", "answered", "pending", "not_sent"):
            totals[k] += int(doc.get(k, 0))
        totals["aborted"] = totals["aborted"] or doc.get("aborted", "")
        totals["max_lag_s"] = max(totals["max_lag_s"], float(doc.get("max_lag_s", 0.0)))
        totals["t0_epoch"] = np.nanmin([totals["t0_epoch"], doc.get("t0_epoch", math.nan)])
        totals["files"] += 1
        totals["seed"] = doc.get("seed", totals["seed"])
    return requests, totals


def _measurement(
    out_dir: Path, *, host: str, poller: StatsPoller | None, wall_s: float
) -> Measurement:
    requests, totals = read_requests(out_dir)
    if totals["files"] == 0:
        tail = _tail(out_dir / "locust.out") or _tail(out_dir / "locust.log")
        raise DeploymentError(f"locust wrote no per-request results in {out_dir}:\n{tail}")
    notes = [f"locust ran {wall_s:.0f} s against {host}; its files are in {out_dir}"]
    stats_file = out_dir / "locust_stats.csv"
    if stats_file.is_file():
        stats = pd.read_csv(stats_file)
        agg = stats[stats["Name"] == "Aggregated"]
        if len(agg) and int(agg["Request Count"].iloc[0]) != totals["answered"]:
            notes.append(
                f"locust's own stats count {int(agg['Request Count'].iloc[0])} requests, the "
                f"per-request files {totals['answered']}"
            )
    history = out_dir / "locust_stats_history.csv"
    if history.is_file():
        users = pd.read_csv(history)["User Count"]
        if len(users):
            notes.append(f"locust users (arrival generators): up to {int(users.max())}")
    replicas = None
    if poller is not None and math.isfinite(totals["t0_epoch"]):
        replicas = poller.frame(totals["t0_epoch"])
    return Measurement(
        requests=requests,
        sent=totals["sent"],
        pending=totals["pending"],
        not_sent=totals["not_sent"],
        aborted=totals["aborted"],
        max_lag_s=totals["max_lag_s"],
        replicas=replicas,
        host=host,
        local=poller is not None,
        seed=totals["seed"],
        notes=tuple(notes),
    )


def measure(
    scenario_path: Path,
    scenario: Scenario,
    *,
    out_dir: Path,
    host: str | None = None,
    score: Path | None = None,
    key: str | None = None,
    service: Service | None = None,
    nodes: Nodes | None = None,
    **locust_options: Any,
) -> Measurement:
    """Load-test the scenario: against `host`, or a local deployment of `score` started here.

    Without `host` the scenario's deployment and service run `score` (default: the example
    that sleeps the scenario's service time) on 127.0.0.1; it is stopped afterwards, also on
    error or Ctrl-C. `service` replaces the scenario's service in the local deployment only
    (its request time for the example score, its cold start): a real service that differs
    from the model, to see the verdict refute a wrong prediction; `nodes` likewise replaces
    the scenario's node pool (its provisioning time, say). Other keyword arguments go to
    `run_locust`.

    Raises:
        DeploymentError: the local deployment failed to start.
        PlannerError: locust failed (see `run_locust`).
    """
    if host is not None:
        return run_locust(scenario_path, scenario, host=host, out_dir=out_dir, key=key,
                          **locust_options)  # fmt: skip

    from planner.loadtest.calibrate import platform_times

    with (
        _local(score or EXAMPLE_SCORE, scenario, out_dir, key, service, nodes) as deployment,
        StatsPoller(deployment.stats) as poller,
    ):
        before = deployment.stats()
        measured = run_locust(
            scenario_path, scenario, host=deployment.url, out_dir=out_dir, key=key,
            poller=poller, **locust_options,
        )  # fmt: skip
        after = deployment.stats()
    return replace(measured, platform=platform_times(before, after))


@contextlib.contextmanager
def _local(
    score: Path,
    scenario: Scenario,
    out_dir: Path,
    key: str | None,
    service: Service | None,
    nodes: Nodes | None,
) -> Iterator[Any]:
    from planner.serve import start_local_deployment

    try:
        deployment = start_local_deployment(
            score,
            deployment=scenario.deployment,
            service=scenario.service if service is None else service,
            nodes=scenario.nodes if nodes is None else nodes,
            log_dir=out_dir / "serve-logs",
            key=key,
            seed=scenario.seeds[0],
        )
    except DeploymentError as exc:
        raise DeploymentError(f"local deployment of {score} failed: {exc}") from None
    try:
        yield deployment
    finally:
        deployment.stop()
