"""What `planner export` writes is accepted by the platforms' own SDKs, with the same values.

Azure ML v1: `AksWebservice.deploy_configuration(**kwargs).validate_configuration()` (azureml-core)
and the CLI's reader of deploymentconfig.json. Azure ML v2: `azure.ai.ml.load_online_deployment`,
the loader `az ml online-deployment create` uses (marshmallow schemas of azure-ai-ml).
The SDKs warn about their own deprecations on import and use; those warnings are theirs, so
they are silenced around the SDK calls only.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from planner.export import (
    ExportSettings,
    azureml_v1_deploymentconfig_json,
    azureml_v1_kwargs,
    azureml_v2_kubernetes_yaml,
)


@contextmanager
def sdk_quiet() -> Iterator[None]:
    """Silence the SDKs' own deprecation chatter (not ours) for the duration of a call."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


with sdk_quiet():
    from azure.ai.ml import load_online_deployment
    from azureml.core.webservice import AksWebservice  # before _util: azureml's import order
    from azureml.exceptions import WebserviceException

    from azureml._model_management._util import deploy_config_dict_to_obj  # isort: skip

CASES: dict[str, dict[str, Any]] = {
    "defaults": {},
    "recommend-rps20": {"min_replicas": 229, "max_replicas": 327, "target_utilization": 0.7},
    "fractional-target": {"min_replicas": 3, "max_replicas": 9, "target_utilization": 0.675},
    "no-queue": {"min_replicas": 2, "max_replicas": 4, "max_request_wait_s": 0.0},
    "concurrent-4": {"max_concurrent": 4, "scoring_timeout_s": 5.0, "refresh_s": 2.0},
}


def settings(case: str) -> ExportSettings:
    """The export settings of one named case."""
    return ExportSettings(name="sdk-check", **CASES[case])


@pytest.mark.parametrize("case", CASES)
def test_v1_kwargs_pass_the_sdk_validation(case: str) -> None:
    """deploy_configuration accepts the arguments and keeps our values (percent, ms)."""
    s = settings(case)
    with sdk_quiet():
        config = AksWebservice.deploy_configuration(**azureml_v1_kwargs(s))
        config.validate_configuration()
    assert config.autoscale_min_replicas == s.min_replicas
    assert config.autoscale_max_replicas == s.max_replicas
    assert config.autoscale_target_utilization == round(s.target_utilization * 100 + 1e-9)
    assert config.replica_max_concurrent_requests == s.max_concurrent
    assert config.scoring_timeout_ms == round(s.scoring_timeout_s * 1000)
    assert config.max_request_wait_time == max(1, round(s.max_request_wait_s * 1000))


@pytest.mark.parametrize("case", CASES)
def test_v1_deploymentconfig_json_reads_back_in_the_sdk(case: str) -> None:
    """The SDK's reader of deploymentconfig.json gives an AKS configuration with our values."""
    s = settings(case)
    with sdk_quiet():
        config = deploy_config_dict_to_obj(azureml_v1_deploymentconfig_json(s), None, None, None)
        config.validate_configuration()
    assert type(config).__name__ == "AksServiceDeploymentConfiguration"
    assert (config.autoscale_min_replicas, config.autoscale_max_replicas) == (
        s.min_replicas,
        s.max_replicas,
    )
    assert config.autoscale_refresh_seconds == round(s.refresh_s)


def test_v1_sdk_rejects_what_we_refuse() -> None:
    """The check can fail: the SDK rejects min > max, as planner's own validation does."""
    kwargs = azureml_v1_kwargs(settings("defaults")) | {
        "autoscale_min_replicas": 5,
        "autoscale_max_replicas": 2,
    }
    with sdk_quiet(), pytest.raises(WebserviceException):
        AksWebservice.deploy_configuration(**kwargs).validate_configuration()


@pytest.mark.parametrize("case", CASES)
def test_v2_yaml_loads_in_azure_ai_ml(case: str, tmp_path: Path) -> None:
    """load_online_deployment parses the YAML as a Kubernetes deployment with our settings."""
    s = settings(case)
    path = tmp_path / "deployment.yml"
    path.write_text(azureml_v2_kubernetes_yaml(s))
    with sdk_quiet():
        deployment = load_online_deployment(path)
    assert type(deployment).__name__ == "KubernetesOnlineDeployment"
    scale, request = deployment.scale_settings, deployment.request_settings
    assert scale.type == "target_utilization"
    assert (scale.min_instances, scale.max_instances) == (s.min_replicas, s.max_replicas)
    assert scale.target_utilization_percentage == round(s.target_utilization * 100 + 1e-9)
    assert scale.polling_interval == round(s.refresh_s)
    assert request.max_concurrent_requests_per_instance == s.max_concurrent
    assert request.max_queue_wait_ms == round(s.max_request_wait_s * 1000)
    assert request.request_timeout_ms == round(s.scoring_timeout_s * 1000)


def test_v2_loader_rejects_a_misspelt_key(tmp_path: Path) -> None:
    """The check can fail: a misspelt scale_settings key is refused by the SDK's schema."""
    path = tmp_path / "deployment.yml"
    text = azureml_v2_kubernetes_yaml(settings("defaults"))
    path.write_text(text.replace("min_instances:", "min_instancez:"))
    with sdk_quiet(), pytest.raises(Exception, match="min_instancez"):
        load_online_deployment(path)
