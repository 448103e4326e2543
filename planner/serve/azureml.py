"""Azure ML's own inference server (`azureml-inference-server-http`) inside a replica process.

The package's CLI (`azmlinfsrv`) binds 0.0.0.0 under gunicorn; here its Flask app is hosted
instead, in the replica's own server bound to 127.0.0.1. The app is created the way the
package's `server/entry.py` creates it: importing it reads the environment
(`AZUREML_ENTRY_SCRIPT`, `AML_APP_ROOT`, `AZUREML_MODEL_DIR`), imports score.py and calls its
`init()`; a failing import or `init()` logs the traceback and exits with status 3, as in the
platform's image. So everything the server does is the platform's: the init/run contract,
inference-schema decorators, `@rawhttp`, `GET /` liveness, `/swagger.json`, its 500 when `run()`
raises (with the `x-ms-run-function-failed` header the router maps to 502).

On top of it, `call_wsgi` runs one request through the WSGI app in a worker thread and checks
the answer before it leaves the replica: a 200 `application/json` body that is not strict JSON
(the server's `json.dumps` writes NaN and Infinity) becomes a 500 with a log line.
"""

from __future__ import annotations

import io
import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

PACKAGE = "azureml_inference_server_http"
INSTALL_HINT = (
    "the azureml runtime needs Azure ML's inference server: pip install 'planner[azureml]' "
    "(azureml-inference-server-http), or use --runtime builtin"
)
RUN_FAILED_HEADER = "x-ms-run-function-failed"
SCORE_FAILED_MESSAGE = (
    "An unexpected error occurred in scoring script. Check the logs for more info."
)
NOT_JSON_MESSAGE = "run() returned an answer that is not valid JSON. Check the logs for more info."

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


def available() -> bool:
    """Whether the inference server package can be imported here."""
    import importlib.util

    return importlib.util.find_spec(PACKAGE) is not None


def server_environment(score: Path, model_dir: Path | None) -> dict[str, str]:
    """The variables the inference server reads, as the platform's image sets them."""
    env = {
        "AZUREML_ENTRY_SCRIPT": str(score),
        "AML_APP_ROOT": str(score.parent),
        # NOTE: the router enforces scoring_timeout_s (504); the server's own SIGALRM timeout
        # works only on the main thread, and requests run on worker threads here.
        "SCORING_TIMEOUT_MS": str(3600 * 1000),
    }
    if model_dir is not None:
        env["AZUREML_MODEL_DIR"] = str(model_dir)
    return env


class _LastError(logging.Handler):
    """Keeps, per worker thread, the last error the server logged (its run() traceback)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.local = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        self.local.message = record.getMessage()


def load_app(score: Path, model_dir: Path | None) -> tuple[WsgiApp, _LastError]:
    """Import the inference server's app for `score` (runs init(); SystemExit(3) if it fails)."""
    os.environ.update(server_environment(score, model_dir))
    sys.path.insert(0, str(score.parent))
    from azureml_inference_server_http.server.entry import app

    errors = _LastError()
    logging.getLogger("azmlinfsrv").addHandler(errors)
    return app.wsgi_app, errors


def _environ(method: str, path: str, query: bytes, headers: list[tuple[bytes, bytes]],
             body: bytes) -> dict[str, Any]:  # fmt: skip
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query.decode("latin-1"),
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "0",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in headers:
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        if name == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
        elif name != "CONTENT_LENGTH":
            key = f"HTTP_{name}"
            environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


def strict_json(body: bytes) -> bool:
    """Whether `body` is JSON as RFC 8259 defines it (no NaN, Infinity or -Infinity)."""

    def reject(constant: str) -> Any:
        raise ValueError(constant)

    try:
        json.loads(body, parse_constant=reject)
    except ValueError:
        return False
    return True


def generic_error(status: int, message: str, error: str | None = None) -> Answer:
    """A JSON error answer in the inference server's shape, flagged as a run() failure."""
    doc: dict[str, Any] = {"message": message}
    if error is not None:
        doc["error"] = error
    headers = [(b"content-type", b"application/json"), (RUN_FAILED_HEADER.encode(), b"True")]
    return status, headers, json.dumps(doc).encode()


def call_wsgi(
    app: WsgiApp,
    errors: _LastError,
    scope: dict[str, Any],
    body: bytes,
    *,
    debug_errors: bool,
) -> Answer:
    """One request through the WSGI app (in the calling worker thread), checked."""
    errors.local.message = None
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        started[:] = [status, headers]

    environ = _environ(
        scope["method"], scope["path"], scope.get("query_string", b""), scope["headers"], body
    )
    result = app(environ, start_response)
    try:
        payload = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    status = int(started[0].split(" ", 1)[0])
    header_list: list[tuple[str, str]] = started[1]
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in header_list]
    ctype = next((v for k, v in headers if k == b"content-type"), b"")
    if status == 200 and ctype.startswith(b"application/json") and not strict_json(payload):
        print(
            f"planner: run() answered {scope['method']} {scope['path']} with a body that is "
            f"not valid JSON (NaN/Infinity or a repr?): answering 500; first bytes "
            f"{payload[:80]!r}",
            flush=True,
        )
        return generic_error(500, NOT_JSON_MESSAGE)
    failed = any(k == RUN_FAILED_HEADER.encode() and v == b"True" for k, v in headers)
    if debug_errors and failed and errors.local.message:
        return generic_error(status, SCORE_FAILED_MESSAGE, errors.local.message)
    return status, headers, payload
