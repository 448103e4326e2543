"""`planner recommend` modes: simulation-backed search, scenario files, deployment formats."""

from __future__ import annotations

import json
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from typer.testing import CliRunner

from planner.cli import app
from planner.metrics import summarise
from planner.scenario import load_scenario, with_overrides
from planner.simulate import run

ENV = {"COLUMNS": "100", "NO_COLOR": "1"}
SCENARIOS = Path(__file__).parents[1] / "scenarios"
runner = CliRunner()

# A small spike: 4 → 12 rps for 30 s, 0.5 s requests, 10 s cold start.
SPIKE = (
    "--rps", "4", "--peak-rps", "12", "--request-time", "0.5", "--spike-duration", "30",
    "--cold-start", "10", "--seeds", "3",
)  # fmt: skip


def _invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["recommend", *args], env=ENV)
    return result.exit_code, result.stdout, result.stderr


def test_spike_is_searched_by_simulation_and_minimal() -> None:
    """With --peak-rps the settings come from simulation; min-1 fails its SLO when re-run."""
    code, out, err = _invoke(*SPIKE, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["method"] == "simulation"
    assert 1 <= data["min_replicas"] <= data["max_replicas"]
    assert 0 < data["target_utilization"] <= 1
    assert data["predicted_rate_503_ci95"][1] <= 0.001


def test_no_simulate_keeps_the_closed_form() -> None:
    """--no-simulate answers from the closed forms only, in the closed form's JSON."""
    code, out, _ = _invoke("--rps", "20", "--peak-rps", "60", "--no-simulate", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["replicas"] == 286 and "method" not in data


def test_scenario_file_without_rps(tmp_path: Path) -> None:
    """--scenario needs no --rps; the chosen settings meet the SLO when simulated again."""
    scenario = with_overrides(load_scenario(SCENARIOS / "spike.yaml"), {"seeds": 3})
    code, out, err = _invoke("--scenario", str(SCENARIOS / "spike.yaml"), "--seeds", "3",
                             "--format", "json")  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert data["name"] == "spike-3x"
    # An independent re-run of the chosen settings from the scenario meets the SLO.
    chosen = with_overrides(
        scenario,
        {
            "deployment.min_replicas": data["min_replicas"],
            "deployment.max_replicas": data["max_replicas"],
            "deployment.target_utilization": data["target_utilization"],
            "deployment.replicas": max(data["min_replicas"], scenario.deployment.replicas),
        },
        warn=False,
    )
    summary = summarise(run(chosen))
    assert summary.meets_slo, summary.reasons


def test_rps_is_required_without_scenario() -> None:
    """No --rps and no --scenario: exit 2 naming --rps, no traceback."""
    code, out, err = _invoke("--format", "json")
    assert code == 2
    assert "--rps" in err and "Traceback" not in out + err


def test_html_needs_the_search() -> None:
    """--html without a spike or --simulate is a usage error naming --html."""
    code, _, err = _invoke("--rps", "20", "--html", "x.html")
    assert code == 2 and "--html" in err


def test_hpa_format_is_a_valid_kubernetes_object() -> None:
    """--format hpa prints an autoscaling/v2 HPA that the real schema accepts, with our bounds."""
    code, out, _ = _invoke("--rps", "20", "--format", "hpa")
    assert code == 0
    doc = yaml.safe_load(out)
    kubernetes_validate.validate(doc, "1.30", strict=True)
    assert doc["kind"] == "HorizontalPodAutoscaler"
    _, json_out, _ = _invoke("--rps", "20", "--format", "json")
    rec = json.loads(json_out)
    assert doc["spec"]["minReplicas"] == rec["min_replicas"]
    assert doc["spec"]["maxReplicas"] == rec["max_replicas"]


def test_azureml_v2_format_carries_the_settings() -> None:
    """--format azureml-v2 gives scale_settings with the recommendation's min/max/target."""
    code, out, _ = _invoke("--rps", "20", "--format", "azureml-v2")
    assert code == 0
    doc = yaml.safe_load(out)
    scale = doc["scale_settings"]
    assert scale["type"] == "target_utilization"
    assert (scale["min_instances"], scale["max_instances"]) == (229, 327)
    assert scale["target_utilization_percentage"] == 70
    assert doc["request_settings"]["max_queue_wait_ms"] == 500


def test_search_writes_html(tmp_path: Path) -> None:
    """--html writes one self-contained page with the candidates plot."""
    page = tmp_path / "rec.html"
    code, _, err = _invoke(*SPIKE, "--html", str(page))
    assert code == 0, err
    html = page.read_text()
    assert "data:image/png;base64," in html and "min_replicas" in html


def test_search_without_latency_target_says_so() -> None:
    """No --latency-p99: the search says there is no latency SLO (not max wait + timeout)."""
    code, out, err = _invoke(*SPIKE)
    assert code == 0, err
    row = next(line for line in out.splitlines() if line.strip().startswith("latency p99"))
    assert "no latency SLO" in row and "60.5" not in row
    code, out, _ = _invoke(*SPIKE, "--format", "json")
    assert code == 0 and json.loads(out)["slo"]["latency_p99_s"] is None


def test_search_simulates_the_stated_request_time_shape() -> None:
    """The simulated spike uses the request-time shape the closed form assumes (default exp)."""
    from planner.recommend.spike import request_time_spec, spike_scenario

    exp = spike_scenario(rps=4, peak_rps=12, request_time_s=request_time_spec(0.5))
    assert exp.service.request_time_s.scv == 1.0
    const = spike_scenario(rps=4, peak_rps=12, request_time_s=request_time_spec(0.5, 0.0))
    assert const.service.request_time_s.scv == 0.0
    gamma = spike_scenario(rps=4, peak_rps=12, request_time_s=request_time_spec(0.5, 0.25))
    assert gamma.service.request_time_s.scv == pytest.approx(0.25)
    assert gamma.service.request_time_s.mean_s == pytest.approx(0.5)
