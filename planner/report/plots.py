"""Plots of sweep grids and of candidate settings; figure saving.

Every plot has the shape `plot_x(df, *, ax=None) -> Axes`, imports pyplot inside and returns
the axes, so a caller can restyle or save them and tests can use the Agg backend. Nothing here
computes a KPI: the frames come from `simulate`, `sweep` and `recommend` and are drawn as they
are. The stacked timeline of one simulation is `planner.report.timeline.plot_timeline`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["R503_COLOUR", "plot_candidates", "plot_heatmap", "save_figure"]

R503_COLOUR = "#c44e52"
"""The colour of 503s in every figure (reads in print and for common colour-vision deficiencies)."""


def plot_heatmap(
    df: pd.DataFrame,
    x: str,
    y: str,
    value: str,
    *,
    ax: Axes | None = None,
    fmt: str = "{:.3g}",
    cmap: str = "viridis",
    label: str | None = None,
) -> Axes:
    """An annotated grid of `value` over two swept fields (mean where cells repeat, e.g. reps)."""
    import matplotlib.pyplot as plt

    for name in (x, y, value):
        if name not in df.columns:
            raise ValueError(f"heatmap column {name!r} not in the frame: {list(df.columns)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 5))
    grid = df.pivot_table(index=y, columns=x, values=value, aggfunc="mean").sort_index()
    grid = grid.reindex(sorted(grid.columns), axis=1)
    data = grid.to_numpy(dtype=float)
    image = ax.imshow(data, origin="lower", aspect="auto", cmap=cmap)
    ax.set_xticks(range(grid.shape[1]), [str(v) for v in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [str(v) for v in grid.index])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(label or value, loc="left")
    cbar = ax.figure.colorbar(image, ax=ax)
    cbar.set_label(label or value)
    finite = data[np.isfinite(data)]
    mid = (finite.min() + finite.max()) / 2.0 if finite.size else 0.0
    for i in range(data.shape[0]):
        for j in range(data.shape[1]):
            v = data[i, j]
            text = "n/a" if not np.isfinite(v) else fmt.format(v)
            # viridis is dark at the low end: white text there, black on the bright end.
            color = "white" if (np.isfinite(v) and v < mid) else "black"
            ax.text(j, i, text, ha="center", va="center", fontsize=9, color=color)
    return ax


def plot_candidates(
    df: pd.DataFrame,
    *,
    x: str = "cost",
    y: str = "rate_503",
    passed: str = "meets_slo",
    max_rate_503: float | None = None,
    chosen: Any = None,
    label: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Cost (x) against 503 rate (y, log) of candidates: pass/fail markers, SLO line, the choice.

    Rates of exactly zero cannot sit on a log axis: they are drawn at the bottom edge with an
    open marker and the note "0" in the legend. `chosen` is an index label of `df`, or None to
    use a boolean column "chosen" if there is one. `label` names a column used to annotate points.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 5))
    xs = df[x].to_numpy(dtype=float)
    ys = df[y].to_numpy(dtype=float)
    positive = ys[ys > 0]
    floor = positive.min() / 10.0 if positive.size else 1e-6
    if max_rate_503 is not None and max_rate_503 > 0:
        floor = min(floor, max_rate_503 / 10.0)
    y_plot = np.where(ys > 0, ys, floor)
    ok = df[passed].to_numpy(dtype=bool) if passed in df.columns else np.ones(len(df), bool)
    zero = ys <= 0
    for mask, marker, color, name in (
        (ok & ~zero, "o", "#55a868", "meets SLO"),
        (~ok & ~zero, "x", R503_COLOUR, "fails SLO"),
        (ok & zero, "o", "none", "meets SLO (0 % 503, drawn at floor)"),
        (~ok & zero, "s", "none", "fails SLO (0 % 503, drawn at floor)"),
    ):
        if mask.any():
            edge = "#55a868" if ok[mask].all() else R503_COLOUR
            ax.scatter(
                xs[mask],
                y_plot[mask],
                marker=marker,
                s=45,
                label=name,
                c=color if color != "none" else "none",
                edgecolors=edge if color == "none" else None,
            )
    if max_rate_503 is not None:
        ax.axhline(
            max_rate_503,
            color="#555555",
            ls="--",
            lw=1.0,
            label=f"SLO: max 503 rate {100.0 * max_rate_503:.3g} %",
        )
    if chosen is None and "chosen" in df.columns:
        picked = df.index[df["chosen"].to_numpy(dtype=bool)]
        chosen = picked[0] if len(picked) else None
    if chosen is not None:
        pos = df.index.get_loc(chosen)
        ax.scatter(
            [xs[pos]],
            [y_plot[pos]],
            s=220,
            facecolors="none",
            edgecolors="black",
            linewidths=2.0,
            label="chosen",
        )
    if label is not None and label in df.columns:
        for xi, yi, text in zip(xs, y_plot, df[label].astype(str), strict=True):
            ax.annotate(text, (xi, yi), xytext=(4, 4), textcoords="offset points", fontsize=8)
    ax.set_yscale("log")
    ax.set_xlabel(x.replace("_", " "))
    ax.set_ylabel("503 rate (log scale)")
    ax.set_title("Candidate settings: cost against 503 rate", loc="left")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def save_figure(fig: Figure | Axes | Any, path: str | Path, *, dpi: int = 120) -> Path:
    """Save a Figure (or the figure of an Axes / array of Axes) to `path`, creating folders."""
    figure = _as_figure(fig)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=dpi, bbox_inches="tight")
    return out


def _as_figure(obj: Any) -> Figure:
    """The Figure behind a Figure, an Axes or an array of Axes."""
    from matplotlib.axes import Axes as _Axes

    if isinstance(obj, np.ndarray):
        obj = obj.ravel()[0]
    if isinstance(obj, _Axes):
        return obj.figure  # type: ignore[return-value]
    return obj  # type: ignore[no-any-return]
