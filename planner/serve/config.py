"""Settings of one local deployment (`ServeConfig`) and how they are read from YAML.

A config file is a scenario file, or any YAML with only the `deployment:` and `service:` blocks
of one; both go through the scenario loader, so the same rules and messages apply. The
service-time distribution travels to replica processes as JSON in an environment variable
(`PLANNER_REQUEST_TIME`), which the example `sleep_score.py` reads.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from planner.errors import ScenarioError

if TYPE_CHECKING:
    from planner.distributions import Distribution
    from planner.scenario import Deployment, Service
    from planner.scenario_nodes import Nodes

DEFAULT_LOG_DIR = Path(".planner") / "serve-logs"
ENV_REQUEST_TIME = "PLANNER_REQUEST_TIME"
ENV_REPLICA_ID = "PLANNER_REPLICA_ID"
ENV_SEED = "PLANNER_SEED"

# Used when the config leaves a block out: `planner serve score.py` alone runs one warm replica.
_SERVE_DEFAULTS: dict[str, Any] = {
    "name": "serve",
    "duration_s": 1,
    "traffic": {"rps": 1},
}
# NOTE: a scenario's request time must be > 0; a serve config that leaves it out means "no
# simulated service time" (0), put in after validation.
_SERVICE_DEFAULTS: dict[str, Any] = {"request_time_s": 1, "cold_start_s": 0}


@dataclass(frozen=True, slots=True, kw_only=True)
class ServeConfig:
    """Everything the router process needs: the script, the scenario blocks, ports and policies.

    `backoff_base_s` and `backoff_cap_s` set the CrashLoopBackOff delays of a replica whose
    start fails (10 s, 20 s, 40 s ... capped at 300 s, like Kubernetes); tests shorten them.
    `start_timeout_s` is the start budget (Azure ML's probe budget is 310 s), counted from the
    replica's process start (after any wait for a node and its image pull): a replica not ready
    by then is killed and counted as a failed start. `drain_timeout_s` bounds the wait for
    in-flight requests when a replica is scaled down or the server stops.

    `nodes` is the scenario's node pool (`planner.serve.nodes`): None, unlimited nodes (every
    replica starts at once).

    `runtime` is `azureml` (Azure ML's inference server hosts score.py in each replica) or
    `builtin` (the light server); `models` are (name, path) pairs laid out under
    `AZUREML_MODEL_DIR` (`planner.serve.models`). `debug_errors` lets run()'s exception text into
    error bodies. `key` is held in memory only: it reaches the router process through its
    environment, never through a file.
    """

    score_path: Path
    deployment: Deployment
    service: Service
    nodes: Nodes | None = None
    host: str = "127.0.0.1"
    port: int = 8890
    log_dir: Path = DEFAULT_LOG_DIR
    key: str | None = None
    seed: int = 0
    backoff_base_s: float = 10.0
    backoff_cap_s: float = 300.0
    start_timeout_s: float = 310.0
    drain_timeout_s: float = 30.0
    replica_env: tuple[tuple[str, str], ...] = ()
    runtime: str = "azureml"
    models: tuple[tuple[str, Path], ...] = ()
    debug_errors: bool = False


RUNTIMES = ("azureml", "builtin")


def check_runtime(runtime: str) -> str:
    """The runtime name, or ScenarioError (exit 2) for an unknown one or a missing package."""
    if runtime not in RUNTIMES:
        raise ScenarioError(f"--runtime {runtime!r}: must be one of {', '.join(RUNTIMES)}")
    if runtime == "azureml":
        from planner.serve.azureml import INSTALL_HINT, available

        if not available():
            raise ScenarioError(f"--runtime azureml: {INSTALL_HINT}")
    return runtime


def check_key(key: str | None) -> str | None:
    """The key, or ScenarioError for an empty one (it would turn authentication off)."""
    if key is not None and not key.strip():
        raise ScenarioError("--key: the key is empty; give a non-empty key or none at all")
    return key


def check_score_path(path: str | Path) -> Path:
    """Return the absolute path of a score.py, or raise ScenarioError (an input error) naming it."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise ScenarioError(f"score script not found: {path}")
    if p.suffix != ".py":
        raise ScenarioError(f"score script must be a .py file: {path}")
    return p.resolve()


def load_serve_blocks(path: str | Path | None) -> tuple[Deployment, Service]:
    """Read `deployment` and `service` from a scenario or config YAML (defaults when None)."""
    deployment, service, _ = load_serve_settings(path)
    return deployment, service


def load_serve_settings(path: str | Path | None) -> tuple[Deployment, Service, Nodes | None]:
    """`deployment`, `service` and the optional `nodes` block of a scenario or config YAML."""
    if path is None:
        from planner.distributions import Constant
        from planner.scenario import Deployment, Service

        zero = Constant(value_s=0.0)
        return Deployment(), Service(request_time_s=zero, cold_start_s=zero), None
    from planner.scenario import scenario_from_dict

    data: dict[str, Any] = {}
    p = Path(path)
    if not p.is_file():
        raise ScenarioError(f"config file not found: {path}")
    try:
        loaded = yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}") from None
    if loaded is None:
        loaded = {}
    if not isinstance(loaded, Mapping):
        raise ScenarioError(f"{path}: must be a mapping with deployment/service keys")
    data = dict(loaded)
    spec = {**_SERVE_DEFAULTS, **data}
    given = dict(data.get("service") or {})
    spec["service"] = {**_SERVICE_DEFAULTS, **given}
    scenario = scenario_from_dict(spec, source=str(p), base_dir=p.parent)
    service = scenario.service
    if "request_time_s" not in given:
        from planner.distributions import Constant

        service = dataclasses.replace(service, request_time_s=Constant(value_s=0.0))
    return scenario.deployment, service, scenario.nodes


def distribution_to_json(dist: Distribution) -> str:
    """Serialise a distribution dataclass as {"type": name, "fields": {...}}."""
    fields = {f.name: getattr(dist, f.name) for f in dataclasses.fields(dist) if f.init}
    return json.dumps({"type": type(dist).__name__, "fields": fields})


def distribution_from_json(text: str) -> Distribution:
    """Rebuild a distribution serialised by `distribution_to_json`."""
    from planner import distributions

    spec = json.loads(text)
    cls = getattr(distributions, spec["type"])
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in spec["fields"].items()}
    return cls(**fields)  # type: ignore[no-any-return]
