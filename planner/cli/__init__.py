"""`planner` command line: one module per command, all registered on one typer app."""

from __future__ import annotations

from planner.cli._app import app

# Importing a command module registers its command on `app`.
from planner.cli import recommend as _recommend  # noqa: F401  (registers `recommend`)

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    app()
