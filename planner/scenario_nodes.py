"""The node layer of a scenario: the optional `nodes:` block and its cluster-autoscaler profile.

Without `nodes:` nodes are unlimited (every replica starts its cold start at once), as before
the node layer existed. With it, replicas are placed on a pool of alike VMs by the rules of
`planner.nodes`. The autoscaler defaults are the cluster autoscaler's own (its FAQ, "What are
the parameters to CA?": scan-interval 10 s, scale-down-unneeded-time 10 min,
scale-down-delay-after-add 10 min, scale-down-utilization-threshold 0.5).
"""

from __future__ import annotations

from typing import Any

from pydantic import model_validator

from planner.distributions import Constant
from planner.scenario_base import (
    MAX_SECONDS,
    MIN_INTERVAL_S,
    Integer,
    Number,
    Text,
    fail,
    kwargs_of,
    repack,
    schema_type,
    shown,
    spec_field,
)
from planner.scenario_dist import DistributionIn

__all__ = ["MAX_NODES", "NodeAutoscaler", "Nodes"]

MAX_NODES = 1000  # AKS: at most 1000 nodes per node pool


@schema_type("nodes.autoscaler")
class NodeAutoscaler:
    """The cluster-autoscaler profile (AKS `--cluster-autoscaler-profile`), in seconds."""

    scan_interval_s: Number = spec_field(
        default=10.0,
        doc="scan-interval: seconds between two autoscaler loops",
        ge=MIN_INTERVAL_S,
        le=3600,
    )
    scale_down_unneeded_s: Number = spec_field(
        default=600.0,
        doc="scale-down-unneeded-time: seconds a node is unneeded before removal",
        ge=0,
        le=MAX_SECONDS,
    )
    scale_down_delay_after_add_s: Number = spec_field(
        default=600.0,
        doc="scale-down-delay-after-add: no scale-down this long after a scale-up",
        ge=0,
        le=MAX_SECONDS,
    )
    scale_down_utilization_threshold: Number = spec_field(
        default=0.5,
        doc="scale-down-utilization-threshold: a node below this requested share is unneeded",
        ge=0,
        le=1,
    )


@schema_type("nodes")
class Nodes:
    """One node pool of alike VMs under the replicas, and the cluster autoscaler over it."""

    vm_size: Text = spec_field(default="Standard_D4s_v5", doc="VM size name (reports, export)")
    cpu: Number = spec_field(doc="allocatable cores per node", gt=0, le=1024)
    memory_gb: Number = spec_field(doc="allocatable memory per node, GB", gt=0, le=16384)
    max_pods: Integer = spec_field(default=30, doc="pods per node (AKS --max-pods)", ge=1, le=250)
    min_nodes: Integer = spec_field(default=1, doc="node-pool --min-count", ge=0, le=MAX_NODES)
    max_nodes: Integer = spec_field(default=10, doc="node-pool --max-count", ge=1, le=MAX_NODES)
    initial_nodes: Integer = spec_field(
        default=1,
        doc="nodes at t = 0 (default min_nodes); they have the image",
        ge=0,
        le=MAX_NODES,
    )
    provision_s: DistributionIn = spec_field(
        default_factory=lambda: Constant(value_s=180.0),
        doc="seconds from a scale-up to a Ready node: a number or a distribution",
    )
    image_pull_s: DistributionIn = spec_field(
        default_factory=lambda: Constant(value_s=0.0),
        doc="seconds the first pod on a new node waits for the image: a number or a distribution",
    )
    price_per_hour: Number | None = spec_field(
        default=None, doc="money per node-hour (cost in money); none: no cost", ge=0
    )
    headroom_pods: Integer = spec_field(
        default=0,
        doc="low-priority placeholder (pause) pods holding room for replicas",
        ge=0,
        le=10000,
    )
    autoscaler: NodeAutoscaler = spec_field(
        default_factory=NodeAutoscaler, doc="the cluster-autoscaler profile"
    )

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: Any) -> Any:
        values = kwargs_of(data)
        if values is None:
            return data
        if "initial_nodes" not in values:
            lo = values.get("min_nodes", 1)
            if isinstance(lo, int) and not isinstance(lo, bool):
                values["initial_nodes"] = lo
        return repack(data, values)

    @model_validator(mode="after")
    def _rules(self) -> Nodes:
        if self.max_nodes < self.min_nodes:
            raise fail(
                f"must be >= min_nodes ({self.min_nodes}): {self.max_nodes}", sub="max_nodes"
            )
        if not self.min_nodes <= self.initial_nodes <= self.max_nodes:
            raise fail(
                f"must be within min_nodes..max_nodes ({self.min_nodes}..{self.max_nodes}): "
                f"{shown(self.initial_nodes)}",
                sub="initial_nodes",
            )
        return self
