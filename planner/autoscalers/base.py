"""Autoscaler policies as pure objects: `decide(observation) -> desired replicas`.

The interface the simulator and the local router both call:

    @dataclass(frozen=True, slots=True, kw_only=True)
    class Observation:
        t_s: float          # clock time of this observation
        ready: int          # replicas serving traffic (not draining)
        starting: int       # replicas requested but not ready yet (cold start in progress)
        busy: int           # requests in service on ready replicas, now
        queued: int         # requests waiting in the router queue, now
        busy_avg: float     # time-average of busy since the previous observation
        queued_avg: float   # time-average of queued since the previous observation
        spec_replicas: int | None = None
                            # the Deployment's spec.replicas: the count the controller last
                            # set (None: ready + starting, what the simulator always has)

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

Parameter dataclasses are frozen with the platforms' own defaults (each field cites its flag or
key); every rule the platforms leave undocumented is a named field marked ASSUMPTION. Field
metadata carries the validation rule for the scenario loader: {"gt": x}, {"ge": x}, {"le": x},
{"lt": x}, {"choices": (...)}, and {"doc": "..."}; a rule across values (Knative's whole
seconds) is checked in the block's __post_init__ and raises ScenarioError.

Layout: this module holds Observation, Policy and make_policy; each policy lives in its own
module of this package with its parameter block (azureml, hpa, knative, fixed). The policy
modules import this one only for type checking, and make_policy imports them when it is called,
so the import order is one way.

Every policy returns a count clamped to min_replicas..max_replicas (FixedPolicy returns
`deployment.replicas`). Time comes only from `obs.t_s`; samples within 1e-9 s of a window edge
count as outside it, so float noise in the simulator's clock does not change a decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from planner.errors import ScenarioError

if TYPE_CHECKING:
    from planner.scenario_types import Deployment

__all__ = ["KINDS", "Observation", "Policy", "make_policy"]

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
    spec_replicas: int | None = None

    @property
    def current(self) -> int:
        """The Deployment's spec.replicas: `spec_replicas` if given, else ready + starting."""
        return self.ready + self.starting if self.spec_replicas is None else self.spec_replicas


class Policy(Protocol):
    """An autoscaler: called every `interval_s` with an observation, returns desired replicas."""

    interval_s: float

    def decide(self, obs: Observation) -> int: ...


def make_policy(deployment: Deployment, max_concurrent: int) -> Policy:
    """Build the policy named by `deployment.autoscaler`.

    Args:
        deployment: the scenario's deployment block: the autoscaler's name, the replica
            bounds and target, and each platform's parameters (azureml, hpa, knative).
        max_concurrent: requests one replica serves at once (service.max_concurrent).

    Raises:
        ScenarioError: unknown autoscaler, or max_concurrent < 1.
    """
    # NOTE: imported here, not at the top: the policy modules import this one.
    from planner.autoscalers.azureml import AzureMlPolicy
    from planner.autoscalers.fixed import FixedPolicy
    from planner.autoscalers.hpa import HpaPolicy
    from planner.autoscalers.knative import KnativePolicy

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
