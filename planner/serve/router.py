"""The router: one asyncio process (starlette on uvicorn) in front of the replica processes.

Routes, with azureml-fe's semantics (docs/autoscalers.md §1.2):
- `POST /score` (also `/`): a free replica slot at once, else the FIFO queue; **503** with a
  JSON reason after `max_request_wait_s` in the queue (0 = no queue). Forwarded to the replica;
  **504** after `scoring_timeout_s` of scoring (the replica keeps working and its slot stays busy
  until the late answer arrives or the replica is replaced: Azure ML does not cancel either);
  **502** when `run()` raises (the inference server's 500 flagged `x-ms-run-function-failed`)
  or the replica process dies before answering. Other statuses of the replica pass through.
  The body goes to `run()` untouched, with the client's headers except hop-by-hop ones and
  the key; a script decides what bad input means (the example answers 400 on a body that is
  not JSON). Header `azureml-model-deployment` is accepted and
  ignored. Error bodies are generic: details go to the logs (see docs/serve.md).
- With a key, every endpoint but liveness needs `Authorization: Bearer <key>` (401 otherwise),
  compared in constant time.
- `GET /swagger.json`: forwarded to a replica (the inference server's schema).
- `POST /-/reload` and `POST /-/update` (JSON `{"config": path, "models": {name: path}}`):
  rolling restart of every replica (`Supervisor.roll`); 200 with the outcome, 500 if a new
  replica failed to start (the old ones keep serving).
- `GET /stats`: replicas by state, busy, queued, desired, counts by status, uptime; the slot
  time so far (`busy_seconds / dispatched`) and each replica's request-to-ready time
  (`replica_start_s`: count, mean, min, max, last, samples_s; see `supervisor.StartTimes`).
  With a node pool, `nodes` (nodes_ready, nodes_provisioning, pods_pending, each node, the
  phases' means and maxima) and each replica's node and phases (`planner.serve.nodes`).
- `GET /` and `GET /health`: liveness.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import functools
import gc
import hmac
import json
import os
import pickle
import sys
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from planner.errors import PlannerError
from planner.serve._uvicorn import bind, make_server, read_body
from planner.serve.pool import NotDelivered, Pool, Rejected, Slot, State

_SCORE = ("/score", "/")
_LIVENESS = ("/", "/health")
# Headers the router does not pass on: hop-by-hop ones (RFC 9110 §7.6.1), those it sets itself,
# and the key (score.py has no business with it). The rest reach run() (`@rawhttp`,
# `request_headers`), as azureml-fe forwards them.
_NOT_FORWARDED = frozenset(
    {b"host", b"content-length", b"content-type", b"authorization", b"connection",
     b"keep-alive", b"transfer-encoding", b"te", b"trailer", b"upgrade", b"proxy-authorization",
     b"proxy-connection", b"expect"}
)  # fmt: skip
_JSON = b"application/json"

if TYPE_CHECKING:
    from planner.serve.config import ServeConfig
    from planner.serve.supervisor import Supervisor


def initial_replicas(deployment: Any) -> int:
    """Replicas to start with: `replicas`, within min..max unless the autoscaler is none."""
    if deployment.autoscaler == "none":
        return int(deployment.replicas)
    return int(min(max(deployment.replicas, deployment.min_replicas), deployment.max_replicas))


class Router:
    """Request handling and statistics; the supervisor owns the processes."""

    def __init__(self, config: ServeConfig) -> None:
        from planner.autoscalers import make_policy
        from planner.serve.supervisor import Supervisor

        self.config = config
        dep = config.deployment
        self.pool = Pool(max_request_wait_s=dep.max_request_wait_s)
        policy = make_policy(dep, config.service.max_concurrent)
        self.supervisor: Supervisor = Supervisor(config, self.pool, policy)
        self.timeout_s = dep.scoring_timeout_s
        self.auth = f"Bearer {config.key}".encode() if config.key is not None else None
        self._roll_lock = asyncio.Lock()
        self.requests = 0
        self.counts: Counter[int] = Counter()
        self.t_start = time.monotonic()
        self.app = Starlette(
            routes=[
                Route("/", self.health, methods=["GET"]),
                Route("/health", self.health, methods=["GET"]),
                Route("/stats", self.stats, methods=["GET"]),
                Route("/swagger.json", self.swagger, methods=["GET"]),
                Route("/-/reload", self.reload, methods=["POST"]),
                Route("/-/update", self.update, methods=["POST"]),
            ],
            lifespan=self.lifespan,
        )

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        """Start the replicas and the autoscaler with the server; drain them at shutdown."""
        self.supervisor.start(initial_replicas(self.config.deployment))
        try:
            yield
        finally:
            await self.supervisor.shutdown()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """ASGI entry: POST /score (and POST /) on a raw fast path, the rest via starlette."""
        if (
            scope["type"] == "http"
            and not (scope["method"] == "GET" and scope["path"] in _LIVENESS)
            and not self.authorized(scope["headers"])
        ):
            await read_body(receive)
            if scope["method"] == "POST" and scope["path"] in _SCORE:
                self.requests += 1
            status, ctype, payload = self._error(401, "missing or wrong Authorization: Bearer key")
            headers = [(b"content-type", ctype), (b"content-length", b"%d" % len(payload))]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": payload})
            return
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] in _SCORE:
            body = await read_body(receive)
            status, ctype, payload = await self.handle(scope["headers"], body)
            headers = [(b"content-type", ctype), (b"content-length", b"%d" % len(payload))]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": payload})
        else:
            await self.app(scope, receive, send)

    def authorized(self, headers: list[tuple[bytes, bytes]]) -> bool:
        """No key, or `Authorization: Bearer <key>` (compared in constant time)."""
        if self.auth is None:
            return True
        for name, value in headers:
            if name == b"authorization":
                return hmac.compare_digest(value, self.auth)
        return False

    def _error(self, status: int, error: str) -> tuple[int, bytes, bytes]:
        self.counts[status] += 1
        return status, _JSON, json.dumps({"error": error, "status": status}).encode()

    async def handle(
        self, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> tuple[int, bytes, bytes]:
        """Queue, forward, and map the outcome to Azure ML's status codes."""
        self.requests += 1
        ctype = _JSON
        passed: list[bytes] = []
        for name, value in headers:
            if name == b"content-type":
                ctype = value
            elif name not in _NOT_FORWARDED and b"\r" not in value and b"\n" not in value:
                passed.append(b"%s: %s\r\n" % (name, value))
        extra = b"".join(passed)
        deadline = time.monotonic() + self.pool.max_request_wait_s
        wait_s: float | None = None  # first try: the full queue wait
        while True:
            try:
                slot = await self.pool.acquire(wait_s, first=wait_s is not None)
            except Rejected as exc:
                return self._error(503, f"Too many requests (overloaded): {exc}")
            forward = asyncio.ensure_future(slot.forward(body, ctype, headers=extra))
            forward.add_done_callback(functools.partial(self._finished, slot))
            done, _ = await asyncio.wait((forward,), timeout=self.timeout_s)
            if not done:
                limit = f"scoring_timeout_s ({self.timeout_s:g} s)"
                return self._error(504, f"scoring took longer than {limit}")
            failure = forward.exception()
            if not isinstance(failure, NotDelivered):
                break
            # NOTE: a dead replica's slot (nothing was sent): try another within the queue wait.
            wait_s = max(0.0, deadline - time.monotonic())
        if failure is not None:
            print(f"replica {slot.replica.id} closed the connection before replying: {failure!r}")
            return self._error(502, "the replica closed the connection before replying")
        result: tuple[int, bytes, bytes] = forward.result()
        self.counts[result[0]] += 1
        return result

    def _finished(self, slot: Slot, forward: asyncio.Future[Any]) -> None:
        if forward.cancelled():
            self.pool.discard(slot, delivered=True)
        elif (failure := forward.exception()) is not None:
            self.pool.discard(slot, delivered=not isinstance(failure, NotDelivered))
        else:
            self.pool.release(slot)

    async def health(self, request: Request) -> Response:
        """Liveness: the router answers."""
        return JSONResponse({"status": "alive"})

    def snapshot(self) -> dict[str, Any]:
        """The /stats document."""
        sup = self.supervisor
        states = Counter(r.state.value for r in sup.replicas)
        # "pending" (waiting for a node) exists only with a node pool
        shown = [s for s in State if s is not State.PENDING or sup.nodes is not None]
        nodes = sup.nodes
        replica_list = [
            r.summary() if nodes is None else {**r.summary(), **nodes.replica_doc(r.id)}
            for r in sup.replicas
        ]  # with a node pool, each replica's node and phases too
        doc: dict[str, Any] = {
            "uptime_s": round(time.monotonic() - self.t_start, 3),
            "replicas": {s.value: states.get(s.value, 0) for s in shown},
            "desired": sup.desired,
            "busy": self.pool.busy,
            "queued": self.pool.queued,
            "requests": self.requests,
            "dispatched": self.pool.dispatched,
            "busy_seconds": round(self.pool.busy_seconds, 6),
            "counts": {str(k): v for k, v in sorted(self.counts.items())},
            "answered": sum(self.counts.values()),
            "crash_loop": any(r.crash_loop for r in sup.replicas),
            "replica_starts": sup.started_total,
            "replica_start_s": sup.start_times.summary(),
            "replica_list": replica_list,
            "log_dir": str(self.config.log_dir),
        }
        if nodes is not None:
            doc["nodes"] = nodes.summary(nodes.now())
        return doc

    async def stats(self, request: Request) -> Response:
        """GET /stats."""
        return JSONResponse(self.snapshot())

    async def swagger(self, request: Request) -> Response:
        """GET /swagger.json: the inference server's schema, from a free replica."""
        try:
            slot = await self.pool.acquire()
        except Rejected as exc:
            return JSONResponse({"error": f"Too many requests (overloaded): {exc}"}, 503)
        path = b"/swagger.json?" + request.url.query.encode()
        forward = asyncio.ensure_future(slot.forward(b"", _JSON, method=b"GET", path=path))
        forward.add_done_callback(functools.partial(self._finished, slot))
        try:
            status, ctype, body = await asyncio.wait_for(forward, self.timeout_s)
        except (TimeoutError, ConnectionError):
            return JSONResponse({"error": "the replica did not answer"}, 502)
        return Response(body, status, media_type=ctype.decode("latin-1"))

    async def reload(self, request: Request) -> Response:
        """POST /-/reload: re-import score.py in every replica (rolling)."""
        async with self._roll_lock:
            result = await self.supervisor.roll()
        return JSONResponse(result, 200 if result["ok"] else 500)

    async def update(self, request: Request) -> Response:
        """POST /-/update: new deployment/service blocks and/or models, then a rolling restart."""
        from planner.serve.config import load_serve_settings
        from planner.serve.models import parse_models

        try:
            spec = json.loads(await request.body() or b"{}")
            if not isinstance(spec, dict):
                raise PlannerError("the body must be a JSON object")
            changes: dict[str, Any] = {}
            if spec.get("config") is not None:
                deployment, service, nodes = load_serve_settings(spec["config"])
                old = self.config.service
                resized = (service.cpu, service.memory_gb) != (old.cpu, old.memory_gb)
                if nodes != self.config.nodes or (nodes is not None and resized):
                    raise PlannerError(
                        "nodes: the node pool (and the pod size on it) of a running deployment "
                        "cannot change; stop it and start it with the new config"
                    )
                changes["deployment"], changes["service"] = deployment, service
            models = parse_models(spec["models"]) if spec.get("models") is not None else None
        except (PlannerError, ValueError) as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, 400)
        async with self._roll_lock:
            if changes:
                self.apply(dataclasses.replace(self.config, **changes))
            if models is not None:
                self.config = dataclasses.replace(self.config, models=tuple(models.items()))
                self.supervisor.config = self.config
                self.supervisor.set_models(models)
            result = await self.supervisor.roll()
            if changes:  # the new replica count now, not at the policy's next tick
                self.supervisor.reconcile(self.supervisor.desired)
        return JSONResponse(result, 200 if result["ok"] else 500)

    def apply(self, config: ServeConfig) -> None:
        """Use new deployment/service settings (queue wait, timeout, autoscaler) from now on."""
        from planner.autoscalers import make_policy

        self.config = config
        dep = config.deployment
        self.pool.max_request_wait_s = dep.max_request_wait_s
        self.timeout_s = dep.scoring_timeout_s
        sup = self.supervisor
        sup.config = config
        sup.use_policy(make_policy(dep, config.service.max_concurrent), initial_replicas(dep))


def run_router(
    config: ServeConfig,
    *,
    ready_file: Path | None = None,
    announce: bool = True,
    on_ready: Callable[[str], None] | None = None,
) -> int:
    """Serve until SIGINT/SIGTERM, then drain and stop every replica; returns the exit status.

    `on_ready(url)` is called once the router listens (the `--reload` watcher starts there).
    """
    router = Router(config)
    sock = bind(config.host, config.port)
    port = sock.getsockname()[1]
    server = make_server(router, graceful_s=config.drain_timeout_s)
    url = f"http://{config.host}:{port}"

    async def main() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        if server.started:
            gc.freeze()  # NOTE: start-up objects leave the collector's view: fewer long pauses
            if announce:
                print(
                    f"planner serve: {url}/score  (stats {url}/stats; replica logs in "
                    f"{config.log_dir}; Ctrl-C to stop)",
                    flush=True,
                )
            if on_ready is not None:
                on_ready(url)
            if ready_file is not None:
                tmp = ready_file.with_suffix(".tmp")
                tmp.write_text(json.dumps({"url": url, "pid": os.getpid()}))
                tmp.replace(ready_file)
        await task

    asyncio.run(main())
    if announce:
        print("planner serve: stopped; all replicas terminated.", flush=True)
    return 0


def _watch_parent(parent_pid: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent_pid:
            os.kill(os.getpid(), 15)
            return


def main(argv: list[str] | None = None) -> int:
    """`python -m planner.serve.router --config CONFIG.pickle --ready-file F` (the Python API)."""
    parser = argparse.ArgumentParser(prog="python -m planner.serve.router")
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--ready-file", type=Path, default=None)
    parser.add_argument("--parent-pid", type=int, default=None)
    args = parser.parse_args(argv)
    config = pickle.loads(args.config.read_bytes())  # written by start_local_deployment
    # The key comes through the environment only (never a file), and goes no further: replicas
    # get a copy of this environment, and score.py has no business with it.
    key = os.environ.pop("PLANNER_KEY", None)
    if key is not None:
        config = dataclasses.replace(config, key=key)
    if args.parent_pid is not None:
        threading.Thread(target=_watch_parent, args=(args.parent_pid,), daemon=True).start()
    try:
        return run_router(config, ready_file=args.ready_file, announce=False)
    except PlannerError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
