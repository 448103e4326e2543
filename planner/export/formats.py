"""Autoscale settings as ready-to-paste deployment configuration (Azure ML v1/v2, Kubernetes HPA).

Pure translations: `ExportSettings` in, text or dicts out; no I/O. Each target has its own
units and rules (integer percent, whole seconds, milliseconds), so every translation states
what it cannot express in `LIMITS`, and the rendered text carries those limits as comments
(`planner.export.limits`; the unit conversions and name checks: `planner.export.units`).
Field names and defaults: docs/autoscalers.md §1.1 (v1 `deploy_configuration`,
`deploymentconfig.json`, v2 Kubernetes online deployment YAML), §2 (HPA autoscaling/v2).
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping
from typing import Any

import yaml

from planner.errors import ScenarioError
from planner.export.limits import FORMATS, LIMITS, notes
from planner.export.nodepool import NodePoolSettings, aks_nodepool_commands, headroom_yaml
from planner.export.settings import (
    DEFAULT_CONCURRENCY_METRIC,
    DEFAULT_INSTANCE_TYPE,
    HPA_MAX_STABILIZATION_S,
    HPA_METRICS,
    V2_SCHEMA_URL,
    ExportSettings,
)
from planner.export.units import (
    METRIC_RE,
    as_decimal,
    check_name,
    half_up,
    percent,
    quantity,
    whole_ms,
    whole_seconds,
)

__all__ = [
    "FORMATS",
    "LIMITS",
    "NODE_FORMATS",
    "azureml_v1_deploymentconfig_json",
    "azureml_v1_kwargs",
    "azureml_v1_python",
    "azureml_v2_kubernetes_dict",
    "azureml_v2_kubernetes_yaml",
    "hpa_dict",
    "hpa_yaml",
    "notes",
    "render",
]


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


NODE_FORMATS = ("aks-nodepool", "headroom")
"""The node layer's formats: they need the scenario's `nodes:` block (`nodepool_from_scenario`),
so `--format all` (FORMATS, the replica-level settings) does not include them."""


def render(
    settings: ExportSettings,
    fmt: str,
    *,
    nodes: NodePoolSettings | None = None,
    **hpa_options: Any,
) -> str:
    """Render `settings` in one of FORMATS or NODE_FORMATS; `hpa_options` go to `hpa_yaml`.

    "azureml-v1-json" is plain JSON (no comments possible): its limits are in `notes()`.
    "aks-nodepool" and "headroom" render `nodes` (from `nodepool_from_scenario`).

    Raises:
        ScenarioError: an unknown format, or a node format without `nodes`.
    """
    if fmt in NODE_FORMATS:
        if nodes is None:
            raise ScenarioError(f"format {fmt} needs the scenario's nodes: block")
        return aks_nodepool_commands(nodes) if fmt == "aks-nodepool" else headroom_yaml(nodes)
    if fmt == "azureml-v1":
        return azureml_v1_python(settings)
    if fmt == "azureml-v1-json":
        return json.dumps(azureml_v1_deploymentconfig_json(settings), indent=2) + "\n"
    if fmt == "azureml-v2":
        return azureml_v2_kubernetes_yaml(settings)
    if fmt == "hpa":
        return hpa_yaml(settings, **hpa_options)
    raise ScenarioError(f"format must be one of {', '.join(FORMATS + NODE_FORMATS)}: {fmt!r}")


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
