"""The stacked timeline of one simulation: traffic, replicas, nodes, router queue, errors.

`plot_timeline(timeline) -> array of Axes` draws `Results.timeline` as it is (the mean over
reps with a min–max band when there are several); it imports pyplot inside, so tests can use
the Agg backend. Nothing here computes a KPI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from planner.model_nodes import NODE_TIMELINE_COLUMNS
from planner.report.plots import R503_COLOUR as _R503

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_timeline"]

# Colours chosen to read in print and for the common colour-vision deficiencies.
_READY = "#4c72b0"
_STARTING = "#f2b134"
_DRAINING = "#b0b0b0"
_R504 = "#8172b2"
_OFFERED = "#222222"
_ARRIVALS = "#55a868"
_PROVISIONING = "#dd8452"
_PENDING = "#937860"


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


def _nodes_panel(ax: Axes, t: np.ndarray, col: Any, draw_band: Any) -> Axes:
    """Nodes ready and provisioning (left axis), pods Pending for a node (right axis)."""
    for name, color, style, label in (
        ("nodes_ready", _READY, "-", "nodes ready"),
        ("nodes_provisioning", _PROVISIONING, "--", "nodes provisioning"),
    ):
        ax.step(t, col(name), where="post", color=color, ls=style, lw=1.4, label=label)
        draw_band(ax, name, color)
    ax.set_ylabel("nodes")
    ax.set_ylim(0, max(1.0, ax.get_ylim()[1]) * 1.1)
    ax.set_title("Nodes", loc="left", fontsize=10)
    twin = ax.twinx()
    pending = col("pods_pending")
    twin.step(t, pending, where="post", color=_PENDING, lw=1.1, label="pods pending (right axis)")
    draw_band(twin, "pods_pending", _PENDING)
    twin.set_ylabel("pods pending", color=_PENDING)
    twin.tick_params(axis="y", colors=_PENDING, labelsize=8)
    twin.set_ylim(0, max(float(pending.max()) if pending.size else 0.0, 1.0) * 1.1)
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
    """Stacked panels sharing time: traffic, replicas, (nodes,) queue and busy, 503/504 per second.

    With the node layer's columns (NODE_TIMELINE_COLUMNS) a Nodes panel follows the replicas: nodes
    ready and provisioning, and the pods Pending for a node on a right-hand axis. The 503
    panel is shaded where replicas are starting, so a person sees at a glance that the errors
    came while new capacity was still cold. With several reps and `rep=None` the mean
    over reps is drawn with a min–max band; `rep=k` draws replication k alone.

    Args:
        timeline: `Results.timeline` (rep, t_s, rps_offered, arrivals, ready, starting, draining,
            desired, queue_len, busy, n_503, n_504); missing optional columns are skipped.
        rep: which replication to draw; None = the only one, or the mean of all.
        axes: four Axes to draw into, five with the node columns (a new figure when None;
            four given for a timeline with node columns leave the Nodes panel out).
        min_replicas, max_replicas: autoscaler bounds, drawn as dashed lines.
        warmup_s: shade the warm-up, which the statistics exclude.
        title: figure title.

    Returns:
        The array of Axes, top to bottom (four, or five with the Nodes panel).
    """
    import matplotlib.pyplot as plt

    with_nodes = all(name in timeline.columns for name in NODE_TIMELINE_COLUMNS)
    if axes is None:
        ratios = [1, 1.2, 1, 1, 1][: 5 if with_nodes else 4]
        fig, axes = plt.subplots(
            len(ratios),
            1,
            sharex=True,
            figsize=(11, 11 if with_nodes else 9),
            gridspec_kw={"height_ratios": ratios},
        )
    axes = np.asarray(axes).ravel()
    if axes.size not in ((4, 5) if with_nodes else (4,)):
        wanted = "4 or 5" if with_nodes else "4"
        raise ValueError(f"plot_timeline needs {wanted} axes, got {axes.size}")
    with_nodes = axes.size == 5
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

    ax_rps, ax_rep, *ax_nodes, ax_q, ax_err = axes

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
        # With nodes a starting replica may be Pending or pulling its image, not only cold.
        (starting, _STARTING, "starting (node, pull, cold)" if with_nodes else "starting (cold)"),
        (draining, _DRAINING, "draining"),
    ):
        if values is None or (color == _DRAINING and not values.any()):
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

    # 2b. Nodes (with a node layer only).
    nodes_twin = _nodes_panel(ax_nodes[0], t, col, draw_band) if ax_nodes else None

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
        right = twin if ax is ax_err else nodes_twin if ax_nodes and ax is ax_nodes[0] else None
        if right is not None:
            more = right.get_legend_handles_labels()
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
