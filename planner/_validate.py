"""Validation helpers for the scenario loader: typed field readers, did-you-mean, CSV files.

Every error is a `ScenarioError` whose message names the dotted field path, the rule and the
offending value, e.g. ``traffic.rps must be > 0: -5``. Numbers given as strings and booleans
given as numbers are type errors; integers are required where counts are meant.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import functools
import math
import types
import typing
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from planner.distributions import (
    Z99,
    Constant,
    Distribution,
    Empirical,
    Exponential,
    Gamma,
    Lognormal,
)
from planner.errors import ScenarioError

DISTS = ("constant", "exponential", "lognormal", "gamma", "empirical")
DIST_KEYS = {
    "constant": ("value", "mean"),
    "exponential": ("mean",),
    "lognormal": ("mean", "p99", "sigma"),
    "gamma": ("mean", "shape", "scv"),
    "empirical": ("file", "samples"),
}


def fmt_bound(x: float) -> str:
    """A bound as users wrote it: 1 not 1.0, 0.7 not 0.70000."""
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def check_keys(data: Mapping[str, Any], allowed: Collection[str], path: str) -> None:
    """Reject keys not in `allowed`, suggesting the closest one (difflib)."""
    for key in data:
        if key in allowed:
            continue
        where = f"{path}.{key}" if path else str(key)
        close = difflib.get_close_matches(str(key), list(allowed), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        if not close:
            hint = f" (allowed: {', '.join(sorted(allowed))})"
        raise ScenarioError(f"unknown field {where}{hint}")


def required(data: Mapping[str, Any], key: str, path: str) -> Any:
    """`data[key]`, or an error naming the missing field."""
    where = f"{path}.{key}" if path else key
    if data.get(key) is None:
        raise ScenarioError(f"{where} is required")
    return data[key]


def as_mapping(value: Any, path: str) -> Mapping[str, Any]:
    """`value` as a mapping, or an error naming the path."""
    if not isinstance(value, Mapping):
        raise ScenarioError(f"{path} must be a mapping: {value!r}")
    return value


def check_bounds(
    value: float,
    path: str,
    *,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
    what: str = "",
    shown: Any = None,
) -> None:
    """Raise unless gt < value, ge <= value, value < lt, value <= le (those given).

    `what` names a bound that comes from another field, e.g. "min_replicas (4)"; `shown` is
    the value as the user wrote it (default: `value`).
    """
    for op, bound in ((">", gt), (">=", ge), ("<", lt), ("<=", le)):
        if bound is None:
            continue
        ok = {">": value > bound, ">=": value >= bound, "<": value < bound, "<=": value <= bound}
        if not ok[op]:
            given = value if shown is None else shown
            raise ScenarioError(f"{path} must be {op} {what or fmt_bound(bound)}: {given!r}")


def number(value: Any, path: str, *, integer: bool = False, **bounds: Any) -> Any:
    """`value` as a finite float (or int if `integer`), checked against `bounds`."""
    raw = value
    if integer:
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ScenarioError(f"{path} must be an integer: {value!r}")
        value = int(value)
    else:
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            raise ScenarioError(f"{path} must be a number: {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise ScenarioError(f"{path} must be finite: {value!r}")
    check_bounds(value, path, shown=raw, **bounds)
    return value


def choice(value: Any, path: str, choices: Collection[str]) -> str:
    """`value` if it is one of `choices`."""
    if not isinstance(value, str) or value not in choices:
        raise ScenarioError(f"{path} must be one of {', '.join(choices)}: {value!r}")
    return value


def text(value: Any, path: str) -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise ScenarioError(f"{path} must be a non-empty string: {value!r}")
    return value


def exactly_one(data: Mapping[str, Any], names: tuple[str, ...], path: str) -> str:
    """The single key of `names` present in `data`."""
    given = [n for n in names if n in data]
    if len(given) != 1:
        got = ", ".join(given) if given else "none"
        raise ScenarioError(f"{path} needs exactly one of {', '.join(names)}: got {got}")
    return given[0]


# ------------------------------------------------------------------ generic dataclass blocks

_BOUND_KEYS = ("gt", "ge", "lt", "le")


def build_dataclass(cls: type[Any], data: Any, path: str) -> Any:
    """An instance of the frozen dataclass `cls` from a mapping, validated generically.

    Allowed keys are the init fields; types come from the annotations (bool, int, float, str,
    `X | None`, `tuple[X, ...]`, `Literal[...]`, nested dataclasses); rules from field metadata
    `gt`, `ge`, `lt`, `le`, `choices`. Lists become tuples; mappings become nested dataclasses.
    """
    data = as_mapping(data, path)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    check_keys(data, fields, path)
    kwargs = {
        name: convert(value, hints[name], f"{path}.{name}", fields[name].metadata)
        for name, value in data.items()
    }
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as exc:  # a cross-field rule in the class's __post_init__
        raise ScenarioError(f"{path}: {exc}") from None


def convert(value: Any, tp: Any, path: str, meta: Mapping[str, Any] | None = None) -> Any:
    """`value` checked against the type hint `tp` and the field metadata rules."""
    meta = meta or {}
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            return convert(value, options[0], path, meta)
        for option in options:  # the first that accepts the value
            try:
                return convert(value, option, path, meta)
            except ScenarioError:
                continue
        raise ScenarioError(f"{path} has an invalid value: {value!r}")
    if origin is typing.Literal:
        return choice(value, path, [str(a) for a in args])
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ScenarioError(f"{path} must be a list: {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(convert(v, args[0], f"{path}[{i}]", meta) for i, v in enumerate(value))
        if len(value) != len(args):
            raise ScenarioError(f"{path} must have {len(args)} items: {value!r}")
        pairs = enumerate(zip(value, args, strict=True))
        return tuple(convert(v, a, f"{path}[{i}]", meta) for i, (v, a) in pairs)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return build_dataclass(tp, value, path)
    bounds = {k: meta[k] for k in _BOUND_KEYS if k in meta}
    if tp is bool:
        if not isinstance(value, bool):
            raise ScenarioError(f"{path} must be true or false: {value!r}")
        return value
    if tp is int:
        return number(value, path, integer=True, **bounds)
    if tp is float:
        return number(value, path, **bounds)
    if tp is str:
        if not isinstance(value, str):
            raise ScenarioError(f"{path} must be a string: {value!r}")
        if "choices" in meta:
            choice(value, path, meta["choices"])
        return value
    return value  # an annotation this loader does not know: pass through unchecked


# ------------------------------------------------------------------------------ CSV files


def resolve_file(value: Any, path: str, base_dir: Path | None) -> Path:
    """A file path from the scenario, relative to the scenario's directory; must exist."""
    name = text(value, path)
    file = Path(name).expanduser()
    if not file.is_absolute():
        file = (base_dir or Path.cwd()) / file
    file = file.resolve()
    if not file.is_file():
        raise ScenarioError(f"{path}: file not found: {file}")
    return file


def _rows(file: Path, path: str) -> list[tuple[int, list[str]]]:
    """Non-blank, non-comment CSV rows with their 1-based line numbers."""
    try:
        with file.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            rows = []
            for row in reader:
                cells = [c.strip() for c in row]
                if not any(cells) or cells[0].startswith("#"):
                    continue
                rows.append((reader.line_num, cells))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ScenarioError(f"{path}: cannot read CSV {file}: {exc}") from None
    if not rows:
        raise ScenarioError(f"{path}: {file} has no rows")
    return rows


def _cell_number(cell: str, file: Path, line: int, column: str, path: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise ScenarioError(f"{path}: {file} line {line}: {column} must be a number >= 0: {cell!r}")
    return value


@functools.lru_cache(maxsize=16)
def _read_trace(file: Path, path: str, _stamp: tuple[int, int]) -> tuple[str, np.ndarray]:
    rows = _rows(file, path)
    header_line, header = rows[0]
    cols = {c.lower(): i for i, c in enumerate(header)}
    if "t_s" in cols:
        i = cols["t_s"]
        times = np.array(
            [_cell_number(_cell(r, i), file, n, "t_s", path) for n, r in rows[1:]], np.float64
        )
        if times.size == 0:
            raise ScenarioError(f"{path}: {file} has no rows after the header")
        return "times", times
    if "second" in cols and "count" in cols:
        i, j = cols["second"], cols["count"]
        counts: dict[int, int] = {}
        for n, r in rows[1:]:
            sec, cnt = _cell(r, i), _cell(r, j)
            s, c = (
                _cell_number(sec, file, n, "second", path),
                _cell_number(cnt, file, n, "count", path),
            )
            if not (s.is_integer() and c.is_integer()):
                raise ScenarioError(
                    f"{path}: {file} line {n}: second and count must be integers: {sec},{cnt}"
                )
            if int(s) in counts:
                raise ScenarioError(f"{path}: {file} line {n}: second {int(s)} appears twice")
            counts[int(s)] = int(c)
        if not counts:
            raise ScenarioError(f"{path}: {file} has no rows after the header")
        arr = np.zeros(max(counts) + 1, dtype=np.int64)
        arr[list(counts)] = list(counts.values())
        return "counts", arr
    raise ScenarioError(
        f"{path}: {file} line {header_line}: header must have a column t_s, "
        f"or columns second,count: {','.join(header)!r}"
    )


def _cell(row: list[str], i: int) -> str:
    return row[i] if i < len(row) else ""


def _stamp(file: Path) -> tuple[int, int]:
    st = file.stat()
    return (st.st_mtime_ns, st.st_size)


def read_trace(file: Path, path: str) -> tuple[str, np.ndarray]:
    """("times", timestamps) from a `t_s` column or ("counts", per-second) from `second,count`."""
    return _read_trace(file, path, _stamp(file))


@functools.lru_cache(maxsize=16)
def _read_samples(file: Path, path: str, _stamp: tuple[int, int]) -> tuple[float, ...]:
    rows = _rows(file, path)
    values = []
    for k, (line, cells) in enumerate(rows):
        if len(cells) != 1:
            raise ScenarioError(f"{path}: {file} line {line}: expected one column: {cells!r}")
        if k == 0:
            try:
                float(cells[0])
            except ValueError:
                continue  # a header
        values.append(_cell_number(cells[0], file, line, "seconds", path))
    if not values:
        raise ScenarioError(f"{path}: {file} has no values")
    return tuple(values)


def read_samples(file: Path, path: str) -> tuple[float, ...]:
    """One column of seconds (header optional) from a CSV file."""
    return _read_samples(file, path, _stamp(file))


# ---------------------------------------------------------------------------- distributions


def distribution(value: Any, path: str, base_dir: Path | None, *, allow_zero: bool) -> Distribution:
    """A number (constant seconds) or a `{dist: ...}` mapping, as a Distribution."""
    positive: dict[str, Any] = {"ge": 0} if allow_zero else {"gt": 0}
    if not isinstance(value, Mapping):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ScenarioError(
                f"{path} must be a number of seconds or a mapping with dist: {value!r}"
            )
        return Constant(value_s=number(value, path, **positive))
    dist = choice(required(value, "dist", path), f"{path}.dist", DISTS)
    check_keys(value, ("dist", *DIST_KEYS[dist]), path)

    def num(key: str, **bounds: Any) -> float:
        return float(number(required(value, key, path), f"{path}.{key}", **bounds))

    if dist == "constant":
        key = exactly_one(value, ("value", "mean"), path)
        return Constant(value_s=num(key, **positive))
    if dist == "exponential":
        return Exponential(mean_s=num("mean", gt=0))
    if dist == "lognormal":
        mean = num("mean", gt=0)
        if exactly_one(value, ("p99", "sigma"), path) == "sigma":
            return Lognormal(mean_s=mean, sigma=num("sigma", ge=0))
        p99 = num("p99", gt=mean, what=f"mean ({mean:g})")
        factor = math.exp(Z99 * Z99 / 2)
        limit = f"mean × {factor:.2f} ({mean * factor:.4g})"
        check_bounds(p99, f"{path}.p99", le=mean * factor, what=limit, shown=value["p99"])
        return Lognormal.from_mean_p99(mean, p99)
    if dist == "gamma":
        mean = num("mean", gt=0)
        if exactly_one(value, ("shape", "scv"), path) == "shape":
            return Gamma(mean_s=mean, shape=num("shape", gt=0))
        return Gamma.from_mean_scv(mean, num("scv", gt=0))
    if exactly_one(value, ("file", "samples"), path) == "file":
        file = resolve_file(value["file"], f"{path}.file", base_dir)
        samples = read_samples(file, f"{path}.file")
    else:
        raw = value["samples"]
        if not isinstance(raw, list) or not raw:
            raise ScenarioError(f"{path}.samples must be a non-empty list of seconds: {raw!r}")
        samples = tuple(number(x, f"{path}.samples[{i}]", ge=0) for i, x in enumerate(raw))
    if not sum(samples) > 0:
        raise ScenarioError(f"{path} samples must not all be 0")
    return Empirical(samples_s=tuple(samples))
