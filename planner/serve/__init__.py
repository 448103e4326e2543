"""Local deployment of a user's score.py: an ASGI router and replica worker processes.

The router has Azure ML's azureml-fe semantics (FIFO queue, 503 after `max_request_wait_s`,
504 after `scoring_timeout_s`, 502 when `run()` raises or a replica dies, CrashLoopBackOff for
a failing `init()`) and calls the same autoscaler policy objects as the simulator.
"""

from __future__ import annotations

from planner.serve.config import DEFAULT_LOG_DIR, ServeConfig, load_serve_blocks
from planner.serve.local import LocalDeployment, start_local_deployment
from planner.serve.response import ScoreResponse

__all__ = [
    "DEFAULT_LOG_DIR",
    "LocalDeployment",
    "ScoreResponse",
    "ServeConfig",
    "load_serve_blocks",
    "start_local_deployment",
]
