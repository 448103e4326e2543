"""`closed_form_recommendation` and the `planner recommend` command (CliRunner, golden text)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from planner.cli import app
from planner.errors import InfeasibleError, ScenarioError
from planner.formulas import replicas_needed
from planner.queueing import mmc_patience, smallest_replicas
from planner.recommend.closed_form import closed_form_recommendation

GOLDEN = Path(__file__).parent / "golden"
# A fixed, colourless terminal: rich reads COLUMNS; None removes a variable for the run.
ENV: dict[str, str | None] = {
    "COLUMNS": "100",
    "NO_COLOR": "1",
    "FORCE_COLOR": None,
    "TTY_COMPATIBLE": None,
    "TTY_INTERACTIVE": None,
}

runner = CliRunner()


def _invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["recommend", *args], env=ENV)
    return result.exit_code, result.stdout, result.stderr


# ---- library ------------------------------------------------------------------------------------


def test_documented_example() -> None:
    """20 rps × 10 s / 0.7 / 1 gives 286 replicas; the queueing view is computed at 286."""
    rec = closed_form_recommendation(rps=20)
    assert rec.replicas == 286
    profile = mmc_patience(20, 10.0, 286, 0.5)
    assert rec.predicted_rate_503 == profile.rate_503
    assert rec.p_wait == profile.p_wait
    assert rec.utilization == pytest.approx(200 / 286, rel=1e-9)
    assert rec.capacity_rps == pytest.approx(28.6)
    assert rec.spike_absorbed == pytest.approx(0.43)
    assert rec.seconds_to_first_503 is None
    assert rec.reasons["replicas"] == "Azure ML formula: 20 rps × 10 s / 0.7 / 1 → 286 replicas"


def test_settings_policy_with_a_peak() -> None:
    """min carries the peak within the SLO (smallest such), max covers the formula at the peak."""
    rec = closed_form_recommendation(rps=20, peak_rps=60, latency_p99_s=50.0)
    expected_min = smallest_replicas(
        60, 10.0, max_wait_s=0.5, max_rate_503=0.001, latency_target_s=50.0
    )
    assert rec.min_replicas == expected_min
    assert rec.rate_503_at_min_replicas <= 0.001
    assert mmc_patience(60, 10.0, expected_min - 1, 0.5).rate_503 > 0.001
    assert rec.max_replicas >= replicas_needed(60, 10.0, 0.7) == 858
    assert rec.max_replicas == 928  # ceil((600 + 2√600) / 0.7)
    assert rec.recommended_target_utilization == 0.7
    full = 10 * math.log(400 / 314)  # the 86 idle slots fill first
    assert rec.seconds_to_full == pytest.approx(full)
    assert rec.seconds_to_first_503 == pytest.approx(full + 28.6 * 0.5 / (60 - 28.6))
    assert mmc_patience(60, 10.0, expected_min, 0.5).response_quantile(0.99) <= 50.0
    assert set(rec.reasons) == {"replicas", "min_replicas", "max_replicas", "target_utilization"}
    assert all(rec.reasons.values()) and all("\n" not in r for r in rec.reasons.values())


def test_max_concurrent_divides_replicas() -> None:
    """Four requests per replica: a quarter of the replicas (rounded up), same slot count view."""
    rec = closed_form_recommendation(rps=20, max_concurrent=4)
    assert rec.replicas == 72
    assert rec.predicted_rate_503 == mmc_patience(20, 10.0, 288, 0.5).rate_503


def test_to_dict_has_inputs_and_settings() -> None:
    """to_dict carries every input, the settings, and the export-friendly max_request_wait_s."""
    data = closed_form_recommendation(rps=5, request_time_s=1.0, max_wait_s=0.2).to_dict()
    for key in ("rps", "request_time_s", "max_concurrent", "target_utilization", "max_wait_s",
                "peak_rps", "max_rate_503", "latency_p99_s", "replicas", "min_replicas",
                "max_replicas", "predicted_rate_503", "reasons"):  # fmt: skip
        assert key in data
    assert data["max_request_wait_s"] == data["max_wait_s"] == 0.2
    assert json.loads(json.dumps(data)) == data


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"rps": -1.0}, ScenarioError, "rps must be > 0: -1"),
        ({"rps": 20, "target_utilization": 1.5}, ScenarioError, r"target_utilization .*1\.5"),
        ({"rps": 20, "peak_rps": 10}, ScenarioError, r"peak_rps must be >= rps \(20\): 10"),
        ({"rps": 20, "max_concurrent": 0}, ScenarioError, "max_concurrent"),
        ({"rps": 20, "max_rate_503": 0.0}, InfeasibleError, "max_rate_503"),
        ({"rps": 20, "latency_p99_s": 9.0}, InfeasibleError, "latency_p99_s"),
        ({"rps": 20, "latency_p99_s": 46.0}, InfeasibleError, r"p99 of the request time.*46\.05"),
        ({"rps": 1e9}, ScenarioError, "slots"),
        ({"rps": 20, "request_time_s": 1e9}, ScenarioError, "request_time_s"),
        ({"rps": 20, "target_utilization": 1e-9}, ScenarioError, "target_utilization"),
        ({"rps": 20, "max_wait_s": 1e300}, ScenarioError, "max_wait_s"),
        ({"rps": 20, "request_time_scv": -1.0}, ScenarioError, "request_time_scv"),
    ],
)
def test_library_errors_name_the_field(
    kwargs: dict[str, float], error: type[Exception], match: str
) -> None:
    """Bad inputs raise PlannerError subclasses naming the field, the rule and the value."""
    with pytest.raises(error, match=match):
        closed_form_recommendation(**kwargs)  # type: ignore[arg-type]


def test_library_imports_nothing_heavy() -> None:
    """The closed form loads without pandas, matplotlib, simpy or numpy (fast CLI answers)."""
    code = (
        "import sys, planner.recommend.closed_form; "
        "print(sorted(m for m in ('pandas', 'matplotlib', 'simpy', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---- command ------------------------------------------------------------------------------------


def test_cli_table_shows_formula_and_settings() -> None:
    """`planner recommend --rps 20` prints the 286 formula line and the three settings."""
    code, out, _ = _invoke("--rps", "20")
    assert code == 0
    assert "20 rps × 10 s / 0.7 / 1 → 286 replicas" in out
    rec = closed_form_recommendation(rps=20)
    for name, value in (("min_replicas", rec.min_replicas), ("max_replicas", rec.max_replicas)):
        assert any(name in line and str(value) in line for line in out.splitlines())
    assert "target_utilization" in out


def test_cli_json_matches_library() -> None:
    """--format json gives the library's numbers; the 503 rate is M/M/c+D at the formula size."""
    code, out, _ = _invoke("--rps", "20", "--peak-rps", "60", "--no-simulate", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["replicas"] == 286
    assert data["peak_rps"] == 60
    assert data["predicted_rate_503"] == pytest.approx(mmc_patience(20, 10.0, 286, 0.5).rate_503)
    expected = closed_form_recommendation(rps=20, peak_rps=60).to_dict()
    for key in ("min_replicas", "max_replicas", "target_utilization", "seconds_to_first_503"):
        assert data[key] == expected[key]


def test_cli_yaml_parses_like_json() -> None:
    """--format yaml is valid YAML with the same content as the JSON."""
    args = ("--rps", "7.5", "--request-time", "0.4", "--max-concurrent", "2", "--max-wait", "0")
    yaml_code, yaml_out, _ = _invoke(*args, "--format", "yaml")
    json_code, json_out, _ = _invoke(*args, "--format", "json")
    assert yaml_code == json_code == 0
    assert yaml.safe_load(yaml_out) == json.loads(json_out)


@pytest.mark.parametrize(
    ("args", "option", "value"),
    [
        (("--rps", "-1"), "--rps", "-1"),
        (("--rps", "0"), "--rps", "0"),
        (("--rps", "abc"), "--rps", ""),
        (("--rps", "20", "--target-util", "0"), "--target-util", "0"),
        (("--rps", "20", "--target-util", "1.5"), "--target-util", "1.5"),
        (("--rps", "20", "--max-concurrent", "0"), "--max-concurrent", "0"),
        (("--rps", "20", "--max-concurrent", "1.5"), "--max-concurrent", ""),
        (("--rps", "20", "--request-time", "0"), "--request-time", "0"),
        (("--rps", "20", "--max-wait", "-0.1"), "--max-wait", "-0.1"),
        (("--rps", "20", "--slo-503", "1"), "--slo-503", "1"),
        (("--rps", "20", "--slo-503", "0"), "--slo-503", "0"),
        (("--rps", "20", "--peak-rps", "10"), "--peak-rps", "10"),
        (("--rps", "20", "--latency-p99", "10"), "--latency-p99", "10"),
        (("--rps", "nan"), "--rps", "nan"),
        (("--rps", "1e9"), "--rps", "1e+09"),
        (("--rps", "20", "--request-time", "1e9"), "--request-time", "1e+09"),
        (("--rps", "20", "--target-util", "1e-9"), "--target-util", "1e-09"),
        (("--rps", "20", "--max-wait", "1e300"), "--max-wait", "1e+300"),
        (("--rps", "20", "--peak-rps", "1e9", "--no-simulate"), "--peak-rps", "1e+09"),
        (("--rps", "20", "--latency-p99", "46"), "--latency-p99", "46"),
        (("--rps", "20", "--request-time-scv", "-1"), "--request-time-scv", "-1"),
        (
            ("--rps", "4", "--peak-rps", "8", "--spike-duration", "1e300"),
            "--spike-duration",
            "1e+300",
        ),
        (("--rps", "4", "--peak-rps", "8", "--cold-start", "1e300"), "--cold-start", "1e+300"),
    ],
)
def test_cli_bad_options_exit_2(args: tuple[str, ...], option: str, value: str) -> None:
    """A bad option: exit code 2, one message line naming the option (and value), no traceback."""
    from planner.cli.recommend import ALIASES

    option = ALIASES.get(option, option)  # an old name works; the message names the new one
    code, out, err = _invoke(*args)
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if option in line and "Invalid value" in line]
    assert len(lines) == 1
    assert value in lines[0].split(":", 1)[1]


def test_cli_large_load_answers_the_formula() -> None:
    """--rps 1e7: the formula's 142,857,143 replicas, answered (O(log n) searches, O(1) Erlang)."""
    code, out, err = _invoke("--rps", "1e7", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["replicas"] == 142_857_143
    assert data["max_replicas"] == math.ceil((1e8 + 2e4) / 0.7)
    # fewer than a(1 − 0.001) slots cannot carry the load; square-root staffing is an upper end
    assert 1e8 * 0.999 <= data["min_replicas"] <= 1e8 + 5e4


def test_cli_no_latency_slo_is_said() -> None:
    """Without --latency-p99 the table says there is no latency SLO; with one, it judges it."""
    _, out, _ = _invoke("--rps", "20")
    assert "no latency SLO given" in out
    _, out, _ = _invoke("--rps", "20", "--latency-p99", "50")
    assert "SLO 50 s: met" in out


def test_cli_request_time_scv_changes_every_figure() -> None:
    """--request-time-scv 0 (constant): p99 is the wait p99 + T; the table says the shape."""
    code, out, _ = _invoke("--rps", "7", "--request-time", "1", "--request-time-scv", "0",
                           "--format", "json")  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert data["request_time_scv"] == 0
    assert data["predicted_latency_p99_s"] == pytest.approx(data["wait_p99_s"] + 1.0)
    _, table, _ = _invoke("--rps", "7", "--request-time", "1", "--request-time-scv", "0")
    assert "constant request times" in table and "≈" in table


def test_cli_requires_rps() -> None:
    """Without --rps the command says it is missing and exits 2."""
    code, _, err = _invoke()
    assert code == 2
    assert "--rps" in err


def test_cli_help_is_helpful() -> None:
    """--help names units, defaults and an example."""
    result = runner.invoke(app, ["recommend", "--help"], env={**ENV, "COLUMNS": "200"})
    assert result.exit_code == 0
    for text in ("--request-time", "seconds", "[default: 10.0]", "[default: 0.7]", "Example",
                 "planner recommend --rps 20", "286"):  # fmt: skip
        assert text in result.stdout


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("recommend_rps20", ("--rps", "20")),
        (
            "recommend_rps20_peak60",
            ("--rps", "20", "--peak-rps", "60", "--latency-p99", "50", "--no-simulate"),
        ),
    ],
)
def test_cli_golden_table(name: str, args: tuple[str, ...]) -> None:
    """The table output is unchanged (regenerate deliberately: PLANNER_REGEN_GOLDEN=1)."""
    code, out, _ = _invoke(*args)
    assert code == 0
    text = "\n".join(line.rstrip() for line in out.splitlines()) + "\n"
    path = GOLDEN / f"{name}.out"
    if os.environ.get("PLANNER_REGEN_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")
