"""The defaults of the scenario schema, as plain numbers: defined here once.

`planner.scenario_types` gives its fields these defaults, and the command line offers them
for options that name the same fields, without importing the schema (and numpy) at start-up.
Azure ML's documented defaults (docs/autoscalers.md §1.1) and a default SLO.
"""

from __future__ import annotations

COLD_START_S = 30.0
MIN_REPLICAS = 1
MAX_REPLICAS = 10
TARGET_UTILIZATION = 0.7
REFRESH_S = 1.0
SCALE_DOWN_DELAY_S = 60.0
MAX_REQUEST_WAIT_S = 0.5
SCORING_TIMEOUT_S = 60.0
MAX_RATE_503 = 0.001
LATENCY_P99_S = 2.0
