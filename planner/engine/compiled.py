"""`CompiledModel`: the `Model` whose request-level loop runs compiled (planner.engine.kernel).

The SimPy clock, the control loop, the replica lifecycle (cold start, ready, cancel, drain) and
the timeline stay those of `planner.model.Model`: this class inherits them and only replaces
the request-level state (heap, queue, free slots, latency buffer, records) with arrays and its
methods with calls into the kernel. The boundary is the one a node layer needs later: Python
decides when a replica is ready and calls `_fill_slots`; the loop only sees slots appear.

Random numbers are the Python engine's: the same numpy arrival chunks, and service times from
the same `SERVICE_BATCH`-sized batches consumed in the same order (a batch is drawn when the
kernel runs short, which changes when it is drawn, never which values come next).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from planner.engine import kernel as k
from planner.model import TIMED_OUT_KEEPS_SLOT, Model, ModelOutput

if TYPE_CHECKING:
    from planner.autoscalers import Policy
    from planner.scenario import Scenario

__all__ = ["CompiledModel"]

_LAT_ROOM = 1 << 15  # latencies buffered between two one-second samples before it grows
_Q_ROOM = 1024
_REC_ROOM = 1 << 14


def _float_state(i: int) -> Any:
    """A property that reads and writes f[i] of the kernel state as a Python float."""

    def get(self: CompiledModel) -> float:
        return float(self._f[i])

    def set_(self: CompiledModel, value: float) -> None:
        self._f[i] = value

    return property(get, set_)


def _int_state(i: int) -> Any:
    """A property that reads and writes n[i] of the kernel state as a Python int."""

    def get(self: CompiledModel) -> int:
        return int(self._n[i])

    def set_(self: CompiledModel, value: int) -> None:
        self._n[i] = value

    return property(get, set_)


def _grown(a: np.ndarray, keep: int, need: int) -> np.ndarray:
    """A larger copy of `a` (at least `need` rows, doubling) holding its first `keep` rows."""
    out = np.empty((max(need, 2 * a.shape[0]), *a.shape[1:]), dtype=a.dtype)
    out[:keep] = a[:keep]
    return out


class CompiledModel(Model):
    """`Model` with the request-level loop compiled; same results bit for bit, faster."""

    __slots__ = (
        "_args",
        "_arr_a",
        "_f",
        "_flags",
        "_free_a",
        "_heap_r",
        "_heap_t",
        "_lat_a",
        "_n",
        "_q_a",
        "_rec_a",
        "_svc_a",
        "_t503_a",
        "_t504_a",
    )  # fmt: skip

    # The scalars the kernel updates live in its state arrays; the inherited coarse code
    # reads and writes them through these properties (they shadow the base class slots).
    _acc_b = _float_state(k.F_ACC_B)
    _acc_q = _float_state(k.F_ACC_Q)
    _sum_wait = _float_state(k.F_SUM_WAIT)
    _sum_wait_fast = _float_state(k.F_SUM_WAIT_FAST)
    _s504_extra = _float_state(k.F_S504_EXTRA)
    _n503 = _int_state(k.N_503)
    _n504 = _int_state(k.N_504)
    _n_expired = _int_state(k.N_EXPIRED)
    _n_nofree = _int_state(k.N_NOFREE)
    _n_queued = _int_state(k.N_QUEUED)

    def __init__(
        self,
        scenario: Scenario,
        seed: int,
        *,
        policy: Policy | None = None,
        keep_requests: bool = False,
        timed_out_keeps_slot: bool = TIMED_OUT_KEEPS_SLOT,
    ) -> None:
        dep = scenario.deployment
        n_sec = max(1, math.ceil(float(scenario.duration_s)))
        slots = max(1, dep.replicas * scenario.service.max_concurrent)
        self._f = np.zeros(k.N_F, dtype=np.float64)
        self._n = np.zeros(k.N_N, dtype=np.int64)
        self._f[k.F_WAIT] = float(dep.max_request_wait_s)
        self._f[k.F_TIMEOUT] = float(dep.scoring_timeout_s)
        self._f[k.F_WARM] = float(scenario.warmup_s)
        self._f[k.F_LIMIT] = -1.0 if keep_requests else float(dep.scoring_timeout_s)
        self._f[k.F_TA] = math.inf
        self._n[k.N_SEC] = n_sec
        self._n[k.N_KEEP_SLOT] = int(timed_out_keeps_slot)
        self._n[k.N_RECORDS] = int(keep_requests)
        self._heap_t = np.empty(slots, dtype=np.float64)
        self._heap_r = np.empty(slots, dtype=np.int64)
        self._free_a = np.empty(slots, dtype=np.int64)
        self._flags = np.zeros(max(64, 2 * dep.replicas), dtype=np.int8)  # 1: replica draining
        self._q_a = np.empty(_Q_ROOM, dtype=np.float64)
        self._lat_a = np.empty(_LAT_ROOM, dtype=np.float64)
        self._svc_a = np.empty(0, dtype=np.float64)
        self._arr_a = np.empty(0, dtype=np.float64)
        self._t503_a = np.zeros(n_sec, dtype=np.int64)
        self._t504_a = np.zeros(n_sec, dtype=np.int64)
        self._rec_a = np.empty((_REC_ROOM if keep_requests else 0, 5), dtype=np.float64)
        self._pack()
        super().__init__(
            scenario,
            seed,
            policy=policy,
            keep_requests=keep_requests,
            timed_out_keeps_slot=timed_out_keeps_slot,
        )

    def _pack(self) -> None:
        """The kernel's arguments after the first (re-packed when an array is replaced)."""
        self._args = (
            self._f, self._n, self._heap_t, self._heap_r, self._q_a, self._free_a, self._flags,
            self._lat_a, self._svc_a, self._arr_a, self._t503_a, self._t504_a, self._rec_a,
        )  # fmt: skip

    # ------------------------------------------------------------------ room and streams

    def _make_room(self, n_svc: int) -> None:
        """At least `n_svc` service times ready, and room for `n_svc` starts and one arrival."""
        n = self._n
        left = int(n[k.N_SVC_N] - n[k.N_SVC_I])
        if left < n_svc:
            parts = [self._svc_a[n[k.N_SVC_I] : n[k.N_SVC_N]]]
            while left < n_svc:
                batch = np.asarray(next(self._svc_batches), dtype=np.float64)
                parts.append(batch)
                left += batch.size
            self._svc_a = np.concatenate(parts)
            n[k.N_SVC_I], n[k.N_SVC_N] = 0, left
        if n[k.N_LAT] + n_svc > self._lat_a.size:
            self._lat_a = _grown(self._lat_a, int(n[k.N_LAT]), int(n[k.N_LAT]) + n_svc)
        q_len = int(n[k.N_Q_LEN])
        if q_len + 1 > self._q_a.size:
            head = int(n[k.N_Q_HEAD])
            ring = np.concatenate([self._q_a[head:], self._q_a[:head]])
            self._q_a = _grown(ring, q_len, q_len + 1)
            n[k.N_Q_HEAD] = 0
        if n[k.N_RECORDS] and n[k.N_REC] + q_len + n_svc + 2 > self._rec_a.shape[0]:
            used = int(n[k.N_REC])
            self._rec_a = _grown(self._rec_a, used, used + q_len + n_svc + 2)
        self._pack()

    def _make_slots(self, rid: int, extra: int) -> None:
        """Heap and free-stack room for `extra` more slots, a draining flag for replica `rid`."""
        n = self._n
        need = int(n[k.N_HEAP] + n[k.N_FREE]) + extra
        if need > self._heap_t.size:
            self._heap_t = _grown(self._heap_t, int(n[k.N_HEAP]), need)
            self._heap_r = _grown(self._heap_r, int(n[k.N_HEAP]), need)
            self._free_a = _grown(self._free_a, int(n[k.N_FREE]), need)
        if rid >= self._flags.size:
            flags = np.zeros(max(rid + 1, 2 * self._flags.size), dtype=np.int8)
            flags[: self._flags.size] = self._flags
            self._flags = flags
        self._pack()

    def _load_chunk(self) -> None:
        """Hand the kernel the next numpy chunk of arrival times (or none: arrivals at inf)."""
        f, n = self._f, self._n
        for arr in self._arr_chunks:
            self._count_arrivals(arr)
            if arr.size:
                self._arr_a = np.ascontiguousarray(arr, dtype=np.float64)
                n[k.N_ARR_I], n[k.N_ARR_N] = 0, arr.size
                f[k.F_TA] = self._arr_a[0]
                self._pack()
                return
        self._arr_a = np.empty(0, dtype=np.float64)
        n[k.N_ARR_I] = n[k.N_ARR_N] = 0
        f[k.F_TA] = math.inf
        self._pack()

    # ------------------------------------------------------------------ the loop

    def _advance(self, t_stop: float) -> None:
        """Run the compiled loop up to `t_stop`, serving its requests for chunks and room."""
        advance = k.advance
        while True:
            code = advance(t_stop, *self._args)
            if code == k.DONE:
                return
            if code == k.NEED_ARRIVALS:
                self._load_chunk()
            elif code == k.NEED_ROOM:
                self._make_room(1)
            else:  # DRAINED: the replica lifecycle is Python's
                t = float(self._f[k.F_OUT_T])
                self._drain_one(int(self._n[k.N_OUT_RID]), t)
                self._f[k.F_ACC_B] += t

    def _expire(self, now: float) -> None:
        if not self._n[k.N_Q_LEN]:
            return  # nothing queued: skip the call (most coarse events)
        if self._n[k.N_RECORDS]:
            self._make_room(0)
        k.expire(now, self._f, self._n, self._q_a, self._t503_a, self._rec_a)

    # ------------------------------------------------------------------ request state

    def _add_free(self, rid: int, n: int) -> None:
        self._make_slots(rid, n)
        top = int(self._n[k.N_FREE])
        self._free_a[top : top + n] = rid
        self._n[k.N_FREE] = top + n

    def _fill_slots(self, rid: int, now: float) -> None:
        mc = self._mc
        self._make_slots(rid, mc)
        self._make_room(mc)
        k.fill_slots(rid, now, mc, self._f, self._n, self._heap_t, self._heap_r, self._q_a,
                     self._free_a, self._lat_a, self._svc_a, self._t503_a, self._t504_a,
                     self._rec_a)  # fmt: skip

    def _free_slots(self) -> list[int]:
        slots: list[int] = self._free_a[: self._n[k.N_FREE]].tolist()
        return slots

    def _set_free_slots(self, slots: list[int]) -> None:
        self._free_a[: len(slots)] = slots
        self._n[k.N_FREE] = len(slots)

    def _n_in_service(self) -> int:
        return int(self._n[k.N_HEAP])

    def _queue_len(self) -> int:
        return int(self._n[k.N_Q_LEN])

    def _n_lat_buffered(self) -> int:
        return int(self._n[k.N_LAT])

    def _flush_latencies(self) -> None:
        used = int(self._n[k.N_LAT])
        if not used:
            return
        lat = self._lat_a[:used].copy()
        self._n[k.N_LAT] = 0
        self._bin_latencies(lat)

    def _drain(self, now: float) -> None:
        super()._drain(now)
        for rid in self._draining:
            self._flags[rid] = 1

    def _drain_one(self, rid: int, t: float) -> None:
        super()._drain_one(rid, t)
        if rid not in self._draining:
            self._flags[rid] = 0

    # ------------------------------------------------------------------ output

    def _output(self) -> ModelOutput:
        self._t503 = self._t503_a.tolist()
        self._t504 = self._t504_a.tolist()
        if self._records is not None:
            rec = self._rec_a[: self._n[k.N_REC]]
            self._records = list(
                zip(
                    rec[:, 0].tolist(),
                    rec[:, 1].tolist(),
                    rec[:, 2].tolist(),
                    rec[:, 3].astype(np.int64).tolist(),
                    rec[:, 4].astype(np.int64).tolist(),
                    strict=True,
                )
            )
        return super()._output()
