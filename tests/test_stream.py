"""Streaming a day-long log: the file-backed trace, the chunked reader and its reductions.

Every streamed path is checked against the whole-array path on the same data: the same
arrivals bit for bit, the same RequestLog, the same fit and scenario on small logs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner.errors import ScenarioError
from planner.fit import PRESETS, RequestLog, read_log
from planner.fit.build import LogFit, fit_log
from planner.fit.reduce import summarise_log
from planner.fit.stream import read_log_chunked
from planner.scenario import scenario_from_dict
from planner.traffic import Traffic

AZURE = Path(__file__).resolve().parents[1] / "examples" / "logs" / "azure-llm-2023-code.csv"


def _chunks(traffic: Traffic, duration_s: float, chunk: int) -> list[np.ndarray]:
    return list(traffic.arrival_times(duration_s, np.random.default_rng(0), chunk))


@pytest.mark.parametrize("duration_s", [1000.0, 500.5, 3.0, 0.001])
@pytest.mark.parametrize("chunk", [1, 4096, 1 << 20])
def test_file_trace_gives_the_in_memory_trace_arrivals_bit_for_bit(
    tmp_path: Path, duration_s: float, chunk: int
) -> None:
    rng = np.random.default_rng(7)
    times = np.sort(rng.random(20_000 if chunk > 1 else 2_000) * 1000.0)
    file = tmp_path / "t.npy"
    np.save(file, times)
    memory = Traffic(trace_times_s=times)
    disk = Traffic(trace_file=str(file), trace_name=str(file))
    a, b = _chunks(memory, duration_s, chunk), _chunks(disk, duration_s, chunk)
    assert len(a) == len(b)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    # The rate curve (per-second counts) is the same too.
    assert np.array_equal(
        memory.cumulative(np.arange(0, 1001.0)), disk.cumulative(np.arange(0, 1001.0))
    )
    assert disk.peak_rps(1000.0) == memory.peak_rps(1000.0)
    assert disk.total_duration_s == memory.total_duration_s


def test_file_trace_refuses_unsorted_and_negative_times(tmp_path: Path) -> None:
    file = tmp_path / "u.npy"
    np.save(file, np.array([0.0, 2.0, 1.0]))
    with pytest.raises(ValueError, match="must be sorted"):
        Traffic(trace_file=str(file))
    np.save(file, np.array([-1.0, 2.0]))
    with pytest.raises(ValueError, match=">= 0"):
        Traffic(trace_file=str(file))
    np.save(file, np.array([1, 2], dtype=np.int64))
    with pytest.raises(ValueError, match="float64"):
        Traffic(trace_file=str(file))


def test_a_scenario_reads_an_npy_trace_and_simulates_as_the_csv_trace(tmp_path: Path) -> None:
    from planner.simulate import run

    times = np.round(np.sort(np.random.default_rng(3).random(3000) * 300.0), 6)
    np.save(tmp_path / "t.npy", times)
    np.savetxt(tmp_path / "t.csv", times, fmt="%.6f", header="t_s", comments="")
    base = {
        "duration_s": 300, "warmup_s": 30, "seeds": [1, 2],
        "service": {"request_time_s": {"dist": "exponential", "mean": 0.5}},
        "deployment": {"autoscaler": "azureml", "replicas": 2, "max_replicas": 20},
    }  # fmt: skip
    runs = []
    for name in ("t.npy", "t.csv"):
        spec = {**base, "traffic": {"trace": name}}
        sc = scenario_from_dict(spec, source="x", base_dir=tmp_path)
        runs.append(run(sc, [1, 2], processes=1))
    assert runs[0].summary.equals(runs[1].summary)
    assert int(runs[0].summary["requests"].sum()) > 0


# ------------------------------------------------------------------ the chunked reader

GOOD = """timestamp,duration,resultCode,cloud_RoleInstance
2026-11-30T09:00:00.000Z,100,200,a
2026-11-30T09:00:00.500Z,250.5,200,b

2026-11-30T09:00:01.250+00:00,80,503,
2026-11-30T09:00:03Z,120,200,a
2026-11-30T09:01:03.5Z,90,200,c
"""


def _same_log(a: RequestLog, b: RequestLog) -> None:
    assert a.source == b.source and a.start == b.start
    assert a.observed_latency == b.observed_latency
    for name in ("t_s", "duration_s", "status", "instance"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            assert x.dtype == y.dtype and np.array_equal(x, y), name


def _formats(tmp_path: Path) -> dict[str, Path]:
    csv = tmp_path / "ai.csv"
    csv.write_text(GOOD, encoding="utf-8")
    frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
    out = {"csv": csv}
    jl = tmp_path / "ai.jsonl"
    jl.write_text("\n".join(json.dumps(r) for r in frame.to_dict("records")) + "\n", "utf-8")
    out["jsonl"] = jl
    js = tmp_path / "ai.json"
    js.write_text(json.dumps(frame.to_dict("records")), "utf-8")
    out["json"] = js
    pq = tmp_path / "ai.parquet"
    typed = frame.assign(
        timestamp=pd.to_datetime(frame["timestamp"], format="ISO8601", utc=True),
        duration=frame["duration"].astype(float),
        resultCode=frame["resultCode"].astype(int),
    )
    typed.to_parquet(pq)
    out["parquet"] = pq
    num = tmp_path / "num.csv"
    num.write_text("t_s,response_time_s,status\n100.5,0.2,200\n101,0.3,503\n101,0.1,200\n"
                   "250.25,1.5,200\n", "utf-8")  # fmt: skip
    out["numeric"] = num
    return out


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json", "parquet", "numeric"])
@pytest.mark.parametrize("chunk_rows", [1, 2, 3, 1000])
def test_chunked_reader_gives_read_logs_request_log(
    tmp_path: Path, fmt: str, chunk_rows: int
) -> None:
    path = _formats(tmp_path)[fmt]
    cols = PRESETS["locust"] if fmt == "numeric" else PRESETS["appinsights"]
    _same_log(read_log_chunked(path, cols, chunk_rows=chunk_rows), read_log(path, cols))


def test_chunked_reader_gives_the_azure_trace_log() -> None:
    cols = PRESETS["azure-llm"]
    _same_log(read_log_chunked(AZURE, cols, chunk_rows=4096), read_log(AZURE, cols))


TS = "column 'timestamp'"
BAD = [
    ("unparseable_timestamp", ("2026-11-30T09:00:01.250+00:00", "yesterday"),
     f"line 5: {TS}: not an ISO 8601 time"),
    ("negative_duration", (",250.5,", ",-3,"), "line 3: column 'duration': duration must be >= 0"),
    ("missing_duration", (",80,503,", ",,503,"), "line 5: column 'duration': duration is missing"),
    ("text_duration", (",120,", ",slow,"), "line 6: column 'duration': duration is not a number"),
    ("unsorted_across", ("2026-11-30T09:00:03Z", "2026-11-30T08:59:00Z"),
     f"line 6: {TS}: time goes backwards"),
    ("unsorted_last", ("2026-11-30T09:01:03.5Z", "2026-11-30T09:00:02Z"),
     f"line 7: {TS}: time goes backwards"),
    ("bad_status", (",200,b", ",OK,b"), "line 3: column 'resultCode': status is not a number"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "edit", "message"), BAD, ids=[b[0] for b in BAD])
@pytest.mark.parametrize("chunk_rows", [1, 2, 1000])
def test_bad_rows_are_named_by_their_absolute_line_in_any_chunk(
    tmp_path: Path, case: str, edit: tuple[str, str], message: str, chunk_rows: int
) -> None:
    path = tmp_path / f"{case}.csv"
    path.write_text(GOOD.replace(*edit), encoding="utf-8")
    with pytest.raises(ScenarioError) as whole:
        read_log(path, PRESETS["appinsights"])
    with pytest.raises(ScenarioError) as chunked:
        read_log_chunked(path, PRESETS["appinsights"], chunk_rows=chunk_rows)
    assert message in str(chunked.value)
    assert str(chunked.value) == str(whole.value)


@pytest.mark.parametrize(
    ("text", "message"), [("", "the log is empty"), ("timestamp,duration\n", "no requests")]
)
def test_empty_logs_are_refused_by_the_chunked_reader(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "e.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError, match=message):
        read_log_chunked(path, PRESETS["appinsights"], chunk_rows=2)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("missing.csv", None, "log file not found"),
        ("bad.csv", "timestamp,duration\n2026-11-30T09:00:00Z,abc\n", "line 2"),
    ],
)
def test_a_refused_log_leaves_no_temporary_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, text: str | None, message: str
) -> None:
    import tempfile

    from planner.fit import open_log

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    path = tmp_path / name
    if text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError, match=message):
        open_log(path, PRESETS["appinsights"])
    assert list(scratch.glob("planner-log-*")) == []


# ------------------------------------------------------------ reductions while reading

PRODUCTION = {
    "name": "production", "duration_s": 420, "warmup_s": 30, "seeds": 1,
    "traffic": {"pattern": [{"duration_s": 120, "rps": 8}, {"duration_s": 60, "rps": 24},
                            {"duration_s": 240, "rps": 8}]},
    "service": {"request_time_s": {"dist": "lognormal", "mean": 0.4, "sigma": 0.5},
                "cold_start_s": 30},
    "deployment": {"autoscaler": "azureml", "replicas": 5, "min_replicas": 2,
                   "max_replicas": 20, "target_utilization": 0.7},
}  # fmt: skip


@pytest.fixture(scope="module")
def production_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An Application Insights export of one simulated run (503s, instances, scale-ups)."""
    from planner.simulate import run

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


def _same_fit(a: LogFit, b: LogFit) -> None:
    assert np.array_equal(a.counts, b.counts) and a.duration_s == b.duration_s
    assert a.request_time.spec == b.request_time.spec
    assert a.request_time.mean_s == b.request_time.mean_s
    assert a.request_time.candidates == b.request_time.candidates
    assert np.array_equal(a.request_time.samples_s, b.request_time.samples_s)
    assert a.statuses == b.statuses
    pd.testing.assert_frame_equal(a.per_minute, b.per_minute)
    assert a.cold_start.seconds == b.cold_start.seconds and a.cold_start.how == b.cold_start.how
    assert sorted(a.cold_start.samples_s) == sorted(b.cold_start.samples_s)
    assert a.spec(arrivals_file="x", samples_file="y") == b.spec(
        arrivals_file="x", samples_file="y"
    )


@pytest.mark.parametrize("chunk_rows", [97, 1_000_000])
def test_a_summary_fits_exactly_as_the_whole_log(
    production_log: Path, tmp_path: Path, chunk_rows: int
) -> None:
    cols = PRESETS["appinsights"]
    whole = read_log(production_log, cols)
    summary, kept = summarise_log(
        production_log, cols, trace_path=tmp_path / "a.npy", chunk_rows=chunk_rows
    )
    assert kept is not None
    _same_log(kept, whole)
    assert summary.requests == whole.requests and summary.start == whole.start
    assert np.array_equal(np.load(tmp_path / "a.npy"), whole.t_s)
    a, b = fit_log(summary, name="p"), fit_log(whole, name="p")
    assert a.cold_start.seconds is not None  # the fixture shows scale-ups
    _same_fit(a, b)
    assert a.initial_replicas() == b.initial_replicas() > 0


def test_a_summary_of_the_azure_trace_fits_as_the_whole_log(tmp_path: Path) -> None:
    cols = PRESETS["azure-llm"]
    summary, _ = summarise_log(AZURE, cols, trace_path=tmp_path / "a.npy", chunk_rows=5000)
    _same_fit(
        fit_log(summary, name="p", smooth=True),
        fit_log(read_log(AZURE, cols), name="p", smooth=True),
    )


def test_a_long_log_is_fitted_from_its_sample_with_the_exact_mean(
    production_log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from planner.fit import reduce

    monkeypatch.setattr(reduce, "SAMPLE_SIZE", 500)
    cols = PRESETS["appinsights"]
    whole = read_log(production_log, cols)
    summary, kept = summarise_log(production_log, cols, chunk_rows=333, keep_rows=1000)
    assert kept is None  # longer than keep_rows: the rows are not kept
    ok = (whole.status >= 200) & (whole.status < 300)
    served = whole.duration_s[ok]
    assert summary.served_count == served.size > 500
    assert summary.served_mean_s == pytest.approx(float(served.mean()), rel=1e-12)
    sample = summary.served_sample_s
    assert sample.size == 500 and np.isin(sample, served).all()
    # In arrival order: the sample's positions among the served durations increase.
    where = np.array([np.flatnonzero(served == v)[0] for v in sample])
    assert np.all(np.diff(where) > 0)
    rows = summary.rows_sample
    assert len(rows) == min(reduce.ROW_SAMPLE_SIZE, whole.requests)
    fit = fit_log(summary, name="p")
    assert fit.request_time.mean_s == summary.served_mean_s
    assert fit.request_time.fitted_mean_s == pytest.approx(summary.served_mean_s, rel=1e-9)
    # The sampled fit's shape is the whole fit's to sampling error (500 of ~3,500).
    full = fit_log(whole, name="p").request_time
    # (Which family wins may differ: the whole log's best D sits near the 0.05 threshold.)
    for a, b in zip(fit.request_time.candidates, full.candidates, strict=True):
        assert a.family == b.family
        assert a.spec["mean"] == summary.served_mean_s
        assert a.ks_distance == pytest.approx(b.ks_distance, abs=0.06)  # ~1.36/sqrt(500)
    sigma = [c.spec["sigma"] for c in (fit.request_time.candidates[0], full.candidates[0])]
    assert sigma[0] == pytest.approx(sigma[1], rel=0.1)


def test_minute_p95_from_the_histogram_is_the_p95_to_bin_resolution(production_log: Path) -> None:
    from planner.fit.reduce import histogram_quantile

    cols = PRESETS["appinsights"]
    whole = read_log(production_log, cols)
    summary, _ = summarise_log(production_log, cols, chunk_rows=250)
    served = (whole.status != 503) & (whole.status != 0)
    minute = np.floor(whole.t_s / 60.0).astype(np.int64)
    exact = pd.Series(whole.duration_s[served]).groupby(minute[served]).quantile(0.95)
    got = summary.minute_p95_s()
    assert got.size == exact.size
    np.testing.assert_allclose(got, exact.to_numpy(), rtol=0.03)
    # A histogram of known values: 100 requests at 1 s and 5 at 10 s: p95 in the 1 s bin.
    hist = np.zeros((1, reduce_bins()), dtype=np.int64)
    hist[0, np.searchsorted(edges(), 1.0, "right") - 1] = 100
    hist[0, np.searchsorted(edges(), 10.0, "right") - 1] = 5
    assert histogram_quantile(hist, 0.95)[0] == pytest.approx(1.0, rel=0.024)
    assert histogram_quantile(hist, 0.99)[0] == pytest.approx(10.0, rel=0.024)


def reduce_bins() -> int:
    from planner.fit.reduce import LATENCY_EDGES_S

    return LATENCY_EDGES_S.size - 1


def edges() -> np.ndarray:
    from planner.fit.reduce import LATENCY_EDGES_S

    return LATENCY_EDGES_S


# --------------------------------------------------------------------- the backtest


def test_a_streamed_backtest_gives_the_whole_log_backtest(
    production_log: Path, tmp_path: Path
) -> None:
    import yaml

    from planner.backtest import run_backtest

    dep = tmp_path / "dep.yaml"
    spec = {"name": "mine", "warmup_s": 30, "seeds": 2, "service": PRODUCTION["service"],
            "deployment": PRODUCTION["deployment"],
            "slo": {"max_rate_503": 0.001, "latency_p99_s": 2.0}}  # fmt: skip
    dep.write_text(yaml.safe_dump(spec), encoding="utf-8")
    cols = PRESETS["appinsights"]
    whole = read_log(production_log, cols)
    summary, _ = summarise_log(production_log, cols, chunk_rows=500, keep_rows=0)
    a = run_backtest(whole, dep, search=False)
    b = run_backtest(summary, dep, search=False)
    assert str(b.scenario.traffic.trace_file).endswith(".npy")
    assert b.results.requests is None  # a streamed log keeps no per-request rows
    # The µs timestamps survive the CSV trace's 6 decimals: the very same arrivals, so the
    # same run (kept per-request rows only change the summation order of a mean, by an ulp).
    assert a.had.values == pytest.approx(b.had.values, rel=1e-12, nan_ok=True)
    assert a.had.values["requests"] == b.had.values["requests"]
    assert a.had.values["n_503"] == b.had.values["n_503"] > 0
    assert a.had.meets_slo is b.had.meets_slo is False
    same = [c for c in a.per_minute.columns if not c.endswith("p95_s")]
    pd.testing.assert_frame_equal(a.per_minute[same], b.per_minute[same])
    np.testing.assert_allclose(
        b.per_minute["observed_p95_s"], a.per_minute["observed_p95_s"], rtol=0.03
    )
    assert b.per_minute["simulated_p95_s"].isna().all()
    assert a.validation is not None and b.validation is not None
    assert a.validation.counts == b.validation.counts  # every row is in the sample here
    assert a.validation.agrees_with_prediction == b.validation.agrees_with_prediction
    for name, check in a.validation.checks.items():
        assert b.validation.checks[name].measured == check.measured, name


def test_fit_and_backtest_commands_stream_a_long_log(
    production_log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml
    from typer.testing import CliRunner

    from planner.cli import app
    from planner.fit import reduce
    from planner.scenario import load_scenario

    runner = CliRunner()
    args = [str(production_log), "--preset", "appinsights"]
    whole = runner.invoke(app, ["fit", *args, "--out", str(tmp_path / "w" / "f.yaml")])
    monkeypatch.setattr(reduce, "KEEP_ROWS", 1000)  # this log is "long" now
    streamed = runner.invoke(app, ["fit", *args, "--out", str(tmp_path / "s" / "f.yaml")])
    assert whole.exit_code == streamed.exit_code == 0, streamed.stderr
    a = yaml.safe_load((tmp_path / "w" / "f.yaml").read_text())
    b = yaml.safe_load((tmp_path / "s" / "f.yaml").read_text())
    assert b["traffic"]["trace"] == "f.arrivals.npy" and a["traffic"]["trace"] == "f.arrivals.csv"
    a["traffic"].pop("trace"), b["traffic"].pop("trace")
    assert a == b  # the same scenario but for the trace file's format
    sa, sb = load_scenario(tmp_path / "w" / "f.yaml"), load_scenario(tmp_path / "s" / "f.yaml")
    rng = np.random.default_rng(0)  # not drawn from: timestamps are replayed
    times = [np.concatenate(list(s.traffic.arrival_times(s.duration_s, rng))) for s in (sa, sb)]
    # The CSV trace keeps 6 decimals, the .npy every bit: the same arrivals to 0.5 µs.
    assert (
        times[0].size == times[1].size == read_log(production_log, PRESETS["appinsights"]).requests
    )
    np.testing.assert_allclose(times[1], times[0], rtol=0, atol=5e-7)
    dep = tmp_path / "dep.yaml"
    spec = {"name": "mine", "warmup_s": 30, "seeds": 2, "service": PRODUCTION["service"],
            "deployment": PRODUCTION["deployment"],
            "slo": {"max_rate_503": 0.001, "latency_p99_s": 2.0}}  # fmt: skip
    dep.write_text(yaml.safe_dump(spec), encoding="utf-8")
    result = runner.invoke(
        app, ["backtest", *args, "--scenario", str(dep), "--no-search", "--format", "json"]
    )
    assert result.exit_code == 1, result.stderr  # these settings miss the SLO on this log
    out = json.loads(result.stdout)
    assert out["requests"] == read_log(production_log, PRESETS["appinsights"]).requests
    notes = " ".join(out["observed_vs_simulated"]["notes"])
    assert "uniform random sample of 500,000" not in notes  # every row is in the sample


def test_the_samples_are_uniform_and_the_same_however_the_log_is_chunked(
    production_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scipy import stats

    from planner.fit import reduce

    monkeypatch.setattr(reduce, "SAMPLE_SIZE", 1000)
    monkeypatch.setattr(reduce, "ROW_SAMPLE_SIZE", 1000)
    cols = PRESETS["appinsights"]
    runs = [summarise_log(production_log, cols, chunk_rows=n, keep_rows=0)[0] for n in (97, 4000)]
    assert np.array_equal(runs[0].served_sample_s, runs[1].served_sample_s)
    pd.testing.assert_frame_equal(runs[0].rows_sample, runs[1].rows_sample)
    # Uniform over the log: the sampled rows' arrival ranks fall evenly in its ten deciles.
    whole = read_log(production_log, cols)
    rank = np.searchsorted(whole.t_s, runs[0].rows_sample["t_s"].to_numpy(), side="left")
    per_decile = np.bincount(rank * 10 // whole.requests, minlength=10)
    assert per_decile.sum() == 1000
    assert stats.chisquare(per_decile).pvalue > 0.001
    # A different seed draws a different sample.
    other, _ = summarise_log(production_log, cols, keep_rows=0, rng=np.random.default_rng(1))
    assert not np.array_equal(other.served_sample_s, runs[0].served_sample_s)


def test_a_later_chunk_without_a_column_is_refused_by_row_as_read_log_does(tmp_path: Path) -> None:
    rows = [
        {"timestamp": "2026-11-30T09:00:00Z", "duration": 100, "resultCode": 200},
        {"timestamp": "2026-11-30T09:00:01Z", "duration": 100, "resultCode": 200},
        {"timestamp": "2026-11-30T09:00:02Z", "duration": 100},
    ]
    path = tmp_path / "x.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as whole:
        read_log(path, PRESETS["appinsights"])
    with pytest.raises(ScenarioError) as chunked:
        read_log_chunked(path, PRESETS["appinsights"], chunk_rows=2)
    assert "line 3: column 'resultCode': status is missing" in str(chunked.value)
    assert str(chunked.value) == str(whole.value)


def test_an_npy_trace_is_read_once_per_version_of_the_file(tmp_path: Path) -> None:
    base = {"duration_s": 100, "warmup_s": 0, "traffic": {"trace": "t.npy"},
            "service": {"request_time_s": 0.1},
            "deployment": {"autoscaler": "none", "replicas": 2}}  # fmt: skip
    np.save(tmp_path / "t.npy", np.arange(0.0, 50.0, 0.5))
    a = scenario_from_dict(base, source="x", base_dir=tmp_path)
    b = scenario_from_dict(base, source="x", base_dir=tmp_path)
    assert a.traffic is b.traffic  # the same file: checked and counted once
    np.save(tmp_path / "t.npy", np.arange(0.0, 80.0, 0.25))  # rewritten: another size
    c = scenario_from_dict(base, source="x", base_dir=tmp_path)
    assert a.traffic.total_duration_s == 50.0 and c.traffic.total_duration_s == 80.0
    assert c.traffic.peak_rps(100.0) == 4.0


def test_the_sweep_cache_key_tracks_an_npy_trace_by_its_contents(tmp_path: Path) -> None:
    # The spec names only the file: a rewritten file at the same path must not reuse old rows.
    from planner.sweep import cache_key

    base = {"duration_s": 100, "warmup_s": 10, "traffic": {"trace": "t.npy"},
            "service": {"request_time_s": 0.1}}  # fmt: skip
    np.save(tmp_path / "t.npy", np.arange(0.0, 50.0, 0.5))
    first = cache_key(scenario_from_dict(base, source="x", base_dir=tmp_path), 1)
    again = cache_key(scenario_from_dict(base, source="x", base_dir=tmp_path), 1)
    np.save(tmp_path / "t.npy", np.arange(0.0, 50.0, 0.25))
    rewritten = cache_key(scenario_from_dict(base, source="x", base_dir=tmp_path), 1)
    assert first == again != rewritten


@pytest.mark.parametrize(
    ("header", "row", "status", "instance"),
    [
        ("timestamp,duration", "2026-11-30T09:00:00Z,12", False, False),
        ("timestamp,duration,resultCode", "2026-11-30T09:00:00Z,12,200", True, False),
        ("timestamp,duration,cloud_RoleInstance", "2026-11-30T09:00:00Z,12,pod-1", False, True),
    ],
)
def test_a_log_and_its_summary_say_alike_which_columns_it_has(
    tmp_path: Path, header: str, row: str, status: bool, instance: bool
) -> None:
    path = tmp_path / "l.csv"
    path.write_text(f"{header}\n{row}\n{row}\n", encoding="utf-8")
    log = read_log(path, PRESETS["appinsights"])
    summary, _ = summarise_log(path, PRESETS["appinsights"])
    assert (log.has_status, log.has_instance) == (status, instance)
    assert (summary.has_status, summary.has_instance) == (status, instance)


def test_fit_streams_the_arrivals_into_the_trace_file_beside_the_scenario(
    production_log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    from typer.testing import CliRunner

    from planner.cli import app
    from planner.fit import build, reduce

    def no_copy(*args: object) -> None:
        raise AssertionError(f"the arrivals were copied: {args}")

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setattr(build.shutil, "copyfile", no_copy)
    runner = CliRunner()
    args = ["fit", str(production_log), "--preset", "appinsights", "--out"]
    whole = runner.invoke(app, [*args, str(tmp_path / "w" / "f.yaml")])
    monkeypatch.setattr(reduce, "KEEP_ROWS", 1000)  # this log is "long" now
    streamed = runner.invoke(app, [*args, str(tmp_path / "s" / "f.yaml")])
    smooth = runner.invoke(app, [*args, str(tmp_path / "p" / "f.yaml"), "--smooth"])
    assert whole.exit_code == streamed.exit_code == smooth.exit_code == 0, streamed.stderr
    files = {d: sorted(p.name for p in (tmp_path / d).iterdir()) for d in ("w", "s", "p")}
    assert "f.arrivals.npy" not in files["w"] and "f.arrivals.csv" in files["w"]
    assert "f.arrivals.npy" in files["s"]
    assert not any(n.startswith("f.arrivals") for n in files["p"])  # phases, no trace
    trace = np.load(tmp_path / "s" / "f.arrivals.npy")
    assert trace.size == read_log(production_log, PRESETS["appinsights"]).requests
    assert list(scratch.glob("planner-log-*")) == []


def test_a_fit_refused_mid_log_leaves_no_trace_file(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from planner.cli import app

    rows = [f"2026-11-30T09:00:{s:02d}Z,12" for s in range(50)] + ["2026-11-30T09:01:00Z,abc"]
    path = tmp_path / "l.csv"
    path.write_text("timestamp,duration\n" + "\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "o" / "f.yaml"
    args = ["fit", str(path), "--preset", "appinsights", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "line 52" in result.stderr, result.stderr
    assert not (tmp_path / "o" / "f.arrivals.npy").exists()
