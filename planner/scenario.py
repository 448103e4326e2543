"""Scenario files: frozen, validated objects and `load_scenario(path)`.

CONTRACT (dataclasses fixed here; the scenario work writes the loader and validation):

    load_scenario(path: str | Path) -> Scenario           # raises ScenarioError
    scenario_from_dict(data: Mapping, *, source: str = "<dict>", base_dir: Path | None = None) -> Scenario
    with_overrides(scenario, overrides: Mapping[str, Any]) -> Scenario
        # dotted field paths ("deployment.min_replicas", "traffic.pattern.1.rps", "service.request_time_s")
        # replaced in the raw spec and validated again (same messages as the file).
    scenario_to_dict(scenario) -> dict                     # the validated spec, YAML-ready

Errors name the path, the rule and the value: "deployment.max_replicas must be >= min_replicas (4): 2";
unknown keys get "did you mean 'max_replicas'?" (difflib).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from planner.autoscalers import AzureMlParams, HpaParams, KnativeParams
from planner.distributions import Constant, Distribution
from planner.traffic import Traffic

AUTOSCALERS = ("azureml", "hpa", "knative", "none")


@dataclass(frozen=True, slots=True, kw_only=True)
class Service:
    """The model server: how long a request takes, how many run at once, how long a replica starts."""

    request_time_s: Distribution
    max_concurrent: int = 1
    cold_start_s: Distribution = field(default_factory=lambda: Constant(30.0))


@dataclass(frozen=True, slots=True, kw_only=True)
class Deployment:
    """Replica bounds, the autoscaler and the router's request settings (Azure ML names, in seconds)."""

    autoscaler: str = "azureml"
    replicas: int = 1  # fixed count for autoscaler "none"; the initial count otherwise
    min_replicas: int = 1
    max_replicas: int = 10
    target_utilization: float = 0.7
    refresh_s: float = 1.0
    scale_down_delay_s: float = 60.0
    max_request_wait_s: float = 0.5
    scoring_timeout_s: float = 60.0
    azureml: AzureMlParams = field(default_factory=AzureMlParams)
    hpa: HpaParams = field(default_factory=HpaParams)
    knative: KnativeParams = field(default_factory=KnativeParams)


@dataclass(frozen=True, slots=True, kw_only=True)
class Slo:
    """Service-level objective a configuration must meet."""

    max_rate_503: float = 0.001
    latency_p99_s: float = 2.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """One validated scenario. Inner code trusts it; build it with load_scenario / scenario_from_dict."""

    name: str
    duration_s: float
    warmup_s: float = 0.0
    seeds: tuple[int, ...] = (0,)
    traffic: Traffic
    service: Service
    deployment: Deployment = field(default_factory=Deployment)
    slo: Slo = field(default_factory=Slo)
    sweep: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    spec: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    base_dir: Path | None = field(default=None, compare=False, repr=False)
