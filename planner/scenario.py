"""Scenario files: frozen, validated objects and `load_scenario(path)`.

CONTRACT (dataclasses fixed here; the scenario work writes the loader and validation):

    load_scenario(path: str | Path) -> Scenario           # raises ScenarioError
    scenario_from_dict(data: Mapping, *, source: str = "<dict>",
                       base_dir: Path | None = None) -> Scenario
    with_overrides(scenario, overrides: Mapping[str, Any]) -> Scenario
        # dotted field paths ("deployment.min_replicas", "traffic.pattern.1.rps",
        # "service.request_time_s") replaced in the raw spec and validated again (same
        # messages as the file).
    scenario_to_dict(scenario) -> dict                     # the validated spec, YAML-ready

Errors name the path, the rule and the value:
"deployment.max_replicas must be >= min_replicas (4): 2";
unknown keys get "did you mean 'max_replicas'?" (difflib).

Loader rules (scenario work): numbers must be numbers (not strings, not booleans), counts must
be integers. `duration_s` defaults to the pattern's or trace's length; `name` to the file stem;
`deployment.replicas` to `min_replicas` (at least 1 for autoscaler none). Files (`traffic.trace`,
`empirical.file`) are relative to the scenario file. `Scenario.spec` is the validated input as
written (plain YAML types, with `name` filled in); `with_overrides` edits a copy of it and
validates again. An override that sets one of traffic.rps/pattern/trace drops the other two,
one that sets an alternative distribution parameter (lognormal p99/sigma, gamma shape/scv,
constant value/mean, empirical file/samples) drops the other, and an explicit initial
`deployment.replicas` outside a new min..max range is moved into it (so a sweep over
`deployment.min_replicas` works with a fixed initial count). Doubtful but valid input warns
with PlannerWarning (no warm-up with an autoscaler; peak offered load above max capacity).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from planner import _spec as sp
from planner import _validate as v
from planner.autoscalers import AzureMlParams, HpaParams, KnativeParams
from planner.distributions import (
    Constant,
    Distribution,
)
from planner.errors import PlannerWarning, ScenarioError
from planner.traffic import ARRIVALS, Phase, Traffic

AUTOSCALERS = ("azureml", "hpa", "knative", "none")


@dataclass(frozen=True, slots=True, kw_only=True)
class Service:
    """The model server: how long a request takes, how many run at once, how long a replica starts."""  # noqa: E501

    request_time_s: Distribution
    max_concurrent: int = 1
    cold_start_s: Distribution = field(default_factory=lambda: Constant(value_s=30.0))


@dataclass(frozen=True, slots=True, kw_only=True)
class Deployment:
    """Replica bounds, the autoscaler and the router's request settings (Azure ML names, in seconds)."""  # noqa: E501

    autoscaler: str = "azureml"
    replicas: int = 1  # fixed count for autoscaler "none"; the initial count otherwise
    min_replicas: int = 1
    max_replicas: int = 10
    target_utilization: float = 0.7
    refresh_s: float = 1.0
    scale_down_delay_s: float = 60.0
    max_request_wait_s: float = 0.5
    scoring_timeout_s: float = 60.0
    azureml: AzureMlParams = field(default_factory=AzureMlParams)
    hpa: HpaParams = field(default_factory=HpaParams)
    knative: KnativeParams = field(default_factory=KnativeParams)


@dataclass(frozen=True, slots=True, kw_only=True)
class Slo:
    """Service-level objective a configuration must meet."""

    max_rate_503: float = 0.001
    latency_p99_s: float = 2.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """One validated scenario. Inner code trusts it; build it with load_scenario / scenario_from_dict."""  # noqa: E501

    name: str
    duration_s: float
    warmup_s: float = 0.0
    seeds: tuple[int, ...] = (0,)
    traffic: Traffic
    service: Service
    deployment: Deployment = field(default_factory=Deployment)
    slo: Slo = field(default_factory=Slo)
    sweep: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    spec: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    base_dir: Path | None = field(default=None, compare=False, repr=False)


# ----------------------------------------------------------------------------------- loader

_TOP = ("name", "duration_s", "warmup_s", "seeds", "traffic", "service", "deployment", "slo")
_PHASE = ("duration_s", "rps", "to_rps")
_SERVICE = ("request_time_s", "max_concurrent", "cold_start_s")
_DEPLOYMENT = tuple(f.name for f in fields(Deployment))
_BLOCKS = {"azureml": AzureMlParams, "hpa": HpaParams, "knative": KnativeParams}


def load_scenario(path: str | Path) -> Scenario:
    """Read, validate and freeze a scenario YAML file.

    Raises:
        ScenarioError: the file is missing, unreadable, not YAML, not a mapping, or a field is
            invalid; the one-line message names the file, the field path, the rule and the value.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"scenario file not found: {file}") from None
    except UnicodeDecodeError:
        raise ScenarioError(f"{file}: not a UTF-8 text file") from None
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario file {file}: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{file}: not valid YAML: {sp.yaml_problem(exc)}") from None
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
    spec = sp.plain(scenario_to_dict(scenario, absolute_paths=False))
    for path, value in overrides.items():
        sp.set_path(spec, path, value)
    bounds = ("deployment.min_replicas", "deployment.max_replicas", "deployment.autoscaler")
    if any(p in bounds for p in overrides) and "deployment.replicas" not in overrides:
        sp.clamp_replicas(spec)
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

    A scenario built directly from the dataclasses (empty `spec`) is described from its
    objects instead (distributions as `{dist: ..}` mappings, parameter blocks in full).
    """
    spec = sp.plain(scenario.spec) if scenario.spec else sp.describe(scenario)
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


def _build(
    data: Any,
    *,
    base_dir: Path | None,
    default_name: str,
    check_sweep: bool,
    warn: bool = True,
) -> Scenario:
    """Validate the whole spec and build the Scenario (the one place rules live)."""
    spec = sp.plain(v.as_mapping(data, "scenario"))
    v.check_keys(spec, (*_TOP, "sweep"), "")
    spec.setdefault("name", default_name)
    name = v.text(spec["name"], "name")
    traffic = _traffic(v.required(spec, "traffic", ""), base_dir)
    if "duration_s" in spec:
        duration_s = v.number(spec["duration_s"], "duration_s", gt=0)
    elif traffic.total_duration_s is not None:
        duration_s = traffic.total_duration_s
    else:
        raise ScenarioError("duration_s is required (traffic.rps has no length of its own)")
    warmup_s = v.number(spec.get("warmup_s", 0.0), "warmup_s", ge=0)
    limit = f"duration_s ({duration_s:g})"
    v.check_bounds(warmup_s, "warmup_s", lt=duration_s, what=limit, shown=spec.get("warmup_s"))
    scenario = Scenario(
        name=name,
        duration_s=duration_s,
        warmup_s=warmup_s,
        seeds=_seeds(spec.get("seeds", 1)),
        traffic=traffic,
        service=_service(v.required(spec, "service", ""), base_dir),
        deployment=_deployment(spec.get("deployment") or {}),
        slo=_slo(spec.get("slo") or {}),
        sweep=_sweep(spec.get("sweep") or {}),
        spec=spec,
        base_dir=base_dir,
    )
    if check_sweep:
        _check_sweep_values(scenario)
    if warn:
        _warn_doubtful(scenario)
    return scenario


def _traffic(data: Any, base_dir: Path | None) -> Traffic:
    d = v.as_mapping(data, "traffic")
    v.check_keys(d, ("arrivals", *sp.TRAFFIC_SOURCES), "traffic")
    arrivals = v.choice(d.get("arrivals", "poisson"), "traffic.arrivals", ARRIVALS)
    kind = v.exactly_one(d, sp.TRAFFIC_SOURCES, "traffic")
    if kind == "rps":
        return Traffic(arrivals=arrivals, rps=v.number(d["rps"], "traffic.rps", gt=0))
    if kind == "pattern":
        items = d["pattern"]
        if not isinstance(items, list) or not items:
            raise ScenarioError(f"traffic.pattern must be a non-empty list of phases: {items!r}")
        phases = []
        for i, item in enumerate(items):
            path = f"traffic.pattern[{i}]"
            p = v.as_mapping(item, path)
            v.check_keys(p, _PHASE, path)
            to_rps = p.get("to_rps")
            phases.append(
                Phase(
                    duration_s=v.number(
                        v.required(p, "duration_s", path), f"{path}.duration_s", gt=0
                    ),
                    rps=v.number(v.required(p, "rps", path), f"{path}.rps", ge=0),
                    to_rps=None if to_rps is None else v.number(to_rps, f"{path}.to_rps", ge=0),
                )
            )
        if all(ph.rps == 0 and ph.end_rps == 0 for ph in phases):
            raise ScenarioError("traffic.pattern must have a rate > 0 somewhere: every phase is 0")
        return Traffic(arrivals=arrivals, pattern=tuple(phases))
    file = v.resolve_file(d["trace"], "traffic.trace", base_dir)
    what, array = v.read_trace(file, "traffic.trace")
    if not array.size or (what == "counts" and not array.sum()):
        raise ScenarioError(f"traffic.trace: {file} has no requests")
    if what == "times":
        return Traffic(arrivals=arrivals, trace_times_s=array, trace_name=str(file))
    return Traffic(arrivals=arrivals, trace_counts=array, trace_name=str(file))


def _service(data: Any, base_dir: Path | None) -> Service:
    d = v.as_mapping(data, "service")
    v.check_keys(d, _SERVICE, "service")
    rt = v.distribution(
        v.required(d, "request_time_s", "service"),
        "service.request_time_s",
        base_dir,
        allow_zero=False,
    )
    mc = v.number(d.get("max_concurrent", 1), "service.max_concurrent", integer=True, ge=1)
    if "cold_start_s" not in d:
        return Service(request_time_s=rt, max_concurrent=mc)
    cs = v.distribution(d["cold_start_s"], "service.cold_start_s", base_dir, allow_zero=True)
    return Service(request_time_s=rt, max_concurrent=mc, cold_start_s=cs)


def _deployment(data: Any) -> Deployment:
    d = v.as_mapping(data, "deployment")
    v.check_keys(d, _DEPLOYMENT, "deployment")
    p = "deployment."
    auto = v.choice(d.get("autoscaler", "azureml"), p + "autoscaler", AUTOSCALERS)
    lo = v.number(d.get("min_replicas", 1), p + "min_replicas", integer=True, ge=0)
    if auto in ("azureml", "hpa"):
        v.check_bounds(lo, p + "min_replicas", ge=1, what=f"1 with autoscaler {auto}")
    hi = v.number(d.get("max_replicas", 10), p + "max_replicas", integer=True, ge=1)
    v.check_bounds(hi, p + "max_replicas", ge=lo, what=f"min_replicas ({lo})")
    if auto == "none":
        replicas = v.number(d.get("replicas", max(lo, 1)), p + "replicas", integer=True, ge=1)
    elif "replicas" in d:
        replicas = v.number(d["replicas"], p + "replicas", integer=True)
        v.check_bounds(replicas, p + "replicas", ge=lo, what=f"min_replicas ({lo})")
        v.check_bounds(replicas, p + "replicas", le=hi, what=f"max_replicas ({hi})")
    else:
        replicas = lo
    blocks = {k: v.build_dataclass(cls, d[k], p + k) for k, cls in _BLOCKS.items() if k in d}
    max_wait_s = v.number(d.get("max_request_wait_s", 0.5), p + "max_request_wait_s", ge=0)
    if auto == "knative" and lo == 0:
        # A request rejected at arrival is never busy or queued, so the autoscaler never sees
        # load at zero replicas: with no wait at all it could not scale from zero.
        what = "0 with knative min_replicas 0 (scale from zero needs requests to wait)"
        shown = d.get("max_request_wait_s", 0.5)
        v.check_bounds(max_wait_s, p + "max_request_wait_s", gt=0, what=what, shown=shown)
    return Deployment(
        autoscaler=auto,
        replicas=replicas,
        min_replicas=lo,
        max_replicas=hi,
        target_utilization=v.number(
            d.get("target_utilization", 0.7), p + "target_utilization", gt=0, le=1
        ),
        refresh_s=v.number(d.get("refresh_s", 1.0), p + "refresh_s", gt=0),
        scale_down_delay_s=v.number(
            d.get("scale_down_delay_s", 60.0), p + "scale_down_delay_s", ge=0
        ),
        max_request_wait_s=max_wait_s,
        scoring_timeout_s=v.number(d.get("scoring_timeout_s", 60.0), p + "scoring_timeout_s", gt=0),
        **blocks,
    )


def _slo(data: Any) -> Slo:
    d = v.as_mapping(data, "slo")
    v.check_keys(d, ("max_rate_503", "latency_p99_s"), "slo")
    return Slo(
        max_rate_503=v.number(d.get("max_rate_503", 0.001), "slo.max_rate_503", ge=0, lt=1),
        latency_p99_s=v.number(d.get("latency_p99_s", 2.0), "slo.latency_p99_s", gt=0),
    )


def _seeds(value: Any) -> tuple[int, ...]:
    if isinstance(value, list):
        if not value:
            raise ScenarioError("seeds must be a count >= 1 or a non-empty list of seeds: []")
        seeds = tuple(v.number(s, f"seeds[{i}]", integer=True, ge=0) for i, s in enumerate(value))
        if len(set(seeds)) != len(seeds):
            raise ScenarioError(f"seeds must be unique: {value!r}")
        return seeds
    return tuple(range(v.number(value, "seeds", integer=True, ge=1)))


def _sweep(data: Any) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    d = v.as_mapping(data, "sweep")
    entries = []
    for key, values in d.items():
        if not isinstance(key, str) or not key or key.split(".")[0] == "sweep":
            raise ScenarioError(f"sweep keys must be dotted field paths (not sweep): {key!r}")
        if not isinstance(values, list) or not values:
            raise ScenarioError(f"sweep.{key} must be a non-empty list of values: {values!r}")
        entries.append((key, tuple(values)))
    return tuple(entries)


def _check_sweep_values(scenario: Scenario) -> None:
    """Apply every sweep value alone to the scenario (without its sweep) to validate it now."""
    if not scenario.sweep:
        return
    base = {k: val for k, val in sp.plain(scenario.spec).items() if k != "sweep"}
    for key, values in scenario.sweep:
        for i, value in enumerate(values):
            spec = sp.plain(base)
            try:
                sp.set_path(spec, key, value)
                if key in ("deployment.min_replicas", "deployment.max_replicas"):
                    sp.clamp_replicas(spec)
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
    busy = peak_rps * svc.request_time_s.mean_s
    if busy > count * svc.max_concurrent:
        warnings.warn(
            f"{s.name}: peak offered load {peak_rps:g} rps × {svc.request_time_s.mean_s:g} s "
            f"= {busy:g} busy exceeds {label} × max_concurrent = "
            f"{count * svc.max_concurrent}: expect 503s",
            PlannerWarning,
            stacklevel=4,
        )
