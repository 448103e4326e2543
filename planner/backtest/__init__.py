"""Backtest autoscaler settings on a production log: `run_backtest` (see docs/fit.md)."""

from __future__ import annotations

from planner.backtest.run import Backtest, run_backtest

__all__ = ["Backtest", "run_backtest"]
