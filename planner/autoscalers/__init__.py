"""Autoscaler policies as pure objects, one module each, called by the simulator and the router.

- `base`: Observation (what a policy sees), Policy (the protocol), make_policy.
- `azureml`: Azure ML's azureml-fe router autoscaler.
- `hpa`: the Kubernetes Horizontal Pod Autoscaler (autoscaling/v2).
- `knative`: Knative's KPA (stable and panic windows).
- `fixed`: autoscaler "none".
"""

from __future__ import annotations

from planner.autoscalers.azureml import AzureMlParams, AzureMlPolicy, ceil_ratio
from planner.autoscalers.base import KINDS, Observation, Policy, make_policy
from planner.autoscalers.fixed import FixedPolicy
from planner.autoscalers.hpa import HpaParams, HpaPolicy, HpaScalingPolicy
from planner.autoscalers.knative import KnativeParams, KnativePolicy

__all__ = [
    "KINDS",
    "AzureMlParams",
    "AzureMlPolicy",
    "FixedPolicy",
    "HpaParams",
    "HpaPolicy",
    "HpaScalingPolicy",
    "KnativeParams",
    "KnativePolicy",
    "Observation",
    "Policy",
    "ceil_ratio",
    "make_policy",
]
