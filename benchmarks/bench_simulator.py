"""Benchmark: simulated requests per second of the planner engines vs a plain heapq event loop.

    python benchmarks/bench_simulator.py [--requests 1000000] [--seed 1] [--profile]
    python benchmarks/bench_simulator.py --day [--seeds 1]   # 43 M requests, compiled engine
    python benchmarks/bench_simulator.py --no-nodes          # skip the nodes-on comparison

The scenario is a spike: lognormal service (mean 0.1 s, p99 0.5 s), the azureml autoscaler
(target 70 %, 1..150 replicas, 30 s cold start, 0.5 s queue patience), traffic cycling
through 480 s at 200 rps and a 120 s spike at 600 rps (3×); the duration is chosen so that
about `--requests` requests arrive. The planner's Python engine, its compiled engine (numba,
when installed; its JIT load is paid before the timed run) and the reference run in this
process, one after the other, on one core; the reference is a textbook single-heap event loop
of the SAME model (arrivals, FIFO queue with patience, completions, the same AzureMlPolicy
objects at each refresh, cold starts), written here in ~100 lines. Peak memory is measured
with tracemalloc in a separate pass (tracing slows Python down, so the timed runs are
untraced). Times are CPU seconds of this (single-threaded) process: the time on one core,
which a busy shared machine disturbs far less than wall-clock time; each timed run starts
after an untimed `gc.collect()`.

Then the same scenario with a `nodes:` block (NODES below: 16-core nodes holding 16 replicas,
2 warm, up to 12, 180 s to provision, 40 s image pull, a cluster-autoscaler scan every 10 s):
the node layer adds only coarse events (scans, nodes becoming ready, one timeline sample per
second), so each engine should keep its rate within 10 % of the same scenario without nodes
(NODES_TARGET). The two runs are timed `--repeat` times each, interleaved, and the fastest of
each is kept, as the difference sought is smaller than a shared machine's noise on one run;
the line prints both rates, their ratio and PASS or MISS.

`--day` runs a day instead: 86,400 s of the same spike cycle scaled to a mean of 500 rps (43 M
requests), on the compiled engine without per-request records, and prints the time per seed
and the peak memory of the process (resource.getrusage ru_maxrss, which includes numba and the
interpreter) and the peak of the run itself (tracemalloc, in a separate traced pass).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import heapq
import math
import pstats
import resource
import time
import tracemalloc
from collections import deque
from typing import Any

import numpy as np

from planner.autoscalers import Observation, make_policy
from planner.distributions import Constant, Lognormal
from planner.engine import numba_available
from planner.scenario import Deployment, Scenario, Service, scenario_from_dict, scenario_to_dict
from planner.simulate import run_rep
from planner.traffic import Phase, Traffic

BASE_RPS, SPIKE_RPS = 200.0, 600.0
CALM_S, SPIKE_S = 480.0, 120.0
DAY_S, DAY_MEAN_RPS = 86_400.0, 500.0
NODES = {
    "vm_size": "Standard_D16s_v5",
    "cpu": 16,
    "memory_gb": 64,
    "min_nodes": 2,
    "initial_nodes": 2,
    "max_nodes": 12,
    "provision_s": 180,
    "image_pull_s": 40,
    "price_per_hour": 0.768,
    "autoscaler": {"scan_interval_s": 10},
}
"""The node pool of the nodes-on case: one-core 2 GB pods, 16 to a node, 192 at most."""
NODES_TARGET = 0.90
"""With nodes on, each engine keeps at least this share of its rate without nodes."""


def spike_scenario(
    requests: int, *, duration_s: float | None = None, scale: float = 1.0
) -> Scenario:
    """A cycling 3× spike scenario sized to about `requests` arrivals (or `duration_s`).

    `scale` multiplies both rates (and the replica ceiling, so the autoscaler can follow).
    """
    mean_rps = scale * (BASE_RPS * CALM_S + SPIKE_RPS * SPIKE_S) / (CALM_S + SPIKE_S)
    if duration_s is None:
        duration_s = math.ceil(1.02 * requests / mean_rps)  # Poisson: a margin for "at least"
    cycles = math.ceil(duration_s / (CALM_S + SPIKE_S))
    pattern = [
        p
        for _ in range(cycles)
        for p in (
            Phase(duration_s=CALM_S, rps=scale * BASE_RPS),
            Phase(duration_s=SPIKE_S, rps=scale * SPIKE_RPS),
        )
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
            replicas=math.ceil(30 * scale),
            min_replicas=1,
            max_replicas=math.ceil(150 * scale),
            target_utilization=0.7,
            max_request_wait_s=0.5,
            scoring_timeout_s=60.0,
        ),
    )


def with_nodes(scenario: Scenario) -> Scenario:
    """The same scenario with the NODES pool under it (validated like a scenario file)."""
    spec = scenario_to_dict(scenario)
    spec["nodes"] = NODES
    return scenario_from_dict(spec)


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
    """(CPU seconds of this process, result): the time on one core, even on a shared machine.

    The garbage of earlier runs is collected first, untimed: otherwise a full collection
    (about 40 ms here, most of it walking numba's own objects) lands in whichever run comes
    next and adds 30 % to a 0.15 s run at random.
    """
    gc.collect()
    t0 = time.process_time()
    out = fn(*args)
    return time.process_time() - t0, out


def _peak_mb(fn: Any, *args: Any) -> float:
    tracemalloc.start()
    fn(*args)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def _run(engine: str) -> Any:
    """run_rep on one engine, without per-request records."""
    return lambda scenario, seed: run_rep(scenario, seed, engine=engine)


def _nodes_case(scenario: Scenario, engines: list[str], seed: int, repeat: int) -> None:
    """Each engine's rate with the NODES pool on against the same scenario without it."""
    nodes_on = with_nodes(scenario)
    print(
        f"nodes on: {NODES['vm_size']} nodes of {NODES['cpu']} cores, "
        f"{NODES['min_nodes']}..{NODES['max_nodes']}, provision {NODES['provision_s']} s, "
        f"image pull {NODES['image_pull_s']} s; fastest of {repeat} runs each"
    )
    for e in engines:
        # Interleaved (off, on, off, on, ...), so that a load that comes and goes on a shared
        # machine falls on both alike; the fastest of each is kept.
        runs = [(_timed(_run(e), scenario, seed), _timed(_run(e), nodes_on, seed))
                for _ in range(max(1, repeat))]  # fmt: skip
        t_off, off = min((r[0] for r in runs), key=lambda r: r[0])
        t_on, on = min((r[1] for r in runs), key=lambda r: r[0])
        n_all = sum(row[2] for row in off.timeline)
        ratio = t_off / t_on  # the same arrivals: the ratio of the rates is that of the times
        verdict = "PASS" if ratio >= NODES_TARGET else "MISS"
        print(
            f"{e + ' engine:':17}without nodes {n_all / t_off:12,.0f} req/s, with nodes "
            f"{n_all / t_on:12,.0f} req/s (peak nodes {on.stats['peak_nodes']:.0f}, rate_503 "
            f"{off.stats['rate_503']:.4f} -> {on.stats['rate_503']:.4f}): ratio {ratio:.3f}, "
            f"target >= {NODES_TARGET:.2f}: {verdict}"
        )


def _day(seeds: int, first_seed: int) -> None:
    """A day at 500 rps on the compiled engine: time per seed and peak memory."""
    scenario = spike_scenario(0, duration_s=DAY_S, scale=DAY_MEAN_RPS / 280.0)
    run_rep(spike_scenario(20_000), first_seed, engine="compiled")  # JIT load, untimed
    print(f"scenario: {scenario.name} ×{DAY_MEAN_RPS / 280.0:.3g}, {DAY_S:.0f} s simulated")
    for seed in range(first_seed, first_seed + seeds):
        t, rep = _timed(_run("compiled"), scenario, seed)
        n_all = sum(row[2] for row in rep.timeline)
        print(
            f"seed {seed}: {n_all:,} requests in {t:.1f} s CPU, {n_all / t:,.0f} simulated req/s "
            f"(rate_503 {rep.stats['rate_503']:.4f}, peak replicas {rep.stats['peak_replicas']})"
        )
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"peak resident memory of the process (ru_maxrss): {rss_mb:.0f} MB")
    traced_mb = _peak_mb(_run("compiled"), scenario, first_seed)
    print(f"peak traced memory of one day (tracemalloc): {traced_mb:.1f} MB")


def main() -> None:
    """Run the engines on the spike scenario and print requests per second and their ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--profile", action="store_true", help="cProfile the Python engine")
    ap.add_argument("--no-memory", action="store_true", help="skip the tracemalloc passes")
    ap.add_argument("--day", action="store_true", help="a 43 M-request day, compiled engine")
    ap.add_argument("--seeds", type=int, default=1, help="seeds of the --day run")
    ap.add_argument("--no-nodes", action="store_true", help="skip the nodes-on comparison")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per nodes-on/off case")
    args = ap.parse_args()
    if args.day:
        _day(args.seeds, args.seed)
        return
    scenario = spike_scenario(args.requests)
    if args.profile:
        cProfile.runctx("run_rep(scenario, args.seed, engine='python')", globals(),
                        {"scenario": scenario, "args": args, "run_rep": run_rep},
                        "/tmp/bench.prof")  # fmt: skip
        pstats.Stats("/tmp/bench.prof").sort_stats("tottime").print_stats(15)
        return
    engines = ["python", "compiled"] if numba_available() else ["python"]
    if "compiled" in engines:
        t_jit, _ = _timed(_run("compiled"), spike_scenario(20_000), args.seed)
        print(f"compiled engine: first call {t_jit:.2f} s (numba JIT or its on-disk cache)")
    timed = {e: _timed(_run(e), scenario, args.seed) for e in engines}
    t_ref, ref = _timed(reference_heapq, scenario, args.seed)
    rep = timed["python"][1]
    n = int(rep.stats["requests"])
    n_all = sum(row[2] for row in rep.timeline)  # every arrival, warm-up included
    ref_rps = ref["requests"] / t_ref
    print(f"scenario: {scenario.name}, {scenario.duration_s:.0f} s simulated, seed {args.seed}")
    print(f"requests simulated: {n_all:,} (counted after warm-up: {n:,})")
    for e, (t, r) in timed.items():
        print(
            f"{e + ' engine:':17}{t:7.2f} s CPU  {n_all / t:12,.0f} simulated requests/s  "
            f"(rate_503 {r.stats['rate_503']:.4f}, peak replicas {r.stats['peak_replicas']})"
        )
    print(
        f"heapq reference: {t_ref:7.2f} s CPU  {ref_rps:12,.0f} simulated requests/s  "
        f"(503 share {ref['n_503'] / ref['requests']:.4f})"
    )
    for e, (t, _) in timed.items():
        print(f"ratio {e} engine / heapq reference: {n_all / t / ref_rps:.2f}")
    if "compiled" in timed:
        print(f"ratio compiled / python engine: {timed['python'][0] / timed['compiled'][0]:.2f}")
    if not args.no_nodes:
        _nodes_case(scenario, engines, args.seed, args.repeat)
    if not args.no_memory:
        mbs = ", ".join(f"{e} {_peak_mb(_run(e), scenario, args.seed):.1f} MB" for e in engines)
        mb_ref = _peak_mb(reference_heapq, scenario, args.seed)
        print(f"peak traced memory: {mbs}, heapq reference {mb_ref:.1f} MB")


if __name__ == "__main__":
    main()
