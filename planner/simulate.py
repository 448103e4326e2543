"""Run a scenario through the model: one replication per seed, records first, DataFrames after.

CONTRACT (owned by the engine work; metrics, recommend, sweep, report and loadtest rely on it):

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

    SUMMARY_COLUMNS = ("rep", "requests", "n_200", "n_503", "n_504", "rate_503", "rate_504",
        "mean_wait_s", "p_wait", "latency_mean_s", "latency_p50_s", "latency_p95_s", "latency_p99_s",
        "peak_replicas", "replica_seconds", "mean_in_system", "throughput_rps")
        # counted over requests arriving at t >= warmup_s; latency over served (200 and 504) requests;
        # replica_seconds = integral over [warmup_s, duration_s] of replicas that exist (starting,
        # ready or draining: they are all paid for); mean_in_system = time-average queued + busy.
    TIMELINE_COLUMNS = ("t_s", "rps_offered", "arrivals", "ready", "starting", "draining",
        "desired", "queue_len", "busy", "n_503", "n_504")   # one row per whole second
    REQUEST_COLUMNS = ("t_arrival_s", "wait_s", "latency_s", "replica", "status")   # status 200/503/504
"""

from __future__ import annotations
