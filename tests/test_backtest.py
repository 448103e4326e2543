"""planner backtest: replay a log through the settings you had, compare, say what would hold."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from planner.backtest import Backtest, run_backtest
from planner.backtest.render import settings_frame
from planner.cli import app
from planner.errors import PlannerWarning
from planner.fit import PRESETS, read_log
from planner.metrics import summarise
from planner.scenario import scenario_from_dict, with_overrides
from planner.simulate import run

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
AZURE = ROOT / "examples" / "logs" / "azure-llm-2023-code.csv"

SERVICE = {"request_time_s": {"dist": "lognormal", "mean": 0.4, "sigma": 0.5}, "cold_start_s": 30}
UNDERSIZED = {
    "autoscaler": "azureml",
    "replicas": 5,
    "min_replicas": 2,
    "max_replicas": 20,
    "target_utilization": 0.7,
}
PRODUCTION = {
    "name": "production",
    "duration_s": 420,
    "warmup_s": 30,
    "seeds": 1,
    "traffic": {
        "arrivals": "poisson",
        "pattern": [
            {"duration_s": 120, "rps": 8},
            {"duration_s": 60, "rps": 24},
            {"duration_s": 240, "rps": 8},
        ],
    },
    "service": SERVICE,
    "deployment": UNDERSIZED,
    "slo": {"max_rate_503": 0.001, "latency_p99_s": 2.0},
}


@pytest.fixture(scope="module")
def production_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An Application Insights export of one simulated run of PRODUCTION (seed 7)."""
    results = run(scenario_from_dict(PRODUCTION), [7], keep_requests=True)
    assert results.requests is not None
    req = results.requests.sort_values("t_arrival_s", kind="stable")
    stamps = pd.Timestamp("2026-11-30T09:00:00Z") + pd.to_timedelta(req["t_arrival_s"], unit="s")
    path = tmp_path_factory.mktemp("logs") / "requests.csv"
    pd.DataFrame(
        {
            "timestamp": stamps.dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "duration": req["latency_s"] * 1000,
            "resultCode": req["status"],
            "cloud_RoleInstance": [f"pod-{r}" if r >= 0 else "" for r in req["replica"]],
        }
    ).to_csv(path, index=False)
    return path


def deployment_file(tmp_path: Path, deployment: dict[str, Any], **extra: Any) -> Path:
    """A scenario file without traffic: service, deployment, SLO."""
    spec = {"name": "mine", "warmup_s": 30, "seeds": 3, "service": SERVICE,
            "deployment": deployment, "slo": PRODUCTION["slo"]}  # fmt: skip
    spec.update(extra)
    path = tmp_path / "deployment.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def backtest_cli(*args: str) -> tuple[int, dict[str, Any] | None, str]:
    """Run `planner backtest --format json`; exit code, the JSON (None if none), stderr."""
    result = runner.invoke(app, ["backtest", *args, "--format", "json"])
    out = json.loads(result.stdout) if result.stdout.strip().startswith("{") else None
    return result.exit_code, out, result.stderr


def test_undersized_settings_miss_the_slo_and_reproduce_the_log(
    production_log: Path, tmp_path: Path
) -> None:
    """The settings production had: SLO missed (exit 1), and the simulation reproduces the
    log's 503 rate and latency p95 (inside the simulated band)."""
    dep = deployment_file(tmp_path, UNDERSIZED)
    code, out, err = backtest_cli(str(production_log), "--preset", "appinsights",
                                  "--scenario", str(dep), "--no-search")  # fmt: skip
    assert code == 1, err
    assert out is not None and out["had_meets_slo"] is False
    observed = out["observed_vs_simulated"]
    assert observed["agrees_with_prediction"] is True, observed["reasons"]
    assert observed["rate_503"]["measured"] > 0.001  # production did miss its SLO
    assert [r["settings"] for r in out["settings"]] == ["what you had"]
    assert sum(r["observed_requests"] for r in out["per_minute"]) == out["requests"]
    # The observed instances of each minute, counted again from the CSV itself.
    raw = pd.read_csv(production_log, keep_default_na=False)
    stamps = pd.to_datetime(raw["timestamp"])
    minute = ((stamps - stamps.iloc[0]).dt.total_seconds() // 60).astype(int)
    named = raw["cloud_RoleInstance"] != ""
    distinct = raw[named].groupby(minute[named])["cloud_RoleInstance"].nunique()
    minutes = range(len(out["per_minute"]))
    assert [r["observed_instances"] for r in out["per_minute"]] == [
        distinct.get(m, 0) for m in minutes
    ]


def resimulate_chosen(bt: Backtest) -> bool | None:
    """Simulate the backtest scenario again with the found settings, as a user would paste them."""
    assert bt.search is not None
    chosen = bt.search.chosen.results.scenario.deployment
    again = with_overrides(
        bt.scenario,
        {
            "deployment.min_replicas": chosen.min_replicas,
            "deployment.max_replicas": chosen.max_replicas,
            "deployment.target_utilization": chosen.target_utilization,
            "deployment.replicas": chosen.replicas,
        },
        warn=False,
    )
    return summarise(run(again)).meets_slo


@pytest.mark.slow
def test_the_settings_that_would_have_held_pass_when_simulated_again(
    production_log: Path, tmp_path: Path
) -> None:
    """The search on the logged traffic: its settings meet the SLO when simulated again, and
    the table shows them beside the settings that missed it."""
    dep = deployment_file(tmp_path, UNDERSIZED)
    log = read_log(production_log, PRESETS["appinsights"])
    bt = run_backtest(log, dep, max_simulations=40)
    assert bt.had.meets_slo is False and bt.search is not None
    assert resimulate_chosen(bt) is True
    rows = settings_frame(bt)
    assert rows["settings"].tolist() == ["what you had", "what would have held"]
    assert rows["meets_slo"].tolist() == [False, True]


@pytest.mark.slow
def test_azure_trace_what_would_have_held_passes_when_simulated_again(tmp_path: Path) -> None:
    """The real trace: the settings found for its bursts pass when re-simulated."""
    dep = deployment_file(tmp_path, {**UNDERSIZED, "replicas": 2, "min_replicas": 1,
                                     "max_replicas": 6}, service={"cold_start_s": 60},
                          slo={"max_rate_503": 0.01, "latency_p99_s": 20})  # fmt: skip
    log = read_log(AZURE, PRESETS["azure-llm"])
    with pytest.warns(PlannerWarning, match="peak offered load"):
        bt = run_backtest(log, dep, seeds=[0, 1], max_simulations=30)
    assert bt.had.meets_slo is False
    assert resimulate_chosen(bt) is True


def test_wrong_settings_do_not_reproduce_the_log(production_log: Path, tmp_path: Path) -> None:
    """Backtesting a far larger warm pool than production had: the simulation's 503 rate is
    below what the log shows, and the comparison says so (the verdict can fail)."""
    big = {**UNDERSIZED, "replicas": 30, "min_replicas": 30, "max_replicas": 40}
    dep = deployment_file(tmp_path, big)
    code, out, _ = backtest_cli(str(production_log), "--preset", "appinsights",
                                "--scenario", str(dep), "--no-search")  # fmt: skip
    assert out is not None
    assert code == 0 and out["had_meets_slo"] is True  # these settings would have held
    observed = out["observed_vs_simulated"]
    assert observed["agrees_with_prediction"] is False
    assert any("503 rate" in r and "is above the band" in r for r in observed["reasons"])


def test_request_times_come_from_the_log_when_the_file_has_none(
    production_log: Path, tmp_path: Path
) -> None:
    """No service.request_time_s: the log's served durations are fitted (mean kept within 2 %)."""
    dep = deployment_file(tmp_path, UNDERSIZED, service={"cold_start_s": 30})
    log = read_log(production_log, PRESETS["appinsights"])
    bt = run_backtest(log, dep, search=False, seeds=[0])
    assert bt.request_time_from_log
    assert log.status is not None
    served = log.duration_s[log.status == 200]
    assert bt.scenario.service.request_time_s.mean_s == pytest.approx(served.mean(), rel=0.02)
    assert bt.per_minute["observed_requests"].sum() == log.requests


def test_initial_replicas_come_from_the_log_when_the_file_has_none(
    production_log: Path, tmp_path: Path
) -> None:
    """No deployment.replicas: the backtest starts with the instances of the first 10 s."""
    dep = deployment_file(tmp_path, {k: v for k, v in UNDERSIZED.items() if k != "replicas"})
    log = read_log(production_log, PRESETS["appinsights"])
    assert log.instance is not None
    first = {name for name, t in zip(log.instance, log.t_s, strict=True) if t < 10 and name}
    bt = run_backtest(log, dep, search=False, seeds=[0])
    assert bt.scenario.deployment.replicas == len(first) == UNDERSIZED["replicas"]


def test_azure_trace_backtest_exits_1_for_undersized_settings(tmp_path: Path) -> None:
    """The real trace through 6 replicas: its bursts overflow them; no observations to compare."""
    dep = deployment_file(tmp_path, {**UNDERSIZED, "replicas": 2, "min_replicas": 1,
                                     "max_replicas": 6}, service={"cold_start_s": 60})  # fmt: skip
    html = tmp_path / "bt.html"
    code, out, _ = backtest_cli(str(AZURE), "--preset", "azure-llm", "--scenario", str(dep),
                                "--no-search", "--seeds", "1", "--html", str(html))  # fmt: skip
    assert code == 1
    assert out is not None and out["requests"] == 8819
    assert out["observed_vs_simulated"] is None
    assert out["had"]["requests"] > 0 and out["had"]["rate_503"] > 0.001
    assert "What you had" in html.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("deployment", "message"),
    [
        ({**UNDERSIZED, "max_replicas": 1}, "deployment.max_replicas must be >= min_replicas"),
        ({**UNDERSIZED, "max_replics": 9}, "did you mean"),
    ],
)
def test_bad_deployment_file_exits_2(
    production_log: Path, tmp_path: Path, deployment: dict[str, Any], message: str
) -> None:
    """An invalid deployment file: exit 2, one line naming the field."""
    dep = deployment_file(tmp_path, deployment)
    code, out, err = backtest_cli(str(production_log), "--preset", "appinsights",
                                  "--scenario", str(dep))  # fmt: skip
    assert code == 2 and out is None
    assert message in err and len(err.strip().splitlines()) == 1


def test_bad_log_exits_2(tmp_path: Path) -> None:
    """A log with a negative duration: exit 2, the row and the column named."""
    log = tmp_path / "bad.csv"
    log.write_text("timestamp,duration\n2026-11-30T09:00:00Z,5\n2026-11-30T09:00:01Z,-1\n")
    dep = deployment_file(tmp_path, UNDERSIZED)
    code, _, err = backtest_cli(str(log), "--preset", "appinsights", "--scenario", str(dep))
    assert code == 2 and "line 3: column 'duration'" in err
