"""Autoscale settings as ready-to-paste deployment configuration (Azure ML v1/v2, Kubernetes HPA).

Pure translations: `ExportSettings` in, text or dicts out; no I/O. Each target has its own
units and rules (integer percent, whole seconds, milliseconds), so every translation states
what it cannot express in `LIMITS`, and the rendered text carries those limits as comments.
Field names and defaults: ../shared/reference/autoscalers.md §1.1 (v1 `deploy_configuration`,
`deploymentconfig.json`), §1.3 (v2 Kubernetes online deployment YAML), §2 (HPA autoscaling/v2).
"""

from __future__ import annotations

import json
import math
import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import yaml

from planner.errors import ScenarioError

FORMATS = ("azureml-v1", "azureml-v1-json", "azureml-v2", "hpa")
HPA_METRICS = ("cpu", "concurrency")
V2_SCHEMA_URL = "https://azuremlschemas.azureedge.net/latest/kubernetesOnlineDeployment.schema.json"
HPA_MAX_STABILIZATION_S = 3600  # Kubernetes API validation: behavior.*.stabilizationWindowSeconds
DEFAULT_INSTANCE_TYPE = "defaultinstancetype"  # created by the Azure ML Kubernetes extension
DEFAULT_CONCURRENCY_METRIC = "requests_in_flight"

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


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportSettings:
    """The autoscale and request settings to export, in planner's units (fractions, seconds).

    Defaults are the documented Azure ML v1 defaults (reference §1.1). Construction validates
    every field and raises ScenarioError naming the field, the rule and the value.
    """

    name: str = "planner"
    min_replicas: int = 1
    max_replicas: int = 10
    target_utilization: float = 0.7
    refresh_s: float = 1.0
    max_concurrent: int = 1
    max_request_wait_s: float = 0.5
    scoring_timeout_s: float = 60.0
    scale_down_delay_s: float = 60.0  # informational for Azure ML; HPA stabilization window
    cpu_cores: float = 0.1
    memory_gb: float = 0.5
    initial_replicas: int | None = None
    model_name: str | None = None
    endpoint_name: str | None = None
    instance_type: str | None = None

    def __post_init__(self) -> None:
        _check_name("name", self.name)
        for key in ("min_replicas", "max_replicas", "max_concurrent"):
            _check_int(key, getattr(self, key), low=1)
        if self.max_replicas < self.min_replicas:
            raise ScenarioError(
                f"max_replicas must be >= min_replicas ({self.min_replicas}): {self.max_replicas}"
            )
        target = _check_number("target_utilization", self.target_utilization)
        if not 0 < target <= 1:
            raise ScenarioError(f"target_utilization must be in (0, 1]: {target!r}")
        if _percent(target) < 1:
            raise ScenarioError(
                f"target_utilization must be >= 0.005 (1 % once rounded): {target!r}"
            )
        positive = ("refresh_s", "scoring_timeout_s", "cpu_cores", "memory_gb")
        for key in (*positive, "max_request_wait_s", "scale_down_delay_s"):
            value = getattr(self, key)
            if _check_number(key, value) < 0 or (value == 0 and key in positive):
                raise ScenarioError(
                    f"{key} must be {'>' if key in positive else '>='} 0: {value!r}"
                )
        if self.initial_replicas is not None:
            _check_int("initial_replicas", self.initial_replicas, low=1)
            if not self.min_replicas <= self.initial_replicas <= self.max_replicas:
                raise ScenarioError(
                    f"initial_replicas must be within min_replicas..max_replicas "
                    f"({self.min_replicas}..{self.max_replicas}): {self.initial_replicas}"
                )
        if self.instance_type is not None:
            _check_name("instance_type", self.instance_type)
        for key in ("model_name", "endpoint_name"):
            value = getattr(self, key)
            if value is not None and not (isinstance(value, str) and _ASSET_RE.match(value)):
                raise ScenarioError(f"{key} must match {_ASSET_RE.pattern}: {value!r}")


def from_scenario(scenario: Any, **overrides: Any) -> ExportSettings:
    """Settings from a scenario's deployment and service (duck-typed on planner.scenario.Scenario).

    A fixed deployment (`autoscaler: none`) exports as min = max = replicas. `overrides`
    replace any ExportSettings field afterwards (e.g. cpu_cores, endpoint_name).
    """
    dep, svc = scenario.deployment, scenario.service
    fixed = getattr(dep, "autoscaler", "azureml") == "none"
    low = dep.replicas if fixed else dep.min_replicas
    high = dep.replicas if fixed else dep.max_replicas
    settings = ExportSettings(
        name=_slug(str(scenario.name)),
        min_replicas=low,
        max_replicas=high,
        target_utilization=dep.target_utilization,
        refresh_s=dep.refresh_s,
        max_concurrent=svc.max_concurrent,
        max_request_wait_s=dep.max_request_wait_s,
        scoring_timeout_s=dep.scoring_timeout_s,
        scale_down_delay_s=dep.scale_down_delay_s,
        initial_replicas=_clamp(dep.replicas, low, high),
    )
    return replace(settings, **overrides) if overrides else settings


def from_recommendation(data: Mapping[str, Any], **overrides: Any) -> ExportSettings:
    """Settings from a recommendation mapping (`planner recommend --format json`).

    Reads min_replicas, max_replicas and target_utilization (at the top level or under
    "deployment"/"recommendation"), plus any other ExportSettings field present; other keys
    are ignored. Without min_replicas, `replicas` gives a fixed count (min = max = replicas).
    """
    merged: dict[str, Any] = {}
    for key in ("service", "deployment", "recommendation", "settings"):
        block = data.get(key)
        if isinstance(block, Mapping):
            merged.update(block)
    merged.update({k: v for k, v in data.items() if not isinstance(v, Mapping)})
    known = {f.name for f in fields(ExportSettings)}
    values = {k: v for k, v in merged.items() if k in known}
    if "target_util" in merged and "target_utilization" not in values:
        values["target_utilization"] = merged["target_util"]
    replicas = merged.get("replicas")
    if "min_replicas" not in values:
        if replicas is None:
            raise ScenarioError("recommendation has neither 'min_replicas' nor 'replicas'")
        values["min_replicas"] = replicas
        values.setdefault("max_replicas", replicas)
    low, high = values["min_replicas"], values.get("max_replicas", 10)
    if "initial_replicas" not in values and all(_is_int(v) for v in (replicas, low, high)):
        values["initial_replicas"] = _clamp(int(replicas), low, high)  # type: ignore[arg-type]
    values.update(overrides)
    return ExportSettings(**values)


# ---- Azure ML v1 --------------------------------------------------------------------------------


def azureml_v1_kwargs(settings: ExportSettings) -> dict[str, Any]:
    """Keyword arguments of `AksWebservice.deploy_configuration` (azureml-core), in its units."""
    return {
        "autoscale_enabled": True,
        "autoscale_min_replicas": settings.min_replicas,
        "autoscale_max_replicas": settings.max_replicas,
        "autoscale_refresh_seconds": _whole_seconds(settings.refresh_s),
        "autoscale_target_utilization": _percent(settings.target_utilization),
        "replica_max_concurrent_requests": settings.max_concurrent,
        "max_request_wait_time": max(1, _ms(settings.max_request_wait_s)),
        "scoring_timeout_ms": max(1, _ms(settings.scoring_timeout_s)),
        "cpu_cores": settings.cpu_cores,
        "memory_gb": settings.memory_gb,
    }


def azureml_v1_deploymentconfig_json(settings: ExportSettings) -> dict[str, Any]:
    """The `deploymentconfig.json` document for `az ml model deploy` (CLI v1) on AKS."""
    kw = azureml_v1_kwargs(settings)
    return {
        "computeType": "aks",  # the v1 docs: "For AKS, the value must be `aks`"
        "autoScaler": {
            "autoscaleEnabled": True,
            "minReplicas": kw["autoscale_min_replicas"],
            "maxReplicas": kw["autoscale_max_replicas"],
            "refreshPeriodInSeconds": kw["autoscale_refresh_seconds"],
            "targetUtilization": kw["autoscale_target_utilization"],
        },
        "maxConcurrentRequestsPerContainer": kw["replica_max_concurrent_requests"],
        "maxQueueWaitMs": kw["max_request_wait_time"],
        "scoringTimeoutMs": kw["scoring_timeout_ms"],
        "containerResourceRequirements": {"cpu": kw["cpu_cores"], "memoryInGB": kw["memory_gb"]},
    }


def azureml_v1_python(settings: ExportSettings) -> str:
    """A pasteable Python snippet building the AKS deployment configuration (SDK v1)."""
    args = "".join(f"    {k}={v!r},\n" for k, v in azureml_v1_kwargs(settings).items())
    return (
        _header(settings, "azureml-v1", "Azure ML SDK v1 (azureml-core) AKS web service", "#")
        + "from azureml.core.webservice import AksWebservice\n\n"
        + f"deployment_config = AksWebservice.deploy_configuration(\n{args})\n"
    )


# ---- Azure ML v2 --------------------------------------------------------------------------------


def azureml_v2_kubernetes_dict(settings: ExportSettings) -> dict[str, Any]:
    """The Kubernetes online deployment document (CLI v2 YAML), as a dict."""
    model = (
        f"azureml:{settings.model_name}:<MODEL-VERSION>"
        if settings.model_name
        else ("azureml:<MODEL-NAME>:<MODEL-VERSION>")
    )
    return {
        "$schema": V2_SCHEMA_URL,
        "name": settings.name,
        "type": "kubernetes",
        "endpoint_name": settings.endpoint_name or "<ENDPOINT-NAME>",
        "model": model,
        "code_configuration": {"code": "<PATH-TO-CODE-DIR>", "scoring_script": "score.py"},
        "environment": "azureml:<ENVIRONMENT-NAME>:<ENVIRONMENT-VERSION>",
        "instance_type": settings.instance_type or DEFAULT_INSTANCE_TYPE,
        "scale_settings": {
            "type": "target_utilization",
            "min_instances": settings.min_replicas,
            "max_instances": settings.max_replicas,
            "polling_interval": _whole_seconds(settings.refresh_s),
            "target_utilization_percentage": _percent(settings.target_utilization),
        },
        "request_settings": {
            "request_timeout_ms": max(1, _ms(settings.scoring_timeout_s)),
            "max_concurrent_requests_per_instance": settings.max_concurrent,
            "max_queue_wait_ms": _ms(settings.max_request_wait_s),
        },
    }


def azureml_v2_kubernetes_yaml(settings: ExportSettings) -> str:
    """The Kubernetes online deployment YAML, placeholders marked, limits as comments."""
    body = _dump_yaml(azureml_v2_kubernetes_dict(settings))
    marked = "".join(
        line + ("  # PLACEHOLDER: replace" if "<" in line else "") + "\n"
        for line in body.splitlines()
    )
    resources = (
        f"# Instance type must request cpu: {settings.cpu_cores:g}, memory: "
        f"{settings.memory_gb:g} GB per instance.\n"
    )
    title = "Azure ML CLI v2 Kubernetes online deployment"
    return _header(settings, "azureml-v2", title, "#") + resources + marked


# ---- Kubernetes HPA -----------------------------------------------------------------------------


def hpa_dict(
    settings: ExportSettings,
    *,
    deployment_name: str | None = None,
    namespace: str = "default",
    metric: str = "cpu",
    metric_name: str = DEFAULT_CONCURRENCY_METRIC,
) -> dict[str, Any]:
    """A `autoscaling/v2` HorizontalPodAutoscaler for a Deployment, as a dict."""
    target = deployment_name or settings.name
    _check_name("deployment_name", target)
    _check_name("namespace", namespace)
    window_s = _half_up(_decimal(settings.scale_down_delay_s))
    if window_s > HPA_MAX_STABILIZATION_S:
        raise ScenarioError(
            f"scale_down_delay_s must be <= {HPA_MAX_STABILIZATION_S} for HPA "
            f"stabilizationWindowSeconds: {settings.scale_down_delay_s!r}"
        )
    if metric == "cpu":
        metric_spec: dict[str, Any] = {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {
                    "type": "Utilization",
                    "averageUtilization": _percent(settings.target_utilization),
                },
            },
        }
    elif metric == "concurrency":
        if not _METRIC_RE.match(metric_name):
            raise ScenarioError(f"metric_name must match {_METRIC_RE.pattern}: {metric_name!r}")
        per_pod = _decimal(settings.target_utilization) * settings.max_concurrent
        metric_spec = {
            "type": "Pods",
            "pods": {
                "metric": {"name": metric_name},
                "target": {"type": "AverageValue", "averageValue": _quantity(per_pod)},
            },
        }
    else:
        raise ScenarioError(f"metric must be one of {', '.join(HPA_METRICS)}: {metric!r}")
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": settings.name, "namespace": namespace},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
            "minReplicas": settings.min_replicas,
            "maxReplicas": settings.max_replicas,
            "metrics": [metric_spec],
            "behavior": {
                "scaleUp": {"stabilizationWindowSeconds": 0},
                "scaleDown": {"stabilizationWindowSeconds": window_s},
            },
        },
    }


def hpa_yaml(
    settings: ExportSettings,
    *,
    deployment_name: str | None = None,
    namespace: str = "default",
    metric: str = "cpu",
    metric_name: str = DEFAULT_CONCURRENCY_METRIC,
) -> str:
    """The HPA as YAML with the limits as comments (see `hpa_dict`)."""
    options = {"namespace": namespace, "metric": metric, "metric_name": metric_name}
    doc = hpa_dict(settings, deployment_name=deployment_name, **options)
    return _header(settings, "hpa", "Kubernetes HorizontalPodAutoscaler", "#") + _dump_yaml(doc)


# ---- one entry point ----------------------------------------------------------------------------


def render(settings: ExportSettings, fmt: str, **hpa_options: Any) -> str:
    """Render `settings` in one of FORMATS; `hpa_options` go to `hpa_yaml` (format "hpa").

    "azureml-v1-json" is plain JSON (no comments possible): its limits are in `notes()`.
    """
    if fmt == "azureml-v1":
        return azureml_v1_python(settings)
    if fmt == "azureml-v1-json":
        return json.dumps(azureml_v1_deploymentconfig_json(settings), indent=2) + "\n"
    if fmt == "azureml-v2":
        return azureml_v2_kubernetes_yaml(settings)
    if fmt == "hpa":
        return hpa_yaml(settings, **hpa_options)
    raise ScenarioError(f"format must be one of {', '.join(FORMATS)}: {fmt!r}")


def notes(settings: ExportSettings, fmt: str) -> tuple[str, ...]:
    """What this export changes from the simulated settings (rounding), then the format's LIMITS."""
    if fmt not in LIMITS:
        raise ScenarioError(f"format must be one of {', '.join(FORMATS)}: {fmt!r}")
    out: list[str] = []
    target, pct = settings.target_utilization, _percent(settings.target_utilization)
    if _decimal(target) * 100 != pct:
        out.append(f"target_utilization {target!r} is exported as {pct} %.")
    if fmt == "hpa":
        return (*out, *LIMITS[fmt])
    refresh = _whole_seconds(settings.refresh_s)
    if refresh != _decimal(settings.refresh_s):
        out.append(f"refresh_s {settings.refresh_s!r} is exported as {refresh} s.")
    wait_s, wait_ms = settings.max_request_wait_s, _ms(settings.max_request_wait_s)
    if fmt.startswith("azureml-v1") and wait_ms == 0:
        out.append(f"max_request_wait_s {wait_s!r} is exported as 1 ms (v1 requires > 0).")
    elif _decimal(wait_s) * 1000 != wait_ms:
        out.append(f"max_request_wait_s {wait_s!r} is exported as {wait_ms} ms.")
    return (*out, *LIMITS[fmt])


# ---- helpers ------------------------------------------------------------------------------------

_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_ASSET_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")  # Azure ML asset names
_METRIC_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]*$")


def _header(settings: ExportSettings, fmt: str, title: str, mark: str) -> str:
    """Comment lines: what this is, from which settings, and every limit of the translation."""
    lines = [f"{title}, by `planner export` for '{settings.name}'.", "LIMITS:"]
    for note in notes(settings, fmt):
        lines += textwrap.wrap(
            note, 96, initial_indent="- ", subsequent_indent="  ", break_on_hyphens=False
        )
    return "".join(f"{mark} {line}\n" for line in lines) + "\n"


def _dump_yaml(doc: Mapping[str, Any]) -> str:
    """Block-style YAML in the key order given."""
    text: str = yaml.safe_dump(dict(doc), sort_keys=False, default_flow_style=False, width=100)
    return text


def _decimal(value: float) -> Decimal:
    """The decimal a user wrote (0.675 stays 0.675, not its binary approximation)."""
    return Decimal(repr(float(value)))


def _half_up(value: Decimal) -> int:
    """`value` rounded half up to an integer (66.5 -> 67; the built-in round() gives 66)."""
    return int(value.quantize(Decimal(1), ROUND_HALF_UP))


def _percent(fraction: float) -> int:
    """A fraction as an integer percent, rounded half up on its decimal form (0.675 -> 68)."""
    return _half_up(_decimal(fraction) * 100)


def _ms(seconds: float) -> int:
    """Seconds as whole milliseconds, rounded half up (0.5 -> 500)."""
    return _half_up(_decimal(seconds) * 1000)


def _whole_seconds(seconds: float) -> int:
    """Seconds rounded half up to a whole number, at least 1."""
    return max(1, _half_up(_decimal(seconds)))


def _quantity(value: Decimal) -> str:
    """A Kubernetes quantity string: whole units, else milli-units rounded half up (0.7 -> 700m)."""
    milli = _half_up(value * 1000)
    return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"


def _slug(text: str) -> str:
    """A DNS-1123 label from free text ("Spike 3x!" -> "spike-3x"), or "planner"."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:63].strip("-")
    return slug or "planner"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _clamp(value: int, low: int, high: int) -> int:
    """`value` within low..high (high wins if they cross, so validation reports max < min)."""
    return max(low, min(value, high)) if low <= high else value


def _check_name(field: str, value: object) -> None:
    if not isinstance(value, str) or not _NAME_RE.match(value) or len(value) > 63:
        raise ScenarioError(
            f"{field} must be a DNS-1123 label (lowercase letters, digits, '-', at most 63): "
            f"{value!r}"
        )


def _check_number(field: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ScenarioError(f"{field} must be a finite number: {value!r}")
    return float(value)


def _check_int(field: str, value: object, *, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScenarioError(f"{field} must be an integer: {value!r}")
    if value < low:
        raise ScenarioError(f"{field} must be >= {low}: {value}")
