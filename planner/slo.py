"""The one SLO judgement, used by simulate, sweep, the settings search and the load test.

A configuration meets its SLO when the UPPER end of the 95 % interval of its 503 rate is at
most `slo.max_rate_503` and the upper end of the interval of its latency p99 is at most
`slo.latency_p99_s`: a result that might be over the objective does not pass. Each caller
gives the bounds it has (Student-t over seeds for a simulation; the measurement's own
interval for a load test); with a single value, that value is its own bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from planner.scenario import Slo

__all__ = ["SloJudgement", "judge_slo"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SloJudgement:
    """Whether the SLO is met (None: nothing to judge), and one reason per objective missed."""

    meets: bool | None
    reasons: tuple[str, ...]


def judge_slo(
    *,
    rate_503_hi: float,
    latency_p99_s_hi: float,
    slo: Slo,
    requests: float,
    basis: str = "upper 95 % bound",
) -> SloJudgement:
    """Judge upper bounds of the 503 rate and the latency p99 against `slo`.

    Args:
        rate_503_hi: upper bound of the 503 rate (a fraction).
        latency_p99_s_hi: upper bound of the latency p99, seconds (NaN: nothing was served).
        slo: the objective.
        requests: requests judged; 0 means there is nothing to judge (`meets` is None).
        basis: how the bounds were obtained, for the reasons ("upper 95 % bound").
    """
    if not requests > 0:
        nothing = "no request arrived after warm-up: nothing to judge"
        return SloJudgement(meets=None, reasons=(nothing,))
    reasons: list[str] = []
    if not rate_503_hi <= slo.max_rate_503:
        reasons.append(
            f"rate_503 {basis} {rate_503_hi:.4g} > slo.max_rate_503 {slo.max_rate_503:g}"
        )
    if math.isnan(latency_p99_s_hi):
        reasons.append("latency_p99_s is undefined: no request was served")
    elif latency_p99_s_hi > slo.latency_p99_s:
        reasons.append(
            f"latency_p99_s {basis} {latency_p99_s_hi:.4g} s > "
            f"slo.latency_p99_s {slo.latency_p99_s:g} s"
        )
    return SloJudgement(meets=not reasons, reasons=tuple(reasons))
