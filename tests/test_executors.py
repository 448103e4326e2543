"""One executor (spawned processes) and one progress display for all parallel work."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from planner.executors import map_in_order, process_pool
from planner.progress import Progress

PLANNER = Path(__file__).resolve().parents[1] / "planner"


def test_the_pool_is_spawned() -> None:
    """process_pool uses the spawn start method (a forked threaded parent can deadlock)."""
    with process_pool(1) as pool:
        assert pool._mp_context.get_start_method() == "spawn"  # type: ignore[attr-defined]
        assert pool.submit(abs, -3).result() == 3


def test_only_the_executors_module_makes_a_pool() -> None:
    """No module of planner/ but executors.py constructs a process pool or picks a start method."""
    pattern = re.compile(r"ProcessPoolExecutor\(|multiprocessing\.Pool\(|get_context\(|\.Pool\(")
    makers = sorted(
        str(path.relative_to(PLANNER))
        for path in PLANNER.rglob("*.py")
        if pattern.search(path.read_text(encoding="utf-8"))
    )
    assert makers == ["executors.py"]


def test_map_in_order_is_the_same_in_processes_and_here() -> None:
    """Results come back in item order, with on_done counting up, in a pool as in-process."""
    items = [-5, 3, -1, 8]
    seen: list[int] = []
    assert map_in_order(abs, items, processes=2, on_done=seen.append) == [5, 3, 1, 8]
    assert seen == [1, 2, 3, 4]
    assert map_in_order(abs, items) == [5, 3, 1, 8]
    with process_pool(2) as pool:
        assert map_in_order(abs, items, pool=pool) == [5, 3, 1, 8]
        assert pool.submit(abs, -1).result() == 1  # a given pool is left open


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_plain_lines_off_a_terminal_only_when_always() -> None:
    """Off a terminal: nothing for True; a first and a last plain line for "always"."""
    quiet = io.StringIO()
    with Progress(3, text="sweep", mode=True, stream=quiet) as bar:
        for _ in range(3):
            bar.advance()
    assert quiet.getvalue() == ""
    log = io.StringIO()
    with Progress(3, text="sweep", mode="always", stream=log, note="1 cached") as bar:
        bar.advance(2)
    assert log.getvalue().splitlines() == ["sweep: 0/3, 1 cached", "sweep: 2/3, 1 cached"]


@pytest.mark.parametrize("mode", [True, "always"])
def test_progress_bar_on_a_terminal(mode: bool | str) -> None:
    """On a terminal the rich bar is drawn; markup-like text in the label is shown as is."""
    screen = _Terminal()
    with Progress(2, text="[bold]x", mode=mode, stream=screen, transient=False) as bar:  # type: ignore[arg-type]
        bar.advance(2)
    assert "[bold]x" in screen.getvalue() and "2/2" in screen.getvalue()
    silent = _Terminal()
    with Progress(2, text="x", mode=False, stream=silent):
        pass
    assert silent.getvalue() == ""
