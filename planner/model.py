"""The discrete-event model of one replication: router queue, replicas, autoscaler control loop.

Azure ML router semantics (docs/autoscalers.md §1.2): each ready replica serves up to
`service.max_concurrent` requests; a request that finds no free slot waits in ONE FIFO queue;
after `deployment.max_request_wait_s` in the queue it gets 503 (0 = rejected at once); a
request whose service would exceed `deployment.scoring_timeout_s` gets 504 at the timeout
(its latency is wait + timeout). Replicas are requested, start for a `cold_start_s` sample and
become ready; on scale-down starting replicas are cancelled first (newest first), then ready
replicas stop taking new work, drain their in-flight requests and leave. The `deployment.replicas`
initial replicas are ready at t = 0. Every `policy.interval_s` the control loop builds an
`Observation` and applies `policy.decide` (no control loop for autoscaler "none").

Speed: SimPy's `Environment` is the clock for the coarse events only
(control ticks, one-second timeline samples, warm-up/end marks, replica ready events). Requests
never become SimPy processes: between two coarse events `Model._advance` runs a tight loop over
the request-level events (arrivals from the current numpy chunk, completions from a `heapq` of
`(t_done_s, replica)`), up to `env.peek()`. Busy and queue time integrals cost nothing per event:
they are kept as `acc + n × now` (each start subtracts its start time, each end adds its end
time), so an integral up to `now` is read in O(1) at a coarse event. `planner.engine.CompiledModel`
is this class with the request-level state in arrays and `_advance` compiled by numba: it
overrides the request-state methods below ("request state") and nothing of the coarse side,
and gives the same results bit for bit.

Statistics count requests ARRIVING at t >= warmup_s; time integrals (replica-seconds, requests
in system) cover [warmup_s, duration_s]. After the last arrival the model keeps running with
no new arrivals until the system is empty, so every counted request has an outcome; the
autoscaler makes no decisions after duration_s (replicas already starting still become ready).

Random streams: `np.random.SeedSequence(seed).spawn(3)` gives arrivals, service times and cold
starts separate generators, so changing one input does not shift the others. Same seed, same
results, bit for bit.
"""

# NOTE: a size exception, with the reason. This module is over the ~400 lines the house keeps
# to, on purpose: it is ONE concept, the event-driven state machine of one replication,
# and `Model` is one class whose hot loop (`_advance`), rare paths (503/504, drain) and replica
# lifecycle read and write the same ~50 slots. Splitting that class over modules (a base class
# or mixins) would scatter one state machine across files and put the hot loop's speed
# (benchmarks/bench_simulator.py) and its bit-for-bit results at stake for no gain in clarity.
# What is separable has moved out: the latency histogram (`planner.latency`).

from __future__ import annotations

import dataclasses
import math
from collections import Counter, deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from heapq import heappop, heappush
from itertools import chain
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from planner.autoscalers import Observation
from planner.latency import N_LATENCY_BINS, latency_bin_counts
from planner.model_nodes import NodeLayer

if TYPE_CHECKING:
    from planner.autoscalers import Policy
    from planner.scenario import Scenario

__all__ = ["TIMED_OUT_KEEPS_SLOT", "Model", "ModelOutput"]

TIMED_OUT_KEEPS_SLOT = True
"""ASSUMPTION: a request that got its 504 keeps its replica slot busy until its service ends.

The reference notes servers keep processing timed-out requests (the router answers 504 but the
scoring call is not cancelled). Set `Model(..., timed_out_keeps_slot=False)` to free the slot at
the timeout instead.
"""

SERVICE_BATCH = 16384  # service times drawn per numpy call
COLD_START_BATCH = 256
_LAT_FLUSH = 1 << 14  # latencies buffered before they are binned (bounds memory)
ARRIVAL_LIST = 8192  # arrival times converted to a Python list at a time
_INF = math.inf


def _batches(
    sample: Callable[[np.random.Generator, int], np.ndarray], rng: Any, n: int
) -> Iterator[np.ndarray]:
    """Endless numpy batches of `n` samples, drawn in order from `rng`."""
    while True:
        yield sample(rng, n)


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelOutput:
    """What one replication leaves behind: counters, integrals and records (see Model.run).

    Counts and sums are over requests arriving at t >= warmup_s; areas over the window.
    """

    n_requests: int  # arrivals counted
    n_200: int
    n_503: int
    n_504: int
    n_no_free: int  # found no free slot (queued or rejected at once)
    sum_wait_s: float  # queue waits, 503s included
    sum_latency_s: float  # served (200/504) response times
    sum_time_in_system_s: float  # wait + slot occupancy (Little's law)
    latency_hist: np.ndarray  # served latencies on latency.LATENCY_BIN_EDGES_S
    latency_min_s: float
    latency_max_s: float
    peak_replicas: int
    area_in_system: float  # ∫ (queued + busy) dt over the window
    area_replicas: float  # ∫ existing replicas dt over the window
    window_s: float
    timeline: list[tuple[Any, ...]]
    requests: list[tuple[float, float, float, int, int]] | None
    nodes: dict[str, float] | None = None  # the node layer's summary keys (with nodes only)
    replicas: list[tuple[Any, ...]] | None = None  # NODE_REPLICA_COLUMNS rows (with nodes only)


class Model:
    """One replication of a scenario. Build, call `run()` once, read the `ModelOutput`."""

    __slots__ = (
        "_acc_b",
        "_acc_q",
        "_area_bd",
        "_area_rep",
        "_arr_chunks",
        "_arr_it",
        "_arrivals_s",
        "_cold",
        "_desired",
        "_draining",
        "_dur",
        "_env",
        "_exist",
        "_free",
        "_heap",
        "_keep_slot",
        "_lat_buf",
        "_lat_hist",
        "_lat_max",
        "_lat_min",
        "_mark",
        "_mc",
        "_n503",
        "_n504",
        "_n_arr",
        "_n_expired",
        "_n_nofree",
        "_n_queued",
        "_n_sec",
        "_nbd",
        "_next_arrival",
        "_next_rid",
        "_nodes",
        "_obs_prev",
        "_peak",
        "_policy",
        "_q",
        "_ready",
        "_records",
        "_s504_extra",
        "_scenario",
        "_starting",
        "_sum_lat",
        "_sum_wait",
        "_sum_wait_fast",
        "_svc",
        "_svc_batches",
        "_t503",
        "_t504",
        "_t_bd",
        "_t_rep",
        "_ta",
        "_timeline",
        "_timeout",
        "_wait",
        "_warm",
    )  # fmt: skip

    def __init__(
        self,
        scenario: Scenario,
        seed: int,
        *,
        policy: Policy | None = None,
        keep_requests: bool = False,
        timed_out_keeps_slot: bool = TIMED_OUT_KEEPS_SLOT,
    ) -> None:
        dep, svc = scenario.deployment, scenario.service
        self._scenario = scenario
        self._env = simpy.Environment()
        # A 4th child stream only with nodes: spawn(4)[:3] are spawn(3)'s children, so the
        # arrivals, service and cold-start streams are the same with and without nodes.
        children = np.random.SeedSequence(seed).spawn(3 if scenario.nodes is None else 4)
        rng_arr, rng_svc, rng_cold = (np.random.default_rng(s) for s in children[:3])
        self._nodes: NodeLayer | None = None
        if scenario.nodes is not None:
            self._nodes = NodeLayer(scenario, self._env, np.random.default_rng(children[3]))
        # NOTE: the numpy chunks and batches are the engine-neutral streams (a compiled engine
        # reads them as arrays); this engine reads them through Python lists.
        self._arr_chunks = iter(scenario.traffic.arrival_times(scenario.duration_s, rng_arr))
        self._arr_it = self._arrival_lists(self._arr_chunks)
        self._svc_batches = _batches(svc.request_time_s.sample, rng_svc, SERVICE_BATCH)
        self._svc = chain.from_iterable(b.tolist() for b in self._svc_batches).__next__
        self._cold = chain.from_iterable(
            b.tolist() for b in _batches(svc.cold_start_s.sample, rng_cold, COLD_START_BATCH)
        ).__next__
        self._policy = policy
        self._mc = svc.max_concurrent
        self._wait = float(dep.max_request_wait_s)
        self._timeout = float(dep.scoring_timeout_s)
        self._keep_slot = timed_out_keeps_slot
        self._warm = float(scenario.warmup_s)
        self._dur = float(scenario.duration_s)
        self._n_sec = max(1, math.ceil(self._dur))
        # request state: (t_done_s, replica) heap with an INF sentinel so heap[0] always exists
        self._heap: list[tuple[float, int]] = [(_INF, -1)]
        self._q: deque[float] = deque()  # arrival times of queued requests (FIFO)
        self._free: list[int] = []  # one entry per free slot: the replica id
        self._acc_b = 0.0  # busy-slot integral = acc_b + n_active × now
        self._acc_q = 0.0  # queue integral = acc_q + len(q) × now
        self._next_arrival: Callable[[], float] = iter(()).__next__
        self._ta = _INF
        # replicas
        self._next_rid = 0
        self._starting: list[int] = []
        self._ready: list[int] = []
        self._draining: dict[int, int] = {}  # replica -> requests still in flight
        self._nbd = 0  # requests in flight on draining replicas
        self._area_bd, self._t_bd = 0.0, 0.0
        self._exist = 0
        self._area_rep, self._t_rep = 0.0, 0.0
        self._desired = dep.replicas
        self._peak = 0
        # statistics (arrivals at t >= warmup_s)
        self._n_arr = 0
        self._n_nofree = self._n503 = self._n504 = self._n_expired = 0
        self._sum_wait = self._sum_lat = self._s504_extra = 0.0
        self._sum_wait_fast, self._n_queued = 0.0, 0
        self._lat_buf: list[float] = []
        self._lat_hist = np.zeros(N_LATENCY_BINS, dtype=np.int64)
        self._lat_min, self._lat_max = _INF, -_INF
        self._records: list[tuple[float, float, float, int, int]] | None = (
            [] if keep_requests else None
        )
        self._arrivals_s = np.zeros(self._n_sec, dtype=np.int64)
        self._t503 = [0] * self._n_sec
        self._t504 = [0] * self._n_sec
        self._timeline: list[tuple[Any, ...]] = []
        self._mark: dict[str, tuple[float, float]] = {}
        self._obs_prev = (0.0, 0.0, 0.0)  # (t, busy area, queue area) at the last observation
        for _ in range(dep.replicas):
            rid = self._new_replica(0.0)
            if self._nodes is not None and not self._nodes.place_initial(rid):
                # No room on the initial nodes: it waits for a node like any requested replica.
                self._starting.append(rid)
                self._env.process(self.start_replica(rid))
                continue
            self._ready.append(rid)
            self._add_free(rid, self._mc)

    # ------------------------------------------------------------------ run

    def run(self) -> ModelOutput:
        """Simulate to the end and return counters, integrals and records."""
        env = self._env
        env.process(self.sample_timeline())
        env.process(self.mark_window())
        if self._policy is not None:
            env.process(self.control_loop())
        if self._nodes is not None:
            env.process(self._nodes.scan_loop(self._dur))
            env.process(self._nodes.mark_warmup(self._warm))
            self._nodes.start_sampling(self._n_sec)
        self._load_chunk()
        # NOTE: SimPy only holds the coarse events. Before each one, the request-level events
        # strictly earlier than it run in the inner loop, so a coarse event sees them all.
        # Several coarse events often share an instant (a control tick, a timeline sample and
        # replicas becoming ready at the same whole second): after the first, no request event
        # is strictly earlier (a coarse event only adds completions at `now + service` ≥ now),
        # so the loop runs once per distinct instant.
        t_done = -_INF
        while (t_next := env.peek()) < _INF:
            if t_next > t_done:
                self._advance(t_next)
                t_done = t_next
            env.step()
        self._advance(_INF)
        self._expire(_INF)
        self._flush_latencies()
        out = self._output()
        if self._nodes is not None:
            rows = [r + n for r, n in zip(out.timeline, self._nodes.timeline, strict=True)]
            phases = self._nodes.phases()  # split once, for the summary and the replica rows
            stats = self._nodes.stats(self._warm, self._dur, phases)
            replicas = self._nodes.replica_rows(phases)
            out = dataclasses.replace(out, nodes=stats, timeline=rows, replicas=replicas)
        return out

    # ------------------------------------------------------------------ inner loop

    def _arrival_lists(self, chunks: Iterator[np.ndarray]) -> Iterator[list[float]]:
        """Arrival times as short Python lists; per-second counts are taken per numpy chunk.

        NOTE: lists of floats iterate fastest but cost 32 bytes per point, so each numpy chunk
        is converted ARRIVAL_LIST points at a time: memory stays bounded and small.
        """
        for arr in chunks:
            self._count_arrivals(arr)
            for j in range(0, arr.size, ARRIVAL_LIST):
                yield arr[j : j + ARRIVAL_LIST].tolist()

    def _count_arrivals(self, arr: np.ndarray) -> None:
        """Add a chunk of arrival times to the per-second counts and the counted arrivals."""
        secs = np.minimum(arr.astype(np.int64), self._n_sec - 1)
        self._arrivals_s += np.bincount(secs, minlength=self._n_sec)
        self._n_arr += arr.size - int(np.searchsorted(arr, self._warm, side="left"))

    def _load_chunk(self) -> None:
        """Take the next list of arrival times (or none: next arrival at infinity)."""
        for lst in self._arr_it:
            if lst:
                self._next_arrival = iter(lst).__next__
                self._ta = self._next_arrival()
                return
        self._next_arrival, self._ta = iter(()).__next__, _INF

    def _advance(self, t_stop: float) -> None:
        """Process arrivals and completions strictly before `t_stop` (the hot loop)."""
        heap, q, free, draining = self._heap, self._q, self._free, self._draining
        svc, lat_app = self._svc, self._lat_buf.append
        # NOTE: with records kept, every start takes the rare path (limit -1 is always exceeded)
        limit = self._timeout if self._records is None else -1.0
        wait_s, warm = self._wait, self._warm
        next_arrival, ta = self._next_arrival, self._ta
        # NOTE: the rare paths (methods) update self._sum_wait / self._n_nofree themselves;
        # the hot path keeps its own sums in locals and stores them in *_fast / _n_queued.
        acc_b, acc_q, sum_wait = self._acc_b, self._acc_q, self._sum_wait_fast
        n_queued = self._n_queued
        tc = heap[0][0]
        while True:
            if tc <= ta:  # completion first (ties: the slot frees before the arrival)
                if tc >= t_stop:
                    break
                rid = heappop(heap)[1]
                if draining and rid in draining:
                    self._drain_one(rid, tc)
                    acc_b += tc
                else:
                    if q and q[0] <= tc - wait_s:
                        self._acc_q = acc_q
                        self._expire(tc)
                        acc_q = self._acc_q
                    if q:
                        tq = q.popleft()
                        acc_q += tc
                        w = tc - tq
                        s = svc()
                        if s > limit:
                            self._acc_b = acc_b + tc  # the end; _start_rare subtracts the start
                            self._start_rare(tq, tc, s, rid)
                            acc_b = self._acc_b
                        else:
                            # end adds tc, start subtracts tc: acc_b unchanged
                            heappush(heap, (tc + s, rid))
                            if tq >= warm:
                                sum_wait += w
                                lat_app(w + s)
                    else:
                        free.append(rid)
                        acc_b += tc
                tc = heap[0][0]
            else:
                if ta >= t_stop:
                    break
                if free:
                    rid = free.pop()
                    s = svc()
                    if s > limit:
                        self._acc_b = acc_b
                        self._start_rare(ta, ta, s, rid)
                        acc_b = self._acc_b
                    else:
                        heappush(heap, (ta + s, rid))
                        acc_b -= ta
                        if ta >= warm:
                            lat_app(s)
                    tc = heap[0][0]
                elif wait_s > 0.0:
                    q.append(ta)
                    acc_q -= ta
                    if ta >= warm:
                        n_queued += 1
                else:
                    self._reject(ta)
                try:
                    ta = next_arrival()
                except StopIteration:
                    self._load_chunk()
                    next_arrival, ta = self._next_arrival, self._ta
        self._next_arrival, self._ta = next_arrival, ta
        self._acc_b, self._acc_q, self._sum_wait_fast = acc_b, acc_q, sum_wait
        self._n_queued = n_queued

    # ------------------------------------------------------------------ rare paths

    def _start_rare(self, ta: float, t: float, s: float, rid: int) -> None:
        """Start service of a request (arrived `ta`) at `t` on `rid`, with 504s and records."""
        w = t - ta
        status = 200
        lat = w + s
        occupy = s
        if s > self._timeout:
            status = 504
            lat = w + self._timeout
            if not self._keep_slot:
                occupy = self._timeout
        heappush(self._heap, (t + occupy, rid))
        self._acc_b -= t
        if ta >= self._warm:
            self._sum_wait += w
            self._lat_buf.append(lat)
            if status == 504:
                self._n504 += 1
                self._s504_extra += occupy - self._timeout
                self._t504[min(int(ta), self._n_sec - 1)] += 1
        if self._records is not None:
            self._records.append((ta, w, lat, rid, status))

    def _reject(self, ta: float) -> None:
        """503 at arrival: no free slot and max_request_wait_s = 0."""
        if ta >= self._warm:
            self._n503 += 1
            self._n_nofree += 1
            self._t503[min(int(ta), self._n_sec - 1)] += 1
        if self._records is not None:
            self._records.append((ta, 0.0, 0.0, -1, 503))

    def _expire(self, now: float) -> None:
        """Drop queued requests whose wait ran out by `now` (503 at their deadline).

        NOTE: expiry is lazy: heads are dropped when a slot frees up or at a coarse event. The
        queue integral is exact anyway: each dropped request adds its deadline, as if it had
        left the queue then.
        """
        q, w, warm, rec = self._q, self._wait, self._warm, self._records
        lim = now - w if now < _INF else _INF
        while q and q[0] <= lim:
            ta = q.popleft()
            self._acc_q += ta + w
            if ta >= warm:
                self._n503 += 1
                self._n_expired += 1
                self._sum_wait += w
                self._t503[min(int(ta), self._n_sec - 1)] += 1
            if rec is not None:
                rec.append((ta, w, w, -1, 503))

    def _drain_one(self, rid: int, t: float) -> None:
        """A request finished on draining replica `rid`; it leaves when empty."""
        self._touch_bd(t)
        self._nbd -= 1
        left = self._draining[rid] - 1
        if left:
            self._draining[rid] = left
        else:
            del self._draining[rid]
            self._touch_rep(t)
            self._exist -= 1
            if self._nodes is not None:
                self._nodes.release(rid, t)

    def _touch_bd(self, t: float) -> None:
        self._area_bd += self._nbd * (t - self._t_bd)
        self._t_bd = t

    def _touch_rep(self, t: float) -> None:
        self._area_rep += self._exist * (t - self._t_rep)
        self._t_rep = t

    def _flush_latencies(self) -> None:
        """Bin buffered latencies into the histogram and add their sum (bounded memory)."""
        if not self._lat_buf:
            return
        lat = np.array(self._lat_buf)
        self._lat_buf.clear()
        self._bin_latencies(lat)

    def _bin_latencies(self, lat: np.ndarray) -> None:
        """Add a (non-empty) array of served latencies to the sum, min, max and histogram."""
        self._sum_lat += float(lat.sum())
        self._lat_min = min(self._lat_min, float(lat.min()))
        self._lat_max = max(self._lat_max, float(lat.max()))
        self._lat_hist += latency_bin_counts(lat)

    # ------------------------------------------------------------------ request state

    # NOTE: the coarse processes below touch the request-level state (queue, slots, heap,
    # latency buffer) only through these methods, so a compiled engine that keeps that state
    # in arrays (planner.engine) overrides them and inherits the replica lifecycle unchanged.

    def _add_free(self, rid: int, n: int) -> None:
        """`n` free slots on replica `rid` (a replica ready at t = 0)."""
        self._free.extend([rid] * n)

    def _fill_slots(self, rid: int, now: float) -> None:
        """Replica `rid` became ready at `now`: its slots take queued requests, else are free."""
        for _ in range(self._mc):
            self._expire(now)
            if self._q:
                self._acc_q += now
                self._start_rare(self._q.popleft(), now, self._svc(), rid)
            else:
                self._free.append(rid)

    def _free_slots(self) -> list[int]:
        """The free slots (one replica id each), bottom of the stack first."""
        return self._free

    def _set_free_slots(self, slots: list[int]) -> None:
        """Replace the free-slot stack (a drain takes a replica's slots out)."""
        self._free[:] = slots

    def _n_in_service(self) -> int:
        """Requests holding a slot (ready and draining replicas)."""
        return len(self._heap) - 1

    def _queue_len(self) -> int:
        """Requests in the router queue (expired heads not yet dropped included)."""
        return len(self._q)

    def _n_lat_buffered(self) -> int:
        """Latencies waiting to be binned."""
        return len(self._lat_buf)

    # ------------------------------------------------------------------ replicas

    def _new_replica(self, t: float) -> int:
        self._touch_rep(t)
        self._exist += 1
        rid = self._next_rid
        self._next_rid += 1
        return rid

    def start_replica(self, rid: int) -> Generator[simpy.Event, Any, None]:
        """A requested replica: (with nodes) a node, a cold start, then ready unless cancelled."""
        if self._nodes is not None:
            start_s = yield from self._nodes.wait_for_node(rid)
            if rid not in self._starting:
                return  # cancelled while it waited for a node
            yield self._env.timeout(max(0.0, start_s - self._env.now))
        yield self._env.timeout(self._cold())
        if rid not in self._starting:
            return  # cancelled by a scale-down
        now = self._env.now
        self._starting.remove(rid)
        self._ready.append(rid)
        if self._nodes is not None:
            self._nodes.ready_s[rid] = now
        self._fill_slots(rid, now)

    def _scale_to(self, desired: int, now: float) -> None:
        """Request, cancel or drain replicas so that ready + starting == desired."""
        self._desired = desired
        current = len(self._ready) + len(self._starting)
        if desired > current:
            for _ in range(desired - current):
                rid = self._new_replica(now)
                self._starting.append(rid)
                self._env.process(self.start_replica(rid))
            if now >= self._warm:
                self._peak = max(self._peak, desired)
            return
        excess = current - desired
        while excess and self._starting:
            gone = self._starting.pop()  # newest first; its pending ready event sees it is gone
            if self._nodes is not None:
                self._nodes.release(gone, now)
            self._touch_rep(now)
            self._exist -= 1
            excess -= 1
        while excess and self._ready:
            self._drain(now)
            excess -= 1

    def _drain(self, now: float) -> None:
        """Stop sending work to the least busy ready replica (newest on ties); drain it."""
        free = self._free_slots()
        counts = Counter(free)  # free slots per replica; every free slot is on a ready replica
        # The first replica, newest first, with the most free slots (all busy: the newest).
        most = max(counts.values(), default=0)
        rid = next(r for r in reversed(self._ready) if counts.get(r, 0) == most)
        self._ready.remove(rid)
        n_free = counts.get(rid, 0)
        if n_free:
            self._set_free_slots([r for r in free if r != rid])
        in_flight = self._mc - n_free
        if in_flight == 0:
            self._touch_rep(now)
            self._exist -= 1
            if self._nodes is not None:
                self._nodes.release(rid, now)
        else:
            self._touch_bd(now)
            self._nbd += in_flight
            self._draining[rid] = in_flight

    # ------------------------------------------------------------------ coarse processes

    def _areas(self, now: float) -> tuple[float, float]:
        """(busy-slot integral, queue integral) from 0 to `now`, after dropping expired heads."""
        self._expire(now)
        n_active = self._n_in_service()
        return self._acc_b + n_active * now, self._acc_q + self._queue_len() * now

    def observe(self, now: float) -> Observation:
        """The autoscaler's view at `now` (busy counts ready replicas only, not draining ones)."""
        area_b, area_q = self._areas(now)
        self._touch_bd(now)
        area_b -= self._area_bd
        t0, b0, q0 = self._obs_prev
        self._obs_prev = (now, area_b, area_q)
        dt = now - t0
        return Observation(
            t_s=now,
            ready=len(self._ready),
            starting=len(self._starting),
            busy=self._n_in_service() - self._nbd,
            queued=self._queue_len(),
            busy_avg=(area_b - b0) / dt if dt > 0 else 0.0,
            queued_avg=(area_q - q0) / dt if dt > 0 else 0.0,
            spec_replicas=self._desired,
        )

    def control_loop(self) -> Generator[simpy.Event, Any, None]:
        """Every policy.interval_s until duration_s: observe, decide, scale."""
        assert self._policy is not None
        policy, env = self._policy, self._env
        while True:
            yield env.timeout(policy.interval_s)
            if env.now >= self._dur:
                return
            self._scale_to(int(policy.decide(self.observe(env.now))), env.now)

    def sample_timeline(self) -> Generator[simpy.Event, Any, None]:
        """One state snapshot per whole second in [0, duration_s); counts are filled at the end."""
        env = self._env
        for k in range(self._n_sec):
            if self._n_lat_buffered() >= _LAT_FLUSH:
                self._flush_latencies()
            self._expire(float(k))
            self._timeline.append(
                (
                    k,
                    len(self._ready),
                    len(self._starting),
                    len(self._draining),
                    self._desired,
                    self._queue_len(),
                    self._n_in_service() - self._nbd,
                )
            )
            yield env.timeout(1.0)

    def mark_window(self) -> Generator[simpy.Event, Any, None]:
        """Read the integrals at warmup_s and at duration_s (the statistics window)."""
        env = self._env
        for name, t in (("start", self._warm), ("end", self._dur)):
            yield env.timeout(max(0.0, t - env.now))
            area_b, area_q = self._areas(t)
            self._touch_rep(t)
            self._mark[name] = (area_b + area_q, self._area_rep)
            if name == "start":
                self._peak = max(self._peak, len(self._ready) + len(self._starting))

    # ------------------------------------------------------------------ output

    def _output(self) -> ModelOutput:
        traffic = self._scenario.traffic
        rows = [
            (float(k), traffic.rate_rps(float(k)), int(self._arrivals_s[k]), ready, starting,
             draining, desired, queue, busy, self._t503[k], self._t504[k])
            for (k, ready, starting, draining, desired, queue, busy) in self._timeline
        ]  # fmt: skip
        n_served = int(self._lat_hist.sum())
        start, end = self._mark["start"], self._mark["end"]
        return ModelOutput(
            n_requests=self._n_arr,
            n_200=n_served - self._n504,
            n_503=self._n503,
            n_504=self._n504,
            n_no_free=self._n_nofree + self._n_queued,
            sum_wait_s=self._sum_wait + self._sum_wait_fast,
            sum_latency_s=self._sum_lat,
            sum_time_in_system_s=self._sum_lat + self._s504_extra + self._n_expired * self._wait,
            latency_hist=self._lat_hist,
            latency_min_s=self._lat_min,
            latency_max_s=self._lat_max,
            peak_replicas=self._peak,
            area_in_system=end[0] - start[0],
            area_replicas=end[1] - start[1],
            window_s=self._dur - self._warm,
            timeline=rows,
            requests=self._records,
        )
