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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


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


# Parameter blocks. The autoscaler work fills in / extends these; names below are fixed.


@dataclass(frozen=True, slots=True, kw_only=True)
class AzureMlParams:
    """azureml-fe rules the docs leave open (reference §1.2, §6): each one an ASSUMPTION."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HpaParams:
    """Kubernetes HPA v2 controller flags and `behavior` (reference §2)."""

    sync_period_s: float = field(default=15.0, metadata={"gt": 0})
    tolerance: float = field(default=0.1, metadata={"ge": 0, "lt": 1})


@dataclass(frozen=True, slots=True, kw_only=True)
class KnativeParams:
    """Knative KPA `config-autoscaler` keys (reference §3)."""

    tick_s: float = field(default=2.0, metadata={"gt": 0})
    stable_window_s: float = field(default=60.0, metadata={"ge": 6, "le": 3600})
