"""Benchmark: simulated requests per second of the planner engine vs a plain heapq event loop.

    python benchmarks/bench_simulator.py [--requests 1000000] [--seed 1] [--profile]

The scenario is a spike: lognormal service (mean 0.1 s, p99 0.5 s), the azureml autoscaler
(target 70 %, 1..150 replicas, 30 s cold start, 0.5 s queue patience), traffic cycling
through 480 s at 200 rps and a 120 s spike at 600 rps (3×); the duration is chosen so that about
`--requests` requests arrive. Both engines run in this process, one after the other, on one core;
the reference is a textbook single-heap event loop of the SAME model (arrivals, FIFO queue with
patience, completions, the same AzureMlPolicy objects at each refresh, cold starts), written
here in ~100 lines. Peak memory is measured with tracemalloc in a separate pass (tracing slows
Python down, so the timed runs are untraced).
"""

from __future__ import annotations

import argparse
import cProfile
import heapq
import math
import pstats
import time
import tracemalloc
from collections import deque
from typing import Any

import numpy as np

from planner.autoscalers import Observation, make_policy
from planner.distributions import Constant, Lognormal
from planner.scenario import Deployment, Scenario, Service
from planner.simulate import run_rep
from planner.traffic import Phase, Traffic

BASE_RPS, SPIKE_RPS = 200.0, 600.0
CALM_S, SPIKE_S = 480.0, 120.0


def spike_scenario(requests: int) -> Scenario:
    """A cycling 3× spike scenario sized to about `requests` arrivals."""
    mean_rps = (BASE_RPS * CALM_S + SPIKE_RPS * SPIKE_S) / (CALM_S + SPIKE_S)
    duration_s = math.ceil(1.02 * requests / mean_rps)  # Poisson: a margin for "at least"
    cycles = math.ceil(duration_s / (CALM_S + SPIKE_S))
    pattern = [
        p
        for _ in range(cycles)
        for p in (Phase(duration_s=CALM_S, rps=BASE_RPS), Phase(duration_s=SPIKE_S, rps=SPIKE_RPS))
    ]
    return Scenario(
        name="bench-spike-3x",
        duration_s=float(duration_s),
        warmup_s=60.0,
        traffic=Traffic(pattern=tuple(pattern)),
        service=Service(
            request_time_s=Lognormal.from_mean_p99(0.1, 0.5),
            max_concurrent=1,
            cold_start_s=Constant(value_s=30.0),
        ),
        deployment=Deployment(
            autoscaler="azureml",
            replicas=30,
            min_replicas=1,
            max_replicas=150,
            target_utilization=0.7,
            max_request_wait_s=0.5,
            scoring_timeout_s=60.0,
        ),
    )


def reference_heapq(scenario: Scenario, seed: int) -> dict[str, Any]:
    """The same model as one plain heapq event loop: (t, seq, kind, replica) events."""
    dep, svc = scenario.deployment, scenario.service
    rng_a, rng_s, rng_c = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    arrivals = np.concatenate(list(scenario.traffic.arrival_times(scenario.duration_s, rng_a)))
    service = svc.request_time_s.sample(rng_s, arrivals.size).tolist()
    policy = make_policy(dep, svc.max_concurrent)
    patience, dur = dep.max_request_wait_s, scenario.duration_s
    arrive, done, tick, ready_ev = 0, 1, 2, 3
    times = arrivals.tolist()
    # Only the next arrival is on the heap (the textbook way: each arrival schedules the next).
    events: list[tuple[float, int, int, int]] = [(times[0], 0, arrive, 0)] if times else []
    seq = 1
    heapq.heappush(events, (policy.interval_s, seq, tick, -1))
    ready = set(range(dep.replicas))
    starting: list[int] = []
    draining: dict[int, int] = {}
    in_flight = dict.fromkeys(ready, 0)
    free = list(ready)
    queue: deque[float] = deque()
    next_id, k = dep.replicas, 0
    n_503 = n_done = 0
    while events:
        t, _, kind, rid = heapq.heappop(events)
        if kind == arrive:
            if rid + 1 < len(times):
                seq += 1
                heapq.heappush(events, (times[rid + 1], seq, arrive, rid + 1))
            if free:
                rid = free.pop()
                in_flight[rid] += 1
                seq += 1
                heapq.heappush(events, (t + service[k], seq, done, rid))
                k += 1
            else:
                queue.append(t)
        elif kind == done:
            n_done += 1
            in_flight[rid] -= 1
            if rid in draining:
                if in_flight[rid] == 0:
                    del draining[rid]
                continue
            while queue and queue[0] + patience <= t:
                queue.popleft()
                n_503 += 1
            if queue:
                queue.popleft()
                in_flight[rid] += 1
                seq += 1
                heapq.heappush(events, (t + service[k], seq, done, rid))
                k += 1
            else:
                free.append(rid)
        elif kind == tick:
            if t >= dur:
                continue
            busy = sum(in_flight[r] for r in ready)
            obs = Observation(t_s=t, ready=len(ready), starting=len(starting), busy=busy,
                              queued=len(queue), busy_avg=busy, queued_avg=len(queue))  # fmt: skip
            want = policy.decide(obs)
            have = len(ready) + len(starting)
            for _ in range(want - have):
                starting.append(next_id)
                seq += 1
                cold = float(svc.cold_start_s.sample(rng_c, 1)[0])
                heapq.heappush(events, (t + cold, seq, ready_ev, next_id))
                next_id += 1
            for _ in range(have - want):
                if starting:
                    starting.pop()
                else:
                    rid = min(ready, key=lambda r: (in_flight[r], -r))
                    ready.discard(rid)
                    free = [r for r in free if r != rid]
                    if in_flight[rid]:
                        draining[rid] = in_flight[rid]
            seq += 1
            heapq.heappush(events, (t + policy.interval_s, seq, tick, -1))
        elif rid in starting:  # ready event of a replica not cancelled
            starting.remove(rid)
            ready.add(rid)
            in_flight[rid] = 0
            free.append(rid)
    n_503 += len(queue)
    return {"requests": int(arrivals.size), "served": n_done, "n_503": n_503}


def _timed(fn: Any, *args: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def _peak_mb(fn: Any, *args: Any) -> float:
    tracemalloc.start()
    fn(*args)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    """Run both engines on the spike scenario and print requests per second and their ratio."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--profile", action="store_true", help="cProfile the planner engine")
    ap.add_argument("--no-memory", action="store_true", help="skip the tracemalloc passes")
    args = ap.parse_args()
    scenario = spike_scenario(args.requests)
    if args.profile:
        cProfile.runctx("run_rep(scenario, args.seed)", globals(), {"scenario": scenario,
                        "args": args, "run_rep": run_rep}, "/tmp/bench.prof")  # fmt: skip
        pstats.Stats("/tmp/bench.prof").sort_stats("tottime").print_stats(15)
        return
    t_planner, rep = _timed(run_rep, scenario, args.seed)
    t_ref, ref = _timed(reference_heapq, scenario, args.seed)
    n = int(rep.stats["requests"])
    n_all = sum(row[2] for row in rep.timeline)  # every arrival, warm-up included
    planner_rps, ref_rps = n_all / t_planner, ref["requests"] / t_ref
    print(f"scenario: {scenario.name}, {scenario.duration_s:.0f} s simulated, seed {args.seed}")
    print(f"requests simulated: {n_all:,} (counted after warm-up: {n:,})")
    print(
        f"planner engine:  {t_planner:7.2f} s  {planner_rps:12,.0f} simulated requests/s  "
        f"(rate_503 {rep.stats['rate_503']:.4f}, peak replicas {rep.stats['peak_replicas']})"
    )
    print(
        f"heapq reference: {t_ref:7.2f} s  {ref_rps:12,.0f} simulated requests/s  "
        f"(503 share {ref['n_503'] / ref['requests']:.4f})"
    )
    print(f"ratio planner / heapq reference: {planner_rps / ref_rps:.2f}")
    if not args.no_memory:
        mb_planner = _peak_mb(run_rep, scenario, args.seed)
        mb_ref = _peak_mb(reference_heapq, scenario, args.seed)
        print(f"peak traced memory: planner {mb_planner:.1f} MB, heapq reference {mb_ref:.1f} MB")


if __name__ == "__main__":
    main()
