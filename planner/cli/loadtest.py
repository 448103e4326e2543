"""`planner loadtest` (placeholder until its work lands)."""

from __future__ import annotations

from planner.cli._app import app  # noqa: F401
