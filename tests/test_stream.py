"""Streaming a day-long log: the file-backed trace, the chunked reader and its reductions.

Every streamed path is checked against the whole-array path on the same data: the same
arrivals bit for bit, the same RequestLog, the same fit and scenario on small logs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from planner.scenario import scenario_from_dict
from planner.traffic import Traffic


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
