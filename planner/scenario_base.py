"""Building blocks of the scenario schema: limits, strict field types, and one-line errors.

Every scenario type is a frozen pydantic dataclass made with `schema_type`: strict numbers (no
"1" for 1, no `true` for 1; an int is fine where seconds are meant), unknown keys refused with a
"did you mean", cross-field rules as validators. pydantic's errors are translated into the
project's one-line format, the first error only, with its dotted path, rule and value:

    deployment.max_replicas must be >= min_replicas (4): 2
    unknown field deployment.max_replica (did you mean 'max_replicas'?)

Limits. Every number is bounded to what the simulation can represent in reasonable time and
memory; the bounds below are part of the published JSON Schema:

- replica counts (min, max, initial) at most `MAX_REPLICAS` (100,000);
- concurrency per replica at most `MAX_CONCURRENT` (10,000);
- rates at most `MAX_RPS` (10⁶ requests per second);
- every duration and time (run length, request and start times, windows) at most
  `MAX_SECONDS` (31 days), except a queue wait or a timeout, which may be up to
  `MAX_TIMEOUT_S` (10⁹ s, "no limit": it sets no step of the simulation);
- at most `MAX_SEEDS` (10,000) replications, each seed below 2⁶³;
- control intervals (refresh, sync, tick) at least `MIN_INTERVAL_S` (0.01 s), and a target
  utilization at least `MIN_TARGET_UTILIZATION` (0.01), so that a run cannot take 10⁹ steps.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import re
from collections.abc import Callable, Collection, Mapping
from typing import Annotated, Any, TypeVar, dataclass_transform, get_type_hints

import pydantic.dataclasses
from pydantic import ConfigDict, Field, Strict, ValidationError, model_validator
from pydantic_core import ArgsKwargs, PydanticCustomError

from planner.errors import ScenarioError

MAX_REPLICAS = 100_000
MAX_CONCURRENT = 10_000
MAX_RPS = 1e6
MAX_SECONDS = 31 * 24 * 3600.0
MAX_SEEDS = 10_000
MAX_TIMEOUT_S = 1e9  # a wait or timeout this long means "no limit" (~31 years)
MAX_SEED_VALUE = 2**63 - 1
MIN_INTERVAL_S = 0.01
MIN_TARGET_UTILIZATION = 0.01

# Strict scalar types: a float field takes an int (1 for 1.0), never a string or a boolean.
Number = Annotated[float, Strict()]
Integer = Annotated[int, Strict()]
Flag = Annotated[bool, Strict()]
Text = Annotated[str, Strict()]

CONFIG = ConfigDict(
    extra="forbid",
    allow_inf_nan=False,
)

T = TypeVar("T")

_BOUNDS = ("gt", "ge", "lt", "le")
_RULE = "planner"  # the error type of the rules written here (ctx: text, sub)


def spec_field(
    *,
    default: Any = dataclasses.MISSING,
    default_factory: Any = dataclasses.MISSING,
    doc: str,
    **bounds: float,
) -> Any:
    """A documented field: `doc` becomes the JSON Schema description, `bounds` its limits.

    `bounds` are any of gt, ge, lt, le; they are kept in the field's metadata (with "doc")
    and `schema_type` turns them into pydantic constraints, so each rule is written once.
    """
    unknown = set(bounds) - set(_BOUNDS)
    if unknown:
        raise TypeError(f"unknown bound(s): {sorted(unknown)}")
    metadata = {"doc": doc, **bounds}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


@dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(spec_field,))
def schema_type(path: str) -> Callable[[type[T]], type[T]]:
    """Class decorator: a frozen, slotted, keyword-only pydantic dataclass of the schema.

    `path` is where the type sits in a scenario file ("deployment", "deployment.hpa"); an
    invalid direct construction raises ScenarioError with the message a file would give.
    """

    def wrap(cls: type[T]) -> type[T]:
        hints = get_type_hints(cls, include_extras=True)
        for name, value in list(vars(cls).items()):
            if isinstance(value, dataclasses.Field) and value.metadata.get("doc"):
                meta = value.metadata
                info = Field(description=meta["doc"], **{k: meta[k] for k in _BOUNDS if k in meta})
                cls.__annotations__[name] = Annotated[hints[name], info]
        # Every type refuses unknown keys with a "did you mean" before pydantic sees them.
        checker: Any = classmethod(_known_keys)
        setattr(cls, "_known_keys", model_validator(mode="before")(checker))  # noqa: B010
        made: Any = pydantic.dataclasses.dataclass(
            frozen=True, slots=True, kw_only=True, config=CONFIG
        )(cls)
        init = made.__init__
        prefix = tuple(path.split(".")) if path else ()

        @functools.wraps(init)
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            try:
                init(self, *args, **kwargs)
            except ValidationError as exc:
                raise ScenarioError(error_message(exc, prefix)) from None

        made.__init__ = __init__
        typed: type[T] = made
        return typed

    return wrap


# --------------------------------------------------------------------------- rule helpers


def _known_keys(cls: type[Any], data: Any) -> Any:
    values = kwargs_of(data)
    if values is not None:
        check_keys(values, file_keys(cls))
    return data


def fail(text: str, sub: str = "") -> PydanticCustomError:
    """An error of a rule: `text` follows the field path (plus `sub`, a relative field).

    `text` may hold "{where}" to place the path itself; one starting with ":" follows the path
    directly ("traffic.trace: file not found: ...").
    """
    return PydanticCustomError(_RULE, "{text}", {"text": text, "sub": sub})


def kwargs_of(data: Any) -> dict[str, Any] | None:
    """The field values of a validator's raw input: a mapping, or a direct call's kwargs."""
    if isinstance(data, ArgsKwargs):
        return dict(data.kwargs or {})
    if isinstance(data, Mapping):
        return dict(data)
    return None


def repack(data: Any, values: dict[str, Any]) -> Any:
    """`values` in the form the raw input came in (ArgsKwargs for a direct call)."""
    return ArgsKwargs((), values) if isinstance(data, ArgsKwargs) else values


def check_keys(data: Mapping[Any, Any], allowed: Collection[str]) -> None:
    """Refuse keys not in `allowed`, suggesting the closest one (difflib)."""
    for key in data:
        if key in allowed:
            continue
        close = difflib.get_close_matches(str(key), list(allowed), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        if not close:
            hint = f" (allowed: {', '.join(sorted(allowed))})"
        raise fail("unknown field {where}" + hint, sub=str(key))


def exactly_one(data: Mapping[str, Any], names: tuple[str, ...]) -> str:
    """The single key of `names` present in `data`, or a rule error naming what was given."""
    given = [n for n in names if n in data]
    if len(given) != 1:
        got = ", ".join(given) if given else "none"
        raise fail(f"needs exactly one of {', '.join(names)}: got {got}")
    return given[0]


def file_keys(cls: type[Any], *exclude: str) -> tuple[str, ...]:
    """The keys a scenario file may give for `cls` (its init fields, minus `exclude`)."""
    return tuple(f.name for f in dataclasses.fields(cls) if f.init and f.name not in exclude)


# ------------------------------------------------------------------------- the one message


def fmt_bound(x: Any) -> str:
    """A bound as users wrote it: 1 not 1.0, 0.7 not 0.70000."""
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:g}" if isinstance(x, float) else str(x)


def shown(value: Any) -> str:
    """A value for a message: its repr, shortened (a 400-digit int is not printed whole)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"an integer of about {int(value.bit_length() * 0.30103)} digits"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return repr(int(value))
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# Tags that pydantic puts in an error's location for a tagged union (the distribution kinds).
UNION_TAGS = frozenset({"constant", "exponential", "lognormal", "gamma", "empirical"})


def dotted(loc: tuple[Any, ...]) -> str:
    """("traffic", "pattern", 1, "rps") → "traffic.pattern[1].rps" (union tags dropped)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in UNION_TAGS or not str(part):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


def _quoted(text: str) -> str:
    return ", ".join(re.findall(r"'([^']*)'", text))


_TYPES = {
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be a string",
    "finite_number": "must be finite",
    "dataclass_type": "must be a mapping",
    "dataclass_args_type": "must be a mapping",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "tuple_type": "must be a list",
    "list_type": "must be a list",
    "string_too_short": "must be a non-empty string",
}
_OPS = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}


def describe_error(err: Mapping[str, Any], prefix: tuple[Any, ...] = ()) -> str:
    """One pydantic error (a dict of `ValidationError.errors()`) as the one-line message."""
    kind, ctx = err["type"], err.get("ctx") or {}
    loc = (*prefix, *err["loc"])
    value = err.get("input")
    if kind == _RULE:
        where, sub = dotted(loc), str(ctx["sub"])
        if sub:
            where = f"{where}.{sub}" if where else sub
        text = str(ctx["text"])
        if "{where}" in text:
            return text.replace("{where}", where)
        if text.startswith(":"):
            return where + text
        return f"{where} {text}" if where else text
    where = dotted(loc)
    if kind == "missing":
        return f"{where} is required"
    if kind in ("unexpected_keyword_argument", "extra_forbidden"):
        return f"unknown field {where}"
    if kind in _OPS:
        op = _OPS[kind]
        bound = ctx[{">": "gt", ">=": "ge", "<": "lt", "<=": "le"}[op]]
        return f"{where} must be {op} {fmt_bound(bound)}: {shown(value)}"
    if kind == "literal_error":
        return f"{where} must be one of {_quoted(ctx['expected'])}: {shown(value)}"
    if kind == "union_tag_invalid":
        key = _quoted(ctx["discriminator"])
        tags = _quoted(ctx["expected_tags"])
        return f"{where}.{key} must be one of {tags}: {shown(ctx['tag'])}"
    if kind == "union_tag_not_found":
        return f"{where}.{_quoted(ctx['discriminator'])} is required"
    if kind in ("too_short", "too_long"):
        what = "at least" if kind == "too_short" else "at most"
        limit = ctx.get("min_length" if kind == "too_short" else "max_length")
        return f"{where} must have {what} {limit} items: {shown(value)}"
    if kind == "float_type" and isinstance(value, int) and not isinstance(value, bool):
        return f"{where} is too large for a number: {shown(value)}"
    if kind in _TYPES:
        return f"{where} {_TYPES[kind]}: {shown(value)}"
    msg = str(err.get("msg", kind))
    return f"{where} {msg[:1].lower()}{msg[1:]}: {shown(value)}"


def error_message(exc: ValidationError, prefix: tuple[Any, ...] = ()) -> str:
    """The first error of a pydantic ValidationError as one line (never pydantic's dump)."""
    errors = exc.errors(include_url=False)
    if not errors:
        return str(exc).splitlines()[0]
    return describe_error(errors[0], prefix)


__all__ = [
    "CONFIG",
    "MAX_CONCURRENT",
    "MAX_REPLICAS",
    "MAX_RPS",
    "MAX_SECONDS",
    "MAX_SEEDS",
    "MAX_SEED_VALUE",
    "MAX_TIMEOUT_S",
    "MIN_INTERVAL_S",
    "MIN_TARGET_UTILIZATION",
    "Flag",
    "Integer",
    "Number",
    "Text",
    "check_keys",
    "describe_error",
    "error_message",
    "exactly_one",
    "fail",
    "file_keys",
    "kwargs_of",
    "repack",
    "schema_type",
    "spec_field",
]
