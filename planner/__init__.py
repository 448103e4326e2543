"""planner: autoscaling capacity planner and simulator for model-serving web services."""

from __future__ import annotations

from planner.errors import InfeasibleError, PlannerError, PlannerWarning, ScenarioError

__version__ = "0.1.0"

__all__ = [
    "InfeasibleError",
    "PlannerError",
    "PlannerWarning",
    "ScenarioError",
    "__version__",
]
