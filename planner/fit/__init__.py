"""From a production request log to a scenario: `open_log`, `fit_log`, `write_scenario`.

`open_log` streams every log a chunk at a time into a `LogSummary` (`summarise_log`); a
short log's chunks are also joined into the `RequestLog` that `read_log` gives, and that is
returned instead. Only `sort=True` (`planner fit --sort`) reads the log whole with
`read_log`. `fit_log` and `planner.backtest.run_backtest` take either.

Used by `planner fit` and `planner backtest`; see docs/fit.md.
"""

from __future__ import annotations

from planner.fit.build import LogFit, fit_log, write_scenario
from planner.fit.logs import RequestLog, read_log
from planner.fit.presets import PRESETS, Columns, TokenTimes
from planner.fit.reduce import LogSummary, open_log, summarise_log
from planner.fit.request_time import KS_THRESHOLD, RequestTimeFit, fit_request_time

__all__ = [
    "KS_THRESHOLD",
    "PRESETS",
    "Columns",
    "LogFit",
    "LogSummary",
    "RequestLog",
    "RequestTimeFit",
    "TokenTimes",
    "fit_log",
    "fit_request_time",
    "open_log",
    "read_log",
    "summarise_log",
    "write_scenario",
]
