"""A replica worker process: runs a score.py behind one HTTP server bound to 127.0.0.1.

Run as `python -m planner.serve.replica --score score.py [--runtime azureml|builtin]`.

- `azureml` (the default): Azure ML's own inference server (`planner.serve.azureml`) hosts the
  script, exactly as in the platform's image: its init/run contract, inference-schema,
  `@rawhttp`, `AZUREML_MODEL_DIR` (`--model-dir`), `GET /`, `/swagger.json` and its answers.
- `builtin`: a light server for scripts that do not run on Azure ML: import the script, call
  `init()`, and pass the raw body, decoded as UTF-8, to `run()`. A dict/list/str/number result is
  strict JSON with 200; an object with `status_code` (Azure's `AMLResponse`, or `ScoreResponse`)
  sets the status and body.

In both, an exception in `run()` answers 500 with the inference server's generic message and the
header `x-ms-run-function-failed: True` (the router turns it into 502); the exception text goes
to the replica log, and into the body only with `--debug-errors`. An answer that is not valid
JSON (an object, a generator, NaN or Infinity) is a 500 with a log line saying so.

Start-up follows Azure ML: import the script, call `init()`, then sleep `--extra-start-s` (the
scenario's cold start on top of the real start) and only then listen. Readiness is a line
`READY <port>` written to `--ready-fd` (a pipe from the supervisor) and logged. A script that
fails to import or whose `init()` raises prints its traceback (to the replica log) and exits
with status 3.
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
_JSON_HEADERS = [(b"content-type", _JSON)]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]
Handler = Callable[[Scope, bytes], Answer]


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


def _strict(value: Any) -> bytes:
    """JSON of a run() result; ValueError/TypeError for NaN, Infinity or non-JSON objects."""
    return json.dumps(value, allow_nan=False).encode()


def encode_result(result: Any) -> tuple[int, bytes, bytes]:
    """Turn what run() returned into (status, content-type, body); TypeError/ValueError if the
    result has no JSON form (an object, a generator, NaN or Infinity)."""
    status = getattr(result, "status_code", None)
    if isinstance(status, int):
        if hasattr(result, "get_data"):  # flask/AMLResponse
            return status, _JSON, bytes(result.get_data())
        message = getattr(result, "message", getattr(result, "body", b""))
        if isinstance(message, bytes):
            return status, _JSON, message
        if isinstance(message, str) and (getattr(result, "json_str", False) or status >= 400):
            return status, _JSON, _strict({"error": message} if status >= 400 else message)
        return status, _JSON, _strict(message)
    if isinstance(result, bytes):
        return 200, b"application/octet-stream", result
    return 200, _JSON, _strict(result)


def builtin_handler(run: Callable[[str], Any], *, debug_errors: bool) -> Handler:
    """The light runtime: POST bodies to run(), GET is liveness."""
    from planner.serve.azureml import NOT_JSON_MESSAGE, SCORE_FAILED_MESSAGE, generic_error

    def handle(scope: Scope, body: bytes) -> Answer:
        if scope["method"] == "GET":
            return 200, _JSON_HEADERS, b'{"status": "ready"}'
        try:
            result = run(body.decode("utf-8", errors="replace"))
        except Exception as exc:
            traceback.print_exc()
            error = f"{type(exc).__name__}: {exc}" if debug_errors else None
            return generic_error(500, SCORE_FAILED_MESSAGE, error)
        try:
            status, ctype, payload = encode_result(result)
        except (TypeError, ValueError) as exc:
            print(
                f"planner: run() returned {type(result).__name__}, which is not valid JSON "
                f"({exc}): answering 500",
                flush=True,
            )
            return generic_error(500, NOT_JSON_MESSAGE)
        return status, [(b"content-type", ctype)], payload

    return handle


def azureml_handler(score: Path, model_dir: Path | None, *, debug_errors: bool) -> Handler:
    """Azure ML's inference server for `score` (imports it and runs init() now)."""
    from planner.serve.azureml import call_wsgi, load_app

    app, errors = load_app(score, model_dir)

    def handle(scope: Scope, body: bytes) -> Answer:
        return call_wsgi(app, errors, dict(scope), body, debug_errors=debug_errors)

    return handle


def make_app(handler: Handler, max_concurrent: int) -> Callable[..., Awaitable[None]]:
    """The replica's raw ASGI app: every request runs `handler` in a pool of worker threads."""
    from planner.serve._uvicorn import read_body

    pool = ThreadPoolExecutor(max_workers=max_concurrent, thread_name_prefix="run")

    def call(scope: Scope, body: bytes) -> Answer:
        try:
            return handler(scope, body)
        except Exception:  # a fault of the hosting code itself: keep the replica serving
            traceback.print_exc()
            return 500, _JSON_HEADERS, b'{"message": "internal error in the replica"}'

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request_body = await read_body(receive)
        loop = asyncio.get_running_loop()
        status, headers, body = await loop.run_in_executor(pool, call, scope, request_body)
        headers = [h for h in headers if h[0] != b"content-length"]
        headers.append((b"content-length", b"%d" % len(body)))
        await send({"type": "http.response.start", "status": status, "headers": headers})
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
    parser.add_argument("--runtime", choices=("azureml", "builtin"), default="azureml")
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--debug-errors", action="store_true")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--max-concurrent", type=int, default=1)
    parser.add_argument("--extra-start-s", type=float, default=0.0)
    parser.add_argument("--ready-fd", type=int, default=None)
    parser.add_argument("--parent-pid", type=int, default=None)
    args = parser.parse_args(argv)
    if args.parent_pid is not None:
        threading.Thread(target=_watch_parent, args=(args.parent_pid,), daemon=True).start()
    t0 = time.monotonic()
    score = args.score.resolve()
    try:
        if args.runtime == "azureml":
            handler = azureml_handler(score, args.model_dir, debug_errors=args.debug_errors)
        else:
            if args.model_dir is not None:
                os.environ["AZUREML_MODEL_DIR"] = str(args.model_dir)
            module = load_score_module(score)
            init = getattr(module, "init", None)
            if callable(init):
                init()
            handler = builtin_handler(module.run, debug_errors=args.debug_errors)
    except BaseException as exc:
        if not isinstance(exc, SystemExit):  # the inference server logged its own traceback
            traceback.print_exc()
        print(f"replica start failed: {type(exc).__name__}: {exc}", flush=True)
        return EXIT_START_FAILED
    if args.extra_start_s > 0:
        time.sleep(args.extra_start_s)
    elapsed = time.monotonic() - t0
    print(f"init() done; started in {elapsed:.3f} s (cold_start_s {args.extra_start_s:.3f})")
    asyncio.run(_serve(make_app(handler, args.max_concurrent), args.port, args.ready_fd))
    return 0


if __name__ == "__main__":
    sys.exit(main())
