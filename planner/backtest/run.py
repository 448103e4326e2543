"""`run_backtest`: replay a log through the deployment, compare, and search what would have held.

1. The log is fitted (`planner.fit.fit_log`) and the deployment file validated with its
   traffic (`planner.backtest.replay`).
2. The logged arrivals are replayed through the deployment's autoscaler (`planner.simulate`)
   over the scenario's seeds (the arrivals are the log's in every seed; the request times
   are drawn per seed); `metrics.summarise` judges the SLO: `had_meets_slo`.
3. When the log observed statuses or latencies, `planner.loadtest.compare` judges whether the
   simulation reproduces them; per-minute frames show observed beside simulated.
4. `planner.recommend.search.search_settings` finds the cheapest min / max / target that would
   have met the SLO on that very traffic (skipped for a fixed deployment, or when asked).
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from planner.backtest.observed import compare_observed, per_minute_frame
from planner.backtest.replay import backtest_scenario, read_deployment, request_times_from_log
from planner.errors import InfeasibleError
from planner.fit.build import LogFit, fit_log
from planner.fit.logs import RequestLog
from planner.fit.reduce import LogSummary
from planner.loadtest.compare import Validation
from planner.metrics import Summary, summarise
from planner.recommend.search import DEFAULT_MAX_SIMULATIONS, SearchResult, search_settings
from planner.scenario import Scenario
from planner.simulate import Results, run

__all__ = ["Backtest", "run_backtest"]


@dataclass(frozen=True, slots=True, kw_only=True, weakref_slot=True)
class Backtest:
    """What the settings you had did to the logged traffic, and what would have held."""

    scenario: Scenario
    fit: LogFit
    request_time_from_log: bool
    results: Results
    had: Summary
    validation: Validation | None
    per_minute: pd.DataFrame
    search: SearchResult | None
    search_note: str  # why there is no search result, or ""
    cost_per_replica_hour: float | None
    work_dir: Path  # the trace (and samples) the scenario reads

    @property
    def had_meets_slo(self) -> bool:
        """The settings you had met the SLO on the logged traffic (upper 95 % bounds)."""
        return self.had.meets_slo is True


def run_backtest(
    log: RequestLog | LogSummary,
    deployment_file: Path,
    *,
    seeds: Sequence[int] | None = None,
    search: bool = True,
    cost_per_replica_hour: float | None = None,
    max_replicas_cap: int | None = None,
    max_simulations: int | None = None,
    processes: int | None = 1,
    work_dir: Path | None = None,
) -> Backtest:
    """Backtest the deployment file's settings on the log (see the module docstring).

    `work_dir` receives the trace and samples files the backtest scenario reads (kept);
    without it they go to a temporary folder removed when the Backtest is garbage-collected,
    so `with_overrides(backtest.scenario, ...)` works as long as the result is held.
    """
    fit = fit_log(log, name=deployment_file.stem)
    data = read_deployment(deployment_file)
    from_log = request_times_from_log(data)
    temporary = work_dir is None
    folder = Path(tempfile.mkdtemp(prefix="planner-backtest-")) if work_dir is None else work_dir
    folder.mkdir(parents=True, exist_ok=True)
    try:
        scenario = backtest_scenario(fit, deployment_file, folder)
        seed_list = tuple(scenario.seeds if seeds is None else seeds)
        if seeds is not None:
            from planner.scenario import with_overrides

            scenario = with_overrides(scenario, {"seeds": list(seed_list)}, warn=False)
        # Per-request rows only when the log has latencies to compare them with (the
        # per-minute p95) and is short (a whole log, not a streamed summary): a day's rows
        # would fill memory (a streamed log's per-minute simulated p95 is left empty).
        keep = log.observed_latency and isinstance(log, RequestLog)
        results = run(scenario, seed_list, keep_requests=keep, processes=processes)
        had = summarise(results)
        validation = compare_observed(log, results, log_minutes=fit.per_minute)
        per_minute = per_minute_frame(log, results, log_minutes=fit.per_minute)
        found: SearchResult | None = None
        note = ""
        if not search:
            note = "search skipped (--no-search)"
        elif scenario.deployment.autoscaler == "none":
            note = "a fixed deployment (autoscaler none) has no autoscale settings to search"
        else:
            budget = DEFAULT_MAX_SIMULATIONS if max_simulations is None else max_simulations
            try:
                found = search_settings(
                    scenario,
                    cost_per_replica_hour=cost_per_replica_hour,
                    max_replicas_cap=max_replicas_cap,
                    processes=processes,
                    max_simulations=budget,
                )
            except InfeasibleError as exc:
                note = f"no settings within the bounds would have held: {exc}"
    except BaseException:
        if temporary:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    result = Backtest(
        scenario=scenario,
        fit=fit,
        request_time_from_log=from_log,
        results=results,
        had=had,
        validation=validation,
        per_minute=per_minute,
        search=found,
        search_note=note,
        cost_per_replica_hour=cost_per_replica_hour,
        work_dir=folder,
    )
    if temporary:
        weakref.finalize(result, shutil.rmtree, folder, ignore_errors=True)
    return result
