"""Where parallel work runs: in this process, a local process pool, or a Dask cluster.

`process_pool(workers)` is the only place planner makes a process pool, always with the
"spawn" start method: the parent may hold threads (a progress bar, a Dask client) and forking a
threaded process can deadlock. `map_in_order(fn, items, processes=...)` runs a picklable
top-level function over items, in this process or in such a pool, and returns the results in
item order (simulate's replications, the settings search's seeds).

For sweeps, every backend runs the same top-level function the caller gives, `fn(scenario,
seed) -> stats` (`planner.sweep.run_task`), so a result does not depend on where it was
computed (the simulator is deterministic per seed). `run_tasks` yields `(index, outcome)` pairs
in completion order, where outcome is the stats dict or the exception the task raised; the
caller decides what an error means.
Stopping the iteration early (an error, Ctrl-C) cancels what has not started.
"""

from __future__ import annotations

import multiprocessing
import os
import socket
import urllib.parse
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from typing import TYPE_CHECKING, Any, TypeVar

from planner.errors import PlannerError, ScenarioError

if TYPE_CHECKING:
    from planner.scenario import Scenario

__all__ = [
    "SCHEDULER_CONNECT_TIMEOUT_S",
    "Outcome",
    "Task",
    "check_scheduler",
    "default_processes",
    "map_in_order",
    "process_pool",
    "run_tasks",
]

T = TypeVar("T")
R = TypeVar("R")

Task = tuple["Scenario", int]  # (cell scenario, seed)
Outcome = dict[str, float] | BaseException
TaskFn = Callable[["Scenario", int], dict[str, float]]  # picklable, top level

# NOTE: at most this many tasks are in flight per local worker, so an interrupted or failed
# sweep leaves little work half-done and memory stays flat for big grids.
_IN_FLIGHT_PER_WORKER = 4
SCHEDULER_CONNECT_TIMEOUT_S = 3.0  # a Dask scheduler that does not accept within this is down


def check_scheduler(address: str, *, timeout_s: float = SCHEDULER_CONNECT_TIMEOUT_S) -> str:
    """Check a Dask scheduler address: `tcp://host:port`, and something listening there.

    Only a TCP connection is tried (it takes at most `timeout_s`), so a wrong address fails
    in seconds rather than after Dask's own connect timeout and retries.

    Raises:
        ScenarioError: the address is not tcp://host:port, or nothing accepts a connection.
    """
    host: str | None = None
    port: int | None = None
    try:
        parts = urllib.parse.urlsplit(address)
        if parts.scheme == "tcp" and parts.path in ("", "/") and not parts.query:
            host, port = parts.hostname, parts.port
    except ValueError:  # a port that is not a number in 0..65535
        pass
    if not host or not port:
        raise ScenarioError(
            f"--scheduler must be a Dask scheduler address tcp://host:port: {address!r}"
        )
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except TimeoutError:
        raise ScenarioError(
            f"--scheduler: no Dask scheduler answers at {address} within {timeout_s:g} s"
        ) from None
    except OSError as exc:
        raise ScenarioError(
            f"--scheduler: no Dask scheduler at {address} ({exc.strerror or exc})"
        ) from None
    return address


def default_processes() -> int:
    """The default number of local worker processes: one per CPU."""
    return os.cpu_count() or 1


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of `workers` spawned processes; the caller shuts it down (or uses `with`)."""
    if workers < 1:
        raise PlannerError(f"processes must be >= 1: {workers}")
    # NOTE: "spawn", not fork: the parent may hold threads (a Dask client, a progress bar) and
    # forking a threaded process can deadlock; workers start once and then take many tasks.
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))


def map_in_order(
    fn: Callable[[T], R],
    items: Sequence[T],
    *,
    processes: int = 1,
    pool: Executor | None = None,
    on_done: Callable[[int], None] | None = None,
) -> list[R]:
    """`[fn(item) for item in items]`, in this process or in worker processes.

    Args:
        fn: a top-level (picklable) function; it must not depend on the process it runs in,
            so the results are the same wherever it runs.
        items: its arguments, picklable.
        processes: worker processes; 1 runs here. A pool of min(processes, len(items)) is
            made for this call and shut down after.
        pool: an open pool to use instead (not shut down here), e.g. for many small calls.
        on_done: called with the number of results so far after each one, in order.
    """
    out: list[R] = []
    workers = min(processes, len(items))
    if pool is None and workers <= 1:
        for item in items:
            out.append(fn(item))
            if on_done is not None:
                on_done(len(out))
        return out
    own = pool is None
    executor = process_pool(workers) if pool is None else pool
    try:
        for result in executor.map(fn, items):
            out.append(result)
            if on_done is not None:
                on_done(len(out))
    finally:
        if own:
            executor.shutdown(wait=True, cancel_futures=True)
    return out


def run_tasks(
    tasks: Sequence[Task],
    fn: TaskFn,
    *,
    scheduler: Any = None,
    processes: int | None = None,
) -> Generator[tuple[int, Outcome], None, None]:
    """Run `fn` on `tasks` and yield `(index, stats or exception)` as each finishes.

    Args:
        tasks: (scenario, seed) pairs; the index yielded is the position in this sequence.
        fn: a top-level (picklable) function of one task.
        scheduler: None for local processes, a Dask scheduler address ("tcp://host:8786"),
            or a `distributed.Client` (used as is, not closed).
        processes: local worker processes (default: one per CPU); 1 runs in this process.

    Raises:
        PlannerError: the Dask scheduler cannot be reached, or `processes` < 1.
    """
    if not tasks:
        return
    if scheduler is not None:
        yield from _run_dask(tasks, fn, scheduler)
        return
    workers = default_processes() if processes is None else processes
    if workers < 1:
        raise PlannerError(f"processes must be >= 1: {workers}")
    workers = min(workers, len(tasks))
    if workers == 1:
        yield from _run_serial(tasks, fn)
    else:
        yield from _run_pool(tasks, fn, workers)


def _run_serial(tasks: Sequence[Task], fn: TaskFn) -> Iterator[tuple[int, Outcome]]:
    for index, (scenario, seed) in enumerate(tasks):
        try:
            outcome: Outcome = fn(scenario, seed)
        except Exception as exc:
            outcome = exc
        yield index, outcome


def _run_pool(tasks: Sequence[Task], fn: TaskFn, workers: int) -> Iterator[tuple[int, Outcome]]:
    pool = process_pool(workers)
    pending: dict[Future[dict[str, float]], int] = {}
    next_index = 0
    try:
        while next_index < len(tasks) or pending:
            while next_index < len(tasks) and len(pending) < workers * _IN_FLIGHT_PER_WORKER:
                scenario, seed = tasks[next_index]
                pending[pool.submit(fn, scenario, seed)] = next_index
                next_index += 1
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                index = pending.pop(future)
                exc = future.exception()
                yield index, (exc if exc is not None else future.result())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _run_dask(tasks: Sequence[Task], fn: TaskFn, scheduler: Any) -> Iterator[tuple[int, Outcome]]:
    import distributed

    # distributed has no type hints: its objects are Any here.
    client_class: Any = distributed.Client
    as_completed: Any = distributed.as_completed
    client: Any
    own_client = not isinstance(scheduler, client_class)
    if own_client:
        address = check_scheduler(str(scheduler))
        try:
            client = client_class(address, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise PlannerError(
                f"--scheduler: cannot connect to the Dask scheduler at {scheduler}: {exc}"
            ) from exc
    else:
        client = scheduler
    scenarios = [scenario for scenario, _ in tasks]
    seeds = [seed for _, seed in tasks]
    # pure=False: every task runs even if two cells happen to be equal; results are cached by
    # the caller, not by Dask.
    futures = client.map(fn, scenarios, seeds, pure=False)
    index_of = {future.key: index for index, future in enumerate(futures)}
    try:
        for future in as_completed(futures):
            index = index_of[future.key]
            if future.status == "error":
                yield index, future.exception()
            else:
                yield index, future.result()
    finally:
        client.cancel([future for future in futures if not future.done()])
        if own_client:
            client.close()
