"""The small public API: `planner.__all__` is the agreed set and every name resolves."""

from __future__ import annotations

import subprocess
import sys

import planner

EXPECTED = {
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
}


def test_all_is_the_agreed_set() -> None:
    """__all__ names exactly the public API (a change here is an API change)."""
    assert set(planner.__all__) == EXPECTED


def test_every_public_name_resolves() -> None:
    """Each lazily loaded name is the object its module defines."""
    from planner.scenario import load_scenario
    from planner.simulate import run

    for name in planner.__all__:
        assert getattr(planner, name) is not None
    assert planner.load_scenario is load_scenario
    assert planner.run is run
    assert planner.replicas_needed(20, 10) == 286


def test_import_and_cli_start_up_stay_light() -> None:
    """Importing planner and its CLI loads no pandas, simpy, matplotlib, numpy or locust."""
    code = (
        "import sys, planner, planner.cli; "
        "heavy = {'pandas', 'simpy', 'matplotlib', 'numpy', 'locust', 'gevent', 'dask'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
