"""Observation.spec_replicas: the count the controller last asked for, apart from the pods."""

from __future__ import annotations

from planner.autoscalers import Observation
from planner.distributions import Constant
from planner.model import Model
from planner.scenario import Deployment, Scenario, Service
from planner.traffic import Traffic


class Scripted:
    """A policy that asks for planned counts at given times and records what it saw."""

    interval_s = 1.0

    def __init__(self, plan: dict[float, int]) -> None:
        self.plan = plan
        self.seen: list[Observation] = []

    def decide(self, obs: Observation) -> int:
        """The planned count at obs.t_s, else the current spec.replicas."""
        self.seen.append(obs)
        return self.plan.get(obs.t_s, obs.current)


def test_current_defaults_to_ready_plus_starting() -> None:
    """Without spec_replicas (the local router's case) current is ready + starting."""
    o = Observation(t_s=0.0, ready=2, starting=3, busy=0, queued=0, busy_avg=0.0, queued_avg=0.0)
    assert o.spec_replicas is None and o.current == 5
    asked = Observation(
        t_s=0.0,
        ready=2,
        starting=3,
        busy=0,
        queued=0,
        busy_avg=0.0,
        queued_avg=0.0,
        spec_replicas=7,
    )
    assert asked.current == 7


def test_simulator_reports_the_requested_count() -> None:
    """The model fills spec_replicas with its desired count: 1 → 3 at t=1, 2 at t=3."""
    scenario = Scenario(
        name="spec",
        duration_s=20.0,
        warmup_s=0.0,
        traffic=Traffic(arrivals="uniform", rps=0.5),
        service=Service(request_time_s=Constant(value_s=0.5), cold_start_s=Constant(value_s=10.0)),
        deployment=Deployment(autoscaler="none", replicas=1),
    )
    policy = Scripted({1.0: 3, 3.0: 2})
    Model(scenario, 0, policy=policy).run()
    seen = {o.t_s: o for o in policy.seen}
    assert (seen[1.0].ready, seen[1.0].starting, seen[1.0].spec_replicas) == (1, 0, 1)
    assert (seen[2.0].ready, seen[2.0].starting, seen[2.0].spec_replicas) == (1, 2, 3)
    assert (seen[4.0].ready, seen[4.0].starting, seen[4.0].spec_replicas) == (1, 1, 2)
    assert all(o.spec_replicas == o.ready + o.starting for o in policy.seen)
