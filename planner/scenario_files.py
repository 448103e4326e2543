"""Files a scenario points at: request traces (CSV, or a .npy of times) and samples of seconds.

Paths are relative to the scenario file's directory. Every problem is a rule error of the
field that named the file (`traffic.trace`, `service.request_time_s.file`) with the file, the
line and the value: ``traffic.trace: /data/t.csv line 3: t_s must be a number >= 0: '-2'``.
A file is read once per (path, modification time, size).
"""

from __future__ import annotations

import csv
import functools
import math
from pathlib import Path
from typing import Any

import numpy as np

from planner.scenario_base import MAX_SECONDS, fail
from planner.traffic import Traffic

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_SAMPLES",
    "read_npy_trace",
    "read_samples",
    "read_trace",
    "resolve_file",
]

MAX_FILE_BYTES = 512 * 1024 * 1024  # a trace or samples file larger than this is refused
MAX_SAMPLES = 1_000_000  # values in one empirical distribution


def resolve_file(value: Any, sub: str, base_dir: Path | None) -> Path:
    """A regular file named by the scenario, relative to its directory."""
    if not isinstance(value, str) or not value.strip():
        raise fail(f"must be a non-empty string: {value!r}", sub=sub)
    file = Path(value).expanduser()
    if not file.is_absolute():
        file = (base_dir or Path.cwd()) / file
    file = file.resolve()
    if not file.is_file():  # also refuses a directory, a FIFO, a device
        what = "file not found" if not file.exists() else "not a regular file"
        raise fail(f": {what}: {file}", sub=sub)
    if file.stat().st_size > MAX_FILE_BYTES:
        raise fail(f": {file} is larger than {MAX_FILE_BYTES // 2**20} MiB", sub=sub)
    return file


def _rows(file: Path, sub: str) -> list[tuple[int, list[str]]]:
    """Non-blank, non-comment CSV rows with their 1-based line numbers."""
    try:
        with file.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            rows = []
            for row in reader:
                cells = [c.strip() for c in row]
                if not any(cells) or cells[0].startswith("#"):
                    continue
                rows.append((reader.line_num, cells))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise fail(f": cannot read CSV {file}: {exc}", sub=sub) from None
    if not rows:
        raise fail(f": {file} has no rows", sub=sub)
    return rows


def _cell_number(cell: str, file: Path, line: int, column: str, sub: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise fail(f": {file} line {line}: {column} must be a number >= 0: {cell!r}", sub=sub)
    if value > MAX_SECONDS:
        limit = f"{MAX_SECONDS:g}"
        raise fail(f": {file} line {line}: {column} must be <= {limit}: {cell!r}", sub=sub)
    return value


def _cell(row: list[str], i: int) -> str:
    return row[i] if i < len(row) else ""


def _stamp(file: Path) -> tuple[int, int]:
    st = file.stat()
    return (st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=16)
def _read_trace(file: Path, sub: str, _stamp: tuple[int, int]) -> tuple[str, np.ndarray]:
    rows = _rows(file, sub)
    header_line, header = rows[0]
    cols = {c.lower(): i for i, c in enumerate(header)}
    if "t_s" in cols:
        i = cols["t_s"]
        times = np.array(
            [_cell_number(_cell(r, i), file, n, "t_s", sub) for n, r in rows[1:]], np.float64
        )
        if times.size == 0:
            raise fail(f": {file} has no rows after the header", sub=sub)
        return "times", times
    if "second" in cols and "count" in cols:
        i, j = cols["second"], cols["count"]
        counts: dict[int, int] = {}
        for n, r in rows[1:]:
            sec, cnt = _cell(r, i), _cell(r, j)
            s = _cell_number(sec, file, n, "second", sub)
            c = _cell_number(cnt, file, n, "count", sub)
            if not (s.is_integer() and c.is_integer()):
                raise fail(
                    f": {file} line {n}: second and count must be integers: {sec},{cnt}", sub=sub
                )
            if c > 1e6:
                raise fail(f": {file} line {n}: count must be <= 1000000: {cnt}", sub=sub)
            if int(s) in counts:
                raise fail(f": {file} line {n}: second {int(s)} appears twice", sub=sub)
            counts[int(s)] = int(c)
        if not counts:
            raise fail(f": {file} has no rows after the header", sub=sub)
        arr = np.zeros(max(counts) + 1, dtype=np.int64)
        arr[list(counts)] = list(counts.values())
        return "counts", arr
    raise fail(
        f": {file} line {header_line}: header must have a column t_s, "
        f"or columns second,count: {','.join(header)!r}",
        sub=sub,
    )


def read_trace(file: Path, sub: str) -> tuple[str, np.ndarray]:
    """("times", timestamps) from a `t_s` column or ("counts", per-second) from `second,count`."""
    return _read_trace(file, sub, _stamp(file))


@functools.lru_cache(maxsize=8)
def _read_npy_trace(file: Path, arrivals: str, _stamp: tuple[int, int]) -> Traffic:
    return Traffic(arrivals=arrivals, trace_file=str(file), trace_name=str(file))


def read_npy_trace(file: Path, arrivals: str, sub: str) -> Traffic:
    """A file-backed trace of a float64 .npy of arrival times, checked and counted once.

    A search rebuilds its scenario for every candidate, and a day's file takes about a
    second to read through: the Traffic is kept per version of the file, as the CSV traces
    are. A refused file is a rule error of `sub` with the reason.
    """
    stamp = _stamp(file)
    try:
        return _read_npy_trace(file, arrivals, stamp)
    except (ValueError, OSError) as exc:
        raise fail(f": {exc}", sub=sub) from None


@functools.lru_cache(maxsize=16)
def _read_samples(file: Path, sub: str, _stamp: tuple[int, int]) -> tuple[float, ...]:
    rows = _rows(file, sub)
    values = []
    for k, (line, cells) in enumerate(rows):
        if len(cells) != 1:
            raise fail(f": {file} line {line}: expected one column: {cells!r}", sub=sub)
        if k == 0:
            try:
                float(cells[0])
            except ValueError:
                continue  # a header
        values.append(_cell_number(cells[0], file, line, "seconds", sub))
        if len(values) > MAX_SAMPLES:
            raise fail(f": {file} has more than {MAX_SAMPLES} values", sub=sub)
    if not values:
        raise fail(f": {file} has no values", sub=sub)
    return tuple(values)


def read_samples(file: Path, sub: str) -> tuple[float, ...]:
    """One column of seconds (header optional) from a CSV file."""
    return _read_samples(file, sub, _stamp(file))
