"""Summaries across replications: means with 95 % confidence intervals, SLO checks.

CONTRACT (owned by the engine work):

    summarise(results: Results, slo: Slo | None = None) -> Summary
    @dataclass(frozen=True) Summary:
        reps: int
        values: dict[str, float]               # mean over reps of each SUMMARY_COLUMNS metric
        ci95: dict[str, tuple[float, float]]   # Student-t 95 % interval across reps (equal bounds if 1 rep)
        meets_slo: bool | None                 # upper CI bound of rate_503 <= slo.max_rate_503 and
                                               # upper bound of latency_p99_s <= slo.latency_p99_s
        reasons: tuple[str, ...]               # why not, in words
        def to_json_dict(self) -> dict          # DESIGN.md keys (requests, rate_503, rate_504, mean_wait_s,
                                               # latency_p50_s, latency_p95_s, latency_p99_s, peak_replicas,
                                               # replica_seconds, ...) plus "<key>_ci95": [lo, hi]
"""

from __future__ import annotations
