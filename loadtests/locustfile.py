"""Locust users for planner: the scenario's arrivals (open model) posted as JSON to /score.

    locust -f loadtests/locustfile.py --headless --host http://127.0.0.1:8890 \
        --scenario scenarios/spike.yaml --requests-csv out/requests.csv

`planner loadtest` runs this for you; run it by hand to point at a real endpoint with
`--host https://... --key KEY [--deployment-name blue]`.

Open model: each request is fired at its scheduled arrival time in its own greenlet, so a slow
answer never slows the arrivals (a closed loop would hide overload by offering less). The
arrival times are the simulator's own sample for the seed (`loadtests.curve.arrival_schedule`);
the users share them, and the shape (`loadtests.shapes.ScenarioShape`, imported below so locust
finds it) sets the user count and ends the test after `duration_s` and a drain. In-flight
requests are bounded (`--max-in-flight` per process): past the bound the test aborts with exit
code 3 rather than run away. 429 and 503 are overload rejections (locust counts them as
failures). Every answered request is written to the per-request CSV (`t_s` = scheduled arrival
since test start, `lag_s` = send time minus schedule, `status` (0 = no HTTP answer),
`response_time_s`); a `<csv stem>.summary.json` next to it counts requests sent, answered and
still pending at the end, so the comparison with the simulation is exact.

Options (or environment variables): --scenario (PLANNER_SCENARIO), --key (PLANNER_KEY, sent as
`Authorization: Bearer KEY`), --deployment-name (AZUREML_MODEL_DEPLOYMENT, sent as
`azureml-model-deployment`), --planner-seed (PLANNER_SEED; default the scenario's first seed),
--score-path (default /score), --body (JSON; PLANNER_BODY), --requests-csv, --max-in-flight,
--planner-workers (PLANNER_WORKERS: locust worker processes sharing the arrivals).
"""

from __future__ import annotations

import csv
import importlib.util
import json
import logging
import math
import sys
import time
from pathlib import Path
from typing import Any

if (
    importlib.util.find_spec("loadtests") is None
):  # run from a checkout: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import gevent
from locust import FastHttpUser, constant, events, task
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from loadtests.curve import arrival_schedule
from loadtests.shapes import ScenarioShape  # noqa: F401  (locust picks the shape up from here)

log = logging.getLogger("planner.locustfile")

REQUEST_CSV_COLUMNS = ("t_s", "lag_s", "status", "response_time_s")
EXIT_IN_FLIGHT = 3
FLUSH_EVERY_S = 1.0


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    """planner's options, each also read from an environment variable."""
    parser.add_argument(
        "--scenario",
        env_var="PLANNER_SCENARIO",
        default="",
        help="Scenario YAML whose traffic to offer.",
    )
    parser.add_argument(
        "--key",
        env_var="PLANNER_KEY",
        default="",
        is_secret=True,
        help="Endpoint key, sent as 'Authorization: Bearer KEY'.",
    )
    parser.add_argument(
        "--deployment-name",
        env_var="AZUREML_MODEL_DEPLOYMENT",
        default="",
        help="Sent as header 'azureml-model-deployment'.",
    )
    parser.add_argument(
        "--planner-seed",
        env_var="PLANNER_SEED",
        default="",
        help="Seed of the arrival sample (default: the scenario's first).",
    )
    parser.add_argument(
        "--score-path",
        env_var="PLANNER_SCORE_PATH",
        default="/score",
        help="Path requests are posted to.",
    )
    parser.add_argument(
        "--body", env_var="PLANNER_BODY", default='{"data": [0]}', help="JSON body of each request."
    )
    parser.add_argument(
        "--requests-csv",
        env_var="PLANNER_REQUESTS_CSV",
        default="",
        help="Per-request CSV (one file per worker process).",
    )
    parser.add_argument(
        "--max-in-flight",
        env_var="PLANNER_MAX_IN_FLIGHT",
        type=int,
        default=1000,
        help="Abort (exit 3) past this many open requests.",
    )
    parser.add_argument(
        "--planner-workers",
        env_var="PLANNER_WORKERS",
        type=int,
        default=1,
        help="Worker processes sharing the arrivals.",
    )
    parser.add_argument(
        "--drain-s",
        env_var="PLANNER_DRAIN_S",
        type=float,
        default=1.0,
        help="Seconds after the scenario's end before the shape stops.",
    )


class _Run:
    """Per-process state of one load test: the schedule, requests in flight, the CSV."""

    def __init__(self, environment: Environment) -> None:
        from planner.scenario import load_scenario

        options = environment.parsed_options
        self.env = environment
        self.scenario = load_scenario(options.scenario)
        dep = self.scenario.deployment
        self.seed = int(options.planner_seed or self.scenario.seeds[0])
        self.path = options.score_path
        self.body = options.body.encode()
        self.headers = {"Content-Type": "application/json"}
        if options.key:
            self.headers["Authorization"] = f"Bearer {options.key}"
        if options.deployment_name:
            self.headers["azureml-model-deployment"] = options.deployment_name
        self.max_in_flight = int(options.max_in_flight)
        self.workers = max(1, int(options.planner_workers))
        self.drain_timeout_s = dep.scoring_timeout_s + dep.max_request_wait_s + 5.0
        self.t0 = math.nan
        self.t0_epoch = math.nan
        self.schedule: Any = iter(())
        self.head: float | None = None
        self.worker_index = 0
        self.in_flight: set[gevent.Greenlet] = set()
        self.sent = self.answered = self.not_sent = 0
        self.max_lag_s = 0.0
        self.aborted = ""
        self.csv_path: Path | None = None
        self._file: Any = None
        self._writer: Any = None

    def start(self) -> None:
        """Start the clock, the schedule and the CSV (at test start, when the index is known)."""
        runner = self.env.runner
        self.worker_index = (
            getattr(runner, "worker_index", 0) if isinstance(runner, WorkerRunner) else 0
        )
        workers = self.workers if isinstance(runner, WorkerRunner) else 1
        self.schedule = arrival_schedule(
            self.scenario.traffic,
            self.scenario.duration_s,
            self.seed,
            worker_index=self.worker_index % workers,
            workers=workers,
        )
        self.head = next(self.schedule, None)
        target = self.env.parsed_options.requests_csv
        if target:
            path = Path(target)
            if isinstance(runner, WorkerRunner):
                path = path.with_name(f"{path.stem}-w{self.worker_index}{path.suffix}")
            path.parent.mkdir(parents=True, exist_ok=True)
            self.csv_path = path
            self._file = open(path, "w", newline="", encoding="utf-8")  # noqa: SIM115
            self._writer = csv.writer(self._file)
            self._writer.writerow(REQUEST_CSV_COLUMNS)
            gevent.spawn(self._flush_loop)
        self.t0 = time.perf_counter()
        self.t0_epoch = time.time()

    def now_s(self) -> float:
        """Seconds since the test started."""
        return time.perf_counter() - self.t0

    def pop(self) -> float:
        """Take the next arrival time off the schedule."""
        t = self.head
        assert t is not None
        self.head = next(self.schedule, None)
        return t

    def record(self, t_s: float, lag_s: float, status: int, response_time_s: float) -> None:
        """One answered request."""
        self.answered += 1
        if self._writer is not None:
            self._writer.writerow((f"{t_s:.6f}", f"{lag_s:.6f}", status, f"{response_time_s:.6f}"))

    def _flush_loop(self) -> None:
        while self._file is not None and not self._file.closed:
            self._file.flush()
            gevent.sleep(FLUSH_EVERY_S)

    def drain(self) -> None:
        """Wait (bounded) for the requests still in flight, then write the summary."""
        if self.in_flight:
            gevent.joinall(list(self.in_flight), timeout=self.drain_timeout_s)
        self.write_summary()

    def write_summary(self) -> None:
        """Counts next to the CSV: sent = answered + pending (+ not sent when aborted)."""
        if self._file is not None and not self._file.closed:
            self._file.flush()
        if self.csv_path is None:
            return
        summary = {
            "sent": self.sent,
            "answered": self.answered,
            "pending": len(self.in_flight),
            "not_sent": self.not_sent,
            "aborted": self.aborted,
            "max_lag_s": round(self.max_lag_s, 6),
            "seed": self.seed,
            "t0_epoch": self.t0_epoch,
            "worker_index": self.worker_index,
            "workers": self.workers,
        }
        target = self.csv_path.with_name(self.csv_path.stem + ".summary.json")
        target.write_text(json.dumps(summary, indent=2), encoding="utf-8")

    def close(self) -> None:
        """Final summary and close the CSV."""
        self.write_summary()
        if self._file is not None and not self._file.closed:
            self._file.close()


RUN: _Run | None = None


@events.init.add_listener
def _init(environment: Environment, **_kwargs: Any) -> None:
    global RUN
    if isinstance(environment.runner, MasterRunner):
        return  # the master only runs the shape; workers send the requests
    options = environment.parsed_options
    if options is None or not options.scenario:
        sys.stderr.write("planner locustfile: --scenario FILE (or PLANNER_SCENARIO) is required\n")
        raise SystemExit(2)
    RUN = _Run(environment)
    ScoringUser.concurrency = RUN.max_in_flight
    ScoringUser.network_timeout = RUN.drain_timeout_s
    ScoringUser.connection_timeout = RUN.drain_timeout_s


@events.test_start.add_listener
def _test_start(environment: Environment, **_kwargs: Any) -> None:
    if RUN is not None:
        RUN.start()


@events.test_stopping.add_listener
def _test_stopping(environment: Environment, **_kwargs: Any) -> None:
    if RUN is not None:
        RUN.drain()


@events.quitting.add_listener
def _quitting(environment: Environment, **_kwargs: Any) -> None:
    if RUN is not None:
        RUN.close()


@events.request.add_listener
def _request(
    response_time: float,
    response: Any = None,
    context: dict[str, Any] | None = None,
    **_kwargs: Any,
) -> None:
    if RUN is None or not context or "t_s" not in context:
        return
    status = int(getattr(response, "status_code", 0) or 0)
    RUN.record(context["t_s"], context["lag_s"], status, response_time / 1000.0)


class ScoringUser(FastHttpUser):
    """An arrival generator: fires each scheduled request at its time, in its own greenlet."""

    wait_time = constant(0)
    concurrency = 1000  # connections of this user's pool; set from --max-in-flight at init

    @task
    def arrivals(self) -> None:
        """Sleep until the next arrival, fire it, repeat; idle once the schedule is done."""
        run = RUN
        assert run is not None
        if math.isnan(run.t0):
            run.start()
        while True:
            if run.head is None:
                gevent.sleep(1.0)  # the shape stops the test after the drain
                continue
            delay = run.head - run.now_s()
            if delay > 0:
                gevent.sleep(delay)
                continue  # another user may have taken it meanwhile
            t_s = run.pop()
            if len(run.in_flight) >= run.max_in_flight:
                self._abort(run)
                return
            run.sent += 1
            greenlet = gevent.spawn(self._send, run, t_s)
            run.in_flight.add(greenlet)
            greenlet.link(run.in_flight.discard)

    def _send(self, run: _Run, t_s: float) -> None:
        lag_s = run.now_s() - t_s
        run.max_lag_s = max(run.max_lag_s, lag_s)
        context = {"t_s": t_s, "lag_s": lag_s}
        self.client.post(
            run.path, data=run.body, headers=run.headers, name=run.path, context=context
        )

    def _abort(self, run: _Run) -> None:
        run.not_sent += 1
        run.aborted = (
            f"more than --max-in-flight {run.max_in_flight} requests open at "
            f"t = {run.now_s():.1f} s: the endpoint stopped answering in time"
        )
        log.error("planner locustfile: aborting: %s", run.aborted)
        self.environment.process_exit_code = EXIT_IN_FLIGHT
        run.write_summary()
        runner = self.environment.runner
        if runner is not None:
            gevent.spawn(runner.quit)
