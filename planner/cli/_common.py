"""Small helpers several commands share: seeds from options, warnings as lines, JSON values."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from enum import StrEnum
from typing import Any, TypeVar

import typer

from planner.errors import PlannerWarning

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
