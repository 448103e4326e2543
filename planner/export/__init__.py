"""Autoscale settings as ready-to-paste deployment configuration.

- `settings`: `ExportSettings`, the one record every format reads, from a scenario or a
  recommendation.
- `formats`: the translations (Azure ML v1 and v2, Kubernetes HPA) and `render`.
- `limits`: what each format cannot express, and what an export rounds.
- `units`: unit conversions and name checks shared by the formats.
"""

from __future__ import annotations

from planner.export.formats import (
    FORMATS,
    LIMITS,
    NODE_FORMATS,
    azureml_v1_deploymentconfig_json,
    azureml_v1_kwargs,
    azureml_v1_python,
    azureml_v2_kubernetes_dict,
    azureml_v2_kubernetes_yaml,
    hpa_dict,
    hpa_yaml,
    notes,
    render,
)
from planner.export.nodepool import (
    NodePoolSettings,
    nodepool_from_recommendation,
    nodepool_from_scenario,
)
from planner.export.settings import ExportSettings, from_recommendation, from_scenario

__all__ = [
    "FORMATS",
    "LIMITS",
    "NODE_FORMATS",
    "ExportSettings",
    "NodePoolSettings",
    "azureml_v1_deploymentconfig_json",
    "azureml_v1_kwargs",
    "azureml_v1_python",
    "azureml_v2_kubernetes_dict",
    "azureml_v2_kubernetes_yaml",
    "from_recommendation",
    "from_scenario",
    "hpa_dict",
    "hpa_yaml",
    "nodepool_from_recommendation",
    "nodepool_from_scenario",
    "notes",
    "render",
]
