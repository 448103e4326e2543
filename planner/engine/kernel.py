"""The request-level loop of `planner.model.Model`, compiled with numba (the `fast` extra).

These functions are the Python engine's `_advance`, `_start_rare`, `_reject`, `_expire` and
`_fill_slots`, statement for statement, on arrays instead of Python containers:

- the completion heap is two arrays (`heap_t`, `heap_r`) ordered by (t_done_s, replica), the
  order Python's `heapq` gives `(t, replica)` tuples, so completions pop in the same order;
- the router queue is a ring buffer of arrival times, the free slots a stack of replica ids;
- the scalars (time integrals, sums, counters, positions in the arrays) live in two small
  arrays `f` (float64) and `n` (int64) indexed by the constants below;
- served latencies go to a buffer that Python bins at the same instants as the Python engine
  (so `sum_latency_s` is the same numpy sum of the same values), records to a (rows, 5) array.

Every floating-point operation is the Python engine's, in the same order (no fastmath), so
both engines give the same results bit for bit. The loop never allocates: it returns to Python
with a code when it needs more room, the next arrival chunk, or when a request finishes on a
draining replica (the replica lifecycle stays in Python); Python acts and calls it again.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["advance", "expire", "fill_slots"]

# f: float64 state
F_ACC_B = 0  # busy-slot integral = acc_b + n_active × now
F_ACC_Q = 1  # queue integral = acc_q + queue_len × now
F_SUM_WAIT = 2  # waits added by the rare paths (504s, records, expiry, ready replicas)
F_SUM_WAIT_FAST = 3  # waits added by the common path
F_S504_EXTRA = 4
F_TA = 5  # the next arrival time (inf: none left in the current chunk)
F_WAIT = 6  # max_request_wait_s
F_TIMEOUT = 7  # scoring_timeout_s
F_WARM = 8  # warmup_s
F_LIMIT = 9  # service times above it take the rare path (-1: every start, records kept)
F_OUT_T = 10  # DRAINED: completion time
N_F = 11

# n: int64 state
N_HEAP = 0  # requests in service (heap size)
N_Q_HEAD = 1
N_Q_LEN = 2
N_FREE = 3
N_LAT = 4  # latencies buffered
N_REC = 5  # records written
N_SVC_I = 6  # next service time in `svc`
N_SVC_N = 7  # service times in `svc`
N_ARR_I = 8  # index of F_TA in `arr`
N_ARR_N = 9
N_503 = 10
N_504 = 11
N_EXPIRED = 12
N_NOFREE = 13  # rejected at once (rare path)
N_QUEUED = 14  # queued (common path)
N_SEC = 15
N_KEEP_SLOT = 16  # 1: a 504 keeps its slot until its service ends
N_RECORDS = 17  # 1: per-request records are kept
N_OUT_RID = 18  # DRAINED: the draining replica
N_N = 19

# advance() return codes
DONE = 0  # every request-level event before t_stop is done
NEED_ARRIVALS = 1  # the arrival chunk is used up: load the next one (or none)
NEED_ROOM = 2  # a buffer is full or the service times are used up
DRAINED = 3  # a request finished on draining replica n[N_OUT_RID] at f[F_OUT_T]

_INF = math.inf


@njit(cache=True, inline="always")
def _less(t1: float, r1: int, t2: float, r2: int) -> bool:
    return t1 < t2 or (t1 == t2 and r1 < r2)


@njit(cache=True)
def _push(heap_t: np.ndarray, heap_r: np.ndarray, size: int, t: float, r: int) -> None:
    """Add (t, r) to the heap of `size` entries (the caller counts it)."""
    i = size
    while i > 0:
        p = (i - 1) >> 1
        if _less(t, r, heap_t[p], heap_r[p]):
            heap_t[i] = heap_t[p]
            heap_r[i] = heap_r[p]
            i = p
        else:
            break
    heap_t[i] = t
    heap_r[i] = r


@njit(cache=True)
def _pop(heap_t: np.ndarray, heap_r: np.ndarray, size: int) -> None:
    """Remove the top of the heap of `size` entries (the caller has read it and counts it).

    Bottom-up, as Python's heapq does: the smaller child moves up to the leaves, then the last
    entry goes into the hole and sifts up (about half the comparisons of a top-down sift).
    """
    size -= 1
    if size == 0:
        return
    t = heap_t[size]
    r = heap_r[size]
    i = 0
    c = 1
    while c < size:
        if c + 1 < size:
            # NOTE: `c += _less(...)` without branches: which child is smaller is a coin flip
            # the CPU cannot predict, and a mispredicted branch costs more than the compare.
            t1, t2 = heap_t[c + 1], heap_t[c]
            c += (t1 < t2) | ((t1 == t2) & (heap_r[c + 1] < heap_r[c]))
        heap_t[i] = heap_t[c]
        heap_r[i] = heap_r[c]
        i = c
        c = 2 * i + 1
    while i > 0:
        p = (i - 1) >> 1
        if _less(t, r, heap_t[p], heap_r[p]):
            heap_t[i] = heap_t[p]
            heap_r[i] = heap_r[p]
            i = p
        else:
            break
    heap_t[i] = t
    heap_r[i] = r


@njit(cache=True)
def _heap_push(heap_t: np.ndarray, heap_r: np.ndarray, n: np.ndarray, t: float, r: int) -> None:
    _push(heap_t, heap_r, n[N_HEAP], t, r)
    n[N_HEAP] += 1


@njit(cache=True)
def _q_popleft(q: np.ndarray, n: np.ndarray) -> float:
    h = n[N_Q_HEAD]
    v: float = q[h]
    h += 1
    n[N_Q_HEAD] = 0 if h == q.size else h
    n[N_Q_LEN] -= 1
    return v


@njit(cache=True)
def _q_append(q: np.ndarray, n: np.ndarray, v: float) -> None:
    i = n[N_Q_HEAD] + n[N_Q_LEN]
    if i >= q.size:
        i -= q.size
    q[i] = v
    n[N_Q_LEN] += 1


@njit(cache=True)
def _record(
    rec: np.ndarray, n: np.ndarray, ta: float, w: float, lat: float, rid: int, status: int
) -> None:
    k = n[N_REC]
    rec[k, 0] = ta
    rec[k, 1] = w
    rec[k, 2] = lat
    rec[k, 3] = rid
    rec[k, 4] = status
    n[N_REC] = k + 1


@njit(cache=True)
def _start_rare(
    ta: float,
    t: float,
    s: float,
    rid: int,
    f: np.ndarray,
    n: np.ndarray,
    heap_t: np.ndarray,
    heap_r: np.ndarray,
    lat_buf: np.ndarray,
    t504: np.ndarray,
    rec: np.ndarray,
) -> None:
    """Model._start_rare: start service at `t` on `rid`, with 504s and records."""
    timeout = f[F_TIMEOUT]
    w = t - ta
    status = 200
    lat = w + s
    occupy = s
    if s > timeout:
        status = 504
        lat = w + timeout
        if n[N_KEEP_SLOT] == 0:
            occupy = timeout
    _heap_push(heap_t, heap_r, n, t + occupy, rid)
    f[F_ACC_B] -= t
    if ta >= f[F_WARM]:
        f[F_SUM_WAIT] += w
        lat_buf[n[N_LAT]] = lat
        n[N_LAT] += 1
        if status == 504:
            n[N_504] += 1
            f[F_S504_EXTRA] += occupy - timeout
            t504[min(int(ta), n[N_SEC] - 1)] += 1
    if n[N_RECORDS]:
        _record(rec, n, ta, w, lat, rid, status)


@njit(cache=True)
def _reject(ta: float, n: np.ndarray, f: np.ndarray, t503: np.ndarray, rec: np.ndarray) -> None:
    """Model._reject: 503 at arrival (no free slot and max_request_wait_s = 0)."""
    if ta >= f[F_WARM]:
        n[N_503] += 1
        n[N_NOFREE] += 1
        t503[min(int(ta), n[N_SEC] - 1)] += 1
    if n[N_RECORDS]:
        _record(rec, n, ta, 0.0, 0.0, -1, 503)


@njit(cache=True)
def expire(
    now: float, f: np.ndarray, n: np.ndarray, q: np.ndarray, t503: np.ndarray, rec: np.ndarray
) -> None:
    """Model._expire: drop queued requests whose wait ran out by `now` (503 at the deadline).

    With records kept, `rec` must have room for the whole queue.
    """
    w = f[F_WAIT]
    warm = f[F_WARM]
    lim = now - w if now < _INF else _INF
    while n[N_Q_LEN] > 0 and q[n[N_Q_HEAD]] <= lim:
        ta = _q_popleft(q, n)
        f[F_ACC_Q] += ta + w
        if ta >= warm:
            n[N_503] += 1
            n[N_EXPIRED] += 1
            f[F_SUM_WAIT] += w
            t503[min(int(ta), n[N_SEC] - 1)] += 1
        if n[N_RECORDS]:
            _record(rec, n, ta, w, w, -1, 503)


@njit(cache=True)
def fill_slots(
    rid: int,
    now: float,
    mc: int,
    f: np.ndarray,
    n: np.ndarray,
    heap_t: np.ndarray,
    heap_r: np.ndarray,
    q: np.ndarray,
    free: np.ndarray,
    lat_buf: np.ndarray,
    svc: np.ndarray,
    t503: np.ndarray,
    t504: np.ndarray,
    rec: np.ndarray,
) -> None:
    """Model._fill_slots: replica `rid` is ready at `now`; its `mc` slots take queued requests.

    The caller makes room first: `mc` service times, heap, free-stack, latency and record room.
    """
    for _ in range(mc):
        expire(now, f, n, q, t503, rec)
        if n[N_Q_LEN] > 0:
            f[F_ACC_Q] += now
            tq = _q_popleft(q, n)
            s = svc[n[N_SVC_I]]
            n[N_SVC_I] += 1
            _start_rare(tq, now, s, rid, f, n, heap_t, heap_r, lat_buf, t504, rec)
        else:
            free[n[N_FREE]] = rid
            n[N_FREE] += 1


@njit(cache=True)
def advance(
    t_stop: float,
    f: np.ndarray,
    n: np.ndarray,
    heap_t: np.ndarray,
    heap_r: np.ndarray,
    q: np.ndarray,
    free: np.ndarray,
    draining: np.ndarray,
    lat_buf: np.ndarray,
    svc: np.ndarray,
    arr: np.ndarray,
    t503: np.ndarray,
    t504: np.ndarray,
    rec: np.ndarray,
) -> int:
    """Model._advance: arrivals and completions strictly before `t_stop`, until a return code.

    `heap_t` and `free` have room for every slot of the replicas that exist (the caller sees
    to it when a replica becomes ready), so a start or a freed slot always fits.
    """
    # NOTE: the hot scalars are kept in locals (as Model._advance does); they are stored back
    # in f and n around each rare-path call, which reads and writes the arrays.
    wait_s = f[F_WAIT]
    warm = f[F_WARM]
    limit = f[F_LIMIT]
    records = n[N_RECORDS] != 0
    lat_room = lat_buf.size
    hn = n[N_HEAP]
    fr = n[N_FREE]
    si = n[N_SVC_I]
    sn = n[N_SVC_N]
    li = n[N_LAT]
    ai = n[N_ARR_I]
    an = n[N_ARR_N]
    n_queued = n[N_QUEUED]
    ta = f[F_TA]
    acc_b = f[F_ACC_B]
    acc_q = f[F_ACC_Q]
    sum_wait = f[F_SUM_WAIT_FAST]
    code = DONE
    while True:
        # Room for one event: a service time, a latency, a queued arrival, its records.
        if (
            si >= sn
            or li >= lat_room
            or n[N_Q_LEN] >= q.size
            or (records and n[N_REC] + n[N_Q_LEN] + 2 > rec.shape[0])
        ):
            code = NEED_ROOM
            break
        tc = heap_t[0] if hn > 0 else _INF
        if tc <= ta:  # completion first (ties: the slot frees before the arrival)
            if tc >= t_stop:
                break
            rid = heap_r[0]
            _pop(heap_t, heap_r, hn)
            hn -= 1
            if draining[rid]:
                n[N_OUT_RID] = rid
                f[F_OUT_T] = tc
                code = DRAINED
                break
            if n[N_Q_LEN] > 0 and q[n[N_Q_HEAD]] <= tc - wait_s:
                f[F_ACC_Q] = acc_q
                expire(tc, f, n, q, t503, rec)
                acc_q = f[F_ACC_Q]
            if n[N_Q_LEN] > 0:
                tq = _q_popleft(q, n)
                acc_q += tc
                w = tc - tq
                s = svc[si]
                si += 1
                if s > limit:
                    f[F_ACC_B] = acc_b + tc  # the end; _start_rare subtracts the start
                    n[N_HEAP] = hn
                    n[N_LAT] = li
                    _start_rare(tq, tc, s, rid, f, n, heap_t, heap_r, lat_buf, t504, rec)
                    acc_b = f[F_ACC_B]
                    hn = n[N_HEAP]
                    li = n[N_LAT]
                else:
                    # end adds tc, start subtracts tc: acc_b unchanged
                    _push(heap_t, heap_r, hn, tc + s, rid)
                    hn += 1
                    if tq >= warm:
                        sum_wait += w
                        lat_buf[li] = w + s
                        li += 1
            else:
                free[fr] = rid
                fr += 1
                acc_b += tc
        else:
            if ta >= t_stop:
                break
            if fr > 0:
                fr -= 1
                rid = free[fr]
                s = svc[si]
                si += 1
                if s > limit:
                    f[F_ACC_B] = acc_b
                    n[N_HEAP] = hn
                    n[N_LAT] = li
                    _start_rare(ta, ta, s, rid, f, n, heap_t, heap_r, lat_buf, t504, rec)
                    acc_b = f[F_ACC_B]
                    hn = n[N_HEAP]
                    li = n[N_LAT]
                else:
                    _push(heap_t, heap_r, hn, ta + s, rid)
                    hn += 1
                    acc_b -= ta
                    if ta >= warm:
                        lat_buf[li] = s
                        li += 1
            elif wait_s > 0.0:
                _q_append(q, n, ta)
                acc_q -= ta
                if ta >= warm:
                    n_queued += 1
            else:
                _reject(ta, n, f, t503, rec)
            ai += 1
            if ai < an:
                ta = arr[ai]
            else:
                ta = _INF
                code = NEED_ARRIVALS
                break
    n[N_HEAP] = hn
    n[N_FREE] = fr
    n[N_SVC_I] = si
    n[N_LAT] = li
    n[N_ARR_I] = ai
    n[N_QUEUED] = n_queued
    f[F_TA] = ta
    f[F_ACC_B] = acc_b
    f[F_ACC_Q] = acc_q
    f[F_SUM_WAIT_FAST] = sum_wait
    return code
