"""Column layouts of the request logs `planner fit` and `planner backtest` read.

A `Columns` names the log's columns: the arrival timestamp, the request duration and its
unit, and optionally the HTTP status and the serving instance. Presets give the layouts of
three known sources:

- `appinsights`: an Application Insights `requests` table exported as CSV or JSON
  (`timestamp` ISO 8601, `duration` in milliseconds, `resultCode`, `cloud_RoleInstance`).
  The duration is the server-side time of the request, so it is a latency (queueing
  included when the router queued it).
- `locust`: the per-request CSV that planner's own `loadtests/locustfile.py` writes with
  `--requests-csv` (`t_s` seconds since the test started, `status`, `response_time_s`).
  Locust's own `*_stats.csv` / `*_stats_history.csv` are aggregates (a row per endpoint or
  per second, "Request Count", "Average Response Time", ...): they have no per-request rows
  and are refused with a message that says so.
- `azure-llm`: the Azure Public Dataset LLM inference trace (`TIMESTAMP`, `ContextTokens`,
  `GeneratedTokens`): no duration column, so the request time is derived from the tokens,
  `per_context_token_s × ContextTokens + per_generated_token_s × GeneratedTokens`. It is a
  model of the service time, not an observed latency.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DEFAULT_PER_CONTEXT_TOKEN_S",
    "DEFAULT_PER_GENERATED_TOKEN_S",
    "PRESETS",
    "Columns",
    "TokenTimes",
]

# ASSUMPTION: illustrative per-token times of a large model on one GPU node: a prompt is
# processed at about 5,000 tokens/s (prefill) and output generated at about 33 tokens/s
# (decode). They are round numbers for what-ifs, not measurements of the traced service;
# give your own with --per-context-token-s / --per-generated-token-s.
DEFAULT_PER_CONTEXT_TOKEN_S = 0.0002
DEFAULT_PER_GENERATED_TOKEN_S = 0.03

DURATION_UNITS = {"ms": 0.001, "s": 1.0}


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenTimes:
    """Request time from tokens: seconds per prompt (context) token and per generated token."""

    context_column: str = "ContextTokens"
    generated_column: str = "GeneratedTokens"
    per_context_token_s: float = DEFAULT_PER_CONTEXT_TOKEN_S
    per_generated_token_s: float = DEFAULT_PER_GENERATED_TOKEN_S


@dataclass(frozen=True, slots=True, kw_only=True)
class Columns:
    """Which columns of a log hold what; `duration` or `tokens` gives the request time."""

    timestamp: str
    duration: str | None = None
    duration_unit: str = "ms"
    status: str | None = None
    instance: str | None = None
    tokens: TokenTimes | None = None
    extras_optional: bool = False  # presets: status / instance may be absent from an export

    @property
    def observed_latency(self) -> bool:
        """True when the duration column is a measured time (not derived from tokens)."""
        return self.tokens is None


PRESETS: dict[str, Columns] = {
    "appinsights": Columns(
        timestamp="timestamp",
        duration="duration",
        duration_unit="ms",
        status="resultCode",
        instance="cloud_RoleInstance",
        extras_optional=True,
    ),
    "locust": Columns(
        timestamp="t_s",
        duration="response_time_s",
        duration_unit="s",
        status="status",
        extras_optional=True,
    ),
    "azure-llm": Columns(timestamp="TIMESTAMP", tokens=TokenTimes()),
}

# Columns of Locust's aggregated CSV files (`--csv PREFIX`): recognised to explain the refusal.
LOCUST_AGGREGATE_COLUMNS = frozenset({"Request Count", "Requests/s", "Total Request Count"})
