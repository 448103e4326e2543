"""How close is the simulator to a real deployment? Writes docs/accuracy.md.

    python benchmarks/accuracy.py                      # the scenarios in benchmarks/accuracy/
    python benchmarks/accuracy.py --seeds 5 --out docs/accuracy.md

Each scenario runs once on the local deployment (the router and replica processes on
127.0.0.1 running the example sleep score, driven by Locust with the simulator's own arrival
sample for the first seed), then is compared with the paired prediction: the simulated
replication of that seed, as specified and calibrated with the replica start and slot times
the deployment measured (`planner.loadtest.judge.judge`). The page lists, per scenario, the
measured and predicted 503 rate, latency p50/p95/p99 and peak replicas with their errors, and
at the top the median absolute error of p95 (relative) and of the 503 rate (percentage points).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import platform
import statistics
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner.errors import PlannerError, PlannerWarning  # noqa: E402  (the checkout is on the path)
from planner.loadtest.judge import judge, predict, prediction_seeds  # noqa: E402
from planner.loadtest.run import measure  # noqa: E402
from planner.scenario import load_scenario  # noqa: E402

METRICS = ("rate_503", "latency_p50_s", "latency_p95_s", "latency_p99_s", "peak_replicas")
LABELS = {
    "rate_503": "503 rate",
    "latency_p50_s": "p50",
    "latency_p95_s": "p95",
    "latency_p99_s": "p99",
    "peak_replicas": "peak replicas",
}


def error(name: str, predicted: float, measured: float) -> float:
    """Prediction error: percentage points for the 503 rate, replicas for peak replicas, and
    relative (%) for a latency: 100 · (predicted − measured) / measured."""
    if not (math.isfinite(predicted) and math.isfinite(measured)):
        return math.nan
    if name == "rate_503":
        return 100.0 * (predicted - measured)
    if name == "peak_replicas":
        return predicted - measured
    return 100.0 * (predicted - measured) / measured if measured > 0 else math.nan


def run_scenario(file: Path, seeds_n: int, out_dir: Path) -> dict[str, Any]:
    """One load test of the scenario and its paired predictions, as specified and calibrated."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlannerWarning)  # e.g. the overload scenario's
        scenario = load_scenario(file)
        seeds = prediction_seeds(scenario.seeds, n=seeds_n)
        predicted = predict(scenario, seeds)
        measured = measure(file, scenario, out_dir=out_dir, seed=seeds[0], progress=False)
        v = judge(scenario, seeds, measured, predicted, calibrate=True)
    spec = v.specified if v.specified is not None else v
    row: dict[str, Any] = {
        "name": scenario.name,
        "file": file.name,
        "requests": v.counts["requests"],
        "overhead_s": v.overhead.overhead_s,
        "agrees_specified": spec.agrees_with_prediction,
        "agrees_calibrated": v.agrees_with_prediction if v.specified is not None else None,
        "calibration": v.calibration.detail if v.calibration is not None else "not calibrated",
        "disagree": ", ".join(LABELS[n] for n in v.disagreements),
    }
    for name in METRICS:
        if name not in v.checks:
            continue
        row[name] = {
            "measured": v.checks[name].measured,
            "specified": spec.checks[name].paired,
            "calibrated": v.checks[name].paired if v.specified is not None else math.nan,
        }
    return row


def _fmt(name: str, x: float) -> str:
    if not math.isfinite(x):
        return "—"
    if name == "rate_503":
        return f"{100 * x:.2f} %"
    if name == "peak_replicas":
        return f"{x:.0f}"
    return f"{1000 * x:.0f} ms"


def _err(name: str, e: float) -> str:
    if not math.isfinite(e):
        return "—"
    if name == "rate_503":
        return f"{e:+.2f} pp"
    if name == "peak_replicas":
        return f"{e:+.0f}"
    return f"{e:+.1f} %"


def headline(rows: list[dict[str, Any]], name: str, which: str) -> float:
    """Median absolute error of one metric over the scenarios (NaN when none)."""
    errors = [abs(error(name, r[name][which], r[name]["measured"])) for r in rows if name in r]
    errors = [e for e in errors if math.isfinite(e)]
    return statistics.median(errors) if errors else math.nan


def page(rows: list[dict[str, Any]], seeds_n: int, wall_s: float) -> str:
    """docs/accuracy.md."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    p95 = {w: headline(rows, "latency_p95_s", w) for w in ("specified", "calibrated")}
    r503 = {w: headline(rows, "rate_503", w) for w in ("specified", "calibrated")}
    out = [
        "# Accuracy: the simulator against a real local deployment",
        "",
        "| median absolute error over the scenarios | as specified | calibrated |",
        "|---|---|---|",
        f"| latency p95 (relative) | {p95['specified']:.1f} % | {p95['calibrated']:.1f} % |",
        f"| 503 rate (percentage points) | {r503['specified']:.2f} pp "
        f"| {r503['calibrated']:.2f} pp |",
        "",
        f"{len(rows)} scenarios, one load test each, written by `python benchmarks/accuracy.py` "
        f"on {now} ({wall_s / 60:.0f} min; {os.cpu_count()} cores, Python "
        f"{platform.python_version()}).",
        "",
        "**How it was measured.** Each scenario of `benchmarks/accuracy/` ran once on the local "
        "deployment: the router and replica processes on 127.0.0.1 running the example score "
        "(`planner/serve/examples/sleep_score.py`, which sleeps the scenario's request time), "
        "driven by Locust with the simulator's own arrival sample for the first seed. The "
        "prediction is the *paired* one: the simulated replication of that very seed, so both "
        "saw the same arrivals. *As specified* simulates the scenario file; *calibrated* "
        "replaces the cold start and the request time by what the deployment measured during "
        "the same run (replica request-to-ready times, mean slot time), as `planner loadtest` "
        "does by default. Calibration uses the run it is compared with, so its errors are "
        "in-sample; the as-specified errors are not. Errors: predicted − measured, relative "
        "for latencies, in percentage points for the 503 rate, in replicas for the peak. "
        f"The verdict columns are `planner loadtest`'s ({seeds_n} seeds: the paired one and "
        "the others for the band's spread).",
        "",
        "**The verdict.** A metric agrees when the measured 95 % interval overlaps the band "
        "around the paired prediction: the other seeds' spread (a Student-t prediction "
        "interval of one replication) plus one stated allowance: the measured per-request "
        "overhead (the median /stats round trip during the test) for latencies, half of "
        "`slo.max_rate_503` for the 503 rate, one replica (the 1 s polling) for the peak. Too "
        "high and too low both disagree.",
        "",
        "**Noise.** The machine is shared (2 cores, other jobs running at the same time), so "
        "the router, the replicas and Locust compete for CPU; latencies carry that contention "
        "and one run is one sample. Rerun it on a quiet machine before quoting a single row.",
        "",
        "| scenario | metric | measured | predicted as specified | error | predicted "
        "calibrated | error |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        for name in METRICS:
            if name not in r:
                continue
            m = r[name]
            out.append(
                f"| {r['name']} | {LABELS[name]} | {_fmt(name, m['measured'])} "
                f"| {_fmt(name, m['specified'])} "
                f"| {_err(name, error(name, m['specified'], m['measured']))} "
                f"| {_fmt(name, m['calibrated'])} "
                f"| {_err(name, error(name, m['calibrated'], m['measured']))} |"
            )
    out += [
        "",
        "| scenario | requests | per-request overhead | verdict as specified "
        "| verdict calibrated | outside the band (calibrated) | calibration |",
        "|---|---|---|---|---|---|---|",
    ]
    verdict = {True: "agrees", False: "disagrees", None: "—"}
    for r in rows:
        overhead = r["overhead_s"]
        shown = f"{1000 * overhead:.1f} ms" if math.isfinite(overhead) else "—"
        out.append(
            f"| {r['name']} ({r['file']}) | {r['requests']} | {shown} "
            f"| {verdict[r['agrees_specified']]} | {verdict[r['agrees_calibrated']]} "
            f"| {r['disagree'] or '—'} | {r['calibration']} |"
        )
    return "\n".join(out) + "\n"


def main() -> None:
    """Run every scenario, write the page, print the headline."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=Path, default=ROOT / "benchmarks" / "accuracy")
    parser.add_argument("--seeds", type=int, default=5, help="simulated seeds (>= 3)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "accuracy.md")
    args = parser.parse_args()
    files = sorted(args.scenarios.glob("*.yaml"))
    if not files:
        parser.error(f"no scenario files in {args.scenarios}")
    started = dt.datetime.now(dt.UTC)
    rows: list[dict[str, Any]] = []
    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="planner-accuracy-") as tmp:
        for file in files:
            print(f"{file.name} ...", file=sys.stderr, flush=True)
            try:
                rows.append(run_scenario(file, args.seeds, Path(tmp) / file.stem))
            except PlannerError as exc:  # one failed deployment does not lose the others
                print(f"{file.name} failed: {exc}", file=sys.stderr, flush=True)
                failed.append(f"{file.name}: {str(exc).splitlines()[0]}")
    wall_s = (dt.datetime.now(dt.UTC) - started).total_seconds()
    text = page(rows, args.seeds, wall_s)
    if failed:
        text += "\nScenarios that could not run: " + "; ".join(failed) + "\n"
    args.out.write_text(text, encoding="utf-8")
    for which in ("specified", "calibrated"):
        print(
            f"{which}: median |error| p95 {headline(rows, 'latency_p95_s', which):.1f} %, "
            f"503 rate {headline(rows, 'rate_503', which):.2f} pp"
        )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
