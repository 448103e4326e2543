"""The scenario types: Scenario, Service, Deployment, Slo, with their defaults and rules.

Frozen pydantic dataclasses (see `scenario_base`): the one definition of a scenario file, from
which the loader validates, code builds scenarios (`dataclasses.replace` validates again) and
`json_schema()` publishes docs/scenario.schema.json. The traffic, distribution and autoscaler
blocks are in `scenario_traffic`, `scenario_dist` and `scenario_params`. Defaults are defined
once, here; read one with `default(Deployment, "target_utilization")`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, TypeAdapter, ValidationError, model_validator
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import ArgsKwargs

from planner import defaults
from planner.distributions import Constant
from planner.scenario_base import (
    MAX_CONCURRENT,
    MAX_REPLICAS,
    MAX_SECONDS,
    MAX_SEED_VALUE,
    MAX_SEEDS,
    MAX_TIMEOUT_S,
    MIN_INTERVAL_S,
    MIN_TARGET_UTILIZATION,
    Integer,
    Number,
    Text,
    check_keys,
    error_message,
    fail,
    file_keys,
    kwargs_of,
    repack,
    schema_type,
    shown,
    spec_field,
)
from planner.scenario_dist import DistributionIn, PositiveDistributionIn
from planner.scenario_nodes import Nodes
from planner.scenario_params import AzureMlParams, HpaParams, KnativeParams
from planner.scenario_traffic import TrafficIn
from planner.traffic import Traffic

__all__ = [
    "AUTOSCALERS",
    "Deployment",
    "Scenario",
    "Service",
    "Slo",
    "default",
    "json_schema",
    "validate_scenario",
]

AUTOSCALERS = ("azureml", "hpa", "knative", "none")


@schema_type("service")
class Service:
    """The model server: how long a request takes, how many run at once, how long a replica starts."""  # noqa: E501

    request_time_s: PositiveDistributionIn = spec_field(
        doc="seconds one request takes: a number (constant) or a distribution"
    )
    max_concurrent: Integer = spec_field(
        default=1, doc="requests one replica serves at once", ge=1, le=MAX_CONCURRENT
    )
    cold_start_s: DistributionIn = spec_field(
        default_factory=lambda: Constant(value_s=defaults.COLD_START_S),
        doc="request-to-ready seconds of a new replica (scheduling, image pull, init())",
    )
    cpu: Number = spec_field(default=1.0, doc="pod cpu request, cores", gt=0, le=1024)
    memory_gb: Number = spec_field(default=2.0, doc="pod memory request, GB", gt=0, le=16384)


@schema_type("deployment")
class Deployment:
    """Replica bounds, the autoscaler and the router's request settings (Azure ML names, in seconds)."""  # noqa: E501

    autoscaler: Literal["azureml", "hpa", "knative", "none"] = spec_field(
        default="azureml", doc="azureml | hpa | knative | none (a fixed pool of `replicas`)"
    )
    replicas: Integer = spec_field(
        default=1,
        doc="fixed count (autoscaler none) and initial count otherwise; default min_replicas",
        ge=0,
        le=MAX_REPLICAS,
    )
    min_replicas: Integer = spec_field(
        default=defaults.MIN_REPLICAS, doc="autoscale_min_replicas", ge=0, le=MAX_REPLICAS
    )
    max_replicas: Integer = spec_field(
        default=defaults.MAX_REPLICAS, doc="autoscale_max_replicas", ge=1, le=MAX_REPLICAS
    )
    target_utilization: Number = spec_field(
        default=defaults.TARGET_UTILIZATION,
        doc="autoscale_target_utilization, a fraction (0.7 = 70 %)",
        ge=MIN_TARGET_UTILIZATION,
        le=1,
    )
    refresh_s: Number = spec_field(
        default=defaults.REFRESH_S, doc="autoscale_refresh_seconds", ge=MIN_INTERVAL_S, le=3600
    )
    scale_down_delay_s: Number = spec_field(
        default=defaults.SCALE_DOWN_DELAY_S,
        doc="azureml: seconds of lower demand before a scale-down",
        ge=0,
        le=MAX_SECONDS,
    )
    max_request_wait_s: Number = spec_field(
        default=defaults.MAX_REQUEST_WAIT_S,
        doc="max_request_wait_time: queue wait before a 503; 0 = reject when no replica is free",
        ge=0,
        le=MAX_TIMEOUT_S,
    )
    scoring_timeout_s: Number = spec_field(
        default=defaults.SCORING_TIMEOUT_S,
        doc="scoring_timeout_ms / 1000: a 504 after this",
        gt=0,
        le=MAX_TIMEOUT_S,
    )
    azureml: AzureMlParams = spec_field(
        default_factory=AzureMlParams, doc="azureml-fe rules the docs leave open"
    )
    hpa: HpaParams = spec_field(default_factory=HpaParams, doc="Kubernetes HPA settings")
    knative: KnativeParams = spec_field(default_factory=KnativeParams, doc="Knative KPA settings")

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: Any) -> Any:
        values = kwargs_of(data)
        if values is None:
            return data
        lo = values.get("min_replicas", default(cls, "min_replicas"))
        if "replicas" not in values and isinstance(lo, int) and not isinstance(lo, bool):
            auto = values.get("autoscaler", default(cls, "autoscaler"))
            values["replicas"] = max(lo, 1) if auto == "none" else lo
        return repack(data, values)

    @model_validator(mode="after")
    def _rules(self) -> Deployment:
        auto, lo, hi = self.autoscaler, self.min_replicas, self.max_replicas
        if auto in ("azureml", "hpa") and lo < 1:
            raise fail(f"must be >= 1 with autoscaler {auto}: {lo}", sub="min_replicas")
        if hi < lo:
            raise fail(f"must be >= min_replicas ({lo}): {hi}", sub="max_replicas")
        if auto == "none" and self.replicas < 1:
            raise fail(f"must be >= 1: {self.replicas}", sub="replicas")
        if auto != "none" and self.replicas < lo:
            raise fail(f"must be >= min_replicas ({lo}): {self.replicas}", sub="replicas")
        if auto != "none" and self.replicas > hi:
            raise fail(f"must be <= max_replicas ({hi}): {self.replicas}", sub="replicas")
        if auto == "knative" and lo == 0 and self.max_request_wait_s == 0:
            # A request rejected at arrival is never busy or queued, so the autoscaler never
            # sees load at zero replicas: with no wait at all it could not scale from zero.
            raise fail(
                "must be > 0 with knative min_replicas 0 (scale from zero needs requests to "
                f"wait): {shown(self.max_request_wait_s)}",
                sub="max_request_wait_s",
            )
        return self


@schema_type("slo")
class Slo:
    """Service-level objective a configuration must meet."""

    max_rate_503: Number = spec_field(
        default=defaults.MAX_RATE_503,
        doc="largest acceptable fraction of requests answered 503",
        ge=0,
        lt=1,
    )
    latency_p99_s: Number = spec_field(
        default=defaults.LATENCY_P99_S,
        doc="largest acceptable 99th percentile of latency, seconds",
        gt=0,
        le=MAX_SECONDS,
    )


def _seeds(value: Any) -> Any:
    """A count of replications becomes seeds 0..n-1; a list is kept (its items checked next)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            raise fail(f"must be >= 1: {shown(value)}")
        if value > MAX_SEEDS:
            raise fail(f"must be <= {MAX_SEEDS}: {shown(value)}")
        return tuple(range(value))
    if isinstance(value, list | tuple):
        if not value:
            raise fail("must be a count >= 1 or a non-empty list of seeds: []")
        if len(value) > MAX_SEEDS:
            raise fail(f"must have at most {MAX_SEEDS} seeds: {len(value)}")
        return tuple(value)
    raise fail(f"must be an integer: {shown(value)}")


def _sweep(value: Any) -> Any:
    """`{dotted.path: [values]}` becomes ((path, values), ...)."""
    if isinstance(value, tuple):
        return value
    if not isinstance(value, Mapping):
        raise fail(f"must be a mapping: {shown(value)}")
    entries = []
    for key, values in value.items():
        if not isinstance(key, str) or not key or key.split(".")[0] == "sweep":
            raise fail(f"keys must be dotted field paths (not sweep): {shown(key)}")
        if not isinstance(values, list) or not values:
            raise fail(f"must be a non-empty list of values: {shown(values)}", sub=key)
        entries.append((key, tuple(values)))
    return tuple(entries)


SeedList = Annotated[list[Annotated[int, Field(ge=0, le=MAX_SEED_VALUE)]], Field(min_length=1)]
Seeds = Annotated[
    tuple[Annotated[Integer, Field(ge=0, le=MAX_SEED_VALUE)], ...],
    BeforeValidator(
        _seeds, json_schema_input_type=Annotated[int, Field(ge=1, le=MAX_SEEDS)] | SeedList
    ),
]
Sweep = Annotated[
    tuple[tuple[str, tuple[Any, ...]], ...],
    BeforeValidator(
        _sweep, json_schema_input_type=dict[str, Annotated[list[Any], Field(min_length=1)]]
    ),
]
_DERIVED = ("name", "duration_s")  # optional in a file: the file stem, the traffic's length


@schema_type("")
class Scenario:
    """One validated scenario. Inner code trusts it; build it with load_scenario / scenario_from_dict."""  # noqa: E501

    name: Text = spec_field(doc="name of the scenario (default: the file stem)")
    duration_s: Number = spec_field(
        doc="simulated seconds (default: the length of the pattern or trace)",
        gt=0,
        le=MAX_SECONDS,
    )
    warmup_s: Number = spec_field(
        default=0.0, doc="seconds at the start excluded from the statistics", ge=0, le=MAX_SECONDS
    )
    seeds: Seeds = spec_field(default=(0,), doc="replications: a count, or a list of seeds")
    traffic: TrafficIn = spec_field(doc="offered load: exactly one of rps, pattern, trace")
    service: Service = spec_field(doc="the model server")
    deployment: Deployment = spec_field(default_factory=Deployment, doc="replicas and autoscaler")
    slo: Slo = spec_field(default_factory=Slo, doc="the service-level objective")
    nodes: Nodes | None = spec_field(
        default=None, doc="the node pool under the replicas; none: unlimited nodes"
    )
    sweep: Sweep = spec_field(
        default=(), doc="planner sweep only: dotted field path -> list of values"
    )
    spec: SkipJsonSchema[Mapping[str, Any]] = dataclasses.field(
        default_factory=dict, compare=False, repr=False
    )
    base_dir: SkipJsonSchema[Path | None] = dataclasses.field(
        default=None, compare=False, repr=False
    )

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: Any, info: Any) -> Any:
        if isinstance(data, ArgsKwargs) or not isinstance(data, Mapping):
            return data
        context = info.context if isinstance(info.context, Mapping) else {}
        values = dict(data)
        check_keys(values, file_keys(cls, "spec", "base_dir"))
        for key in ("traffic", "service", "deployment", "slo", "sweep", "nodes"):
            if key in values and values[key] is None:
                del values[key]  # an empty block: as if not given
        if "duration_s" not in values and "traffic" in values:
            traffic = _validate_traffic(values["traffic"], context)
            if traffic.total_duration_s is None:
                raise fail("duration_s is required (traffic.rps has no length of its own)")
            values["traffic"], values["duration_s"] = traffic, traffic.total_duration_s
        values["spec"] = context.get("spec", {})
        values["base_dir"] = context.get("base_dir")
        return values

    @model_validator(mode="after")
    def _rules(self) -> Scenario:
        if not self.name.strip():
            raise fail(f"must be a non-empty string: {self.name!r}", sub="name")
        if not self.warmup_s < self.duration_s:
            raw = self.spec.get("warmup_s", self.warmup_s)
            what = f"duration_s ({self.duration_s:g})"
            raise fail(f"must be < {what}: {shown(raw)}", sub="warmup_s")
        if len(set(self.seeds)) != len(self.seeds):
            raise fail(f"must be unique: {list(self.seeds)!r}", sub="seeds")
        if self.nodes is not None:
            pod, node = self.service, self.nodes
            for what in ("cpu", "memory_gb"):
                if getattr(pod, what) > getattr(node, what):
                    raise fail(
                        f"service.{what} {getattr(pod, what):g} does not fit nodes.{what} "
                        f"{getattr(node, what):g}"
                    )
        return self


_SCENARIO = TypeAdapter(Scenario)
_TRAFFIC = TypeAdapter(TrafficIn)


def _validate_traffic(data: Any, context: Mapping[str, Any]) -> Traffic:
    try:
        traffic: Traffic = _TRAFFIC.validate_python(data, context=context)
    except ValidationError as exc:
        raise fail(error_message(exc, ("traffic",))) from None
    return traffic


def default(cls: type[Any], name: str) -> Any:
    """The default of field `name` of a schema type: `default(Deployment, "refresh_s")` → 1.0."""
    for f in dataclasses.fields(cls):
        if f.name == name:
            if f.default_factory is not dataclasses.MISSING:
                return f.default_factory()
            if f.default is dataclasses.MISSING:
                raise KeyError(f"{cls.__name__}.{name} has no default")
            return f.default
    raise KeyError(f"{cls.__name__} has no field {name!r}")


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario file (draft 2020-12), generated from the types."""
    schema = _SCENARIO.json_schema(mode="validation")
    schema["required"] = [r for r in schema.get("required", []) if r not in _DERIVED]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **schema,
        "title": "planner scenario",
    }


def validate_scenario(spec: Mapping[str, Any], *, base_dir: Path | None) -> Scenario:
    """A Scenario from a plain spec (name filled in), or a ValidationError."""
    context = {"base_dir": base_dir, "spec": spec}
    scenario: Scenario = _SCENARIO.validate_python(spec, context=context)
    return scenario
