"""Number formatting and summary tables.

Like the plots, this module computes no KPIs: it formats what `metrics.summarise` computed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from rich.table import Table

__all__ = [
    "format_rate",
    "format_seconds",
    "slo_verdict",
    "summary_frame",
    "summary_rows",
    "summary_table",
]


def format_rate(rate: float) -> str:
    """A fraction as a percentage a person reads quickly: 0.0123 -> '1.23 %', 0 -> '0 %'."""
    if rate is None or (isinstance(rate, float) and math.isnan(rate)):
        return "n/a"
    pct = 100.0 * float(rate)
    if pct == 0.0:
        return "0 %"
    if abs(pct) >= 10.0:
        return f"{pct:.1f} %"
    if abs(pct) >= 0.01:
        return f"{pct:.3g} %"
    return f"{pct:.2g} %"


def _sig3(value: float) -> str:
    """Three significant digits, never in exponent notation (1234.5 -> '1,234')."""
    return f"{value:,.0f}" if abs(value) >= 999.5 else f"{value:.3g}"


def format_seconds(seconds: float) -> str:
    """A duration with a sensible unit: 0.0123 -> '12.3 ms', 2.5 -> '2.5 s', 5400 -> '90 min'."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "n/a"
    s = float(seconds)
    if math.isinf(s):  # an unbounded confidence limit
        return "∞" if s > 0 else "-∞"
    if s == 0.0:
        return "0 s"
    # Thresholds sit where rounding to 3 digits would carry into the next unit.
    if abs(s) < 0.9995:
        return f"{_sig3(s * 1000.0)} ms"
    if abs(s) < 119.5:
        return f"{_sig3(s)} s"
    if abs(s) < 7195.0:
        return f"{_sig3(s / 60.0)} min"
    return f"{_sig3(s / 3600.0)} h"


def _format_count(value: float) -> str:
    """An integer-ish count with thousands separators; fractional means keep one decimal."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    v = float(value)
    return f"{v:,.0f}" if abs(v - round(v)) < 0.05 or abs(v) >= 1000 else f"{v:,.1f}"


def _format_metric(key: str, value: float) -> str:
    """Format one summary metric by the unit in its name."""
    if key.startswith("rate_") or key == "p_wait":
        return format_rate(value)
    if key == "replica_seconds":
        return f"{float(value) / 3600.0:,.2f} replica-h"
    if key.endswith("_s"):
        return format_seconds(value)
    if key.endswith("_rps"):
        return f"{float(value):,.2f} rps"
    return _format_count(value)


# (key, label) rows of the summary table, in reading order.
SUMMARY_ROWS: tuple[tuple[str, str], ...] = (
    ("requests", "requests after warm-up"),
    ("n_503", "503 (no replica in time)"),
    ("rate_503", "503 rate"),
    ("n_504", "504 (scoring timeout)"),
    ("rate_504", "504 rate"),
    ("p_wait", "requests that queued"),
    ("mean_wait_s", "mean queue wait"),
    ("latency_p50_s", "latency p50"),
    ("latency_p95_s", "latency p95"),
    ("latency_p99_s", "latency p99"),
    ("peak_replicas", "peak replicas"),
    ("replica_seconds", "cost (replica time)"),
    ("throughput_rps", "throughput"),
)


def summary_rows(summary: Any) -> list[tuple[str, str, str]]:
    """(label, mean, 95 % CI) strings for each metric of a `metrics.Summary` that is present."""
    rows: list[tuple[str, str, str]] = []
    values: Mapping[str, float] = summary.values
    ci95: Mapping[str, tuple[float, float]] = summary.ci95
    for key, label in SUMMARY_ROWS:
        if key not in values:
            continue
        mean = _format_metric(key, values[key])
        ci = "—"
        if key in ci95 and summary.reps > 1:
            lo, hi = ci95[key]
            # Counts, rates, times and costs cannot be negative; a Student-t interval over
            # few reps can be, so the shown lower bound stops at zero.
            lo_text, hi_text = _format_metric(key, max(float(lo), 0.0)), _format_metric(key, hi)
            # One unit for both bounds when they share it: "1.8 – 2.2 replica-h".
            lo_num, _, lo_unit = lo_text.partition(" ")
            ci = (
                f"{lo_num} – {hi_text}"
                if lo_unit and hi_text.endswith(" " + lo_unit)
                else f"{lo_text} – {hi_text}"
            )
        rows.append((label, mean, ci))
    return rows


def slo_verdict(summary: Any) -> str:
    """One line: whether the SLO is met (upper CI bounds) and, if not, why."""
    if summary.meets_slo is None:
        return "SLO: not checked"
    if summary.meets_slo:
        if summary.reps < 2:
            return "SLO: met by the one replication's values (no interval from one run)"
        return "SLO: met (upper 95 % bounds within the objective)"
    reasons = "; ".join(summary.reasons) if summary.reasons else "see the table"
    return f"SLO: NOT met: {reasons}"


def summary_table(summary: Any, *, title: str) -> Table:
    """A rich table of a `metrics.Summary`: metric, mean over reps, 95 % CI; SLO verdict below.

    With one replication there is no interval, and no interval column. Every text is shown as
    written (rich markup escaped): a title may carry a user's scenario name.
    """
    from rich.markup import escape
    from rich.table import Table

    reps = int(summary.reps)
    table = Table(
        title=escape(title),
        caption=escape(slo_verdict(summary)),
        caption_justify="left",
        title_justify="left",
    )
    table.add_column("metric")
    table.add_column(f"mean of {reps} rep{'s' if reps != 1 else ''}", justify="right")
    if reps > 1:
        table.add_column("95 % CI", justify="right")
    for label, mean, ci in summary_rows(summary):
        style = "bold red" if label.startswith("503") and mean not in ("0", "0 %") else None
        cells = [escape(label), escape(mean), *([escape(ci)] if reps > 1 else [])]
        table.add_row(*cells, style=style)
    if summary.meets_slo is False:
        table.caption_style = "bold red"
    elif summary.meets_slo:
        table.caption_style = "green"
    return table


def summary_frame(summary: Any) -> pd.DataFrame:
    """The same rows as `summary_table`, as a DataFrame (for HTML and CSV).

    Like the table, it has no interval column for a single replication.
    """
    frame = pd.DataFrame(summary_rows(summary), columns=["metric", "mean", "95 % CI"])
    return frame if int(summary.reps) > 1 else frame.drop(columns="95 % CI")
