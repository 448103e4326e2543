"""`planner` command line: one module per command, all registered on one typer app."""

from __future__ import annotations

# Importing a command module registers its command(s) on `app`.
from planner.cli import (  # noqa: F401  (imported for their registration side effect)
    backtest,
    export,
    fit,
    loadtest,
    recommend,
    schema,
    serve,
    simulate,
    sweep,
)
from planner.cli._app import app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    app()
