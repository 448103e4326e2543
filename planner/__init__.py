"""planner: autoscaling capacity planner and simulator for model-serving web services.

The public API is the names in `__all__`; everything else is reachable through its module.
Names are loaded on first use (PEP 562), so `import planner` (and the `planner` command's
start-up) stays light: simulation pulls in pandas and simpy only when it is asked for.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from planner._version import __version__
from planner.errors import InfeasibleError, PlannerError, PlannerWarning, ScenarioError

if TYPE_CHECKING:
    from planner.formulas import replicas_needed
    from planner.metrics import summarise
    from planner.recommend.closed_form import closed_form_recommendation
    from planner.recommend.search import search_settings
    from planner.scenario import Scenario, load_scenario, with_overrides
    from planner.simulate import run
    from planner.sweep import run_sweep

_WHERE = {
    "Scenario": "planner.scenario",
    "load_scenario": "planner.scenario",
    "with_overrides": "planner.scenario",
    "replicas_needed": "planner.formulas",
    "closed_form_recommendation": "planner.recommend.closed_form",
    "run": "planner.simulate",
    "summarise": "planner.metrics",
    "search_settings": "planner.recommend.search",
    "run_sweep": "planner.sweep",
}

__all__ = [
    "InfeasibleError",
    "PlannerError",
    "PlannerWarning",
    "Scenario",
    "ScenarioError",
    "__version__",
    "closed_form_recommendation",
    "load_scenario",
    "replicas_needed",
    "run",
    "run_sweep",
    "search_settings",
    "summarise",
    "with_overrides",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'planner' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
