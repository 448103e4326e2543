"""Fixed-size state for reducing a streamed log: samples, the trace file, the cold start.

- `Reservoir`: a uniform random sample without replacement of at most `size` rows of a
  stream: each row gets a random key from the given `rng` and the rows with the smallest keys
  are kept (the same sample whatever the chunking); `result()` gives them in stream order.
- `Moments`: the count, exact mean and extremes of a stream of durations, and a sample.
- `NpyWriter`: float64 values appended to a .npy file whose header is written at the end.
- `ColdState`: what `planner.fit.observed.cold_start_estimate` needs, carried from chunk to
  chunk: each instance's first request, the requests still in flight, the overload crossings.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from planner.fit.observed import QUIET_S, ColdStart, cold_start_from
from planner.fit.stream import LogChunk

__all__ = ["ColdState", "Moments", "NpyWriter", "Reservoir", "grow"]


class Reservoir:
    """A uniform sample without replacement of at most `size` rows, by random keys."""

    def __init__(self, size: int, rng: np.random.Generator) -> None:
        self.size = size
        self.rng = rng
        self.keys = np.zeros(0)
        self.pos = np.zeros(0, dtype=np.int64)
        self.values: list[np.ndarray] = []

    def add(self, pos: np.ndarray, *columns: np.ndarray) -> None:
        """Offer rows at stream positions `pos` (one array per column)."""
        keys = np.concatenate([self.keys, self.rng.random(pos.size)])
        allpos = np.concatenate([self.pos, pos])
        if self.values:
            values = [np.concatenate([a, b]) for a, b in zip(self.values, columns, strict=True)]
        else:
            values = [np.asarray(c) for c in columns]
        if keys.size > self.size:
            keep = np.argpartition(keys, self.size)[: self.size]
            keys, allpos = keys[keep], allpos[keep]
            values = [v[keep] for v in values]
        self.keys, self.pos, self.values = keys, allpos, values

    def result(self) -> list[np.ndarray]:
        """The kept rows, one array per column, in stream order."""
        order = np.argsort(self.pos, kind="stable")
        return [v[order] for v in self.values]


def grow(arr: np.ndarray, n: int) -> np.ndarray:
    """`arr` with zero rows appended up to `n` rows (itself when it has as many)."""
    if arr.shape[0] >= n:
        return arr
    pad = np.zeros((n - arr.shape[0], *arr.shape[1:]), dtype=arr.dtype)
    return np.concatenate([arr, pad])


class NpyWriter:
    """Appends float64 values to a .npy file whose fixed-size header is written at the end."""

    HEADER = 128

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.fh: BinaryIO = path.open("wb")
        self.fh.write(b"\0" * self.HEADER)
        self.count = 0

    def write(self, values: np.ndarray) -> None:
        """Append values (as little-endian float64)."""
        np.ascontiguousarray(values, dtype="<f8").tofile(self.fh)
        self.count += int(values.size)

    def close(self) -> None:
        """Write the header for the values written and close the file."""
        text = f"{{'descr': '<f8', 'fortran_order': False, 'shape': ({self.count},), }}"
        room = self.HEADER - 10  # magic (6), version (2), header length (2)
        header = b"\x93NUMPY\x01\x00" + struct.pack("<H", room) + text.ljust(room - 1).encode()
        self.fh.seek(0)
        self.fh.write(header + b"\n")
        self.fh.close()


@dataclass(slots=True)
class ColdState:
    """What the cold-start estimate needs, carried from chunk to chunk."""

    first_seen: dict[str, float] = field(default_factory=dict)
    pending_ends: np.ndarray = field(default_factory=lambda: np.zeros(0))
    crossings: list[float] = field(default_factory=list)
    last_over: float = -math.inf

    def add(self, c: LogChunk, target: float) -> None:
        """Take in the next chunk (a log with an instance column)."""
        assert c.instance is not None
        t = c.t_s
        named = c.instance != ""
        if named.any():
            firsts = pd.Series(t[named]).groupby(c.instance[named]).min()
            for name, t0 in firsts.items():
                self.first_seen.setdefault(str(name), float(t0))
        # Requests in flight at each arrival: those arrived (carried + this chunk's so far)
        # minus those ended by then, over the instances seen by then (at least 1).
        ends = np.sort(np.concatenate([self.pending_ends, t + c.duration_s]))
        in_flight = (
            self.pending_ends.size + np.arange(1, t.size + 1) - np.searchsorted(ends, t, "right")
        )
        self.pending_ends = ends[ends > t[-1]]
        seen = np.sort(np.fromiter(self.first_seen.values(), dtype=np.float64))
        instances = np.maximum(np.searchsorted(seen, t, side="right"), 1)
        t_over = t[in_flight > target * instances]
        if t_over.size:
            gaps = np.diff(np.concatenate(([self.last_over], t_over))) > QUIET_S
            self.crossings.extend(t_over[gaps].tolist())
            self.last_over = float(t_over[-1])

    def estimate(self, target: float, lookback_s: float) -> ColdStart:
        """The estimate over the whole log read so far (`cold_start_estimate`'s)."""
        if not self.first_seen:
            return ColdStart(seconds=None, samples_s=(), how="no instance names: cannot estimate")
        first = pd.Series(self.first_seen).sort_values()
        new = first[first >= 60.0]
        if new.empty:
            return ColdStart(
                seconds=None,
                samples_s=(),
                how="every instance served in the first minute: no scale-up seen",
            )
        return cold_start_from(new, np.asarray(self.crossings), target, lookback_s)


class Moments:
    """Count, exact mean, extremes and a reservoir sample of a stream of durations."""

    def __init__(self, sample: Reservoir) -> None:
        self.sample = sample
        self.count = 0
        self.sums: list[float] = []
        self.low = math.inf
        self.high = -math.inf

    def add(self, pos: np.ndarray, d: np.ndarray) -> None:
        """Take in durations `d` at stream positions `pos`."""
        if not d.size:
            return
        self.count += int(d.size)
        self.sums.append(float(np.sum(d)))
        self.low = min(self.low, float(d.min()))
        self.high = max(self.high, float(d.max()))
        self.sample.add(pos, d)

    @property
    def mean(self) -> float:
        """The mean of every duration taken in (NaN: none)."""
        return math.fsum(self.sums) / self.count if self.count else math.nan
