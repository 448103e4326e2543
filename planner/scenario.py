"""The scenario schema, written once: frozen validated types, `load_scenario`, overrides.

    load_scenario(path) -> Scenario                        # raises ScenarioError
    scenario_from_dict(data, *, source="<dict>", base_dir=None) -> Scenario
    with_overrides(scenario, {"deployment.min_replicas": 4, "traffic.pattern.1.rps": 40})
    scenario_to_dict(scenario) -> dict                     # the validated spec, YAML-ready
    json_schema() -> dict                                  # `planner schema`

The types (Scenario, Service, Deployment, Slo of `scenario_types`, and the blocks of
`scenario_params`, `scenario_traffic` and `scenario_dist`) are frozen pydantic dataclasses:
strict numbers, unknown keys refused with a "did you mean", cross-field rules as validators,
limits from `scenario_base`. The same types build a Scenario in code (`dataclasses.replace`
validates again) and publish the JSON Schema (docs/scenario.schema.json). An error is one
line naming the field path, the rule and the value:
"deployment.max_replicas must be >= min_replicas (4): 2". Defaults are defined once, on the
types; read them with `default(Deployment, "target_utilization")`.

Rules the schema cannot state field by field: `duration_s` defaults to the pattern's or the
trace's length and `name` to the file stem; `deployment.replicas` to `min_replicas` (at least 1
for autoscaler none). Files (`traffic.trace`, `empirical.file`) are relative to the scenario
file. `Scenario.spec` is the input as written (plain YAML types, `name` filled in);
`with_overrides` edits a copy of it and validates again. An override that sets one of
traffic.rps/pattern/trace drops the other two, one that sets an alternative distribution
parameter (lognormal p99/sigma, gamma shape/scv, constant value/mean, empirical file/samples)
drops the other, and an explicit initial `deployment.replicas` outside a new min..max range is
moved into it (so a sweep over `deployment.min_replicas` works with a fixed initial count).
Doubtful but valid input warns with PlannerWarning (no warm-up with an autoscaler; peak offered
load above max capacity).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from planner import scenario_edit as edit
from planner.distributions import Distribution
from planner.errors import PlannerWarning, ScenarioError
from planner.scenario_base import error_message, shown
from planner.scenario_nodes import Nodes
from planner.scenario_types import (
    AUTOSCALERS,
    Deployment,
    Scenario,
    Service,
    Slo,
    default,
    json_schema,
    validate_scenario,
)
from planner.scenario_yaml import read_yaml

__all__ = [
    "AUTOSCALERS",
    "Deployment",
    "Scenario",
    "Service",
    "Slo",
    "default",
    "json_schema",
    "load_scenario",
    "scenario_from_dict",
    "scenario_to_dict",
    "with_overrides",
]


# ----------------------------------------------------------------------------------- loader


def load_scenario(path: str | Path) -> Scenario:
    """Read, validate and freeze a scenario YAML file.

    Raises:
        ScenarioError: the file is missing, not a regular file, unreadable, not YAML, not a
            mapping, or a field is invalid; the one-line message names the file, the field
            path, the rule and the value.
    """
    file = Path(path)
    data = read_yaml(file)
    if data is None:
        raise ScenarioError(f"{file}: the file is empty (expected name:, traffic:, ...)")
    if not isinstance(data, Mapping):
        raise ScenarioError(
            f"{file}: top level must be a mapping of fields (name:, traffic:, ...), "
            f"not {type(data).__name__}"
        )
    return scenario_from_dict(data, source=str(file), base_dir=file.resolve().parent)


def scenario_from_dict(
    data: Mapping[str, Any], *, source: str = "<dict>", base_dir: Path | None = None
) -> Scenario:
    """Validate a scenario given as a mapping (as parsed from YAML).

    Args:
        data: the scenario fields.
        source: where it came from; a file name prefixes error messages and gives the default
            `name` (its stem).
        base_dir: directory that relative file paths (traces, samples) are read from
            (default: the working directory).
    """
    default_name = "scenario" if source.startswith("<") else Path(source).stem
    try:
        return _build(data, base_dir=base_dir, default_name=default_name, check_sweep=True)
    except ScenarioError as exc:
        if source.startswith("<"):
            raise
        raise ScenarioError(f"{source}: {exc}") from None


def with_overrides(
    scenario: Scenario, overrides: Mapping[str, Any], *, warn: bool = True
) -> Scenario:
    """A copy of `scenario` with dotted fields replaced, validated again like a file.

    Paths are dotted field names with list indices as numbers (`traffic.pattern.1.rps`);
    missing intermediate mappings are created. See the module docstring for the overrides
    that drop alternatives or move `deployment.replicas`. `warn=False` silences the
    PlannerWarnings of the new scenario.
    """
    spec = edit.plain(scenario_to_dict(scenario, absolute_paths=False))
    for path, value in overrides.items():
        edit.set_path(spec, path, value)
    bounds = ("deployment.min_replicas", "deployment.max_replicas", "deployment.autoscaler")
    if any(p in bounds for p in overrides) and "deployment.replicas" not in overrides:
        _clamp_replicas(spec)
    node_bounds = ("nodes.min_nodes", "nodes.max_nodes")
    if any(p in node_bounds for p in overrides) and "nodes.initial_nodes" not in overrides:
        _clamp_initial_nodes(spec)
    check_sweep = any(p == "sweep" or p.startswith("sweep.") for p in overrides)
    return _build(
        spec,
        base_dir=scenario.base_dir,
        default_name=scenario.name,
        check_sweep=check_sweep,
        warn=warn,
    )


def scenario_to_dict(scenario: Scenario, *, absolute_paths: bool = True) -> dict[str, Any]:
    """The validated spec as plain YAML types; file paths made absolute (unless told not to).

    A scenario built directly from the types (empty `spec`) is described from its objects
    instead (distributions as `{dist: ..}` mappings, parameter blocks in full).
    """
    spec = edit.plain(scenario.spec) if scenario.spec else edit.describe(scenario)
    if absolute_paths:
        base = scenario.base_dir or Path.cwd()
        traffic = spec.get("traffic")
        if isinstance(traffic, dict) and isinstance(traffic.get("trace"), str):
            traffic["trace"] = str((base / Path(traffic["trace"]).expanduser()).resolve())
        service = spec.get("service")
        for key in ("request_time_s", "cold_start_s"):
            dist = service.get(key) if isinstance(service, dict) else None
            if isinstance(dist, dict) and isinstance(dist.get("file"), str):
                dist["file"] = str((base / Path(dist["file"]).expanduser()).resolve())
    return spec


# ------------------------------------------------------------------------------ internals


def _clamp_replicas(spec: dict[str, Any]) -> None:
    edit.clamp_replicas(
        spec,
        default_min=default(Deployment, "min_replicas"),
        default_max=default(Deployment, "max_replicas"),
    )


def _clamp_initial_nodes(spec: dict[str, Any]) -> None:
    edit.clamp_initial_nodes(
        spec, default_min=default(Nodes, "min_nodes"), default_max=default(Nodes, "max_nodes")
    )


def _build(
    data: Any,
    *,
    base_dir: Path | None,
    default_name: str,
    check_sweep: bool,
    warn: bool = True,
) -> Scenario:
    """Validate the whole spec and build the Scenario."""
    if not isinstance(data, Mapping):
        raise ScenarioError(f"scenario must be a mapping: {shown(data)}")
    spec = edit.plain(data)
    spec.setdefault("name", default_name)
    try:
        scenario = validate_scenario(spec, base_dir=base_dir)
    except ValidationError as exc:
        raise ScenarioError(error_message(exc)) from None
    except RecursionError:
        raise ScenarioError("scenario: nested too deeply") from None
    if check_sweep:
        _check_sweep_values(scenario)
    if warn:
        _warn_doubtful(scenario)
    return scenario


def _check_sweep_values(scenario: Scenario) -> None:
    """Apply every sweep value alone to the scenario (without its sweep) to validate it now."""
    if not scenario.sweep:
        return
    base = {k: val for k, val in edit.plain(scenario.spec).items() if k != "sweep"}
    for key, values in scenario.sweep:
        for i, value in enumerate(values):
            spec = edit.plain(base)
            try:
                edit.set_path(spec, key, value)
                if key in ("deployment.min_replicas", "deployment.max_replicas"):
                    _clamp_replicas(spec)
                if key in ("nodes.min_nodes", "nodes.max_nodes"):
                    _clamp_initial_nodes(spec)
                _build(
                    spec,
                    base_dir=scenario.base_dir,
                    default_name=scenario.name,
                    check_sweep=False,
                    warn=False,
                )
            except ScenarioError as exc:
                raise ScenarioError(f"sweep.{key}[{i}]: {exc}") from None


def _warn_doubtful(s: Scenario) -> None:
    dep, svc = s.deployment, s.service
    if s.warmup_s == 0 and dep.autoscaler != "none":
        warnings.warn(
            f"{s.name}: warmup_s is 0 with autoscaler {dep.autoscaler}: "
            "the start-up transient counts in the statistics",
            PlannerWarning,
            stacklevel=4,
        )
    if dep.autoscaler == "knative" and dep.min_replicas == 0:
        warnings.warn(
            f"{s.name}: scale to zero: requests arriving while no replica is ready wait "
            f"max_request_wait_s ({dep.max_request_wait_s:g} s), then get 503 (Knative's "
            "activator would hold them up to the revision timeout; not modelled)",
            PlannerWarning,
            stacklevel=4,
        )
    count, label = (
        (dep.replicas, "replicas")
        if dep.autoscaler == "none"
        else (dep.max_replicas, "max_replicas")
    )
    peak_rps = s.traffic.peak_rps(s.duration_s)
    request: Distribution = svc.request_time_s
    busy = peak_rps * request.mean_s
    if busy > count * svc.max_concurrent:
        warnings.warn(
            f"{s.name}: peak offered load {peak_rps:g} rps × {request.mean_s:g} s "
            f"= {busy:g} busy exceeds {label} × max_concurrent = "
            f"{count * svc.max_concurrent}: expect 503s",
            PlannerWarning,
            stacklevel=4,
        )
