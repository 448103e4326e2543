"""Read a request log (CSV, JSON Lines or Parquet) into arrays, checking every row.

`read_log(path, columns)` returns a `RequestLog`: arrival times in seconds since the first
request, request times in seconds, and the status and instance of each request when the log
has them. The format is detected from the file: Parquet by its magic bytes, JSON by a first
character `{` (one object per line) or `[` (one array), CSV otherwise; the extension is only
used when the file is empty.

Bad input is refused with one line that names the file, the row as a person counts lines
(CSV: the header is line 1; JSON Lines: line numbers; Parquet and JSON arrays: record
numbers from 1) and the column: a row the parser cannot read, a timestamp that is not a
time, a missing or negative duration, an empty file, time going backwards (unless `sort`).
Timestamps are ISO 8601 strings (any offset, read as UTC; a column `NAME [UTC]`, as the
Azure portal exports it, answers for `NAME`), a Parquet timestamp column, or numbers of
seconds (epoch or relative).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner.errors import ScenarioError
from planner.fit.presets import DURATION_UNITS, LOCUST_AGGREGATE_COLUMNS, Columns

__all__ = ["RequestLog", "detect_format", "read_log"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestLog:
    """One request per element, in arrival order.

    `t_s` is seconds since the first arrival (`start` is that arrival's UTC time, or None for
    numeric timestamps); `duration_s` is the request time; `status` (int) and `instance`
    (str) are None when the log has no such column.
    """

    source: str
    t_s: np.ndarray
    duration_s: np.ndarray
    status: np.ndarray | None
    instance: np.ndarray | None
    start: pd.Timestamp | None
    observed_latency: bool

    @property
    def requests(self) -> int:
        """Number of requests in the log."""
        return int(self.t_s.size)

    @property
    def span_s(self) -> float:
        """Seconds from the first to the last arrival."""
        return float(self.t_s[-1]) if self.t_s.size else 0.0

    @property
    def has_status(self) -> bool:
        """True when the log has a status column (as `LogSummary.has_status`)."""
        return self.status is not None

    @property
    def has_instance(self) -> bool:
        """True when the log has an instance column (as `LogSummary.has_instance`)."""
        return self.instance is not None


def detect_format(path: Path) -> str:
    """ "parquet", "jsonl", "json" or "csv", from the file's first bytes (extension if empty)."""
    with path.open("rb") as fh:
        head = fh.read(4096)
    if head.startswith(b"PAR1"):
        return "parquet"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"{"):
        return "jsonl"
    if text.startswith(b"["):
        return "json"
    if not text:
        ext = path.suffix.lower()
        return {".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl"}.get(ext, "csv")
    return "csv"


def read_log(path: str | Path, columns: Columns, *, sort: bool = False) -> RequestLog:
    """Read and check a request log.

    Args:
        path: the log file.
        columns: which columns hold the timestamp, duration, status and instance.
        sort: sort by time instead of refusing a log whose time goes backwards.

    Raises:
        ScenarioError: the file is missing, empty or unreadable, or a row is bad; the
            message names the row and the column.
    """
    file = Path(path)
    if not file.is_file():
        raise ScenarioError(f"log file not found: {file}")
    fmt = detect_format(file)
    frame, row_label = _read_frame(file, fmt)
    if frame.empty:
        raise ScenarioError(f"{file}: the log has no requests")
    where = _Where(file, row_label)
    _refuse_aggregates(frame, where)
    t_s, start = _timestamps(frame, columns.timestamp, where)
    duration_s = _durations(frame, columns, where)
    status = _status(frame, columns, where)
    instance = _instance(frame, columns, where)
    order = np.argsort(t_s, kind="stable") if sort else None
    if order is None:
        back = np.flatnonzero(np.diff(t_s) < 0)
        if back.size:
            i = int(back[0]) + 1
            raise ScenarioError(
                f"{where.row(frame, i)}: column {columns.timestamp!r}: time goes backwards "
                f"(earlier than the row before it): sort the log by time, or pass --sort"
            )
    else:
        t_s, duration_s = t_s[order], duration_s[order]
        status = None if status is None else status[order]
        instance = None if instance is None else instance[order]
    t0 = float(t_s[0])
    if start is not None:
        start = start + pd.Timedelta(seconds=t0 - float(np.min(t_s)))
    return RequestLog(
        source=str(file),
        t_s=t_s - t0,
        duration_s=duration_s,
        status=status,
        instance=instance,
        start=start,
        observed_latency=columns.observed_latency,
    )


# ------------------------------------------------------------------------------ internals


@dataclass(frozen=True, slots=True)
class _Where:
    """Names a row the way a person finds it in the file."""

    file: Path
    label: str  # "line" (CSV, JSON Lines) or "record" (Parquet, JSON array)

    def row(self, frame: pd.DataFrame, i: int) -> str:
        return f"{self.file} {self.label} {int(frame.index[i])}"


def _read_frame(file: Path, fmt: str) -> tuple[pd.DataFrame, str]:
    """The rows as a frame of strings (Parquet keeps its types), indexed by row number."""
    if fmt == "parquet":
        try:
            frame = pd.read_parquet(file)
        except Exception as exc:  # pyarrow raises several types for a damaged file
            raise ScenarioError(f"{file}: cannot read Parquet: {exc}") from None
        frame.index = pd.RangeIndex(1, len(frame) + 1)
        return frame, "record"
    if fmt in ("jsonl", "json"):
        return _read_json(file, fmt)
    if file.stat().st_size == 0:
        raise ScenarioError(f"{file}: the log is empty")
    try:
        frame = pd.read_csv(file, dtype=str, skip_blank_lines=False, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise ScenarioError(f"{file}: the log is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        problem = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise ScenarioError(f"{file}: unreadable CSV row: {problem}") from None
    return csv_rows(frame, first_line=2), "line"  # the header is line 1


def csv_rows(frame: pd.DataFrame, *, first_line: int) -> pd.DataFrame:
    """CSV rows of strings indexed by their line number from `first_line`, blank rows dropped."""
    frame.columns = [str(c).strip() for c in frame.columns]
    frame.index = pd.RangeIndex(first_line, len(frame) + first_line)
    blank = (frame.apply(lambda col: col.str.strip()) == "").all(axis=1)
    return frame[~blank]


def _read_json(file: Path, fmt: str) -> tuple[pd.DataFrame, str]:
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(f"{file}: not a UTF-8 text file") from None
    records: list[dict[str, Any]] = []
    numbers: list[int] = []
    if fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ScenarioError(f"{file} line {exc.lineno}: not valid JSON: {exc.msg}") from None
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise ScenarioError(f"{file}: a JSON log must be an array of objects")
        records, numbers, label = data, list(range(1, len(data) + 1)), "record"
    else:
        label = "line"
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ScenarioError(f"{file} line {n}: not valid JSON: {exc.msg}") from None
            if not isinstance(obj, dict):
                raise ScenarioError(f"{file} line {n}: expected a JSON object: {line[:60]!r}")
            records.append(obj)
            numbers.append(n)
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    frame.index = pd.Index(numbers, dtype=np.int64) if records else frame.index
    return frame, label


def _refuse_aggregates(frame: pd.DataFrame, where: _Where) -> None:
    if LOCUST_AGGREGATE_COLUMNS & set(frame.columns):
        raise ScenarioError(
            f"{where.file}: this is one of Locust's aggregated stats files (one row per "
            "endpoint or per second, no per-request rows): give the per-request CSV that "
            "loadtests/locustfile.py writes with --requests-csv"
        )


def _column(frame: pd.DataFrame, name: str, where: _Where) -> pd.Series:
    # The Azure portal's Logs export names time columns with their zone: "timestamp [UTC]".
    if name not in frame.columns and f"{name} [UTC]" in frame.columns:
        return frame[f"{name} [UTC]"].rename(name)
    if name not in frame.columns:
        have = ", ".join(map(str, frame.columns[:12]))
        raise ScenarioError(f"{where.file}: no column {name!r} (columns: {have})")
    return frame[name]


def _is_missing(series: pd.Series) -> np.ndarray:
    missing = series.isna().to_numpy()
    if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
        text = series.where(series.map(type).eq(str), "x")  # non-strings are not blank
        blank = text.str.strip().eq("").to_numpy(dtype=bool)
        missing = missing | blank
    return np.asarray(missing, dtype=bool)


def _first_bad(frame: pd.DataFrame, bad: np.ndarray, series: pd.Series, where: _Where) -> str:
    i = int(np.flatnonzero(bad)[0])
    return f"{where.row(frame, i)}: column {series.name!r}"


def _numbers(
    frame: pd.DataFrame, series: pd.Series, where: _Where, what: str, *, allow_missing: bool = False
) -> np.ndarray:
    """Finite numbers, >= 0; a missing, unparseable or negative cell is refused by row."""
    missing = _is_missing(series)
    if missing.any() and not allow_missing:
        raise ScenarioError(f"{_first_bad(frame, missing, series, where)}: {what} is missing")
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~missing & ~np.isfinite(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ScenarioError(
            f"{_first_bad(frame, bad, series, where)}: {what} is not a number: {series.iloc[i]!r}"
        )
    negative = ~missing & (values < 0)
    if negative.any():
        i = int(np.flatnonzero(negative)[0])
        raise ScenarioError(
            f"{_first_bad(frame, negative, series, where)}: {what} must be >= 0: {series.iloc[i]!r}"
        )
    return np.asarray(values, dtype=np.float64)


def _timestamps(
    frame: pd.DataFrame, name: str, where: _Where, first: pd.Timestamp | None = None
) -> tuple[np.ndarray, pd.Timestamp | None]:
    """Seconds since `first` (default: the earliest stamp) and it; numbers as they are."""
    series = _column(frame, name, where)
    missing = _is_missing(series)
    if missing.any():
        raise ScenarioError(f"{_first_bad(frame, missing, series, where)}: timestamp is missing")
    if pd.api.types.is_datetime64_any_dtype(series):
        stamps = pd.to_datetime(series, utc=True)
    else:
        numeric = pd.to_numeric(series, errors="coerce")
        if bool(numeric.notna().all()):
            values = numeric.to_numpy(dtype=np.float64)
            if not np.isfinite(values).all():
                bad = ~np.isfinite(values)
                raise ScenarioError(f"{_first_bad(frame, bad, series, where)}: not a time")
            return values, None
        stamps = pd.to_datetime(series, format="ISO8601", utc=True, errors="coerce")
        bad = stamps.isna().to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ScenarioError(
                f"{_first_bad(frame, bad, series, where)}: not an ISO 8601 time or a number "
                f"of seconds: {series.iloc[i]!r}"
            )
    # Whatever the parsed resolution (s, ms, us or ns), seconds since the earliest stamp.
    first = stamps.min() if first is None else first
    seconds = (stamps - first).dt.total_seconds().to_numpy(dtype=np.float64)
    return seconds, pd.Timestamp(first)


def _durations(frame: pd.DataFrame, columns: Columns, where: _Where) -> np.ndarray:
    tokens = columns.tokens
    if tokens is not None:
        ctx = _numbers(frame, _column(frame, tokens.context_column, where), where, "token count")
        gen = _numbers(frame, _column(frame, tokens.generated_column, where), where, "token count")
        out = tokens.per_context_token_s * ctx + tokens.per_generated_token_s * gen
        return np.asarray(out, dtype=np.float64)
    if columns.duration is None:
        raise ScenarioError("a duration column is needed (--duration COL, or a --preset)")
    scale = DURATION_UNITS[columns.duration_unit]
    series = _column(frame, columns.duration, where)
    return _numbers(frame, series, where, "duration") * scale


def _status(frame: pd.DataFrame, columns: Columns, where: _Where) -> np.ndarray | None:
    if columns.status is None or columns.status not in frame.columns:
        if columns.status is not None and not columns.extras_optional:
            _column(frame, columns.status, where)
        return None
    values = _numbers(frame, frame[columns.status], where, "status")
    whole = values == np.floor(values)
    if not whole.all():
        i = int(np.flatnonzero(~whole)[0])
        raise ScenarioError(
            f"{_first_bad(frame, ~whole, frame[columns.status], where)}: status must be an "
            f"HTTP code: {frame[columns.status].iloc[i]!r}"
        )
    return values.astype(np.int64)


def _instance(frame: pd.DataFrame, columns: Columns, where: _Where) -> np.ndarray | None:
    if columns.instance is None or columns.instance not in frame.columns:
        if columns.instance is not None and not columns.extras_optional:
            _column(frame, columns.instance, where)
        return None
    series = frame[columns.instance]
    missing = _is_missing(series)
    return np.where(missing, "", series.astype(str).str.strip().to_numpy(dtype=object))
