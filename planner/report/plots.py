"""Plots of a simulation's timeline, of sweep grids and of candidate settings; figure saving.

Every plot has the shape `plot_x(df, *, ax=None) -> Axes` (the stacked timeline returns its
array of Axes), imports pyplot inside and returns the axes, so a caller can restyle or save
them and tests can use the Agg backend. Nothing here computes a KPI: the frames come from
`simulate` and `metrics` and are drawn as they are.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_candidates", "plot_heatmap", "plot_timeline", "save_figure"]

# Colours chosen to read in print and for the common colour-vision deficiencies.
_READY = "#4c72b0"
_STARTING = "#f2b134"
_DRAINING = "#b0b0b0"
_R503 = "#c44e52"
_R504 = "#8172b2"
_OFFERED = "#222222"
_ARRIVALS = "#55a868"


def _select_rep(
    timeline: pd.DataFrame, rep: int | None
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The frame to draw (one rep, or the mean of all reps) and, for the mean, a min–max band."""
    if "rep" not in timeline.columns:
        return timeline.sort_values("t_s"), None
    reps = timeline["rep"].unique()
    if rep is not None:
        one = timeline[timeline["rep"] == rep]
        if one.empty:
            raise ValueError(f"rep {rep} not in the timeline (reps: {sorted(reps.tolist())})")
        return one.sort_values("t_s"), None
    if len(reps) == 1:
        return timeline.sort_values("t_s"), None
    grouped = timeline.drop(columns="rep").groupby("t_s", sort=True)
    mean = grouped.mean().reset_index()
    lo = grouped.min().reset_index()
    hi = grouped.max().reset_index()
    band = lo.merge(hi, on="t_s", suffixes=("_lo", "_hi"))
    return mean, band


def _starting_area(ax: Axes, t: np.ndarray, starting: np.ndarray) -> Axes:
    """Replicas starting as a shaded step area on a right-hand axis behind the error bars."""
    twin = ax.twinx()
    twin.fill_between(
        t,
        0,
        starting,
        step="post",
        color=_STARTING,
        alpha=0.45,
        lw=0,
        label="replicas starting (right axis)",
    )
    twin.set_ylabel("replicas starting", color="#a0700a")
    twin.tick_params(axis="y", colors="#a0700a", labelsize=8)
    twin.set_ylim(0, max(float(starting.max()), 1.0) * 1.1)
    # Draw the bars above the shade: the main axes in front, its background transparent.
    ax.set_zorder(twin.get_zorder() + 1)
    ax.patch.set_visible(False)
    return twin


def plot_timeline(
    timeline: pd.DataFrame,
    *,
    rep: int | None = None,
    axes: Any = None,
    min_replicas: int | None = None,
    max_replicas: int | None = None,
    warmup_s: float | None = None,
    title: str | None = None,
) -> np.ndarray:
    """Four stacked panels sharing time: traffic, replicas, queue and busy, 503/504 per second.

    The 503 panel is shaded where replicas are starting, so a person sees at a glance that the
    errors came while new capacity was still cold. With several reps and `rep=None` the mean
    over reps is drawn with a min–max band; `rep=k` draws replication k alone.

    Args:
        timeline: `Results.timeline` (rep, t_s, rps_offered, arrivals, ready, starting, draining,
            desired, queue_len, busy, n_503, n_504); missing optional columns are skipped.
        rep: which replication to draw; None = the only one, or the mean of all.
        axes: four Axes to draw into (a new figure when None).
        min_replicas, max_replicas: autoscaler bounds, drawn as dashed lines.
        warmup_s: shade the warm-up, which the statistics exclude.
        title: figure title.

    Returns:
        The array of four Axes.
    """
    import matplotlib.pyplot as plt

    if axes is None:
        fig, axes = plt.subplots(
            4, 1, sharex=True, figsize=(11, 9), gridspec_kw={"height_ratios": [1, 1.2, 1, 1]}
        )
    axes = np.asarray(axes).ravel()
    if axes.size != 4:
        raise ValueError(f"plot_timeline needs 4 axes, got {axes.size}")
    fig = axes[0].figure
    df, band = _select_rep(timeline, rep)
    t = df["t_s"].to_numpy(dtype=float)
    n_reps = timeline["rep"].nunique() if "rep" in timeline.columns else 1
    label_kind = f"mean of {n_reps} reps, band min–max" if band is not None else None

    def col(name: str) -> np.ndarray | None:
        return df[name].to_numpy(dtype=float) if name in df.columns else None

    def draw_band(ax: Axes, name: str, color: str) -> None:
        if band is not None and f"{name}_lo" in band.columns:
            ax.fill_between(
                band["t_s"],
                band[f"{name}_lo"],
                band[f"{name}_hi"],
                step="post",
                color=color,
                alpha=0.15,
                lw=0,
            )

    ax_rps, ax_rep, ax_q, ax_err = axes

    # 1. Traffic.
    arrivals = col("arrivals")
    if arrivals is not None:
        ax_rps.step(
            t, arrivals, where="post", color=_ARRIVALS, lw=0.8, alpha=0.8, label="arrivals (per s)"
        )
        draw_band(ax_rps, "arrivals", _ARRIVALS)
    offered = col("rps_offered")
    if offered is not None:
        ax_rps.plot(t, offered, color=_OFFERED, lw=1.6, label="offered rate")
    ax_rps.set_ylabel("requests / s")
    ax_rps.set_title("Traffic", loc="left", fontsize=10)

    # 2. Replicas: ready and starting stacked, desired as a step line, bounds dashed.
    ready = col("ready")
    starting = col("starting")
    draining = col("draining")
    base = np.zeros_like(t)
    for values, color, name in (
        (ready, _READY, "ready"),
        (starting, _STARTING, "starting (cold)"),
        (draining, _DRAINING, "draining"),
    ):
        if values is None or (name == "draining" and not values.any()):
            continue
        ax_rep.fill_between(
            t, base, base + values, step="post", color=color, alpha=0.85, lw=0, label=name
        )
        base = base + values
    desired = col("desired")
    if desired is not None:
        ax_rep.step(t, desired, where="post", color="black", lw=1.2, label="desired")
    bounds = [b for b in (min_replicas, max_replicas) if b is not None]
    if bounds:
        bound_label = " / ".join(
            f"{name} {b}"
            for name, b in (("min", min_replicas), ("max", max_replicas))
            if b is not None
        )
        for i, bound in enumerate(bounds):
            ax_rep.axhline(
                bound,
                color="#555555",
                ls="--",
                lw=1.0,
                label=f"bounds ({bound_label})" if i == 0 else None,
            )
    ax_rep.set_ylabel("replicas")
    ax_rep.set_ylim(0, max(1.0, ax_rep.get_ylim()[1]) * 1.05)
    ax_rep.set_title("Replicas", loc="left", fontsize=10)

    # 3. Router queue and busy slots.
    for name, color, label in (
        ("busy", _READY, "busy (in service)"),
        ("queue_len", _R503, "queued at router"),
    ):
        values = col(name)
        if values is not None:
            ax_q.step(t, values, where="post", color=color, lw=1.1, label=label)
            draw_band(ax_q, name, color)
    ax_q.set_ylabel("requests")
    ax_q.set_ylim(bottom=0)
    ax_q.set_title("Router queue", loc="left", fontsize=10)

    # 4. Errors per second over the number of replicas starting, so the cause is visible.
    twin = _starting_area(ax_err, t, starting) if starting is not None else None
    n503 = col("n_503")
    n504 = col("n_504")
    bottom = np.zeros_like(t)
    if n503 is not None:
        ax_err.bar(t, n503, width=1.0, align="edge", color=_R503, lw=0, label="503 per s")
        bottom = n503
    if n504 is not None and n504.any():
        ax_err.bar(
            t, n504, width=1.0, align="edge", bottom=bottom, color=_R504, lw=0, label="504 per s"
        )
    ax_err.set_ylabel("errors / s")
    ax_err.set_ylim(bottom=0)
    if n503 is not None and not (n503.any() or (n504 is not None and n504.any())):
        ax_err.set_ylim(0, 1)
        ax_err.text(
            0.5,
            0.5,
            "no 503 or 504 responses",
            transform=ax_err.transAxes,
            ha="center",
            va="center",
            color="#555555",
        )
    ax_err.set_title("Errors", loc="left", fontsize=10)
    ax_err.set_xlabel("simulated time (s)")

    if t.size:
        ax_err.set_xlim(t[0], t[-1] + 1.0)
    for ax in axes:
        if warmup_s:
            ax.axvspan(
                t[0] if t.size else 0.0,
                warmup_s,
                color="#000000",
                alpha=0.06,
                lw=0,
                label="warm-up (excluded)" if ax is ax_rps else None,
            )
        ax.grid(True, axis="y", alpha=0.3)
        ax.margins(x=0)
        handles, labels = ax.get_legend_handles_labels()
        if ax is ax_err and twin is not None:
            more = twin.get_legend_handles_labels()
            handles, labels = handles + more[0], labels + more[1]
        if handles:
            # Right of the panels, clear of the right-hand axis of the error panel.
            ax.legend(
                handles,
                labels,
                loc="upper left",
                bbox_to_anchor=(1.07, 1.0),
                fontsize=8,
                frameon=False,
            )
    heading = title or "Simulation timeline"
    if label_kind:
        heading = f"{heading}: {label_kind}"
    elif rep is not None:
        heading = f"{heading}: rep {rep}"
    fig.suptitle(heading, x=0.01, ha="left", fontsize=12)
    fig.tight_layout()
    return np.asarray(axes)


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
        (~ok & ~zero, "x", _R503, "fails SLO"),
        (ok & zero, "o", "none", "meets SLO (0 % 503, drawn at floor)"),
        (~ok & zero, "s", "none", "fails SLO (0 % 503, drawn at floor)"),
    ):
        if mask.any():
            edge = "#55a868" if ok[mask].all() else _R503
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
