"""The load test's verdict, start to end: which seeds to simulate, whether to calibrate, judge.

`planner loadtest` parses its options and calls these; tests call them directly.

- `prediction_seeds`: the seeds to simulate. The seed whose arrivals the load test sends comes
  first (its replication is the paired prediction), and at least `MIN_SEEDS` in all, so that
  the other seeds (at least two) give the spread of the band.
- `predict`: the scenario over those seeds, per-request rows kept when they fit in memory.
- `calibration_skipped`: why the prediction is not calibrated ("" when it is).
- `judge`: the calibrated comparison when the deployment measured itself, else the scenario
  as specified, with the reason in the notes.
- `exit_code`: 0 when the SLO is met and the measurement agrees, else 1.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from planner.loadtest.calibrate import calibrate as calibrated_scenario
from planner.loadtest.calibrate import compare_calibrated
from planner.loadtest.compare import Measurement, Validation, compare

if TYPE_CHECKING:
    from planner.loadtest.verdict import Tolerance
    from planner.scenario import Scenario
    from planner.simulate import Results

__all__ = [
    "KEEP_REQUESTS_MAX",
    "MIN_SEEDS",
    "calibration_skipped",
    "exit_code",
    "judge",
    "predict",
    "prediction_seeds",
]

MIN_SEEDS = 3  # the paired seed and at least two others for the spread
KEEP_REQUESTS_MAX = 2_000_000  # simulated requests over all seeds kept for per-second latency


def prediction_seeds(
    file_seeds: Sequence[int], *, n: int | None = None, seed: int | None = None
) -> tuple[int, ...]:
    """The seeds to simulate: the sent `seed` (default the file's first) first, >= MIN_SEEDS.

    The others are the file's seeds in order, then the next unused integers.
    """
    pool = list(dict.fromkeys(file_seeds)) or [0]
    first = pool[0] if seed is None else int(seed)
    want = max(MIN_SEEDS, len(pool) if n is None else n)
    seeds = [first, *(s for s in pool if s != first)]
    candidate = max(seeds) + 1
    while len(seeds) < want:
        if candidate not in seeds:
            seeds.append(candidate)
        candidate += 1
    return tuple(seeds[:want])


def predict(scenario: Scenario, seeds: Sequence[int]) -> Results:
    """The scenario over the seeds, per-request rows kept when they fit in memory."""
    from planner.simulate import run

    expected = scenario.traffic.mean_rps(0.0, scenario.duration_s) * scenario.duration_s
    return run(
        scenario,
        list(seeds),
        keep_requests=expected * len(seeds) < KEEP_REQUESTS_MAX,
        processes=max(1, min(len(seeds), os.cpu_count() or 1)),
    )


def calibration_skipped(measured: Measurement, *, calibrate: bool) -> str:
    """Why the prediction is not calibrated with what the deployment measured ("" if it is)."""
    if measured.platform is None:
        return (
            "not calibrated: replica start and request times of a remote endpoint (--host) are "
            "unknown"
        )
    if not calibrate:
        return "not calibrated (--no-calibrate)"
    if not (measured.platform.start_times_s or measured.platform.dispatched):
        return "not calibrated: the deployment measured no replica start and no request"
    return ""


def judge(
    scenario: Scenario,
    seeds: Sequence[int],
    measured: Measurement,
    predicted: Results,
    tolerance: Tolerance | None = None,
    *,
    calibrate: bool = True,
    simulate: Callable[[Scenario, Sequence[int]], Results] = predict,
) -> Validation:
    """Compare with the calibrated simulation (same seeds) when possible, else as specified.

    Args:
        scenario: the scenario as specified (its SLO is the objective).
        seeds: the seeds of `predicted`; the calibrated simulation uses the same ones.
        measured: the load test.
        predicted: `predict(scenario, seeds)`.
        tolerance: the allowances that are not measured.
        calibrate: judge against the prediction calibrated with the measured replica start
            and slot times (local deployments only).
        simulate: how to simulate the calibrated scenario (default `predict`).
    """
    why_not = calibration_skipped(measured, calibrate=calibrate)
    if not why_not:
        assert measured.platform is not None  # calibration_skipped checked it
        calibrated, calibration = calibrated_scenario(scenario, measured.platform)
        if calibration.overrides:
            again = simulate(calibrated, seeds)
            return compare_calibrated(
                measured, predicted, again, calibration, scenario.slo, tolerance
            )
        why_not = "not calibrated: the deployment measured no replica start and no request"
    validation = compare(measured, predicted, scenario.slo, tolerance)
    note = f"{why_not}; the prediction uses the scenario as specified"
    return replace(validation, notes=(*validation.notes, note))


def exit_code(validation: Validation) -> int:
    """0: the SLO is met and the measurement agrees with the prediction; 1 otherwise."""
    return 0 if validation.ok else 1
