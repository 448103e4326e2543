"""The autoscalers' parameter blocks of a scenario: `deployment.azureml`, `.hpa`, `.knative`.

Each block is part of the scenario schema (frozen, validated, published in the JSON Schema);
the policies in `planner.autoscalers` read them. Defaults are the platforms' own (see
docs/autoscalers.md); a rule the platform does not document is a named field marked
ASSUMPTION. Field metadata keeps the doc and the bounds (`spec_field`), so each rule is
written once.
"""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from planner.scenario_base import (
    MAX_SECONDS,
    MIN_INTERVAL_S,
    Flag,
    Integer,
    Number,
    fail,
    schema_type,
    spec_field,
)

__all__ = ["AzureMlParams", "HpaParams", "HpaScalingPolicy", "KnativeParams", "panic_window_s"]

_SELECT = Literal["Max", "Min", "Disabled"]


@schema_type("deployment.azureml")
class AzureMlParams:
    """azureml-fe rules the Azure ML docs leave open: each one an ASSUMPTION."""

    scale_up_mode: Literal["proportional", "step"] = spec_field(
        default="proportional",
        doc="ASSUMPTION (proportional vs +1 is undocumented). 'proportional' jumps to "
        "ceil(load / (max_concurrent × target)); 'step' adds one replica per refresh.",
    )
    count_starting_as_capacity: Flag = spec_field(
        default=True,
        doc="ASSUMPTION. True: replicas still starting count toward the desired total, so no "
        "more are added while they would suffice (Kubernetes spec.replicas semantics). False: "
        "the router sizes from ready replicas only and adds again every refresh while replicas "
        "are starting (overshoot).",
    )
    scale_down_step: Integer | None = spec_field(
        default=None,
        doc="ASSUMPTION (the scale-down step size is undocumented). None: go straight to the "
        "largest desired count of the last scale_down_delay_s. An int: remove at most this many "
        "replicas per scale-down, then wait scale_down_delay_s again before the next one.",
        ge=1,
    )
    utilization_includes_queued: Flag = spec_field(
        default=True,
        doc="True: utilization = (busy + queued) / capacity (the v2 docs). False: busy / "
        "capacity (the v1 docs' 'replicas busy processing a request').",
    )
    use_time_average: Flag = spec_field(
        default=False,
        doc="ASSUMPTION. False: the router reads in-flight and queued counts at the refresh "
        "instant. True: their time-average since the previous refresh.",
    )


@schema_type("deployment.hpa.policies")
class HpaScalingPolicy:
    """One `behavior.scaleUp/scaleDown.policies[]` entry: change `value` per `period_s`."""

    kind: Literal["Pods", "Percent"] = spec_field(doc="policy type")
    value: Integer = spec_field(doc="pods, or percent of the period-start count", gt=0)
    period_s: Number = spec_field(doc="periodSeconds (Kubernetes allows 1..1800)", gt=0, le=1800)


@schema_type("deployment.hpa")
class HpaParams:
    """Kubernetes HPA v2 controller flags and `behavior` (one HPA, one metric)."""

    sync_period_s: Number = spec_field(
        default=15.0,
        doc="--horizontal-pod-autoscaler-sync-period (Kubernetes default 15 s)",
        ge=MIN_INTERVAL_S,
        le=MAX_SECONDS,
    )
    tolerance: Number = spec_field(
        default=0.1,
        doc="--horizontal-pod-autoscaler-tolerance (default 0.1): no change while "
        "|usage / target - 1| <= tolerance",
        ge=0,
        lt=1,
    )
    scale_up_tolerance: Number | None = spec_field(
        default=None,
        doc="behavior.scaleUp.tolerance (Kubernetes 1.33+): scale up only when usage / target "
        "- 1 > this; None uses `tolerance`",
        ge=0,
    )
    scale_down_tolerance: Number | None = spec_field(
        default=None,
        doc="behavior.scaleDown.tolerance (Kubernetes 1.33+): scale down only when 1 - usage / "
        "target > this; None uses `tolerance`",
        ge=0,
    )
    metric: Literal["cpu", "concurrency"] = spec_field(
        default="cpu",
        doc="cpu: Resource averageUtilization of ready pods (no queue); concurrency: Pods "
        "AverageValue of (busy + queued) per ready pod.",
    )
    scale_up_stabilization_s: Number = spec_field(
        default=0.0, doc="behavior.scaleUp.stabilizationWindowSeconds", ge=0, le=3600
    )
    scale_down_stabilization_s: Number = spec_field(
        default=300.0,
        doc="behavior.scaleDown.stabilizationWindowSeconds (= the 5 min flag); "
        "deployment.scale_down_delay_s does not apply to HPA",
        ge=0,
        le=3600,
    )
    scale_up_policies: tuple[HpaScalingPolicy, ...] = spec_field(
        default=(
            HpaScalingPolicy(kind="Pods", value=4, period_s=15.0),
            HpaScalingPolicy(kind="Percent", value=100, period_s=15.0),
        ),
        doc="behavior.scaleUp.policies (Kubernetes default: 4 pods or 100 % per 15 s)",
    )
    scale_down_policies: tuple[HpaScalingPolicy, ...] = spec_field(
        default=(HpaScalingPolicy(kind="Percent", value=100, period_s=15.0),),
        doc="behavior.scaleDown.policies (Kubernetes default: 100 % per 15 s)",
    )
    scale_up_select_policy: _SELECT = spec_field(default="Max", doc="behavior.scaleUp.selectPolicy")
    scale_down_select_policy: _SELECT = spec_field(
        default="Max", doc="behavior.scaleDown.selectPolicy"
    )
    legacy: Flag = spec_field(
        default=False,
        doc="True: spec.behavior omitted (normalizeDesiredReplicas): max over a "
        "scale_down_stabilization_s window, scale-up limit max(2 × current, 4).",
    )
    metric_delay_s: Number = spec_field(
        default=0.0,
        doc="ASSUMPTION: metrics pipeline lag (kubelet + metrics-server; ~27.5 s average in "
        "kubernetes#110317). The policy uses the newest observation at least this old; pods "
        "that became ready since have no sample (missing pods).",
        ge=0,
        le=3600,
    )

    @property
    def tolerances(self) -> tuple[float, float]:
        """(scale-down, scale-up) tolerance, as horizontal.go `tolerancesForHpa` resolves them.

        Without `behavior` (legacy) the per-direction fields do not exist on the object, so
        both are the cluster-wide `tolerance`.
        """
        if self.legacy:
            return self.tolerance, self.tolerance
        down = self.tolerance if self.scale_down_tolerance is None else self.scale_down_tolerance
        up = self.tolerance if self.scale_up_tolerance is None else self.scale_up_tolerance
        return down, up


_WHOLE_SECONDS = ("stable_window_s", "scale_down_delay_s")


@schema_type("deployment.knative")
class KnativeParams:
    """Knative KPA `config-autoscaler` keys."""

    tick_s: Number = spec_field(
        default=2.0, doc="decider tick (multiscaler.go tickInterval)", ge=MIN_INTERVAL_S, le=3600
    )
    stable_window_s: Number = spec_field(
        default=60.0, doc="stable-window, whole seconds (Knative refuses fractions)", ge=6, le=3600
    )
    panic_window_percentage: Number = spec_field(
        default=10.0, doc="panic-window-percentage of the stable window", ge=1, le=100
    )
    panic_threshold_percentage: Number = spec_field(
        default=200.0,
        doc="panic-threshold-percentage: panic when dppc / ready >= this / 100",
        ge=110,
        le=1000,
    )
    max_scale_up_rate: Number = spec_field(default=1000.0, doc="max-scale-up-rate", gt=1, le=1e6)
    max_scale_down_rate: Number = spec_field(default=2.0, doc="max-scale-down-rate", gt=1, le=1e6)
    scale_down_delay_s: Number = spec_field(
        default=0.0,
        doc="Knative's scale-down-delay, whole seconds (not deployment.scale_down_delay_s, "
        "which is azureml's)",
        ge=0,
        le=3600,
    )
    scale_to_zero_grace_period_s: Number = spec_field(
        default=30.0,
        doc="scale-to-zero-grace-period; used only with min_replicas 0",
        gt=0,
        le=3600,
    )
    scale_to_zero_pod_retention_period_s: Number = spec_field(
        default=0.0,
        doc="scale-to-zero-pod-retention-period: the last pod stays at least this long after "
        "the revision is marked Inactive; used only with min_replicas 0",
        ge=0,
        le=MAX_SECONDS,
    )
    target_burst_capacity: Number = spec_field(
        default=211.0,
        doc="target-burst-capacity: >= 0, or -1 (activator always in the path). Decides only "
        "when the activator is in the path, which lets an Inactive revision reach 0 without "
        "waiting out the grace period (kpa/scaler.go); requests are not rerouted.",
        ge=-1,
        le=1e9,
    )
    start_in_panic: Flag = spec_field(
        default=True,
        doc="A new KPA starts in panic with maxPanicPods = ready pods when more than 1 "
        "(autoscaler.go New), so it does not scale down before it has data.",
    )

    @model_validator(mode="after")
    def _whole_seconds(self) -> KnativeParams:
        # Knative's config validation refuses a stable window or scale-down delay that is not
        # a whole number of seconds (pkg/autoscaler/config/config.go validate).
        for name in _WHOLE_SECONDS:
            value = getattr(self, name)
            if not float(value).is_integer():
                raise fail(f"must be whole seconds: {value!r}", sub=name)
        # "target-burst-capacity must be either non-negative or -1" (config.go validate).
        if self.target_burst_capacity < 0 and self.target_burst_capacity != -1:
            raise fail(
                f"must be >= 0 or -1: {self.target_burst_capacity!r}", sub="target_burst_capacity"
            )
        return self

    @property
    def panic_window_s(self) -> float:
        """Panic window in whole seconds, at least 1 s (module `panic_window_s`)."""
        return panic_window_s(self.stable_window_s, self.panic_window_percentage)


_NS = 1_000_000_000  # Go's time.Second in time.Duration units (nanoseconds)


def panic_window_s(stable_window_s: float, percentage: float) -> float:
    """The panic window as `resources.MakeMetric` computes it: whole seconds, at least 1 s.

    Go: time.Duration(float64(stableWindow) * percentage / 100.0).Round(time.Second), then
    at least BucketSize (1 s). The float product is truncated to whole nanoseconds, then
    rounded half up to the second (60 s × 51 % = 30.6 s -> 31 s; 65 s × 10 % = 6.5 s -> 7 s).
    """
    ns = int(float(round(stable_window_s * _NS)) * percentage / 100.0)
    seconds, rest = divmod(ns, _NS)
    if rest + rest >= _NS:
        seconds += 1
    return float(max(1, seconds))
