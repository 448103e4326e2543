"""planner fit: request-time fits keep the mean, smoothing finds the phases, logs round-trip."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from planner.cli import app
from planner.fit import KS_THRESHOLD, fit_request_time
from planner.fit.arrivals import smooth_phases
from planner.scenario import load_scenario, scenario_from_dict
from planner.simulate import run

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
AZURE = ROOT / "examples" / "logs" / "azure-llm-2023-code.csv"


def test_lognormal_sample_gets_a_lognormal_with_its_sigma(rng: np.random.Generator) -> None:
    """Lognormal data: lognormal chosen (KS below the threshold), σ within 3 %, mean kept."""
    x = rng.lognormal(mean=-1.0, sigma=0.8, size=20_000)
    fit = fit_request_time(x)
    assert fit.chosen == "lognormal"
    assert fit.spec["sigma"] == pytest.approx(0.8, rel=0.03)
    assert min(c.ks_distance for c in fit.candidates) <= KS_THRESHOLD
    assert fit.fitted_mean_s == pytest.approx(float(x.mean()), rel=1e-9)


def test_gamma_sample_gets_a_gamma_with_its_shape(rng: np.random.Generator) -> None:
    """Gamma data (shape 3): gamma chosen over lognormal, shape within 5 %, mean kept."""
    x = rng.gamma(shape=3.0, scale=0.1, size=20_000)
    fit = fit_request_time(x)
    assert fit.chosen == "gamma"
    assert fit.spec["shape"] == pytest.approx(3.0, rel=0.05)
    assert fit.fitted_mean_s == pytest.approx(float(x.mean()), rel=1e-9)


def test_bimodal_sample_falls_back_to_empirical(rng: np.random.Generator) -> None:
    """Two modes (fast cache hits, slow misses): neither family within the KS threshold."""
    x = np.concatenate([rng.normal(0.05, 0.005, 7000), rng.normal(1.0, 0.05, 3000)])
    fit = fit_request_time(np.abs(x))
    assert fit.chosen == "empirical"
    assert all(c.ks_distance > KS_THRESHOLD for c in fit.candidates)


def test_mean_is_kept_where_the_lognormal_mle_would_miss_it(rng: np.random.Generator) -> None:
    """A heavy, non-lognormal tail: the plain MLE lognormal's mean is > 2 % off; the fit is not."""
    x = np.concatenate([rng.lognormal(-1.0, 0.5, 9000), rng.lognormal(1.0, 0.3, 300)])
    logs = np.log(x)
    mle_mean = math.exp(logs.mean() + logs.var() / 2)
    assert abs(mle_mean / x.mean() - 1) > 0.02  # the test has teeth: the naive fit fails it
    fit = fit_request_time(x)
    assert abs(fit.fitted_mean_s / x.mean() - 1) < 0.02


def test_smoothing_finds_a_spike_and_keeps_the_count(rng: np.random.Generator) -> None:
    """10 → 40 → 10 rps: three phases, boundaries within 3 s, rates within 10 %, count exact."""
    rate = np.r_[np.full(120, 10.0), np.full(60, 40.0), np.full(120, 10.0)]
    counts = rng.poisson(rate)
    phases = smooth_phases(counts)
    assert len(phases) == 3
    edges = np.cumsum([d for d, _ in phases])
    assert abs(edges[0] - 120) <= 3 and abs(edges[1] - 180) <= 3
    for (_, got), want in zip(phases, (10, 40, 10), strict=True):
        assert got == pytest.approx(want, rel=0.10)
    assert sum(d * r for d, r in phases) == pytest.approx(counts.sum())


def test_smoothing_a_constant_rate_makes_one_phase(rng: np.random.Generator) -> None:
    """Poisson noise at a constant rate is not mistaken for changes."""
    phases = smooth_phases(rng.poisson(12.0, 900))
    assert len(phases) == 1


# ------------------------------------------------------------------------- round trip

KNOWN = {
    "name": "known",
    "duration_s": 600,
    "warmup_s": 0,
    "seeds": 1,
    "traffic": {
        "arrivals": "poisson",
        "pattern": [{"duration_s": 300, "rps": 8}, {"duration_s": 300, "rps": 16}],
    },
    "service": {"request_time_s": {"dist": "lognormal", "mean": 0.3, "sigma": 0.6}},
    "deployment": {"autoscaler": "none", "replicas": 40},
}


def appinsights_log(requests: pd.DataFrame, path: Path) -> Path:
    """Write simulated requests as an Application Insights export (ISO times, ms)."""
    req = requests.sort_values("t_arrival_s", kind="stable")
    stamps = pd.Timestamp("2026-11-30T09:00:00Z") + pd.to_timedelta(req["t_arrival_s"], unit="s")
    pd.DataFrame(
        {
            "timestamp": stamps.dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "duration": req["latency_s"] * 1000,
            "resultCode": req["status"],
            "cloud_RoleInstance": [f"pod-{r}" if r >= 0 else "" for r in req["replica"]],
        }
    ).to_csv(path, index=False)
    return path


def test_a_simulated_log_fits_back_to_its_scenario(tmp_path: Path) -> None:
    """Rate within 5 % per phase half, mean request time within 3 %, σ within 8 % (stated)."""
    scenario = scenario_from_dict(KNOWN)
    results = run(scenario, [3], keep_requests=True)
    assert results.requests is not None
    log = appinsights_log(results.requests, tmp_path / "log.csv")
    out = tmp_path / "fitted.yaml"
    result = runner.invoke(app, ["fit", str(log), "--preset", "appinsights", "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    fitted = load_scenario(out)
    assert fitted.traffic.trace_times_s is not None
    assert fitted.traffic.trace_times_s.size == len(results.requests)
    assert fitted.traffic.mean_rps(0, 300) == pytest.approx(8, rel=0.05)
    assert fitted.traffic.mean_rps(300, 600) == pytest.approx(16, rel=0.05)
    rt = fitted.service.request_time_s
    assert rt.mean_s == pytest.approx(0.3, rel=0.03)
    assert type(rt).__name__ == "Lognormal"
    assert rt.sigma == pytest.approx(0.6, rel=0.08)  # type: ignore[attr-defined]
    # The offered load of the fitted scenario is the log's within 2 %.
    log_mean = results.requests["latency_s"].mean()
    assert rt.mean_s == pytest.approx(log_mean, rel=0.02)


def test_smooth_fit_recovers_the_pattern(tmp_path: Path) -> None:
    """--smooth: the two phases of the known scenario come back (rates within 6 %)."""
    scenario = scenario_from_dict(KNOWN)
    results = run(scenario, [4], keep_requests=True)
    assert results.requests is not None
    log = appinsights_log(results.requests, tmp_path / "log.csv")
    out = tmp_path / "smooth.yaml"
    args = ["fit", str(log), "--preset", "appinsights", "--out", str(out), "--smooth"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    phases = load_scenario(out).traffic.pattern
    assert len(phases) == 2
    assert abs(phases[0].duration_s - 300) <= 5
    assert phases[0].rps == pytest.approx(8, rel=0.06)
    assert phases[1].rps == pytest.approx(16, rel=0.06)


@pytest.mark.parametrize("cold_start_s", [10, 40])
def test_cold_start_estimate_tracks_the_true_cold_start(tmp_path: Path, cold_start_s: int) -> None:
    """A spike outrunning the autoscaler: the estimate is the cold start plus at most 3 s.

    The excess is the autoscaler's reaction (a 1 s refresh) and the first request's routing.
    """
    spec = {
        "name": "spiky",
        "duration_s": 360,
        "warmup_s": 30,
        "seeds": 1,
        "traffic": {
            "arrivals": "poisson",
            "pattern": [
                {"duration_s": 120, "rps": 6},
                {"duration_s": 60, "rps": 30},
                {"duration_s": 180, "rps": 6},
            ],
        },
        "service": {"request_time_s": 0.4, "cold_start_s": cold_start_s},
        "deployment": {"autoscaler": "azureml", "replicas": 4, "min_replicas": 2,
                       "max_replicas": 30},
    }  # fmt: skip
    results = run(scenario_from_dict(spec), [1], keep_requests=True)
    assert results.requests is not None
    log = appinsights_log(results.requests, tmp_path / "spike.csv")
    out = tmp_path / "spike.yaml"
    args = ["fit", str(log), "--preset", "appinsights", "--out", str(out), "--format", "json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["cold_start_s"] is not None
    assert cold_start_s <= payload["cold_start_s"] <= cold_start_s + 3
    assert max(payload["instances_per_minute"]) > 4  # the scale-up is seen


# ------------------------------------------------------------------------ the real trace


def test_azure_trace_fits_to_a_loadable_scenario_with_every_request(tmp_path: Path) -> None:
    """The Azure LLM trace: a loadable scenario replaying every row; the token mean kept."""
    with AZURE.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    token_s = [0.0002 * int(r["ContextTokens"]) + 0.03 * int(r["GeneratedTokens"]) for r in rows]
    out = tmp_path / "llm.yaml"
    plot = tmp_path / "qq.png"
    args = ["fit", str(AZURE), "--preset", "azure-llm", "--out", str(out), "--plot", str(plot)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    scenario = load_scenario(out)
    assert scenario.traffic.trace_times_s is not None
    assert scenario.traffic.trace_times_s.size == len(rows) == 8819
    assert scenario.service.request_time_s.mean_s == pytest.approx(np.mean(token_s), rel=0.02)
    assert plot.stat().st_size > 10_000 and plot.read_bytes()[:4] == b"\x89PNG"


def test_token_times_are_options(tmp_path: Path) -> None:
    """--per-generated-token-s scales the derived request time (twice the time, twice the mean)."""
    means = []
    for per_token in ("0.03", "0.06"):
        out = tmp_path / f"llm{per_token}.yaml"
        args = ["fit", str(AZURE), "--preset", "azure-llm", "--out", str(out),
                "--per-context-token-s", "0", "--per-generated-token-s", per_token]  # fmt: skip
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.stderr
        means.append(load_scenario(out).service.request_time_s.mean_s)
    assert means[1] == pytest.approx(2 * means[0], rel=1e-4)


def test_smoothed_azure_trace_offers_every_request(tmp_path: Path) -> None:
    """--smooth on the real trace: phases whose rate × duration adds up to its 8,819 requests."""
    out = tmp_path / "llm.yaml"
    result = runner.invoke(app, ["fit", str(AZURE), "--preset", "azure-llm", "--out", str(out),
                                 "--smooth"])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    scenario = load_scenario(out)
    assert len(scenario.traffic.pattern) > 3  # a bursty hour is not one rate
    expected = scenario.traffic.mean_rps(0, scenario.duration_s) * scenario.duration_s
    assert expected == pytest.approx(8819, rel=1e-4)
    assert not (tmp_path / "llm.arrivals.csv").exists()  # phases, not a trace


def test_columns_are_required_without_a_preset(tmp_path: Path) -> None:
    """Neither --preset nor --timestamp/--duration: a usage error (exit 2)."""
    log = tmp_path / "l.csv"
    log.write_text("t,d\n1,2\n")
    result = runner.invoke(app, ["fit", str(log), "--out", str(tmp_path / "o.yaml")])
    assert result.exit_code == 2
    assert "--timestamp" in result.stderr
