"""Arrival patterns: one function of time gives the rate; arrival times are sampled from it.

The interface scenario.py, the simulator and loadtests/shapes.py rely on:

    @dataclass(frozen=True, slots=True, kw_only=True)
    class Phase:            duration_s: float; rps: float; to_rps: float | None = None

    @dataclass(frozen=True, slots=True, kw_only=True)
    class Traffic:
        arrivals: str = "poisson"            # "poisson" | "uniform" (evenly spaced)
        rps: float | None = None             # constant rate ...
        pattern: tuple[Phase, ...] = ()      # ... or phases run in order (linear ramp to to_rps)
        trace_times_s: np.ndarray | None = field(default=None, compare=False)
                                             # per-request timestamps
        trace_counts: np.ndarray | None = field(default=None, compare=False)
                                             # per-second counts
        trace_name: str | None = None        # file the trace came from (for messages / keys)
        trace_file: str | None = None        # per-request timestamps in a float64 .npy file,
                                             # read chunk by chunk (never whole)

        def rate_rps(self, t_s: float) -> float
            # offered rate at time t (after the pattern: last rate)
        def rates_rps(self, t_s: np.ndarray) -> np.ndarray
        def mean_rps(self, start_s: float, end_s: float) -> float
        def peak_rps(self, duration_s: float) -> float
        def arrival_times(self, duration_s: float, rng) -> Iterator[np.ndarray]
            # sorted chunks (float64 arrays) covering [0, duration_s); exact NHPP for
            # piecewise-linear rates (inversion of the cumulative rate); "uniform" = evenly
            # spaced in cumulative rate; traces replay timestamps, or per-second counts spread
            # within each second.

Pure: no pandas, no simpy. Trace files are read by scenario.py, except a `trace_file`: a
day of timestamps (43 M float64 values, 344 MB) is not held in memory but read from its .npy
file a chunk at a time, once when the Traffic is made (to check it and count each second)
and once per replication by `arrival_times`.

Conventions (added by the traffic work):
- The rate is piecewise linear and right-continuous: at a phase boundary `rate_rps` gives the
  next phase's starting rate. Negative times have rate 0.
- After the pattern ends the rate stays at the last phase's final rate (`to_rps`, else `rps`).
  A trace has rate 0 after its last second.
- The rate of a trace is its per-second count: count k in second i gives rate k on [i, i+1);
  per-request timestamps are binned by second for `rate_rps`, `mean_rps` and `peak_rps`.
- Λ(t) = `cumulative(t)` is the expected number of arrivals in [0, t).
- "poisson" arrivals are the non-homogeneous Poisson process with rate λ(t): unit-rate Poisson
  points in Λ-space (cumulative sums of Exp(1)) mapped through Λ⁻¹ (exact, piecewise quadratic).
- "uniform" arrivals are the times where Λ(t) = k + 1/2, k = 0, 1, 2, ... (at constant rate r:
  (k + 1/2)/r, evenly spaced, half a gap after 0; a rate-0 phase produces nothing).
- Traces: timestamps are replayed exactly (sorted, filtered to [0, duration)); a `trace_file`
  must already be sorted (it is refused otherwise) and gives the very chunks the same
  timestamps in memory give; per-second
  counts put k points in [i, i+1), uniformly at random ("poisson") or at i + (j + 1/2)/k
  ("uniform").
- `arrival_times` yields sorted, non-empty chunks of at most `chunk_size` points.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["ARRIVALS", "Phase", "Traffic", "npy_float64_layout"]

ARRIVALS = ("poisson", "uniform")
_SEGMENT_SLICES = 64  # a chunk spanning more segments is inverted point by point
_FILE_CHUNK = 1 << 20  # timestamps read at a time when a trace file is checked and counted


@dataclass(frozen=True, slots=True, kw_only=True)
class Phase:
    """`duration_s` seconds at `rps`, or a linear ramp from `rps` to `to_rps`."""

    duration_s: float
    rps: float
    to_rps: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.duration_s) and self.duration_s > 0):
            raise ValueError(f"Phase.duration_s must be > 0: {self.duration_s!r}")
        if not (math.isfinite(self.rps) and self.rps >= 0):
            raise ValueError(f"Phase.rps must be >= 0: {self.rps!r}")
        if self.to_rps is not None and not (math.isfinite(self.to_rps) and self.to_rps >= 0):
            raise ValueError(f"Phase.to_rps must be >= 0: {self.to_rps!r}")

    @property
    def end_rps(self) -> float:
        """Rate at the end of the phase."""
        return self.rps if self.to_rps is None else self.to_rps


def _readonly(arr: np.ndarray) -> np.ndarray:
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, slots=True, kw_only=True)
class Traffic:
    """Offered load: a constant rate, a sequence of phases or a replayed trace (exactly one)."""

    arrivals: str = "poisson"
    rps: float | None = None
    pattern: tuple[Phase, ...] = ()
    trace_times_s: np.ndarray | None = field(default=None, compare=False)
    trace_counts: np.ndarray | None = field(default=None, compare=False)
    trace_name: str | None = None
    trace_file: str | None = None
    # Piecewise-linear rate, precomputed: segment i starts at _starts[i] with rate _r0[i] and
    # slope _slope[i] for _dur[i] seconds (the last segment is unbounded); _cum[i] = Λ(_starts[i]).
    _starts: np.ndarray = field(init=False, repr=False, compare=False)
    _dur: np.ndarray = field(init=False, repr=False, compare=False)
    _r0: np.ndarray = field(init=False, repr=False, compare=False)
    _slope: np.ndarray = field(init=False, repr=False, compare=False)
    _cum: np.ndarray = field(init=False, repr=False, compare=False)
    _starts_list: tuple[float, ...] = field(init=False, repr=False, compare=False)
    # A trace file: byte offset of its data and number of timestamps.
    _file_offset: int = field(init=False, repr=False, compare=False, default=0)
    _file_count: int = field(init=False, repr=False, compare=False, default=0)

    def __post_init__(self) -> None:
        if self.arrivals not in ARRIVALS:
            raise ValueError(
                f"Traffic.arrivals must be one of {', '.join(ARRIVALS)}: {self.arrivals!r}"
            )
        given = [
            n
            for n, v in (
                ("rps", self.rps is not None),
                ("pattern", bool(self.pattern)),
                ("trace_times_s", self.trace_times_s is not None),
                ("trace_counts", self.trace_counts is not None),
                ("trace_file", self.trace_file is not None),
            )
            if v
        ]
        if len(given) != 1:
            raise ValueError(
                "Traffic needs exactly one of rps, pattern, trace_times_s, trace_counts, "
                f"trace_file: {given}"
            )
        object.__setattr__(self, "pattern", tuple(self.pattern))
        if self.rps is not None:
            if not (math.isfinite(self.rps) and self.rps >= 0):
                raise ValueError(f"Traffic.rps must be >= 0: {self.rps!r}")
            starts, dur = np.array([0.0]), np.array([math.inf])
            r0, r1 = np.array([float(self.rps)]), np.array([float(self.rps)])
        elif self.pattern:
            dur = np.array([p.duration_s for p in self.pattern] + [math.inf], dtype=np.float64)
            r0 = np.array([p.rps for p in self.pattern] + [self.pattern[-1].end_rps], np.float64)
            r1 = np.array(
                [p.end_rps for p in self.pattern] + [self.pattern[-1].end_rps], np.float64
            )
            starts = np.concatenate([[0.0], np.cumsum(dur[:-1])])
        else:
            counts = self._counts_per_second()
            starts = np.arange(counts.size + 1, dtype=np.float64)
            dur = np.append(np.ones(counts.size), math.inf)
            r0 = r1 = np.append(counts.astype(np.float64), 0.0)
        finite = np.isfinite(dur)
        slope = np.zeros_like(r0)
        slope[finite] = (r1[finite] - r0[finite]) / dur[finite]
        seg_area = np.where(finite, (r0 + r1) / 2.0 * np.where(finite, dur, 0.0), 0.0)
        cum = np.concatenate([[0.0], np.cumsum(seg_area[:-1])])
        for name, arr in (("_starts", starts), ("_dur", dur), ("_r0", r0), ("_slope", slope)):
            object.__setattr__(self, name, _readonly(arr))
        object.__setattr__(self, "_cum", _readonly(cum))
        object.__setattr__(self, "_starts_list", tuple(float(s) for s in starts))

    def _counts_per_second(self) -> np.ndarray:
        """Validate the trace arrays (made read-only) and return counts per second."""
        if self.trace_file is not None:
            return self._file_counts_per_second()
        if self.trace_times_s is not None:
            times = np.sort(np.asarray(self.trace_times_s, dtype=np.float64).ravel())
            if times.size and (not np.all(np.isfinite(times)) or times[0] < 0):
                raise ValueError("Traffic.trace_times_s must be finite and >= 0")
            object.__setattr__(self, "trace_times_s", _readonly(times))
            return np.bincount(np.floor(times).astype(np.int64)) if times.size else np.zeros(0)
        raw = np.asarray(self.trace_counts).ravel()
        counts = raw.astype(np.int64)
        if raw.size and (np.any(counts != raw) or np.any(counts < 0)):
            raise ValueError("Traffic.trace_counts must be integers >= 0")
        object.__setattr__(self, "trace_counts", _readonly(counts))
        return counts

    def _file_counts_per_second(self) -> np.ndarray:
        """Check a trace file chunk by chunk (finite, >= 0, sorted) and count each second."""
        assert self.trace_file is not None
        offset, count = npy_float64_layout(self.trace_file)
        object.__setattr__(self, "_file_offset", offset)
        object.__setattr__(self, "_file_count", count)
        counts = np.zeros(0, dtype=np.int64)
        last = 0.0
        for times in self._file_chunks(_FILE_CHUNK):
            if not np.all(np.isfinite(times)) or times[0] < 0:
                raise ValueError(f"Traffic.trace_file {self.trace_file}: must be finite and >= 0")
            if times[0] < last or np.any(np.diff(times) < 0):
                raise ValueError(f"Traffic.trace_file {self.trace_file}: must be sorted")
            last = float(times[-1])
            chunk = np.bincount(np.floor(times).astype(np.int64))
            if chunk.size > counts.size:
                counts = np.concatenate([counts, np.zeros(chunk.size - counts.size, np.int64)])
            counts[: chunk.size] += chunk
        return counts

    def _file_chunks(self, chunk_size: int) -> Iterator[np.ndarray]:
        """The trace file's timestamps, `chunk_size` at a time, in file order."""
        assert self.trace_file is not None
        with Path(self.trace_file).open("rb") as fh:
            for k in range(0, self._file_count, chunk_size):
                n = min(chunk_size, self._file_count - k)
                fh.seek(self._file_offset + 8 * k)
                times = np.fromfile(fh, dtype="<f8", count=n)
                if times.size != n:
                    raise ValueError(f"Traffic.trace_file {self.trace_file}: truncated")
                yield times.astype(np.float64, copy=False)

    # ----------------------------------------------------------------------------- the curve

    @property
    def is_trace(self) -> bool:
        """True for a replayed trace (timestamps, a timestamp file or per-second counts)."""
        return (
            self.trace_times_s is not None
            or self.trace_counts is not None
            or self.trace_file is not None
        )

    @property
    def total_duration_s(self) -> float | None:
        """Length of the pattern or trace in seconds (trace: whole seconds); None for a constant."""
        if self.rps is not None:
            return None
        return float(self._starts[-1])

    def rate_rps(self, t_s: float) -> float:
        """Offered rate at time `t_s` (right-continuous; 0 for t < 0)."""
        if t_s < 0:
            return 0.0
        i = bisect.bisect_right(self._starts_list, t_s) - 1
        return float(self._r0[i] + self._slope[i] * (t_s - self._starts_list[i]))

    def rates_rps(self, t_s: np.ndarray) -> np.ndarray:
        """`rate_rps` at each time of an array."""
        t = np.asarray(t_s, dtype=np.float64)
        i = np.maximum(np.searchsorted(self._starts, t, side="right") - 1, 0)
        rates = self._r0[i] + self._slope[i] * (t - self._starts[i])
        return np.where(t < 0, 0.0, rates)

    def cumulative(self, t_s: float | np.ndarray) -> float | np.ndarray:
        """Λ(t): expected arrivals in [0, t) (0 for t ≤ 0); vectorised over arrays."""
        t = np.maximum(np.asarray(t_s, dtype=np.float64), 0.0)
        i = np.searchsorted(self._starts, t, side="right") - 1
        x = t - self._starts[i]
        out = self._cum[i] + x * (self._r0[i] + 0.5 * self._slope[i] * x)
        return float(out) if np.ndim(out) == 0 else out

    def mean_rps(self, start_s: float, end_s: float) -> float:
        """Average rate over [start_s, end_s]; the rate at start_s if the interval is empty."""
        if end_s < start_s:
            raise ValueError(f"end_s must be >= start_s ({start_s}): {end_s}")
        if end_s == start_s:
            return self.rate_rps(start_s)
        return float(self.cumulative(end_s) - self.cumulative(start_s)) / (end_s - start_s)

    def peak_rps(self, duration_s: float) -> float:
        """Highest rate over [0, duration_s) (piecewise linear, so at a segment end)."""
        if duration_s <= 0:
            return self.rate_rps(0.0)
        n = bisect.bisect_left(self._starts_list, duration_s)  # segments starting before the end
        seg_end = np.minimum(self._starts[:n] + self._dur[:n], duration_s)
        ends = self._r0[:n] + self._slope[:n] * (seg_end - self._starts[:n])
        return float(max(self._r0[:n].max(), ends.max()))

    # ------------------------------------------------------------------------------ arrivals

    def _invert(self, s: np.ndarray) -> np.ndarray:
        """Λ⁻¹(s) for sorted s ≥ 0 below Λ(∞): the first t with Λ(t) = s.

        NOTE: a chunk of points spans few segments, so the formula runs segment by segment
        on slices, with the segment's numbers as scalars (and a constant rate's square root
        taken once): the same floating-point operations on the same values as the array-wide
        `_invert_points`, fewer of them. Chunks that span many segments take that one.
        """
        if not s.size:
            return s.copy()
        cum = self._cum
        # NOTE: side="left": an s equal to a segment's Λ at its start belongs to the segment
        # before, so a point exactly at a phase end is not pushed past a following rate-0 phase.
        first = max(int(np.searchsorted(cum, s[0], side="left")) - 1, 0)
        last = max(int(np.searchsorted(cum, s[-1], side="left")) - 1, 0)
        if last - first > _SEGMENT_SLICES:
            return self._invert_points(s)
        # Points of segment j > first: cum[j] < s ≤ cum[j + 1].
        ends: list[int] = np.searchsorted(s, cum[first + 1 : last + 1], side="right").tolist()
        ends.append(s.size)
        out = np.empty_like(s)
        lo = 0
        for j, hi in enumerate(ends, start=first):
            if hi > lo:
                out[lo:hi] = self._invert_segment(j, s[lo:hi])
            lo = hi
        return out

    def _invert_segment(self, j: int, s: np.ndarray) -> np.ndarray:
        """Λ⁻¹(s) for points of segment j (`_invert_points` with its index arrays all j)."""
        u = s - float(self._cum[j])
        r0 = float(self._r0[j])
        a = float(self._slope[j])
        if a == 0.0:  # 2a·u is ±0: the discriminant is r0², one square root for all points
            denom = r0 + math.sqrt(max(r0 * r0, 0.0))
            x = 2.0 * u / denom if denom > 0 else np.zeros_like(u)
        else:
            disc = np.maximum(r0 * r0 + 2.0 * a * u, 0.0)
            denom_a = r0 + np.sqrt(disc)
            x = np.divide(2.0 * u, denom_a, out=np.zeros_like(u), where=denom_a > 0)
        dur = float(self._dur[j])
        if dur < math.inf:
            x = np.minimum(x, dur)
        times: np.ndarray = float(self._starts[j]) + x
        return times

    def _invert_points(self, s: np.ndarray) -> np.ndarray:
        """Λ⁻¹(s) point by point: each point's segment looked up, the formula on whole arrays."""
        i = np.maximum(np.searchsorted(self._cum, s, side="left") - 1, 0)
        u = s - self._cum[i]
        r0 = self._r0[i]
        a = self._slope[i]
        # r0·x + a·x²/2 = u  ⇒  x = 2u / (r0 + √(r0² + 2au)), the stable root (no cancellation).
        disc = np.maximum(r0 * r0 + 2.0 * a * u, 0.0)
        denom = r0 + np.sqrt(disc)
        x = np.divide(2.0 * u, denom, out=np.zeros_like(u), where=denom > 0)
        x = np.minimum(x, self._dur[i])
        times: np.ndarray = self._starts[i] + x
        return times

    def arrival_times(
        self, duration_s: float, rng: np.random.Generator, chunk_size: int = 65536
    ) -> Iterator[np.ndarray]:
        """Yield sorted float64 chunks (≤ chunk_size points each) of arrivals in [0, duration_s).

        Args:
            duration_s: end of the simulated interval (exclusive).
            rng: the random stream of this replication ("uniform" and timestamp traces
                do not draw from it).
            chunk_size: maximum points per chunk; bounds memory for long runs.
        """
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1: {chunk_size}")
        if duration_s <= 0:
            return
        if self.trace_times_s is not None:
            times = self.trace_times_s
            times = times[: np.searchsorted(times, duration_s, side="left")]
            for k in range(0, times.size, chunk_size):
                yield times[k : k + chunk_size].copy()
        elif self.trace_file is not None:
            for times in self._file_chunks(chunk_size):
                end = int(np.searchsorted(times, duration_s, side="left"))
                if end:
                    yield times[:end]
                if end < times.size:
                    return
        elif self.trace_counts is not None:
            yield from self._trace_count_times(duration_s, rng, chunk_size)
        else:
            yield from self._curve_times(duration_s, rng, chunk_size)

    def _curve_times(
        self, duration_s: float, rng: np.random.Generator, chunk_size: int
    ) -> Iterator[np.ndarray]:
        total = float(self.cumulative(duration_s))
        poisson = self.arrivals == "poisson"
        s_last = 0.0 if poisson else -0.5  # last point in Λ-space
        t_last = 0.0
        while True:
            # NOTE: standard_exponential(n) draws the values exponential(1.0, n) draws.
            if poisson:
                s = np.cumsum(rng.standard_exponential(chunk_size))
            else:
                s = np.arange(1, chunk_size + 1, dtype=np.float64)
            s += s_last
            n = int(np.searchsorted(s, total, side="left"))
            s_last = float(s[-1])
            t = self._invert(s[:n])
            # Rounding in Λ⁻¹ may reorder ties by an ulp: keep the output exactly sorted
            # (a running maximum from max(t[0], t_last) is the running maximum of max(t, t_last)).
            if n:
                t[0] = max(t[0], t_last)
                np.maximum.accumulate(t, out=t)
            t = t[: int(np.searchsorted(t, duration_s, side="left"))]  # sorted: t < duration_s
            if t.size:
                t_last = float(t[-1])
                yield t
            if n < chunk_size:
                return

    def _trace_count_times(
        self, duration_s: float, rng: np.random.Generator, chunk_size: int
    ) -> Iterator[np.ndarray]:
        counts = self.trace_counts
        assert counts is not None
        counts = counts[: min(counts.size, math.ceil(duration_s))]
        cum = np.cumsum(counts)
        first = 0
        while first < counts.size:
            # A block of whole seconds holding about chunk_size points (at least one second).
            done = int(cum[first - 1]) if first else 0
            last = max(int(np.searchsorted(cum, done + chunk_size, side="right")), first + 1)
            block = counts[first:last]
            sec = np.repeat(np.arange(first, last, dtype=np.float64), block)
            if self.arrivals == "poisson":
                t = np.sort(sec + rng.random(sec.size))
            else:
                k = np.repeat(block, block)
                start = np.repeat(np.cumsum(block) - block, block)
                j = np.arange(sec.size) - start
                t = sec + (j + 0.5) / np.maximum(k, 1)
            t = t[t < duration_s]
            for k0 in range(0, t.size, chunk_size):
                yield t[k0 : k0 + chunk_size]
            first = last


def npy_float64_layout(path: str | Path) -> tuple[int, int]:
    """(byte offset of the data, number of values) of a 1-D little-endian float64 .npy file.

    Raises:
        ValueError: the file is not such a .npy file.
    """
    from numpy.lib import format as npy

    with Path(path).open("rb") as fh:
        try:
            version = npy.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = npy.read_array_header_1_0(fh)
            else:
                shape, fortran, dtype = npy.read_array_header_2_0(fh)
        except ValueError as exc:
            raise ValueError(f"{path}: not a .npy file: {exc}") from None
        offset = fh.tell()
    if dtype != np.dtype("<f8") or len(shape) != 1 or fortran:
        raise ValueError(f"{path}: expected a 1-D float64 .npy array: {dtype} {shape}")
    return offset, int(shape[0])
