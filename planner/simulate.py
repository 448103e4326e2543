"""Run a scenario through the model: one replication per seed, records first, DataFrames after.

The interface (metrics, recommend, sweep, report and loadtest rely on it):

    run_rep(scenario: Scenario, seed: int, *, keep_requests: bool = False) -> RepResult
        # one replication; picklable result; memory independent of request count unless keep_requests
    run(scenario, seeds: Sequence[int] | None = None, *, keep_requests=False,
        processes: int | None = 1, progress: bool = False) -> Results
        # seeds default to scenario.seeds; processes>1 runs replications in a process pool

    @dataclass(frozen=True) RepResult:
        seed: int
        stats: dict[str, float]          # one row of `summary` (columns below), warm-up excluded
        timeline: list[tuple]            # per-second rows (columns TIMELINE_COLUMNS, without rep)
        requests: list[tuple] | None     # per-request rows (REQUEST_COLUMNS, without rep) if asked
        latency_hist: np.ndarray         # counts on LATENCY_BIN_EDGES_S of served (200/504) requests

    @dataclass(frozen=True) Results:
        scenario: Scenario
        summary: pd.DataFrame    # one row per rep: SUMMARY_COLUMNS
        timeline: pd.DataFrame   # rep + TIMELINE_COLUMNS
        requests: pd.DataFrame | None   # rep + REQUEST_COLUMNS
        replicas: pd.DataFrame | None   # rep + NODE_REPLICA_COLUMNS, only with `nodes:`

    SUMMARY_COLUMNS = ("rep", "requests", "n_200", "n_503", "n_504", "rate_503", "rate_504",
        "mean_wait_s", "p_wait", "latency_mean_s", "latency_p50_s", "latency_p95_s", "latency_p99_s",
        "peak_replicas", "replica_seconds", "mean_in_system", "throughput_rps")
        # counted over requests arriving at t >= warmup_s; latency over served (200 and 504) requests;
        # replica_seconds = integral over [warmup_s, duration_s] of replicas that exist (starting,
        # ready or draining: they are all paid for); mean_in_system = time-average queued + busy.
    TIMELINE_COLUMNS = ("t_s", "rps_offered", "arrivals", "ready", "starting", "draining",
        "desired", "queue_len", "busy", "n_503", "n_504")   # one row per whole second
    REQUEST_COLUMNS = ("t_arrival_s", "wait_s", "latency_s", "replica", "status")   # status 200/503/504

Definitions (additions to the contract, all over requests arriving at t >= warmup_s):
    SUMMARY_COLUMNS ends with one added column, "mean_time_in_system_s": mean time a request
        holds the system (queue wait + slot occupancy; a 503 holds it for its wait), so that
        Little's law reads
        mean_in_system ≈ requests / (duration_s − warmup_s) × mean_time_in_system_s.
    mean_wait_s: mean router-queue wait over ALL counted requests (a 503 after waiting counts
        max_request_wait_s; a 503 at arrival counts 0).
    p_wait: share of requests that found no free slot (queued or rejected at once): Erlang C's
        P(wait > 0), or Erlang B's blocking probability when max_request_wait_s = 0.
    latency_*: response time of served (200 and 504) requests: wait + service, or wait +
        scoring_timeout_s for a 504. Percentiles are read from a log histogram
        (LATENCY_BIN_EDGES_S, within 0.25 % of the exact order statistic), with or without
        keep_requests: `planner.latency.latency_percentiles` gives the same numbers from
        the request records.
    peak_replicas: largest ready + starting count in [warmup_s, duration_s].
    throughput_rps: 200 responses per second of the window.
    Timeline row k: state at the instant t_s = k (busy: in service on ready replicas; draining
        replicas' work is not in `busy`), `arrivals` in [k, k + 1); n_503 / n_504 are counted by
        the ARRIVAL second of the request, so the spike that caused them is where they show.
    Request rows: every request, warm-up included, in the order of their outcome; replica is -1
        for a 503; wait_s = latency_s = max_request_wait_s for an expired request.
"""

# ruff: noqa: E501  (the interface block above is aligned as a table; its lines are longer)
from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from planner.engine import choose_engine, model_class
from planner.errors import ScenarioError
from planner.executors import map_in_order
from planner.latency import LATENCY_BIN_EDGES_S, hist_percentile
from planner.model import TIMED_OUT_KEEPS_SLOT
from planner.model_nodes import NODE_REPLICA_COLUMNS, NODE_SUMMARY_COLUMNS, NODE_TIMELINE_COLUMNS
from planner.progress import Progress, ProgressMode

if TYPE_CHECKING:
    from planner.scenario import Scenario

__all__ = [
    "LATENCY_BIN_EDGES_S",
    "REQUEST_COLUMNS",
    "SUMMARY_COLUMNS",
    "TIMED_OUT_KEEPS_SLOT",
    "TIMELINE_COLUMNS",
    "ProgressCallback",
    "RepResult",
    "Results",
    "results_from_reps",
    "run",
    "run_rep",
]

SUMMARY_COLUMNS = (
    "rep", "requests", "n_200", "n_503", "n_504", "rate_503", "rate_504", "mean_wait_s",
    "p_wait", "latency_mean_s", "latency_p50_s", "latency_p95_s", "latency_p99_s",
    "peak_replicas", "replica_seconds", "mean_in_system", "throughput_rps",
    "mean_time_in_system_s",
)  # fmt: skip
TIMELINE_COLUMNS = (
    "t_s", "rps_offered", "arrivals", "ready", "starting", "draining", "desired", "queue_len",
    "busy", "n_503", "n_504",
)  # fmt: skip
REQUEST_COLUMNS = ("t_arrival_s", "wait_s", "latency_s", "replica", "status")
LATENCY_QUANTILES = (0.5, 0.95, 0.99)  # latency_p50_s, latency_p95_s, latency_p99_s

ProgressCallback = Callable[[int, int], None]
"""Called as `callback(done, total)` after each finished replication."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RepResult:
    """One replication: its stats row, per-second timeline and (optionally) request records."""

    seed: int
    stats: dict[str, float]
    timeline: list[tuple[Any, ...]]
    requests: list[tuple[Any, ...]] | None
    latency_hist: np.ndarray
    replicas: list[tuple[Any, ...]] | None = None  # NODE_REPLICA_COLUMNS rows, with nodes only


@dataclass(frozen=True, slots=True, kw_only=True)
class Results:
    """All replications of a scenario as long DataFrames with a `rep` (= seed) column."""

    scenario: Scenario
    summary: pd.DataFrame
    timeline: pd.DataFrame
    requests: pd.DataFrame | None
    # With `nodes:` only: one row per replica that became ready, its time to ready split into
    # phases (planner.model_nodes.NODE_REPLICA_COLUMNS).
    replicas: pd.DataFrame | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe plain data (`planner.plain`): the scenario, each frame as row dicts."""
        from planner.plain import plain

        return plain(self)  # type: ignore[no-any-return]


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else math.nan


def run_rep(
    scenario: Scenario, seed: int, *, keep_requests: bool = False, engine: str = "auto"
) -> RepResult:
    """Simulate one replication of `scenario` with random streams from `seed`.

    Memory does not grow with the number of requests unless `keep_requests`. `engine` is
    "python", "compiled" (numba; same results bit for bit) or "auto" (planner.engine).
    """
    model = model_class(choose_engine(engine, scenario))
    policy = None
    if scenario.deployment.autoscaler != "none":
        from planner.autoscalers import make_policy

        policy = make_policy(scenario.deployment, scenario.service.max_concurrent)
    out = model(scenario, seed, policy=policy, keep_requests=keep_requests).run()
    n = out.n_requests
    n_served = out.n_200 + out.n_504
    # One percentile estimator whether or not the records are kept (`planner.latency`).
    pcts = [
        hist_percentile(out.latency_hist, q, out.latency_min_s, out.latency_max_s)
        for q in LATENCY_QUANTILES
    ]
    window = out.window_s
    stats: dict[str, float] = {
        "rep": seed,
        "requests": n,
        "n_200": out.n_200,
        "n_503": out.n_503,
        "n_504": out.n_504,
        "rate_503": _ratio(out.n_503, n),
        "rate_504": _ratio(out.n_504, n),
        "mean_wait_s": _ratio(out.sum_wait_s, n),
        "p_wait": _ratio(out.n_no_free, n),
        "latency_mean_s": _ratio(out.sum_latency_s, n_served),
        "latency_p50_s": pcts[0],
        "latency_p95_s": pcts[1],
        "latency_p99_s": pcts[2],
        "peak_replicas": out.peak_replicas,
        "replica_seconds": out.area_replicas,
        "mean_in_system": _ratio(out.area_in_system, window),
        "throughput_rps": _ratio(out.n_200, window),
        "mean_time_in_system_s": _ratio(out.sum_time_in_system_s, n),
    }
    if out.nodes is not None:
        stats.update(out.nodes)  # peak_nodes, node_seconds, cost, phases (planner.model_nodes)
    return RepResult(
        seed=seed,
        stats=stats,
        timeline=out.timeline,
        requests=out.requests,
        latency_hist=out.latency_hist,
        replicas=out.replicas,
    )


def _run_rep_task(args: tuple[Scenario, int, bool, str]) -> RepResult:
    """Top-level (picklable, spawn-safe) wrapper for the process pool."""
    scenario, seed, keep, engine = args
    return run_rep(scenario, seed, keep_requests=keep, engine=engine)


def _frame(rows: list[tuple[Any, ...]], columns: tuple[str, ...], seed: int) -> pd.DataFrame:
    df = pd.DataFrame.from_records(rows, columns=list(columns))
    df.insert(0, "rep", seed)
    return df


def results_from_reps(scenario: Scenario, reps: Sequence[RepResult]) -> Results:
    """Assemble replications into Results: each DataFrame is built once."""
    with_nodes = scenario.nodes is not None
    summary_columns = SUMMARY_COLUMNS + (NODE_SUMMARY_COLUMNS if with_nodes else ())
    timeline_columns = TIMELINE_COLUMNS + (NODE_TIMELINE_COLUMNS if with_nodes else ())
    summary = pd.DataFrame([r.stats for r in reps], columns=list(summary_columns))
    summary = summary.astype(
        {c: "int64" for c in ("rep", "requests", "n_200", "n_503", "n_504", "peak_replicas")}
    )
    timeline = pd.concat(
        [_frame(r.timeline, timeline_columns, r.seed) for r in reps], ignore_index=True
    )
    requests = None
    if reps and all(r.requests is not None for r in reps):
        requests = pd.concat(
            [_frame(r.requests or [], REQUEST_COLUMNS, r.seed) for r in reps], ignore_index=True
        )
    replicas = None
    if with_nodes:
        replicas = pd.concat(
            [_frame(r.replicas or [], NODE_REPLICA_COLUMNS, r.seed) for r in reps],
            ignore_index=True,
        )
    return Results(
        scenario=scenario, summary=summary, timeline=timeline, requests=requests, replicas=replicas
    )


def run(
    scenario: Scenario,
    seeds: Sequence[int] | None = None,
    *,
    keep_requests: bool = False,
    processes: int | None = 1,
    progress: ProgressMode | ProgressCallback = False,
    engine: str = "auto",
) -> Results:
    """Run one replication per seed (default: scenario.seeds) and assemble Results.

    Args:
        scenario: a validated scenario.
        seeds: replication seeds; the `rep` column of every frame holds the seed.
        keep_requests: also keep one row per request (memory grows with requests).
        processes: worker processes (spawned, `planner.executors`); 1 runs in this process,
            None uses every CPU. The results are the same bit for bit.
        progress: a `planner.progress.Progress` mode over replications (True: a bar when
            stderr is a terminal; "always": plain lines otherwise), or a callable, called as
            `progress(done, total)` after each replication.
        engine: "python", "compiled" or "auto" (compiled above
            planner.engine.COMPILED_MIN_REQUESTS expected requests when numba is installed).

    Raises:
        ScenarioError: no seeds, an unknown engine, or "compiled" without numba.
    """
    seed_list = [int(s) for s in (scenario.seeds if seeds is None else seeds)]
    if not seed_list:
        raise ScenarioError("seeds must name at least one replication: []")
    engine = choose_engine(engine, scenario)
    total = len(seed_list)
    workers = (os.cpu_count() or 1) if processes is None else max(1, processes)
    tasks = [(scenario, s, keep_requests, engine) for s in seed_list]
    if callable(progress):
        callback = progress
        reps = map_in_order(
            _run_rep_task, tasks, processes=workers, on_done=lambda done: callback(done, total)
        )
    else:
        with Progress(total, text="replications", mode=progress) as bar:
            reps = map_in_order(
                _run_rep_task, tasks, processes=workers, on_done=lambda _: bar.advance()
            )
    return results_from_reps(scenario, reps)
