"""Benchmark: wall time and peak memory of a day-long backtest, against a short one.

    python benchmarks/bench_backtest.py                      # 43.2 M requests vs 1 M, 8.64 M
    python benchmarks/bench_backtest.py --requests 2000000   # a quick run
    python benchmarks/bench_backtest.py --format csv         # the log as CSV instead

A synthetic production log is written once to a temporary folder: Poisson arrivals at
`--rps` (500) for `--requests / rps` seconds (a day: 43.2 M requests over 86,400 s), each with
a lognormal request time (mean 0.1 s, σ 0.6) and status 200, in planner's Locust per-request
layout (`t_s`, `response_time_s`, `status`), as Parquet (row groups of 1 M) or CSV; it is
generated a million rows at a time, and the time it took is printed. The reference logs are
the first `--reference` requests of the same stream (1 M, and 8.64 M: a tenth of the day).

Each log is then backtested in its own child process, exactly as `planner backtest LOG
--preset locust --scenario dep.yaml --no-search --seeds 1` does it: `planner.fit.open_log`
(a log this long is streamed: chunks of 1 M rows reduced as they are read, the arrivals
written to a .npy file), then `planner.backtest.run_backtest` with one seed (the replay reads
the trace a chunk at a time; the compiled engine when numba is installed). The parent takes
each child's peak resident memory from `os.wait4` (ru_maxrss: the interpreter, numpy,
pandas, pyarrow and numba included) and the child reports its own phase times. The ratios of
the peaks show whether memory grows with the day (a whole-array reader would need
tens of GB for the day: its strings alone). The deployment is Azure ML's autoscaler, 10..200
replicas at 70 % (offered load 50 busy replicas).

Wall-clock times on a shared machine move with its other work: run it twice if in doubt.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

DAY_S = 86_400
BLOCK = 1_000_000
DEPLOYMENT = {
    "name": "bench-day",
    "warmup_s": 60,
    "seeds": 1,
    "service": {
        "request_time_s": {"dist": "lognormal", "mean": 0.1, "sigma": 0.6},
        "cold_start_s": 30,
    },
    "deployment": {
        "autoscaler": "azureml",
        "replicas": 80,
        "min_replicas": 10,
        "max_replicas": 200,
        "target_utilization": 0.7,
    },
    "slo": {"max_rate_503": 0.001, "latency_p99_s": 2.0},
}


def _blocks(requests: int, rps: float, seed: int) -> Any:
    """(t_s, response_time_s) blocks of at most BLOCK requests of one Poisson stream."""
    rng = np.random.default_rng(seed)
    sigma = 0.6
    mu = np.log(0.1) - sigma**2 / 2
    t_last = 0.0
    done = 0
    while done < requests:
        n = min(BLOCK, requests - done)
        t = t_last + np.cumsum(rng.exponential(1.0 / rps, n))
        t_last = float(t[-1])
        done += n
        yield t, rng.lognormal(mu, sigma, n)


def write_log(path: Path, requests: int, rps: float, fmt: str, seed: int = 1) -> float:
    """Write the synthetic log; return the seconds it took."""
    start = time.perf_counter()
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pa.schema(
            [("t_s", pa.float64()), ("response_time_s", pa.float64()), ("status", pa.int64())]
        )
        with pq.ParquetWriter(path, schema) as writer:
            for t, rt in _blocks(requests, rps, seed):
                status = np.full(t.size, 200, dtype=np.int64)
                writer.write_table(pa.table([t, rt, status], schema=schema))
    else:
        with path.open("w", encoding="utf-8", newline="\n") as fh:
            fh.write("t_s,response_time_s,status\n")
            for t, rt in _blocks(requests, rps, seed):
                rows = np.column_stack([t, rt, np.full(t.size, 200.0)])
                np.savetxt(fh, rows, fmt=["%.6f", "%.6f", "%d"], delimiter=",")
    return time.perf_counter() - start


def child(log: str, deployment: str) -> None:
    """Fit and backtest one log (this process is measured by the parent); print JSON."""
    t0 = time.perf_counter()
    from planner.backtest import run_backtest
    from planner.fit import PRESETS, open_log

    t1 = time.perf_counter()
    peak_imports = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    opened = open_log(log, PRESETS["locust"])
    t2 = time.perf_counter()
    peak_read = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    bt = run_backtest(opened, Path(deployment), seeds=[0], search=False, processes=1)
    t3 = time.perf_counter()
    out = {
        "requests": bt.fit.log.requests,
        "streamed": type(opened).__name__ == "LogSummary",
        "engine_requests": float(bt.had.values["requests"]),
        "import_s": t1 - t0,
        "read_s": t2 - t1,
        "fit_and_replay_s": t3 - t2,
        "total_s": t3 - t0,
        "peak_after_imports_mib": peak_imports,
        "peak_after_read_mib": peak_read,
        "meets_slo": bt.had.meets_slo,
        "peak_replicas": float(bt.had.values["peak_replicas"]),
    }
    print(json.dumps(out))


def measure(log: Path, deployment: Path) -> dict[str, Any]:
    """Run `child` in a subprocess; its JSON plus its peak RSS (MiB) and wall time."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", str(log), str(deployment)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    text = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"the backtest of {log} failed (exit {proc.returncode})")
    result: dict[str, Any] = json.loads(text.strip().splitlines()[-1])
    result["wall_s"] = time.perf_counter() - start
    result["peak_rss_mib"] = usage.ru_maxrss / 1024  # KiB on Linux
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500 * DAY_S)
    parser.add_argument(
        "--reference", type=int, nargs="+", default=[1_000_000, 8_640_000],
        help="shorter logs measured first (default 1 M and a tenth of a day)",
    )  # fmt: skip
    parser.add_argument("--rps", type=float, default=500.0)
    parser.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    parser.add_argument("--child", nargs=2, metavar=("LOG", "DEPLOYMENT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    import yaml

    with tempfile.TemporaryDirectory(prefix="bench-backtest-") as tmp:
        folder = Path(tmp)
        deployment = folder / "deployment.yaml"
        deployment.write_text(yaml.safe_dump(DEPLOYMENT), encoding="utf-8")
        rows = []
        sizes = [(f"{n:,}", n) for n in sorted(set(args.reference)) if n < args.requests]
        for label, n in [*sizes, ("day", args.requests)]:
            log = folder / f"{label}.{args.format}"
            took = write_log(log, n, args.rps, args.format)
            size = log.stat().st_size / 2**20
            print(f"{label}: wrote {n:,} requests ({size:,.0f} MiB {args.format}) in {took:.1f} s")
            result = measure(log, deployment)
            rows.append((label, result))
            print(
                f"{label}: {result['requests']:,} requests, streamed={result['streamed']}: "
                f"wall {result['wall_s']:.1f} s (read {result['read_s']:.1f} s, fit + replay "
                f"{result['fit_and_replay_s']:.1f} s), peak RSS {result['peak_rss_mib']:,.0f} MiB "
                f"(after imports {result['peak_after_imports_mib']:,.0f}, after reading "
                f"{result['peak_after_read_mib']:,.0f})"
            )
            log.unlink()
        _, day = rows[-1]
        for label, ref in rows[:-1]:
            print(
                f"day / {label}: {day['requests'] / ref['requests']:.1f}x the requests, "
                f"{day['peak_rss_mib'] / ref['peak_rss_mib']:.2f}x the peak memory, "
                f"{day['wall_s'] / ref['wall_s']:.1f}x the wall time"
            )


if __name__ == "__main__":
    main()
