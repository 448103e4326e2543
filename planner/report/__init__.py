"""Reports: data in, text or figures out; no KPI is computed here.

- `tables`: number formatting, summary rows and rich tables.
- `plots`: `plot_x(df, *, ax=None) -> Axes` figures and `save_figure`.
- `timeline`: `plot_timeline`, the stacked panels of one simulation (nodes too, with a node layer).
- `html`: one self-contained HTML page.
"""

from __future__ import annotations

from planner.report.html import write_html
from planner.report.plots import plot_candidates, plot_heatmap, save_figure
from planner.report.tables import (
    format_rate,
    format_seconds,
    slo_verdict,
    summary_frame,
    summary_rows,
    summary_table,
)
from planner.report.timeline import plot_timeline

__all__ = [
    "format_rate",
    "format_seconds",
    "plot_candidates",
    "plot_heatmap",
    "plot_timeline",
    "save_figure",
    "slo_verdict",
    "summary_frame",
    "summary_rows",
    "summary_table",
    "write_html",
]
