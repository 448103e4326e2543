"""From a production request log to a scenario: `read_log`, `fit_log`, `write_scenario`.

Used by `planner fit` and `planner backtest`; see docs/fit.md.
"""

from __future__ import annotations

from planner.fit.build import LogFit, fit_log, write_scenario
from planner.fit.logs import RequestLog, read_log
from planner.fit.presets import PRESETS, Columns, TokenTimes
from planner.fit.request_time import KS_THRESHOLD, RequestTimeFit, fit_request_time

__all__ = [
    "KS_THRESHOLD",
    "PRESETS",
    "Columns",
    "LogFit",
    "RequestLog",
    "RequestTimeFit",
    "TokenTimes",
    "fit_log",
    "fit_request_time",
    "read_log",
    "write_scenario",
]
