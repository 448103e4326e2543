"""The pure parts of the load test: the shape's stages and the arrival schedule (no locust).

Locust's `LoadTestShape` asks every second for (users, spawn_rate); `plan_stages` answers that
ahead of time from the scenario's traffic curve (`planner.traffic.Traffic`, the same object the
simulator samples), so a test can check each stage as a function of t, without running locust.

Users here are arrival generators, not a closed loop: `arrival_schedule` yields the scenario's
own arrival times (the exact NHPP sample the simulator draws for the same seed), and each
request is fired at its time in its own greenlet. The user count therefore only has to be >= 1
per locust worker; it follows the curve (one user per `rps_per_user` of offered rate) so the
users shown in locust's stats read like the traffic.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from planner.traffic import Traffic

__all__ = [
    "DEFAULT_DRAIN_S",
    "DEFAULT_RPS_PER_USER",
    "Stage",
    "arrival_schedule",
    "plan_stages",
    "stage_at",
    "users_for_rate",
]

DEFAULT_RPS_PER_USER = 20.0
DEFAULT_DRAIN_S = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Stage:
    """From `start_s` to `end_s` run `users` users, reached at `spawn_rate` users per second."""

    start_s: float
    end_s: float
    users: int
    spawn_rate: float
    peak_rps: float


def users_for_rate(rate_rps: float, *, rps_per_user: float, min_users: int = 1) -> int:
    """Arrival generators for an offered rate: ceil(rate / rps_per_user), at least min_users."""
    if rps_per_user <= 0:
        raise ValueError(f"rps_per_user must be > 0: {rps_per_user}")
    return max(int(min_users), math.ceil(rate_rps / rps_per_user - 1e-9))


def _breakpoints(traffic: Traffic, duration_s: float, step_s: float) -> list[float]:
    """Stage boundaries: phase boundaries, and every step_s inside ramps and traces."""
    points = {0.0, float(duration_s)}
    start = 0.0
    for phase in traffic.pattern:
        end = start + phase.duration_s
        if start < duration_s:
            points.add(start)
        if phase.to_rps is not None and phase.to_rps != phase.rps:
            points.update(float(t) for t in np.arange(start, min(end, duration_s), step_s))
        start = end
    if traffic.is_trace:
        points.update(float(t) for t in np.arange(0.0, duration_s, step_s))
    return sorted(p for p in points if 0.0 <= p <= duration_s)


def _peak(traffic: Traffic, a: float, b: float) -> float:
    """Highest offered rate on [a, b): piecewise linear with breaks on whole seconds or phases."""
    inside = np.arange(math.ceil(a), b, 1.0)
    probes = np.concatenate([[a, math.nextafter(b, a)], inside])
    return float(traffic.rates_rps(probes).max())


def plan_stages(
    traffic: Traffic,
    duration_s: float,
    *,
    rps_per_user: float = DEFAULT_RPS_PER_USER,
    min_users: int = 1,
    step_s: float = 5.0,
    drain_s: float = DEFAULT_DRAIN_S,
) -> tuple[Stage, ...]:
    """Stages covering [0, duration_s + drain_s): users follow the offered rate.

    Each stage's user change completes within min(1 s, stage length): spawn_rate =
    max(1, |Δusers| / min(1, length)). The last stage is the drain: no new arrivals, the users
    stay until requests in flight have answered. Neighbouring stages with equal users merge.

    Args:
        traffic: the scenario's offered load.
        duration_s: the scenario's duration; arrivals stop there.
        rps_per_user: offered rate one user stands for in the displayed user count.
        min_users: at least this many users (one per locust worker, so each fires its share).
        step_s: stage length inside ramps and traces.
        drain_s: extra time after duration_s before the shape ends the test.
    """
    if duration_s <= 0:
        raise ValueError(f"duration_s must be > 0: {duration_s}")
    if step_s <= 0:
        raise ValueError(f"step_s must be > 0: {step_s}")
    if drain_s < 0:
        raise ValueError(f"drain_s must be >= 0: {drain_s}")
    points = _breakpoints(traffic, duration_s, step_s)
    spans: list[tuple[float, float, int, float]] = []
    for a, b in itertools.pairwise(points):
        peak = _peak(traffic, a, b)
        users = users_for_rate(peak, rps_per_user=rps_per_user, min_users=min_users)
        if spans and spans[-1][2] == users:
            prev = spans[-1]
            spans[-1] = (prev[0], b, users, max(prev[3], peak))
        else:
            spans.append((a, b, users, peak))
    if drain_s > 0:
        last = spans[-1]
        spans[-1] = (last[0], last[1] + drain_s, last[2], last[3])
    stages: list[Stage] = []
    prev_users = 0
    for a, b, users, peak in spans:
        delta = abs(users - prev_users)
        spawn_rate = max(1.0, delta / min(1.0, b - a))
        stages.append(Stage(start_s=a, end_s=b, users=users, spawn_rate=spawn_rate, peak_rps=peak))
        prev_users = users
    return tuple(stages)


def stage_at(stages: tuple[Stage, ...], t_s: float) -> Stage | None:
    """The stage running at time t_s (the first one before 0), or None once the test is over."""
    for stage in stages:
        if t_s < stage.end_s:
            return stage
    return None


def arrival_schedule(
    traffic: Traffic,
    duration_s: float,
    seed: int,
    *,
    worker_index: int = 0,
    workers: int = 1,
) -> Iterator[float]:
    """Arrival times in [0, duration_s) for one locust worker: every workers-th of the sample.

    The sample is the simulator's own for `seed`: the arrivals stream is the first of
    `np.random.SeedSequence(seed).spawn(3)` (planner.model), so replication `seed` of
    `planner simulate` sees exactly these arrival times. Workers share it round-robin, so
    together they send the whole sample.
    """
    if not 0 <= worker_index < workers:
        raise ValueError(f"worker_index must be in 0..{workers - 1}: {worker_index}")
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[0])
    index = 0
    for chunk in traffic.arrival_times(duration_s, rng, chunk_size=4096):
        first = (worker_index - index) % workers
        for t in chunk[first::workers]:
            yield float(t)
        index += chunk.size
