"""The words of a load-test verdict: metric labels, values as printed, and the reasons.

`planner.loadtest.compare.compare` builds its reasons with these: why a metric disagrees with
the prediction, why a measurement cannot be compared at all, and why a short run cannot show
a 503 rate within the objective.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from planner.model_nodes import PHASES

if TYPE_CHECKING:
    import pandas as pd

    from planner.loadtest.compare import Check, Measurement

__all__ = [
    "LABELS",
    "disagreement",
    "format_value",
    "node_note",
    "pct",
    "too_short",
    "validity",
]


LABELS = {
    "rate_503": "503 rate",
    "latency_p50_s": "latency p50",
    "latency_p95_s": "latency p95",
    "latency_p99_s": "latency p99",
    "peak_replicas": "peak replicas",
}


def format_value(name: str, x: float) -> str:
    """A metric's value as the reasons print it: a percentage, seconds or a count."""
    if not math.isfinite(x):
        return "n/a" if math.isnan(x) else ("∞" if x > 0 else "−∞")
    if name == "rate_503":
        return pct(x)
    if name.endswith("_s"):
        return f"{x:.3f} s"
    return f"{x:.3g}"


def disagreement(check: Check) -> str:
    def fmt(v: float) -> str:
        return format_value(check.name, v)

    side = "above" if check.measured > check.band[1] else "below"
    return (
        f"disagrees with the prediction: measured {LABELS[check.name]} {fmt(check.measured)} is "
        f"{side} the band {fmt(check.band[0])} – {fmt(check.band[1])} (paired seed "
        f"{fmt(check.paired)} ± spread {fmt(check.spread)} ± allowance {fmt(check.allowance)})"
    )


def validity(
    measured: Measurement, counts: dict[str, int], reasons: list[str], notes: list[str]
) -> bool:
    """Reasons the measurement itself cannot be compared; False if there are any."""
    valid = True
    if measured.aborted:
        valid = False
        reasons.append(f"load test aborted: {measured.aborted}")
    if counts["n_other"]:
        valid = False
        statuses = measured.requests["status"]
        other = sorted(set(statuses[~statuses.isin((0, 429, 503, 504))]) - set(range(200, 300)))
        hint = " (check --key)" if {401, 403} & set(other) else ""
        reasons.append(
            f"{counts['n_other']} requests answered {', '.join(map(str, other))}, which the "
            f"simulation does not model{hint}"
        )
    lost = counts["n_no_answer"] + counts["pending"]
    if lost:
        valid = False
        reasons.append(f"{lost} requests got no HTTP answer (connection error or still pending)")
    lag = measured.requests["lag_s"].to_numpy(dtype=np.float64)
    lag_p99 = float(np.quantile(lag, 0.99)) if lag.size else 0.0
    if lag_p99 > 0.25:
        valid = False
        reasons.append(
            f"the load generator fell behind: 1 % of requests left more than {lag_p99:.2f} s "
            "late, so the offered load was not the scenario's (try --workers)"
        )
    elif lag.size:
        notes.append(f"load generator lag: p99 {lag_p99 * 1000:.1f} ms after schedule")
    return valid


def too_short(max_rate: float) -> str:
    """Why a measured rate within the objective does not meet it: too few requests to show it."""
    # With 0 overloads in n requests the upper bound is 1 − 0.025^(1/n) (Clopper–Pearson).
    needed = math.ceil(math.log(0.025) / math.log1p(-max_rate)) if max_rate > 0 else math.inf
    return (
        f"the measured 503 rate is within slo.max_rate_503 but the run is too short to show it: "
        f"at least {needed:,} requests without an overload would (a longer duration_s)"
    )


def pct(x: float) -> str:
    """A rate as a percentage, small rates to two significant digits."""
    if not math.isfinite(x):
        return "n/a"
    return f"{100 * x:.2f} %" if x >= 0.0001 or x == 0 else f"{100 * x:.2g} %"


def node_note(nodes: dict[str, Any], summary: pd.DataFrame) -> str:
    """`nodes: peak 3 measured vs 3 predicted; node provisioning max 10.0 s vs 10.0 s; ...`.

    `nodes` is the local deployment's node report (`PlatformTimes.nodes`), `summary` the
    simulated one (its `peak_nodes` and `<phase>_max_s` columns, mean over the seeds).
    """
    phases = nodes.get("phases") or {}
    parts = [f"peak {nodes.get('peak_nodes')} measured vs {_mean(summary, 'peak_nodes')} predicted"]
    for phase in PHASES:
        key = f"{phase}_max_s"
        value = phases.get(key)
        shown = "n/a" if value is None else f"{value:.3g} s"
        parts.append(f"{phase.replace('_', ' ')} max {shown} vs {_mean(summary, key)} s")
    return "nodes: " + "; ".join(parts) + " (each replica's phases are in validation.json)"


def _mean(summary: pd.DataFrame, column: str) -> str:
    if column not in summary.columns:
        return "n/a"
    return f"{float(summary[column].mean()):.3g}"
