"""planner: autoscaling capacity planner and simulator for model-serving web services.

The public API is the names in `__all__`; everything else is reachable through its module.
The result types (Results, Summary, Recommendation, SearchResult, Validation) share one
convention: `to_dict()` gives JSON-safe plain data (`planner.plain`: NaN as None, nested
dataclasses as dicts, DataFrames as lists of row dicts).
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
    from planner.loadtest.compare import Validation
    from planner.metrics import Summary, summarise
    from planner.recommend.closed_form import Recommendation, closed_form_recommendation
    from planner.recommend.search import SearchResult, search_settings
    from planner.scenario import Scenario, load_scenario, with_overrides
    from planner.simulate import Results, run
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
    "Results": "planner.simulate",
    "Summary": "planner.metrics",
    "Recommendation": "planner.recommend.closed_form",
    "SearchResult": "planner.recommend.search",
    "Validation": "planner.loadtest.compare",
}

__all__ = [
    "InfeasibleError",
    "PlannerError",
    "PlannerWarning",
    "Recommendation",
    "Results",
    "Scenario",
    "ScenarioError",
    "SearchResult",
    "Summary",
    "Validation",
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
