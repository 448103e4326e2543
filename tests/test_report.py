"""Tests for planner.report: plots on small hand-built frames, tables, the HTML page."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from planner import report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def timeline_frame(reps: int = 1, n: int = 120) -> pd.DataFrame:
    """A timeline of the documented columns: a spike at 40 s, replicas start, 503s meanwhile."""
    rows = []
    for rep in range(reps):
        t = np.arange(n, dtype=float)
        rps = np.where((t >= 40) & (t < 70), 30.0, 10.0)
        starting = np.where((t >= 41) & (t < 61), 3, 0)
        ready = np.where(t < 61, 2, 5)
        rows.append(
            pd.DataFrame(
                {
                    "rep": rep,
                    "t_s": t,
                    "rps_offered": rps,
                    "arrivals": rps + rep,
                    "ready": ready,
                    "starting": starting,
                    "draining": 0,
                    "desired": ready + starting,
                    "queue_len": np.where(starting > 0, 4, 0),
                    "busy": np.minimum(rps / 5, ready),
                    "n_503": np.where(starting > 0, 5 + rep, 0),
                    "n_504": 0,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def summary_stub(reps: int = 5, meets: bool | None = False) -> SimpleNamespace:
    """An object of the metrics.Summary shape (values, ci95, reps, meets_slo, reasons)."""
    values = {
        "requests": 12000.0,
        "n_503": 240.0,
        "rate_503": 0.02,
        "rate_504": 0.0,
        "mean_wait_s": 0.0421,
        "latency_p99_s": 1.25,
        "peak_replicas": 9.0,
        "replica_seconds": 7200.0,
    }
    ci95 = {k: (v * 0.9, v * 1.1) for k, v in values.items()}
    reasons = ("rate_503 upper bound 2.2 % > 0.1 %",) if meets is False else ()
    return SimpleNamespace(reps=reps, values=values, ci95=ci95, meets_slo=meets, reasons=reasons)


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    """Close every figure after a test so memory stays flat."""
    yield
    plt.close("all")


@pytest.mark.parametrize(
    ("rate", "text"),
    [
        (0.0, "0 %"),
        (0.0123, "1.23 %"),
        (0.25, "25.0 %"),
        (0.00001, "0.001 %"),
        (float("nan"), "n/a"),
    ],
)
def test_format_rate(rate: float, text: str) -> None:
    """Rates print as percentages with three significant digits."""
    assert report.format_rate(rate) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0123, "12.3 ms"),
        (0.9999, "1 s"),
        (2.5, "2.5 s"),
        (600.0, "10 min"),
        (5400.0, "90 min"),
        (9000.0, "2.5 h"),
        (4e6, "1,111 h"),
        (float("inf"), "∞"),
    ],
)
def test_format_seconds(seconds: float, text: str) -> None:
    """Durations pick ms, s, min or h."""
    assert report.format_seconds(seconds) == text


def test_plot_timeline_one_rep_has_four_labelled_panels() -> None:
    """One rep: four panels sharing x, units on the y labels, 503 bars and starting shade drawn."""
    tl = timeline_frame(reps=1)
    axes = report.plot_timeline(tl, min_replicas=1, max_replicas=8, warmup_s=10)
    assert axes.shape == (4,)
    assert [ax.get_ylabel() for ax in axes] == [
        "requests / s",
        "replicas",
        "requests",
        "errors / s",
    ]
    assert axes[-1].get_xlabel() == "simulated time (s)"
    assert axes[0].get_shared_x_axes().joined(axes[0], axes[3])
    err = axes[3]
    heights = [p.get_height() for p in err.containers[0]]
    assert len(err.containers) == 1  # no 504s: only the 503 bars
    assert sum(heights) == pytest.approx(tl["n_503"].sum())
    legend_text = {t.get_text() for t in err.get_legend().get_texts()}
    assert {"503 per s", "replicas starting (right axis)"} <= legend_text
    rep_legend = {t.get_text() for t in axes[1].get_legend().get_texts()}
    assert {"ready", "starting (cold)", "desired", "bounds (min 1 / max 8)"} <= rep_legend
    dashed = [ln for ln in axes[1].get_lines() if ln.get_linestyle() == "--"]
    assert sorted(ln.get_ydata()[0] for ln in dashed) == [1, 8]


def test_plot_timeline_several_reps_draws_mean_or_chosen_rep() -> None:
    """Several reps: the mean (title says so) by default; rep=k draws that replication's data."""
    tl = timeline_frame(reps=3)
    axes = report.plot_timeline(tl)
    assert "mean of 3 reps" in axes[0].figure.texts[0].get_text()
    # 503s per second are 5, 6, 7 in the three reps: the mean bars are 6 while starting.
    assert max(p.get_height() for p in axes[3].containers[0]) == pytest.approx(6.0)
    axes2 = report.plot_timeline(tl, rep=2)
    assert max(p.get_height() for p in axes2[3].containers[0]) == pytest.approx(7.0)
    with pytest.raises(ValueError, match="rep 9"):
        report.plot_timeline(tl, rep=9)


def test_plot_timeline_into_given_axes_and_without_errors() -> None:
    """Drawing into caller's axes works; a run without errors says so in the error panel."""
    tl = timeline_frame()
    tl["n_503"] = 0
    _fig, axes = plt.subplots(4, 1, sharex=True)
    out = report.plot_timeline(tl, axes=axes)
    assert out[0] is axes[0]
    assert any("no 503" in t.get_text() for t in out[3].texts)


def test_plot_heatmap_annotates_mean_of_each_cell() -> None:
    """Repeated (x, y) rows are averaged; each cell carries its value; a colour bar is added."""
    df = pd.DataFrame(
        {
            "min_replicas": [1, 1, 2, 2, 1, 1, 2, 2],
            "target": [0.5, 0.7, 0.5, 0.7, 0.5, 0.7, 0.5, 0.7],
            "rate_503": [0.1, 0.2, 0.01, 0.02, 0.3, 0.4, 0.03, 0.04],
        }
    )
    ax = report.plot_heatmap(df, "min_replicas", "target", "rate_503", fmt="{:.2f}")
    texts = sorted(t.get_text() for t in ax.texts)
    assert texts == ["0.02", "0.03", "0.20", "0.30"]
    assert ax.get_xlabel() == "min_replicas"
    assert ax.get_ylabel() == "target"
    assert len(ax.figure.axes) == 2  # the heatmap and its colour bar
    with pytest.raises(ValueError, match="nope"):
        report.plot_heatmap(df, "nope", "target", "rate_503")


def test_plot_candidates_marks_pass_fail_slo_and_choice() -> None:
    """Candidates: log y, SLO line at the limit, zero rates drawn at a floor, the choice ringed."""
    df = pd.DataFrame(
        {
            "cost": [1.0, 2.0, 3.0, 4.0],
            "rate_503": [0.05, 0.004, 0.0005, 0.0],
            "meets_slo": [False, False, True, True],
            "chosen": [False, False, True, False],
        }
    )
    ax = report.plot_candidates(df, max_rate_503=0.001)
    assert ax.get_yscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "chosen" in labels and "fails SLO" in labels and "meets SLO" in labels
    slo_lines = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert slo_lines[0].get_ydata()[0] == pytest.approx(0.001)
    ring = ax.collections[-1]
    assert tuple(ring.get_offsets()[0]) == pytest.approx((3.0, 0.0005))


def test_summary_table_has_ci_and_verdict() -> None:
    """The rich table lists metrics with formatted means and CIs and says why the SLO fails."""
    table = report.summary_table(summary_stub(), title="spike")
    console = Console(width=120, record=True, color_system=None)
    console.print(table)
    text = console.export_text()
    assert "503 rate" in text and "2 %" in text and "1.8 – 2.2 %" in text
    assert "2.00 replica-h" in text and "1.80 – 2.20 replica-h" in text
    assert "SLO: NOT met: rate_503 upper bound" in text
    one = report.summary_rows(summary_stub(reps=1, meets=True))
    assert all(ci == "—" for _, _, ci in one)
    assert report.slo_verdict(summary_stub(meets=None)) == "SLO: not checked"


def test_write_html_is_self_contained(tmp_path: Path) -> None:
    """One file: an inline PNG, a table, escaped text, dotted settings keys, no external URL."""
    tl = timeline_frame()
    axes = report.plot_timeline(tl)
    path = report.write_html(
        tmp_path / "sub" / "r.html",
        title="Spike <report>",
        sections=[
            ("Settings", {"deployment": {"min_replicas": 1, "max_replicas": 10}, "name": "x"}),
            ("Summary", report.summary_frame(summary_stub())),
            ("Timeline", axes[0].figure),
            ("Notes", "503s <b>happened</b>\n\nsecond paragraph"),
            ("Both", [pd.DataFrame({"a": [1.5]}), axes[0]]),
        ],
    )
    page = path.read_text(encoding="utf-8")
    assert path.parent.name == "sub"
    assert page.count('<img alt="figure" src="data:image/png;base64,') == 2
    assert page.count("<table") == 3
    assert "deployment.min_replicas" in page
    assert "&lt;b&gt;happened&lt;/b&gt;" in page and "<b>" not in page
    assert "Spike &lt;report&gt;" in page
    assert not re.search(r"https?://|src=\"(?!data:)|<link|<script", page)
    png = base64.b64decode(re.search(r"base64,([^\"]+)\"", page).group(1))
    assert png.startswith(PNG_MAGIC)


def test_write_html_truncates_long_tables_and_rejects_unknown(tmp_path: Path) -> None:
    """Long frames are cut with a note; unknown content types are a TypeError (a bug, not input)."""
    df = pd.DataFrame({"x": range(600)})
    page = report.write_html(tmp_path / "t.html", title="t", sections=[("big", df)]).read_text()
    assert "First 500 of 600 rows" in page
    with pytest.raises(TypeError, match="int"):
        report.write_html(tmp_path / "u.html", title="t", sections=[("bad", 3)])


def test_save_figure_writes_png(tmp_path: Path) -> None:
    """save_figure accepts a Figure or the Axes array and writes a PNG, creating folders."""
    axes = report.plot_timeline(timeline_frame())
    out = report.save_figure(axes, tmp_path / "a" / "t.png")
    data = out.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 10_000


def test_flatten_mapping_uses_override_paths() -> None:
    """Nested settings flatten to the dotted paths with_overrides takes, phases indexed."""
    from planner.report.html import flatten_mapping

    flat = flatten_mapping({"traffic": {"pattern": [{"rps": 20}, {"rps": 60}]}, "seeds": [1, 2]})
    assert flat == {"traffic.pattern.0.rps": 20, "traffic.pattern.1.rps": 60, "seeds": [1, 2]}


def test_negative_ci_lower_bound_is_shown_as_zero() -> None:
    """A Student-t interval below zero (two reps) is shown from zero: rates cannot be negative."""
    stub = summary_stub(reps=2)
    stub.ci95["rate_503"] = (-0.05, 0.09)
    rows = {label: ci for label, _, ci in report.summary_rows(stub)}
    assert rows["503 rate"] == "0 – 9 %"
