"""The one exception family of planner, and its warning.

`cli` catches `PlannerError` only: it prints the message on one line to stderr and exits with
the error's `exit_code`. Anything else is a bug and keeps its traceback.

Exit codes of the `planner` command (documented in the README and `planner --help`):
0 ok; 1 the SLO was missed, or a prediction disagrees with a measurement; 2 a usage or input
error (a bad option, an invalid scenario file, an unreadable log); 3 a runtime failure (a
deployment that would not start).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_SLO_MISSED = 1
EXIT_INPUT = 2
EXIT_RUNTIME = 3


class PlannerError(Exception):
    """Base of every error planner raises on purpose (bad input, impossible request)."""

    exit_code: int = EXIT_INPUT


class ScenarioError(PlannerError):
    """A scenario file or option is invalid. The message names the field, the rule and the value."""

    exit_code = EXIT_INPUT


class InfeasibleError(PlannerError):
    """No setting within the allowed bounds meets the target (e.g. load above max capacity)."""

    exit_code = EXIT_SLO_MISSED


class DeploymentError(PlannerError):
    """The local deployment could not start or serve (port taken, score.py failed to import...)."""

    exit_code = EXIT_RUNTIME


class PlannerWarning(UserWarning):
    """A result that is computed but doubtful (utilization >= 1, short warm-up, few requests)."""
