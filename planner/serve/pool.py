"""The router's replica pool and FIFO queue: slots, admission, 503 after the queue wait.

Each ready replica offers `max_concurrent` slots; a slot owns one keep-alive connection to its
replica. A request takes a free slot at once, or waits in one FIFO queue for at most
`max_request_wait_s` (0 = no queue: 503 when nothing is free), as azureml-fe does. The pool also
keeps the counters the autoscaler observes (busy and queued, and their time integrals).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from planner.serve.wire import Connection


class Rejected(Exception):
    """The request gets 503: no slot became free within the queue wait."""


class NotDelivered(ConnectionError):
    """The replica refused the connection: the request never reached it (retry elsewhere)."""


class State(StrEnum):
    """Lifecycle of a replica, as shown by /stats."""

    PENDING = "pending"  # with a node pool: waiting for a node or its image pull
    STARTING = "starting"
    BACKOFF = "backoff"  # start failed; waiting before the next try (CrashLoopBackOff)
    READY = "ready"
    DRAINING = "draining"


class Replica:
    """One replica as the router sees it: process facts, slots, and start-failure history."""

    def __init__(self, replica_id: int, *, port: int = 0, slots: int = 1) -> None:
        self.id = replica_id
        self.state = State.STARTING
        self.port = port
        self.pid: int | None = None
        self.n_slots = slots
        self.free: list[Slot] = []
        self.in_flight = 0
        self.starts = 0
        self.restarts = 0
        self.failures = 0  # consecutive failed starts
        self.crash_loop = False
        self.last_error: str | None = None
        self.backoff_s = 0.0  # the current CrashLoopBackOff delay
        self.requested_at = 0.0  # monotonic time the supervisor decided to (re)start it
        self.start_s: float | None = None  # its last request-to-ready time
        self.stopping = False
        self.generation = 0  # the reload/update this replica was started for
        self.idle = asyncio.Event()

    def summary(self) -> dict[str, Any]:
        """A JSON-ready description for /stats."""
        return {
            "id": self.id,
            "state": self.state.value,
            "pid": self.pid,
            "port": self.port,
            "in_flight": self.in_flight,
            "restarts": self.restarts,
            "start_s": None if self.start_s is None else round(self.start_s, 6),
            "crash_loop": self.crash_loop,
            "failures": self.failures,
            "backoff_s": self.backoff_s,
            "last_error": self.last_error,
            "generation": self.generation,
        }


class Slot:
    """Room for one request on a replica, with its own connection."""

    __slots__ = ("conn", "replica")

    def __init__(self, replica: Replica) -> None:
        self.replica = replica
        self.conn: Connection | None = None

    async def forward(
        self,
        body: bytes,
        content_type: bytes,
        *,
        method: bytes = b"POST",
        path: bytes = b"/score",
        headers: bytes = b"",
    ) -> tuple[int, bytes, bytes]:
        """Send the request to the replica; raise ConnectionError if it dies first.

        `headers` are raw header lines (each ending in CRLF) passed on from the client.

        NotDelivered when no connection can be opened (the replica is gone: nothing was sent).
        A 5xx flagged `x-ms-run-function-failed: True` (run() raised, or its answer was not
        JSON) becomes 502, as azureml-fe answers it; any other status passes through.
        """
        if self.conn is None or self.conn.stale:
            if self.conn is not None:
                self.conn.close()
            try:
                self.conn = await Connection.open("127.0.0.1", self.replica.port)
            except OSError as exc:
                self.conn = None
                raise NotDelivered(f"replica {self.replica.id} refused the connection") from exc
        conn = self.conn
        status, ctype, answer = await conn.request(method, path, body, content_type, headers)
        if status >= 500 and conn.run_failed:
            status = 502
        return status, ctype, answer

    def close(self) -> None:
        """Drop the connection (the replica is gone or the response was lost)."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Pool:
    """Ready replicas, the FIFO queue, and the busy/queued counters with their time integrals."""

    def __init__(self, *, max_request_wait_s: float, clock: Callable[[], float] = time.monotonic):
        self.max_request_wait_s = max_request_wait_s
        self.clock = clock
        self.ready: list[Replica] = []
        self.queue: deque[asyncio.Future[Slot]] = deque()
        self.busy = 0  # in service on ready (not draining) replicas
        self.queued = 0
        self._t_last = clock()
        self._t_obs = self._t_last
        self._busy_area = 0.0
        self._queued_area = 0.0
        self.busy_seconds = 0.0  # integral of busy since start (not reset)
        self.dispatched = 0  # requests that got a slot

    # -- counters -------------------------------------------------------------------------
    def _advance(self) -> None:
        now = self.clock()
        dt = now - self._t_last
        self._busy_area += self.busy * dt
        self.busy_seconds += self.busy * dt
        self._queued_area += self.queued * dt
        self._t_last = now

    def averages(self) -> tuple[float, float]:
        """Time-averages of busy and queued since the previous call (then reset)."""
        self._advance()
        span = self._t_last - self._t_obs
        if span <= 0:
            result = (float(self.busy), float(self.queued))
        else:
            result = (self._busy_area / span, self._queued_area / span)
        self._busy_area = self._queued_area = 0.0
        self._t_obs = self._t_last
        return result

    # -- replicas -------------------------------------------------------------------------
    def add_ready(self, replica: Replica) -> None:
        """Start routing to a replica that reported ready; serve the queue first."""
        replica.state = State.READY
        replica.free = [Slot(replica) for _ in range(replica.n_slots)]
        replica.in_flight = 0
        replica.idle.set()
        self.ready.append(replica)
        self._pump()

    def withdraw(self, replica: Replica, state: State) -> None:
        """Stop routing to a replica (draining, or dead); its in-flight work stays with it."""
        if replica in self.ready:
            self.ready.remove(replica)
            self._advance()
            self.busy -= replica.in_flight
        replica.state = state
        for slot in replica.free:
            slot.close()
        replica.free = []

    # -- requests -------------------------------------------------------------------------
    def _take_free(self) -> Slot | None:
        best: Replica | None = None
        for replica in self.ready:
            if replica.free and (best is None or len(replica.free) > len(best.free)):
                best = replica
        if best is None:
            return None
        slot = best.free.pop()
        self._advance()
        best.in_flight += 1
        best.idle.clear()
        self.busy += 1
        self.dispatched += 1
        return slot

    async def acquire(self, wait_s: float | None = None, *, first: bool = False) -> Slot:
        """A free slot now, or the first one freed within the queue wait; else Rejected (503).

        `wait_s` (default `max_request_wait_s`) and `first` (head of the queue) are for a
        request whose slot turned out dead (`discard`): it keeps its place and its deadline.
        """
        slot = self._take_free()
        if slot is not None:
            return slot
        if wait_s is None:
            if self.max_request_wait_s <= 0:
                raise Rejected("no replica free and max_request_wait_s is 0")
            wait_s = self.max_request_wait_s
        if wait_s <= 0:
            raise Rejected(
                f"no replica free within max_request_wait_s ({self.max_request_wait_s:g} s)"
            )
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Slot] = loop.create_future()
        self._advance()
        if first:
            self.queue.appendleft(fut)
        else:
            self.queue.append(fut)
        self.queued += 1
        timer = loop.call_later(wait_s, self._expire, fut)
        try:
            return await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                self.release(fut.result())
            elif not fut.done() or fut.cancelled():
                self._advance()
                self.queued -= 1
            raise
        finally:
            timer.cancel()

    def _expire(self, fut: asyncio.Future[Slot]) -> None:
        if fut.done():
            return
        self._advance()
        self.queued -= 1
        wait_s = self.max_request_wait_s
        fut.set_exception(Rejected(f"no replica free within max_request_wait_s ({wait_s:g} s)"))

    def _pump(self) -> None:
        queue = self.queue
        while queue:
            if queue[0].done():
                queue.popleft()
                continue
            slot = self._take_free()
            if slot is None:
                return
            fut = queue.popleft()
            self._advance()
            self.queued -= 1
            fut.set_result(slot)

    def discard(self, slot: Slot, *, delivered: bool) -> None:
        """A slot whose connection failed: drop it, never hand it out again.

        The replica is gone (the supervisor restarts it with fresh slots); a new request on its
        slot would only find a closing socket. A request that was not `delivered` (connection
        refused) did not use the slot and is not counted as dispatched.
        """
        replica = slot.replica
        replica.in_flight -= 1
        self._advance()
        if not delivered:
            self.dispatched -= 1
        if replica.state is State.READY:
            self.busy -= 1
        slot.close()
        if replica.in_flight == 0:
            replica.idle.set()

    def release(self, slot: Slot) -> None:
        """A request left its slot (answered, failed, or its late answer after a 504 arrived)."""
        replica = slot.replica
        replica.in_flight -= 1
        if replica.state is State.READY:
            self._advance()
            self.busy -= 1
            replica.free.append(slot)
            self._pump()
        else:
            slot.close()
        if replica.in_flight == 0:
            replica.idle.set()
