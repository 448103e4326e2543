"""The integer units an autoscaler object really holds, rounded one way for simulation and export.

A Kubernetes HPA stores `averageUtilization` as an integer percent and `averageValue` as a
quantity (whole milli-units at most); Azure ML stores its target utilization as an integer
percent. planner keeps fractions as floats. Each conversion rounds half up on the DECIMAL a
user wrote (0.665 -> 67 %, not the binary 66.49999... and not banker's 66), so the simulated
controller works with the very number `planner export` writes. `planner.export.units`
re-exports these functions; nothing else rounds a target.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

__all__ = ["as_decimal", "half_up", "milli", "percent"]


def as_decimal(value: float) -> Decimal:
    """The decimal a user wrote (0.675 stays 0.675, not its binary approximation)."""
    return Decimal(repr(float(value)))


def half_up(value: Decimal) -> int:
    """`value` rounded half up to an integer (66.5 -> 67; the built-in round() gives 66)."""
    return int(value.quantize(Decimal(1), ROUND_HALF_UP))


def percent(fraction: float) -> int:
    """A fraction as an integer percent, rounded half up on its decimal form (0.665 -> 67).

    This is the HPA's `target.averageUtilization` (and Azure ML's target utilization) as
    `planner export` writes it and as the simulated HPA compares against.
    """
    return half_up(as_decimal(fraction) * 100)


def milli(value: Decimal) -> int:
    """`value` in whole milli-units, rounded half up (0.7 -> 700; 0.0005 -> 1).

    A Kubernetes quantity such as the HPA's `target.averageValue` holds at most milli
    precision; the simulated Pods metric compares against this integer.
    """
    return half_up(value * 1000)
