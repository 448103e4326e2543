"""The node layer as AKS settings: node-pool autoscaler bounds, its profile, and headroom pods.

Two formats:
- `aks-nodepool`: the `az aks nodepool update --enable-cluster-autoscaler --min-count
  --max-count` command for the pool, and `az aks update --cluster-autoscaler-profile ...`
  for the cluster autoscaler's timings. AKS takes `scan-interval` in whole seconds and the
  scale-down delays in whole minutes (the AKS API reference of the autoscaler profile), so
  those are rounded UP: a delay never becomes shorter than the one simulated.
- `headroom`: a PriorityClass below every workload (value -1: above the cluster
  autoscaler's expendable cutoff of -10, so its Pending pods still trigger nodes, as in the
  cluster-autoscaler FAQ's over-provisioning example) and a Deployment of pause pods with
  the replica's requests, `headroom_pods` of them.
Pure translations: settings in, text or dicts out.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import yaml

from planner.errors import ScenarioError
from planner.export.units import as_decimal, check_name, quantity, slug

__all__ = [
    "HEADROOM_PRIORITY",
    "PAUSE_IMAGE",
    "NodePoolSettings",
    "aks_nodepool_commands",
    "headroom_manifests",
    "headroom_yaml",
    "nodepool_from_recommendation",
    "nodepool_from_scenario",
]

HEADROOM_PRIORITY = -1
PAUSE_IMAGE = "registry.k8s.io/pause:3.9"


@dataclass(frozen=True, slots=True, kw_only=True)
class NodePoolSettings:
    """What the two node formats need; placeholders for names planner cannot know."""

    name: str
    vm_size: str
    min_nodes: int
    max_nodes: int
    scan_interval_s: float = 10.0
    scale_down_unneeded_s: float = 600.0
    scale_down_delay_after_add_s: float = 600.0
    scale_down_utilization_threshold: float = 0.5
    headroom_pods: int = 0
    pod_cpu: float = 1.0
    pod_memory_gb: float = 2.0
    resource_group: str = "<resource-group>"
    cluster_name: str = "<cluster-name>"
    nodepool_name: str = "<nodepool>"

    def __post_init__(self) -> None:
        check_name("name", self.name)
        if not 0 <= self.min_nodes <= self.max_nodes:
            raise ScenarioError(
                f"nodes.max_nodes must be >= nodes.min_nodes ({self.min_nodes}): {self.max_nodes}"
            )
        if self.max_nodes > 1000:
            raise ScenarioError(f"nodes.max_nodes must be <= 1000 (an AKS pool): {self.max_nodes}")


def nodepool_from_scenario(scenario: Any) -> NodePoolSettings:
    """The node settings of a scenario with a `nodes:` block (ScenarioError without one)."""
    nodes = getattr(scenario, "nodes", None)
    if nodes is None:
        raise ScenarioError("this scenario has no nodes: block (needed by aks-nodepool, headroom)")
    profile = nodes.autoscaler
    return NodePoolSettings(
        name=slug(str(scenario.name)),
        vm_size=str(nodes.vm_size),
        min_nodes=nodes.min_nodes,
        max_nodes=nodes.max_nodes,
        scan_interval_s=profile.scan_interval_s,
        scale_down_unneeded_s=profile.scale_down_unneeded_s,
        scale_down_delay_after_add_s=profile.scale_down_delay_after_add_s,
        scale_down_utilization_threshold=profile.scale_down_utilization_threshold,
        headroom_pods=nodes.headroom_pods,
        pod_cpu=scenario.service.cpu,
        pod_memory_gb=scenario.service.memory_gb,
    )


def nodepool_from_recommendation(data: Mapping[str, Any]) -> NodePoolSettings | None:
    """The node settings of a recommendation (`planner recommend --format json`): its `nodes`
    block, with the recommended headroom_pods and min_nodes; None when it has none."""
    block = data.get("nodes")
    if not isinstance(block, Mapping):
        return None
    profile = block.get("autoscaler")
    profile = profile if isinstance(profile, Mapping) else {}
    known = {
        "scan_interval_s", "scale_down_unneeded_s", "scale_down_delay_after_add_s",
        "scale_down_utilization_threshold",
    }  # fmt: skip
    values: dict[str, Any] = {k: v for k, v in profile.items() if k in known}
    for key in ("vm_size", "min_nodes", "max_nodes", "headroom_pods", "pod_cpu", "pod_memory_gb"):
        if key in block:
            values[key] = block[key]
    for key in ("vm_size", "min_nodes", "max_nodes"):
        if key not in values:
            raise ScenarioError(f"recommendation nodes block has no '{key}'")
    try:
        return NodePoolSettings(name=slug(str(data.get("name") or "planner")), **values)
    except TypeError as exc:
        raise ScenarioError(f"recommendation nodes block: {exc}") from None


def _minutes(seconds: float) -> str:
    return f"{max(1, math.ceil(seconds / 60 - 1e-9))}m"


def aks_nodepool_commands(s: NodePoolSettings) -> str:
    """Two `az` commands, with the rounding they imply as comments."""
    scan = max(1, math.ceil(s.scan_interval_s - 1e-9))
    profile = [
        f"scan-interval={scan}",
        f"scale-down-unneeded-time={_minutes(s.scale_down_unneeded_s)}",
        f"scale-down-delay-after-add={_minutes(s.scale_down_delay_after_add_s)}",
        f"scale-down-utilization-threshold={s.scale_down_utilization_threshold:g}",
    ]
    q = shlex.quote
    lines = [
        f"# AKS node pool for '{s.name}' ({s.vm_size}), by `planner export --format aks-nodepool`.",
        "# LIMITS: scan-interval is whole seconds and the scale-down delays whole minutes",
        "# (rounded up); the profile applies to every pool of the cluster.",
        f"az aks nodepool update --resource-group {q(s.resource_group)} \\",
        f"  --cluster-name {q(s.cluster_name)} --name {q(s.nodepool_name)} \\",
        f"  --enable-cluster-autoscaler --min-count {s.min_nodes} --max-count {s.max_nodes}",
        "# (a pool whose autoscaler is already on takes --update-cluster-autoscaler instead)",
        f"az aks update --resource-group {q(s.resource_group)} --name {q(s.cluster_name)} \\",
        f"  --cluster-autoscaler-profile {' '.join(profile)}",
    ]
    return "\n".join(lines) + "\n"


def headroom_manifests(s: NodePoolSettings) -> list[dict[str, Any]]:
    """A PriorityClass and a Deployment of `headroom_pods` pause pods sized like a replica."""
    requests = {
        "cpu": quantity(as_decimal(s.pod_cpu)),
        # whole mebibytes, rounded up: a request never shrinks below the one simulated
        "memory": f"{math.ceil(as_decimal(s.pod_memory_gb) * Decimal(1024))}Mi",
    }
    priority = f"{s.name}-headroom"
    return [
        {
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": priority},
            "value": HEADROOM_PRIORITY,
            "globalDefault": False,
            "description": "Placeholder pods that hold room for replicas; preempted first.",
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": f"{s.name}-headroom"},
            "spec": {
                "replicas": s.headroom_pods,
                "selector": {"matchLabels": {"app": f"{s.name}-headroom"}},
                "template": {
                    "metadata": {"labels": {"app": f"{s.name}-headroom"}},
                    "spec": {
                        "priorityClassName": priority,
                        "terminationGracePeriodSeconds": 0,
                        "containers": [
                            {
                                "name": "pause",
                                "image": PAUSE_IMAGE,
                                "resources": {"requests": requests, "limits": dict(requests)},
                            }
                        ],
                    },
                },
            },
        },
    ]


def headroom_yaml(s: NodePoolSettings) -> str:
    """The two manifests as one YAML stream, with a header comment."""
    head = (
        f"# Headroom pods for '{s.name}', by `planner export --format headroom`: "
        f"{s.headroom_pods} pause pod(s) of {s.pod_cpu:g} cpu / {s.pod_memory_gb:g} GB.\n"
    )
    body = yaml.safe_dump_all(headroom_manifests(s), sort_keys=False, default_flow_style=False)
    return head + body
