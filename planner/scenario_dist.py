"""Distributions in a scenario file: a number of seconds, or a mapping tagged by `dist`.

    request_time_s: 0.5                                      # constant
    request_time_s: {dist: lognormal, mean: 0.5, p99: 2.0}   # or sigma
    request_time_s: {dist: gamma, mean: 0.5, scv: 2}         # or shape
    request_time_s: {dist: exponential, mean: 0.5}
    request_time_s: {dist: empirical, file: latencies.csv}   # or samples: [...]

`dist` is the discriminator of a tagged union; each kind is a schema type whose `build` gives
the `planner.distributions` object the simulation samples. Refused because the simulation
could not estimate their mean or tail from the draws it makes (about 10⁶ per run):

- lognormal sigma >= 5: the share of the mean carried by draws rarer than one in a million
  is Φ(σ − 4.75), 60 % at σ = 5; a run would miss it and report a mean far below the stated
  one (sigma 50 puts the 99.99th percentile near 10⁷⁰ × the mean). A p99 gives σ ≤ 2.33.
- gamma shape < 0.01 (scv > 100): almost every draw is ~0 and the mean rests on rare huge
  ones in the same way.
- empirical samples: fewer than 2 values (use a constant), more than 10⁶, or all 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Discriminator,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from planner.distributions import (
    Z99,
    Constant,
    Distribution,
    Empirical,
    Exponential,
    Gamma,
    Lognormal,
)
from planner.scenario_base import (
    MAX_SECONDS,
    Number,
    Text,
    exactly_one,
    fail,
    fmt_bound,
    kwargs_of,
    schema_type,
    shown,
    spec_field,
)
from planner.scenario_files import MAX_SAMPLES, read_samples, resolve_file

__all__ = ["DISTS", "DistributionIn", "DistributionSpec", "PositiveDistributionIn"]

DISTS = ("constant", "exponential", "lognormal", "gamma", "empirical")
MAX_SIGMA = 5.0
MIN_SHAPE = 0.01
_P99_FACTOR = math.exp(Z99 * Z99 / 2)  # largest p99 / mean a lognormal can have
_CLASSES = (Constant, Exponential, Lognormal, Gamma, Empirical)


def _keys(data: Any, cls: type[Any], one_of: tuple[str, ...]) -> Any:
    """Before-validation of a distribution mapping: known keys, exactly one alternative."""
    values = kwargs_of(data)
    if values is not None and one_of:
        exactly_one(values, one_of)
    return data


@schema_type("")
class ConstantSpec:
    """Always the same number of seconds (`value`, or `mean`: the same thing)."""

    dist: Literal["constant"] = spec_field(doc="constant")
    value: Number | None = spec_field(default=None, doc="seconds", ge=0, le=MAX_SECONDS)
    mean: Number | None = spec_field(
        default=None, doc="seconds (an alias of value)", ge=0, le=MAX_SECONDS
    )

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: Any) -> Any:
        return _keys(data, cls, ("value", "mean"))

    def build(self, base_dir: Path | None, allow_zero: bool) -> Constant:
        """The distribution object."""
        key, value = ("value", self.value) if self.value is not None else ("mean", self.mean)
        assert value is not None
        if not allow_zero and value <= 0:
            raise fail(f"must be > 0: {shown(value)}", sub=key)
        return Constant(value_s=value)


@schema_type("")
class ExponentialSpec:
    """Exponential seconds with this mean (scv 1; Erlang C's assumption)."""

    dist: Literal["exponential"] = spec_field(doc="exponential")
    mean: Number = spec_field(doc="mean seconds", gt=0, le=MAX_SECONDS)

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: Any) -> Any:
        return _keys(data, cls, ())

    def build(self, base_dir: Path | None, allow_zero: bool) -> Exponential:
        """The distribution object."""
        return Exponential(mean_s=self.mean)


@schema_type("")
class LognormalSpec:
    """Lognormal seconds with this mean and either a 99th percentile or a log-scale sigma."""

    dist: Literal["lognormal"] = spec_field(doc="lognormal")
    mean: Number = spec_field(doc="mean seconds", gt=0, le=MAX_SECONDS)
    p99: Number | None = spec_field(
        default=None,
        doc="99th percentile, seconds: mean < p99 <= mean × 14.97",
        gt=0,
        le=MAX_SECONDS,
    )
    sigma: Number | None = spec_field(
        default=None, doc="log-scale standard deviation, 0 <= sigma < 5", ge=0, lt=MAX_SIGMA
    )

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: Any) -> Any:
        return _keys(data, cls, ("p99", "sigma"))

    @model_validator(mode="after")
    def _p99(self) -> LognormalSpec:
        if self.p99 is not None:
            if not self.p99 > self.mean:
                raise fail(f"must be > mean ({self.mean:g}): {shown(self.p99)}", sub="p99")
            limit = self.mean * _P99_FACTOR
            if self.p99 > limit:
                what = f"mean × {_P99_FACTOR:.2f} ({limit:.4g})"
                raise fail(f"must be <= {what}: {shown(self.p99)}", sub="p99")
        return self

    def build(self, base_dir: Path | None, allow_zero: bool) -> Lognormal:
        """The distribution object."""
        if self.sigma is not None:
            return Lognormal(mean_s=self.mean, sigma=self.sigma)
        assert self.p99 is not None
        return Lognormal.from_mean_p99(self.mean, self.p99)


@schema_type("")
class GammaSpec:
    """Gamma seconds with this mean and either a shape k or a scv (= 1/k)."""

    dist: Literal["gamma"] = spec_field(doc="gamma")
    mean: Number = spec_field(doc="mean seconds", gt=0, le=MAX_SECONDS)
    shape: Number | None = spec_field(default=None, doc="shape k >= 0.01", ge=MIN_SHAPE, le=1e6)
    scv: Number | None = spec_field(
        default=None, doc="squared coefficient of variation, 0 < scv <= 100", gt=0, le=1 / MIN_SHAPE
    )

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: Any) -> Any:
        return _keys(data, cls, ("shape", "scv"))

    def build(self, base_dir: Path | None, allow_zero: bool) -> Gamma:
        """The distribution object."""
        if self.shape is not None:
            return Gamma(mean_s=self.mean, shape=self.shape)
        assert self.scv is not None
        return Gamma.from_mean_scv(self.mean, self.scv)


@schema_type("")
class EmpiricalSpec:
    """Resampled observations: a CSV `file` of seconds (one column) or a list of `samples`."""

    dist: Literal["empirical"] = spec_field(doc="empirical")
    file: Text | None = spec_field(default=None, doc="CSV file, relative to the scenario file")
    samples: tuple[Annotated[Number, Field(ge=0, le=MAX_SECONDS)], ...] | None = spec_field(
        default=None, doc="seconds, at least 2 values"
    )

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: Any) -> Any:
        data = _keys(data, cls, ("file", "samples"))
        values = kwargs_of(data) or {}
        raw = values.get("samples")
        if "samples" in values and not (isinstance(raw, list | tuple) and raw):
            raise fail(f"must be a non-empty list of seconds: {shown(raw)}", sub="samples")
        if isinstance(raw, list | tuple) and len(raw) > MAX_SAMPLES:
            raise fail(f"must have at most {MAX_SAMPLES} values: {len(raw)}", sub="samples")
        return data

    def build(self, base_dir: Path | None, allow_zero: bool) -> Empirical:
        """The distribution object (a file is read relative to `base_dir`)."""
        if self.file is not None:
            file = resolve_file(self.file, "file", base_dir)
            samples = read_samples(file, "file")
        else:
            assert self.samples is not None
            samples = tuple(float(x) for x in self.samples)
        if len(samples) < 2:
            raise fail(f"needs at least 2 samples (use a constant for one value): {len(samples)}")
        if not sum(samples) > 0:
            raise fail("samples must not all be 0")
        return Empirical(samples_s=samples)


DistributionSpec = Annotated[
    ConstantSpec | ExponentialSpec | LognormalSpec | GammaSpec | EmpiricalSpec,
    Discriminator("dist"),
]


class _DistributionField:
    """pydantic hooks of a distribution field: an object, a number of seconds or a mapping."""

    def __init__(self, *, allow_zero: bool) -> None:
        self.allow_zero = allow_zero

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        inner = handler.generate_schema(DistributionSpec)
        return core_schema.with_info_wrap_validator_function(self._validate, inner)

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        low = "minimum" if self.allow_zero else "exclusiveMinimum"
        number = {"type": "number", low: 0, "maximum": MAX_SECONDS, "title": "constant seconds"}
        return {"anyOf": [number, handler(schema)]}

    def _validate(
        self, value: Any, handler: core_schema.ValidatorFunctionWrapHandler, info: Any
    ) -> Distribution:
        if isinstance(value, _CLASSES):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            if isinstance(value, float) and not math.isfinite(value):
                raise fail(f"must be finite: {shown(value)}")
            if value > MAX_SECONDS:
                raise fail(f"must be <= {fmt_bound(MAX_SECONDS)}: {shown(value)}")
            if value < 0 or (value == 0 and not self.allow_zero):
                op = ">=" if self.allow_zero else ">"
                raise fail(f"must be {op} 0: {shown(value)}")
            return Constant(value_s=float(value))
        if not isinstance(value, Mapping):
            raise fail(f"must be a number of seconds or a mapping with dist: {shown(value)}")
        spec = handler(value)
        context = info.context if isinstance(info.context, Mapping) else {}
        built: Distribution = spec.build(context.get("base_dir"), self.allow_zero)
        return built


# A distribution of seconds that may be 0 (a cold start), and one that must be > 0 (a request).
DistributionIn = Annotated[Distribution, _DistributionField(allow_zero=True)]
PositiveDistributionIn = Annotated[Distribution, _DistributionField(allow_zero=False)]
