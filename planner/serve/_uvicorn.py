"""uvicorn glue shared by the router and the replicas: a server that exits 0 on a signal.

Also `read_body(receive)`, the ASGI request body both raw fast paths read.

uvicorn re-raises SIGINT/SIGTERM after a graceful shutdown, so the process would end with
KeyboardInterrupt or a signal status; here a signal means "stop cleanly" and nothing more.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
from collections.abc import Awaitable, Callable, Generator, MutableMapping
from typing import Any, Literal

import uvicorn

from planner.errors import DeploymentError

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


async def read_body(receive: Callable[[], Awaitable[MutableMapping[str, Any]]]) -> bytes:
    """The whole request body from an ASGI `receive` (all http.request messages joined)."""
    chunks = []
    more = True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


class QuietServer(uvicorn.Server):
    """uvicorn.Server whose signal handlers request a graceful exit and are not re-raised."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        """Install handlers that set `should_exit` (a second SIGINT forces the exit)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        original = {sig: signal.signal(sig, self.handle_exit) for sig in _SIGNALS}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


def make_server(
    app: Any,
    *,
    keep_alive_s: float = 3600.0,
    graceful_s: float = 30.0,
    lifespan: Literal["auto", "on", "off"] = "on",
) -> QuietServer:
    """A uvicorn server for `app` on asyncio + h11, without access log or lifespan noise."""
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        loop="asyncio",
        http="h11",
        lifespan=lifespan,
        timeout_keep_alive=int(keep_alive_s),
        timeout_graceful_shutdown=int(graceful_s),
        backlog=2048,
    )
    return QuietServer(config)


def bind(host: str, port: int) -> socket.socket:
    """Bind and listen on host:port (0 = a free port); DeploymentError if the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # NOTE: proto must be IPPROTO_TCP (not 0): asyncio sets TCP_NODELAY only on sockets that say
    # so, and accepted sockets inherit it. Without it every response waits ~40 ms (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise DeploymentError(f"cannot listen on {host}:{port} (--port/--host): {exc}") from None
    sock.listen(2048)
    sock.set_inheritable(False)
    return sock
