"""The raw scenario spec as plain data: deep copies, dotted-path overrides, descriptions.

`with_overrides` edits a copy of a scenario's spec with these helpers and validates it again;
`describe` writes the spec of a Scenario built from the types directly. Nothing here checks
values: the schema does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from planner.distributions import Constant, Exponential, Gamma, Lognormal
from planner.errors import ScenarioError
from planner.scenario_traffic import TRAFFIC_SOURCES

if TYPE_CHECKING:
    from planner.scenario_types import Scenario

__all__ = ["clamp_replicas", "describe", "plain", "set_path"]

BLOCK_NAMES = ("azureml", "hpa", "knative")
# Parameters of which exactly one is given; an override of one drops the others.
ALTERNATIVES = {
    "constant": ("value", "mean"),
    "lognormal": ("p99", "sigma"),
    "gamma": ("shape", "scv"),
    "empirical": ("file", "samples"),
}


def plain(obj: Any) -> Any:
    """A deep copy in plain YAML types (dict, list, str, int, float, bool, None)."""
    if isinstance(obj, Mapping):
        return {k: plain(val) for k, val in obj.items()}
    if isinstance(obj, list | tuple):
        return [plain(x) for x in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def set_path(spec: dict[str, Any], path: Any, value: Any) -> None:
    """Set a dotted path in the plain spec, creating missing mappings."""
    parts = path.split(".") if isinstance(path, str) else []
    if not parts or not all(parts):
        raise ScenarioError(f"override path must be dotted field names: {path!r}")
    node: Any = spec
    for depth, part in enumerate(parts):
        where = ".".join(parts[:depth])
        last = depth == len(parts) - 1
        if isinstance(node, dict):
            if last:
                drop_alternatives(node, parts)
                node[part] = plain(value)
                return
            if not isinstance(node.get(part), dict | list):
                if part in node and node[part] is not None:
                    raise ScenarioError(
                        f"cannot set {path}: {'.'.join(parts[: depth + 1])} is not a mapping "
                        f"or list: {node[part]!r}"
                    )
                node[part] = {}
            node = node[part]
        elif isinstance(node, list):
            if not (part.isdigit() and int(part) < len(node)):
                raise ScenarioError(
                    f"cannot set {path}: {where} has no item {part} ({len(node)} items)"
                )
            if last:
                node[int(part)] = plain(value)
                return
            node = node[int(part)]
        else:
            raise ScenarioError(f"cannot set {path}: {where} is not a mapping or list: {node!r}")
    raise AssertionError("unreachable: the last part returns")


def drop_alternatives(node: dict[str, Any], parts: list[str]) -> None:
    """Setting one of a set of mutually exclusive keys removes the others."""
    key = parts[-1]
    group: tuple[str, ...] = ()
    if parts[:-1] == ["traffic"]:
        group = TRAFFIC_SOURCES
    elif isinstance(node.get("dist"), str):
        group = ALTERNATIVES.get(node["dist"], ())
    if key in group:
        for other in group:
            if other != key:
                node.pop(other, None)


def clamp_replicas(spec: dict[str, Any], *, default_min: int, default_max: int) -> None:
    """Move an explicit initial replica count into a (new) min..max range."""
    dep = spec.get("deployment")
    if not isinstance(dep, dict) or "replicas" not in dep or dep.get("autoscaler") == "none":
        return
    r = dep["replicas"]
    lo, hi = dep.get("min_replicas", default_min), dep.get("max_replicas", default_max)
    if all(isinstance(x, int) and not isinstance(x, bool) for x in (r, lo, hi)) and lo <= hi:
        dep["replicas"] = min(max(r, lo), hi)


def clamp_initial_nodes(spec: dict[str, Any], *, default_min: int, default_max: int) -> None:
    """Move an explicit initial node count into a (new) min_nodes..max_nodes range; without
    one, initial_nodes follows min_nodes by the schema's default."""
    nodes = spec.get("nodes")
    if not isinstance(nodes, dict) or "initial_nodes" not in nodes:
        return
    n = nodes["initial_nodes"]
    lo, hi = nodes.get("min_nodes", default_min), nodes.get("max_nodes", default_max)
    if all(isinstance(x, int) and not isinstance(x, bool) for x in (n, lo, hi)) and lo <= hi:
        nodes["initial_nodes"] = min(max(n, lo), hi)


def dist_spec(d: Any) -> Any:
    """The file form of a distribution object."""
    if isinstance(d, Constant):
        return d.value_s
    if isinstance(d, Exponential):
        return {"dist": "exponential", "mean": d.mean_s}
    if isinstance(d, Lognormal):
        return {"dist": "lognormal", "mean": d.mean_s, "sigma": d.sigma}
    if isinstance(d, Gamma):
        return {"dist": "gamma", "mean": d.mean_s, "shape": d.shape}
    return {"dist": "empirical", "samples": list(d.samples_s)}


def describe(s: Scenario) -> dict[str, Any]:
    """A spec for a Scenario built from the types directly (no spec kept)."""
    t = s.traffic
    traffic: dict[str, Any] = {"arrivals": t.arrivals}
    if t.rps is not None:
        traffic["rps"] = t.rps
    elif t.pattern:
        traffic["pattern"] = [
            {"duration_s": p.duration_s, "rps": p.rps}
            | ({} if p.to_rps is None else {"to_rps": p.to_rps})
            for p in t.pattern
        ]
    elif t.trace_name is not None:
        traffic["trace"] = t.trace_name
    else:
        raise ScenarioError("traffic: an in-memory trace without trace_name cannot be described")
    dep = {f.name: getattr(s.deployment, f.name) for f in dataclasses.fields(s.deployment)}
    for key in BLOCK_NAMES:
        dep[key] = plain(dataclasses.asdict(dep[key]))
    return {
        "name": s.name,
        "duration_s": s.duration_s,
        "warmup_s": s.warmup_s,
        "seeds": list(s.seeds),
        "traffic": traffic,
        "service": {
            "request_time_s": dist_spec(s.service.request_time_s),
            "max_concurrent": s.service.max_concurrent,
            "cold_start_s": dist_spec(s.service.cold_start_s),
        },
        "deployment": dep,
        "slo": {"max_rate_503": s.slo.max_rate_503, "latency_p99_s": s.slo.latency_p99_s},
        **({"sweep": {k: plain(vals) for k, vals in s.sweep}} if s.sweep else {}),
    }
