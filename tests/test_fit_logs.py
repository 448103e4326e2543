"""planner fit: reading logs in each format and refusing bad rows with one line naming them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from planner.cli import app
from planner.errors import ScenarioError
from planner.fit import PRESETS, Columns, read_log
from planner.fit.logs import detect_format

runner = CliRunner()

GOOD = """timestamp,duration,resultCode,cloud_RoleInstance
2026-11-30T09:00:00.000Z,100,200,a
2026-11-30T09:00:00.500Z,250.5,200,b
2026-11-30T09:00:01.250+00:00,80,503,
2026-11-30T09:00:03Z,120,200,a
"""


def fit_cli(*args: str) -> tuple[int, str, str]:
    """Run `planner fit`; return exit code, stdout and stderr."""
    result = runner.invoke(app, ["fit", *args])
    return result.exit_code, result.stdout, result.stderr


def test_appinsights_csv_is_read_with_times_units_status_and_instances(tmp_path: Path) -> None:
    """ISO stamps with offsets become seconds; ms durations become seconds; 503 keeps no name."""
    path = tmp_path / "ai.csv"
    path.write_text(GOOD)
    log = read_log(path, PRESETS["appinsights"])
    np.testing.assert_allclose(log.t_s, [0.0, 0.5, 1.25, 3.0])
    np.testing.assert_allclose(log.duration_s, [0.1, 0.2505, 0.08, 0.12])
    assert log.status is not None and log.status.tolist() == [200, 200, 503, 200]
    assert log.instance is not None and log.instance.tolist() == ["a", "b", "", "a"]
    assert log.start == pd.Timestamp("2026-11-30T09:00:00Z")


@pytest.mark.parametrize("fmt", ["jsonl", "json", "parquet"])
def test_other_formats_read_the_same_as_csv(tmp_path: Path, fmt: str) -> None:
    """JSON Lines, a JSON array and Parquet give the arrays of the CSV (detected by content)."""
    csv = tmp_path / "ai.csv"
    csv.write_text(GOOD)
    frame = pd.read_csv(csv, dtype={"cloud_RoleInstance": str}, keep_default_na=False)
    other = tmp_path / "ai.data"  # no telling extension: the content decides
    if fmt == "jsonl":
        other.write_text("\n".join(json.dumps(r) for r in frame.to_dict("records")) + "\n")
    elif fmt == "json":
        other.write_text(json.dumps(frame.to_dict("records")))
    else:
        frame.to_parquet(other)
    assert detect_format(other) == fmt
    a, b = read_log(csv, PRESETS["appinsights"]), read_log(other, PRESETS["appinsights"])
    np.testing.assert_allclose(b.t_s, a.t_s)
    np.testing.assert_allclose(b.duration_s, a.duration_s)
    assert b.status is not None and a.status is not None
    assert b.status.tolist() == a.status.tolist()


def test_parquet_timestamps_and_portal_column_names(tmp_path: Path) -> None:
    """A Parquet datetime column, and the portal's "timestamp [UTC]" header, are times."""
    stamps = pd.to_datetime(["2026-11-30T09:00:00Z", "2026-11-30T09:00:02.500Z"], format="ISO8601")
    frame = pd.DataFrame({"timestamp [UTC]": stamps, "duration": [10.0, 20.0]})
    frame.to_parquet(tmp_path / "t.parquet")
    log = read_log(tmp_path / "t.parquet", PRESETS["appinsights"])
    np.testing.assert_allclose(log.t_s, [0.0, 2.5])
    np.testing.assert_allclose(log.duration_s, [0.01, 0.02])
    assert log.status is None and log.instance is None


def test_numeric_timestamps_and_seconds_unit(tmp_path: Path) -> None:
    """Numbers of seconds are times too; --duration-unit s keeps durations as they are."""
    path = tmp_path / "n.csv"
    path.write_text("when,took\n100.5,0.2\n101.0,0.4\n")
    log = read_log(path, Columns(timestamp="when", duration="took", duration_unit="s"))
    np.testing.assert_allclose(log.t_s, [0.0, 0.5])
    np.testing.assert_allclose(log.duration_s, [0.2, 0.4])
    assert log.start is None


def test_locust_stats_files_are_refused_with_the_reason(tmp_path: Path) -> None:
    """Locust's aggregated stats CSV has no per-request rows: refused, naming what to give."""
    path = tmp_path / "locust_stats_history.csv"
    path.write_text("Timestamp,User Count,Type,Name,Requests/s,Failures/s\n1,1,,Aggregated,2,0\n")
    with pytest.raises(ScenarioError, match="--requests-csv"):
        read_log(path, PRESETS["locust"])


BAD = [
    ("unparseable_timestamp", GOOD.replace("2026-11-30T09:00:01.250+00:00", "yesterday"),
     "line 4: column 'timestamp': not an ISO 8601 time"),
    ("negative_duration", GOOD.replace(",250.5,", ",-3,"),
     "line 3: column 'duration': duration must be >= 0"),
    ("missing_duration", GOOD.replace(",80,503,", ",,503,"),
     "line 4: column 'duration': duration is missing"),
    ("text_duration", GOOD.replace(",120,", ",slow,"),
     "line 5: column 'duration': duration is not a number"),
    ("missing_timestamp", GOOD.replace("2026-11-30T09:00:03Z", ""),
     "line 5: column 'timestamp': timestamp is missing"),
    ("unsorted", GOOD.replace("2026-11-30T09:00:03Z", "2026-11-30T08:59:00Z"),
     "line 5: column 'timestamp': time goes backwards"),
    ("bad_status", GOOD.replace(",200,b", ",OK,b"),
     "line 3: column 'resultCode': status is not a number"),
    ("unparseable_row", GOOD.replace("120,200,a", "120,200,a,extra,cells"),
     "unreadable CSV row"),
    ("empty", "", "the log is empty"),
    ("header_only", "timestamp,duration,resultCode\n", "the log has no requests"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "text", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_one_line_naming_the_row_and_column(
    tmp_path: Path, case: str, text: str, message: str
) -> None:
    """Each bad log: exit 2, one line on stderr naming the row and column, nothing written."""
    path = tmp_path / f"{case}.csv"
    path.write_text(text)
    code, out, err = fit_cli(
        str(path), "--preset", "appinsights", "--out", str(tmp_path / "o.yaml")
    )
    assert code == 2, (out, err)
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "o.yaml").exists()


def test_unparseable_row_names_its_line(tmp_path: Path) -> None:
    """A row with too many cells: the parser's line number is in the message."""
    path = tmp_path / "r.csv"
    path.write_text(GOOD.replace("120,200,a", "120,200,a,extra,cells"))
    code, _, err = fit_cli(str(path), "--preset", "appinsights", "--out", str(tmp_path / "o.yml"))
    assert code == 2 and "line 5" in err


def test_bad_json_line_is_named(tmp_path: Path) -> None:
    """JSON Lines: the line that is not JSON is named."""
    path = tmp_path / "x.jsonl"
    path.write_text('{"timestamp": "2026-11-30T09:00:00Z", "duration": 1}\n{"timestamp": oops}\n')
    code, _, err = fit_cli(str(path), "--preset", "appinsights", "--out", str(tmp_path / "o.yml"))
    assert code == 2 and "line 2: not valid JSON" in err


def test_sort_accepts_an_unsorted_log(tmp_path: Path) -> None:
    """--sort orders the rows instead of refusing them; durations follow their rows."""
    path = tmp_path / "u.csv"
    path.write_text("t,d\n5,10\n1,20\n3,30\n")
    log = read_log(path, Columns(timestamp="t", duration="d"), sort=True)
    np.testing.assert_allclose(log.t_s, [0, 2, 4])
    np.testing.assert_allclose(log.duration_s, [0.02, 0.03, 0.01])


def test_missing_column_is_named(tmp_path: Path) -> None:
    """An option naming a column the log lacks: the column and the ones it has."""
    path = tmp_path / "c.csv"
    path.write_text("t,d\n1,2\n")
    code, _, err = fit_cli(
        str(path), "--timestamp", "t", "--duration", "d", "--status", "code",
        "--out", str(tmp_path / "o.yaml"),
    )  # fmt: skip
    assert code == 2 and "no column 'code'" in err
