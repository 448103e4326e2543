"""A short spike scenario from a few numbers: steady rate, a sudden step to the peak, back.

`spike_scenario(rps=20, peak_rps=60, request_time_s=0.5)` builds the Scenario a
simulation-backed recommendation searches over. The shape, in order:

    warm-up (excluded)  steady rps for `warmup_s` (default max(60 s, 2 × cold start)):
                        time for the autoscaler to settle and the queue to reach steady state
    lead                steady rps for `lead_s − warmup_s` (default 30 s), counted
    spike               a step to `peak_rps` for `spike_duration_s` (default 60 s)
    tail                back to rps for `tail_s` (default 60 s): the queue drains, the last
                        503s of the spike are counted

so a default run lasts about four minutes of simulated time, and a search of a few dozen
candidates finishes in seconds. The 503 rate is counted over lead + spike + tail: a longer
lead or tail dilutes the spike's 503s, so keep them short when the SLO is about the spike.

The deployment starts at the replica count the autoscaler settles at for `rps`
(the Azure ML formula at `target_utilization`), so the warm-up absorbs Poisson noise rather
than a cold start of the whole deployment. The Scenario is built with `scenario_from_dict`,
so every value is validated (and every error worded) exactly like a scenario file.
"""

from __future__ import annotations

import math
from typing import Any

from planner.errors import ScenarioError
from planner.formulas import max_replicas_rule, replicas_needed
from planner.scenario import Scenario, scenario_from_dict

__all__ = ["COUNTED_LEAD_S", "has_latency_objective", "request_time_spec", "spike_scenario"]

COUNTED_LEAD_S = 30.0  # steady seconds before the spike that count toward the statistics
MIN_WARMUP_S = 60.0


def has_latency_objective(scenario: Scenario) -> bool:
    """False when the latency SLO cannot be missed: it is at least max wait + scoring timeout.

    A served request waits at most max_request_wait_s and runs at most scoring_timeout_s (then
    it is a 504), so such an objective is no objective; `spike_scenario` writes one when no
    latency target is given, and renderings say "no latency SLO" for it.
    """
    dep = scenario.deployment
    return scenario.slo.latency_p99_s < dep.max_request_wait_s + dep.scoring_timeout_s


def request_time_spec(request_time_s: float, scv: float = 1.0) -> float | dict[str, Any]:
    """The scenario's request_time_s for a mean and a squared coefficient of variation.

    1 = exponential (what Erlang C assumes), 0 = constant (a plain number), otherwise the
    gamma distribution with that mean and scv.
    """
    if scv == 0:
        return request_time_s
    if scv == 1:
        return {"dist": "exponential", "mean": request_time_s}
    return {"dist": "gamma", "mean": request_time_s, "scv": scv}


def _mean_s(value: Any) -> float | None:
    """The mean of a number or a `{dist: ..., mean: ...}` mapping, None when not given plainly."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, dict):
        for key in ("mean", "value"):
            mean = value.get(key)
            if isinstance(mean, int | float) and not isinstance(mean, bool):
                return float(mean)
    return None


def spike_scenario(
    *,
    rps: float,
    peak_rps: float,
    spike_duration_s: float = 60.0,
    request_time_s: float | dict[str, Any] = 10.0,
    max_concurrent: int = 1,
    cold_start_s: float | dict[str, Any] = 30.0,
    target_utilization: float = 0.7,
    max_wait_s: float = 0.5,
    max_rate_503: float = 0.001,
    latency_p99_s: float | None = None,
    autoscaler: str = "azureml",
    min_replicas: int = 1,
    max_replicas: int | None = None,
    seeds: int | list[int] = 5,
    warmup_s: float | None = None,
    lead_s: float | None = None,
    tail_s: float = 60.0,
    scoring_timeout_s: float = 60.0,
    name: str | None = None,
) -> Scenario:
    """A validated spike Scenario from a few numbers (see the module docstring for the shape).

    Defaults that depend on other values: `warmup_s` = max(60, 2 × mean cold start);
    `lead_s` = warmup_s + 30; `max_replicas` = the formula at the peak plus two standard
    deviations of Poisson noise (as `closed_form_recommendation`), at least `min_replicas`;
    `latency_p99_s` None = no latency objective: max_wait_s + scoring_timeout_s, which no
    served request exceeds. `Scenario.spec` holds the mapping (YAML-ready).

    Raises:
        ScenarioError: a value breaks its rule (the message names the scenario field, as for
            a file), or the spike would start inside the warm-up (lead_s <= warmup_s).
    """
    cold_mean = _mean_s(cold_start_s)
    rt_mean = _mean_s(request_time_s)
    if warmup_s is None:
        warmup_s = max(MIN_WARMUP_S, 2.0 * cold_mean) if cold_mean is not None else MIN_WARMUP_S
    if lead_s is None:
        lead_s = warmup_s + COUNTED_LEAD_S
    numbers = all(
        isinstance(x, int | float) and math.isfinite(x) and x > 0
        for x in (rps, peak_rps, target_utilization)
    ) and isinstance(max_concurrent, int)
    initial: int | None = None
    if max_replicas is None and numbers and rt_mean and rt_mean > 0 and max_concurrent >= 1:
        max_replicas = max_replicas_rule(
            peak_rps, rt_mean, min(target_utilization, 1.0), max_concurrent,
            min_replicas=max(min_replicas, 0) if isinstance(min_replicas, int) else 1,
        )  # fmt: skip
    if (
        numbers
        and rt_mean
        and rt_mean > 0
        and max_concurrent >= 1
        and isinstance(max_replicas, int)
        and isinstance(min_replicas, int)
    ):
        settled = replicas_needed(rps, rt_mean, min(target_utilization, 1.0), max_concurrent)
        initial = min(max(settled, min_replicas, 1), max_replicas)
    latency = latency_p99_s
    if latency is None:
        latency = max_wait_s + scoring_timeout_s
    deployment: dict[str, Any] = {
        "autoscaler": autoscaler,
        "min_replicas": min_replicas,
        "max_replicas": 10 if max_replicas is None else max_replicas,
        "target_utilization": target_utilization,
        "max_request_wait_s": max_wait_s,
        "scoring_timeout_s": scoring_timeout_s,
    }
    if initial is not None and autoscaler != "none":
        deployment["replicas"] = initial
    if all(isinstance(x, int | float) for x in (lead_s, warmup_s)) and not lead_s > warmup_s:
        raise ScenarioError(
            f"lead_s must be > warmup_s ({warmup_s:g}): the spike would start in the warm-up: "
            f"{lead_s:g}"
        )
    spec = {
        "name": name or f"spike-{rps}-to-{peak_rps}rps",
        "warmup_s": warmup_s,
        "seeds": seeds,
        "traffic": {
            "arrivals": "poisson",
            "pattern": [
                {"duration_s": lead_s, "rps": rps},
                {"duration_s": spike_duration_s, "rps": peak_rps},
                {"duration_s": tail_s, "rps": rps},
            ],
        },
        "service": {
            "request_time_s": request_time_s,
            "max_concurrent": max_concurrent,
            "cold_start_s": cold_start_s,
        },
        "deployment": deployment,
        "slo": {"max_rate_503": max_rate_503, "latency_p99_s": latency},
    }
    return scenario_from_dict(spec, source="<spike>")
