"""The node budget of a local deployment: the simulator's `Cluster`, on the monotonic clock.

With a `nodes:` block, a new replica of `planner serve` first asks for a node, exactly as in the
simulation: the very `planner.nodes.Cluster` that `planner.model_nodes.NodeLayer` drives (built
by the same `build_cluster`), with the same rules (docs/autoscalers.md §4). Times are seconds
since the deployment started (`time.monotonic()` minus the supervisor's start).

- A replica placed on a Ready node starts at once, after the image pull if it is the first pod
  on that node (the supervisor sleeps it before the process starts).
- Otherwise it is Pending. The cluster-autoscaler loop (`run`) calls `Cluster.scan` every
  `nodes.autoscaler.scan_interval_s` (at 0, one interval, two intervals ... like the simulator's
  `scan_loop`) with a sampled `provision_s`, and `Cluster.node_ready` when a node's ready time
  passes; the Pending replicas then get their node, oldest first.
- A replica stopped or scaled away releases its slot (`Cluster.release`, which also forgets a
  Pending one); headroom pods are Cluster state only: no process stands for them.

The sampled times come from an explicit `rng` (a stream of its own, apart from the cold starts').
`ServeNodes.tick(now)` is the whole clock-driven logic, free of asyncio and of the real clock,
so that tests drive it with a fake one; `run` only sleeps until the next scan or node-ready time.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from planner.model_nodes import PHASES, build_cluster, phase_stats, split_phases

if TYPE_CHECKING:
    import numpy as np

    from planner.nodes import Placement
    from planner.scenario import Service
    from planner.scenario_nodes import Nodes

__all__ = ["ServeNodes"]

_EPS_S = 1e-9  # a scan due this close to now is due now


class ServeNodes:
    """The cluster under a local deployment, its cluster-autoscaler loop and replica phases.

    `t0` is the deployment's start on `clock` (default: now); tests pass a fake clock.
    """

    def __init__(
        self,
        nodes: Nodes,
        service: Service,
        rng: np.random.Generator,
        *,
        t0: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.spec = nodes
        self.cluster = build_cluster(nodes, service)
        self._rng = rng
        self._clock = clock
        self._t0 = clock() if t0 is None else t0
        self.scan_interval_s = float(nodes.autoscaler.scan_interval_s)
        self._next_scan_s = 0.0
        self._last_tick_s = -math.inf
        self.peak_nodes = len(self.cluster.nodes)
        self.requested_s: dict[int, float] = {}
        self.placements: dict[int, Placement] = {}
        self.ready_s: dict[int, float] = {}
        self._waiting: dict[int, asyncio.Future[Placement]] = {}

    def now(self) -> float:
        """Seconds since the deployment started."""
        return self._clock() - self._t0

    def _sample_pull(self) -> float:
        return float(self.spec.image_pull_s.sample(self._rng, 1)[0])

    def _sample_provision(self) -> float:
        return float(self.spec.provision_s.sample(self._rng, 1)[0])

    # ------------------------------------------------------------------ the clock-free core

    def request(self, rid: int, now: float) -> Placement | None:
        """A new replica asks for a node at `now`: its placement, or None (it is Pending)."""
        self.requested_s[rid] = now
        placed = self.cluster.request(rid, now, self._sample_pull)
        if placed is not None:
            self.placements[rid] = placed
        return placed

    def release(self, rid: int, now: float) -> list[Placement]:
        """Replica `rid` is gone (stopped, scaled away, Pending or not): free its slot.

        Returns the Pending replicas that took the slot (they are woken too).
        """
        placed = self._record(self.cluster.release(rid, now, self._sample_pull))
        self._wake(placed)
        return placed

    def mark_ready(self, rid: int, now: float) -> None:
        """Replica `rid` reported ready (its first start: restarts stay on their node)."""
        self.ready_s.setdefault(rid, now)

    def tick(self, now: float) -> list[Placement]:
        """Everything due by `now`: nodes that became Ready take Pending pods; a due scan runs.

        Returns the replicas placed (they are woken too). A scan late by more than an interval
        (a busy machine) runs once, and the next one keeps the schedule.
        """
        placed: list[Placement] = []
        if self._became_ready(now):
            placed += self.cluster.node_ready(now, self._sample_pull)
        if now >= self._next_scan_s - _EPS_S:
            self.cluster.scan(now, self._sample_provision)
            self.peak_nodes = max(self.peak_nodes, len(self.cluster.nodes))
            behind = math.floor((now - self._next_scan_s) / self.scan_interval_s + _EPS_S)
            self._next_scan_s += (behind + 1) * self.scan_interval_s
            if self._became_ready(now):  # a node provisioned in no time
                placed += self.cluster.node_ready(now, self._sample_pull)
        self._last_tick_s = now
        placed = self._record(placed)
        self._wake(placed)
        return placed

    def next_event_s(self, now: float) -> float:
        """When `tick` next has something to do: the next scan or node-ready time."""
        return min(self._next_scan_s, self.cluster.next_ready_s(now))

    def _became_ready(self, now: float) -> bool:
        return any(self._last_tick_s < n.ready_s <= now for n in self.cluster.nodes)

    def _record(self, placed: list[Placement]) -> list[Placement]:
        for p in placed:
            self.placements[p.replica] = p
        return placed

    # ------------------------------------------------------------------ asyncio

    async def wait_for_node(self, rid: int) -> Placement:
        """Place replica `rid` now or wait (Pending) until the cluster gives it a node."""
        placed = self.request(rid, self.now())
        if placed is not None:
            return placed
        future: asyncio.Future[Placement] = asyncio.get_running_loop().create_future()
        self._waiting[rid] = future
        try:
            return await future
        finally:
            self._waiting.pop(rid, None)

    def _wake(self, placed: list[Placement]) -> None:
        for p in placed:
            future = self._waiting.pop(p.replica, None)
            if future is not None and not future.done():
                future.set_result(p)

    async def run(self) -> None:
        """The cluster-autoscaler loop: tick, then sleep until the next thing is due."""
        while True:
            now = self.now()
            self.tick(now)
            await asyncio.sleep(max(0.0, self.next_event_s(now) - self.now()))

    # ------------------------------------------------------------------ /stats

    def phases(self, rid: int) -> dict[str, float | None]:
        """Replica `rid`'s time to ready by phase, seconds (None: that phase is not over)."""
        out: dict[str, float | None] = {f"{name}_s": None for name in PHASES}
        placement = self.placements.get(rid)
        if placement is None:
            return out
        ready = self.ready_s.get(rid)
        split = split_phases(
            requested_s=self.requested_s[rid],
            placement=placement,
            ready_s=placement.start_s if ready is None else ready,
        )
        for name, value in zip(PHASES, split, strict=True):
            out[f"{name}_s"] = round(value, 6)
        if ready is None:
            out["cold_start_s"] = None
        return out

    def replica_doc(self, rid: int) -> dict[str, Any]:
        """What /stats adds to one replica: its node and phases."""
        placement = self.placements.get(rid)
        return {
            "node": None if placement is None else placement.node_id,
            "requested_s": _round(self.requested_s.get(rid)),
            "ready_at_s": _round(self.ready_s.get(rid)),
            "phases": self.phases(rid),
        }

    def ready_rows(self) -> list[dict[str, Any]]:
        """One row per replica that became ready, in the order they did, whether it still runs
        or was stopped or scaled away since: its id, node, request and ready times, and phases.
        """
        return [
            {
                "id": rid,
                "node": self.placements[rid].node_id,
                "requested_s": _round(self.requested_s[rid]),
                "ready_at_s": _round(self.ready_s[rid]),
                **self.phases(rid),
            }
            for rid in self.ready_s
            if rid in self.placements
        ]

    def summary(self, now: float) -> dict[str, Any]:
        """The /stats `nodes` document: counts, each node, each phase's mean and max, and the
        rows they are taken over (`ready_replicas`, one per replica that became ready)."""
        c = self.cluster
        done = self.ready_rows()
        rows = [[float(d[f"{name}_s"] or 0.0) for name in PHASES] for d in done]
        phases = {k: _round(v) for k, v in phase_stats(rows, empty=None).items()}
        return {
            "vm_size": self.spec.vm_size,
            "nodes_ready": c.ready_nodes(now),
            "nodes_provisioning": c.provisioning_nodes(now),
            "pods_pending": c.pending_pods(),
            "replicas_pending": len(c.pending),
            "headroom_pods": sum(n.headroom for n in c.nodes),
            "peak_nodes": self.peak_nodes,
            "slots_per_node": c.slots_per_node,
            "node_list": [
                {
                    "id": n.node_id,
                    "added_s": round(n.added_s, 6),
                    "ready_s": round(n.ready_s, 6),
                    "ready": n.ready_s <= now,
                    "replicas": sorted(n.replicas),
                    "headroom": n.headroom,
                }
                for n in c.nodes
            ],
            "phases": phases,
            "ready_replicas": done,
        }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 6)
