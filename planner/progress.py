"""The one progress display of long runs: a rich bar on a terminal, plain lines elsewhere.

`simulate.run` (replications), `sweep.run_sweep` (cell × seed tasks) and
`recommend.search_settings` (candidate settings) all report through `Progress`. It writes to
stderr only, so stdout stays the command's result (a table, JSON). `mode`:

- `False`: nothing;
- `True`: a rich bar when stderr is a terminal, nothing otherwise (the library default: a
  script or a test that captures stderr sees no progress);
- `"always"`: the rich bar on a terminal, and on anything else (a CI log, a file) one plain
  line at the start, at most one line per `PLAIN_EVERY_S` seconds, and one at the end.

No thread is started until `__enter__`; parallel work uses spawned processes
(`planner.executors`), so a started bar is never forked into a worker.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Literal, TextIO

__all__ = ["PLAIN_EVERY_S", "Progress", "ProgressMode"]

ProgressMode = bool | Literal["always"]
PLAIN_EVERY_S = 10.0  # at most one plain progress line this often


class Progress:
    """Progress over `total` steps (None: unknown), shown on stderr as `mode` says.

    Use as a context manager (or `start()` / `stop()`); call `advance()` after each step.
    `text` is the label, and `note()` may change the part after the counts (e.g. "3 cached").
    """

    def __init__(
        self,
        total: int | None,
        *,
        text: str,
        mode: ProgressMode = True,
        completed: int = 0,
        note: str = "",
        transient: bool = True,
        stream: TextIO | None = None,
    ) -> None:
        self._stream = sys.stderr if stream is None else stream
        self._total = total
        self._done = completed
        self._text = text
        self._note = note
        self._bar: Any = None
        self._task: Any = None
        self._plain = False
        self._last_line = -float("inf")
        terminal = bool(getattr(self._stream, "isatty", lambda: False)())
        if mode and terminal:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

            self._bar = Progress(
                "{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(file=self._stream),
                transient=transient,
            )
            self._task = self._bar.add_task(self._label(), total=total, completed=completed)
        elif mode == "always":
            self._plain = True

    @property
    def done(self) -> int:
        """Steps completed so far (including `completed` given at the start)."""
        return self._done

    def _label(self) -> str:
        # The label is planner's own text, never markup from a scenario file.
        from rich.markup import escape

        return escape(f"{self._text}{': ' + self._note if self._note else ''}")

    def _counts(self) -> str:
        total = "?" if self._total is None else str(self._total)
        return f"{self._text}: {self._done}/{total}" + (f", {self._note}" if self._note else "")

    def note(self, note: str) -> None:
        """Replace the note shown after the counts."""
        self._note = note
        if self._bar is not None:
            self._bar.update(self._task, description=self._label())

    def advance(self, steps: int = 1) -> None:
        """Count `steps` more steps done."""
        self._done += steps
        if self._bar is not None:
            self._bar.update(self._task, completed=self._done)
        elif self._plain and time.monotonic() - self._last_line >= PLAIN_EVERY_S:
            self._line()

    def _line(self) -> None:
        self._last_line = time.monotonic()
        print(self._counts(), file=self._stream, flush=True)

    def start(self) -> None:
        """Show the bar (or the first plain line)."""
        if self._bar is not None:
            self._bar.start()
        elif self._plain:
            self._line()

    def stop(self) -> None:
        """Remove a transient bar (or print the last plain line)."""
        if self._bar is not None:
            self._bar.stop()
        elif self._plain:
            self._line()

    def __enter__(self) -> Progress:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
