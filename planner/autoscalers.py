"""Autoscaler policies as pure objects: `decide(observation) -> desired replicas`.

CONTRACT (owned by the autoscaler work; the simulator and the local router both call it):

    @dataclass(frozen=True, slots=True, kw_only=True)
    class Observation:
        t_s: float          # clock time of this observation
        ready: int          # replicas serving traffic (not draining)
        starting: int       # replicas requested but not ready yet (cold start in progress)
        busy: int           # requests in service on ready replicas, now
        queued: int         # requests waiting in the router queue, now
        busy_avg: float     # time-average of busy since the previous observation
        queued_avg: float   # time-average of queued since the previous observation

    class Policy(Protocol):
        interval_s: float                       # the control loop calls decide() this often
        def decide(self, obs: Observation) -> int
            # desired total replicas (ready + starting) after this step, clamped to min..max.
            # Policies keep their own window state; no simpy, no I/O, no wall clock.

    make_policy(deployment, max_concurrent: int) -> Policy
        # `deployment` is planner.scenario.Deployment (duck-typed here to keep imports one way):
        # fields autoscaler, min_replicas, max_replicas, target_utilization, refresh_s,
        # scale_down_delay_s, and the parameter blocks azureml: AzureMlParams, hpa: HpaParams,
        # knative: KnativeParams defined in this module.

Parameter dataclasses are frozen with defaults from ../shared/reference/autoscalers.md; every
rule the reference marks ASSUMPTION is a named field. Field metadata carries the validation rule
for the scenario loader: {"gt": x}, {"ge": x}, {"le": x}, {"lt": x}, {"choices": (...)}, and
{"doc": "..."}.

Layout: this module holds Observation, Policy, FixedPolicy and make_policy and re-exports the
three policies, each with its parameter block, from planner.policy_azureml (AzureMlParams,
AzureMlPolicy), planner.policy_hpa (HpaParams, HpaScalingPolicy, HpaPolicy) and
planner.policy_knative (KnativeParams, KnativePolicy). Those modules import this one only for
type checking, so the import order is one way.

Every policy returns a count clamped to min_replicas..max_replicas (FixedPolicy returns
`deployment.replicas`). Time comes only from `obs.t_s`; samples within 1e-9 s of a window edge
count as outside it, so float noise in the simulator's clock does not change a decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from planner.errors import ScenarioError
from planner.policy_azureml import AzureMlParams, AzureMlPolicy, ceil_ratio
from planner.policy_hpa import HpaParams, HpaPolicy, HpaScalingPolicy
from planner.policy_knative import KnativeParams, KnativePolicy

__all__ = [
    "AzureMlParams",
    "AzureMlPolicy",
    "FixedPolicy",
    "HpaParams",
    "HpaPolicy",
    "HpaScalingPolicy",
    "KnativeParams",
    "KnativePolicy",
    "Observation",
    "Policy",
    "ceil_ratio",
    "make_policy",
]

KINDS = ("azureml", "hpa", "knative", "none")


@dataclass(frozen=True, slots=True, kw_only=True)
class Observation:
    """What a policy sees at one control step (see module docstring)."""

    t_s: float
    ready: int
    starting: int
    busy: int
    queued: int
    busy_avg: float
    queued_avg: float


class Policy(Protocol):
    """An autoscaler: called every `interval_s` with an observation, returns desired replicas."""

    interval_s: float

    def decide(self, obs: Observation) -> int: ...


class FixedPolicy:
    """Autoscaler "none": always the fixed `replicas` count."""

    __slots__ = ("interval_s", "replicas")

    def __init__(self, *, replicas: int, interval_s: float = 60.0) -> None:
        self.replicas = replicas
        self.interval_s = interval_s

    def decide(self, obs: Observation) -> int:
        """The fixed count, whatever the observation."""
        return self.replicas


def make_policy(deployment: Any, max_concurrent: int) -> Policy:
    """Build the policy named by `deployment.autoscaler` (a planner.scenario.Deployment).

    Args:
        deployment: duck-typed: autoscaler, replicas, min_replicas, max_replicas,
            target_utilization, refresh_s, scale_down_delay_s, azureml, hpa, knative.
        max_concurrent: requests one replica serves at once (service.max_concurrent).

    Raises:
        ScenarioError: unknown autoscaler, or max_concurrent < 1.
    """
    if max_concurrent < 1:
        raise ScenarioError(f"service.max_concurrent must be >= 1: {max_concurrent}")
    kind = deployment.autoscaler
    if kind == "none":
        return FixedPolicy(replicas=deployment.replicas)
    if kind == "azureml":
        return AzureMlPolicy.from_deployment(deployment, max_concurrent)
    if kind == "hpa":
        return HpaPolicy.from_deployment(deployment, max_concurrent)
    if kind == "knative":
        return KnativePolicy.from_deployment(deployment, max_concurrent)
    raise ScenarioError(f"deployment.autoscaler must be one of {', '.join(KINDS)}: {kind!r}")
