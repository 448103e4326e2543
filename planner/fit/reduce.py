"""Reduce a log while it streams: what `fit_log` and the backtest need, bounded by a chunk.

`summarise_log(path, columns, trace_path=...)` reads the log a chunk at a time
(`planner.fit.stream.LogChunks`) and keeps, for the whole day, only:

- the arrival times, appended to a float64 .npy file as they stream (`trace_path`), and the
  per-second counts in memory (the trace's rates);
- exact counts, sums and extremes of the request times (so the fit keeps the log's mean
  exactly), and a uniform random sample of at most SAMPLE_SIZE of them for the shape of the
  fit (a reservoir: each duration gets a random key from a stream spawned from the seeded
  `rng`, the smallest keys are kept, in arrival order: the same sample however the log is
  chunked). With at most SAMPLE_SIZE durations the sample is all of them,
  so the fit is the whole-log fit. With more, the KS distance of the criterion is measured
  on the sample: its error is about 1/√SAMPLE_SIZE ≈ 0.002, small beside the 0.05 threshold;
- the status counts; per minute: requests, 503s, a latency histogram of the served requests
  (LATENCY_BINS log-spaced bins, 2.3 % wide: the minute's p95 to that resolution) and the
  distinct instances; the instances of the first 10 s and the state the cold-start estimate
  needs (each instance's first request, the requests still in flight, the overload crossings);
- a uniform random sample of ROW_SAMPLE_SIZE rows (arrival, status, duration) for the
  observed-vs-simulated verdict of a long log (its intervals are as wide as that sample gives).

While the log has at most `keep_rows` requests its rows are kept too and `summarise_log`
returns the `RequestLog` beside the summary, so a short log gets exactly the whole-log results.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from planner.fit.accumulate import ColdState, Moments, NpyWriter, Reservoir, grow
from planner.fit.logs import RequestLog, read_log
from planner.fit.observed import (
    INITIAL_WINDOW_S,
    LOOKBACK_S,
    TARGET_UTILIZATION,
    ColdStart,
    status_mix_of_counts,
)
from planner.fit.presets import Columns
from planner.fit.request_time import MAX_FIT_SAMPLES
from planner.fit.stream import CHUNK_ROWS, LogChunk, LogChunks, join_chunks

__all__ = [
    "KEEP_ROWS",
    "LATENCY_EDGES_S",
    "ROW_SAMPLE_SIZE",
    "SAMPLE_SIZE",
    "LogSummary",
    "histogram_quantile",
    "open_log",
    "summarise_log",
]

SAMPLE_SIZE = MAX_FIT_SAMPLES  # request times kept for the fit's shape
ROW_SAMPLE_SIZE = 500_000  # rows kept for the observed-vs-simulated verdict of a long log
KEEP_ROWS = 250_000  # a log up to this long is also returned whole (exact whole-log results)
LATENCY_BINS = 800  # 100 per decade from 0.1 ms to 10^4 s
LATENCY_EDGES_S = np.logspace(-4.0, 4.0, LATENCY_BINS + 1)


@dataclass(frozen=True, slots=True, kw_only=True, weakref_slot=True)
class LogSummary:
    """A log reduced while streaming (see the module docstring); no per-request objects."""

    source: str
    requests: int
    start: pd.Timestamp | None
    observed_latency: bool
    span_s: float
    trace_file: Path  # float64 .npy of the arrival times, seconds since the first
    counts: np.ndarray  # per second
    has_status: bool
    has_instance: bool
    served_count: int  # 2xx when the log has statuses and any is 2xx, else every request
    served_mean_s: float
    served_min_s: float
    served_max_s: float
    served_sample_s: np.ndarray  # uniform sample of the served durations, in arrival order
    status_counts: dict[int, int] | None
    per_minute: pd.DataFrame  # minute, t_s, requests[, instances]
    minute_503: np.ndarray
    minute_latency_hist: np.ndarray  # (minutes, LATENCY_BINS) served (not 503, not 0)
    initial_instances: int
    cold_start: ColdStart
    rows_sample: pd.DataFrame  # t_s, status, response_time_s: uniform, in arrival order

    @property
    def statuses(self) -> dict[int, float] | None:
        """Share of each status code, most frequent first (None: no status column)."""
        if self.status_counts is None:
            return None
        codes = np.array(sorted(self.status_counts), dtype=np.int64)
        counts = np.array([self.status_counts[int(c)] for c in codes], dtype=np.int64)
        return status_mix_of_counts(codes, counts)

    def minute_p95_s(self) -> np.ndarray:
        """Each minute's p95 of served durations, from its histogram (NaN: none served)."""
        return histogram_quantile(self.minute_latency_hist, 0.95)


def histogram_quantile(hist: np.ndarray, q: float) -> np.ndarray:
    """The q-quantile of each row of a LATENCY_EDGES_S histogram (geometric within a bin)."""
    h = np.atleast_2d(hist).astype(np.float64)
    n = h.sum(axis=1)
    cum = np.cumsum(h, axis=1)
    rank = q * n
    b = np.minimum((cum < rank[:, None]).sum(axis=1), h.shape[1] - 1)
    rows = np.arange(h.shape[0])
    below = np.where(b > 0, cum[rows, np.maximum(b - 1, 0)], 0.0)
    frac = np.clip((rank - below) / np.maximum(h[rows, b], 1.0), 0.0, 1.0)
    lo, hi = LATENCY_EDGES_S[b], LATENCY_EDGES_S[b + 1]
    out = lo * (hi / lo) ** frac
    return np.where(n > 0, out, np.nan)


# ------------------------------------------------------------------------------- reduce


def open_log(
    path: str | Path,
    columns: Columns,
    *,
    sort: bool = False,
    keep_rows: int | None = None,
    trace_path: Path | None = None,
) -> RequestLog | LogSummary:
    """The log whole when it has at most `keep_rows` (KEEP_ROWS) requests, else its summary.

    A short log gets exactly `read_log`'s `RequestLog` (and so the whole-log fit and
    backtest); a long one never has its rows in memory. `sort` needs every row at once:
    the log is then read whole by `read_log`. `trace_path` is where a long log's arrivals
    .npy goes (default a temporary folder); a short log returned whole leaves no file there.
    """
    if sort:
        return read_log(path, columns, sort=True)
    limit = KEEP_ROWS if keep_rows is None else keep_rows
    summary, log = summarise_log(path, columns, keep_rows=limit, trace_path=trace_path)
    if log is None:
        return summary
    if trace_path is not None:
        trace_path.unlink(missing_ok=True)
    return log


def summarise_log(
    path: str | Path,
    columns: Columns,
    *,
    trace_path: Path | None = None,
    chunk_rows: int = CHUNK_ROWS,
    keep_rows: int = KEEP_ROWS,
    rng: np.random.Generator | None = None,
) -> tuple[LogSummary, RequestLog | None]:
    """Stream the log once; return its summary, and the whole log when it is short.

    Args:
        path: the log (CSV, JSON Lines, JSON or Parquet).
        columns: which columns hold what.
        trace_path: where the arrivals .npy goes (removed again if the log is refused);
            default a temporary folder removed when the summary is garbage-collected.
        chunk_rows: rows parsed at a time.
        keep_rows: return the `RequestLog` too when the log has at most this many requests.
        rng: the samples' random stream (default `np.random.default_rng(0)`).

    Raises:
        ScenarioError: as `read_log`, naming the row and the column.
    """
    import shutil
    import tempfile

    rng = np.random.default_rng(0) if rng is None else rng
    # Open the log before making the temporary folder: a missing file raises here and
    # leaves nothing behind.
    chunks = LogChunks(path, columns, chunk_rows=chunk_rows)
    temporary = trace_path is None
    if trace_path is None:
        trace_path = Path(tempfile.mkdtemp(prefix="planner-log-")) / "arrivals.npy"
    writer = NpyWriter(trace_path)
    try:
        acc = _Accumulator(rng, keep_rows)
        for chunk in chunks:
            writer.write(chunk.t_s)
            acc.add(chunk, chunks)
    except BaseException:
        writer.fh.close()
        if temporary:
            shutil.rmtree(trace_path.parent, ignore_errors=True)
        else:
            trace_path.unlink(missing_ok=True)  # half written, without its header
        raise
    writer.close()
    summary, log = acc.finish(chunks, columns, trace_path)
    if temporary:
        weakref.finalize(summary, shutil.rmtree, trace_path.parent, ignore_errors=True)
    return summary, log


class _Accumulator:
    """The running reductions of `summarise_log` (one `add` per chunk)."""

    def __init__(self, rng: np.random.Generator, keep_rows: int) -> None:
        self.keep_rows = keep_rows
        self.kept: list[LogChunk] | None = []
        self.n = 0
        self.last_t = 0.0
        self.counts = np.zeros(0, dtype=np.int64)
        self.minute_n = np.zeros(0, dtype=np.int64)
        self.minute_503 = np.zeros(0, dtype=np.int64)
        self.hist = np.zeros((0, LATENCY_BINS), dtype=np.int32)
        # Served request times: 2xx (when there are statuses) and, in case none is, all.
        # One stream of keys per sample, so that each sample is the same however the log
        # is cut into chunks (their draws would interleave differently otherwise).
        ok, every, rows = rng.spawn(3)
        self.ok = Moments(Reservoir(SAMPLE_SIZE, ok))
        self.every = Moments(Reservoir(SAMPLE_SIZE, every))
        self.rows = Reservoir(ROW_SAMPLE_SIZE, rows)
        self.status: dict[int, int] = {}
        self.minute_instances: dict[int, set[str]] = {}
        self.initial: set[str] = set()
        self.cold = ColdState()

    def add(self, c: LogChunk, chunks: LogChunks) -> None:
        t, d = c.t_s, c.duration_s
        if self.kept is not None:
            self.kept.append(c)
            if self.n + c.size > self.keep_rows:
                self.kept = None
        pos = np.arange(self.n, self.n + c.size)
        self.n += c.size
        self.last_t = float(t[-1])
        sec = np.bincount(np.floor(t).astype(np.int64))
        self.counts = grow(self.counts, sec.size)
        self.counts[: sec.size] += sec
        minute = np.floor(t / 60.0).astype(np.int64)
        m_n = int(minute[-1]) + 1
        self.minute_n = grow(self.minute_n, m_n)
        self.minute_n[:m_n] += np.bincount(minute, minlength=m_n)
        status = c.status if c.status is not None else np.full(c.size, 200, dtype=np.int64)
        self.minute_503 = grow(self.minute_503, m_n)
        self.minute_503[:m_n] += np.bincount(minute[status == 503], minlength=m_n)
        served = (status != 503) & (status != 0)
        b = np.clip(np.searchsorted(LATENCY_EDGES_S, d[served], "right") - 1, 0, LATENCY_BINS - 1)
        self.hist = grow(self.hist, m_n)
        m0 = int(minute[0])
        cells = np.bincount(
            (minute[served] - m0) * LATENCY_BINS + b, minlength=(m_n - m0) * LATENCY_BINS
        )
        self.hist[m0:m_n] += cells.reshape(m_n - m0, LATENCY_BINS).astype(np.int32)
        self.every.add(pos, d)
        if c.status is not None:
            ok = (c.status >= 200) & (c.status < 300)
            self.ok.add(pos[ok], d[ok])
            codes, n = np.unique(c.status, return_counts=True)
            for code, k in zip(codes.tolist(), n.tolist(), strict=True):
                self.status[code] = self.status.get(code, 0) + k
        self.rows.add(pos, t, status.astype(np.float64), d)
        if c.instance is not None:
            named = c.instance != ""
            pairs = pd.DataFrame({"m": minute[named], "i": c.instance[named]}).drop_duplicates()
            for m, name in zip(pairs["m"].tolist(), pairs["i"].tolist(), strict=True):
                self.minute_instances.setdefault(m, set()).add(name)
            self.initial.update(c.instance[(t < INITIAL_WINDOW_S) & named].tolist())
            self.cold.add(c, TARGET_UTILIZATION)

    def finish(
        self, chunks: LogChunks, columns: Columns, trace: Path
    ) -> tuple[LogSummary, RequestLog | None]:
        served = self.ok if self.ok.count else self.every
        per_minute = pd.DataFrame({"minute": np.arange(self.minute_n.size, dtype=np.int64)})
        per_minute["t_s"] = per_minute["minute"] * 60.0
        per_minute["requests"] = self.minute_n
        if chunks.has_instance:
            per_minute["instances"] = np.array(
                [len(self.minute_instances.get(m, ())) for m in range(self.minute_n.size)],
                dtype=np.int64,
            )
        t, status, rt = self.rows.result()
        rows = pd.DataFrame({"t_s": t, "status": status.astype(np.int64), "response_time_s": rt})
        if chunks.has_instance:
            cold = self.cold.estimate(TARGET_UTILIZATION, LOOKBACK_S)
        else:
            cold = ColdStart(seconds=None, samples_s=(), how="no instance column: cannot estimate")
        summary = LogSummary(
            source=chunks.source,
            requests=self.n,
            start=chunks.start,
            observed_latency=columns.observed_latency,
            span_s=self.last_t,
            trace_file=trace,
            counts=self.counts,
            has_status=chunks.has_status,
            has_instance=chunks.has_instance,
            served_count=served.count,
            served_mean_s=served.mean,
            served_min_s=served.low,
            served_max_s=served.high,
            served_sample_s=served.sample.result()[0],
            status_counts=dict(self.status) if chunks.has_status else None,
            per_minute=per_minute,
            minute_503=self.minute_503,
            minute_latency_hist=self.hist,
            initial_instances=len(self.initial - {""}),
            cold_start=cold,
            rows_sample=rows,
        )
        log = None
        if self.kept is not None:
            log = join_chunks(self.kept, chunks, columns)
        return summary, log
