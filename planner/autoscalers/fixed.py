"""Autoscaler "none": a fixed replica count, whatever the load."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from planner.autoscalers.base import Observation

__all__ = ["FixedPolicy"]


class FixedPolicy:
    """Autoscaler "none": always the fixed `replicas` count."""

    __slots__ = ("interval_s", "replicas")

    def __init__(self, *, replicas: int, interval_s: float = 60.0) -> None:
        self.replicas = replicas
        self.interval_s = interval_s

    def decide(self, obs: Observation) -> int:
        """The fixed count, whatever the observation."""
        return self.replicas
