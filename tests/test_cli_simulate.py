"""Tests for `planner simulate`: JSON and table output, files written, errors and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from planner.cli import app

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# A two-minute spike: 2 warm replicas, 6 busy slots needed during the spike, 20 s cold start.
SHORT_SPIKE = """\
name: short-spike
duration_s: 150
warmup_s: 10
seeds: 2
traffic:
  arrivals: poisson
  pattern:
    - {duration_s: 40, rps: 5}
    - {duration_s: 40, rps: 30}
    - {duration_s: 70, rps: 5}
service:
  request_time_s: 0.2
  max_concurrent: 1
  cold_start_s: 20
deployment:
  autoscaler: azureml
  replicas: 2
  min_replicas: 2
  max_replicas: 6
  target_utilization: 0.7
  max_request_wait_s: 0.5
slo:
  max_rate_503: 0.001
  latency_p99_s: 2.0
"""

JSON_KEYS = {
    "requests",
    "rate_503",
    "rate_504",
    "mean_wait_s",
    "latency_p50_s",
    "latency_p95_s",
    "latency_p99_s",
    "peak_replicas",
    "replica_seconds",
}


@pytest.fixture
def spike_file(tmp_path: Path) -> Path:
    """The short spike scenario as a YAML file."""
    path = tmp_path / "short.yaml"
    path.write_text(SHORT_SPIKE, encoding="utf-8")
    return path


def invoke(*args: str) -> tuple[int, str, str]:
    """Run the CLI; return exit code, stdout and stderr."""
    result = runner.invoke(app, ["simulate", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_json_is_one_object_with_design_keys_and_cis(spike_file: Path) -> None:
    """--format json: stdout parses as one object; DESIGN.md keys, sane values, CIs with 2 seeds."""
    code, out, _ = invoke(str(spike_file), "--format", "json", "--no-progress")
    assert code == 0
    data = json.loads(out)
    assert set(data) >= JSON_KEYS
    assert data["scenario"] == "short-spike" and data["reps"] == 2 and data["seeds"] == [0, 1]
    assert 0.0 <= data["rate_503"] <= 1.0 and 0.0 <= data["rate_504"] <= 1.0
    # about 140 s after warm-up at a mean of ~12 rps: roughly 1,700 requests per rep.
    assert 1_200 < data["requests"] < 2_300
    assert 2 <= data["peak_replicas"] <= 6
    lo, hi = data["rate_503_ci95"]
    assert lo <= data["rate_503"] <= hi
    assert data["latency_p50_s"] <= data["latency_p95_s"] <= data["latency_p99_s"]
    assert data["rate_503"] > 0  # 2 warm replicas, 6 needed, 20 s cold start: some 503s
    assert any("503" in line for line in data["why_503"])


def test_seed_override_and_table_explains_503s(spike_file: Path) -> None:
    """--seed runs one rep; the table names the 503 rate and says replicas were starting."""
    code, out, _ = invoke(str(spike_file), "--seed", "7", "--processes", "1")
    assert code == 0
    assert "short-spike" in out and "1 replication" in out
    assert "503 rate" in out
    assert "got 503" in out and "while replicas were" in out
    assert "SLO: NOT met" in out


def test_out_and_html_write_files(spike_file: Path, tmp_path: Path) -> None:
    """--out writes CSVs, JSON, a real PNG and the request table; --html a self-contained page."""
    out_dir = tmp_path / "run"
    page = tmp_path / "report.html"
    code, out, _ = invoke(
        str(spike_file), "--seeds", "1", "--out", str(out_dir), "--requests", "--html", str(page)
    )
    assert code == 0
    timeline = pd.read_csv(out_dir / "timeline.csv")
    assert {"rep", "t_s", "ready", "starting", "n_503"} <= set(timeline.columns)
    assert len(timeline) == 150
    summary = pd.read_csv(out_dir / "summary.csv")
    assert len(summary) == 1
    requests = pd.read_parquet(out_dir / "requests.parquet")
    assert len(requests) >= summary["requests"].iloc[0]
    saved = json.loads((out_dir / "summary.json").read_text())
    assert saved["rate_503"] == pytest.approx(summary["rate_503"].iloc[0])
    png = (out_dir / "timeline.png").read_bytes()
    assert png.startswith(PNG_MAGIC) and len(png) > 10_000
    html = page.read_text(encoding="utf-8")
    assert 'src="data:image/png;base64,' in html
    assert "deployment.max_replicas" in html and "Why the 503s" in html
    assert "http://" not in html and "https://" not in html
    assert str(page) in out


def test_requests_as_csv(spike_file: Path, tmp_path: Path) -> None:
    """--csv writes requests.csv with the documented columns instead of Parquet."""
    code, _, _ = invoke(str(spike_file), "--seed", "1", "--out", str(tmp_path), "--csv")
    assert code == 0
    df = pd.read_csv(tmp_path / "requests.csv")
    assert list(df.columns) == ["rep", "t_arrival_s", "wait_s", "latency_s", "replica", "status"]
    assert set(df["status"]) <= {200, 503, 504}
    assert not (tmp_path / "requests.parquet").exists()


def test_out_writes_both_tables_unless_no_requests(spike_file: Path, tmp_path: Path) -> None:
    """--out alone writes the per-request and per-second tables; --no-requests skips the first."""
    both, lean = tmp_path / "both", tmp_path / "lean"
    assert invoke(str(spike_file), "--seed", "1", "--out", str(both))[0] == 0
    requests = pd.read_parquet(both / "requests.parquet")
    timeline = pd.read_csv(both / "timeline.csv")
    assert requests["t_arrival_s"].max() < timeline["t_s"].max() + 1
    assert invoke(str(spike_file), "--seed", "1", "--out", str(lean), "--no-requests")[0] == 0
    assert (lean / "timeline.csv").exists() and not (lean / "requests.parquet").exists()


def test_example_spike_scenario_json() -> None:
    """The shipped scenarios/spike.yaml runs (one seed) and reports a 503 rate in [0, 1]."""
    code, out, _ = invoke(str(REPO / "scenarios" / "spike.yaml"), "--seed", "0", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert 0.0 <= data["rate_503"] <= 1.0 and data["requests"] > 0


def test_missing_file_is_one_line_exit_2(tmp_path: Path) -> None:
    """A missing file: exit 2, one line on stderr, nothing on stdout, no traceback."""
    code, out, err = invoke(str(tmp_path / "nope.yaml"))
    assert code == 2
    assert out == ""
    assert err.strip().count("\n") == 0 and "nope.yaml" in err and "Traceback" not in err


def test_misspelt_key_suggests_the_right_one(tmp_path: Path) -> None:
    """A misspelt scenario key: exit 2 with "did you mean" naming the right key."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(SHORT_SPIKE.replace("max_replicas: 6", "max_replica: 6"), encoding="utf-8")
    code, _, err = invoke(str(bad), "--format", "json")
    assert code == 2
    assert "did you mean" in err and "max_replicas" in err
    assert err.strip().count("\n") == 0


def test_planner_warnings_go_to_stderr_as_lines(tmp_path: Path) -> None:
    """A doubtful scenario (no warm-up with an autoscaler) still runs; the warning is one line."""
    path = tmp_path / "nowarm.yaml"
    path.write_text(SHORT_SPIKE.replace("warmup_s: 10", "warmup_s: 0"), encoding="utf-8")
    code, out, err = invoke(str(path), "--seed", "0", "--format", "json")
    assert code == 0
    assert json.loads(out)["reps"] == 1
    assert err.startswith("Warning: ") and "warmup_s" in err


@pytest.mark.parametrize(
    "args",
    [
        ["--seeds", "2", "--seed", "1"],
        ["--seeds", "0"],
        ["--format", "xml"],
        ["--requests"],
        ["--processes", "0"],
    ],
)
def test_bad_options_exit_2(spike_file: Path, args: list[str]) -> None:
    """Contradictory or invalid options are usage errors (exit 2)."""
    code, _, _ = invoke(str(spike_file), *args)
    assert code == 2
