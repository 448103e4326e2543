"""The load shape: locust's user count and test length follow the scenario's traffic curve.

Imports locust: load it only inside a locust process (the locustfile imports it). The stages
come from `loadtests.curve.plan_stages`, which reads `planner.traffic` (the curve the simulator
samples), so the load test runs exactly `duration_s` seconds of the scenario plus a short drain.
"""

from __future__ import annotations

import os

from locust import LoadTestShape

from loadtests.curve import DEFAULT_RPS_PER_USER, Stage, plan_stages, stage_at


class ScenarioShape(LoadTestShape):
    """Users per stage from the scenario's offered rate; None (stop) after duration_s + drain."""

    # The locustfile's options (--scenario, --planner-workers...) are read on the first tick.
    _stages: tuple[Stage, ...] | None = None

    def stages(self) -> tuple[Stage, ...]:
        """The planned stages (loaded once from the scenario named by the options)."""
        if self._stages is None:
            from planner.scenario import load_scenario

            options = self.runner.environment.parsed_options if self.runner else None
            path = getattr(options, "scenario", None) or os.environ.get("PLANNER_SCENARIO", "")
            workers = int(
                getattr(options, "planner_workers", None) or os.environ.get("PLANNER_WORKERS", 1)
            )
            drain_s = float(getattr(options, "drain_s", None) or 1.0)
            rps_per_user = float(getattr(options, "rps_per_user", None) or DEFAULT_RPS_PER_USER)
            scenario = load_scenario(path)
            self._stages = plan_stages(
                scenario.traffic,
                scenario.duration_s,
                rps_per_user=rps_per_user,
                min_users=max(1, workers),
                drain_s=drain_s,
            )
        return self._stages

    def tick(self) -> tuple[int, float] | None:
        """(users, spawn_rate) of the current stage; None once the last stage is over."""
        stage = stage_at(self.stages(), self.get_run_time())
        return None if stage is None else (stage.users, stage.spawn_rate)
