"""A replica worker process: loads a score.py, calls `init()` once, then `run(input_data)` per POST.

Run as `python -m planner.serve.replica --score score.py [--port 0]`. Start-up follows Azure ML:
import the script, call `init()`, then sleep `--extra-start-s` (the scenario's cold start on top
of the real start) and only then listen. Readiness is a line `READY <port>` written to
`--ready-fd` (a pipe from the supervisor) and logged. A script that fails to import or whose
`init()` raises prints its traceback (to the replica log) and exits with status 3.

HTTP: `POST /score` (any path except the health ones) passes the raw body, decoded as UTF-8, to
`run()` in a pool of `--max-concurrent` threads. A dict/list/str/number result is returned as
JSON with 200; an object with `status_code` (Azure's `AMLResponse`, or `ScoreResponse` here) sets
the status and body; an exception in `run()` answers 502 with `{"error": "<Type>: <message>"}`.
`GET /` and `GET /health` answer 200 once ready.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.util
import json
import os
import sys
import threading
import time
import traceback
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

EXIT_START_FAILED = 3
_JSON = b"application/json"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def load_score_module(path: Path) -> ModuleType:
    """Import score.py as module `score` (its folder first on sys.path, like Azure ML)."""
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location("score", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["score"] = module
    spec.loader.exec_module(module)
    if not callable(getattr(module, "run", None)):
        raise AttributeError(f"{path} defines no run(input_data) function")
    return module


def encode_result(result: Any) -> tuple[int, bytes, bytes]:
    """Turn what run() returned into (status, content-type, body)."""
    status = getattr(result, "status_code", None)
    if isinstance(status, int):
        if hasattr(result, "get_data"):  # flask/AMLResponse
            return status, _JSON, bytes(result.get_data())
        message = getattr(result, "message", getattr(result, "body", b""))
        if isinstance(message, bytes):
            return status, _JSON, message
        if isinstance(message, str) and (getattr(result, "json_str", False) or status >= 400):
            body = json.dumps({"error": message} if status >= 400 else message)
            return status, _JSON, body.encode()
        return status, _JSON, json.dumps(message).encode()
    if isinstance(result, bytes):
        return 200, b"application/octet-stream", result
    return 200, _JSON, json.dumps(result, default=str).encode()


def make_app(run: Callable[[str], Any], max_concurrent: int) -> Callable[..., Awaitable[None]]:
    """The replica's raw ASGI app (no framework: it sits on the hot path)."""
    from planner.serve._uvicorn import read_body

    pool = ThreadPoolExecutor(max_workers=max_concurrent, thread_name_prefix="run")

    def call(body: bytes) -> tuple[int, bytes, bytes]:
        try:
            return encode_result(run(body.decode("utf-8", errors="replace")))
        except Exception as exc:  # the script's error is the client's answer: 502, like Azure
            traceback.print_exc()
            error = json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode()
            return 502, _JSON, error

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] == "GET":
            status, ctype, body = 200, _JSON, b'{"status": "ready"}'
        else:
            request_body = await read_body(receive)
            loop = asyncio.get_running_loop()
            status, ctype, body = await loop.run_in_executor(pool, call, request_body)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", ctype), (b"content-length", b"%d" % len(body))],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


def _watch_parent(parent_pid: int) -> None:
    """Exit when the supervising process is gone, so no replica outlives its router."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent_pid:
            os._exit(0)


async def _serve(app: Any, port: int, ready_fd: int | None) -> None:
    from planner.serve._uvicorn import bind, make_server

    sock = bind("127.0.0.1", port)
    server = make_server(app, lifespan="off", graceful_s=5)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.005)
    gc.freeze()  # NOTE: the loaded model leaves the collector's view: fewer long pauses
    actual = sock.getsockname()[1]
    print(f"replica ready on 127.0.0.1:{actual}", flush=True)
    if ready_fd is not None:
        os.write(ready_fd, f"READY {actual}\n".encode())
        os.close(ready_fd)
    await task


def main(argv: list[str] | None = None) -> int:
    """Entry point of a replica process; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m planner.serve.replica")
    parser.add_argument("--score", required=True, type=Path)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--max-concurrent", type=int, default=1)
    parser.add_argument("--extra-start-s", type=float, default=0.0)
    parser.add_argument("--ready-fd", type=int, default=None)
    parser.add_argument("--parent-pid", type=int, default=None)
    args = parser.parse_args(argv)
    if args.parent_pid is not None:
        threading.Thread(target=_watch_parent, args=(args.parent_pid,), daemon=True).start()
    t0 = time.monotonic()
    try:
        module = load_score_module(args.score.resolve())
        init = getattr(module, "init", None)
        if callable(init):
            init()
    except BaseException as exc:
        traceback.print_exc()
        print(f"replica start failed: {type(exc).__name__}: {exc}", flush=True)
        return EXIT_START_FAILED
    if args.extra_start_s > 0:
        time.sleep(args.extra_start_s)
    elapsed = time.monotonic() - t0
    print(f"init() done; started in {elapsed:.3f} s (cold_start_s {args.extra_start_s:.3f})")
    asyncio.run(_serve(make_app(module.run, args.max_concurrent), args.port, args.ready_fd))
    return 0


if __name__ == "__main__":
    sys.exit(main())
