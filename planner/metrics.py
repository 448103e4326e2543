"""Summaries across replications: means with 95 % confidence intervals, SLO checks.

The interface:

    summarise(results: Results, slo: Slo | None = None) -> Summary
    @dataclass(frozen=True) Summary:
        reps: int
        values: dict[str, float]               # mean over reps of each SUMMARY_COLUMNS metric
        ci95: dict[str, tuple[float, float]]   # Student-t 95 % interval across reps (equal bounds if 1 rep)
        meets_slo: bool | None                 # upper CI bound of rate_503 <= slo.max_rate_503 and
                                               # upper bound of latency_p99_s <= slo.latency_p99_s
        reasons: tuple[str, ...]               # why not, in words
        def to_json_dict(self) -> dict          # the documented keys (requests, rate_503, rate_504, mean_wait_s,
                                               # latency_p50_s, latency_p95_s, latency_p99_s, peak_replicas,
                                               # replica_seconds, ...) plus "<key>_ci95": [lo, hi]

Details:
    `slo=None` uses `results.scenario.slo`. `meets_slo` is None only when no request was
    counted (nothing to judge). `values` and `ci95` hold every SUMMARY_COLUMNS metric but
    "rep"; a metric that is NaN in some replications (no served request) is averaged over
    the others, and is NaN if it is NaN in all.
    The interval is mean ± t(0.975, n−1) · s / √n with s the sample standard deviation across
    replications; t is scipy's Student-t quantile (`planner.stats.t_quantile_975`).
    `to_json_dict` gives the documented keys first, then the other metrics, "reps", "meets_slo"
    and "reasons"; with more than one replication, "<key>_ci95": [lo, hi] for each rate
    (rate_503, rate_504, p_wait) and each latency/wait (mean_wait_s, latency_*). NaN becomes null.
"""

# ruff: noqa: E501  (the interface block above is aligned as a table; its lines are longer)
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from planner.plain import plain
from planner.simulate import SUMMARY_COLUMNS
from planner.slo import judge_slo
from planner.stats import mean_ci_within

if TYPE_CHECKING:
    from planner.scenario import Slo
    from planner.simulate import Results

__all__ = ["JSON_KEYS", "Summary", "summarise"]

JSON_KEYS = (
    "requests", "rate_503", "rate_504", "mean_wait_s", "latency_p50_s", "latency_p95_s",
    "latency_p99_s", "peak_replicas", "replica_seconds",
)  # fmt: skip
CI_KEYS = (
    "rate_503", "rate_504", "p_wait", "mean_wait_s", "latency_mean_s", "latency_p50_s",
    "latency_p95_s", "latency_p99_s",
)  # fmt: skip
METRICS = tuple(c for c in SUMMARY_COLUMNS if c != "rep")
_INT_KEYS = frozenset({"requests", "n_200", "n_503", "n_504", "peak_replicas", "peak_nodes"})
_FRACTION_KEYS = frozenset({"rate_503", "rate_504", "p_wait"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Summary:
    """Means and 95 % intervals across replications, and the SLO verdict."""

    reps: int
    values: dict[str, float]
    ci95: dict[str, tuple[float, float]]
    meets_slo: bool | None
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe plain data (`planner.plain`): the `to_json_dict` object."""
        return plain(self.to_json_dict())  # type: ignore[no-any-return]

    def to_json_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: the documented keys first, `<key>_ci95` when reps > 1, NaN as null."""
        out: dict[str, Any] = {}
        for key in (*JSON_KEYS, *(k for k in self.values if k not in JSON_KEYS)):
            out[key] = _json_number(self.values[key], integer=key in _INT_KEYS)
        if self.reps > 1:
            for key in CI_KEYS:
                lo, hi = self.ci95[key]
                out[f"{key}_ci95"] = [_json_number(lo), _json_number(hi)]
        out["reps"] = self.reps
        out["meets_slo"] = self.meets_slo
        out["reasons"] = list(self.reasons)
        return out


def _json_number(x: float, *, integer: bool = False) -> float | int | None:
    if not math.isfinite(x):
        return None
    if integer and float(x).is_integer():
        return int(x)
    return float(x)


def summarise(results: Results, slo: Slo | None = None) -> Summary:
    """Average each replication's metrics, with Student-t 95 % intervals, and judge the SLO.

    The SLO is met when the UPPER 95 % bound of rate_503 is <= slo.max_rate_503 and the
    upper bound of latency_p99_s is <= slo.latency_p99_s (a single replication: its value).
    """
    slo = results.scenario.slo if slo is None else slo
    df = results.summary
    values: dict[str, float] = {}
    ci95: dict[str, tuple[float, float]] = {}
    # The node layer adds its own columns (peak_nodes, node_seconds, cost, phase times) when
    # the scenario has nodes; they are averaged like the others.
    extra = tuple(c for c in df.columns if c not in METRICS and c != "rep")
    for key in (*METRICS, *extra):
        upper = 1.0 if key in _FRACTION_KEYS else math.inf
        values[key], ci95[key] = mean_ci_within(df[key].to_numpy(dtype=np.float64), 0.0, upper)
    judgement = judge_slo(
        rate_503_hi=ci95["rate_503"][1],
        latency_p99_s_hi=ci95["latency_p99_s"][1],
        slo=slo,
        requests=values["requests"],
        # One replication has no interval: its own value is judged, and said to be.
        basis="upper 95 % bound" if len(df) > 1 else "of the one replication",
    )
    return Summary(
        reps=len(df),
        values=values,
        ci95=ci95,
        meets_slo=judgement.meets,
        reasons=judgement.reasons,
    )
