"""The scenario schema: one definition, published as JSON Schema, typed and strict."""

from __future__ import annotations

import dataclasses
import json
import pickle
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

import planner.autoscalers as autoscalers
from planner.cli import app
from planner.cli.schema import schema_text
from planner.errors import ScenarioError
from planner.scenario import (
    Deployment,
    Service,
    Slo,
    default,
    json_schema,
    load_scenario,
    scenario_from_dict,
)
from planner.scenario_params import AzureMlParams, HpaParams, KnativeParams

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = ROOT / "docs" / "scenario.schema.json"
EXAMPLES = sorted((ROOT / "scenarios").glob("*.yaml"))
HEADER = "# yaml-language-server: $schema=../docs/scenario.schema.json"


def base() -> dict[str, Any]:
    """A small valid scenario (no warnings)."""
    return {
        "name": "t",
        "duration_s": 600,
        "warmup_s": 60,
        "traffic": {"rps": 10},
        "service": {"request_time_s": 0.5},
        "deployment": {"min_replicas": 2, "max_replicas": 30},
    }


def validator() -> jsonschema.Draft202012Validator:
    """A JSON Schema validator of the committed schema."""
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_committed_schema_is_the_generated_one() -> None:
    """docs/scenario.schema.json equals what the types generate (run `planner schema --out`)."""
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text()


def test_planner_schema_prints_it() -> None:
    """`planner schema` prints the schema: exit 0, valid JSON, the same document."""
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.output) == json_schema()


def test_schema_carries_descriptions_units_and_limits() -> None:
    """Field docs become descriptions; limits and choices are in the schema."""
    schema = json_schema()
    dep = schema["$defs"]["Deployment"]["properties"]
    assert dep["target_utilization"]["default"] == 0.7
    assert dep["target_utilization"]["maximum"] == 1
    assert dep["max_replicas"]["maximum"] == 100_000
    assert dep["autoscaler"]["enum"] == ["azureml", "hpa", "knative", "none"]
    assert "autoscale_target_utilization" in dep["target_utilization"]["description"]
    assert set(schema["required"]) == {"traffic", "service"}
    hpa = schema["$defs"]["HpaParams"]["properties"]
    assert {"scale_up_tolerance", "scale_down_tolerance"} <= set(hpa)


@pytest.mark.parametrize("file", EXAMPLES, ids=[f.stem for f in EXAMPLES])
def test_every_example_points_at_the_schema_and_validates(file: Path) -> None:
    """Each example starts with the yaml-language-server line and passes the JSON Schema."""
    text = file.read_text(encoding="utf-8")
    assert text.splitlines()[0] == HEADER
    validator().validate(yaml.safe_load(text))


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("deployment.max_replica", 6),  # misspelt key
        ("traffic.rsp", 20),  # misspelt key in a block
        ("deployment.min_replicas", "2"),  # a string for a count
        ("deployment.target_utilization", 1.5),  # out of range
        ("service.request_time_s", {"dist": "weibull", "mean": 1}),  # unknown kind
    ],
)
def test_json_schema_refuses_what_the_loader_refuses(path: str, value: Any) -> None:
    """A misspelt key or a bad value fails the JSON Schema and the loader alike."""
    data = base()
    *parents, last = path.split(".")
    node = data
    for part in parents:
        node = node[part]
    node[last] = value
    assert list(validator().iter_errors(data)), "the JSON Schema accepted it"
    with pytest.raises(ScenarioError):
        scenario_from_dict(data)
    validator().validate(base())  # the unedited scenario passes: the edit is what fails


def test_strict_types() -> None:
    """A string or a boolean is never a number; an int is fine where seconds are meant."""
    s = scenario_from_dict(base())
    assert isinstance(s.duration_s, float) and s.duration_s == 600.0
    for path, value, message in [
        ("warmup_s", "60", "warmup_s must be a number: '60'"),
        ("warmup_s", True, "warmup_s must be a number: True"),
        ("seeds", "3", "seeds must be an integer: '3'"),
    ]:
        data = base() | {path: value}
        with pytest.raises(ScenarioError) as err:
            scenario_from_dict(data)
        assert str(err.value) == message


def test_defaults_are_read_from_the_types() -> None:
    """`default` reads each default where it is defined, once."""
    assert default(Deployment, "target_utilization") == 0.7
    assert default(Deployment, "max_request_wait_s") == 0.5
    assert default(Deployment, "scoring_timeout_s") == 60.0
    assert (default(Deployment, "min_replicas"), default(Deployment, "max_replicas")) == (1, 10)
    assert default(Slo, "max_rate_503") == 0.001
    assert default(Service, "cold_start_s").mean_s == 30.0
    assert default(HpaParams, "scale_up_tolerance") is None
    with pytest.raises(KeyError):
        default(Service, "request_time_s")


def test_autoscalers_use_the_schema_blocks() -> None:
    """The policies' parameter blocks are the scenario layer's, not copies."""
    assert autoscalers.HpaParams is HpaParams
    assert autoscalers.KnativeParams is KnativeParams
    assert autoscalers.AzureMlParams is AzureMlParams


def test_direct_construction_and_replace_validate() -> None:
    """Building or copying a type in code gives the file's one-line error."""
    with pytest.raises(ScenarioError) as err:
        Deployment(min_replicas=4, max_replicas=2)
    assert str(err.value) == "deployment.max_replicas must be >= min_replicas (4): 2"
    d = Deployment(min_replicas=3, max_replicas=5)
    assert d.replicas == 3  # the initial count defaults to min_replicas
    with pytest.raises(ScenarioError, match=r"^deployment\.max_replicas must be >= min"):
        dataclasses.replace(d, max_replicas=2)
    assert dataclasses.replace(d, max_replicas=8).max_replicas == 8
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.max_replicas = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"scale_up_tolerance": -0.1}, "deployment.hpa.scale_up_tolerance must be >= 0: -0.1"),
        (
            {"scale_down_tolerance": "0.1"},
            "deployment.hpa.scale_down_tolerance must be a number: '0.1'",
        ),
    ],
)  # fmt: skip
def test_hpa_asymmetric_tolerances(block: dict[str, Any], message: str) -> None:
    """The Kubernetes 1.33 tolerances default to None (use `tolerance`) and must be >= 0."""
    ok = base()
    ok["deployment"] = {"autoscaler": "hpa", "hpa": {"scale_up_tolerance": 0.05}}
    hpa = scenario_from_dict(ok).deployment.hpa
    assert (hpa.tolerance, hpa.scale_up_tolerance, hpa.scale_down_tolerance) == (0.1, 0.05, None)
    data = base()
    data["deployment"] = {"autoscaler": "hpa", "hpa": block}
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(data)
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("key", "value", "ok"),
    [("stable_window_s", 60.5, False), ("scale_down_delay_s", 0.25, False),
     ("stable_window_s", 90, True), ("scale_down_delay_s", 30.0, True)],
)  # fmt: skip
def test_knative_windows_are_whole_seconds(key: str, value: float, ok: bool) -> None:
    """Knative refuses a stable window or scale-down delay with a fraction of a second."""
    data = base()
    data["deployment"] = {"autoscaler": "knative", "knative": {key: value}}
    if ok:
        assert getattr(scenario_from_dict(data).deployment.knative, key) == value
        return
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(data)
    assert str(err.value) == f"deployment.knative.{key} must be whole seconds: {value!r}"


def test_a_scenario_pickles(tmp_path: Path) -> None:
    """Worker processes receive scenarios by pickle: the copy is equal and keeps its spec."""
    s = load_scenario(ROOT / "scenarios" / "spike.yaml")
    again = pickle.loads(pickle.dumps(s))
    assert again == s and again.spec == s.spec and again.base_dir == s.base_dir
