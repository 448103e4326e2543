"""The node layer inside the simulation: a `planner.nodes.Cluster` driven by SimPy events.

The Model asks `NodeLayer` where a requested replica goes (`place`), tells it when a replica
leaves (`release`), and runs its cluster-autoscaler loop (`scan_loop`). A replica waits for a
node (Pending), for the node's provisioning, then for the image pull; then its cold start
runs. Each replica's phases are recorded: `phases` maps a replica id to (requested_s,
placed_s, start_s), with `node_s` the part of the wait spent on a node still provisioning.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Iterable, Sequence
from typing import Any, TypeVar

import numpy as np
import simpy
from simpy.events import NORMAL, URGENT

from planner.nodes import Cluster, Placement, pod_share, pods_per_node
from planner.scenario_nodes import Nodes
from planner.scenario_types import Scenario, Service

__all__ = [
    "NODE_REPLICA_COLUMNS",
    "NODE_SUMMARY_COLUMNS",
    "NODE_TIMELINE_COLUMNS",
    "PHASES",
    "NodeLayer",
    "build_cluster",
    "phase_stats",
    "slots_per_node",
    "split_phases",
]

_T = TypeVar("_T", float, None)

PHASES = ("node_wait", "node_provisioning", "image_pull", "cold_start")
"""The phases of a replica's time to ready, in order (summary keys `<phase>_mean_s`/`_max_s`)."""
NODE_SUMMARY_COLUMNS = (
    "peak_nodes",
    "node_seconds",
    "cost",
    *(f"{p}_{s}" for p in PHASES for s in ("mean_s", "max_s")),
)
NODE_TIMELINE_COLUMNS = ("nodes_ready", "nodes_provisioning", "pods_pending")
NODE_REPLICA_COLUMNS = ("replica", "requested_s", "ready_s", *(f"{p}_s" for p in PHASES))
"""One row per replica that became ready: when it was requested and ready, and its phases."""


def _sizes(nodes: Nodes, service: Service) -> dict[str, float]:
    return {
        "node_cpu": nodes.cpu,
        "node_memory_gb": nodes.memory_gb,
        "pod_cpu": service.cpu,
        "pod_memory_gb": service.memory_gb,
    }


def slots_per_node(nodes: Nodes, service: Service) -> int:
    """How many replicas of `service`'s size one node of the pool holds (`pods_per_node`)."""
    return pods_per_node(max_pods=nodes.max_pods, **_sizes(nodes, service))


def build_cluster(nodes: Nodes, service: Service) -> Cluster:
    """The `Cluster` of a `nodes:` block for pods of `service`'s size (simulator and serve)."""
    a = nodes.autoscaler
    return Cluster(
        slots_per_node=slots_per_node(nodes, service),
        pod_share=pod_share(**_sizes(nodes, service)),
        min_nodes=nodes.min_nodes,
        max_nodes=nodes.max_nodes,
        initial_nodes=nodes.initial_nodes,
        headroom_pods=nodes.headroom_pods,
        scale_down_unneeded_s=a.scale_down_unneeded_s,
        scale_down_delay_after_add_s=a.scale_down_delay_after_add_s,
        scale_down_utilization_threshold=a.scale_down_utilization_threshold,
    )


def split_phases(
    *, requested_s: float, placement: Placement, ready_s: float
) -> tuple[float, float, float, float]:
    """One replica's time to ready as (waiting for a node, node provisioning, image pull, cold
    start) seconds, in the order of PHASES.

    The provisioning part is the time, within its Pending wait, that the node it landed on was
    being provisioned (its added and Ready times come with the placement); the rest of the wait
    is "waiting".
    """
    pending = placement.placed_s - requested_s
    node_added_s, node_ready_s = placement.node_added_s, placement.node_ready_s
    provisioning = min(pending, max(0.0, node_ready_s - max(requested_s, node_added_s)))
    return (
        pending - provisioning,
        provisioning,
        placement.start_s - placement.placed_s,
        ready_s - placement.start_s,
    )


def phase_stats(rows: Iterable[Sequence[float]], *, empty: _T) -> dict[str, float | _T]:
    """Each phase's mean and max over `rows` (one per replica, in the order of PHASES), as the
    summary keys `<phase>_mean_s` and `<phase>_max_s`; `empty` for both when there is no row
    (the simulator's summary says 0.0, the local deployment's /stats None)."""
    rows = list(rows)
    out: dict[str, float | _T] = {}
    for i, name in enumerate(PHASES):
        values = [r[i] for r in rows]
        out[f"{name}_mean_s"] = sum(values) / len(values) if values else empty
        out[f"{name}_max_s"] = max(values) if values else empty
    return out


class NodeLayer:
    """The cluster, its two sampled times (node provisioning, image pull) and waiting replicas."""

    def __init__(self, scenario: Scenario, env: simpy.Environment, rng: np.random.Generator):
        nodes = scenario.nodes
        assert nodes is not None
        self._env = env
        self._rng = rng
        self._provision = nodes.provision_s
        self._pull = nodes.image_pull_s
        self.scan_interval_s = float(nodes.autoscaler.scan_interval_s)
        self.cluster = build_cluster(nodes, scenario.service)
        self._waiting: dict[int, simpy.Event] = {}
        self.requested_s: dict[int, float] = {}
        self.placements: dict[int, Placement] = {}
        self.ready_s: dict[int, float] = {}
        self._price_per_hour = nodes.price_per_hour
        self.peak_nodes = len(self.cluster.nodes)
        self._node_area, self._t_area = 0.0, 0.0
        self._node_area_at_warmup = 0.0
        self.timeline: list[tuple[int, int, int]] = []
        self._node_changes = 0  # scans that added or removed nodes, so far
        self._counted_changes = -1
        self._counts = (0, 0)  # (nodes_ready, nodes_provisioning) as last counted
        self._counts_until_s = -math.inf  # ... valid until this time (the next node ready)

    def _sample_pull(self) -> float:
        return float(self._pull.sample(self._rng, 1)[0])

    def _sample_provision(self) -> float:
        return float(self._provision.sample(self._rng, 1)[0])

    def _touch(self, now: float) -> None:
        self._node_area += len(self.cluster.nodes) * (now - self._t_area)
        self._t_area = now

    def node_seconds(self, now: float) -> float:
        """Node-seconds (nodes existing, provisioning or Ready) from 0 to `now`."""
        return self._node_area + len(self.cluster.nodes) * (now - self._t_area)

    def place_initial(self, rid: int) -> bool:
        """Place an initial replica at t = 0; False: it is Pending (`wait_for_node` waits)."""
        self.requested_s[rid] = 0.0
        placed = self.cluster.request(rid, 0.0, self._sample_pull)
        if placed is None:
            return False
        self.placements[rid] = placed
        self.ready_s[rid] = placed.start_s
        return True

    def wait_for_node(self, rid: int) -> Generator[simpy.Event, Any, float]:
        """Place replica `rid` now or wait for a node; returns when its cold start may begin."""
        now = self._env.now
        if rid in self.requested_s:  # an initial replica already Pending since t = 0
            placed = None
        else:
            self.requested_s[rid] = now
            placed = self.cluster.request(rid, now, self._sample_pull)
        if placed is None:
            event = self._env.event()
            self._waiting[rid] = event
            placed = yield event
        self.placements[rid] = placed
        return placed.start_s

    def release(self, rid: int, t: float) -> None:
        """Replica `rid` left (drained or cancelled): free its slot; Pending ones may take it."""
        self._waiting.pop(rid, None)
        self._wake(self.cluster.release(rid, t, self._sample_pull))

    def _wake(self, placed: list[Placement]) -> None:
        for p in placed:
            event = self._waiting.pop(p.replica, None)
            if event is not None:
                event.succeed(p)

    def scan_loop(self, until_s: float) -> Generator[simpy.Event, Any, None]:
        """The cluster autoscaler: every scan interval until `until_s`, add or remove nodes."""
        while self._env.now < until_s:
            now = self._env.now
            self._touch(now)
            before = len(self.cluster.nodes)
            added = self.cluster.scan(now, self._sample_provision)
            if added or len(self.cluster.nodes) != before:
                self._node_changes += 1
            self.peak_nodes = max(self.peak_nodes, len(self.cluster.nodes))
            for node in added:
                self._env.process(self._ready_at(node.ready_s))
            yield self._env.timeout(self.scan_interval_s)

    def _ready_at(self, ready_s: float) -> Generator[simpy.Event, Any, None]:
        yield self._env.timeout(max(0.0, ready_s - self._env.now))
        self._wake(self.cluster.node_ready(self._env.now, self._sample_pull))

    def phases(self) -> dict[int, tuple[float, float, float, float]]:
        """Per replica that became ready: (waiting for a node, node provisioning, image pull,
        cold start) seconds. The provisioning part is the time, within its Pending wait, that
        the node it landed on was being provisioned; the rest of the wait is "waiting"."""
        out: dict[int, tuple[float, float, float, float]] = {}
        for rid, ready in self.ready_s.items():
            out[rid] = split_phases(
                requested_s=self.requested_s[rid], placement=self.placements[rid], ready_s=ready
            )
        return out

    def replica_rows(
        self, phases: dict[int, tuple[float, float, float, float]] | None = None
    ) -> list[tuple[int, float, float, float, float, float, float]]:
        """Rows of NODE_REPLICA_COLUMNS, in replica order: the per-replica view of `phases`
        (computed here unless the caller already has them)."""
        split = self.phases() if phases is None else phases
        return [
            (rid, self.requested_s[rid], self.ready_s[rid], *row)
            for rid, row in sorted(split.items())
        ]

    def stats(
        self,
        warmup_s: float,
        duration_s: float,
        phases: dict[int, tuple[float, float, float, float]] | None = None,
    ) -> dict[str, float]:
        """The summary keys of the node layer: peak_nodes, node_seconds over the statistics
        window, cost (when a price is given) and each phase's mean and max time to ready
        (0.0 when no replica became ready), over `phases` (computed here unless given)."""
        seconds = self.node_seconds(duration_s) - self._node_area_at_warmup
        out: dict[str, float] = {"peak_nodes": self.peak_nodes, "node_seconds": seconds}
        if self._price_per_hour is not None:
            out["cost"] = seconds / 3600.0 * self._price_per_hour
        split = self.phases() if phases is None else phases
        out.update(phase_stats(split.values(), empty=0.0))
        return out

    def start_sampling(self, n_sec: int) -> None:
        """Append one (nodes_ready, nodes_provisioning, pods_pending) row per whole second.

        A row is read at the instant its one event comes up, after the coarse events queued
        before it (the scan and the control tick of that second, and the replicas it started).
        """
        # NOTE: one reused event whose callback reads the row and queues the event again,
        # rather than a SimPy process: the same place in the event queue as a process that
        # yields `timeout(1)` (its first run is the process start: urgent, at t = 0), so the
        # rows are the same, without a generator to resume every second.
        env, event = self._env, simpy.Event(self._env)
        event._ok, event._value = True, None  # a triggered event, as a Timeout is

        left = [n_sec]

        def on_second(_: simpy.Event) -> None:
            self._sample(env.now)
            left[0] -= 1
            if left[0] > 0:
                event.callbacks = [on_second]
                env.schedule(event, NORMAL, 1.0)

        if n_sec > 0:
            event.callbacks = [on_second]
            env.schedule(event, URGENT, 0.0)

    def _sample(self, now: float) -> None:
        # NOTE: the node counts change only when a scan adds or removes nodes or when a
        # provisioning node's ready time passes, so they are counted again only then, not at
        # every second. The Pending count is Cluster.pending_pods, inlined.
        c = self.cluster
        if now >= self._counts_until_s or self._node_changes != self._counted_changes:
            self._counts = (c.ready_nodes(now), c.provisioning_nodes(now))
            self._counts_until_s = c.next_ready_s(now)
            self._counted_changes = self._node_changes
        ready, provisioning = self._counts
        self.timeline.append((ready, provisioning, len(c.pending) + c.pending_headroom))

    def mark_warmup(self, warmup_s: float) -> Generator[simpy.Event, Any, None]:
        """Read the node-seconds integral at warmup_s (the start of the statistics window)."""
        yield self._env.timeout(warmup_s)
        self._node_area_at_warmup = self.node_seconds(self._env.now)
