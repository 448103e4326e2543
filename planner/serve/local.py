"""`start_local_deployment`: the router in a subprocess on 127.0.0.1, for tests and load tests.

    with start_local_deployment("score.py", deployment=dep, service=svc) as d:
        httpx.post(d.url + "/score", json={...}); d.stats()

The router runs as `python -m planner.serve.router` in its own process (it exits when this
process dies), writes its URL to a ready file once it listens, and by default this function then
waits until the initial replicas are ready. Failures raise DeploymentError with the log tail.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from planner.errors import DeploymentError
from planner.serve.config import ServeConfig, check_key, check_runtime, check_score_path
from planner.serve.logs import clear_logs, log_tail, replica_log_path

if TYPE_CHECKING:
    from planner.scenario import Deployment, Service
    from planner.scenario_nodes import Nodes


class LocalDeployment:
    """A running local deployment: `.url`, `.stats()`, `.stop()`; a context manager."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        url: str,
        log_dir: Path,
        *,
        remove_log_dir: bool = False,
        key: str | None = None,
    ) -> None:
        self.process = process
        self.url = url
        self.log_dir = log_dir
        self._remove_log_dir = remove_log_dir  # a temporary folder of our own
        headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
        self._client = httpx.Client(timeout=10.0, headers=headers)

    def stats(self) -> dict[str, Any]:
        """The router's /stats document."""
        response = self._client.get(f"{self.url}/stats")
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def router_log(self, lines: int = 40) -> str:
        """The tail of the router's own log."""
        return log_tail(self.log_dir / "router.log", lines=lines)

    def stop(self, timeout_s: float = 30.0) -> int:
        """SIGTERM the router (it drains and stops every replica); its exit status."""
        self._client.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._remove_log_dir:
            shutil.rmtree(self.log_dir, ignore_errors=True)
        return int(self.process.returncode)

    def __enter__(self) -> LocalDeployment:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_local_deployment(
    score_path: str | Path,
    *,
    deployment: Deployment,
    service: Service,
    nodes: Nodes | None = None,
    port: int = 0,
    log_dir: str | Path | None = None,
    key: str | None = None,
    seed: int = 0,
    backoff_base_s: float = 10.0,
    backoff_cap_s: float = 300.0,
    drain_timeout_s: float = 30.0,
    replica_env: dict[str, str] | None = None,
    runtime: str = "azureml",
    models: dict[str, Path] | None = None,
    debug_errors: bool = False,
    wait_for_replicas: bool = True,
    timeout_s: float = 60.0,
) -> LocalDeployment:
    """Start router + replicas on 127.0.0.1 and wait until they serve (bounded by `timeout_s`).

    Logs go to `log_dir`; without one, to a temporary folder that `stop()` removes (after a
    failed start too: its log tail is in the error). `runtime`, `models` and `debug_errors`
    are those of `ServeConfig`, and so is `nodes` (the node pool; None: unlimited). The key
    reaches the router in its environment: the config file written to `log_dir` never holds it.

    Raises:
        DeploymentError: the script is missing, the router exits, a replica is in a crash loop
            while waiting for replicas, or `timeout_s` passes; the message carries the log tail.
    """
    score = check_score_path(score_path)
    check_runtime(runtime)
    check_key(key)
    logs = Path(log_dir) if log_dir is not None else Path(tempfile.mkdtemp(prefix="planner-serve-"))
    clear_logs(logs)
    config = ServeConfig(
        score_path=score,
        deployment=deployment,
        service=service,
        nodes=nodes,
        port=port,
        log_dir=logs.resolve(),
        key=None,
        seed=seed,
        backoff_base_s=backoff_base_s,
        backoff_cap_s=backoff_cap_s,
        drain_timeout_s=drain_timeout_s,
        replica_env=tuple((replica_env or {}).items()),
        runtime=runtime,
        models=tuple((models or {}).items()),
        debug_errors=debug_errors,
    )
    config_file = logs / "serve-config.pickle"
    config_file.write_bytes(pickle.dumps(config))
    ready_file = logs / "router.json"
    ready_file.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "planner.serve.router", "--config", str(config_file)]
    cmd += ["--ready-file", str(ready_file), "--parent-pid", str(os.getpid())]
    env = {k: v for k, v in os.environ.items() if k != "PLANNER_KEY"}
    if key is not None:
        env["PLANNER_KEY"] = key
    with open(logs / "router.log", "ab") as router_log:
        process = subprocess.Popen(cmd, stdout=router_log, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + timeout_s
    while not ready_file.exists():
        if process.poll() is not None:
            tail = log_tail(logs / "router.log")
            raise DeploymentError(f"router exited with status {process.returncode}:\n{tail}")
        if time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise DeploymentError(f"router not listening after {timeout_s:g} s (timeout_s)")
        time.sleep(0.02)
    url = json.loads(ready_file.read_text())["url"]
    local = LocalDeployment(process, url, logs, remove_log_dir=log_dir is None, key=key)
    if wait_for_replicas:
        from planner.serve.router import initial_replicas

        _wait_replicas(local, initial_replicas(deployment), deadline, timeout_s)
    return local


def _wait_replicas(local: LocalDeployment, count: int, deadline: float, timeout_s: float) -> None:
    while True:
        stats = local.stats()
        if stats["replicas"]["ready"] >= count:
            return
        failing = [r for r in stats["replica_list"] if r["crash_loop"]]
        if failing or time.monotonic() > deadline:
            tail = ""
            if failing:
                tail = log_tail(replica_log_path(local.log_dir, failing[0]["id"]), lines=60)
            local.stop()
            if failing:
                raise DeploymentError(
                    f"replica {failing[0]['id']} failed to start (CrashLoopBackOff); its log:\n"
                    f"{tail}"
                )
            raise DeploymentError(
                f"{stats['replicas']['ready']} of {count} replicas ready after {timeout_s:g} s"
            )
        time.sleep(0.05)
