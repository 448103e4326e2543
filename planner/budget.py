"""How much simulation a command asks for, estimated before it starts, and a limit on it.

`estimate_requests(scenario)` is the expected number of arrivals in one replication, from the
traffic alone: rps × duration for a constant rate, the integral of the pattern's rate over
the run (`Traffic.cumulative`), or the number of trace requests within the run.
`check_work(requests_per_run=..., runs=..., allow_large=...)` refuses, at once and with the
estimate in the message, work beyond MAX_REQUESTS_WITHOUT_ALLOW simulated requests unless
the user allows it (`--allow-large`). So `seeds: 1000000`, or a scenario of 10¹² requests,
fails in a second instead of running for days or until memory is gone.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from planner.errors import ScenarioError

if TYPE_CHECKING:
    from planner.scenario import Scenario

__all__ = [
    "MAX_REQUESTS_WITHOUT_ALLOW",
    "SIMULATED_REQUESTS_PER_S",
    "check_work",
    "estimate_requests",
]

MAX_REQUESTS_WITHOUT_ALLOW = 2e8
"""Simulated requests (all runs together) that a command starts without `--allow-large`.

At the engine's pace (SIMULATED_REQUESTS_PER_S on one core) that is about three minutes of
CPU time. Without per-request records the memory of a run does not grow with its requests;
with them (`planner simulate --out`) every request is one record of about 160 bytes in the
simulator (measured with tracemalloc) before its DataFrame is built, so 2e8 of them would need
over 30 GB: past this limit a run is either very long or does not fit.
"""

SIMULATED_REQUESTS_PER_S = 1.25e6
"""The order of the Python engine's speed on one core (benchmarks/bench_simulator.py)."""


def estimate_requests(scenario: Scenario) -> float:
    """Expected arrivals in one replication of `scenario` (warm-up included).

    A constant rate gives rps × duration_s; a pattern, the integral of its rate over
    [0, duration_s); a trace of timestamps, the number before duration_s; a trace of
    per-second counts, their sum over the run.
    """
    traffic = scenario.traffic
    duration_s = float(scenario.duration_s)
    if traffic.trace_times_s is not None:
        times = np.asarray(traffic.trace_times_s)
        return float(np.searchsorted(times, duration_s, side="left"))
    return float(traffic.cumulative(duration_s))


def check_work(*, requests_per_run: float, runs: int, allow_large: bool) -> None:
    """Refuse `runs` replications of `requests_per_run` requests beyond the limit.

    Args:
        requests_per_run: expected simulated requests of one run (`estimate_requests`).
        runs: replications to run (seeds, or cells × seeds, or candidates × seeds).
        allow_large: go ahead anyway (the user's `--allow-large`).

    Raises:
        ScenarioError: the total exceeds MAX_REQUESTS_WITHOUT_ALLOW and `allow_large` is
            false (the message gives the estimate and the option), or it is not finite.
    """
    total = float(requests_per_run) * float(runs)
    if not math.isfinite(total):  # no option makes an infinite run finish
        size = f"{requests_per_run:.3g} requests per run × {runs:,} runs (not a finite number)"
        raise ScenarioError(f"{size}: too much to simulate; check the traffic and the seeds")
    if allow_large or total <= MAX_REQUESTS_WITHOUT_ALLOW:
        return
    hours = total / SIMULATED_REQUESTS_PER_S / 3600.0
    raise ScenarioError(
        f"about {total:.3g} simulated requests ({requests_per_run:.3g} per run × {runs:,} "
        f"run{'s' if runs != 1 else ''}, roughly {hours:,.1f} CPU-hours) exceeds the limit of "
        f"{MAX_REQUESTS_WITHOUT_ALLOW:.3g}: use fewer seeds or a shorter run, or pass "
        "--allow-large to run it anyway"
    )
