"""`planner loadtest` end to end on 127.0.0.1: right models agree, wrong ones disagree.

A short spike, too small and big enough (the right model: both agree); a service 30 % faster
and one 30 % slower than stated, and a cold start stated as 1 s when the real one is ~8 s (wrong
models, uncalibrated: they must disagree).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats
from typer.testing import CliRunner

from planner.cli import app
from planner.cli._loadtest_render import print_table
from planner.loadtest.calibrate import PlatformTimes
from planner.loadtest.compare import Measurement, compare
from planner.loadtest.judge import (
    MIN_SEEDS,
    calibration_skipped,
    exit_code,
    judge,
    predict,
    prediction_seeds,
)
from planner.loadtest.verdict import Tolerance
from planner.scenario import scenario_from_dict

runner = CliRunner()

# 30 s: 5 rps, a 10x spike to 50 rps for 8 s (0.1 s service: 5 busy replicas), back to 5 rps.
# Cold start 2 s, 503 after 0.2 s in the queue. scale_down_delay_s 2 lets the start-up
# transient's extra replicas go before the spike, so with min_replicas 1 the spike always meets
# 1-2 replicas (the simulator: 7-34 % 503s over 30 seeds, never 0). The big-enough settings are
# the ones `planner recommend --scenario` chooses for this very scenario (min 6, max 6, target
# 0.8 at the time of writing), so the load test checks the recommendation against a real service.
SPEC: dict[str, Any] = {
    "duration_s": 30,
    "warmup_s": 5,
    "seeds": 6,
    "traffic": {
        "arrivals": "poisson",
        "pattern": [
            {"duration_s": 10, "rps": 5},
            {"duration_s": 8, "rps": 50},
            {"duration_s": 12, "rps": 5},
        ],
    },
    "service": {"request_time_s": 0.1, "max_concurrent": 1, "cold_start_s": 2},
    "deployment": {
        "autoscaler": "azureml",
        "max_replicas": 10,
        "target_utilization": 0.7,
        "max_request_wait_s": 0.2,
        "scale_down_delay_s": 2,
    },
    "slo": {"max_rate_503": 0.01, "latency_p99_s": 1.0},
}


def _write(root: Path, name: str, **deployment: Any) -> Path:
    """The scenario with these deployment settings, as a YAML file."""
    spec = {**SPEC, "name": name}
    spec["deployment"] = {**SPEC["deployment"], **deployment}
    file = root / f"{name}.yaml"
    file.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return file


def _loadtest(root: Path, name: str, **deployment: Any) -> tuple[int, dict[str, Any], str, Path]:
    """Write the scenario, run `planner loadtest --format json`; (code, JSON, stderr, out dir)."""
    file = _write(root, name, **deployment)
    out = root / f"out-{name}"
    result = runner.invoke(
        app,
        ["loadtest", str(file), "--out", str(out), "--format", "json",
         "--html", str(out / "report.html")],
    )  # fmt: skip
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.stdout), result.stderr, out


@pytest.fixture(scope="module")
def too_small(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, Any], str, Path]:
    """min_replicas 1: the spike meets too few warm replicas."""
    return _loadtest(tmp_path_factory.mktemp("loadtest"), "spike-min1", min_replicas=1, replicas=1)


@pytest.fixture(scope="module")
def recommended(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What `planner recommend --scenario` chooses for the spike (a simulated search)."""
    file = _write(tmp_path_factory.mktemp("recommend"), "spike-recommend", min_replicas=1)
    result = runner.invoke(app, ["recommend", "--scenario", str(file), "--format", "json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


@pytest.fixture(scope="module")
def big_enough(
    tmp_path_factory: pytest.TempPathFactory, recommended: dict[str, Any]
) -> tuple[int, dict[str, Any], str, Path]:
    """The recommended settings: enough warm replicas for the peak."""
    chosen = {k: recommended[k] for k in ("min_replicas", "max_replicas", "target_utilization")}
    root = tmp_path_factory.mktemp("loadtest")
    return _loadtest(root, "spike-recommended", replicas=chosen["min_replicas"], **chosen)


@pytest.mark.slow
def test_too_few_replicas_give_503s_and_exit_1(too_small: Any) -> None:
    """503s are measured, the SLO is missed (exit 1), and the prediction agrees."""
    code, doc, stderr, out = too_small
    assert code == 1
    assert doc["meets_slo"] is False and doc["ok"] is False
    assert doc["agrees_with_prediction"] is True, doc["reasons"]
    rate = doc["rate_503"]
    assert rate["measured"] > 0.02
    assert rate["band"][0] <= rate["measured"] <= rate["band"][1]
    assert rate["predicted"] > 0.02
    assert "FAILED: SLO missed: rate_503 measured upper 95 % bound" in stderr
    assert doc["counts"]["n_503"] > 0
    _assert_calibrated(doc)
    # the as-specified prediction is there too, with the same seeds (and the same arrivals)
    spec = doc["as_specified"]["rate_503"]
    assert spec["predicted"] > 0.02
    assert isinstance(doc["as_specified"]["agrees_with_prediction"], bool)
    assert (out / "validation.png").stat().st_size > 10_000
    assert "measured" in (out / "report.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_recommended_settings_keep_503s_within_the_slo(
    big_enough: Any, recommended: dict[str, Any]
) -> None:
    """With `planner recommend`'s settings 503s stay within the SLO, measured and predicted."""
    code, doc, stderr, out = big_enough
    assert recommended["min_replicas"] > 1  # the recommendation is a real warm pool
    # The recommendation promises the SLO (503s <= 1 %), not zero: both sides stay within it.
    slo_503 = SPEC["slo"]["max_rate_503"]
    counts = doc["counts"]
    k, n = counts["n_503"] + counts["n_429"], counts["requests"]
    assert doc["rate_503"]["measured"] <= slo_503
    assert doc["rate_503"]["predicted"] <= slo_503
    assert doc["agrees_with_prediction"] is True, doc["reasons"]
    # A run of ~500 requests shows 503s <= 1 % only if the upper Clopper–Pearson bound does
    # (0 503s: ~0.7 %; one or more: above 1 %): then exit 0, else 1 with the reason.
    upper = 1.0 if k == n else float(stats.beta.ppf(0.975, k + 1, n - k))
    assert doc["rate_503"]["measured_ci95"][1] == pytest.approx(upper, rel=1e-6)
    assert doc["meets_slo"] is (upper <= slo_503)
    assert code == (0 if upper <= slo_503 else 1), doc["reasons"]
    lat = doc["latency_p95_s"]
    assert lat["agrees"] is True
    assert 0.1 <= lat["measured"] < 0.5  # 0.1 s service plus little queueing
    replicas = pd.read_csv(out / "replicas.csv")
    # the warm pool was there all along
    assert replicas["measured_ready"].min() >= recommended["min_replicas"]
    assert ("FAILED" in stderr) is (code == 1)
    _assert_calibrated(doc)
    assert doc["as_specified"]["rate_503"]["predicted"] <= slo_503


def _assert_calibrated(doc: dict[str, Any]) -> None:
    """The verdict is against a calibrated prediction: real start >= cold_start_s, slot >= 0.1 s."""
    cal = doc["calibration"]
    cold, request = cal["cold_start_s"], cal["request_time_s"]
    assert cold["specified"] == 2 and request["specified"] == pytest.approx(0.1)
    assert cold["starts"] >= 1 and cold["measured"] >= 2.0  # process + init() + the 2 s sleep
    assert 0.1 <= request["measured"] < 0.13  # the 0.1 s sleep plus the router's hop
    assert request["requests"] >= doc["counts"]["n_2xx"]
    assert cal["overrides"]["service.request_time_s"] == pytest.approx(request["measured"])
    assert cal["label"].startswith("calibrated: cold start ")
    # measured agrees with the calibrated prediction: inside its band
    for name in ("rate_503", "latency_p50_s", "latency_p95_s", "peak_replicas"):
        check = doc[name]
        assert check["agrees"] is True, (name, check)
        assert check["band"][0] <= check["measured"] <= check["band"][1]
    assert doc["latency_p99_s"]["agrees"] is None  # shown beside them, not judged
    assert doc["as_specified"]["rate_503"]["predicted"] is not None


@pytest.mark.slow
def test_request_counts_add_up(too_small: Any) -> None:
    """Requests sent = rows in the per-request CSV = locust's count; statuses match locust's."""
    _, doc, _, out = too_small
    rows = pd.read_csv(out / "requests.csv")
    summary = json.loads((out / "requests.summary.json").read_text())
    assert summary["sent"] == summary["answered"] == len(rows)
    assert summary["pending"] == summary["not_sent"] == 0
    counts = rows["status"].value_counts().to_dict()
    assert set(counts) <= {200, 503}
    assert counts[200] + counts[503] == len(rows)
    stats = pd.read_csv(out / "locust_stats.csv").set_index("Name").loc["Aggregated"]
    assert stats["Request Count"] == len(rows)
    assert stats["Failure Count"] == counts[503]
    window = rows[(rows["t_s"] >= 5) & (rows["t_s"] < 30)]
    assert doc["counts"]["requests"] == len(window)
    assert doc["counts"]["n_503"] == int((window["status"] == 503).sum())
    assert doc["counts"]["sent"] == len(rows)


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    """A missing scenario: exit 2, one line on stderr, no traceback."""
    result = runner.invoke(app, ["loadtest", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"Error: scenario file not found: {tmp_path / 'nope.yaml'}"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tolerance", "rate_503_slo_frac=0.1"], "did you mean 'rate_503_slo_fraction'?"),
        (["--tolerance", "replicas=-1"], "replicas must be a number >= 0: -1"),
        (["--host", "example.com"], "must start with http:// or https://"),
        (["--body", "{not json"], "not JSON"),
        (
            ["--seeds", "2"],
            "Invalid value for '--seeds': Input should be greater than or equal to 3",
        ),
    ],
)
def test_bad_options_are_rejected_before_anything_starts(
    tmp_path: Path, args: list[str], message: str
) -> None:
    """Bad --tolerance, --host or --body: usage error (exit 2) naming the option."""
    file = tmp_path / "s.yaml"
    file.write_text(yaml.safe_dump({**SPEC, "name": "s"}), encoding="utf-8")
    result = runner.invoke(app, ["loadtest", str(file), *args])
    assert result.exit_code == 2
    text = result.stderr.translate({ord(c): " " for c in "│╭╮╰╯─"})  # rich's error box
    assert message in " ".join(text.split())


def test_prediction_seeds_put_the_sent_seed_first() -> None:
    """The sent seed first (it is the paired prediction), at least MIN_SEEDS, no repeats."""
    assert MIN_SEEDS == 3
    assert prediction_seeds((0,)) == (0, 1, 2)
    assert prediction_seeds((4, 7, 9, 11)) == (4, 7, 9, 11)
    assert prediction_seeds((4, 7, 9, 11), seed=9) == (9, 4, 7, 11)
    assert prediction_seeds((4, 7), seed=5, n=4) == (5, 4, 7, 8)
    assert prediction_seeds((0, 1, 2, 3, 4, 5), n=3) == (0, 1, 2)


def test_judge_calibrates_only_a_local_measurement(capsys: pytest.CaptureFixture[str]) -> None:
    """Local: judged against the calibrated simulation, both shown; --host/--no-calibrate: not."""
    scenario = scenario_from_dict({**SPEC, "name": "judge", "duration_s": 12, "warmup_s": 2})
    seeds = prediction_seeds(scenario.seeds, n=3)
    predicted = predict(scenario, seeds)
    n = 60
    requests = pd.DataFrame(
        {"t_s": np.linspace(0, 11.9, n), "lag_s": 0.001, "status": 200, "response_time_s": 0.11}
    )
    platform = PlatformTimes(
        start_times_s=(2.5, 2.6, 2.7), starts_during_test=True, slot_time_s=0.11, dispatched=n
    )
    local = Measurement(requests=requests, sent=n, seed=0, platform=platform)
    assert calibration_skipped(local, calibrate=True) == ""
    v = judge(scenario, seeds, local, predicted, Tolerance(), calibrate=True)
    assert v.calibration is not None and v.specified is not None
    assert v.calibration.overrides == {
        "service.cold_start_s": {"dist": "empirical", "samples": [2.5, 2.6, 2.7]},
        "service.request_time_s": 0.11,
    }
    assert v.reps == 3 and v.specified.reps == 3  # the same seeds for both
    assert v.specified.checks["rate_503"].predicted == predicted.summary["rate_503"].mean()
    assert v.specified.checks["rate_503"].paired == predicted.summary["rate_503"].iloc[0]
    print_table(scenario, v, [])
    shown = capsys.readouterr().out
    assert (
        "calibrated: cold start 2.6 s measured vs 2 s specified, request 0.11 s vs 0.1 s" in shown
    )
    assert "as specified" in shown and "band" in shown
    for measured, flag, why in (
        (replace(local, platform=None), True, "replica start and request times of a remote"),
        (local, False, "not calibrated (--no-calibrate)"),
    ):
        assert why in calibration_skipped(measured, calibrate=flag)
        v = judge(scenario, seeds, measured, predicted, Tolerance(), calibrate=flag)
        assert v.calibration is None and v.specified is None
        assert v.checks == compare(measured, predicted).checks
        assert why in v.notes[-1] and v.notes[-1].endswith("uses the scenario as specified")
        assert exit_code(v) == (0 if v.ok else 1)
