"""Arrival patterns: one function of time gives the rate; arrival times are sampled from it.

CONTRACT (owned by the engine work; scenario.py, the simulator and loadtests/shapes.py rely on it):

    @dataclass(frozen=True, slots=True, kw_only=True)
    class Phase:            duration_s: float; rps: float; to_rps: float | None = None

    @dataclass(frozen=True, slots=True, kw_only=True)
    class Traffic:
        arrivals: str = "poisson"            # "poisson" | "uniform" (evenly spaced)
        rps: float | None = None             # constant rate ...
        pattern: tuple[Phase, ...] = ()      # ... or phases run in order (linear ramp to to_rps)
        trace_times_s: np.ndarray | None = field(default=None, compare=False)  # per-request timestamps
        trace_counts: np.ndarray | None = field(default=None, compare=False)   # per-second counts
        trace_name: str | None = None        # file the trace came from (for messages / keys)

        def rate_rps(self, t_s: float) -> float        # offered rate at time t (after the pattern: last rate)
        def rates_rps(self, t_s: np.ndarray) -> np.ndarray
        def mean_rps(self, start_s: float, end_s: float) -> float
        def peak_rps(self, duration_s: float) -> float
        def arrival_times(self, duration_s: float, rng) -> Iterator[np.ndarray]
            # sorted chunks (float64 arrays) covering [0, duration_s); exact NHPP for piecewise-linear
            # rates (inversion of the cumulative rate); "uniform" = evenly spaced in cumulative rate;
            # traces replay timestamps, or per-second counts spread within each second.

Pure: no I/O, no pandas, no simpy. Trace files are read by scenario.py.
"""

from __future__ import annotations
