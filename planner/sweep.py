"""Sweeps: a grid of overridden scenarios × seeds, run in parallel, cached, as one long frame.

`grid(scenario)` expands the `sweep:` block (cartesian product, file order); `run_sweep` runs
every (cell, seed) pair through `planner.simulate.run_rep` on local processes or a Dask
cluster (see `planner.executors`) and returns one row per pair. Each row is keyed by
`cache_key(cell_scenario, seed)`: a sha256 of the cell's canonical spec (without `name`,
`sweep`, `seeds` and `slo`, which do not change a replication), the seed and
`MODEL_VERSION`. Finished rows are appended to `out_dir/cache.jsonl` as they arrive, so an
interrupted sweep resumes where it stopped, and a re-run with one changed field computes only
the cells that changed. `cell_summary` reduces the rows to one per cell against an SLO.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from planner._version import __version__
from planner.errors import PlannerError, ScenarioError
from planner.executors import Outcome, run_tasks
from planner.progress import Progress, ProgressMode
from planner.slo import judge_slo
from planner.stats import mean_ci_within

if TYPE_CHECKING:
    from planner.scenario import Scenario, Slo

__all__ = [
    "CACHE_FILE",
    "MODEL_VERSION",
    "cache_key",
    "cell_label",
    "cell_scenarios",
    "cell_summary",
    "grid",
    "run_sweep",
    "swept_fields",
]

# Bump the suffix whenever the simulator's results change for the same scenario and seed:
# every cached row becomes stale at once.
MODEL_VERSION = f"planner-{__version__}/sim-3"
CACHE_FILE = "cache.jsonl"
# Spec keys that do not change one replication's stats, so changing them reuses the cache.
_NOT_IN_KEY = ("name", "sweep", "seeds", "slo")


def swept_fields(scenario: Scenario) -> list[str]:
    """The dotted paths of the `sweep:` block, in file order."""
    return [path for path, _ in scenario.sweep]


def grid(scenario: Scenario) -> list[dict[str, Any]]:
    """The cells of the sweep: cartesian product of its values, first field varying slowest.

    Returns one dict per cell, dotted path → value; `[{}]` (one cell, the scenario itself)
    when there is no `sweep:` block.
    """
    paths = swept_fields(scenario)
    value_lists = [values for _, values in scenario.sweep]
    return [dict(zip(paths, combo, strict=True)) for combo in itertools.product(*value_lists)]


def cell_label(cell: Mapping[str, Any]) -> str:
    """A cell in words: `deployment.min_replicas=4, deployment.target_utilization=0.6`."""
    return ", ".join(f"{path}={_plain(value)}" for path, value in cell.items()) or "(no overrides)"


def cell_scenarios(scenario: Scenario, cells: Iterable[Mapping[str, Any]]) -> list[Scenario]:
    """Each cell applied to `scenario` and validated again.

    Raises:
        ScenarioError: a cell gives an invalid scenario; the message names the cell.
    """
    from planner.scenario import with_overrides

    out = []
    for cell in cells:
        try:
            # NOTE: warn=False: a doubtful cell (e.g. peak above max capacity) is what a sweep
            # explores; one warning per cell would drown the output.
            out.append(with_overrides(scenario, dict(cell), warn=False))
        except PlannerError as exc:
            raise ScenarioError(f"sweep cell {cell_label(cell)}: {exc}") from exc
    return out


def cache_key(cell_scenario: Scenario, seed: int) -> str:
    """Stable sha256 (hex) of one replication: the cell's spec, the seed and MODEL_VERSION."""
    from planner.scenario import scenario_to_dict

    spec = {k: v for k, v in scenario_to_dict(cell_scenario).items() if k not in _NOT_IN_KEY}
    traffic = cell_scenario.traffic
    # Trace contents are not in the spec (only the file name): hash the arrays themselves.
    for name in ("trace_times_s", "trace_counts"):
        array = getattr(traffic, name, None)
        if array is not None:
            data = np.ascontiguousarray(array, dtype=np.float64).tobytes()
            spec[f"__{name}_sha256"] = hashlib.sha256(data).hexdigest()
    if traffic.trace_file is not None:  # a file-backed day: its bytes' digest
        st = Path(traffic.trace_file).stat()
        spec["__trace_file_sha256"] = _file_sha256(traffic.trace_file, st.st_mtime_ns, st.st_size)
    payload = {"model": MODEL_VERSION, "seed": int(seed), "scenario": _canonical(spec)}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()


@functools.lru_cache(maxsize=8)
def _file_sha256(path: str, _mtime_ns: int, _size: int) -> str:
    """sha256 of a file, read a block at a time, once per version of it (modification time and
    size): a sweep keys every cell × seed, and a day's trace is hundreds of MB."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run_sweep(
    scenario: Scenario,
    *,
    out_dir: str | Path,
    scheduler: Any = None,
    processes: int | None = None,
    progress: ProgressMode = True,
    fresh: bool = False,
) -> pd.DataFrame:
    """Run every cell × seed of the sweep and return the long results table.

    Columns: `cell` (grid index), each swept field (named by its dotted path), `seed`, the
    simulator's SUMMARY_COLUMNS stats (without `rep`), `replica_hours`, `key`; rows in grid
    order, then seed order. `df.attrs` holds `computed` and `cached` task counts and
    `fields`. Also writes `out_dir/results.parquet` and `out_dir/results.csv`.

    Args:
        scenario: a scenario with a `sweep:` block; its `seeds` are the replications.
        out_dir: directory for the cache and the results (created if missing).
        scheduler: a Dask scheduler address or `distributed.Client`; None = local processes.
        processes: local worker processes (default one per CPU; 1 = in this process).
        progress: a `planner.progress.Progress` mode: True, a bar on stderr when it is a
            terminal; "always", plain lines when it is not.
        fresh: ignore cached rows (new rows still go to the cache).

    Raises:
        ScenarioError: no `sweep:` block, or a cell is invalid (the message names the cell).
        PlannerError: a task failed (the message names the cell and the seed).
    """
    fields = swept_fields(scenario)
    if not fields:
        raise ScenarioError(
            f"scenario {scenario.name!r} has no sweep: block "
            "(add e.g. `sweep: {deployment.min_replicas: [1, 2, 4]}`)"
        )
    cells = grid(scenario)
    scenarios = cell_scenarios(scenario, cells)
    seeds = [int(seed) for seed in scenario.seeds]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cache_path = out / CACHE_FILE
    cached = {} if fresh else _read_cache(cache_path)
    _end_torn_line(cache_path)

    pairs = [(c, seed) for c in range(len(cells)) for seed in seeds]
    keys = [cache_key(scenarios[c], seed) for c, seed in pairs]
    stats: list[dict[str, float] | None] = [cached.get(key) for key in keys]
    todo = [i for i, row in enumerate(stats) if row is None]
    n_cached = len(pairs) - len(todo)

    bar = Progress(
        len(pairs), text="sweep", mode=progress, completed=n_cached, note=_counts(0, n_cached),
        transient=False,
    )  # fmt: skip
    with bar, cache_path.open("a") as cache_file:
        tasks = [(scenarios[pairs[i][0]], pairs[i][1]) for i in todo]
        results = run_tasks(tasks, run_task, scheduler=scheduler, processes=processes)
        try:
            for j, outcome in results:
                i = todo[j]
                row = _check(outcome, cells[pairs[i][0]], pairs[i][1])
                stats[i] = row
                line = json.dumps({"key": keys[i], "stats": row}, allow_nan=True)
                cache_file.write(line + "\n")
                cache_file.flush()
                bar.advance()
                bar.note(_counts(bar.done - n_cached, n_cached))
        finally:
            results.close()  # cancels what has not started when we stop early

    frame = _results_frame(fields, cells, pairs, keys, stats)
    frame.attrs.update(computed=len(todo), cached=n_cached, fields=fields)
    _write_results(frame, out)
    return frame


def cell_summary(df: pd.DataFrame, slo: Slo) -> pd.DataFrame:
    """One row per cell: means across seeds, 95 % upper bounds, and whether the SLO is met.

    Columns: `cell`, the swept fields, `seeds`, `rate_503` (mean), `rate_503_hi` (Student-t
    95 % upper bound across seeds; the mean with one seed), `latency_p99_s`,
    `latency_p99_s_hi`, `replica_hours` (mean per run), `meets_slo` (both upper bounds within
    the SLO, as `metrics.summarise` decides), in grid order.
    """
    fields = _fields_of(df)
    rows = []
    for cell, group in df.groupby("cell", sort=True):
        n = len(group)
        row: dict[str, Any] = {"cell": int(cell)}
        row.update({f: group[f].iloc[0] for f in fields})
        row["seeds"] = n
        for metric, high in (("rate_503", 1.0), ("latency_p99_s", math.inf)):
            mean, (_, hi) = mean_ci_within(group[metric].to_numpy(dtype=float), 0.0, high)
            row[metric], row[f"{metric}_hi"] = mean, hi
        row["replica_hours"] = float(group["replica_hours"].mean())
        judgement = judge_slo(
            rate_503_hi=row["rate_503_hi"],
            latency_p99_s_hi=row["latency_p99_s_hi"],
            slo=slo,
            requests=float(group["requests"].mean()),
        )
        row["meets_slo"] = bool(judgement.meets)
        rows.append(row)
    columns = ["cell", *fields, "seeds", "rate_503", "rate_503_hi", "latency_p99_s"]
    columns += ["latency_p99_s_hi", "replica_hours", "meets_slo"]
    return pd.DataFrame(rows, columns=columns)


def run_task(scenario: Scenario, seed: int) -> dict[str, float]:
    """Simulate one replication of one cell and return its summary stats (picklable, top level)."""
    from planner.simulate import run_rep

    return {name: float(value) for name, value in run_rep(scenario, seed).stats.items()}


# --- helpers -------------------------------------------------------------------------------


def _counts(computed: int, cached: int) -> str:
    return f"{computed} computed, {cached} cached"


def _check(outcome: Outcome, cell: Mapping[str, Any], seed: int) -> dict[str, float]:
    if isinstance(outcome, BaseException):
        if isinstance(outcome, KeyboardInterrupt):
            raise outcome
        detail = str(outcome) if isinstance(outcome, PlannerError) else repr(outcome)
        raise PlannerError(
            f"sweep cell {cell_label(cell)}, seed {seed} failed: {detail}"
        ) from outcome
    return outcome


def _read_cache(path: Path) -> dict[str, dict[str, float]]:
    """Rows of a cache file by key; the last line wins; a torn last line is skipped."""
    rows: dict[str, dict[str, float]] = {}
    if not path.exists():
        return rows
    with path.open() as f:
        for line in f:
            try:
                record = json.loads(line)
                rows[str(record["key"])] = {k: float(v) for k, v in record["stats"].items()}
            except (ValueError, KeyError, TypeError, AttributeError):
                continue  # NOTE: an interrupted write leaves a partial line; it is recomputed
    return rows


def _end_torn_line(path: Path) -> None:
    """End a partial last line (an interrupted write) so new rows start on a line of their own."""
    if path.exists() and path.stat().st_size > 0:
        with path.open("rb+") as f:
            f.seek(-1, 2)
            if f.read(1) != b"\n":
                f.write(b"\n")


def _results_frame(
    fields: list[str],
    cells: list[dict[str, Any]],
    pairs: list[tuple[int, int]],
    keys: list[str],
    stats: Sequence[dict[str, float] | None],
) -> pd.DataFrame:
    from planner.simulate import SUMMARY_COLUMNS

    stat_columns = [c for c in SUMMARY_COLUMNS if c != "rep"]
    records = []
    for (c, seed), key, row in zip(pairs, keys, stats, strict=True):
        assert row is not None  # every task either finished or raised
        record: dict[str, Any] = {"cell": c}
        record.update({f: cells[c][f] for f in fields})
        record["seed"] = seed
        record.update({s: row.get(s, math.nan) for s in stat_columns})
        record["replica_hours"] = row.get("replica_seconds", math.nan) / 3600.0
        record["key"] = key
        records.append(record)
    columns = ["cell", *fields, "seed", *stat_columns, "replica_hours", "key"]
    frame = pd.DataFrame(records, columns=columns)
    for f in fields:
        frame[f] = _column(frame[f])
    return frame


def _column(values: pd.Series) -> pd.Series:
    """Swept values as one parquet-friendly type: numbers or bools as is, anything else as text."""
    kinds = {type(v) for v in values}
    if kinds <= {int, float} or kinds == {bool} or kinds == {str}:
        return values
    return values.map(_plain)


def _plain(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(_canonical(value), sort_keys=True, separators=(",", ":"))


def _canonical(value: Any) -> Any:
    """JSON-ready form with one spelling per value: 4.0 → 4, tuples → lists, paths → text."""
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, bool | str) or value is None:
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    return str(value)


def _fields_of(df: pd.DataFrame) -> list[str]:
    fields = df.attrs.get("fields")
    if fields is not None:
        return list(fields)
    # A frame read back from results.parquet: the swept fields sit between cell and seed.
    columns = list(df.columns)
    return columns[columns.index("cell") + 1 : columns.index("seed")]


def _write_results(frame: pd.DataFrame, out: Path) -> None:
    frame.to_parquet(out / "results.parquet", index=False)
    frame.to_csv(out / "results.csv", index=False)
