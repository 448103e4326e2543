"""Planner's units in the deployment targets' units, and the checks on exported names.

Azure ML and Kubernetes take integer percents, whole seconds, whole milliseconds and
Kubernetes quantities; planner keeps fractions and seconds as floats. Every conversion rounds
half up on the DECIMAL a user wrote (0.675 -> 68 %, not the binary 67.49999...), so an export
never surprises by banker's rounding or float noise. The target roundings (`percent`, and
`milli` inside `quantity`) live in `planner.autoscalers.units`, so the simulated HPA compares
against the very integer an export writes. The checks raise `ScenarioError` naming
the field, the rule and the value.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

from planner.autoscalers.units import as_decimal, half_up, milli, percent
from planner.errors import ScenarioError

__all__ = [
    "ASSET_RE",
    "METRIC_RE",
    "NAME_RE",
    "as_decimal",
    "check_int",
    "check_name",
    "check_number",
    "clamp",
    "half_up",
    "is_int",
    "percent",
    "quantity",
    "slug",
    "whole_ms",
    "whole_seconds",
]

NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
ASSET_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")  # Azure ML asset names
METRIC_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]*$")


def whole_ms(seconds: float) -> int:
    """Seconds as whole milliseconds, rounded half up (0.5 -> 500)."""
    return half_up(as_decimal(seconds) * 1000)


def whole_seconds(seconds: float) -> int:
    """Seconds rounded half up to a whole number, at least 1."""
    return max(1, half_up(as_decimal(seconds)))


def quantity(value: Decimal) -> str:
    """A Kubernetes quantity string: whole units, else milli-units rounded half up (0.7 -> 700m)."""
    m = milli(value)
    return str(m // 1000) if m % 1000 == 0 else f"{m}m"


def slug(text: str) -> str:
    """A DNS-1123 label from free text ("Spike 3x!" -> "spike-3x"), or "planner"."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:63].strip("-")
    return slug or "planner"


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def clamp(value: int, low: int, high: int) -> int:
    """`value` within low..high (high wins if they cross, so validation reports max < min)."""
    return max(low, min(value, high)) if low <= high else value


def check_name(field: str, value: object) -> None:
    if not isinstance(value, str) or not NAME_RE.match(value) or len(value) > 63:
        raise ScenarioError(
            f"{field} must be a DNS-1123 label (lowercase letters, digits, '-', at most 63): "
            f"{value!r}"
        )


def check_number(field: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ScenarioError(f"{field} must be a finite number: {value!r}")
    return float(value)


def check_int(field: str, value: object, *, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScenarioError(f"{field} must be an integer: {value!r}")
    if value < low:
        raise ScenarioError(f"{field} must be >= {low}: {value}")
