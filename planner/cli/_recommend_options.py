"""The checks of `planner recommend`'s options: each returns the value or raises BadParameter."""

from __future__ import annotations

import math

import typer

from planner.formulas import MAX_SERVERS
from planner.recommend.closed_form import MAX_REQUEST_TIME_S, MAX_SCV, MAX_WAIT_S


def finite(value: float) -> float:
    if not math.isfinite(value):
        raise typer.BadParameter(f"must be a finite number: {value}")
    return value


def positive(value: float) -> float:
    if not finite(value) > 0:
        raise typer.BadParameter(f"must be > 0: {value:g}")
    return value


def optional_positive(value: float | None) -> float | None:
    return None if value is None else positive(value)


def non_negative(value: float) -> float:
    if not finite(value) >= 0:
        raise typer.BadParameter(f"must be >= 0: {value:g}")
    return value


def fraction_target(value: float) -> float:
    # Azure ML takes the target as a whole percent, 1 to 100: below 0.01 nothing is deployable.
    if not 0.01 <= value <= 1:
        raise typer.BadParameter(f"must be in [0.01, 1] (0.7 = 70 %): {value:g}")
    return value


def request_time(value: float) -> float:
    if not 0 < finite(value) <= MAX_REQUEST_TIME_S:
        raise typer.BadParameter(f"must be in (0, {MAX_REQUEST_TIME_S:g}] seconds: {value:g}")
    return value


def max_wait(value: float) -> float:
    if not 0 <= finite(value) <= MAX_WAIT_S:
        raise typer.BadParameter(f"must be in [0, {MAX_WAIT_S:g}] seconds: {value:g}")
    return value


MAX_SIMULATED_S = 86_400.0  # a spike or a cold start longer than a day is no spike: steady state


def simulated_seconds(value: float) -> float:
    if not 0 <= finite(value) <= MAX_SIMULATED_S:
        raise typer.BadParameter(f"must be in [0, {MAX_SIMULATED_S:g}] seconds: {value:g}")
    return value


def spike_seconds(value: float) -> float:
    if not simulated_seconds(value) > 0:
        raise typer.BadParameter(f"must be > 0: {value:g}")
    return value


def scv(value: float) -> float:
    if not 0 <= finite(value) <= MAX_SCV:
        raise typer.BadParameter(f"must be in [0, {MAX_SCV:g}] (1 = exponential): {value:g}")
    return value


def concurrency(value: int) -> int:
    if not 1 <= value <= MAX_SERVERS:
        raise typer.BadParameter(f"must be an integer in [1, {MAX_SERVERS:.0e}]: {value}")
    return value


def fraction_slo(value: float) -> float:
    if value == 0:  # with a finite wait limit some request always waits longer: never met
        raise typer.BadParameter(f"must be > 0 (0 needs an infinite wait): {value:g}")
    if not 0 < value < 1:
        raise typer.BadParameter(f"must be in (0, 1) (0.001 = 0.1 %): {value:g}")
    return value


def optional_non_negative(value: float | None) -> float | None:
    return None if value is None else non_negative(value)


def optional_at_least_one(value: int | None) -> int | None:
    return None if value is None else at_least_one(value)


def at_least_one(value: int) -> int:
    if value < 1:
        raise typer.BadParameter(f"must be an integer >= 1: {value}")
    return value
