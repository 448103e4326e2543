"""Measured vs predicted over time: the per-second frames of a validation and their plot.

`planner.loadtest.compare.compare` builds two frames with these functions: `per_second_frame`
(one row per second of the scenario: measured and predicted arrivals, 503s with the simulated
min–max, and latency p95) and `replicas_frame` (the replicas polled from a local deployment's
/stats, last poll in each second, beside the simulated mean and min–max, and with a node pool
the nodes ready and provisioning and the Pending pods on both sides; None when not
observable). `plot_validation` draws them in three panels for `planner loadtest`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from planner.model_nodes import NODE_TIMELINE_COLUMNS as NODE_COLUMNS

if TYPE_CHECKING:
    from planner.loadtest.compare import Measurement, Validation
    from planner.simulate import Results

__all__ = ["OVERLOAD_STATUSES", "per_second_frame", "plot_validation", "replicas_frame"]

OVERLOAD_STATUSES = (429, 503)
SPECIFIED_COLOR = "#dd8452"  # the as-specified prediction beside a calibrated one


def per_second_frame(measured: Measurement, predicted: Results) -> pd.DataFrame:
    """One row per second of the scenario: measured and predicted arrivals, 503s, latency p95."""
    n_sec = max(1, math.ceil(predicted.scenario.duration_s))
    req = measured.requests
    sec = np.floor(req["t_s"].to_numpy(dtype=np.float64)).astype(np.int64)
    status = req["status"].to_numpy(dtype=np.int64)
    keep = (sec >= 0) & (sec < n_sec)
    over = np.isin(status, OVERLOAD_STATUSES)
    out = pd.DataFrame({"t_s": np.arange(n_sec, dtype=np.float64)})
    out["measured_arrivals"] = np.bincount(sec[keep], minlength=n_sec)
    out["measured_503"] = np.bincount(sec[keep & over], minlength=n_sec)
    served = keep & ~over & (status != 0)
    lat = pd.Series(req["response_time_s"].to_numpy()[served]).groupby(sec[served]).quantile(0.95)
    out["measured_p95_s"] = lat.reindex(range(n_sec)).to_numpy()
    tl = predicted.timeline
    grouped = tl.groupby("t_s")
    for column, name in (("arrivals", "predicted_arrivals"), ("n_503", "predicted_503")):
        stats = grouped[column].agg(["mean", "min", "max"]).reindex(out["t_s"])
        out[name] = stats["mean"].to_numpy()
        if column == "n_503":
            out["predicted_503_min"] = stats["min"].to_numpy()
            out["predicted_503_max"] = stats["max"].to_numpy()
    out["rps_offered"] = grouped["rps_offered"].mean().reindex(out["t_s"]).to_numpy()
    out["predicted_p95_s"] = math.nan
    if predicted.requests is not None and len(predicted.requests):
        pr = predicted.requests
        ok = pr["status"] != 503
        p95 = (
            pr[ok]
            .assign(sec=np.floor(pr.loc[ok, "t_arrival_s"]).astype(np.int64))
            .groupby(["rep", "sec"])["latency_s"]
            .quantile(0.95)
            .groupby("sec")
            .mean()
        )
        out["predicted_p95_s"] = p95.reindex(range(n_sec)).to_numpy()
    return out


def replicas_frame(measured: Measurement, predicted: Results) -> pd.DataFrame | None:
    """Measured replicas (last poll in each second) beside the simulated mean and min–max."""
    if measured.replicas is None or measured.replicas.empty:
        return None
    n_sec = max(1, math.ceil(predicted.scenario.duration_s))
    polls = measured.replicas.assign(sec=np.floor(measured.replicas["t_s"]).astype(np.int64))
    last = polls[(polls["sec"] >= 0) & (polls["sec"] < n_sec)].groupby("sec").last()
    last = last.reindex(range(n_sec)).ffill().bfill()
    tl = predicted.timeline.assign(total=lambda d: d["ready"] + d["starting"])
    grouped = tl.groupby("t_s")
    out = pd.DataFrame({"t_s": np.arange(n_sec, dtype=np.float64)})
    for col in ("ready", "starting", "queued"):
        out[f"measured_{col}"] = last[col].to_numpy(dtype=np.float64)
    for col in ("ready", "starting", "queue_len"):
        out[f"predicted_{col}"] = grouped[col].mean().reindex(out["t_s"]).to_numpy()
    out["predicted_total_min"] = grouped["total"].min().reindex(out["t_s"]).to_numpy()
    out["predicted_total_max"] = grouped["total"].max().reindex(out["t_s"]).to_numpy()
    # With a node pool, both sides carry the nodes (ready, provisioning) and the Pending pods.
    if all(c in last.columns and c in tl.columns for c in NODE_COLUMNS):
        for col in NODE_COLUMNS:
            out[f"measured_{col}"] = last[col].to_numpy(dtype=np.float64)
            out[f"predicted_{col}"] = grouped[col].mean().reindex(out["t_s"]).to_numpy()
    return out


def plot_validation(validation: Validation, *, axes: Any = None, title: str | None = None) -> Any:
    """Three panels over time: 503s per second, latency p95, replicas; measured vs predicted.

    With a node pool the replicas panel also shows the nodes (ready + provisioning) and the
    Pending pods.

    Measured values are drawn as bars or points, the prediction as the mean over the simulated
    seeds with its min–max band. When the prediction was calibrated (the frames have
    `specified_*` columns), the as-specified mean is drawn dashed beside it. Returns the array
    of three Axes.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    if axes is None:
        _, axes = plt.subplots(3, 1, sharex=True, figsize=(11, 8))
    axes = np.asarray(axes).ravel()
    if axes.size != 3:
        raise ValueError(f"plot_validation needs 3 axes, got {axes.size}")
    ps = validation.per_second
    t = ps["t_s"].to_numpy(dtype=float)
    ax = axes[0]
    ax.bar(t, ps["measured_503"], width=1.0, align="edge", color="#c44e52", alpha=0.7,
           label="measured 503/429 per second")  # fmt: skip
    calibrated = "specified_503" in ps.columns  # then "predicted" is the calibrated one
    which = "predicted, calibrated" if calibrated else "predicted"
    spec = {"color": SPECIFIED_COLOR, "ls": "--", "lw": 1.2}
    ax.step(t, ps["predicted_503"], where="post", color="#222", label=f"{which} (mean)")
    ax.fill_between(t, ps["predicted_503_min"], ps["predicted_503_max"], step="post",
                    color="#888", alpha=0.3, lw=0, label=f"{which}: min–max of {validation.reps} seeds")  # fmt: skip # noqa: E501
    if calibrated:
        ax.step(t, ps["specified_503"], where="post", label="predicted as specified (mean)", **spec)
    ax.set_ylabel("503s per second")
    ax.legend(fontsize=8, loc="upper left")
    ax = axes[1]
    ax.plot(t + 0.5, ps["measured_p95_s"], "o", ms=3, color="#4c72b0", label="measured p95")
    ax.plot(t + 0.5, ps["predicted_p95_s"], color="#222", label=f"{which} p95 (mean of seeds)")
    if calibrated:
        ax.plot(t + 0.5, ps["specified_p95_s"], label="predicted as specified p95", **spec)
    ax.set_ylabel("latency p95 per second (s)")
    ax.legend(fontsize=8, loc="upper left")
    ax = axes[2]
    reps = validation.replicas
    if reps is None:
        ax.text(0.5, 0.5, "replicas not observable on this endpoint", ha="center",
                va="center", transform=ax.transAxes, color="#666")  # fmt: skip
    else:
        measured = reps["measured_ready"] + reps["measured_starting"]
        ax.step(t, measured, where="post", color="#4c72b0", lw=2,
                label="measured ready + starting")  # fmt: skip
        ax.step(t, reps["measured_ready"], where="post", color="#4c72b0", ls=":",
                label="measured ready")  # fmt: skip
        predicted = reps["predicted_ready"] + reps["predicted_starting"]
        ax.step(t, predicted, where="post", color="#222", label=f"{which} ready + starting")
        ax.fill_between(t, reps["predicted_total_min"], reps["predicted_total_max"],
                        step="post", color="#888", alpha=0.3, lw=0)  # fmt: skip
        if "specified_total" in reps.columns:
            label = "predicted as specified"
            ax.step(t, reps["specified_total"], where="post", label=label, **spec)
        if "measured_nodes_ready" in reps.columns:
            nodes = reps["measured_nodes_ready"] + reps["measured_nodes_provisioning"]
            ax.step(t, nodes, where="post", color="#55a868", lw=1.5,
                    label="measured nodes (ready + provisioning)")  # fmt: skip
            ax.step(t, reps["measured_pods_pending"], where="post", color="#8172b3", lw=1,
                    label="measured pods pending")  # fmt: skip
            predicted_nodes = reps["predicted_nodes_ready"] + reps["predicted_nodes_provisioning"]
            ax.step(t, predicted_nodes, where="post", color="#55a868", ls="--", lw=1,
                    label=f"{which} nodes")  # fmt: skip
        ax.set_ylim(bottom=0)  # room below the lines for the legend
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=8, loc="best", ncol=2)
    ax.set_ylabel("replicas")
    ax.set_xlabel("time since test start (s)")
    if title:
        axes[0].figure.suptitle(title)
    return axes
