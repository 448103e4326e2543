"""The backtest scenario: the deployment file's settings, the log's traffic and request times.

The deployment file is a scenario YAML without (or with ignored) traffic: its `deployment`,
`service` and `slo` are kept; `traffic` becomes a replay of the logged arrivals and
`duration_s` the log's length. `service.request_time_s` comes from the log's fit unless the
file gives one. `warmup_s` is the file's when it is shorter than the log, else the fit's
(a tenth of the log, at most 60 s). Without `deployment.replicas` in the file, the initial
count of an autoscaled deployment is the instances the log shows in its first 10 seconds
(within min..max), when it has an instance column. The trace (and an empirical request-time
sample) are written to `work_dir`, which must outlive the runs that read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from planner.errors import ScenarioError
from planner.fit.build import LogFit, seen_at_start, write_scenario
from planner.scenario import Scenario, scenario_from_dict

__all__ = ["backtest_scenario", "read_deployment"]

IGNORED_KEYS = ("traffic", "sweep", "duration_s")


def read_deployment(path: Path) -> dict[str, Any]:
    """The deployment file as a mapping (a missing, non-YAML or non-mapping file is refused)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"scenario file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read scenario file {path}: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{path}: top level must be a mapping of fields (deployment:, ...)")
    return dict(data)


def backtest_scenario(fit: LogFit, deployment_file: Path, work_dir: Path) -> Scenario:
    """Validate the deployment file with the log's traffic (and request times if not given)."""
    data = read_deployment(deployment_file)
    written = write_scenario(fit, work_dir / "fitted.yaml")
    fitted = yaml.safe_load(written[0].read_text(encoding="utf-8"))
    spec = {k: v for k, v in data.items() if k not in IGNORED_KEYS}
    spec["duration_s"] = fitted["duration_s"]
    spec["traffic"] = {"arrivals": "poisson", "trace": str(work_dir / fitted["traffic"]["trace"])}
    warmup = data.get("warmup_s")
    if not (isinstance(warmup, int | float) and 0 <= warmup < fit.duration_s):
        spec["warmup_s"] = fitted["warmup_s"]
    service = dict(data.get("service") or {})
    if "request_time_s" not in service:
        rt = dict(fitted["service"]["request_time_s"])
        if isinstance(rt.get("file"), str):
            rt["file"] = str(work_dir / rt["file"])
        service["request_time_s"] = rt
    spec["service"] = service
    deployment = dict(data.get("deployment") or {})
    seen = seen_at_start(fit.log)
    if "replicas" not in deployment and deployment.get("autoscaler", "azureml") != "none":
        # Start from what production had: the instances serving in the log's first seconds
        # (a fixed deployment's count is the file's to give).
        lo, hi = deployment.get("min_replicas", 1), deployment.get("max_replicas", 10)
        if seen > 0 and isinstance(lo, int) and isinstance(hi, int) and lo <= hi:
            deployment["replicas"] = min(max(seen, lo), hi)
            spec["deployment"] = deployment
    spec.setdefault("name", f"backtest-{deployment_file.stem}")
    return scenario_from_dict(spec, source=str(deployment_file), base_dir=deployment_file.parent)


def request_times_from_log(data: Mapping[str, Any]) -> bool:
    """True when the deployment file gives no request time (the log's fit is used)."""
    service = data.get("service")
    return not (isinstance(service, Mapping) and "request_time_s" in service)
