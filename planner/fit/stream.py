"""Read a request log a chunk at a time, with `read_log`'s checks and messages.

`LogChunks(path, columns)` iterates over `LogChunk`s of at most `chunk_rows` rows: CSV through
`pandas.read_csv(chunksize=...)`, JSON Lines a block of lines at a time, Parquet through
`pyarrow.parquet.ParquetFile.iter_batches`. A JSON array cannot be parsed in pieces by the
standard library: it is read whole, then cut into chunks (give JSON Lines for a long log).

Each chunk is checked by the same functions as `read_log`, on rows that keep their absolute
numbers (CSV: the header is line 1; JSON Lines: line numbers; Parquet: records from 1), so a
bad row is named exactly as the whole-file reader names it. Time is measured from the first
row's stamp; time going backwards is caught within a chunk and across the boundary with the
chunk before. A log that needs sorting cannot be streamed (use `read_log(..., sort=True)`).

Which optional columns a log has (status, instance) is decided by its first chunk; a later
chunk without one of them has it as missing cells, refused by row like any missing value.
`read_log_chunked` joins the chunks into the `RequestLog` `read_log` gives for the same file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner.errors import ScenarioError
from planner.fit import logs
from planner.fit.logs import RequestLog, csv_rows, detect_format
from planner.fit.presets import Columns

__all__ = ["CHUNK_ROWS", "LogChunk", "LogChunks", "join_chunks", "read_log_chunked"]

CHUNK_ROWS = 1_000_000  # rows parsed at a time: a few hundred MB of pandas strings at most


@dataclass(frozen=True, slots=True, kw_only=True)
class LogChunk:
    """Consecutive checked rows: `t_s` since the log's first arrival, request times, extras."""

    first_row: int  # index of the chunk's first request in the whole log (from 0)
    t_s: np.ndarray
    duration_s: np.ndarray
    status: np.ndarray | None
    instance: np.ndarray | None

    @property
    def size(self) -> int:
        """Requests in the chunk."""
        return int(self.t_s.size)


class LogChunks:
    """The checked chunks of one log; `start`, `has_status`, `has_instance` after the first.

    Iterating twice reads the file twice. An empty log raises ScenarioError at the end.
    """

    def __init__(self, path: str | Path, columns: Columns, *, chunk_rows: int = CHUNK_ROWS):
        self.file = Path(path)
        if not self.file.is_file():
            raise ScenarioError(f"log file not found: {self.file}")
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be >= 1: {chunk_rows}")
        self.columns = columns
        self.chunk_rows = chunk_rows
        self.format = detect_format(self.file)
        self.start: pd.Timestamp | None = None
        self.has_status = False
        self.has_instance = False

    @property
    def source(self) -> str:
        """The file, as messages and reports name it."""
        return str(self.file)

    def __iter__(self) -> Iterator[LogChunk]:
        cols = self.columns
        label = "line" if self.format in ("csv", "jsonl") else "record"
        where = logs._Where(self.file, label)
        origin: pd.Timestamp | float | None = None  # the first row's stamp (or number)
        last_t = -np.inf
        done = 0
        optional: set[str] | None = None
        for frame in self._frames():
            if frame.empty:
                continue
            if optional is None:
                logs._refuse_aggregates(frame, where)
                optional = {c for c in (cols.status, cols.instance) if c and c in frame.columns}
                self.has_status = cols.status in optional
                self.has_instance = cols.instance in optional
            for name in optional - set(frame.columns):
                frame[name] = np.nan  # a later chunk without it: missing cells, refused by row
            if isinstance(origin, pd.Timestamp):
                t_raw, stamp = logs._timestamps(frame, cols.timestamp, where, first=origin)
            else:
                t_raw, stamp = logs._timestamps(frame, cols.timestamp, where)
            if origin is None:
                # The first chunk's earliest stamp: its first row's, unless time goes
                # backwards in it, which is refused below.
                origin = stamp if stamp is not None else float(t_raw[0])
                self.start = stamp
            elif (stamp is None) != isinstance(origin, float):
                raise ScenarioError(
                    f"{where.row(frame, 0)}: column {cols.timestamp!r}: the timestamps change "
                    "from numbers of seconds to dates (or back) at this row"
                )
            t_s = t_raw - origin if isinstance(origin, float) else t_raw
            back = np.flatnonzero(np.diff(np.concatenate(([last_t], t_s))) < 0)
            if back.size:
                raise ScenarioError(
                    f"{where.row(frame, int(back[0]))}: column {cols.timestamp!r}: time goes "
                    "backwards (earlier than the row before it): sort the log by time, or "
                    "pass --sort"
                )
            last_t = float(t_s[-1])
            chunk = LogChunk(
                first_row=done,
                t_s=t_s,
                duration_s=logs._durations(frame, cols, where),
                status=_kept(logs._status(frame, cols, where), self.has_status),
                instance=_kept(logs._instance(frame, cols, where), self.has_instance),
            )
            done += chunk.size
            yield chunk
        if not done:
            raise ScenarioError(f"{self.file}: the log has no requests")

    # -------------------------------------------------------------------------- the frames

    def _frames(self) -> Iterator[pd.DataFrame]:
        if self.format == "parquet":
            yield from self._parquet()
        elif self.format == "jsonl":
            yield from self._json_lines()
        elif self.format == "json":
            frame, _ = logs._read_json(self.file, "json")
            for k in range(0, len(frame), self.chunk_rows):
                yield frame.iloc[k : k + self.chunk_rows].copy()
        else:
            yield from self._csv()

    def _parquet(self) -> Iterator[pd.DataFrame]:
        import pyarrow.parquet as pq

        try:
            # NOTE: without pre_buffer=False, and one row group at a time, pyarrow keeps the
            # column chunks it has read so far: memory grows with the file (about 15 MB per
            # million rows of three float columns, pyarrow 26), not bounded by a batch.
            reader = pq.ParquetFile(self.file, pre_buffer=False)
            first = 1
            for group in range(reader.metadata.num_row_groups):
                for batch in reader.iter_batches(batch_size=self.chunk_rows, row_groups=[group]):
                    frame = batch.to_pandas()
                    frame.index = pd.RangeIndex(first, first + len(frame))
                    first += len(frame)
                    yield frame
        except ScenarioError:
            raise
        except Exception as exc:  # pyarrow raises several types for a damaged file
            raise ScenarioError(f"{self.file}: cannot read Parquet: {exc}") from None

    def _csv(self) -> Iterator[pd.DataFrame]:
        file = self.file
        if file.stat().st_size == 0:
            raise ScenarioError(f"{file}: the log is empty")
        line = 2  # the header is line 1
        try:
            reader = pd.read_csv(
                file, dtype=str, skip_blank_lines=False, keep_default_na=False,
                chunksize=self.chunk_rows,
            )  # fmt: skip
            with reader:
                for frame in reader:
                    n = len(frame)
                    yield csv_rows(frame, first_line=line)
                    line += n
        except pd.errors.EmptyDataError:
            raise ScenarioError(f"{file}: the log is empty") from None
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
            text = str(exc).strip()
            problem = text.splitlines()[-1] if text else type(exc).__name__
            raise ScenarioError(f"{file}: unreadable CSV row: {problem}") from None

    def _json_lines(self) -> Iterator[pd.DataFrame]:
        records: list[dict[str, Any]] = []
        numbers: list[int] = []
        try:
            with self.file.open(encoding="utf-8") as fh:
                for n, line in enumerate(fh, start=1):
                    if not line.strip():
                        continue
                    try:
                        obj = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise ScenarioError(
                            f"{self.file} line {n}: not valid JSON: {exc.msg}"
                        ) from None
                    if not isinstance(obj, dict):
                        raise ScenarioError(
                            f"{self.file} line {n}: expected a JSON object: {line.rstrip()[:60]!r}"
                        )
                    records.append(obj)
                    numbers.append(n)
                    if len(records) == self.chunk_rows:
                        yield _records_frame(records, numbers)
                        records, numbers = [], []
        except UnicodeDecodeError:
            raise ScenarioError(f"{self.file}: not a UTF-8 text file") from None
        if records:
            yield _records_frame(records, numbers)


def _kept(values: np.ndarray | None, present: bool) -> np.ndarray | None:
    """A column's values when the log has it (decided by the first chunk), else None."""
    return values if present else None


def _records_frame(records: list[dict[str, Any]], numbers: list[int]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records)
    frame.index = pd.Index(numbers, dtype=np.int64)
    return frame


def read_log_chunked(
    path: str | Path, columns: Columns, *, chunk_rows: int = CHUNK_ROWS
) -> RequestLog:
    """The `RequestLog` of `read_log(path, columns)`, read and checked a chunk at a time."""
    chunks = LogChunks(path, columns, chunk_rows=chunk_rows)
    return join_chunks(list(chunks), chunks, columns)


def join_chunks(parts: list[LogChunk], chunks: LogChunks, columns: Columns) -> RequestLog:
    """One `RequestLog` of every chunk of a log, in order."""

    def joined(name: str) -> np.ndarray | None:
        arrays = [getattr(c, name) for c in parts]
        return None if arrays[0] is None else np.concatenate(arrays)

    t_s, duration_s = joined("t_s"), joined("duration_s")
    assert t_s is not None and duration_s is not None
    return RequestLog(
        source=chunks.source,
        t_s=t_s,
        duration_s=duration_s,
        status=joined("status"),
        instance=joined("instance"),
        start=chunks.start,
        observed_latency=columns.observed_latency,
    )
