"""`deploy_local`: the platform's local-debugging loop from Python (run, reload, update, logs).

Azure ML's troubleshooting guide debugs a deployment locally before AKS: deploy it as a local web
service, score with `service.run(input_data)`, edit score.py and `service.reload()`, change the
model or configuration with `service.update(...)`, read `service.get_logs()`, and
`service.delete()` it. The same here, with the router and replicas of `planner serve`:

    from planner.serve import deploy_local

    with deploy_local("score.py", models="model.npz", port=0) as service:
        service.run({"data": [[1.0, 2.0]]})
        ...  # edit score.py
        service.reload()
        service.update(models="model-v2.npz")
        print(service.get_logs())
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from planner.errors import DeploymentError
from planner.serve.local import LocalDeployment, start_local_deployment
from planner.serve.logs import read_logs

ModelsArg = str | Path | Sequence[str | Path] | Mapping[str, str | Path] | None

# A reload or update restarts every replica, one after the other: allow for slow init()s.
_ROLL_TIMEOUT_S = 3600.0


class ScoringError(DeploymentError):
    """The deployment answered a scoring request with an error status.

    Attributes:
        status: the HTTP status (401, 502, 503, 504, ...).
        body: the answer's body as text.
    """

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"scoring failed with HTTP {status}: {body[:500]}")
        self.status = status
        self.body = body


def _models(models: ModelsArg) -> dict[str, Path]:
    from planner.serve.models import parse_models

    if models is None:
        return {}
    if isinstance(models, str | Path):
        return parse_models([models])
    if isinstance(models, Mapping):
        return parse_models(models)
    return parse_models(list(models))


class LocalWebservice:
    """A running local deployment, as `deploy_local` returns it; a context manager.

    `.scoring_uri`, `.swagger_uri`, `.run()`, `.reload()`, `.update()`, `.get_logs()`,
    `.stats()` and `.delete()` (also on leaving the `with` block).
    """

    def __init__(self, local: LocalDeployment, key: str | None) -> None:
        self._local = local
        self.key = key
        headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
        self._client = httpx.Client(timeout=httpx.Timeout(_ROLL_TIMEOUT_S), headers=headers)
        self.deleted = False

    @property
    def scoring_uri(self) -> str:
        """Where to POST scoring requests."""
        return f"{self._local.url}/score"

    @property
    def swagger_uri(self) -> str:
        """The inference server's API schema."""
        return f"{self._local.url}/swagger.json"

    @property
    def log_dir(self) -> Path:
        """The folder of the router's and replicas' logs."""
        return self._local.log_dir

    @property
    def pid(self) -> int:
        """The router process (the replicas are its children)."""
        return int(self._local.process.pid)

    def run(self, input_data: bytes | str | Mapping[str, Any] | list[Any]) -> Any:
        """Score one request; the parsed JSON answer (text if it is not JSON).

        A dict or list is sent as JSON; str and bytes are sent as they are.

        Raises:
            ScoringError: the answer's status is 400 or more (its status and body attached).
        """
        if isinstance(input_data, bytes):
            body = input_data
        elif isinstance(input_data, str):
            body = input_data.encode()
        else:
            body = json.dumps(input_data).encode()
        response = self._client.post(
            self.scoring_uri, content=body, headers={"content-type": "application/json"}
        )
        if response.status_code >= 400:
            raise ScoringError(response.status_code, response.text)
        try:
            return response.json()
        except ValueError:
            return response.text

    def _roll(self, path: str, spec: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self._client.post(f"{self._local.url}{path}", json=spec or {})
        try:
            result: dict[str, Any] = response.json()
        except ValueError:
            result = {"ok": False, "error": response.text}
        if response.status_code != 200 or not result.get("ok"):
            raise DeploymentError(
                f"{path.removeprefix('/-/')} failed (HTTP {response.status_code}); the replicas "
                f"started before keep serving: {result.get('error', '')}"
            )
        return result

    def reload(self) -> dict[str, Any]:
        """Re-import score.py in every replica: a rolling restart that drops no request.

        Raises:
            DeploymentError: a new replica failed to start (its log tail is in the message).
        """
        return self._roll("/-/reload")

    def update(self, config: str | Path | None = None, models: ModelsArg = None) -> dict[str, Any]:
        """New `deployment:`/`service:` settings (a YAML file) and/or models, rolled out.

        Raises:
            DeploymentError: a new replica failed to start, or the config or models are wrong.
        """
        spec: dict[str, Any] = {}
        if config is not None:
            spec["config"] = str(Path(config).resolve())
        if models is not None:
            spec["models"] = {name: str(path) for name, path in _models(models).items()}
        return self._roll("/-/update", spec)

    def get_logs(self, replica: int | None = None) -> str:
        """The replica logs (each line prefixed `[replica-n]`), or one replica's log."""
        return "\n".join(read_logs(self._local.log_dir, replica))

    def stats(self) -> dict[str, Any]:
        """The router's /stats document."""
        return self._local.stats()

    def delete(self) -> None:
        """Stop the router and every replica (no process is left behind)."""
        if not self.deleted:
            self.deleted = True
            self._client.close()
            self._local.stop()

    def __enter__(self) -> LocalWebservice:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.delete()


def deploy_local(
    score: str | Path,
    models: ModelsArg = None,
    config: str | Path | None = None,
    port: int = 8890,
    *,
    key: str | None = None,
    runtime: str = "azureml",
    log_dir: str | Path | None = None,
    debug_errors: bool = False,
    wait: bool = True,
    timeout_s: float = 120.0,
    backoff_base_s: float = 10.0,
    backoff_cap_s: float = 300.0,
) -> LocalWebservice:
    """Deploy `score` locally on 127.0.0.1:`port` (0 = a free port); return it once it serves.

    Like `Model.deploy(...)` followed by `wait_for_deployment()`.

    Args:
        score: the scoring script (init() and run()).
        models: a model file or folder, a list of `PATH` / `NAME=PATH`, or {name: path}; laid
            out under `AZUREML_MODEL_DIR` as the platform does (`planner.serve.models`).
        config: a YAML with `deployment:` and `service:` blocks (a scenario file works too),
            and optionally `nodes:` (replicas wait for a node, `planner.serve.nodes`).
        port: the router's port.
        key: require `Authorization: Bearer KEY` (kept in memory, never written to disk).
        runtime: `azureml` (Azure ML's inference server) or `builtin`.
        log_dir: where the logs go (default: a temporary folder removed by `delete()`).
        debug_errors: put run()'s exception text in error bodies (for debugging only).
        wait: wait until the initial replicas are ready (False: return at once).
        timeout_s: how long to wait.
        backoff_base_s: first CrashLoopBackOff delay of a replica that fails to start.
        backoff_cap_s: longest CrashLoopBackOff delay.

    Raises:
        ScenarioError: the script, a model or the config is missing or wrong.
        DeploymentError: a replica is in CrashLoopBackOff (its traceback is in the message) or
            the deployment is not ready within `timeout_s`; nothing is left running.
    """
    from planner.serve.config import load_serve_settings

    deployment, service, nodes = load_serve_settings(config)
    local = start_local_deployment(
        score,
        deployment=deployment,
        service=service,
        nodes=nodes,
        port=port,
        log_dir=log_dir,
        key=key,
        runtime=runtime,
        models=_models(models),
        debug_errors=debug_errors,
        backoff_base_s=backoff_base_s,
        backoff_cap_s=backoff_cap_s,
        wait_for_replicas=wait,
        timeout_s=timeout_s,
    )
    return LocalWebservice(local, key)
