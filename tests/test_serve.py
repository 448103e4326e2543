"""The local deployment: router semantics against queueing theory, autoscaling, CLI, Ctrl-C."""

from __future__ import annotations

import asyncio
import math
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from typer.testing import CliRunner

from planner.cli import app
from planner.distributions import Constant
from planner.scenario import Deployment, Service
from planner.serve import start_local_deployment
from planner.serve.examples import sleep_score

SLEEP_SCORE = Path(sleep_score.__file__)


def erlang_b(servers: int, load: float) -> float:
    """Blocking probability of M/G/c/c (Erlang B), by the stable recursion B_k = aB/(k + aB)."""
    b = 1.0
    for k in range(1, servers + 1):
        b = load * b / (k + load * b)
    return b


def poisson_times(rate_rps: float, duration_s: float, seed: int) -> np.ndarray:
    """Arrival times of a Poisson process on [0, duration_s) (seeded)."""
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1.0 / rate_rps, size=int(rate_rps * duration_s * 2) + 50)
    times = np.cumsum(gaps)
    return times[times < duration_s]


async def _send_all(url: str, times: np.ndarray, body: bytes) -> list[tuple[int, float]]:
    """Open-model load: one POST at each arrival time; (status, latency_s) per request."""
    limits = httpx.Limits(max_connections=500, max_keepalive_connections=500)
    async with httpx.AsyncClient(timeout=30.0, limits=limits) as client:
        loop = asyncio.get_running_loop()
        t0 = loop.time() + 0.05

        async def one(t: float) -> tuple[int, float]:
            await asyncio.sleep(max(0.0, t0 + t - loop.time()))
            start = loop.time()
            response = await client.post(f"{url}/score", content=body)
            return response.status_code, loop.time() - start

        return list(await asyncio.gather(*(one(float(t)) for t in times)))


def send_poisson(url: str, times: np.ndarray, body: bytes = b"{}") -> list[tuple[int, float]]:
    """Run `_send_all` to completion."""
    return asyncio.run(_send_all(url, times, body))


def _fixed(replicas: int, wait_s: float) -> Deployment:
    return Deployment(autoscaler="none", replicas=replicas, max_request_wait_s=wait_s)


def _service(request_s: float, cold_s: float = 0.0, max_concurrent: int = 1) -> Service:
    return Service(
        request_time_s=Constant(value_s=request_s),
        cold_start_s=Constant(value_s=cold_s),
        max_concurrent=max_concurrent,
    )


@pytest.mark.slow
def test_overload_503_rate_matches_erlang_b_and_queueing_reduces_it(tmp_path: Path) -> None:
    """2 replicas x 1 slot, no queue: the 503 rate is Erlang B; a queue wait lowers it."""
    times = poisson_times(20.0, 15.0, seed=7)
    with start_local_deployment(
        SLEEP_SCORE, deployment=_fixed(2, 0.0), service=_service(0.1), log_dir=tmp_path / "a"
    ) as d:
        results = send_poisson(d.url, times)
        stats = d.stats()
    statuses = np.array([s for s, _ in results])
    assert set(statuses) <= {200, 503}
    n = len(statuses)
    assert stats["requests"] == stats["answered"] == n
    assert sum(stats["counts"].values()) == n
    # Erlang B is insensitive to the service distribution: offered load = rate x mean holding
    # time of a slot, as the router measured it (0.1 s plus the real cost of the hop).
    service_s = stats["busy_seconds"] / stats["dispatched"]
    assert 0.1 <= service_s < 0.11
    expected = erlang_b(2, n / 15.0 * service_s)
    rate_503 = float(np.mean(statuses == 503))
    se = math.sqrt(expected * (1 - expected) / n)
    assert abs(rate_503 - expected) < 4 * se + 0.02, (rate_503, expected, n)

    with start_local_deployment(
        SLEEP_SCORE, deployment=_fixed(2, 0.5), service=_service(0.1), log_dir=tmp_path / "b"
    ) as d:
        queued = send_poisson(d.url, times[times < 8.0])
        stats_q = d.stats()
    rate_503_queued = float(np.mean([s == 503 for s, _ in queued]))
    assert stats_q["answered"] == len(queued)
    assert rate_503_queued < rate_503 - 4 * se, (rate_503_queued, rate_503)
    waited = [lat for s, lat in queued if s == 200]
    assert max(waited) > 0.15  # some 200s waited in the queue


@pytest.mark.slow
def test_azureml_autoscaler_scales_up_under_load_and_back_down(tmp_path: Path) -> None:
    """Sustained load raises ready replicas above min; after the delay they return to min."""
    deployment = Deployment(
        autoscaler="azureml",
        replicas=1,
        min_replicas=1,
        max_replicas=4,
        target_utilization=0.7,
        refresh_s=0.5,
        scale_down_delay_s=2.0,
        max_request_wait_s=2.0,
    )
    with start_local_deployment(
        SLEEP_SCORE, deployment=deployment, service=_service(0.1, 0.5), log_dir=tmp_path
    ) as d:
        results = send_poisson(d.url, poisson_times(20.0, 6.0, seed=3))
        peak = d.stats()
        deadline = time.monotonic() + 15.0
        while d.stats()["replicas"]["ready"] > 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        after = d.stats()
    assert peak["replicas"]["ready"] + peak["replicas"]["starting"] >= 3, peak
    assert after["replicas"]["ready"] == 1 and after["desired"] == 1, after
    assert after["answered"] == after["requests"] == len(results)
    assert after["replica_starts"] >= 3
    # the scale-ups' request-to-ready times include the 0.5 s cold start on top of the real start
    assert after["replica_start_s"]["count"] >= 2  # the first one and at least one scale-up
    assert after["replica_start_s"]["min"] >= 0.5


@pytest.mark.slow
def test_stats_report_each_replica_request_to_ready_time(tmp_path: Path) -> None:
    """replica_start_s: one per replica started, each >= cold_start_s and within the wall time."""
    cold_s = 0.4
    t0 = time.monotonic()
    with start_local_deployment(
        SLEEP_SCORE, deployment=_fixed(3, 0.0), service=_service(0.01, cold_s), log_dir=tmp_path
    ) as d:
        wall_s = time.monotonic() - t0  # router start + every replica ready: an upper bound
        stats = d.stats()
    starts = stats["replica_start_s"]
    assert starts["count"] == stats["replica_starts"] == 3
    samples = starts["samples_s"]
    assert len(samples) == 3 and starts["last"] == samples[-1]
    assert starts["min"] == min(samples) and starts["max"] == max(samples)
    assert starts["mean"] == pytest.approx(sum(samples) / 3, abs=1e-5)
    assert cold_s <= starts["min"] <= starts["mean"] <= starts["max"] < wall_s
    per_replica = sorted(r["start_s"] for r in stats["replica_list"])
    assert per_replica == pytest.approx(sorted(samples), abs=1e-5)


def test_serve_help_and_missing_score_is_one_line_error(tmp_path: Path) -> None:
    """`planner serve --help` works; a missing score.py is a one-line error with exit 2."""
    runner = CliRunner()
    result = runner.invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    assert "max_request_wait_s" in result.output
    result = runner.invoke(app, ["serve", str(tmp_path / "missing.py")])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"Error: score script not found: {tmp_path / 'missing.py'}"
    ]


def test_logs_without_a_run_is_one_line_error(tmp_path: Path) -> None:
    """`planner logs` on an empty dir explains itself; with logs it prints them by replica."""
    runner = CliRunner()
    result = runner.invoke(app, ["logs", "--log-dir", str(tmp_path / "none")])
    assert result.exit_code == 2
    assert "run `planner serve` first" in result.output
    (tmp_path / "replica-0.log").write_text("a\nb\n")
    (tmp_path / "replica-1.log").write_text("c\n")
    result = runner.invoke(app, ["logs", "--log-dir", str(tmp_path)])
    assert result.output.splitlines() == ["[replica-0] a", "[replica-0] b", "[replica-1] c"]
    result = runner.invoke(app, ["logs", "--log-dir", str(tmp_path), "--replica", "1"])
    assert result.output.splitlines() == ["c"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
def test_sigint_drains_and_leaves_no_replica_processes(tmp_path: Path) -> None:
    """Ctrl-C on `planner serve`: exit 0 within seconds, every replica process gone."""
    config = tmp_path / "deployment.yaml"
    config.write_text(
        "deployment: {autoscaler: none, replicas: 2}\n"
        "service: {request_time_s: 0.01, cold_start_s: 0}\n"
    )
    port = _free_port()
    cmd = [sys.executable, "-c", "from planner.cli import main; main()", "serve", str(SLEEP_SCORE)]
    cmd += ["--config", str(config)]
    cmd += ["--port", str(port), "--log-dir", str(tmp_path / "logs")]
    out = tmp_path / "serve.out"
    with out.open("wb") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        pids: list[int] = []
        while time.monotonic() < deadline:
            try:
                stats = httpx.get(f"{url}/stats").json()
            except httpx.TransportError:
                stats = {"replicas": {"ready": 0}}
            if stats["replicas"]["ready"] == 2:
                pids = [r["pid"] for r in stats["replica_list"]]
                break
            time.sleep(0.1)
        assert len(pids) == 2
        assert httpx.post(f"{url}/score", content=b"{}").status_code == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
        deadline = time.monotonic() + 5
        while any(map(_alive, pids)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(map(_alive, pids))
        printed = out.read_text()
        assert f"planner serve: {url}/score" in printed
        assert "all replicas terminated" in printed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_temporary_log_dir_is_removed_on_stop(tmp_path: Path) -> None:
    """Without a log_dir the temporary folder is gone after stop(); a given one stays."""
    score = tmp_path / "score.py"
    score.write_text("def init():\n    pass\n\ndef run(raw):\n    return raw\n")
    deployment = Deployment(autoscaler="none", replicas=1)
    service = Service(request_time_s=Constant(value_s=0.01), cold_start_s=Constant(value_s=0.0))
    temporary = start_local_deployment(score, deployment=deployment, service=service)
    folder = temporary.log_dir
    assert folder.is_dir()
    temporary.stop()
    assert not folder.exists()
    kept = tmp_path / "logs"
    with start_local_deployment(score, deployment=deployment, service=service, log_dir=kept):
        pass
    assert (kept / "router.log").is_file()
