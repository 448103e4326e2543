"""Small helpers several commands share: seeds, output paths, warnings as lines, JSON values."""

from __future__ import annotations

import math
import os
import tempfile
import warnings
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import typer

from planner.errors import PlannerWarning, ScenarioError

T = TypeVar("T")


class TableOrJson(StrEnum):
    """How a command prints its result on stdout."""

    table = "table"
    json = "json"


def choose_seeds(
    file_seeds: tuple[int, ...], *, n: int | None = None, one: int | None = None
) -> tuple[int, ...]:
    """The seeds to run: --seed S alone, the first N (extended past the file's), or the file's."""
    if one is not None:
        return (one,)
    seeds = list(file_seeds) or [0]
    if n is None:
        return tuple(seeds)
    while len(seeds) < n:
        seeds.append(max(seeds) + 1)
    return tuple(seeds[:n])


def warn_one_replication(seeds: tuple[int, ...] | list[int], how: str) -> None:
    """Warn (PlannerWarning) when a single replication is run: it gives no interval.

    `how` tells the user how to ask for more ("--seeds N", "seeds: N in the scenario").
    """
    if len(seeds) == 1:
        warnings.warn(
            f"one replication (seed {seeds[0]}) gives no confidence interval: the figures and "
            f"the SLO verdict are one run's; use {how} with N >= 2 for 95 % intervals",
            PlannerWarning,
            stacklevel=2,
        )


# Kernel pseudo-filesystems: they look like directories but take no files of ours.
_PSEUDO_FS = ("/proc", "/sys")


def _os_reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _refuse_pseudo_fs(path: Path, option: str) -> None:
    resolved = str(path.expanduser().resolve())
    for root in _PSEUDO_FS:
        if resolved == root or resolved.startswith(root + "/"):
            raise ScenarioError(f"{option} cannot be under {root} (a kernel filesystem): {path}")


def check_output_dir(path: Path, option: str) -> None:
    """Fail now, with one line, if `path` cannot be an output directory we write into.

    It is created if missing (as the command would) and a probe file is written and removed,
    so a file in the way, a read-only place or a pseudo-filesystem (/proc, /sys) is reported
    before any simulation runs.

    Raises:
        ScenarioError: `path` is not a directory, or cannot be created or written.
    """
    _refuse_pseudo_fs(path, option)
    if path.exists() and not path.is_dir():
        raise ScenarioError(f"{option} must be a directory; this is a file: {path}")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise ScenarioError(f"{option} cannot be written ({_os_reason(exc)}): {path}") from None


def check_output_file(path: Path, option: str) -> None:
    """Fail now, with one line, if a file cannot be written at `path`.

    Raises:
        ScenarioError: `path` is a directory, or the file cannot be created or written.
    """
    _refuse_pseudo_fs(path, option)
    if path.is_dir():
        raise ScenarioError(f"{option} must be a file name; this is a directory: {path}")
    existed = path.exists()
    try:
        if not existed:
            path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise ScenarioError(f"{option} cannot be written ({_os_reason(exc)}): {path}") from None
    if not existed:
        os.unlink(path)


def with_warnings(call: Callable[[], T]) -> T:
    """Run `call`; PlannerWarnings (doubtful results) become "Warning: ..." lines on stderr.

    Each distinct message is printed once; other warnings go on as they were raised.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PlannerWarning)
        value = call()
    seen: set[str] = set()
    for item in caught:
        if not issubclass(item.category, PlannerWarning):
            warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
        elif str(item.message) not in seen:
            seen.add(str(item.message))
            typer.echo(f"Warning: {item.message}", err=True)
    return value


def json_safe(value: Any) -> Any:
    """NaN and infinities become null; numpy scalars and tuples become plain JSON values."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
