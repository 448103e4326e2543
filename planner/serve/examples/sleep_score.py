"""An example score.py that sleeps the scenario's service time: Azure ML's init()/run() contract.

`init()` reads the request-time distribution the supervisor passes in the environment variable
PLANNER_REQUEST_TIME (JSON from planner.serve.config.distribution_to_json; unset = no sleep)
and seeds its generator from PLANNER_SEED and PLANNER_REPLICA_ID. `run(raw_data)` parses the
body as JSON and sleeps one sampled service time. Fields of the JSON object change that:
    {"sleep_s": 0.2}       sleep exactly this long instead of sampling
    {"fail": "message"}    raise ValueError(message)  -> 502 (the message goes to the log)
A body that is not JSON answers 400 (this script's choice: the router passes bodies untouched).
Setting PLANNER_EXAMPLE_INIT_FAIL makes init() raise (to see CrashLoopBackOff).
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

try:  # on Azure ML
    from azureml.contrib.services.aml_response import AMLResponse as Response
except ImportError:  # locally
    from planner.serve.response import ScoreResponse as Response

_state: dict[str, Any] = {}
_lock = threading.Lock()


def init() -> None:
    """Load the 'model': the service-time distribution and a seeded generator."""
    import numpy as np

    if os.environ.get("PLANNER_EXAMPLE_INIT_FAIL"):
        raise RuntimeError(f"model failed to load: {os.environ['PLANNER_EXAMPLE_INIT_FAIL']}")
    spec = os.environ.get("PLANNER_REQUEST_TIME")
    if spec:
        from planner.serve.config import distribution_from_json

        _state["dist"] = distribution_from_json(spec)
    seed = int(os.environ.get("PLANNER_SEED", "0"))
    replica = int(os.environ.get("PLANNER_REPLICA_ID", "0"))
    _state["replica"] = replica
    _state["rng"] = np.random.default_rng([seed, replica])


def run(raw_data: str) -> Any:
    """Sleep one service time; echo what was done."""
    try:
        data = json.loads(raw_data) if raw_data else {}
    except json.JSONDecodeError as exc:
        return Response(f"request body is not JSON: {exc}", 400)
    if isinstance(data, dict) and "fail" in data:
        raise ValueError(str(data["fail"]))
    if isinstance(data, dict) and "sleep_s" in data:
        sleep_s = float(data["sleep_s"])
    elif "dist" in _state:
        with _lock:  # numpy generators are not thread-safe
            sleep_s = float(_state["dist"].sample(_state["rng"], 1)[0])
    else:
        sleep_s = 0.0
    if sleep_s > 0:
        time.sleep(sleep_s)
    return {"slept_s": sleep_s, "replica": _state.get("replica")}
