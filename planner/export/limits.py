"""What each export format cannot express, and what an export changes from the simulated settings.

`LIMITS[fmt]` states, per format, what the translation loses or cannot set (units, knobs the
platform does not expose, metrics it does not see); `notes(settings, fmt)` adds what THIS
export rounds (target percent, refresh seconds, wait milliseconds). The rendered files carry
the notes as comments at their top; the CLI prints them for plain JSON, which holds no comments.
Sources: docs/autoscalers.md §1.1 and §2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from planner.errors import ScenarioError
from planner.export.units import as_decimal, percent, whole_ms, whole_seconds

if TYPE_CHECKING:
    from planner.export.settings import ExportSettings

__all__ = ["FORMATS", "LIMITS", "notes"]

FORMATS = ("azureml-v1", "azureml-v1-json", "azureml-v2", "hpa")

_AZUREML_V1_LIMITS = (
    "autoscale_target_utilization is an integer percent: the target is rounded half up "
    "(0.675 -> 68).",
    "autoscale_refresh_seconds is a whole number of seconds (at least 1): refresh_s is rounded.",
    "max_request_wait_time and scoring_timeout_ms are whole milliseconds; the SDK requires "
    "max_request_wait_time > 0, so a wait of 0 s (reject when no replica is free) becomes 1 ms.",
    "azureml-fe's scale-down delay is not configurable (about 1 min; newer docs: about 20 x the "
    "refresh interval); the simulated scale_down_delay_s is informational.",
    "With autoscale enabled the SDK refuses num_replicas, so the initial replica count cannot be "
    "set; the simulated initial count is informational.",
    "Microsoft asks not to change replica_max_concurrent_requests from 1 unless support says so.",
    "cpu_cores and memory_gb are pod requests; no cpu_cores_limit or memory_gb_limit is set.",
)

LIMITS: dict[str, tuple[str, ...]] = {
    "azureml-v1": _AZUREML_V1_LIMITS,
    "azureml-v1-json": _AZUREML_V1_LIMITS,
    "azureml-v2": (
        "target_utilization_percentage is an integer percent: the target is rounded half up "
        "(0.675 -> 68).",
        "polling_interval is whole seconds (at least 1); request_timeout_ms and max_queue_wait_ms "
        "are whole milliseconds.",
        "The YAML reference calls target_utilization_percentage 'target CPU usage'; the azureml-fe "
        "routing doc defines utilization as (busy + queued) / replicas, which planner simulates.",
        "azureml-fe's scale-down delay is not configurable (about 20 x polling_interval); the "
        "simulated scale_down_delay_s is informational.",
        "instance_count applies only to scale_settings type 'default': the initial replica count "
        "cannot be set with target_utilization.",
        "CPU and memory come from the instance type (a cluster resource): the requested cores and "
        "memory are stated in a comment; set them on the instance type.",
        "model, code_configuration and environment are placeholders (<...>): replace them.",
        "Managed online endpoints ignore these scale settings (type 'default' only, Azure Monitor "
        "autoscale); this file is for Kubernetes online endpoints routed by azureml-fe.",
    ),
    "hpa": (
        "HPA cannot see requests queued in a router: its CPU metric sees only busy replicas, so it "
        "scales later than azureml-fe, which counts busy + queued.",
        "CPU averageUtilization is a percent of the pod CPU request, not of in-flight requests: it "
        "tracks load only if a busy request keeps its CPU request busy (not I/O- or GPU-bound).",
        "The concurrency metric needs a custom-metrics adapter (e.g. Prometheus Adapter) serving "
        "a per-pod metric of in-flight requests; planner does not install it.",
        "HPA decides every 15 s (cluster-wide --horizontal-pod-autoscaler-sync-period), not every "
        "refresh_s, and its metrics lag a further ~15-60 s.",
        "scaleDown.stabilizationWindowSeconds mirrors scale_down_delay_s (whole seconds, at most "
        "3600); scale-up keeps the default policies (at most +4 pods or +100 % per 15 s).",
        "HPA has no queue, wait limit or timeout: max_request_wait_s, scoring_timeout_s and "
        "max_concurrent belong to the server or ingress, not to the HPA.",
        "The initial replica count is the Deployment's spec.replicas, not part of the HPA.",
        "Do not put an HPA on an Azure ML deployment: azureml-fe is already its autoscaler.",
    ),
}


def notes(settings: ExportSettings, fmt: str) -> tuple[str, ...]:
    """What this export changes from the simulated settings (rounding), then the format's LIMITS."""
    if fmt not in LIMITS:
        raise ScenarioError(f"format must be one of {', '.join(FORMATS)}: {fmt!r}")
    out: list[str] = []
    target, pct = settings.target_utilization, percent(settings.target_utilization)
    if as_decimal(target) * 100 != pct:
        out.append(f"target_utilization {target!r} is exported as {pct} %.")
    if fmt == "hpa":
        return (*out, *LIMITS[fmt])
    refresh = whole_seconds(settings.refresh_s)
    if refresh != as_decimal(settings.refresh_s):
        out.append(f"refresh_s {settings.refresh_s!r} is exported as {refresh} s.")
    wait_s, wait_ms = settings.max_request_wait_s, whole_ms(settings.max_request_wait_s)
    if fmt.startswith("azureml-v1") and wait_ms == 0:
        out.append(f"max_request_wait_s {wait_s!r} is exported as 1 ms (v1 requires > 0).")
    elif as_decimal(wait_s) * 1000 != wait_ms:
        out.append(f"max_request_wait_s {wait_s!r} is exported as {wait_ms} ms.")
    return (*out, *LIMITS[fmt])
