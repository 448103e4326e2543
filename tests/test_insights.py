"""Tests for planner.recommend.insights: when and why 503s happened, from hand-built timelines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planner.recommend.insights import describe, explain_503s


def frame(n503: list[int], starting: list[int], ready: list[int], rep: int = 0) -> pd.DataFrame:
    """A timeline of len(n503) seconds with 10 arrivals per second."""
    n = len(n503)
    return pd.DataFrame(
        {
            "rep": rep,
            "t_s": np.arange(n, dtype=float),
            "rps_offered": 10.0,
            "arrivals": 10,
            "ready": ready,
            "starting": starting,
            "draining": 0,
            "desired": np.add(ready, starting),
            "queue_len": 0,
            "busy": 1,
            "n_503": n503,
            "n_504": 0,
        }
    )


def test_shares_split_503s_by_cause() -> None:
    """503s while starting, at the ceiling, and otherwise are weighted by count and sum to one."""
    tl = frame(
        n503=[0, 6, 0, 3, 1, 0],
        starting=[0, 2, 0, 0, 0, 0],
        ready=[2, 2, 2, 4, 3, 3],
    )
    ex = explain_503s(tl, max_replicas=4)
    assert ex.n_503_per_rep == 10
    assert ex.arrivals_per_rep == 60
    assert ex.share_while_starting == pytest.approx(0.6)
    assert ex.share_at_max == pytest.approx(0.3)
    assert ex.starting_during_503 == pytest.approx(6 * 2 / 10)
    assert ex.ready_during_503 == pytest.approx((6 * 2 + 3 * 4 + 1 * 3) / 10)
    assert (ex.first_503_s, ex.last_503_s) == (1.0, 4.0)
    text = " ".join(describe(ex, max_replicas=4))
    assert "10 of 60 requests got 503, between t = 1 s and 4 s." in text
    assert "60 % of the 503s happened while replicas were starting" in text
    assert "30 % happened with the deployment at max_replicas (4)" in text
    assert "10 % happened with no replica starting" in text


def test_warmup_excluded_and_per_rep_means() -> None:
    """Rows before warm-up are ignored; counts are per replication over several reps."""
    tl = pd.concat(
        [
            frame([9, 0, 2, 0], [1, 0, 1, 0], [1, 1, 1, 1], rep=0),
            frame([9, 0, 4, 0], [1, 0, 1, 0], [1, 1, 1, 1], rep=1),
        ]
    )
    ex = explain_503s(tl, warmup_s=1.0)
    assert ex.reps == 2
    assert ex.n_503_per_rep == pytest.approx(3.0)
    assert ex.arrivals_per_rep == pytest.approx(30.0)
    assert ex.share_at_max is None
    assert "per replication" in describe(ex)[0]


def test_worst_window_starts_at_first_503_and_caps_at_a_minute() -> None:
    """The worst 60 s span starts where its 503s start and counts that span's arrivals."""
    n = 300
    n503 = np.zeros(n, dtype=int)
    n503[10:15] = 1  # a small early burst
    n503[200:230] = 4  # the spike
    tl = frame(list(n503), [0] * n, [1] * n)
    ex = explain_503s(tl)
    assert (ex.worst_start_s, ex.worst_end_s) == (200.0, 260.0)
    assert ex.worst_503_per_rep == 120
    assert ex.worst_arrivals_per_rep == 600
    assert any(line.startswith("Worst minute: t = 200–260 s") for line in describe(ex))


def test_no_503s_says_so() -> None:
    """A clean run gets one sentence and no causes."""
    ex = explain_503s(frame([0, 0, 0], [0, 1, 0], [1, 1, 1]), max_replicas=3)
    assert ex.n_503_per_rep == 0 and ex.first_503_s is None
    assert describe(ex) == ["No 503 responses after warm-up (30 requests)."]


def replica_table(rows: list[tuple[int, float, float, float, float, float, float]]) -> pd.DataFrame:
    """The node layer's replica table: rep, requested_s, ready_s and the four phases."""
    return pd.DataFrame(
        rows,
        columns=[
            "rep",
            "requested_s",
            "ready_s",
            "node_wait_s",
            "node_provisioning_s",
            "image_pull_s",
            "cold_start_s",
        ],
    )


def test_node_phases_pick_the_replicas_on_their_way_during_the_503s() -> None:
    """Only replicas requested before a rep's last 503 second ends and ready after its first
    count; their phase means are per replica, their count per replication."""
    tl = pd.concat(
        [
            frame([0, 0, 4, 4, 0, 0], [0, 2, 2, 2, 0, 0], [1, 1, 1, 1, 3, 3], rep=0),
            frame([0, 0, 0, 2, 0, 0], [0, 0, 1, 1, 0, 0], [1, 1, 1, 1, 2, 2], rep=1),
        ]
    )
    reps = replica_table(
        [
            (0, 0.0, 0.0, 0, 0, 0, 0),  # ready before the 503s: not counted
            (0, 1.0, 4.5, 0.5, 2.0, 0.5, 0.5),  # counted
            (0, 3.5, 5.0, 0.0, 0.0, 0.0, 1.5),  # requested within the last 503 second: counted
            (0, 4.0, 9.0, 0, 0, 0, 5.0),  # requested after the 503s: not counted
            (1, 2.0, 4.0, 0.0, 0.0, 0.0, 2.0),  # rep 1's 503s are at t = 3: counted
            (1, 1.0, 2.9, 0, 0, 0, 1.9),  # ready before rep 1's 503s: not counted
        ]
    )
    ex = explain_503s(tl, replicas=reps)
    assert ex.nodes is not None
    assert ex.nodes.replicas_per_rep == pytest.approx(3 / 2)
    assert ex.nodes.waited_per_rep == pytest.approx(1 / 2)
    assert ex.nodes.mean_s == pytest.approx((0.5 / 3, 2.0 / 3, 0.5 / 3, 4.0 / 3))
    assert ex.nodes.main == "cold_start"
    line = describe(ex)[-1]
    assert line.startswith(
        "The 503s came while 1.5 replicas per replication were on their way to ready, "
        "0.5 of them waiting for a node: cold start 1 s of their 2 s to ready on average"
    )
    assert "deployment.min_replicas" in line


def test_no_node_sentence_without_503s_or_without_the_table() -> None:
    """A clean run says nothing about nodes; a timeline alone keeps today's sentences."""
    reps = replica_table([(0, 0.0, 1.5, 0, 1.0, 0, 0.5)])
    clean = explain_503s(frame([0, 0, 0], [0, 1, 0], [1, 1, 1]), replicas=reps)
    assert clean.nodes is None
    tl = frame([0, 3, 0], [0, 1, 0], [1, 1, 2])
    assert explain_503s(tl).nodes is None
    assert describe(explain_503s(tl, replicas=reps))[:-1] != describe(explain_503s(tl))
    assert "(cold start)." in describe(explain_503s(tl))[1]
