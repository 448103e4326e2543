"""The `planner loadtest` table: measured vs predicted, as specified and calibrated."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from planner.loadtest.compare import Check, Validation
    from planner.scenario import Scenario

__all__ = ["ROW_COLUMNS", "columns", "print_table", "rows"]


def rows(v: Validation) -> list[tuple[str, ...]]:
    """One tuple of strings per check, in the order of `columns(v)`."""
    from planner.loadtest.compare import LABELS

    spec = v.specified
    out: list[tuple[str, ...]] = []
    for name, check in v.checks.items():
        fmt = _formatter(name)
        cells = [LABELS.get(name, name)]
        if spec is not None:
            other = spec.checks[name]
            cells += [fmt(other.predicted), _paired(other, fmt), VERDICTS[other.agrees]]
        cells += [
            fmt(check.predicted),
            _paired(check, fmt),
            f"{fmt(check.band[0])} – {fmt(check.band[1])}",
            fmt(check.measured),
            f"{fmt(check.measured_ci95[0])} – {fmt(check.measured_ci95[1])}",
            VERDICTS[check.agrees],
        ]
        out.append(tuple(cells))
    return out


def columns(v: Validation) -> tuple[str, ...]:
    """ROW_COLUMNS, or with calibration the as-specified and calibrated predictions apart."""
    if v.specified is None:
        return ROW_COLUMNS
    return (
        "metric",
        "predicted, as specified",
        "paired seed, as specified",
        "verdict, as specified",
        "predicted, calibrated",
        "paired seed, calibrated",
        "band, calibrated",
        *ROW_COLUMNS[4:],
    )


def _formatter(name: str) -> Callable[[float], str]:
    from planner.report import format_rate, format_seconds

    if name == "rate_503":
        return _finite(format_rate)
    if name.endswith("_s"):
        return _finite(format_seconds)
    return _finite(lambda x: f"{x:.3g}")


def _finite(fmt: Callable[[float], str]) -> Callable[[float], str]:
    """`fmt`, with n/a for NaN and ∞ for an unbounded interval end."""

    def show(x: float) -> str:
        if math.isnan(x):
            return "n/a"
        if math.isinf(x):
            return "∞" if x > 0 else "−∞"
        return fmt(x)

    return show


def _paired(check: Check, fmt: Callable[[float], str]) -> str:
    return fmt(check.paired) if math.isfinite(check.paired) else "—"


VERDICTS = {True: "agrees", False: "DISAGREES", None: "—"}
# predicted: mean over seeds; paired seed: the seed whose arrivals were sent; band: paired ±
# the other seeds' spread ± the allowance, widened by the measured 95 % CI
ROW_COLUMNS = ("metric", "predicted", "paired seed", "band", "measured", "95 % CI", "verdict")
# The console's row labels with calibration (a narrow first column keeps 80 columns readable).
SHORT_LABELS = ("as specified", "  paired", "  verdict", "calibrated", "  paired", "  band",
                "measured", "  95 % CI", "verdict")  # fmt: skip


def print_table(scenario: Scenario, v: Validation, files: list[str]) -> None:
    """The side-by-side table, the verdicts and the notes."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    c = v.counts
    table = Table(
        title=f"{scenario.name}: simulated ({v.reps} seeds) vs measured",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,  # adjacent cells share one space: 80 columns fit
    )
    table_rows = rows(v)
    table.add_column("", no_wrap=True)
    for row in table_rows:
        table.add_column(row[0], justify="right", no_wrap=True)
    labels = columns(v)[1:] if v.calibration is None else SHORT_LABELS
    for i, label in enumerate(labels, start=1):
        cells = [row[i] for row in table_rows]
        alarm = "DISAGREES" in cells
        style = ("yellow" if i <= 3 and v.calibration else "bold red") if alarm else None
        table.add_row(label, *cells, style=style)
    console.print(table)
    if v.calibration is not None:
        console.print(f"{v.calibration.label}; the verdict uses the calibrated prediction")
    console.print(
        f"requests after warm-up {c['requests']} (sent {c['sent']}, answered {c['answered']}): "
        f"2xx {c['n_2xx']}, 503 {c['n_503']}, 429 {c['n_429']}, 504 {c['n_504']}, "
        f"other {c['n_other']}, no answer {c['n_no_answer'] + c['pending']}"
    )
    slo = {True: "met", False: "NOT met", None: "not judged"}[v.meets_slo]
    agree = "yes" if v.agrees_with_prediction else "NO"
    console.print(f"SLO {slo}; agrees with the prediction: {agree}")
    for reason in v.reasons:
        console.print(f"  - {reason}")
    for note in v.notes:
        console.print(f"note: {note}")
    for path in files:
        console.print(f"wrote {path}")
