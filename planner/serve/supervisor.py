"""Replica processes and the autoscaler loop: start, watch, restart with back-off, drain, stop.

The supervisor lives in the router process. Every `policy.interval_s` it builds an
`Observation` from the real pool (ready, starting, busy, queued and their time averages) and
asks the very policy object the simulator uses (`planner.autoscalers.make_policy`) for the
desired count; it then starts replica processes or drains surplus ones (starting replicas are
cancelled first, then the ready ones with the least work; a draining replica gets no new
requests and is terminated once its in-flight requests are answered).

A replica that exits before it is ready (score.py fails to import, `init()` raises, start budget
exceeded) is retried after `backoff_base_s * 2**(k-1)` seconds, capped at `backoff_cap_s`, where k
counts consecutive failed starts: Kubernetes' CrashLoopBackOff. /stats shows `crash_loop` and the
tail of its log. A ready replica that dies (killed, crashed) is restarted at once; its in-flight
requests get 502 from the router because their connection closes.

Each replica's request-to-ready time (from the moment the supervisor decides to start it, or to
restart it after it died, to the moment it reports ready; failed starts and their back-off
included) is kept in `StartTimes`, shown in /stats as `replica_start_s`. It is the real
counterpart of the scenario's `cold_start_s`: process start, imports, `init()` and the
configured cold start on top. Measured off the request path (no per-request cost).

With a node pool (`ServeConfig.nodes`), a new replica first asks `planner.serve.nodes` for a
node: it is `pending` until it has one and while the node pulls the image, and only then does
its process start. Its `replica_start_s` is then the part the scenario's `cold_start_s` stands
for (process start to ready); /stats gives the node wait, provisioning and image pull apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import shutil
import signal
import sys
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from planner.serve.config import ENV_REPLICA_ID, ENV_REQUEST_TIME, ENV_SEED, distribution_to_json
from planner.serve.logs import failure_line, log_tail, replica_log_path
from planner.serve.models import layout_models
from planner.serve.nodes import ServeNodes
from planner.serve.pool import Pool, Replica, State

if TYPE_CHECKING:
    from planner.autoscalers import Policy
    from planner.serve.config import ServeConfig


def backoff_s(failures: int, base_s: float, cap_s: float) -> float:
    """CrashLoopBackOff delay before the next start after `failures` consecutive failures."""
    if failures <= 0:
        return 0.0
    return float(min(cap_s, base_s * 2.0 ** (failures - 1)))


class StartTimes:
    """Request-to-ready times of replica starts: count, mean, min, max, last, recent samples."""

    def __init__(self, keep: int = 10_000) -> None:
        self.keep = keep
        self.count = 0
        self.total_s = 0.0
        self.min_s = math.inf
        self.max_s = -math.inf
        self.samples_s: deque[float] = deque(maxlen=keep)

    def add(self, start_s: float) -> None:
        """Record one start that reached ready."""
        self.count += 1
        self.total_s += start_s
        self.min_s = min(self.min_s, start_s)
        self.max_s = max(self.max_s, start_s)
        self.samples_s.append(start_s)

    def summary(self) -> dict[str, Any]:
        """JSON-ready: count, mean, min, max, last (None before the first start) and samples_s.

        `samples_s` holds the most recent `keep` starts, oldest first (all of them until then).
        """
        if not self.count:
            return {"count": 0, "mean": None, "min": None, "max": None, "last": None,
                    "samples_s": []}  # fmt: skip
        return {
            "count": self.count,
            "mean": round(self.total_s / self.count, 6),
            "min": round(self.min_s, 6),
            "max": round(self.max_s, 6),
            "last": round(self.samples_s[-1], 6),
            "samples_s": [round(x, 6) for x in self.samples_s],
        }


def _kill_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


class Supervisor:
    """Owns the replica processes of one deployment and runs the autoscaler loop."""

    def __init__(self, config: ServeConfig, pool: Pool, policy: Policy) -> None:
        self.config = config
        self.pool = pool
        self.policy = policy
        self.replicas: list[Replica] = []
        self.desired = 0
        self.started_total = 0
        self.stopped_total = 0
        self.start_times = StartTimes()
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._procs: dict[int, asyncio.subprocess.Process] = {}
        # monotonic time each replica's first process start began (after any node wait)
        self._started_at: dict[int, float] = {}
        self._next_id = 0
        self._rng = np.random.default_rng(config.seed)
        self._control: asyncio.Task[None] | None = None
        self._stopping: set[asyncio.Task[None]] = set()
        self._t0 = time.monotonic()
        self.nodes: ServeNodes | None = None
        if config.nodes is not None:
            # A stream of its own: the cold starts draw the same values with or without nodes.
            node_rng = np.random.default_rng(np.random.SeedSequence(config.seed).spawn(1)[0])
            self.nodes = ServeNodes(config.nodes, config.service, node_rng, t0=self._t0)
        self._node_loop: asyncio.Task[None] | None = None
        self._env = self._replica_env()
        self.generation = 0  # bumped by every reload/update; each replica records its own
        self.rolling = False  # a rolling restart is under way: the autoscaler waits
        self._models_root = Path(tempfile.mkdtemp(prefix="planner-models-"))
        self.model_dir = layout_models(dict(config.models), self._models_root / "0")

    def use_policy(self, policy: Policy, desired: int) -> None:
        """A new autoscaler policy (after a config change): its own control loop from now on.

        The loop is restarted because its period is the policy's (a fixed count has none).
        """
        self.policy = policy
        self.desired = desired
        if self._control is not None:
            self._control.cancel()
        self._control = asyncio.create_task(self._control_loop())
        self._env = self._replica_env()

    def _replica_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("PLANNER_KEY", None)
        env[ENV_REQUEST_TIME] = distribution_to_json(self.config.service.request_time_s)
        env[ENV_SEED] = str(self.config.seed)
        env["PYTHONUNBUFFERED"] = "1"
        env.update(dict(self.config.replica_env))
        return env

    # -- lifecycle --------------------------------------------------------------------------
    def start(self, initial: int) -> None:
        """Launch the initial replicas and the control loop (returns at once)."""
        self.desired = initial
        for _ in range(initial):
            self.launch()
        if self.nodes is not None:
            # NOTE: after the launches, so that the first scan (at 0 s) sees the initial
            # replicas that found no room, as the simulator's first scan does.
            self._node_loop = asyncio.create_task(self.nodes.run())
        self._control = asyncio.create_task(self._control_loop())

    async def shutdown(self) -> None:
        """Stop the control loop, drain and terminate every replica."""
        if self._control is not None:
            self._control.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._control
        await asyncio.gather(*(self.stop(r) for r in list(self.replicas)))
        if self._node_loop is not None:
            self._node_loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._node_loop
        shutil.rmtree(self._models_root, ignore_errors=True)

    def launch(self) -> Replica:
        """Create a replica and start its process in the background."""
        replica = Replica(self._next_id, slots=self.config.service.max_concurrent)
        replica.generation = self.generation
        replica.requested_at = time.monotonic()
        self._next_id += 1
        self.replicas.append(replica)
        self._tasks[replica.id] = asyncio.create_task(self._run(replica))
        return replica

    async def stop(self, replica: Replica) -> None:
        """Drain (no new requests; wait for in-flight, bounded) and terminate one replica."""
        if replica.stopping:
            return
        replica.stopping = True
        if replica.state is State.READY:
            self.pool.withdraw(replica, State.DRAINING)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(replica.idle.wait(), self.config.drain_timeout_s)
        task = self._tasks.get(replica.id)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- one replica ------------------------------------------------------------------------
    async def _run(self, replica: Replica) -> None:
        try:
            if self.nodes is not None:
                await self._wait_for_node(replica, self.nodes)
            self._started_at[replica.id] = time.monotonic()
            while not replica.stopping:
                if replica.failures:
                    replica.state = State.BACKOFF
                    cfg = self.config
                    delay_s = backoff_s(replica.failures, cfg.backoff_base_s, cfg.backoff_cap_s)
                    replica.backoff_s = delay_s
                    await asyncio.sleep(delay_s)
                    replica.state = State.STARTING
                await self._run_once(replica)
        finally:
            proc = self._procs.pop(replica.id, None)
            if proc is not None:
                await self._terminate(proc)
            self.pool.withdraw(replica, replica.state)
            if self.nodes is not None:
                self.nodes.release(replica.id, self.nodes.now())
            replica.idle.set()
            if replica in self.replicas:
                self.replicas.remove(replica)
                self.stopped_total += 1
            self._tasks.pop(replica.id, None)
            self._started_at.pop(replica.id, None)

    async def _wait_for_node(self, replica: Replica, nodes: ServeNodes) -> None:
        """Pending until the cluster gives the replica a node, then through its image pull."""
        replica.state = State.PENDING
        placement = await nodes.wait_for_node(replica.id)
        await asyncio.sleep(max(0.0, placement.start_s - nodes.now()))
        replica.state = State.STARTING
        replica.requested_at = time.monotonic()  # its cold start begins: the process starts

    async def _run_once(self, replica: Replica) -> None:
        cfg = self.config
        cold_start_s = float(cfg.service.cold_start_s.sample(self._rng, 1)[0])
        log_path = replica_log_path(cfg.log_dir, replica.id)
        replica.starts += 1
        replica.restarts = replica.starts - 1
        self.started_total += 1
        read_fd, write_fd = os.pipe()
        with open(log_path, "ab") as log:
            log.write(
                f"--- planner: replica {replica.id} start #{replica.starts} at "
                f"{time.strftime('%H:%M:%S')} (cold_start_s {cold_start_s:.3f}) ---\n".encode()
            )
            log.flush()
            env = {**self._env, ENV_REPLICA_ID: str(replica.id)}
            extra = ["--model-dir", str(self.model_dir)] if self.model_dir is not None else []
            if cfg.debug_errors:
                extra.append("--debug-errors")
            try:
                proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "planner.serve.replica",
                    "--score", str(cfg.score_path),
                    "--runtime", cfg.runtime, *extra,
                    "--max-concurrent", str(cfg.service.max_concurrent),
                    "--extra-start-s", f"{cold_start_s:.6f}",
                    "--ready-fd", str(write_fd),
                    "--parent-pid", str(os.getpid()),
                    stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
                    pass_fds=(write_fd,), start_new_session=True, env=env,
                )  # fmt: skip
            except BaseException:
                os.close(read_fd)
                raise
            finally:
                os.close(write_fd)
        self._procs[replica.id] = proc
        replica.pid = proc.pid
        port = await self._wait_ready(proc, read_fd)
        if port is None:
            await self._terminate(proc)
            self._procs.pop(replica.id, None)
            replica.failures += 1
            replica.crash_loop = True
            replica.last_error = log_tail(log_path, lines=40)
            if not replica.stopping:
                next_s = backoff_s(replica.failures, cfg.backoff_base_s, cfg.backoff_cap_s)
                print(
                    f"planner serve: replica {replica.id} failed to start "
                    f"({failure_line(replica.last_error)}); CrashLoopBackOff, next try in "
                    f"{next_s:g} s; its traceback: `planner logs --replica {replica.id}`",
                    flush=True,
                )
            return
        replica.port = port
        replica.start_s = time.monotonic() - replica.requested_at
        self.start_times.add(replica.start_s)
        if self.nodes is not None:
            self.nodes.mark_ready(replica.id, self.nodes.now())
        replica.failures = 0
        replica.backoff_s = 0.0
        replica.crash_loop = False
        self.pool.add_ready(replica)
        await proc.wait()
        # The process ended while serving: withdraw it (in-flight requests get 502) and restart.
        self._procs.pop(replica.id, None)
        self.pool.withdraw(replica, State.STARTING)
        replica.requested_at = time.monotonic()  # restarted at once: a new request-to-ready
        if not replica.stopping:
            replica.last_error = f"exited with status {proc.returncode} while serving"

    async def _wait_ready(self, proc: asyncio.subprocess.Process, read_fd: int) -> int | None:
        """The port the replica reports, or None if it exits or overruns the start budget."""
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_fd, "rb", 0)
        )
        try:
            line = await asyncio.wait_for(reader.readline(), self.config.start_timeout_s)
        except TimeoutError:
            return None
        finally:
            transport.close()
        if not line.startswith(b"READY "):
            return None
        return int(line.split()[1])

    async def _terminate(self, proc: asyncio.subprocess.Process) -> None:
        if proc.returncode is None:
            _kill_group(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 5.0)
            except TimeoutError:
                _kill_group(proc.pid, signal.SIGKILL)
                await proc.wait()
        else:
            _kill_group(proc.pid, signal.SIGKILL)  # children score.py may have left behind

    # -- autoscaler -------------------------------------------------------------------------
    def observe(self) -> Any:
        """The Observation of the real state, as the simulator builds it."""
        from planner.autoscalers import Observation

        busy_avg, queued_avg = self.pool.averages()
        active = [r for r in self.replicas if not r.stopping]
        ready = sum(1 for r in active if r.state is State.READY)
        return Observation(
            t_s=time.monotonic() - self._t0,
            ready=ready,
            starting=len(active) - ready,
            busy=self.pool.busy,
            queued=self.pool.queued,
            busy_avg=busy_avg,
            queued_avg=queued_avg,
        )

    # -- reload and update ------------------------------------------------------------------
    def set_models(self, models: dict[str, Path]) -> None:
        """Lay out new model files for the replicas started from now on."""
        root = self._models_root / str(self.generation + 1)
        shutil.rmtree(root, ignore_errors=True)
        self.model_dir = layout_models(models, root)

    async def roll(self, timeout_s: float | None = None) -> dict[str, Any]:
        """Rolling restart: replace every replica, one at a time, surge first (Kubernetes'
        RollingUpdate with maxSurge 1, maxUnavailable 0).

        For each old replica a new one (new score.py import, new config and models) is started;
        once it is ready the old one is drained: it takes no new requests, answers its
        in-flight ones and is stopped. Queued requests wait in the router's queue as usual and
        are served by whichever replica frees first, so none is dropped. If a new replica fails
        to start (crash loop, or not ready within `timeout_s`, default the start budget), it is
        stopped, the remaining old replicas keep serving, and the result says why.

        With a node pool the start budget begins when the new replica's process starts, as a
        Kubernetes startup probe's does: its wait for a node (Pending, node provisioning, image
        pull) is not part of it. It waits for a node as long as one can come; when none can
        (the pool is at max_nodes, none is provisioning, and an old replica leaves only after
        the new one is ready), the roll fails at once.
        """
        self.generation += 1
        generation = self.generation
        limit_s = self.config.start_timeout_s if timeout_s is None else timeout_s
        self.rolling = True
        replaced = 0
        try:
            old = [r for r in self.replicas if not r.stopping and r.generation < generation]
            for replica in old:
                if replica.stopping:
                    continue
                new = self.launch()
                while new.state is not State.READY:
                    started = self._started_at.get(new.id)
                    late = started is not None and time.monotonic() > started + limit_s
                    stuck = self._no_node_can_come(new)
                    if new.crash_loop or late or new.stopping or stuck:
                        reason = (
                            "no node can come for the new replica (the pool is at max_nodes)"
                            if stuck
                            else f"not ready after {limit_s:g} s"
                        )
                        error = new.last_error or reason
                        await self.stop(new)
                        return {"ok": False, "generation": generation, "replaced": replaced,
                                "failed_replica": new.id, "error": error}  # fmt: skip
                    await asyncio.sleep(0.02)
                await self.stop(replica)
                replaced += 1
        finally:
            self.rolling = False
        return {"ok": True, "generation": generation, "replaced": replaced}

    def _no_node_can_come(self, replica: Replica) -> bool:
        """Replica Pending on a pool at max_nodes with no node provisioning: no node will come."""
        nodes = self.nodes
        if nodes is None or replica.id not in nodes.cluster.pending:
            return False
        c = nodes.cluster
        return len(c.nodes) >= c.max_nodes and c.provisioning_nodes(nodes.now()) == 0

    async def _control_loop(self) -> None:
        interval_s = float(self.policy.interval_s)
        next_t = time.monotonic()
        while True:
            next_t += interval_s
            await asyncio.sleep(max(0.0, next_t - time.monotonic()))
            self.desired = int(self.policy.decide(self.observe()))
            if not self.rolling:
                self.reconcile(self.desired)

    def reconcile(self, desired: int) -> None:
        """Start or drain replicas so that the active (not stopping) count becomes `desired`."""
        active = [r for r in self.replicas if not r.stopping]
        if desired > len(active):
            for _ in range(desired - len(active)):
                self.launch()
        elif desired < len(active):
            # Pending pods go first, as a ReplicaSet scales down unscheduled pods first.
            rank = {State.PENDING: 0, State.BACKOFF: 0, State.STARTING: 1, State.READY: 2}
            victims = sorted(active, key=lambda r: (rank.get(r.state, 0), r.in_flight, -r.id))
            for replica in victims[: len(active) - desired]:
                task = asyncio.create_task(self.stop(replica))
                self._stopping.add(task)
                task.add_done_callback(self._stopping.discard)
