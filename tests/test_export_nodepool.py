"""The node formats: az commands with rounded-up delays; headroom manifests pass the schema."""

from __future__ import annotations

import kubernetes_validate
import pytest
import yaml

from planner.errors import ScenarioError
from planner.export.nodepool import (
    HEADROOM_PRIORITY,
    NodePoolSettings,
    aks_nodepool_commands,
    headroom_manifests,
    headroom_yaml,
)

K8S_VERSION = "1.30"


def settings(**kw: object) -> NodePoolSettings:
    """A D4s_v5 pool of 1..20 nodes with 3 headroom pods of 1 cpu / 2 GB."""
    args: dict[str, object] = {
        "name": "spike",
        "vm_size": "Standard_D4s_v5",
        "min_nodes": 1,
        "max_nodes": 20,
        "headroom_pods": 3,
    }
    args.update(kw)
    return NodePoolSettings(**args)  # type: ignore[arg-type]


def test_nodepool_command_carries_the_bounds_and_the_profile() -> None:
    """min/max counts, scan interval in seconds, delays rounded UP to whole minutes."""
    text = aks_nodepool_commands(settings(scale_down_unneeded_s=90, scan_interval_s=10))
    assert "--enable-cluster-autoscaler --min-count 1 --max-count 20" in text
    assert "scan-interval=10 " in text
    assert "scale-down-unneeded-time=2m" in text  # 90 s -> 2 min, never shorter
    assert "scale-down-delay-after-add=10m" in text
    assert "scale-down-utilization-threshold=0.5" in text


def test_headroom_manifests_pass_the_kubernetes_schema() -> None:
    """PriorityClass and Deployment validate strictly; requests are the replica's."""
    docs = headroom_manifests(settings(pod_cpu=0.7, pod_memory_gb=0.3))
    for doc in docs:
        assert kubernetes_validate.validate(doc, K8S_VERSION, strict=True) == K8S_VERSION
    prio, deploy = docs
    assert prio["value"] == HEADROOM_PRIORITY == -1
    spec = deploy["spec"]["template"]["spec"]
    assert deploy["spec"]["replicas"] == 3
    assert spec["priorityClassName"] == prio["metadata"]["name"]
    assert spec["containers"][0]["resources"]["requests"] == {"cpu": "700m", "memory": "308Mi"}
    assert list(yaml.safe_load_all(headroom_yaml(settings()))) == headroom_manifests(settings())


def test_a_broken_manifest_fails_the_schema() -> None:
    """The validator is real: a string replica count is rejected."""
    deploy = headroom_manifests(settings())[1]
    deploy["spec"]["replicas"] = "three"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deploy, K8S_VERSION, strict=True)


def test_bad_bounds_are_one_line_errors() -> None:
    """max below min names both fields."""
    with pytest.raises(ScenarioError, match=r"nodes.max_nodes must be >= nodes.min_nodes \(5\): 2"):
        settings(min_nodes=5, max_nodes=2)


def test_cli_writes_the_node_formats_and_refuses_them_without_nodes() -> None:
    """`planner export` renders aks-nodepool / headroom from a nodes: scenario; exit 2 without."""
    from pathlib import Path

    from typer.testing import CliRunner

    from planner.cli import app

    repo = Path(__file__).resolve().parents[1]
    runner = CliRunner()
    nodes_file = str(repo / "scenarios" / "nodes_spike.yaml")
    result = runner.invoke(app, ["export", nodes_file, "--format", "aks-nodepool"])
    assert result.exit_code == 0, result.output
    assert "--enable-cluster-autoscaler --min-count" in result.stdout
    result = runner.invoke(app, ["export", nodes_file, "--format", "headroom"])
    docs = list(yaml.safe_load_all(result.stdout))
    assert [d["kind"] for d in docs] == ["PriorityClass", "Deployment"]
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    plain = str(repo / "scenarios" / "spike.yaml")
    result = runner.invoke(app, ["export", plain, "--format", "headroom"])
    assert result.exit_code == 2 and "nodes: block" in result.stderr


def test_a_recommendation_gives_its_node_settings_or_a_one_line_error() -> None:
    """`nodepool_from_recommendation`: the nodes block's values, the name as a DNS label; a
    block without its pool fields is refused naming the field; no block gives None."""
    from planner.export.nodepool import nodepool_from_recommendation

    block = {
        "vm_size": "Standard_D4s_v5", "min_nodes": 2, "max_nodes": 9, "headroom_pods": 4,
        "pod_cpu": 0.5, "pod_memory_gb": 1.0, "autoscaler": {"scan_interval_s": 20},
    }  # fmt: skip
    got = nodepool_from_recommendation({"name": "my_model", "nodes": block})
    assert got is not None
    assert (got.name, got.min_nodes, got.max_nodes, got.headroom_pods) == ("my-model", 2, 9, 4)
    assert (got.pod_cpu, got.pod_memory_gb, got.scan_interval_s) == (0.5, 1.0, 20)
    assert got.scale_down_unneeded_s == 600.0  # not in the block: the profile's default
    assert nodepool_from_recommendation({"name": "x"}) is None
    with pytest.raises(ScenarioError, match="no 'vm_size'"):
        nodepool_from_recommendation({"nodes": {"min_nodes": 1, "max_nodes": 2}})
