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


# ---- bad input: one line on stderr, exit 2, nothing simulated ---------------------------------


def _one_line_error(code: int, out: str, err: str, *words: str) -> None:
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    errors = [line for line in lines if line.startswith("Error: ")]
    assert len(errors) == 1 and all(line.startswith(("Error: ", "Warning: ")) for line in lines)
    assert "Traceback" not in err + out
    for word in words:
        assert word in errors[0], (word, errors[0])


@pytest.mark.parametrize(
    ("option", "target", "words"),
    [
        ("--out", "file", ["--out", "this is a file"]),
        ("--out", "/proc/planner-out", ["--out", "/proc"]),
        ("--out", "/proc/self", ["--out", "/proc"]),
        ("--html", "dir", ["--html", "this is a directory"]),
        ("--html", "/proc/report.html", ["--html", "/proc"]),
    ],
)
def test_unwritable_outputs_are_refused_before_simulating(
    spike_file: Path, tmp_path: Path, option: str, target: str, words: list[str]
) -> None:
    """--out that is a file or under /proc, --html that is a directory: one line, exit 2."""
    if target == "file":
        path = tmp_path / "taken"
        path.write_text("keep me")
    elif target == "dir":
        path = tmp_path / "a-dir"
        path.mkdir()
    else:
        path = Path(target)
    _one_line_error(*invoke(str(spike_file), option, str(path), "--seed", "1"), *words)
    if target == "file":
        assert path.read_text() == "keep me"


def test_markup_in_the_scenario_name_is_shown_as_written(tmp_path: Path) -> None:
    """A name with rich markup ("[/bold]oops") is printed literally, in the table and the HTML."""
    path = tmp_path / "markup.yaml"
    path.write_text(SHORT_SPIKE.replace("name: short-spike", 'name: "[/bold]oops [red]x"'))
    html = tmp_path / "r.html"
    code, out, err = invoke(str(path), "--no-progress", "--html", str(html))
    assert code == 0, err
    assert "[/bold]oops [red]x: 150 s simulated" in out
    assert "[/bold]oops [red]x" in html.read_text(encoding="utf-8")


def test_one_replication_warns_and_shows_no_interval(spike_file: Path) -> None:
    """seeds 1: a one-line PlannerWarning, no CI column, no "95 %" claim; 2 seeds show both."""
    html = spike_file.with_suffix(".html")
    code, out, err = invoke(str(spike_file), "--seeds", "1", "--no-progress", "--html", str(html))
    assert code in (0, 1), err
    assert "95 %" not in html.read_text(encoding="utf-8")
    warning = [line for line in err.splitlines() if line.startswith("Warning: ")]
    assert len(warning) == 1 and "no confidence interval" in warning[0]
    assert "95 %" not in out
    code, out, err = invoke(str(spike_file), "--seeds", "2", "--no-progress")
    assert "no confidence interval" not in err
    assert "95 % CI" in out


@pytest.mark.parametrize("args", [["--seeds", "1000000"], ["--seeds", str(10**15)]])
def test_a_million_seeds_is_refused_at_once(spike_file: Path, args: list[str]) -> None:
    """10⁶ seeds (or 10¹⁵) is refused with the estimate and the way to go ahead anyway."""
    code, out, err = invoke(str(spike_file), *args)
    _one_line_error(code, out, err, "simulated requests", "--allow-large")


def test_a_scenario_of_a_trillion_requests_is_refused(tmp_path: Path) -> None:
    """10⁶ rps for 10⁶ s (10¹² requests in one run, each within its bound) is refused at once."""
    path = tmp_path / "huge.yaml"
    text = SHORT_SPIKE.replace("seeds: 2", "seeds: 1").replace(
        "duration_s: 150", "duration_s: 1000000"
    )
    text = text.replace(
        "  pattern:\n    - {duration_s: 40, rps: 5}\n    - {duration_s: 40, rps: 30}\n"
        "    - {duration_s: 70, rps: 5}\n",
        "  rps: 1000000\n",
    )
    path.write_text(text)
    code, out, err = invoke(str(path))
    _one_line_error(code, out, err, "1e+12 simulated requests", "--allow-large")
