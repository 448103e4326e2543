"""The small public API: `planner.__all__` is the agreed set and every name resolves."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

import planner

EXPECTED = {
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


# One small real scenario: 5 → 15 rps, 0.5 s requests, 10 s cold start, a 30 s spike.
SMALL = {
    "rps": 5,
    "peak_rps": 15,
    "request_time_s": 0.5,
    "cold_start_s": 10,
    "spike_duration_s": 30,
    "seeds": 2,
}


def _round_trip(data: object) -> object:
    """json.dumps in strict mode (no NaN) and back: the data is plain and JSON-safe."""
    return json.loads(json.dumps(data, allow_nan=False))


def test_plain_turns_results_into_json_data() -> None:
    """NaN and infinities become None, tuples lists, numpy scalars numbers, dataclasses dicts."""
    import numpy as np

    from planner.plain import plain
    from planner.scenario_types import Slo

    data = plain({"a": (1.0, math.nan), "b": np.float64(math.inf), "c": np.int64(3)})
    assert data == {"a": [1.0, None], "b": None, "c": 3}
    assert type(data["c"]) is int
    assert plain(Slo(max_rate_503=0.01)) == _round_trip(plain(Slo(max_rate_503=0.01)))
    with pytest.raises(TypeError, match="no plain form"):
        plain(object())


def test_result_types_to_dict_round_trip_through_json() -> None:
    """Results, Summary, Recommendation, SearchResult and Validation: to_dict is JSON data."""
    import pandas as pd

    from planner.loadtest.compare import Measurement, compare
    from planner.recommend.spike import spike_scenario

    scenario = spike_scenario(**SMALL)  # type: ignore[arg-type]
    results = planner.run(scenario, keep_requests=True)
    summary = planner.summarise(results)
    rec = planner.closed_form_recommendation(rps=20, request_time_s=10.0, peak_rps=60)
    found = planner.search_settings(scenario, processes=1)
    assert results.requests is not None
    first = results.requests[results.requests["rep"] == results.requests["rep"].iloc[0]]
    measured = Measurement(
        requests=pd.DataFrame(
            {
                "t_s": first["t_arrival_s"],
                "lag_s": 0.0,
                "status": first["status"],
                "response_time_s": first["latency_s"],
            }
        ),
        sent=len(first),
        seed=int(first["rep"].iloc[0]),
    )
    validation = compare(measured, results)

    for value in (results, summary, rec, found, validation):
        data = value.to_dict()
        assert isinstance(data, dict)
        assert _round_trip(data) == data, type(value).__name__
    assert summary.to_dict()["reps"] == 2
    assert rec.to_dict()["max_replicas"] == rec.max_replicas
    assert found.to_dict()["chosen"]["min_replicas"] == found.min_replicas
    assert len(found.to_dict()["candidates"]) == found.simulations
    assert len(results.to_dict()["summary"]) == 2
    assert validation.to_dict()["ok"] == validation.ok
