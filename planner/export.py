"""Autoscale settings as ready-to-paste deployment configuration (Azure ML v1/v2, Kubernetes HPA).

Pure translations: `ExportSettings` in, text or dicts out; no I/O. Each target has its own
units and rules (integer percent, whole seconds, milliseconds), so every translation states
what it cannot express in `LIMITS`, and the rendered text carries those limits as comments
(`planner.export_limits`; the unit conversions and name checks: `planner.export_units`).
Field names and defaults: ../shared/reference/autoscalers.md §1.1 (v1 `deploy_configuration`,
`deploymentconfig.json`), §1.3 (v2 Kubernetes online deployment YAML), §2 (HPA autoscaling/v2).
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import yaml

from planner.errors import ScenarioError
from planner.export_limits import FORMATS, LIMITS, notes
from planner.export_units import (
    ASSET_RE,
    METRIC_RE,
    as_decimal,
    check_int,
    check_name,
    check_number,
    clamp,
    half_up,
    is_int,
    percent,
    quantity,
    slug,
    whole_ms,
    whole_seconds,
)

__all__ = [
    "DEFAULT_CONCURRENCY_METRIC",
    "DEFAULT_INSTANCE_TYPE",
    "FORMATS",
    "HPA_MAX_STABILIZATION_S",
    "HPA_METRICS",
    "LIMITS",
    "V2_SCHEMA_URL",
    "ExportSettings",
    "azureml_v1_deploymentconfig_json",
    "azureml_v1_kwargs",
    "azureml_v1_python",
    "azureml_v2_kubernetes_dict",
    "azureml_v2_kubernetes_yaml",
    "from_recommendation",
    "from_scenario",
    "hpa_dict",
    "hpa_yaml",
    "notes",
    "render",
]

HPA_METRICS = ("cpu", "concurrency")
V2_SCHEMA_URL = "https://azuremlschemas.azureedge.net/latest/kubernetesOnlineDeployment.schema.json"
HPA_MAX_STABILIZATION_S = 3600  # Kubernetes API validation: behavior.*.stabilizationWindowSeconds
DEFAULT_INSTANCE_TYPE = "defaultinstancetype"  # created by the Azure ML Kubernetes extension
DEFAULT_CONCURRENCY_METRIC = "requests_in_flight"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportSettings:
    """The autoscale and request settings to export, in planner's units (fractions, seconds).

    Defaults are the documented Azure ML v1 defaults (reference §1.1). Construction validates
    every field and raises ScenarioError naming the field, the rule and the value.
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


# ---- Azure ML v1 --------------------------------------------------------------------------------


def azureml_v1_kwargs(settings: ExportSettings) -> dict[str, Any]:
    """Keyword arguments of `AksWebservice.deploy_configuration` (azureml-core), in its units."""
    return {
        "autoscale_enabled": True,
        "autoscale_min_replicas": settings.min_replicas,
        "autoscale_max_replicas": settings.max_replicas,
        "autoscale_refresh_seconds": whole_seconds(settings.refresh_s),
        "autoscale_target_utilization": percent(settings.target_utilization),
        "replica_max_concurrent_requests": settings.max_concurrent,
        "max_request_wait_time": max(1, whole_ms(settings.max_request_wait_s)),
        "scoring_timeout_ms": max(1, whole_ms(settings.scoring_timeout_s)),
        "cpu_cores": settings.cpu_cores,
        "memory_gb": settings.memory_gb,
    }


def azureml_v1_deploymentconfig_json(settings: ExportSettings) -> dict[str, Any]:
    """The `deploymentconfig.json` document for `az ml model deploy` (CLI v1) on AKS."""
    kw = azureml_v1_kwargs(settings)
    return {
        "computeType": "aks",  # the v1 docs: "For AKS, the value must be `aks`"
        "autoScaler": {
            "autoscaleEnabled": True,
            "minReplicas": kw["autoscale_min_replicas"],
            "maxReplicas": kw["autoscale_max_replicas"],
            "refreshPeriodInSeconds": kw["autoscale_refresh_seconds"],
            "targetUtilization": kw["autoscale_target_utilization"],
        },
        "maxConcurrentRequestsPerContainer": kw["replica_max_concurrent_requests"],
        "maxQueueWaitMs": kw["max_request_wait_time"],
        "scoringTimeoutMs": kw["scoring_timeout_ms"],
        "containerResourceRequirements": {"cpu": kw["cpu_cores"], "memoryInGB": kw["memory_gb"]},
    }


def azureml_v1_python(settings: ExportSettings) -> str:
    """A pasteable Python snippet building the AKS deployment configuration (SDK v1)."""
    args = "".join(f"    {k}={v!r},\n" for k, v in azureml_v1_kwargs(settings).items())
    return (
        _header(settings, "azureml-v1", "Azure ML SDK v1 (azureml-core) AKS web service", "#")
        + "from azureml.core.webservice import AksWebservice\n\n"
        + f"deployment_config = AksWebservice.deploy_configuration(\n{args})\n"
    )


# ---- Azure ML v2 --------------------------------------------------------------------------------


def azureml_v2_kubernetes_dict(settings: ExportSettings) -> dict[str, Any]:
    """The Kubernetes online deployment document (CLI v2 YAML), as a dict."""
    model = (
        f"azureml:{settings.model_name}:<MODEL-VERSION>"
        if settings.model_name
        else ("azureml:<MODEL-NAME>:<MODEL-VERSION>")
    )
    return {
        "$schema": V2_SCHEMA_URL,
        "name": settings.name,
        "type": "kubernetes",
        "endpoint_name": settings.endpoint_name or "<ENDPOINT-NAME>",
        "model": model,
        "code_configuration": {"code": "<PATH-TO-CODE-DIR>", "scoring_script": "score.py"},
        "environment": "azureml:<ENVIRONMENT-NAME>:<ENVIRONMENT-VERSION>",
        "instance_type": settings.instance_type or DEFAULT_INSTANCE_TYPE,
        "scale_settings": {
            "type": "target_utilization",
            "min_instances": settings.min_replicas,
            "max_instances": settings.max_replicas,
            "polling_interval": whole_seconds(settings.refresh_s),
            "target_utilization_percentage": percent(settings.target_utilization),
        },
        "request_settings": {
            "request_timeout_ms": max(1, whole_ms(settings.scoring_timeout_s)),
            "max_concurrent_requests_per_instance": settings.max_concurrent,
            "max_queue_wait_ms": whole_ms(settings.max_request_wait_s),
        },
    }


def azureml_v2_kubernetes_yaml(settings: ExportSettings) -> str:
    """The Kubernetes online deployment YAML, placeholders marked, limits as comments."""
    body = _dump_yaml(azureml_v2_kubernetes_dict(settings))
    marked = "".join(
        line + ("  # PLACEHOLDER: replace" if "<" in line else "") + "\n"
        for line in body.splitlines()
    )
    resources = (
        f"# Instance type must request cpu: {settings.cpu_cores:g}, memory: "
        f"{settings.memory_gb:g} GB per instance.\n"
    )
    title = "Azure ML CLI v2 Kubernetes online deployment"
    return _header(settings, "azureml-v2", title, "#") + resources + marked


# ---- Kubernetes HPA -----------------------------------------------------------------------------


def hpa_dict(
    settings: ExportSettings,
    *,
    deployment_name: str | None = None,
    namespace: str = "default",
    metric: str = "cpu",
    metric_name: str = DEFAULT_CONCURRENCY_METRIC,
) -> dict[str, Any]:
    """A `autoscaling/v2` HorizontalPodAutoscaler for a Deployment, as a dict."""
    target = deployment_name or settings.name
    check_name("deployment_name", target)
    check_name("namespace", namespace)
    window_s = half_up(as_decimal(settings.scale_down_delay_s))
    if window_s > HPA_MAX_STABILIZATION_S:
        raise ScenarioError(
            f"scale_down_delay_s must be <= {HPA_MAX_STABILIZATION_S} for HPA "
            f"stabilizationWindowSeconds: {settings.scale_down_delay_s!r}"
        )
    if metric == "cpu":
        metric_spec: dict[str, Any] = {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {
                    "type": "Utilization",
                    "averageUtilization": percent(settings.target_utilization),
                },
            },
        }
    elif metric == "concurrency":
        if not METRIC_RE.match(metric_name):
            raise ScenarioError(f"metric_name must match {METRIC_RE.pattern}: {metric_name!r}")
        per_pod = as_decimal(settings.target_utilization) * settings.max_concurrent
        metric_spec = {
            "type": "Pods",
            "pods": {
                "metric": {"name": metric_name},
                "target": {"type": "AverageValue", "averageValue": quantity(per_pod)},
            },
        }
    else:
        raise ScenarioError(f"metric must be one of {', '.join(HPA_METRICS)}: {metric!r}")
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": settings.name, "namespace": namespace},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
            "minReplicas": settings.min_replicas,
            "maxReplicas": settings.max_replicas,
            "metrics": [metric_spec],
            "behavior": {
                "scaleUp": {"stabilizationWindowSeconds": 0},
                "scaleDown": {"stabilizationWindowSeconds": window_s},
            },
        },
    }


def hpa_yaml(
    settings: ExportSettings,
    *,
    deployment_name: str | None = None,
    namespace: str = "default",
    metric: str = "cpu",
    metric_name: str = DEFAULT_CONCURRENCY_METRIC,
) -> str:
    """The HPA as YAML with the limits as comments (see `hpa_dict`)."""
    options = {"namespace": namespace, "metric": metric, "metric_name": metric_name}
    doc = hpa_dict(settings, deployment_name=deployment_name, **options)
    return _header(settings, "hpa", "Kubernetes HorizontalPodAutoscaler", "#") + _dump_yaml(doc)


# ---- one entry point ----------------------------------------------------------------------------


def render(settings: ExportSettings, fmt: str, **hpa_options: Any) -> str:
    """Render `settings` in one of FORMATS; `hpa_options` go to `hpa_yaml` (format "hpa").

    "azureml-v1-json" is plain JSON (no comments possible): its limits are in `notes()`.
    """
    if fmt == "azureml-v1":
        return azureml_v1_python(settings)
    if fmt == "azureml-v1-json":
        return json.dumps(azureml_v1_deploymentconfig_json(settings), indent=2) + "\n"
    if fmt == "azureml-v2":
        return azureml_v2_kubernetes_yaml(settings)
    if fmt == "hpa":
        return hpa_yaml(settings, **hpa_options)
    raise ScenarioError(f"format must be one of {', '.join(FORMATS)}: {fmt!r}")


def _header(settings: ExportSettings, fmt: str, title: str, mark: str) -> str:
    """Comment lines: what this is, from which settings, and every limit of the translation."""
    lines = [f"{title}, by `planner export` for '{settings.name}'.", "LIMITS:"]
    for note in notes(settings, fmt):
        lines += textwrap.wrap(
            note, 96, initial_indent="- ", subsequent_indent="  ", break_on_hyphens=False
        )
    return "".join(f"{mark} {line}\n" for line in lines) + "\n"


def _dump_yaml(doc: Mapping[str, Any]) -> str:
    """Block-style YAML in the key order given."""
    text: str = yaml.safe_dump(dict(doc), sort_keys=False, default_flow_style=False, width=100)
    return text
