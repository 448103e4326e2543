"""Backtest results as data: the "had / would have held / costs" rows, JSON, HTML sections."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from planner.backtest.run import Backtest
from planner.metrics import Summary

__all__ = [
    "SETTINGS_COLUMNS",
    "backtest_to_dict",
    "html_sections",
    "plot_per_minute",
    "settings_frame",
]

SETTINGS_COLUMNS = (
    "settings", "min_replicas", "max_replicas", "target_utilization", "rate_503",
    "rate_503_upper", "latency_p99_s", "latency_p99_upper_s", "peak_replicas", "replica_hours",
    "cost", "meets_slo",
)  # fmt: skip


def _row(label: str, dep: Any, summary: Summary, price: float | None) -> dict[str, Any]:
    hours = summary.values["replica_seconds"] / 3600.0
    return {
        "settings": label,
        "min_replicas": dep.min_replicas,
        "max_replicas": dep.max_replicas,
        "target_utilization": dep.target_utilization,
        "rate_503": summary.values["rate_503"],
        "rate_503_upper": summary.ci95["rate_503"][1],
        "latency_p99_s": summary.values["latency_p99_s"],
        "latency_p99_upper_s": summary.ci95["latency_p99_s"][1],
        "peak_replicas": summary.values["peak_replicas"],
        "replica_hours": hours,
        "cost": None if price is None else hours * price,
        "meets_slo": summary.meets_slo,
    }


def settings_frame(bt: Backtest) -> pd.DataFrame:
    """One row for the settings you had and, when found, one for what would have held."""
    rows = [_row("what you had", bt.scenario.deployment, bt.had, bt.cost_per_replica_hour)]
    if bt.search is not None:
        chosen = bt.search.chosen
        dep = chosen.results.scenario.deployment
        rows.append(_row("what would have held", dep, chosen.summary, bt.cost_per_replica_hour))
    return pd.DataFrame(rows, columns=list(SETTINGS_COLUMNS))


def _num(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def backtest_to_dict(bt: Backtest, search: dict[str, Any] | None = None) -> dict[str, Any]:
    """One JSON-ready object: verdict, the settings rows, the comparison, fit, per minute.

    `search` is the search result already rendered as a dict (the command's own renderer).
    """
    rows = [{k: _num(v) for k, v in r.items()} for r in settings_frame(bt).to_dict("records")]
    return {
        "scenario": bt.scenario.name,
        "log": bt.fit.log.source,
        "requests": bt.fit.log.requests,
        "duration_s": bt.fit.duration_s,
        "seeds": list(bt.scenario.seeds),
        "request_time_from_log": bt.request_time_from_log,
        "had_meets_slo": bt.had_meets_slo,
        "had_reasons": list(bt.had.reasons),
        "had": bt.had.to_json_dict(),
        "settings": rows,
        "search": search,
        "search_note": bt.search_note,
        "observed_vs_simulated": None if bt.validation is None else bt.validation.to_json_dict(),
        "fit": bt.fit.to_json_dict(),
        "per_minute": [
            {k: _num(v) for k, v in r.items()} for r in bt.per_minute.to_dict("records")
        ],
    }


def plot_per_minute(frame: pd.DataFrame, *, axes: Any = None) -> Any:
    """Three panels per minute: requests, 503 rate, replicas; observed vs simulated."""
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(3, 1, figsize=(9, 7), sharex=True)
    m = frame["minute"]
    panels = (
        ("requests", "requests per minute"),
        ("rate_503", "503 rate"),
        ("replicas", "replicas"),
    )
    for ax, (key, label) in zip(axes, panels, strict=True):
        obs = "observed_instances" if key == "replicas" else f"observed_{key}"
        ax.step(m, frame[obs], where="post", label="observed")
        ax.step(m, frame[f"simulated_{key}"], where="post", label="simulated (mean)")
        ax.set_ylabel(label)
        ax.legend(loc="upper right", fontsize="small")
    axes[-1].set_xlabel("minute of the log")
    return axes


def html_sections(bt: Backtest) -> list[tuple[str, Any]]:
    """Sections for `planner.report.write_html`."""
    from planner.scenario import scenario_to_dict

    verdict = (
        "The settings you had met the SLO on the logged traffic."
        if bt.had_meets_slo
        else "The settings you had missed the SLO on the logged traffic: "
        + "; ".join(bt.had.reasons)
    )
    sections: list[tuple[str, Any]] = [
        ("What you had / what would have held / what it costs", [verdict, settings_frame(bt)]),
    ]
    if bt.search_note:
        sections.append(("Search", bt.search_note))
    if bt.validation is not None:
        v = bt.validation
        text = (
            "The simulation reproduces the log."
            if v.agrees_with_prediction
            else "The simulation does not reproduce the log: " + "; ".join(v.reasons)
        )
        sections.append(("Observed vs simulated", [text, v.to_json_dict()]))
    axes = plot_per_minute(bt.per_minute)
    sections.append(("Per minute", [axes[0].figure, bt.per_minute]))
    sections.append(("Fit of the log", bt.fit.to_json_dict()))
    sections.append(("Backtest scenario", scenario_to_dict(bt.scenario)))
    return sections
