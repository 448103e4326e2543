"""Choosing an engine: `auto`'s threshold, and `compiled` without numba installed.

These tests do not need numba (its absence is simulated), so they run without the extra too.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import planner.engine as engine_mod
from planner.cli import app
from planner.distributions import Constant
from planner.engine import COMPILED_MIN_REQUESTS, choose_engine, model_class
from planner.errors import ScenarioError
from planner.model import Model
from planner.scenario import Deployment, Scenario, Service, load_scenario
from planner.traffic import Traffic

STEADY = Path(__file__).resolve().parents[1] / "scenarios" / "steady.yaml"


def test_choose_engine_auto_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    """`auto` is compiled above COMPILED_MIN_REQUESTS expected requests when numba imports."""
    monkeypatch.setattr(engine_mod, "numba_available", lambda: True)

    def constant(rps: float, duration_s: float) -> Scenario:
        return Scenario(
            name="c",
            duration_s=duration_s,
            traffic=Traffic(rps=rps),
            service=Service(request_time_s=Constant(value_s=0.1)),
            deployment=Deployment(autoscaler="none", replicas=2),
        )

    assert choose_engine("auto", constant(100.0, COMPILED_MIN_REQUESTS / 100.0)) == "python"
    assert choose_engine("auto", constant(100.0, COMPILED_MIN_REQUESTS / 100.0 + 1)) == "compiled"
    assert choose_engine("python", constant(500.0, 86_400.0)) == "python"
    assert model_class("python") is Model
    with pytest.raises(ScenarioError, match="engine must be one of"):
        choose_engine("fast", constant(1.0, 10.0))


def test_compiled_without_numba_is_an_input_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """`compiled` without numba: one line naming the extra, exit 2; `auto` falls back."""
    monkeypatch.setattr(engine_mod, "numba_available", lambda: False)
    sc = load_scenario(STEADY)
    long_day = Scenario(
        name="day",
        duration_s=86_400.0,
        traffic=Traffic(rps=500.0),
        service=sc.service,
        deployment=sc.deployment,
    )
    assert choose_engine("auto", long_day) == "python"  # auto falls back quietly
    with pytest.raises(ScenarioError, match=r"pip install planner\[fast\]"):
        choose_engine("compiled", sc)
    res = CliRunner().invoke(app, ["simulate", str(STEADY), "--engine", "compiled"])
    assert res.exit_code == 2
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "pip install planner[fast]" in lines[0]


def test_cli_help_names_the_engines_and_the_extra() -> None:
    """The help names the three engines' option, the extra to install and the threshold."""
    res = CliRunner().invoke(app, ["simulate", "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0
    assert "--engine" in res.stdout and "pip install planner[fast]" in res.stdout
    assert f"{COMPILED_MIN_REQUESTS:,}" in res.stdout
