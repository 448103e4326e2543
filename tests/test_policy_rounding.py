"""One HPA target rounding: the simulated HPA compares against the integer the export writes.

An HPA object holds `averageUtilization` as an integer percent and `averageValue` as a
quantity of at most milli precision; `planner export --format hpa` writes them and the
simulated controller must use the very same integers.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from planner.autoscalers import HpaParams, HpaPolicy, Observation
from planner.autoscalers.units import percent
from planner.errors import ScenarioError
from planner.export import ExportSettings
from planner.export.formats import hpa_dict

TARGETS = [0.665, 0.675, 0.285, 0.125, 0.7, 0.6, 0.005, 0.3333, 0.9995, 1.0]


def policy(target: float, mc: int = 1, **params: object) -> HpaPolicy:
    """An HPA with exact tolerances (0 both ways) so a 1 % difference decides."""
    return HpaPolicy(
        min_replicas=1,
        max_replicas=1000,
        target_utilization=target,
        max_concurrent=mc,
        params=HpaParams(
            scale_up_tolerance=0.0,
            scale_down_tolerance=0.0,
            scale_down_stabilization_s=0.0,
            **params,  # type: ignore[arg-type]
        ),
    )


def exported_percent(target: float) -> int:
    """averageUtilization of `planner export --format hpa` (cpu metric)."""
    doc = hpa_dict(ExportSettings(name="svc", target_utilization=target))
    value = doc["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"]
    assert isinstance(value, int)
    return value


def exported_milli(target: float, mc: int) -> int:
    """averageValue of the concurrency export, in milli-units."""
    doc = hpa_dict(
        ExportSettings(name="svc", target_utilization=target, max_concurrent=mc),
        metric="concurrency",
    )
    text = doc["spec"]["metrics"][0]["pods"]["target"]["averageValue"]
    return int(text[:-1]) if text.endswith("m") else int(Decimal(text) * 1000)


@pytest.mark.parametrize("target", TARGETS)
def test_simulated_cpu_target_is_the_exported_percent(target: float) -> None:
    """0.665 is 67 % in the HPA object and in the simulation (round() would give 66)."""
    assert policy(target).target_percent == exported_percent(target) == percent(target)


def test_the_known_disagreement_is_gone() -> None:
    """The case that used to differ: 0.665 → 67 both ways; Python's round(66.5) is 66."""
    assert round(0.665 * 100) == 66  # the old simulated rounding
    assert exported_percent(0.665) == 67
    assert policy(0.665).target_percent == 67


def test_simulated_hpa_holds_at_the_exported_percent() -> None:
    """100 pods at exactly 67 % CPU with target 0.665: ratio 67/67 = 1 → hold 100.

    Against 66 % the same load would be 1.015 over target and scale to 102.
    """
    obs = Observation(
        t_s=0.0, ready=100, starting=0, busy=67, queued=0, busy_avg=67.0, queued_avg=0.0
    )
    assert policy(0.665).decide(obs) == 100
    assert policy(0.66).decide(obs) == 102  # a true 66 % target does scale


@pytest.mark.parametrize("mc", [1, 3, 10])
@pytest.mark.parametrize("target", [0.7, 0.7005, 0.6665, 0.125, 0.0125, 0.3333])
def test_simulated_concurrency_target_is_the_exported_quantity(target: float, mc: int) -> None:
    """The Pods metric target in milli-units equals the exported averageValue quantity."""
    assert policy(target, mc, metric="concurrency").target_milli == exported_milli(target, mc)


def test_a_target_below_one_percent_is_refused() -> None:
    """averageUtilization must be > 0: 0.004 rounds to 0 %, so the HPA policy refuses it."""
    with pytest.raises(ScenarioError, match=r"target_utilization must be >= 0.005.*0\.004"):
        policy(0.004)
    assert policy(0.004, metric="concurrency").target_milli == 4
