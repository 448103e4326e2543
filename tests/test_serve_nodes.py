"""The local deployment's node loop (`planner.serve.nodes`) on a fake clock: no sleeps.

The pool: 2-core nodes, 1-core pods, so 2 slots a node; 1 initial node; a new node is Ready 8 s
after the scan that adds it, its first pod pulls the image for 1 s; scans every second. The
times below are worked out by hand from the rules in `planner.nodes`.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from planner.scenario import scenario_from_dict
from planner.serve.config import load_serve_settings
from planner.serve.nodes import ServeNodes

NODES: dict[str, Any] = {
    "cpu": 2,
    "memory_gb": 8,
    "min_nodes": 1,
    "max_nodes": 3,
    "initial_nodes": 1,
    "provision_s": 8,
    "image_pull_s": 1,
    "autoscaler": {"scan_interval_s": 1},
}


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _nodes(clock: FakeClock | None = None, **changes: Any) -> ServeNodes:
    spec = {
        "name": "nodes",
        "duration_s": 60,
        "warmup_s": 10,
        "traffic": {"rps": 1},
        "service": {"request_time_s": 0.2, "cpu": 1, "memory_gb": 1},
        "nodes": {**NODES, **changes},
    }
    scenario = scenario_from_dict(spec)
    assert scenario.nodes is not None
    rng = np.random.default_rng(0)
    if clock is None:
        return ServeNodes(scenario.nodes, scenario.service, rng, t0=0.0)
    return ServeNodes(scenario.nodes, scenario.service, rng, t0=0.0, clock=clock)


def _run_until(nodes: ServeNodes, until_s: float, now_s: float = 0.0) -> float:
    """Tick at every due time (as `ServeNodes.run` does) up to `until_s`; the last tick time."""
    while now_s <= until_s:
        nodes.tick(now_s)
        now_s = nodes.next_event_s(now_s)
    return now_s


def test_a_replica_beyond_the_node_waits_for_a_new_node_then_the_image_pull() -> None:
    """Two fit on the initial node at once; two more wait: scan at 3, Ready at 11, pull to 12."""
    nodes = _nodes()
    nodes.tick(0.0)
    first = [nodes.request(rid, 0.0) for rid in (0, 1)]
    assert [(p.node_id, p.start_s) for p in first if p is not None] == [(0, 0.0), (0, 0.0)]
    _run_until(nodes, 2.0)
    assert nodes.request(2, 2.5) is None and nodes.request(3, 2.5) is None
    assert nodes.cluster.pending_pods() == 2
    _run_until(nodes, 3.0, now_s=3.0)  # the scan at 3 s adds one node (2 slots for 2 pods)
    assert nodes.summary(3.0)["nodes_provisioning"] == 1
    assert nodes.next_event_s(3.0) == 4.0  # the next scan comes before the node's 11 s
    _run_until(nodes, 10.5, now_s=4.0)
    assert nodes.cluster.pending_pods() == 2  # still Pending: the node is not Ready
    placed = nodes.tick(11.0)
    assert [(p.replica, p.node_id, p.placed_s, p.start_s) for p in placed] == [
        (2, 1, 11.0, 12.0),
        (3, 1, 11.0, 12.0),  # placed during the pull: it waits for the same pull
    ]
    nodes.mark_ready(2, 13.5)
    assert nodes.phases(2) == {
        "node_wait_s": 0.5,  # 2.5 to the scan at 3
        "node_provisioning_s": 8.0,
        "image_pull_s": 1.0,
        "cold_start_s": 1.5,
    }
    assert nodes.phases(3)["cold_start_s"] is None  # not ready yet
    doc = nodes.summary(13.5)
    assert (doc["nodes_ready"], doc["nodes_provisioning"], doc["pods_pending"]) == (2, 0, 0)
    assert doc["phases"]["node_provisioning_max_s"] == 8.0
    assert doc["peak_nodes"] == 2


def test_a_wrong_provisioning_time_moves_the_placement() -> None:
    """The check above can fail: with provision_s 1 the same replica is placed at 4, not 11."""
    nodes = _nodes(provision_s=1)
    _run_until(nodes, 2.0)
    for rid in range(3):
        nodes.request(rid, 2.5)
    placed = [p for t in (3.0, 4.0) for p in nodes.tick(t)]
    assert [(p.replica, p.placed_s, p.start_s) for p in placed] == [(2, 4.0, 5.0)]


def test_a_released_slot_goes_to_the_oldest_pending_replica() -> None:
    """A replica that stops hands its slot to the oldest Pending one (image cached: no pull)."""
    nodes = _nodes(max_nodes=1)
    nodes.tick(0.0)
    for rid in range(4):
        nodes.request(rid, 0.5)
    placed = nodes.release(0, 2.0)
    assert [(p.replica, p.node_id, p.start_s) for p in placed] == [(2, 0, 2.0)]
    assert list(nodes.cluster.pending) == [3]


def test_a_cancelled_pending_replica_triggers_no_node() -> None:
    """A Pending replica scaled away before the scan is forgotten: the scan adds nothing."""
    nodes = _nodes()
    nodes.tick(0.0)
    for rid in range(3):
        nodes.request(rid, 0.5)
    nodes.release(2, 0.7)
    nodes.tick(1.0)
    assert nodes.cluster.pending_pods() == 0 and len(nodes.cluster.nodes) == 1
    nodes.request(3, 1.5)
    nodes.tick(2.0)
    assert len(nodes.cluster.nodes) == 2  # and a Pending one does trigger a node


def test_a_late_scan_runs_once_and_keeps_the_schedule() -> None:
    """A tick 3.5 intervals late runs one scan; the next is due at the next whole interval."""
    nodes = _nodes()
    nodes.tick(0.0)
    nodes.tick(3.5)
    assert nodes.next_event_s(3.5) == 4.0


def test_headroom_pods_are_preempted_by_a_replica() -> None:
    """A headroom pod holds the second slot; a replica takes it at once and it goes Pending."""
    nodes = _nodes(headroom_pods=1)
    nodes.tick(0.0)
    nodes.request(0, 0.0)
    placed = nodes.request(1, 0.5)
    assert placed is not None and placed.start_s == 0.5
    assert nodes.summary(0.5)["pods_pending"] == 1  # the placeholder, which triggers a node
    nodes.tick(1.0)
    assert nodes.summary(1.0)["nodes_provisioning"] == 1


def test_wait_for_node_wakes_when_the_node_is_ready() -> None:
    """The asyncio side: a Pending replica's wait ends when a tick places it (fake clock)."""
    clock = FakeClock()
    nodes = _nodes(clock)

    async def scenario() -> tuple[bool, Any]:
        nodes.tick(0.0)
        for rid in (0, 1):
            assert (await nodes.wait_for_node(rid)).node_id == 0
        clock.t = 0.5
        waiting = asyncio.ensure_future(nodes.wait_for_node(2))
        await asyncio.sleep(0)
        nodes.tick(1.0)  # the scan adds a node, Ready at 9
        await asyncio.sleep(0)
        before = waiting.done()
        nodes.tick(9.0)
        return before, await asyncio.wait_for(waiting, 1.0)

    before, placement = asyncio.run(scenario())
    assert before is False
    assert (placement.node_id, placement.placed_s, placement.start_s) == (1, 9.0, 10.0)


def test_the_serve_config_reads_the_nodes_block(tmp_path: Any) -> None:
    """A scenario's `nodes:` reaches the local deployment; without it there is no node pool."""
    file = tmp_path / "dep.yaml"
    file.write_text(
        "deployment: {autoscaler: none}\nservice: {cpu: 1, memory_gb: 1}\n"
        "nodes: {cpu: 2, memory_gb: 8}\n"
    )
    _, service, nodes = load_serve_settings(file)
    assert nodes is not None and nodes.cpu == 2 and service.cpu == 1
    file.write_text("deployment: {autoscaler: none}\nservice: {cpu: 1}\n")
    assert load_serve_settings(file)[2] is None


def test_a_pod_larger_than_the_node_is_refused(tmp_path: Any) -> None:
    """The serve config goes through the scenario's rules: a pod that fits no node is an error."""
    from planner.errors import ScenarioError

    file = tmp_path / "dep.yaml"
    file.write_text(
        "deployment: {autoscaler: none}\nservice: {cpu: 4}\nnodes: {cpu: 2, memory_gb: 8}\n"
    )
    with pytest.raises(ScenarioError, match=r"service\.cpu"):
        load_serve_settings(file)


def _router(tmp_path: Any, nodes: bool) -> Any:
    """A router (not started: no process) for a config with or without a node pool."""
    import shutil

    from planner.loadtest.run import EXAMPLE_SCORE
    from planner.serve.config import ServeConfig
    from planner.serve.router import Router

    file = tmp_path / "dep.yaml"
    text = "deployment: {autoscaler: none, replicas: 3}\nservice: {cpu: 1, memory_gb: 1}\n"
    file.write_text(text + ("nodes: {cpu: 2, memory_gb: 8}\n" if nodes else ""))
    deployment, service, pool = load_serve_settings(file)
    config = ServeConfig(
        score_path=EXAMPLE_SCORE, deployment=deployment, service=service, nodes=pool,
        log_dir=tmp_path,
    )  # fmt: skip
    router = Router(config)
    shutil.rmtree(router.supervisor._models_root, ignore_errors=True)
    return router


def test_stats_without_nodes_are_as_before(tmp_path: Any) -> None:
    """No `nodes:`: no pending state, no node document, no node fields on replicas."""
    router = _router(tmp_path, nodes=False)
    doc = router.snapshot()
    assert set(doc["replicas"]) == {"starting", "backoff", "ready", "draining"}
    assert "nodes" not in doc and router.supervisor.nodes is None


def test_stats_with_nodes_show_the_cluster(tmp_path: Any) -> None:
    """With `nodes:`: the pending count and the cluster (one initial node of 2 slots)."""
    router = _router(tmp_path, nodes=True)
    doc = router.snapshot()
    assert doc["replicas"]["pending"] == 0
    nodes = doc["nodes"]
    assert (nodes["nodes_ready"], nodes["nodes_provisioning"], nodes["pods_pending"]) == (1, 0, 0)
    assert nodes["slots_per_node"] == 2 and nodes["node_list"][0]["ready"] is True


def test_an_update_cannot_change_the_node_pool(tmp_path: Any) -> None:
    """POST /-/update with another `nodes:` (or none) is refused: 400, nothing restarted."""
    import json

    from starlette.requests import Request

    router = _router(tmp_path, nodes=True)
    other = tmp_path / "other.yaml"
    other.write_text(
        "deployment: {autoscaler: none, replicas: 3}\nservice: {cpu: 1, memory_gb: 1}\n"
        "nodes: {cpu: 4, memory_gb: 8}\n"
    )
    none = tmp_path / "none.yaml"
    none.write_text("deployment: {autoscaler: none, replicas: 3}\n")

    async def update(config: Any) -> Any:
        body = json.dumps({"config": str(config)}).encode()

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        scope = {"type": "http", "method": "POST", "path": "/-/update", "headers": []}
        return await router.update(Request(scope, receive))

    for config in (other, none):
        answer = asyncio.run(update(config))
        assert answer.status_code == 400
        assert "the node pool" in json.loads(answer.body)["error"]
    assert router.supervisor.generation == 0


def test_a_replica_scaled_away_stays_in_the_measured_node_table() -> None:
    """The per-replica node table of the load test counts the replicas the phase means count.

    Replica 1 becomes ready on the initial node and is scaled away before the last /stats
    poll, so the router's replica_list no longer has it; it is still one of the replicas whose
    phases make the means and maxima, so it is a row of the table too.
    """
    from planner.loadtest.calibrate import platform_times

    nodes = _nodes()
    for rid in (0, 1):
        nodes.request(rid, 0.0)
    nodes.mark_ready(0, 2.0)
    nodes.mark_ready(1, 3.0)
    nodes.release(1, 10.0)
    after = {
        "nodes": nodes.summary(10.0),
        # /stats lists the replicas alive at the poll, as the router does
        "replica_list": [{"id": 0, **nodes.replica_doc(0)}],
    }
    measured = platform_times({}, after).nodes
    assert measured is not None
    assert measured["phases"]["cold_start_max_s"] == 3.0  # replica 1 counts in the maxima
    table = {r["id"]: r for r in measured["replicas"]}
    assert sorted(table) == [0, 1]
    assert (table[1]["node"], table[1]["ready_at_s"], table[1]["cold_start_s"]) == (0, 3.0, 3.0)
    assert table[0]["cold_start_s"] == 2.0


def test_a_roll_fails_at_once_when_no_node_can_come(tmp_path: Any) -> None:
    """A roll's surge replica Pending on a full pool at max_nodes gets no node while the old
    replicas wait for it: the roll fails with that reason (its start budget, which begins when
    the process starts, never began), and the cluster forgets the Pending replica."""
    import shutil

    from planner.loadtest.run import EXAMPLE_SCORE
    from planner.serve.config import ServeConfig
    from planner.serve.pool import Replica
    from planner.serve.router import Router

    file = tmp_path / "dep.yaml"
    file.write_text(
        "deployment: {autoscaler: none, replicas: 2}\nservice: {cpu: 1, memory_gb: 1}\n"
        "nodes: {cpu: 2, memory_gb: 8, min_nodes: 1, max_nodes: 1, initial_nodes: 1}\n"
    )
    deployment, service, pool = load_serve_settings(file)
    config = ServeConfig(
        score_path=EXAMPLE_SCORE, deployment=deployment, service=service, nodes=pool,
        log_dir=tmp_path, start_timeout_s=0.5,
    )  # fmt: skip
    sup = Router(config).supervisor
    shutil.rmtree(sup._models_root, ignore_errors=True)
    assert sup.nodes is not None
    cluster = sup.nodes.cluster
    for rid in (100, 101):  # the two old replicas fill the one node's two slots
        assert cluster.request(rid, 0.0, lambda: 0.0) is not None
    sup.replicas.append(Replica(100, slots=1))

    result = asyncio.run(sup.roll())
    assert result["ok"] is False and result["replaced"] == 0
    assert "no node can come" in result["error"]
    assert cluster.pending_pods() == 0 and len(cluster.nodes) == 1
