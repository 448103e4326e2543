"""The settings an export translates: `ExportSettings`, from a scenario or a recommendation.

One frozen record of what every export format needs (autoscale bounds and target, router
waits and timeouts, requests and names); the formats in `planner.export.formats` and their
limits in `planner.export.limits` read it, and neither is imported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from planner.errors import ScenarioError
from planner.export.units import (
    ASSET_RE,
    check_int,
    check_name,
    check_number,
    clamp,
    is_int,
    percent,
    slug,
)

__all__ = [
    "DEFAULT_CONCURRENCY_METRIC",
    "DEFAULT_INSTANCE_TYPE",
    "HPA_MAX_STABILIZATION_S",
    "HPA_METRICS",
    "V2_SCHEMA_URL",
    "ExportSettings",
    "from_recommendation",
    "from_scenario",
]

HPA_METRICS = ("cpu", "concurrency")
V2_SCHEMA_URL = "https://azuremlschemas.azureedge.net/latest/kubernetesOnlineDeployment.schema.json"
HPA_MAX_STABILIZATION_S = 3600  # Kubernetes API validation: behavior.*.stabilizationWindowSeconds
DEFAULT_INSTANCE_TYPE = "defaultinstancetype"  # created by the Azure ML Kubernetes extension
DEFAULT_CONCURRENCY_METRIC = "requests_in_flight"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportSettings:
    """The autoscale and request settings to export, in planner's units (fractions, seconds).

    Defaults are the documented Azure ML v1 defaults (docs/autoscalers.md §1.1). Construction
    validates every field and raises ScenarioError naming the field, the rule and the value.
    """

    name: str = "planner"
    min_replicas: int = 1
    max_replicas: int = 10
    target_utilization: float = 0.7
    refresh_s: float = 1.0
    max_concurrent: int = 1
    max_request_wait_s: float = 0.5
    scoring_timeout_s: float = 60.0
    scale_down_delay_s: float = 60.0  # informational for Azure ML; HPA stabilization window
    cpu_cores: float = 0.1
    memory_gb: float = 0.5
    initial_replicas: int | None = None
    model_name: str | None = None
    endpoint_name: str | None = None
    instance_type: str | None = None

    def __post_init__(self) -> None:
        check_name("name", self.name)
        for key in ("min_replicas", "max_replicas", "max_concurrent"):
            check_int(key, getattr(self, key), low=1)
        if self.max_replicas < self.min_replicas:
            raise ScenarioError(
                f"max_replicas must be >= min_replicas ({self.min_replicas}): {self.max_replicas}"
            )
        target = check_number("target_utilization", self.target_utilization)
        if not 0 < target <= 1:
            raise ScenarioError(f"target_utilization must be in (0, 1]: {target!r}")
        if percent(target) < 1:
            raise ScenarioError(
                f"target_utilization must be >= 0.005 (1 % once rounded): {target!r}"
            )
        positive = ("refresh_s", "scoring_timeout_s", "cpu_cores", "memory_gb")
        for key in (*positive, "max_request_wait_s", "scale_down_delay_s"):
            value = getattr(self, key)
            if check_number(key, value) < 0 or (value == 0 and key in positive):
                raise ScenarioError(
                    f"{key} must be {'>' if key in positive else '>='} 0: {value!r}"
                )
        if self.initial_replicas is not None:
            check_int("initial_replicas", self.initial_replicas, low=1)
            if not self.min_replicas <= self.initial_replicas <= self.max_replicas:
                raise ScenarioError(
                    f"initial_replicas must be within min_replicas..max_replicas "
                    f"({self.min_replicas}..{self.max_replicas}): {self.initial_replicas}"
                )
        if self.instance_type is not None:
            check_name("instance_type", self.instance_type)
        for key in ("model_name", "endpoint_name"):
            value = getattr(self, key)
            if value is not None and not (isinstance(value, str) and ASSET_RE.match(value)):
                raise ScenarioError(f"{key} must match {ASSET_RE.pattern}: {value!r}")


def from_scenario(scenario: Any, **overrides: Any) -> ExportSettings:
    """Settings from a scenario's deployment and service (duck-typed on planner.scenario.Scenario).

    A fixed deployment (`autoscaler: none`) exports as min = max = replicas. `overrides`
    replace any ExportSettings field afterwards (e.g. cpu_cores, endpoint_name).
    """
    dep, svc = scenario.deployment, scenario.service
    fixed = getattr(dep, "autoscaler", "azureml") == "none"
    low = dep.replicas if fixed else dep.min_replicas
    high = dep.replicas if fixed else dep.max_replicas
    settings = ExportSettings(
        name=slug(str(scenario.name)),
        min_replicas=low,
        max_replicas=high,
        target_utilization=dep.target_utilization,
        refresh_s=dep.refresh_s,
        max_concurrent=svc.max_concurrent,
        max_request_wait_s=dep.max_request_wait_s,
        scoring_timeout_s=dep.scoring_timeout_s,
        scale_down_delay_s=dep.scale_down_delay_s,
        initial_replicas=clamp(dep.replicas, low, high),
    )
    return replace(settings, **overrides) if overrides else settings


def from_recommendation(data: Mapping[str, Any], **overrides: Any) -> ExportSettings:
    """Settings from a recommendation mapping (`planner recommend --format json`).

    Reads min_replicas, max_replicas and target_utilization (at the top level or under
    "deployment"/"recommendation"), plus any other ExportSettings field present; other keys
    are ignored. Without min_replicas, `replicas` gives a fixed count (min = max = replicas).
    """
    merged: dict[str, Any] = {}
    for key in ("service", "deployment", "recommendation", "settings"):
        block = data.get(key)
        if isinstance(block, Mapping):
            merged.update(block)
    merged.update({k: v for k, v in data.items() if not isinstance(v, Mapping)})
    known = {f.name for f in fields(ExportSettings)}
    values = {k: v for k, v in merged.items() if k in known}
    if isinstance(values.get("name"), str):  # the scenario's name, as the scenario path has it
        values["name"] = slug(values["name"])
    if "target_util" in merged and "target_utilization" not in values:
        values["target_utilization"] = merged["target_util"]
    replicas = merged.get("replicas")
    if "min_replicas" not in values:
        if replicas is None:
            raise ScenarioError("recommendation has neither 'min_replicas' nor 'replicas'")
        values["min_replicas"] = replicas
        values.setdefault("max_replicas", replicas)
    low, high = values["min_replicas"], values.get("max_replicas", 10)
    if "initial_replicas" not in values and all(is_int(v) for v in (replicas, low, high)):
        values["initial_replicas"] = clamp(int(replicas), low, high)  # type: ignore[arg-type]
    values.update(overrides)
    return ExportSettings(**values)
