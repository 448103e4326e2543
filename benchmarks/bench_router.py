"""Router overhead: added latency (p50/p99) at a fixed open-model rate, and its throughput ceiling.

    python benchmarks/bench_router.py [--rps 500] [--duration-s 10] [--closed-s 5]

Three targets on 127.0.0.1, all uvicorn (asyncio + h11) processes:
  trivial  a raw ASGI app answering at once: the load generator's own ceiling and floor
  replica  a replica worker running a no-op score.py, addressed directly
  router   `planner serve` router in front of that same kind of replica
The load generator (this process) sends Poisson arrivals over keep-alive connections with the
same minimal HTTP client the router uses. Added latency = router percentile - replica percentile.
The closed-loop phase keeps N requests in flight to find the rate each target sustains.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from planner.distributions import Constant
from planner.scenario import Deployment, Service
from planner.serve import start_local_deployment
from planner.serve.wire import Connection

NOOP_SCORE = "def init():\n    pass\n\n\ndef run(data):\n    return {'ok': 1}\n"
BODY = b'{"data": [1, 2, 3]}'


async def _trivial_app(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"8")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b'{"ok":1}'})


def serve_trivial(port_file: Path) -> None:
    """Run the trivial ASGI app (subprocess mode); write its port to `port_file`."""
    from planner.serve._uvicorn import bind, make_server

    sock = bind("127.0.0.1", 0)
    port_file.write_text(str(sock.getsockname()[1]))
    make_server(_trivial_app, lifespan="off").run(sockets=[sock])


class Pool:
    """Idle keep-alive connections to one port; opens more when all are busy."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.idle: list[Connection] = []

    async def post(self) -> int:
        conn = self.idle.pop() if self.idle else await Connection.open("127.0.0.1", self.port)
        status, _, _ = await conn.request(b"POST", b"/score", BODY)
        self.idle.append(conn)
        return status


async def open_loop(port: int, rps: float, duration_s: float, seed: int) -> dict[str, float]:
    """Poisson arrivals at `rps`; latency percentiles in ms and the lateness of the generator."""
    rng = np.random.default_rng(seed)
    times = np.cumsum(rng.exponential(1.0 / rps, size=int(rps * duration_s * 1.5) + 100))
    times = times[times < duration_s]
    pool = Pool(port)
    for _ in range(4):  # warm connections
        await pool.post()
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.1
    lat = np.empty(len(times))
    late = np.empty(len(times))
    errors = 0

    async def one(i: int, t: float) -> None:
        nonlocal errors
        await asyncio.sleep(max(0.0, t0 + t - loop.time()))
        start = loop.time()
        late[i] = start - (t0 + t)
        status = await pool.post()
        lat[i] = loop.time() - start
        errors += status != 200

    await asyncio.gather(*(one(i, float(t)) for i, t in enumerate(times)))
    return {
        "requests": len(times),
        "errors": errors,
        "p50_ms": float(np.percentile(lat, 50) * 1e3),
        "p99_ms": float(np.percentile(lat, 99) * 1e3),
        "mean_ms": float(lat.mean() * 1e3),
        "late_p99_ms": float(np.percentile(late, 99) * 1e3),
    }


async def closed_loop(port: int, concurrency: int, duration_s: float) -> float:
    """Requests per second with `concurrency` requests always in flight."""
    done = 0
    stop = time.perf_counter() + duration_s

    async def worker() -> None:
        nonlocal done
        conn = await Connection.open("127.0.0.1", port)
        while time.perf_counter() < stop:
            await conn.request(b"POST", b"/score", BODY)
            done += 1
        conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - t0)


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rps", type=float, default=500.0)
    parser.add_argument("--duration-s", type=float, default=10.0)
    parser.add_argument("--closed-s", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--trivial-server", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.trivial_server:
        serve_trivial(args.trivial_server)
        return

    tmp = Path(tempfile.mkdtemp(prefix="bench-router-"))
    score = tmp / "score.py"
    score.write_text(NOOP_SCORE)
    port_file = tmp / "trivial.port"
    trivial = subprocess.Popen([sys.executable, __file__, "--trivial-server", str(port_file)])
    deployment = Deployment(
        autoscaler="none", replicas=1, max_request_wait_s=5.0, scoring_timeout_s=60.0
    )
    zero = Constant(value_s=0.0)
    service = Service(request_time_s=zero, cold_start_s=zero, max_concurrent=args.concurrency)
    try:
        with start_local_deployment(
            score, deployment=deployment, service=service, log_dir=tmp / "logs"
        ) as d:
            while not port_file.exists():
                time.sleep(0.02)
            ports = {
                "trivial": int(port_file.read_text()),
                "replica": int(d.stats()["replica_list"][0]["port"]),
                "router": int(d.url.rsplit(":", 1)[1]),
            }
            results: dict[str, dict[str, float]] = {}
            for name, port in ports.items():
                stats = asyncio.run(open_loop(port, args.rps, args.duration_s, seed=1))
                stats["closed_loop_rps"] = asyncio.run(
                    closed_loop(port, args.concurrency, args.closed_s)
                )
                results[name] = stats
    finally:
        os.kill(trivial.pid, signal.SIGTERM)
        trivial.wait()

    print(f"open loop: Poisson {args.rps:g} req/s for {args.duration_s:g} s; closed loop: "
          f"{args.concurrency} in flight for {args.closed_s:g} s; {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    print(f"{'target':<8} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'gen late p99':>13} "
          f"{'errors':>7} {'max req/s':>10}")  # fmt: skip
    for name, s in results.items():
        print(f"{name:<8} {s['p50_ms']:8.3f} {s['p99_ms']:8.3f} {s['mean_ms']:8.3f} "
              f"{s['late_p99_ms']:13.3f} {int(s['errors']):7d} "
              f"{s['closed_loop_rps']:10.0f}")  # fmt: skip
    added_p50 = results["router"]["p50_ms"] - results["replica"]["p50_ms"]
    added_p99 = results["router"]["p99_ms"] - results["replica"]["p99_ms"]
    print(f"router added latency at {args.rps:g} req/s: p50 {added_p50:.3f} ms, "
          f"p99 {added_p99:.3f} ms (target < 2 ms)")  # fmt: skip
    print(json.dumps({"added_p50_ms": added_p50, "added_p99_ms": added_p99, **{
        f"{k}_max_rps": v["closed_loop_rps"] for k, v in results.items()}}))  # fmt: skip


if __name__ == "__main__":
    main()
