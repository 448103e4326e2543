"""The pure node layer: placement, headroom preemption, cluster-autoscaler scale-up and down."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from planner.nodes import Cluster, pod_share, pods_per_node


def const(value: float) -> Callable[[], float]:
    """A sampler that always gives `value` (the model passes numpy-backed ones)."""
    return lambda: value


PULL = const(40.0)
PROVISION = const(180.0)


def make(**kw: float) -> Cluster:
    """A pool of 4-slot nodes, 1..20 of them, 2 at the start, cluster-autoscaler defaults."""
    args = {"slots_per_node": 4, "min_nodes": 1, "max_nodes": 20, "initial_nodes": 2}
    args.update(kw)
    return Cluster(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("node", "pod", "expected"),
    [
        ((4, 16, 30), (1, 2), 4),  # cpu binds: 4 cores / 1
        ((4, 16, 30), (0.5, 4), 4),  # memory binds: 16 GB / 4
        ((64, 256, 30), (1, 1), 30),  # max_pods binds
        ((4, 16, 30), (0.7, 2), 5),  # floor(4 / 0.7) = 5
        ((4, 16, 30), (8, 2), 0),  # a pod larger than the node
    ],
)
def test_pods_per_node_is_the_tightest_resource(node: tuple, pod: tuple, expected: int) -> None:
    """min(floor(cpu/cpu), floor(mem/mem), max_pods), by hand."""
    got = pods_per_node(
        node_cpu=node[0],
        node_memory_gb=node[1],
        max_pods=node[2],
        pod_cpu=pod[0],
        pod_memory_gb=pod[1],
    )
    assert got == expected


def test_pod_share_is_the_larger_request_share() -> None:
    """1 core of 4 is 25 %, 2 GB of 16 is 12.5 %: the share is 25 %."""
    assert pod_share(node_cpu=4, node_memory_gb=16, pod_cpu=1, pod_memory_gb=2) == 0.25


def test_fits_on_warm_nodes_then_pends_then_spreads() -> None:
    """8 slots on 2 cached nodes: 8 replicas start at once, spread; the 9th is Pending."""
    c = make()
    placed = [c.request(r, 5.0, PULL) for r in range(8)]
    assert all(p is not None and p.start_s == 5.0 for p in placed)  # image cached: no pull
    assert [p.node_id for p in placed if p] == [0, 1, 0, 1, 0, 1, 0, 1]  # least allocated
    assert c.request(8, 5.0, PULL) is None
    assert c.pending_pods() == 1


def test_scan_adds_nodes_for_pending_pods_and_pulls_once_per_node() -> None:
    """9 pending on full nodes: ceil(9/4) = 3 nodes; Ready at +180 s; each pulls once (40 s)."""
    c = make()
    for r in range(8):
        c.request(r, 0.0, PULL)
    for r in range(8, 17):
        assert c.request(r, 1.0, PULL) is None
    added = c.scan(10.0, PROVISION)
    assert [n.ready_s for n in added] == [190.0, 190.0, 190.0]
    assert c.scan(20.0, PROVISION) == []  # the provisioning nodes already hold them
    assert c.node_ready(189.0, PULL) == []
    placed = c.node_ready(190.0, PULL)
    assert [p.replica for p in placed] == list(range(8, 17))
    # every new node pulls at 190 s; pods placed there while it pulls wait for the same pull
    assert {p.start_s for p in placed} == {230.0}
    assert c.provisioning_nodes(190.0) == 0 and c.ready_nodes(190.0) == 5


def test_max_nodes_caps_the_scale_up() -> None:
    """20 pending with room for 1 more node: one node is added and 16 stay Pending."""
    c = make(max_nodes=3)
    for r in range(8):
        c.request(r, 0.0, PULL)
    for r in range(8, 28):
        c.request(r, 0.0, PULL)
    assert len(c.scan(10.0, PROVISION)) == 1
    c.node_ready(190.0, PULL)
    assert c.pending_pods() == 16


def test_headroom_pods_are_preempted_at_once_and_go_pending() -> None:
    """2 nodes, 2 headroom pods: replicas 7 and 8 take their slots now; the placeholders pend."""
    c = make(headroom_pods=2)
    assert sum(n.headroom for n in c.nodes) == 2
    starts = [c.request(r, 3.0, PULL) for r in range(8)]
    assert all(p is not None and p.start_s == 3.0 for p in starts)
    assert c.pending_headroom == 2 and not c.pending
    added = c.scan(10.0, PROVISION)  # the preempted placeholders trigger a node
    assert len(added) == 1
    c.node_ready(190.0, PULL)
    assert c.pending_headroom == 0 and added[0].headroom == 2


def test_release_gives_the_slot_to_the_oldest_pending() -> None:
    """A replica leaving a full pool lets the first Pending replica start after the pull."""
    c = make(initial_nodes=1)
    for r in range(4):
        c.request(r, 0.0, PULL)
    c.request(4, 1.0, PULL)
    c.request(5, 2.0, PULL)
    assert c.cancel(5) and not c.cancel(0)
    placed = c.release(2, 50.0, PULL)
    assert [(p.replica, p.start_s) for p in placed] == [(4, 50.0)]


def test_scale_down_removes_an_empty_node_after_the_delays() -> None:
    """An empty node goes 600 s after it became unneeded, not sooner, and never below min."""
    c = make(initial_nodes=3, min_nodes=2)
    for r in range(4):
        c.request(r, 0.0, PULL)  # least allocated spreads them 2 / 1 / 1
    on_node2 = [r for r, n in c._where.items() if n.node_id == 2]
    for r in on_node2:
        c.release(r, 1.0, PULL)
    ticks = itertools.count(10.0, 10.0)
    times = [next(ticks) for _ in range(70)]
    removed_at = None
    for t in times:
        before = len(c.nodes)
        c.scan(t, PROVISION)
        if len(c.nodes) < before:
            removed_at = t
            break
    assert removed_at == 610.0  # unneeded from the 10 s scan, removed 600 s later
    for t in times[60:]:
        c.scan(t + 1000.0, PROVISION)
    assert len(c.nodes) == 2  # min_nodes holds although node 1 is under the threshold


def test_no_scale_down_soon_after_a_scale_up() -> None:
    """scale_down_delay_after_add_s: nothing is removed within 600 s of the last node added."""
    c = make(initial_nodes=2, scale_down_unneeded_s=0.0)
    for r in range(9):
        c.request(r, 0.0, PULL)
    c.scan(10.0, PROVISION)  # adds node 2 for replica 8
    c.node_ready(190.0, PULL)
    c.release(8, 200.0, PULL)  # node 2 is empty again
    c.scan(300.0, PROVISION)
    assert len(c.nodes) == 3
    c.scan(610.0, PROVISION)
    assert len(c.nodes) == 2


def test_a_node_running_a_replica_is_kept() -> None:
    """A node with one replica (25 % < 50 %) is not removed: replicas are not evicted."""
    c = make(initial_nodes=2, min_nodes=0, scale_down_unneeded_s=0.0)
    c.request(0, 0.0, PULL)
    c.scan(1000.0, PROVISION)
    assert len(c.nodes) == 1 and c.nodes[0].replicas == {0}
