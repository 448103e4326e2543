"""Tests for planner.export.formats and `planner export`: every format against its real rules."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from typer.testing import CliRunner

import planner.scenario
from planner.cli import app
from planner.distributions import Constant
from planner.errors import PlannerError
from planner.export import (
    FORMATS,
    LIMITS,
    ExportSettings,
    azureml_v1_deploymentconfig_json,
    azureml_v1_kwargs,
    azureml_v1_python,
    azureml_v2_kubernetes_yaml,
    from_recommendation,
    from_scenario,
    hpa_yaml,
    render,
)
from planner.scenario import Deployment, Service

SCHEMAS = Path(__file__).parent / "schemas"
K8S_VERSION = "1.30"


@pytest.fixture(scope="module")
def v2_validator() -> jsonschema.Draft202012Validator:
    """The Kubernetes online deployment schema, loaded once."""
    schema = json.loads((SCHEMAS / "kubernetesOnlineDeployment.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema)


def sdk_v1_errors(kw: dict[str, Any]) -> list[str]:
    """Independent check of AksWebservice.deploy_configuration arguments.

    Re-implements azureml-core `AksServiceDeploymentConfiguration.validate_configuration`
    (autoscale branch) plus the documented types: int replicas, int refresh seconds,
    int percent out of 100, int milliseconds.
    """
    errors = []
    ints = (
        "autoscale_min_replicas",
        "autoscale_max_replicas",
        "autoscale_refresh_seconds",
        "autoscale_target_utilization",
        "replica_max_concurrent_requests",
        "max_request_wait_time",
        "scoring_timeout_ms",
    )
    for key in ints:
        if type(kw.get(key)) is not int:
            errors.append(f"{key} not int")
    for key in (*ints, "cpu_cores", "memory_gb"):
        if not isinstance(kw.get(key), int | float) or kw[key] <= 0:
            errors.append(f"{key} must be greater than zero")
    if kw.get("autoscale_enabled") is not True or "num_replicas" in kw:
        errors.append("autoscale enabled and num_replicas provided / not enabled")
    if not errors and kw["autoscale_min_replicas"] > kw["autoscale_max_replicas"]:
        errors.append("autoscale_min_replicas cannot be greater than autoscale_max_replicas")
    if not errors and kw["autoscale_target_utilization"] > 100:
        errors.append("autoscale_target_utilization is a percent out of 100")
    return errors


def comment_text(text: str) -> str:
    """The comment lines of `text`, unwrapped into one whitespace-normalised string."""
    lines = [line[1:].strip() for line in text.splitlines() if line.startswith("#")]
    return re.sub(r"\s+", " ", " ".join(lines))


SETTINGS = [
    ExportSettings(),
    ExportSettings(name="spike-3x", min_replicas=4, max_replicas=40, target_utilization=0.5),
    ExportSettings(min_replicas=3, max_replicas=3, target_utilization=1.0, max_request_wait_s=0),
    ExportSettings(target_utilization=0.675, refresh_s=0.4, max_concurrent=4, cpu_cores=2.5),
]


# ---- Azure ML v1 --------------------------------------------------------------------------------


def test_v1_kwargs_are_the_sdk_units() -> None:
    """0.7 -> 70 %, 0.5 s -> 500 ms, 60 s -> 60000 ms, refresh as int seconds."""
    s = ExportSettings(min_replicas=2, max_replicas=12, max_request_wait_s=0.5, refresh_s=2.0)
    assert azureml_v1_kwargs(s) == {
        "autoscale_enabled": True,
        "autoscale_min_replicas": 2,
        "autoscale_max_replicas": 12,
        "autoscale_refresh_seconds": 2,
        "autoscale_target_utilization": 70,
        "replica_max_concurrent_requests": 1,
        "max_request_wait_time": 500,
        "scoring_timeout_ms": 60000,
        "cpu_cores": 0.1,
        "memory_gb": 0.5,
    }


@pytest.mark.parametrize("settings", SETTINGS)
def test_v1_kwargs_pass_the_sdk_rules(settings: ExportSettings) -> None:
    """Every export passes the re-implemented validate_configuration."""
    assert sdk_v1_errors(azureml_v1_kwargs(settings)) == []


def test_sdk_rule_checker_can_fail() -> None:
    """The checker itself rejects what the SDK rejects (min > max, 0 ms wait, 0.7 percent)."""
    kw = azureml_v1_kwargs(ExportSettings())
    assert sdk_v1_errors({**kw, "autoscale_min_replicas": 11}) != []
    assert sdk_v1_errors({**kw, "max_request_wait_time": 0}) != []
    assert sdk_v1_errors({**kw, "autoscale_target_utilization": 0.7}) != []


def test_zero_wait_becomes_one_ms_in_v1_only() -> None:
    """The SDK needs max_request_wait_time > 0: 0 s exports as 1 ms in v1, 0 ms in v2."""
    s = ExportSettings(max_request_wait_s=0.0)
    assert azureml_v1_kwargs(s)["max_request_wait_time"] == 1
    assert "exported as 1 ms" in comment_text(azureml_v1_python(s))
    v2 = yaml.safe_load(azureml_v2_kubernetes_yaml(s))
    assert v2["request_settings"]["max_queue_wait_ms"] == 0


@pytest.mark.parametrize("settings", SETTINGS)
def test_v1_python_snippet_calls_deploy_configuration_with_the_kwargs(
    settings: ExportSettings,
) -> None:
    """The snippet parses, and its one call passes exactly azureml_v1_kwargs."""
    tree = ast.parse(azureml_v1_python(settings))
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    assert len(calls) == 1
    call = calls[0]
    assert isinstance(call.func, ast.Attribute) and call.func.attr == "deploy_configuration"
    assert isinstance(call.func.value, ast.Name) and call.func.value.id == "AksWebservice"
    got = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
    assert got == azureml_v1_kwargs(settings)


def test_deploymentconfig_json_maps_each_sdk_argument() -> None:
    """deploymentconfig.json carries each argument under its documented JSON key."""
    s = ExportSettings(min_replicas=2, max_replicas=9, target_utilization=0.6, cpu_cores=1.5)
    doc = json.loads(render(s, "azureml-v1-json"))
    kw = azureml_v1_kwargs(s)
    assert doc == azureml_v1_deploymentconfig_json(s)
    assert doc["computeType"] == "aks"
    pairs = {  # reference §1.1 table: SDK argument -> JSON path
        "autoscale_min_replicas": ("autoScaler", "minReplicas"),
        "autoscale_max_replicas": ("autoScaler", "maxReplicas"),
        "autoscale_refresh_seconds": ("autoScaler", "refreshPeriodInSeconds"),
        "autoscale_target_utilization": ("autoScaler", "targetUtilization"),
        "replica_max_concurrent_requests": ("maxConcurrentRequestsPerContainer",),
        "max_request_wait_time": ("maxQueueWaitMs",),
        "scoring_timeout_ms": ("scoringTimeoutMs",),
        "cpu_cores": ("containerResourceRequirements", "cpu"),
        "memory_gb": ("containerResourceRequirements", "memoryInGB"),
    }
    for arg, path in pairs.items():
        value: Any = doc
        for key in path:
            value = value[key]
        assert value == kw[arg], arg
    assert doc["autoScaler"]["autoscaleEnabled"] is True
    assert doc["autoScaler"]["targetUtilization"] == 60


@pytest.mark.parametrize(
    ("target", "percent"),
    [(0.7, 70), (0.675, 68), (0.665, 67), (0.285, 29), (0.125, 13), (1.0, 100), (0.005, 1)],
)
def test_target_is_an_integer_percent_rounded_half_up(target: float, percent: int) -> None:
    """Half up on the written decimal, not on its binary float (0.285 * 100 = 28.4999...)."""
    s = ExportSettings(target_utilization=target)
    assert azureml_v1_kwargs(s)["autoscale_target_utilization"] == percent
    v2 = yaml.safe_load(azureml_v2_kubernetes_yaml(s))
    assert v2["scale_settings"]["target_utilization_percentage"] == percent
    hpa = yaml.safe_load(hpa_yaml(s))
    assert hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == percent


def test_rounding_is_reported_in_the_comments() -> None:
    """A target that is not a whole percent says what it became."""
    s = ExportSettings(target_utilization=0.675, refresh_s=0.4)
    text = comment_text(azureml_v1_python(s))
    assert "target_utilization 0.675 is exported as 68 %" in text
    assert "refresh_s 0.4 is exported as 1 s" in text
    assert "exported as" not in comment_text(azureml_v1_python(ExportSettings()))


# ---- Azure ML v2 --------------------------------------------------------------------------------


@pytest.mark.parametrize("settings", SETTINGS)
def test_v2_yaml_validates_against_the_schema(
    settings: ExportSettings, v2_validator: jsonschema.Draft202012Validator
) -> None:
    """The v2 deployment YAML is valid under the Kubernetes online deployment schema."""
    doc = yaml.safe_load(azureml_v2_kubernetes_yaml(settings))
    v2_validator.validate(doc)


def test_v2_yaml_round_trips_the_settings() -> None:
    """scale_settings and request_settings carry the settings in v2 units."""
    s = ExportSettings(
        name="blue",
        min_replicas=2,
        max_replicas=8,
        target_utilization=0.7,
        refresh_s=3,
        max_concurrent=2,
        max_request_wait_s=0.25,
        scoring_timeout_s=5,
        endpoint_name="scorer",
        model_name="sklearn_mnist",
    )
    doc = yaml.safe_load(azureml_v2_kubernetes_yaml(s))
    assert doc["$schema"].endswith("/kubernetesOnlineDeployment.schema.json")
    assert (doc["name"], doc["endpoint_name"], doc["type"]) == ("blue", "scorer", "kubernetes")
    assert doc["model"] == "azureml:sklearn_mnist:<MODEL-VERSION>"
    assert doc["scale_settings"] == {
        "type": "target_utilization",
        "min_instances": 2,
        "max_instances": 8,
        "polling_interval": 3,
        "target_utilization_percentage": 70,
    }
    assert doc["request_settings"] == {
        "request_timeout_ms": 5000,
        "max_concurrent_requests_per_instance": 2,
        "max_queue_wait_ms": 250,
    }


def test_v2_schema_is_not_vacuous(v2_validator: jsonschema.Draft202012Validator) -> None:
    """The schema rejects a float percent, a misspelt key and a wrong scale type."""
    good = yaml.safe_load(azureml_v2_kubernetes_yaml(ExportSettings()))
    v2_validator.validate(good)
    bad_percent = {**good, "scale_settings": {**good["scale_settings"]}}
    bad_percent["scale_settings"]["target_utilization_percentage"] = 0.7
    misspelt = {**good, "request_setting": good["request_settings"]}
    wrong_type = {**good, "scale_settings": {**good["scale_settings"], "type": "cpu"}}
    for doc in (bad_percent, misspelt, wrong_type):
        assert not v2_validator.is_valid(doc)


def test_v2_placeholders_are_marked() -> None:
    """Every <...> placeholder line carries a PLACEHOLDER comment; real values do not."""
    text = azureml_v2_kubernetes_yaml(ExportSettings(endpoint_name="scorer"))
    body = [line for line in text.splitlines() if line and not line.startswith("#")]
    for line in body:
        assert ("<" in line) == ("# PLACEHOLDER" in line), line
    assert sum("# PLACEHOLDER" in line for line in body) == 3  # model, code, environment
    assert "cpu: 0.1, memory: 0.5 GB" in text


# ---- Kubernetes HPA -----------------------------------------------------------------------------


@pytest.mark.parametrize("settings", SETTINGS)
@pytest.mark.parametrize("metric", ["cpu", "concurrency"])
def test_hpa_validates_against_the_kubernetes_schema(settings: ExportSettings, metric: str) -> None:
    """kubernetes-validate (strict autoscaling/v2 schema of Kubernetes 1.30) accepts the HPA."""
    doc = yaml.safe_load(hpa_yaml(settings, deployment_name="scorer", metric=metric))
    assert kubernetes_validate.validate(doc, K8S_VERSION, strict=True) == K8S_VERSION


def test_hpa_validation_catches_a_bad_document() -> None:
    """The strict schema rejects an unknown field and a string replica count."""
    doc = yaml.safe_load(hpa_yaml(ExportSettings()))
    doc["spec"]["maxReplica"] = 3
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    doc = yaml.safe_load(hpa_yaml(ExportSettings()))
    doc["spec"]["minReplicas"] = "2"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_hpa_cpu_round_trip() -> None:
    """Bounds, CPU target percent and the scale-down window come through."""
    s = ExportSettings(name="spike", min_replicas=3, max_replicas=30, scale_down_delay_s=90)
    doc = yaml.safe_load(hpa_yaml(s, deployment_name="scorer", namespace="ml"))
    assert doc["metadata"] == {"name": "spike", "namespace": "ml"}
    spec = doc["spec"]
    assert spec["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "scorer",
    }
    assert (spec["minReplicas"], spec["maxReplicas"]) == (3, 30)
    assert spec["metrics"] == [
        {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 70},
            },
        }
    ]
    assert spec["behavior"]["scaleDown"] == {"stabilizationWindowSeconds": 90}


@pytest.mark.parametrize(
    ("target", "max_concurrent", "quantity"),
    [(0.7, 1, "700m"), (0.75, 4, "3"), (0.7, 2, "1400m"), (0.6667, 1, "667m"), (1.0, 1, "1")],
)
def test_hpa_concurrency_target_is_target_times_max_concurrent(
    target: float, max_concurrent: int, quantity: str
) -> None:
    """The Pods metric averages target × max_concurrent in-flight requests per pod."""
    s = ExportSettings(target_utilization=target, max_concurrent=max_concurrent)
    doc = yaml.safe_load(hpa_yaml(s, metric="concurrency", metric_name="inflight_requests"))
    pods = doc["spec"]["metrics"][0]["pods"]
    assert pods["metric"] == {"name": "inflight_requests"}
    assert pods["target"] == {"type": "AverageValue", "averageValue": quantity}


def test_hpa_refuses_what_kubernetes_refuses() -> None:
    """A window over 3600 s, an unknown metric and a bad namespace are refused by name."""
    with pytest.raises(PlannerError, match="scale_down_delay_s must be <= 3600"):
        hpa_yaml(ExportSettings(scale_down_delay_s=4000))
    with pytest.raises(PlannerError, match="metric must be one of cpu, concurrency"):
        hpa_yaml(ExportSettings(), metric="rps")
    with pytest.raises(PlannerError, match="namespace must be a DNS-1123 label"):
        hpa_yaml(ExportSettings(), namespace="My_NS")


# ---- limits, settings, builders -----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["azureml-v1", "azureml-v2", "hpa"])
def test_every_limit_is_in_the_comments(fmt: str) -> None:
    """Each text format carries each of its LIMITS as a comment."""
    text = comment_text(render(ExportSettings(), fmt))
    assert set(LIMITS) == set(FORMATS)
    for limit in LIMITS[fmt]:
        assert limit in text
    assert "LIMITS:" in text


def test_limits_name_the_documented_gaps() -> None:
    """The key gaps are stated: queue blindness, integer percent, fixed scale-down delay."""
    assert any("cannot see requests queued" in line for line in LIMITS["hpa"])
    assert any("0.675 -> 68" in line for line in LIMITS["azureml-v1"])
    assert any("not configurable" in line for line in LIMITS["azureml-v2"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target_utilization": 1.5}, "target_utilization must be in (0, 1]: 1.5"),
        ({"target_utilization": 0.0}, "target_utilization must be in (0, 1]: 0.0"),
        ({"target_utilization": 0.004}, "target_utilization must be >= 0.005"),
        ({"min_replicas": 0}, "min_replicas must be >= 1: 0"),
        ({"min_replicas": 4, "max_replicas": 2}, "max_replicas must be >= min_replicas (4): 2"),
        ({"min_replicas": 2.5}, "min_replicas must be an integer: 2.5"),
        ({"refresh_s": 0}, "refresh_s must be > 0: 0"),
        ({"max_request_wait_s": -1}, "max_request_wait_s must be >= 0: -1"),
        ({"max_concurrent": True}, "max_concurrent must be an integer: True"),
        ({"cpu_cores": "1"}, "cpu_cores must be a finite number: '1'"),
        ({"refresh_s": float("inf")}, "refresh_s must be a finite number: inf"),
        ({"model_name": "my model"}, "model_name must match"),
        ({"initial_replicas": 20}, "initial_replicas must be within min_replicas..max_replicas"),
        ({"name": "Spike_3x"}, "name must be a DNS-1123 label"),
    ],
)
def test_invalid_settings_are_refused_by_name(kwargs: dict[str, Any], message: str) -> None:
    """Bad settings raise PlannerError naming the field, the rule and the value."""
    with pytest.raises(PlannerError) as info:
        ExportSettings(**kwargs)
    assert message in str(info.value)


def _scenario(**deployment: Any) -> SimpleNamespace:
    """A scenario-shaped object built on the real Deployment and Service dataclasses."""
    return SimpleNamespace(
        name="Spike 3x!",
        deployment=Deployment(**deployment),
        service=Service(
            request_time_s=Constant(value_s=0.5),
            cold_start_s=Constant(value_s=30.0),
            max_concurrent=2,
        ),
    )


def test_from_scenario_takes_deployment_and_service() -> None:
    """Deployment bounds, target and request settings; max_concurrent from the service."""
    scenario = _scenario(
        replicas=4,
        min_replicas=2,
        max_replicas=20,
        target_utilization=0.6,
        max_request_wait_s=0.2,
        scale_down_delay_s=120,
    )
    s = from_scenario(scenario, cpu_cores=1.0)
    assert (s.name, s.min_replicas, s.max_replicas, s.initial_replicas) == ("spike-3x", 2, 20, 4)
    assert (s.target_utilization, s.max_concurrent, s.max_request_wait_s) == (0.6, 2, 0.2)
    assert (s.scale_down_delay_s, s.cpu_cores) == (120, 1.0)


def test_from_scenario_fixed_deployment_pins_min_and_max() -> None:
    """autoscaler: none exports min = max = replicas."""
    s = from_scenario(_scenario(autoscaler="none", replicas=6))
    assert (s.min_replicas, s.max_replicas, s.initial_replicas) == (6, 6, 6)


def test_from_recommendation_reads_top_level_and_nested_keys() -> None:
    """Top-level keys win over a nested deployment block; unknown keys are ignored."""
    rec = {
        "replicas": 286,
        "min_replicas": 20,
        "max_replicas": 300,
        "rate_503": 0.0,
        "deployment": {"target_utilization": 0.7, "min_replicas": 1},
        "service": {"max_concurrent": 1},
    }
    s = from_recommendation(rec)
    assert (s.min_replicas, s.max_replicas, s.initial_replicas) == (20, 300, 286)
    assert s.target_utilization == 0.7
    fixed = from_recommendation({"replicas": 5, "target_utilization": 0.5})
    assert (fixed.min_replicas, fixed.max_replicas) == (5, 5)
    with pytest.raises(PlannerError, match="neither 'min_replicas' nor 'replicas'"):
        from_recommendation({"target_utilization": 0.7})


def test_render_refuses_an_unknown_format() -> None:
    """An unknown format is refused with the list of formats."""
    with pytest.raises(PlannerError, match="format must be one of azureml-v1, "):
        render(ExportSettings(), "terraform")


# ---- CLI ----------------------------------------------------------------------------------------

runner = CliRunner()


def test_cli_options_to_hpa_on_stdout() -> None:
    """Explicit options print a valid HPA with those values."""
    result = runner.invoke(
        app,
        [
            *("export", "--min-replicas", "2", "--max-replicas", "12", "--target-util", "0.6"),
            *("--format", "hpa", "--deployment-name", "scorer", "--namespace", "ml"),
        ],
    )
    assert result.exit_code == 0, result.output
    doc = yaml.safe_load(result.stdout)
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    assert (doc["spec"]["minReplicas"], doc["spec"]["maxReplicas"]) == (2, 12)
    assert doc["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 60
    assert doc["metadata"]["namespace"] == "ml"


def test_cli_from_json_writes_all_formats(tmp_path: Path) -> None:
    """--from-json with --out writes four files, each parsing to the recommendation."""
    rec = tmp_path / "rec.json"
    rec.write_text(
        json.dumps(
            {"replicas": 6, "min_replicas": 4, "max_replicas": 16, "target_utilization": 0.55}
        )
    )
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["export", "--from-json", str(rec), "--format", "all", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "azureml_v1_deploy_config.py",
        "deploymentconfig.json",
        "hpa.yaml",
        "kubernetes-online-deployment.yml",
    ]
    assert (
        json.loads((out / "deploymentconfig.json").read_text())["autoScaler"]["targetUtilization"]
        == 55
    )
    v2 = yaml.safe_load((out / "kubernetes-online-deployment.yml").read_text())
    assert (v2["scale_settings"]["min_instances"], v2["scale_settings"]["max_instances"]) == (4, 16)
    hpa = yaml.safe_load((out / "hpa.yaml").read_text())
    assert hpa["spec"]["maxReplicas"] == 16
    assert "autoscale_target_utilization=55" in (out / "azureml_v1_deploy_config.py").read_text()
    assert "note (deploymentconfig.json):" in result.stderr


def test_cli_scenario_file_uses_the_loader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A scenario file goes through planner.scenario.load_scenario; options override it."""
    path = tmp_path / "spike.yaml"
    path.write_text("name: spike\n")
    seen: list[Path] = []

    def fake_load(p: Path) -> SimpleNamespace:
        seen.append(Path(p))
        return _scenario(replicas=3, min_replicas=3, max_replicas=9, target_utilization=0.8)

    monkeypatch.setattr(planner.scenario, "load_scenario", fake_load, raising=False)
    result = runner.invoke(
        app, ["export", str(path), "--format", "azureml-v2", "--max-replicas", "12"]
    )
    assert result.exit_code == 0, result.output
    assert seen == [path]
    doc = yaml.safe_load(result.stdout)
    assert doc["scale_settings"]["min_instances"] == 3
    assert doc["scale_settings"]["max_instances"] == 12
    assert doc["scale_settings"]["target_utilization_percentage"] == 80
    assert doc["request_settings"]["max_concurrent_requests_per_instance"] == 2


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["--min-replicas", "5", "--max-replicas", "2"],
            2,
            "max_replicas must be >= min_replicas (5): 2",
        ),
        (["--target-util", "70"], 2, "target_utilization must be in (0, 1]: 70.0"),
        (["--name", "Bad_Name"], 2, "name must be a DNS-1123 label"),
        (
            ["--format", "hpa", "--scale-down-delay-s", "7200"],
            2,
            "scale_down_delay_s must be <= 3600",
        ),
        (["--format", "terraform"], 2, "--format"),
        (["--min-replicas", "0"], 2, "--min-replicas"),
    ],
)
def test_cli_bad_options_exit_cleanly(args: list[str], code: int, message: str) -> None:
    """Bad input: exit 2 (a rule broken, or a bad option), a message, no traceback."""
    result = runner.invoke(app, ["export", *args])
    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    if "must" in message:
        assert result.stderr.count("\n") == 1


def test_cli_bad_json_and_conflicting_sources(tmp_path: Path) -> None:
    """Unparseable or non-object JSON, or a file and --from-json together: exit 2."""
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    result = runner.invoke(app, ["export", "--from-json", str(broken)])
    assert result.exit_code == 2 and "not JSON" in result.stderr
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    result = runner.invoke(app, ["export", "--from-json", str(listed)])
    assert result.exit_code == 2 and "must hold a JSON object: list" in result.stderr
    result = runner.invoke(app, ["export", str(listed), "--from-json", str(listed)])
    assert result.exit_code == 2 and "not both" in result.stderr
