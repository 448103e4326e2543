"""Tests for planner.sweep / planner.executors / `planner sweep`: grid, cache, executors, CLI."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import planner.sweep
from planner.cli import app
from planner.distributions import Constant
from planner.errors import PlannerError, ScenarioError
from planner.scenario import Scenario, Service, Slo, load_scenario, with_overrides
from planner.sweep import CACHE_FILE, cache_key, cell_summary, grid, run_sweep
from planner.traffic import Traffic

# A few simulated minutes at a few rps: each replication takes milliseconds.
SMALL = """\
name: small
duration_s: 240
warmup_s: 30
seeds: [1, 2]
traffic:
  arrivals: poisson
  pattern:
    - {duration_s: 90, rps: 4}
    - {duration_s: 60, rps: 16}
    - {duration_s: 90, rps: 4}
service:
  request_time_s: 0.5
  max_concurrent: 1
  cold_start_s: 30
deployment:
  autoscaler: azureml
  replicas: 1
  min_replicas: 1
  max_replicas: 20
  target_utilization: 0.7
  max_request_wait_s: 0.5
slo:
  max_rate_503: 0.001
  latency_p99_s: 2.0
"""


# A 10× spike (40 rps × 0.5 s = 20 busy at peak) that 30 s cold starts cannot follow.
SHARP = SMALL.replace("rps: 16", "rps: 40").replace("max_replicas: 20", "max_replicas: 30")


def write_scenario(tmp_path: Path, sweep: str | None, base: str = SMALL) -> Path:
    """A small spike scenario file with the given sweep block (YAML lines) appended."""
    text = base + (f"sweep:\n{sweep}" if sweep else "")
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def two_by_two(tmp_path: Path) -> Scenario:
    """The small scenario swept over min_replicas × target_utilization (4 cells × 2 seeds)."""
    sweep = "  deployment.min_replicas: [1, 4]\n  deployment.target_utilization: [0.5, 0.7]\n"
    return load_scenario(write_scenario(tmp_path, sweep))


def bare(sweep: tuple[tuple[str, tuple[Any, ...]], ...]) -> Scenario:
    """A scenario object built directly, with only a sweep block of interest."""
    service = Service(request_time_s=Constant(value_s=0.5), cold_start_s=Constant(value_s=30.0))
    return Scenario(
        name="bare", duration_s=60.0, traffic=Traffic(rps=1.0), service=service, sweep=sweep
    )


def test_grid_is_the_cartesian_product_in_file_order() -> None:
    """3 × 2 × 2 values give 12 cells, the first field varying slowest."""
    scenario = bare(
        (
            ("deployment.min_replicas", (1, 2, 4)),
            ("deployment.target_utilization", (0.5, 0.7)),
            ("service.max_concurrent", (1, 2)),
        )
    )
    cells = grid(scenario)
    assert len(cells) == 12
    assert cells[0] == {
        "deployment.min_replicas": 1,
        "deployment.target_utilization": 0.5,
        "service.max_concurrent": 1,
    }
    assert cells[1]["service.max_concurrent"] == 2
    assert cells[2]["deployment.target_utilization"] == 0.7
    assert [c["deployment.min_replicas"] for c in cells] == [1] * 4 + [2] * 4 + [4] * 4
    assert grid(bare(())) == [{}]


def test_cache_key_is_stable_and_tracks_fields_that_matter(two_by_two: Scenario) -> None:
    """Same cell and seed → same key; a changed field or seed → another; name/slo/seeds ignored."""
    cell = with_overrides(two_by_two, {"deployment.min_replicas": 4})
    key = cache_key(cell, 1)
    assert len(key) == 64 and int(key, 16) >= 0
    again = with_overrides(two_by_two, {"deployment.min_replicas": 4})
    assert cache_key(again, 1) == key
    assert cache_key(cell, 2) != key
    assert cache_key(with_overrides(cell, {"deployment.max_replicas": 19}), 1) != key
    assert cache_key(with_overrides(cell, {"service.request_time_s": 0.6}), 1) != key
    renamed = with_overrides(cell, {"name": "other", "slo.max_rate_503": 0.01, "seeds": [7]})
    assert cache_key(renamed, 1) == key


def test_rerun_reuses_rows_and_recomputes_only_changed_cells(
    two_by_two: Scenario, tmp_path: Path
) -> None:
    """First run computes 8 tasks, the second none, and one changed cell only its 2 seeds."""
    out = tmp_path / "out"
    first = run_sweep(two_by_two, out_dir=out, processes=1, progress=False)
    assert (first.attrs["computed"], first.attrs["cached"]) == (8, 0)
    assert list(first.columns[:4]) == [
        "cell",
        "deployment.min_replicas",
        "deployment.target_utilization",
        "seed",
    ]
    assert first["seed"].tolist() == [1, 2] * 4
    assert np.allclose(first["replica_hours"], first["replica_seconds"] / 3600.0)
    assert (first["requests"] > 0).all()

    second = run_sweep(two_by_two, out_dir=out, processes=1, progress=False)
    assert (second.attrs["computed"], second.attrs["cached"]) == (0, 8)
    pd.testing.assert_frame_equal(first, second)

    # Change the values of the second field: cells with 0.7 are reused, 0.6 replaces 0.5.
    changed = with_overrides(
        two_by_two,
        {"sweep": {"deployment.min_replicas": [1, 4], "deployment.target_utilization": [0.6, 0.7]}},
    )
    third = run_sweep(changed, out_dir=out, processes=1, progress=False)
    assert (third.attrs["computed"], third.attrs["cached"]) == (4, 4)
    reused = third[third["deployment.target_utilization"] == 0.7].reset_index(drop=True)
    old = first[first["deployment.target_utilization"] == 0.7].reset_index(drop=True)
    pd.testing.assert_frame_equal(reused, old)

    fresh = run_sweep(two_by_two, out_dir=out, processes=1, progress=False, fresh=True)
    assert fresh.attrs["computed"] == 8
    back = pd.read_parquet(out / "results.parquet")
    pd.testing.assert_frame_equal(back, fresh, check_like=False)
    assert len(pd.read_csv(out / "results.csv")) == 8


def test_torn_cache_line_is_recomputed(two_by_two: Scenario, tmp_path: Path) -> None:
    """An interrupted write (partial last line) costs one task, not the cache."""
    out = tmp_path / "out"
    run_sweep(two_by_two, out_dir=out, processes=1, progress=False)
    lines = (out / CACHE_FILE).read_text().splitlines()
    (out / CACHE_FILE).write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:20])
    again = run_sweep(two_by_two, out_dir=out, processes=1, progress=False)
    assert (again.attrs["computed"], again.attrs["cached"]) == (1, 7)
    assert run_sweep(two_by_two, out_dir=out, processes=1, progress=False).attrs["computed"] == 0


def test_invalid_cell_names_the_cell(tmp_path: Path) -> None:
    """A combination that breaks validation (min above max) raises ScenarioError naming the cell."""
    sweep = "  deployment.min_replicas: [2, 15]\n  deployment.max_replicas: [10, 20]\n"
    scenario = load_scenario(write_scenario(tmp_path, sweep))
    pattern = r"deployment\.min_replicas=15, deployment\.max_replicas=10: .*max_replicas"
    with pytest.raises(ScenarioError, match=pattern):
        run_sweep(scenario, out_dir=tmp_path / "out", processes=1, progress=False)


def test_failing_task_names_cell_and_seed(
    two_by_two: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exception inside a task becomes a PlannerError naming the cell and the seed."""
    real = planner.sweep.run_task

    def flaky(scenario: Scenario, seed: int) -> dict[str, float]:
        if scenario.deployment.min_replicas == 4 and seed == 2:
            raise ValueError("boom")
        return real(scenario, seed)

    monkeypatch.setattr(planner.sweep, "run_task", flaky)
    pattern = r"deployment\.min_replicas=4, deployment\.target_utilization=0\.5, seed 2.*boom"
    with pytest.raises(PlannerError, match=pattern):
        run_sweep(two_by_two, out_dir=tmp_path / "out", processes=1, progress=False)
    # Rows finished before the failure are kept.
    assert len((tmp_path / "out" / CACHE_FILE).read_text().splitlines()) == 5


def test_no_sweep_block_is_an_error(tmp_path: Path) -> None:
    """run_sweep needs a sweep block."""
    scenario = load_scenario(write_scenario(tmp_path, None))
    with pytest.raises(ScenarioError, match="no sweep"):
        run_sweep(scenario, out_dir=tmp_path / "out", progress=False)


def test_more_min_replicas_never_more_503s(tmp_path: Path) -> None:
    """On a 10× spike, the mean 503 rate does not increase with min_replicas, and falls overall."""
    sweep = "  deployment.min_replicas: [1, 4, 8, 16, 24]\n"
    scenario = load_scenario(write_scenario(tmp_path, sweep, base=SHARP))
    df = run_sweep(scenario, out_dir=tmp_path / "out", processes=2, progress=False)
    cells = cell_summary(df, scenario.slo)
    rates = cells["rate_503"].to_numpy()
    assert np.all(np.diff(rates) <= 1e-12), rates
    assert rates[0] > 0.01 > rates[-1]
    hours = cells["replica_hours"].to_numpy()
    assert hours[-1] > hours[0]


def test_cell_summary_matches_student_t_by_hand() -> None:
    """Upper bound = mean + t(0.975, n-1)·s/√n; the SLO uses both upper bounds."""
    df = pd.DataFrame(
        {
            "cell": [0, 0, 0, 1, 1, 1],
            "x": [1, 1, 1, 2, 2, 2],
            "seed": [1, 2, 3] * 2,
            "requests": [1000] * 6,
            "rate_503": [0.0, 0.001, 0.002, 0.0, 0.0, 0.0],
            "latency_p99_s": [1.0, 1.0, 1.0, 1.0, 1.5, 2.0],
            "replica_hours": [1.0, 2.0, 3.0, 4.0, 4.0, 4.0],
        }
    )
    cells = cell_summary(df, Slo(max_rate_503=0.005, latency_p99_s=2.5))
    t975_2 = 4.302652729749464  # Student t, 2 degrees of freedom
    assert cells["rate_503"].tolist() == pytest.approx([0.001, 0.0])
    assert cells["rate_503_hi"][0] == pytest.approx(0.001 + t975_2 * 0.001 / math.sqrt(3))
    assert cells["latency_p99_s_hi"][1] == pytest.approx(1.5 + t975_2 * 0.5 / math.sqrt(3))
    assert cells["replica_hours"].tolist() == [2.0, 4.0]
    # Cell 0: 503 bound 0.00348 ≤ 0.005 passes; cell 1: p99 bound 2.74 > 2.5 fails.
    assert cells["meets_slo"].tolist() == [True, False]
    assert cells["x"].tolist() == [1, 2]


@pytest.fixture
def dask_cluster() -> Iterator[Any]:
    """A real two-process Dask LocalCluster, closed afterwards."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.mark.slow
def test_dask_and_local_processes_agree_bit_for_bit(
    two_by_two: Scenario, tmp_path: Path, dask_cluster: Any
) -> None:
    """The same grid and seeds on a real LocalCluster and on a process pool give identical rows."""
    local = run_sweep(two_by_two, out_dir=tmp_path / "local", processes=2, progress=False)
    address = dask_cluster.scheduler.address
    remote = run_sweep(two_by_two, out_dir=tmp_path / "dask", scheduler=address, progress=False)
    assert remote.attrs["computed"] == 8
    pd.testing.assert_frame_equal(local, remote, check_exact=True)
    via_client = run_sweep(
        two_by_two, out_dir=tmp_path / "dask2", scheduler=dask_cluster, progress=False
    )
    pd.testing.assert_frame_equal(local, via_client, check_exact=True)


def test_cli_writes_results_and_heatmaps(tmp_path: Path) -> None:
    """`planner sweep` writes results, cells and two heatmap PNGs, and an HTML page."""
    sweep = "  deployment.min_replicas: [1, 4]\n  deployment.target_utilization: [0.5, 0.7]\n"
    path = write_scenario(tmp_path, sweep)
    out = tmp_path / "out"
    html = tmp_path / "report.html"
    args = ["sweep", str(path), "--out", str(out), "--processes", "1", "--html", str(html)]
    result = CliRunner().invoke(app, [*args, "--cost-per-replica-hour", "2", "--format", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["tasks"] == {"computed": 8, "cached": 0}
    assert len(payload["cells"]) == 4
    costs = [c["cost"] for c in payload["cells"]]
    assert costs == sorted(costs)
    assert costs[0] == pytest.approx(2 * payload["cells"][0]["replica_hours"])
    for name in ("results.parquet", "results.csv", "heatmap_rate_503.png", "heatmap_cost.png"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "heatmap_rate_503.png").read_bytes()[:4] == b"\x89PNG"
    assert "data:image/png;base64" in html.read_text()

    table = CliRunner().invoke(app, ["sweep", str(path), "--out", str(out), "--processes", "1"])
    assert table.exit_code == 0, table.output
    assert "0 tasks computed, 8 cached" in table.output


def test_cli_rejects_plot_of_unswept_field(tmp_path: Path) -> None:
    """--plot naming a field that is not swept exits 2 and names it."""
    sweep = "  deployment.min_replicas: [1, 4]\n  deployment.target_utilization: [0.5, 0.7]\n"
    path = write_scenario(tmp_path, sweep)
    args = [
        "sweep",
        str(path),
        "--out",
        str(tmp_path / "o"),
        "--plot",
        "deployment.min_replicas,slo.latency_p99_s",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "slo.latency_p99_s" in result.output


def test_cli_without_sweep_block_exits_2(tmp_path: Path) -> None:
    """A scenario with no sweep block is a one-line input error: exit code 2."""
    path = write_scenario(tmp_path, None)
    result = CliRunner().invoke(app, ["sweep", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "no sweep" in result.output
    assert "Traceback" not in result.output


# ---- bad input on `planner sweep`: one line on stderr, exit 2 ---------------------------------

GRID = "  deployment.min_replicas: [1, 4]\n"


def _sweep_error(args: list[str], *words: str) -> None:
    result = CliRunner().invoke(app, ["sweep", *args])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.output
    for word in words:
        assert word in errors[0], (word, errors[0])


@pytest.mark.parametrize(
    ("address", "words"),
    [
        ("bogus", ["tcp://host:port", "'bogus'"]),
        ("tcp://127.0.0.1", ["tcp://host:port"]),
        ("http://127.0.0.1:8786", ["tcp://host:port"]),
        ("tcp://127.0.0.1:1", ["no Dask scheduler at tcp://127.0.0.1:1"]),
    ],
)
def test_cli_bogus_scheduler_fails_fast(tmp_path: Path, address: str, words: list[str]) -> None:
    """A --scheduler that is not tcp://host:port, or where nothing listens: one line, exit 2."""
    path = write_scenario(tmp_path, GRID)
    _sweep_error([str(path), "--out", str(tmp_path / "o"), "--scheduler", address], *words)
    assert not (tmp_path / "o").exists()  # refused before anything was written


def test_cli_unwritable_outputs(tmp_path: Path) -> None:
    """--out that is a file or under /proc, --html that is a directory: one line, exit 2."""
    path = write_scenario(tmp_path, GRID)
    taken = tmp_path / "taken"
    taken.write_text("")
    _sweep_error([str(path), "--out", str(taken)], "--out", "this is a file")
    _sweep_error([str(path), "--out", "/proc/planner-sweep"], "--out", "/proc")
    args = [str(path), "--out", str(tmp_path / "o"), "--html", str(tmp_path)]
    _sweep_error(args, "--html", "this is a directory")


def test_cli_refuses_too_much_work(tmp_path: Path) -> None:
    """cells × seeds × requests past the limit is refused at once, naming --allow-large.

    20 cells × 10,000 seeds (the most a scenario may name) × ~1,700 requests ≈ 3.4e8 > 2e8.
    """
    grid = f"  deployment.min_replicas: {list(range(1, 21))}\n"
    path = write_scenario(tmp_path, grid, base=SMALL.replace("seeds: [1, 2]", "seeds: 10000"))
    _sweep_error([str(path), "--out", str(tmp_path / "o")], "simulated requests", "--allow-large")


def test_cli_markup_name_and_one_seed(tmp_path: Path) -> None:
    """A rich-markup name prints as written; one seed warns once and shows no upper bound."""
    base = SMALL.replace("name: small", 'name: "[/bold]oops"').replace("seeds: [1, 2]", "seeds: 1")
    path = write_scenario(tmp_path, GRID, base=base)
    args = ["sweep", str(path), "--out", str(tmp_path / "o"), "--processes", "1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "sweep [/bold]oops: 2 cells" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning: ")]
    assert len(warnings) == 1 and "no confidence interval" in warnings[0]
    assert "one seed: no interval" in result.stdout and "95 %" not in result.stdout
