"""The simulation engines: the Python `Model`, or `CompiledModel` with its loop in numba.

Both give the same results bit for bit on the same seed; the compiled one needs the `fast`
extra (`pip install planner[fast]`, numba) and pays off on long runs. `engine="auto"` picks
it when numba is importable and a replication is expected to see more than
`COMPILED_MIN_REQUESTS` requests (below that, the first call's JIT load costs more than it saves).
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

from planner.errors import ScenarioError

if TYPE_CHECKING:
    from planner.model import Model
    from planner.scenario import Scenario

__all__ = [
    "COMPILED_MIN_REQUESTS",
    "ENGINES",
    "choose_engine",
    "expected_requests",
    "model_class",
    "numba_available",
]

ENGINES = ("auto", "python", "compiled")
COMPILED_MIN_REQUESTS = 200_000
"""`auto` runs the compiled engine above this many expected requests per replication."""


def numba_available() -> bool:
    """True when numba can be imported (the `fast` extra is installed)."""
    return importlib.util.find_spec("numba") is not None


def expected_requests(scenario: Scenario) -> float:
    """Expected arrivals of one replication: Λ(duration_s) of the scenario's traffic."""
    return float(scenario.traffic.cumulative(scenario.duration_s))


def choose_engine(engine: str, scenario: Scenario) -> str:
    """Resolve "auto" | "python" | "compiled" to the engine that will run `scenario`.

    Raises:
        ScenarioError: an unknown engine, or "compiled" without numba installed.
    """
    if engine not in ENGINES:
        raise ScenarioError(f"engine must be one of {', '.join(ENGINES)}: {engine!r}")
    if engine == "compiled" and not numba_available():
        raise ScenarioError(
            "engine 'compiled' needs numba, which is not installed: pip install planner[fast]"
        )
    if engine == "auto":
        long_run = expected_requests(scenario) > COMPILED_MIN_REQUESTS
        return "compiled" if long_run and numba_available() else "python"
    return engine


def model_class(engine: str) -> type[Model]:
    """The model class of a resolved engine ("python" or "compiled")."""
    if engine == "compiled":
        from planner.engine.compiled import CompiledModel

        return CompiledModel
    from planner.model import Model

    return Model
