"""Wrong models must disagree with a real load test, the right model must agree (127.0.0.1).

Each test runs the local deployment (router + replica processes running the example sleep
score) under Locust for about 20–30 s. The faster and slower services answer in 0.07 s and
0.13 s although the scenario states 0.1 s (the request body sets the example score's sleep);
the slow cold start is a deployment whose replicas take ~8 s to become ready although the
scenario states 1 s. Uncalibrated, each prediction is wrong and the verdict must say so; the
right model (and, for the cold start, the prediction calibrated with the measured start
times) must agree.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from planner.cli import app
from planner.loadtest.judge import judge, predict, prediction_seeds
from planner.loadtest.run import measure
from planner.scenario import load_scenario, with_overrides

runner = CliRunner()

# 4 fixed replicas at 30 rps of 0.1 s requests: 75 % busy, some queueing, no 503s when right.
FIXED: dict[str, Any] = {
    "name": "fixed-4",
    "duration_s": 20,
    "warmup_s": 2,
    "seeds": 6,
    "traffic": {"arrivals": "poisson", "rps": 30},
    "service": {"request_time_s": 0.1, "cold_start_s": 1},
    "deployment": {"autoscaler": "none", "replicas": 4, "max_request_wait_s": 0.5},
    "slo": {"max_rate_503": 0.01, "latency_p99_s": 2.0},
}
# One warm replica, then a spike to 50 rps for 14 s: the autoscaler adds replicas at once, and
# how many requests get 503 depends on how long they take to become ready.
SPIKE: dict[str, Any] = {
    "name": "cold-start",
    "duration_s": 30,
    "warmup_s": 3,
    "seeds": 6,
    "traffic": {
        "arrivals": "poisson",
        "pattern": [
            {"duration_s": 8, "rps": 4},
            {"duration_s": 14, "rps": 50},
            {"duration_s": 8, "rps": 4},
        ],
    },
    "service": {"request_time_s": 0.1, "cold_start_s": 1},
    "deployment": {
        "autoscaler": "azureml",
        "replicas": 1,
        "min_replicas": 1,
        "max_replicas": 12,
        "target_utilization": 0.7,
        "max_request_wait_s": 0.3,
        "scale_down_delay_s": 60,
    },
    "slo": {"max_rate_503": 0.01, "latency_p99_s": 2.0},
}


def _fixed_loadtest(root: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    """`planner loadtest` of the fixed scenario with extra options: (exit code, JSON, stderr)."""
    file = root / "fixed.yaml"
    file.write_text(yaml.safe_dump(FIXED), encoding="utf-8")
    out = root / "out"
    result = runner.invoke(
        app, ["loadtest", str(file), "--out", str(out), "--format", "json", *args]
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.stdout), result.stderr


def _latency_disagreements(doc: dict[str, Any], side: str) -> list[str]:
    """Latency metrics whose measured value lies on `side` (below/above) of the band."""
    names = ("latency_p50_s", "latency_p95_s")  # the p99 is shown, not judged
    out = []
    for name in names:
        check = doc[name]
        if check["agrees"] is False:
            inside_side = (
                check["measured"] < check["band"][0]
                if side == "below"
                else (check["measured"] > check["band"][1])
            )
            if inside_side:
                out.append(name)
    return out


@pytest.mark.slow
def test_right_model_agrees(tmp_path: Path) -> None:
    """The example score sleeps the stated 0.1 s: every metric agrees, no 503, exit 0."""
    code, doc, _ = _fixed_loadtest(tmp_path)
    assert doc["agrees_with_prediction"] is True, doc["reasons"]
    assert doc["meets_slo"] is True and code == 0, doc["reasons"]
    assert doc["counts"]["n_503"] == 0
    for name in ("rate_503", "latency_p50_s", "latency_p95_s", "peak_replicas"):
        assert doc[name]["agrees"] is True, (name, doc[name])
    assert doc["latency_p99_s"]["agrees"] is None
    assert doc["overhead_s"] is not None and 0 <= doc["overhead_s"] < 0.05


@pytest.mark.slow
def test_a_service_30_percent_faster_disagrees(tmp_path: Path) -> None:
    """Real 0.07 s vs stated 0.1 s, uncalibrated: latency below the band; exit 1."""
    code, doc, stderr = _fixed_loadtest(tmp_path, "--no-calibrate", "--body", '{"sleep_s": 0.07}')
    assert code == 1
    assert doc["agrees_with_prediction"] is False
    assert "latency_p50_s" in _latency_disagreements(doc, "below"), doc["reasons"]
    assert "FAILED: disagrees with the prediction: measured latency p50" in stderr
    assert "is below the band" in stderr


@pytest.mark.slow
def test_a_service_30_percent_slower_disagrees(tmp_path: Path) -> None:
    """Real 0.13 s vs stated 0.1 s (97.5 % busy), uncalibrated: latency above the band; exit 1."""
    code, doc, stderr = _fixed_loadtest(tmp_path, "--no-calibrate", "--body", '{"sleep_s": 0.13}')
    assert code == 1
    assert doc["agrees_with_prediction"] is False
    assert "latency_p50_s" in _latency_disagreements(doc, "above"), doc["reasons"]
    assert "is above the band" in stderr


@pytest.mark.slow
def test_a_cold_start_stated_1s_when_it_is_8s_disagrees(tmp_path: Path) -> None:
    """Replicas ready after ~8 s, stated 1 s: the spike's 503s are above the band (uncalibrated).

    Calibrated with the start times the deployment measured, the same measurement agrees.
    """
    file = tmp_path / "spike.yaml"
    file.write_text(yaml.safe_dump(SPIKE), encoding="utf-8")
    scenario = load_scenario(file)
    # the deployment's own cold start: 7 s more than its process start and init() (~1 s)
    real = with_overrides(scenario, {"service.cold_start_s": 7}, warn=False).service
    seeds = prediction_seeds(scenario.seeds)
    predicted = predict(scenario, seeds)
    measured = measure(
        file, scenario, out_dir=tmp_path / "out", service=real, seed=seeds[0], progress=False
    )
    assert measured.platform is not None and measured.platform.mean_start_s >= 7.5
    wrong = judge(scenario, seeds, measured, predicted, calibrate=False)
    rate = wrong.checks["rate_503"]
    assert rate.measured > 0.15, rate
    assert rate.agrees is False and rate.measured > rate.band[1]
    assert wrong.agrees_with_prediction is False
    assert any("measured 503 rate" in r and "is above the band" in r for r in wrong.reasons)
    right = judge(scenario, seeds, measured, predicted, calibrate=True)
    assert right.calibration is not None and right.calibration.measured_cold_start_s >= 7.5
    assert right.checks["rate_503"].agrees is True, right.reasons


@pytest.mark.slow
def test_a_deployment_that_cannot_start_exits_3(tmp_path: Path) -> None:
    """A score.py whose init() raises: exit 3, the error with the replica's log, no CLI trace."""
    score = tmp_path / "broken_score.py"
    score.write_text(
        "def init():\n    raise RuntimeError('model file missing')\n\n"
        "def run(raw_data):\n    return raw_data\n",
        encoding="utf-8",
    )
    file = tmp_path / "fixed.yaml"
    file.write_text(yaml.safe_dump(FIXED), encoding="utf-8")
    result = runner.invoke(
        app, ["loadtest", str(file), "--score", str(score), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 3, result.output
    assert result.stderr.startswith("Error: local deployment of ")
    assert "model file missing" in result.stderr  # the replica's log tail: init()'s own error
    assert "planner/cli" not in result.stderr and "planner/loadtest" not in result.stderr
