"""Local deployment of a user's score.py: an ASGI router and replica worker processes.

The router has Azure ML's azureml-fe semantics (FIFO queue, 503 after `max_request_wait_s`,
504 after `scoring_timeout_s`, 502 when `run()` raises or a replica dies, CrashLoopBackOff for
a failing `init()`) and calls the same autoscaler policy objects as the simulator. Each replica
runs score.py inside Azure ML's own inference server (or a light built-in one).
`deploy_local(...)` is the platform's local-debugging loop: run, reload, update, logs, delete.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# NOTE: names are loaded on first use (PEP 562) so `planner --help` and `planner recommend`
# don't pay for the router's imports.
_WHERE = {
    "DEFAULT_LOG_DIR": "planner.serve.config",
    "ServeConfig": "planner.serve.config",
    "load_serve_blocks": "planner.serve.config",
    "LocalDeployment": "planner.serve.local",
    "start_local_deployment": "planner.serve.local",
    "ScoreResponse": "planner.serve.response",
    "deploy_local": "planner.serve.deploy",
    "LocalWebservice": "planner.serve.deploy",
    "ScoringError": "planner.serve.deploy",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'planner.serve' has no attribute {name!r}")


__all__ = [
    "DEFAULT_LOG_DIR",
    "LocalDeployment",
    "LocalWebservice",
    "ScoreResponse",
    "ScoringError",
    "ServeConfig",
    "deploy_local",
    "load_serve_blocks",
    "start_local_deployment",
]
