"""The nodes under the replicas: placement, the cluster autoscaler and headroom pods, as pure state.

No simpy, no randomness: the simulator (or the local deployment) calls a `Cluster` at its
coarse events, hands it the sampled times (node provisioning, image pull) and gets back when
each replica may begin its cold start. The rules, and the sources they follow
(docs/autoscalers.md §4):

- **Pods are alike.** Every pod requests `service.cpu` and `service.memory_gb`, so a node holds
  `pods_per_node = min(floor(node cpu / pod cpu), floor(node memory / pod memory), max_pods)`
  of them: placement is slot counting, exact for one workload on its own node pool.
- **Placement** (kube-scheduler): a new replica goes to a Ready node with a free slot; among
  several, the one with the most free slots (the default `LeastAllocated` scoring spreads
  pods), the oldest on ties. If no node has a free slot but one holds a headroom pod, the
  replica preempts it at once (the placeholder's priority is lower). Otherwise it is Pending.
- **Headroom pods** (the cluster-autoscaler FAQ's over-provisioning pattern): low-priority
  pause pods sized like a replica, `headroom_pods` of them. A preempted one goes Pending and,
  being above the autoscaler's expendable-priority cutoff, triggers a node like any pod.
- **Scale-up**: every `scan_interval_s` the cluster autoscaler counts the Pending pods, takes
  off the free slots of nodes already provisioning, and adds
  `ceil(rest / pods_per_node)` nodes (its estimator bin-packs alike pods onto template nodes),
  up to `max_nodes`. A node is Ready `provision_s` after it was added.
- **Image pull**: the first pod placed on a node pulls the image (`image_pull_s`); pods placed
  while it pulls wait for the same pull; later pods find it cached. Nodes present at the start
  (`initial_nodes`) have the image (the deployment ran there before).
- **Scale-down** (cluster-autoscaler defaults): a Ready node is unneeded while its requested
  share of cpu and memory is below `scale_down_utilization_threshold` and its pods fit on the
  other Ready nodes' free slots. After `scale_down_unneeded_s` unneeded, and no sooner than
  `scale_down_delay_after_add_s` after the last scale-up, it is removed (its headroom pods move
  to the other nodes), never below `min_nodes`. ASSUMPTION (`SCALE_DOWN_MOVES_REPLICAS`): a
  node that runs a replica is kept; planner does not evict serving replicas to consolidate.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = [
    "SCALE_DOWN_MOVES_REPLICAS",
    "Cluster",
    "Node",
    "Placement",
    "pod_share",
    "pods_per_node",
]

SCALE_DOWN_MOVES_REPLICAS = False
"""ASSUMPTION: the cluster autoscaler never removes a node that runs a serving replica."""

_EPS = 1e-9  # seconds: a node added this long ago counts as added now


def pod_share(
    *, node_cpu: float, node_memory_gb: float, pod_cpu: float, pod_memory_gb: float
) -> float:
    """The larger of the pod's cpu and memory requests as a share of one node's allocatable."""
    return max(pod_cpu / node_cpu, pod_memory_gb / node_memory_gb)


def pods_per_node(
    *, node_cpu: float, node_memory_gb: float, max_pods: int, pod_cpu: float, pod_memory_gb: float
) -> int:
    """How many alike pods fit on one node: the tightest of cpu, memory and the pod limit."""
    fits = [max_pods]
    if pod_cpu > 0:
        fits.append(math.floor(node_cpu / pod_cpu + 1e-9))
    if pod_memory_gb > 0:
        fits.append(math.floor(node_memory_gb / pod_memory_gb + 1e-9))
    return max(0, min(fits))


@dataclass(slots=True)
class Node:
    """One VM of the pool: when it was added and became Ready, and what runs on it."""

    node_id: int
    added_s: float
    ready_s: float  # when it is (or will be) Ready
    replicas: set[int] = field(default_factory=set)
    headroom: int = 0
    image_ready_s: float | None = None  # None: the image was never pulled here
    unneeded_since_s: float | None = None

    def used(self) -> int:
        """Slots taken by replicas and headroom pods."""
        return len(self.replicas) + self.headroom


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a replica landed and when its cold start may begin (after any image pull).

    It also carries its node's added and Ready times (fixed when the node is added), so that a
    replica's phases can be split from its placement alone, after the node is gone.
    """

    replica: int
    node_id: int
    placed_s: float
    start_s: float  # placed_s, or when the node's image pull ends
    node_added_s: float
    node_ready_s: float


class Cluster:
    """Nodes, Pending pods and the cluster autoscaler's two loops (see the module docstring)."""

    def __init__(
        self,
        *,
        slots_per_node: int,
        pod_share: float | None = None,
        min_nodes: int,
        max_nodes: int,
        initial_nodes: int,
        headroom_pods: int = 0,
        scale_down_unneeded_s: float = 600.0,
        scale_down_delay_after_add_s: float = 600.0,
        scale_down_utilization_threshold: float = 0.5,
    ) -> None:
        if slots_per_node < 1:
            raise ValueError(f"slots_per_node must be >= 1: {slots_per_node}")
        self.slots_per_node = slots_per_node
        # The share of a node's allocatable cpu or memory (whichever is larger) one pod requests.
        self.pod_share = 1.0 / slots_per_node if pod_share is None else pod_share
        self.min_nodes = min_nodes
        self.max_nodes = max_nodes
        self.unneeded_s = scale_down_unneeded_s
        self.delay_after_add_s = scale_down_delay_after_add_s
        self.threshold = scale_down_utilization_threshold
        self.nodes: list[Node] = []
        self.pending: deque[int] = deque()  # replica ids, in the order they were requested
        self.pending_headroom = 0
        self._next_node = 0
        self._last_add_s = -math.inf
        self._where: dict[int, Node] = {}
        for _ in range(initial_nodes):
            node = self._add_node(0.0, 0.0)
            node.image_ready_s = 0.0
        self._last_add_s = -math.inf  # the initial nodes are not a scale-up
        for _ in range(headroom_pods):
            self._place_headroom(0.0)

    # ------------------------------------------------------------------ what the model reads

    def ready_nodes(self, now: float) -> int:
        """Nodes Ready at `now`."""
        return sum(1 for n in self.nodes if n.ready_s <= now)

    def provisioning_nodes(self, now: float) -> int:
        """Nodes added but not Ready yet at `now`."""
        return sum(1 for n in self.nodes if n.ready_s > now)

    def pending_pods(self) -> int:
        """Pending replicas plus Pending headroom pods."""
        return len(self.pending) + self.pending_headroom

    def next_ready_s(self, now: float) -> float:
        """When the next provisioning node becomes Ready (inf if none)."""
        return min((n.ready_s for n in self.nodes if n.ready_s > now), default=math.inf)

    # ------------------------------------------------------------------ replicas

    def request(self, replica: int, now: float, pull_s: Callable[[], float]) -> Placement | None:
        """Place a new replica now, preempting a headroom pod if needed; None: it is Pending."""
        node = self._free_node(now) or self._preemptible_node(now)
        if node is None:
            self.pending.append(replica)
            return None
        if node.used() >= self.slots_per_node:
            node.headroom -= 1
            self.pending_headroom += 1
        return self._put(replica, node, now, pull_s)

    def cancel(self, replica: int) -> bool:
        """Forget a Pending replica (scaled away before it had a node); False if it had one."""
        try:
            self.pending.remove(replica)
        except ValueError:
            return False
        return True

    def release(self, replica: int, now: float, pull_s: Callable[[], float]) -> list[Placement]:
        """A replica left its node: its slot goes to the oldest Pending replica or headroom pod."""
        node = self._where.pop(replica, None)
        if node is None:
            self.cancel(replica)
            return []
        node.replicas.discard(replica)
        return self._fill(now, pull_s)

    def node_ready(self, now: float, pull_s: Callable[[], float]) -> list[Placement]:
        """Nodes that became Ready by `now` take the Pending pods, oldest first."""
        return self._fill(now, pull_s)

    # ------------------------------------------------------------------ the cluster autoscaler

    def scan(self, now: float, provision_s: Callable[[], float]) -> list[Node]:
        """One cluster-autoscaler loop: add nodes for Pending pods, remove unneeded ones."""
        added: list[Node] = []
        upcoming = sum(self.slots_per_node - n.used() for n in self.nodes if n.ready_s > now)
        want = math.ceil(max(0, self.pending_pods() - upcoming) / self.slots_per_node)
        room = self.max_nodes - len(self.nodes)
        for _ in range(max(0, min(want, room))):
            added.append(self._add_node(now, now + provision_s()))
        if not added:
            self._scale_down(now)
        return added

    # ------------------------------------------------------------------ internals

    def _add_node(self, now: float, ready_s: float) -> Node:
        node = Node(node_id=self._next_node, added_s=now, ready_s=ready_s)
        self._next_node += 1
        self.nodes.append(node)
        self._last_add_s = now
        return node

    def _free_node(self, now: float) -> Node | None:
        # The one search of every placement: Node.used() inlined, each node's count taken once.
        best: Node | None = None
        best_used = self.slots_per_node
        for n in self.nodes:  # oldest first, so ties go to the oldest
            used = len(n.replicas) + n.headroom
            if used < best_used and n.ready_s <= now:
                best, best_used = n, used
        return best

    def _preemptible_node(self, now: float) -> Node | None:
        return next((n for n in self.nodes if n.ready_s <= now and n.headroom > 0), None)

    def _put(self, replica: int, node: Node, now: float, pull_s: Callable[[], float]) -> Placement:
        node.replicas.add(replica)
        node.unneeded_since_s = None
        self._where[replica] = node
        if node.image_ready_s is None:
            node.image_ready_s = now + pull_s()
        return Placement(
            replica,
            node.node_id,
            now,
            max(now, node.image_ready_s),
            node_added_s=node.added_s,
            node_ready_s=node.ready_s,
        )

    def _place_headroom(self, now: float) -> bool:
        node = self._free_node(now)
        if node is None:
            self.pending_headroom += 1
            return False
        node.headroom += 1
        return True

    def _fill(self, now: float, pull_s: Callable[[], float]) -> list[Placement]:
        placed: list[Placement] = []
        while self.pending:
            node = self._free_node(now)
            if node is None:
                break
            placed.append(self._put(self.pending.popleft(), node, now, pull_s))
        while self.pending_headroom:
            node = self._free_node(now)
            if node is None:
                break
            self.pending_headroom -= 1
            node.headroom += 1
        return placed

    def _scale_down(self, now: float) -> None:
        if now - self._last_add_s < self.delay_after_add_s - _EPS:
            return
        for node in list(self.nodes):
            if len(self.nodes) <= self.min_nodes:
                return
            if node.ready_s > now or not self._unneeded(node, now):
                node.unneeded_since_s = None
                continue
            if node.unneeded_since_s is None:
                node.unneeded_since_s = now
            if now - node.unneeded_since_s >= self.unneeded_s - _EPS:
                self.nodes.remove(node)
                moved, node.headroom = node.headroom, 0
                for _ in range(moved):
                    self._place_headroom(now)

    def _unneeded(self, node: Node, now: float) -> bool:
        if node.replicas and not SCALE_DOWN_MOVES_REPLICAS:
            return False
        if node.used() * self.pod_share >= self.threshold - _EPS:
            return False
        elsewhere = sum(
            self.slots_per_node - n.used() for n in self.nodes if n is not node and n.ready_s <= now
        )
        return node.used() <= elsewhere
