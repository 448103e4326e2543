"""One convention for `to_dict()`: JSON-safe plain data from the result types.

`plain(value)` turns a result into what `json.dumps` accepts without help: dataclasses become
dicts of their fields (nested ones too), tuples lists, numpy scalars Python numbers, NaN and
infinities None (as the CLI's JSON output does), pandas DataFrames a list of row dicts, enums
their value. Every public result type's `to_dict()` goes through it.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from pathlib import PurePath
from typing import Any

__all__ = ["plain"]


def plain(value: Any) -> Any:
    """JSON-safe plain data: dicts, lists, str, int, float (finite), bool and None only."""
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if isinstance(value, PurePath):
        return str(value)
    if hasattr(value, "to_dict") and hasattr(value, "columns"):  # a pandas DataFrame
        return [plain(row) for row in value.to_dict("records")]
    if hasattr(value, "tolist"):  # a numpy scalar or array
        return plain(value.tolist())
    raise TypeError(f"no plain form for {type(value).__name__}")
