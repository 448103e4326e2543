"""The one exception family of planner, and its warning.

`cli` catches `PlannerError` only: it prints the message on one line to stderr and exits 1.
Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class PlannerError(Exception):
    """Base of every error planner raises on purpose (bad input, impossible request)."""


class ScenarioError(PlannerError):
    """A scenario file or option is invalid. The message names the field, the rule and the value."""


class InfeasibleError(PlannerError):
    """No setting within the allowed bounds meets the target (e.g. load above max capacity)."""


class DeploymentError(PlannerError):
    """The local deployment could not start or serve (port taken, score.py failed to import...)."""


class PlannerWarning(UserWarning):
    """A result that is computed but doubtful (utilization >= 1, short warm-up, few requests)."""
