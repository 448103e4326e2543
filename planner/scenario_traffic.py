"""The `traffic` block of a scenario file: exactly one of a rate, phases, or a trace file.

    traffic:
      arrivals: poisson                # poisson | uniform (evenly spaced)
      rps: 20                          # a constant rate ...
      pattern:                         # ... or phases run in order
        - {duration_s: 300, rps: 20}
        - {duration_s: 60, rps: 60, to_rps: 20}   # a linear ramp within the phase
      trace: traffic.csv               # ... or a replay (t_s timestamps, or second,count)
      trace: day.arrivals.npy          # ... or sorted timestamps as a float64 .npy file,
                                       #     streamed from disk (a day of requests)

`TrafficSpec` is the schema; a validated spec builds the `planner.traffic.Traffic` the
simulation and the load test share.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import GetCoreSchemaHandler, model_validator
from pydantic_core import CoreSchema, core_schema

from planner.scenario_base import (
    MAX_RPS,
    MAX_SECONDS,
    Number,
    Text,
    exactly_one,
    fail,
    kwargs_of,
    schema_type,
    shown,
    spec_field,
)
from planner.scenario_files import read_npy_trace, read_trace, resolve_file
from planner.traffic import Phase, Traffic

__all__ = ["MAX_PHASES", "TRAFFIC_SOURCES", "PhaseSpec", "TrafficIn", "TrafficSpec"]

TRAFFIC_SOURCES = ("rps", "pattern", "trace")
MAX_PHASES = 100_000


@schema_type("traffic.pattern")
class PhaseSpec:
    """`duration_s` seconds at `rps`, or a linear ramp from `rps` to `to_rps`."""

    duration_s: Number = spec_field(doc="length of the phase, seconds", gt=0, le=MAX_SECONDS)
    rps: Number = spec_field(doc="rate at the start of the phase, requests/s", ge=0, le=MAX_RPS)
    to_rps: Number | None = spec_field(
        default=None, doc="rate at the end (a linear ramp); none: constant", ge=0, le=MAX_RPS
    )


@schema_type("traffic")
class TrafficSpec:
    """Offered load: exactly one of `rps`, `pattern` or `trace`."""

    arrivals: Literal["poisson", "uniform"] = spec_field(
        default="poisson",
        doc="poisson: an open model of independent arrivals; uniform: evenly spaced",
    )
    rps: Number | None = spec_field(
        default=None, doc="a constant rate, requests/s", gt=0, le=MAX_RPS
    )
    pattern: tuple[PhaseSpec, ...] | None = spec_field(default=None, doc="phases, run in order")
    trace: Text | None = spec_field(
        default=None,
        doc="CSV file (relative to the scenario file) with a t_s column of request "
        "timestamps, or second,count columns of per-second counts; or a .npy file of sorted "
        "float64 timestamps, read a chunk at a time",
    )

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: Any) -> Any:
        values = kwargs_of(data)
        if values is None:
            return data
        kind = exactly_one(values, TRAFFIC_SOURCES)
        items = values[kind]
        if kind == "pattern" and not (isinstance(items, list | tuple) and items):
            raise fail(f"must be a non-empty list of phases: {shown(items)}", sub="pattern")
        if kind == "pattern" and len(items) > MAX_PHASES:
            raise fail(f"must have at most {MAX_PHASES} phases: {len(items)}", sub="pattern")
        return data

    @model_validator(mode="after")
    def _some_rate(self) -> TrafficSpec:
        if self.pattern and all(p.rps == 0 and not p.to_rps for p in self.pattern):
            raise fail("must have a rate > 0 somewhere: every phase is 0", sub="pattern")
        return self

    def build(self, context: Mapping[str, Any]) -> Traffic:
        """The Traffic object (a trace file is read relative to context["base_dir"])."""
        if self.rps is not None:
            return Traffic(arrivals=self.arrivals, rps=self.rps)
        if self.pattern is not None:
            phases = tuple(
                Phase(duration_s=p.duration_s, rps=p.rps, to_rps=p.to_rps) for p in self.pattern
            )
            return Traffic(arrivals=self.arrivals, pattern=phases)
        file = resolve_file(self.trace, "trace", context.get("base_dir"))
        if file.suffix.lower() == ".npy":
            traffic = read_npy_trace(file, self.arrivals, "trace")
            if traffic.total_duration_s == 0:
                raise fail(f": {file} has no requests", sub="trace")
            return traffic
        what, array = read_trace(file, "trace")
        if not array.size or (what == "counts" and not array.sum()):
            raise fail(f": {file} has no requests", sub="trace")
        if what == "times":
            return Traffic(arrivals=self.arrivals, trace_times_s=array, trace_name=str(file))
        return Traffic(arrivals=self.arrivals, trace_counts=array, trace_name=str(file))


class _TrafficField:
    """pydantic hooks of `Scenario.traffic`: a Traffic object, or a mapping (TrafficSpec)."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        inner = handler.generate_schema(TrafficSpec)
        return core_schema.with_info_wrap_validator_function(_validate_traffic, inner)


def _validate_traffic(
    value: Any, handler: core_schema.ValidatorFunctionWrapHandler, info: Any
) -> Traffic:
    if isinstance(value, Traffic):
        return value
    spec: TrafficSpec = handler(value)
    return spec.build(info.context if isinstance(info.context, Mapping) else {})


TrafficIn = Annotated[Traffic, _TrafficField()]
