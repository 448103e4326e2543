"""A minimal HTTP/1.1 keep-alive client on asyncio streams: the router's hop to a replica.

One `Connection` carries one request at a time (a replica slot owns one connection), so there
is no pooling, no pipelining and nothing to lock. It writes a request with Content-Length and
reads a response framed by Content-Length or chunked encoding; `run_failed` tells whether the
last answer carried Azure ML's `x-ms-run-function-failed: True` header. Compared with httpx
this cuts the per-request cost of the hop to a few tens of microseconds; the benchmark load
generator uses it too. A connection the peer closes raises `ConnectionError` (or
`IncompleteReadError`).
"""

from __future__ import annotations

import asyncio

_MAX_LINE = 65536


class Connection:
    """One keep-alive HTTP/1.1 connection to host:port."""

    __slots__ = ("_host", "_reader", "_writer", "closed", "run_failed")

    def __init__(self, host: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self._host = host.encode()
        self._reader = reader
        self._writer = writer
        self.closed = False
        self.run_failed = False  # the last answer said `x-ms-run-function-failed: True`

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        """Connect (raises OSError when nobody listens)."""
        reader, writer = await asyncio.open_connection(host, port, limit=_MAX_LINE)
        return cls(host, reader, writer)

    @property
    def stale(self) -> bool:
        """Closed here, or by the peer (e.g. its keep-alive expired): open a new one."""
        return self.closed or self._reader.at_eof()

    def close(self) -> None:
        """Close the socket; a request in progress on it fails."""
        self.closed = True
        self._writer.close()

    async def request(
        self,
        method: bytes,
        path: bytes,
        body: bytes = b"",
        content_type: bytes = b"application/json",
        headers: bytes = b"",
    ) -> tuple[int, bytes, bytes]:
        """Send one request; return (status, content-type, body).

        `headers` is extra raw header lines, each ending in CRLF.
        """
        if self.closed or self._reader.at_eof():
            self.closed = True
            raise ConnectionResetError("connection closed")
        head = b"%s %s HTTP/1.1\r\nhost: %s\r\ncontent-type: %s\r\ncontent-length: %d\r\n%s\r\n" % (
            method,
            path,
            self._host,
            content_type,
            len(body),
            headers,
        )
        try:
            self._writer.write(head + body if len(body) < 65536 else head)
            if len(body) >= 65536:
                self._writer.write(body)
            return await self._read_response()
        except BaseException:
            self.close()
            raise

    async def _read_response(self) -> tuple[int, bytes, bytes]:
        reader = self._reader
        line = await reader.readline()
        if not line:
            raise ConnectionResetError("peer closed the connection before replying")
        parts = line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
            raise ConnectionError(f"bad status line: {line[:80]!r}")
        status = int(parts[1])
        length = -1
        chunked = False
        close = parts[0] == b"HTTP/1.0"
        ctype = b"application/octet-stream"
        self.run_failed = False
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b"\n"):
                break
            if not line:
                raise ConnectionResetError("peer closed the connection in the headers")
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            value = value.strip()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"content-type":
                ctype = value
            elif name == b"connection":
                close = value.lower() == b"close"
            elif name == b"x-ms-run-function-failed":
                self.run_failed = value.lower() == b"true"
        if chunked:
            body = await self._read_chunked()
        elif length >= 0:
            body = await reader.readexactly(length)
        else:
            body = await reader.read()
            close = True
        if close:
            self.close()
        return status, ctype, body

    async def _read_chunked(self) -> bytes:
        reader = self._reader
        chunks: list[bytes] = []
        while True:
            size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
