"""deploy_local end to end: real router and replicas running Azure ML's inference server.

Every test starts real processes on 127.0.0.1 and stops them; all are slow.
"""

from __future__ import annotations

import json
import shutil
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
import pytest

from planner.errors import DeploymentError
from planner.serve import ScoringError, deploy_local

EXAMPLE = Path(__file__).resolve().parent.parent / "examples"
KEY = "k-3f9a1c"

pytestmark = pytest.mark.slow


def _expected(model: Path, rows: list[list[float]]) -> np.ndarray:
    """The model's predictions computed here, independently of the deployment."""
    with np.load(model) as saved:
        return np.asarray(rows) @ saved["coef"] + float(saved["intercept"])


def _alive(pids: list[int]) -> list[int]:
    return [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]


def _wait(check: Any, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_run_reload_update_and_delete_leave_no_process_and_no_key_on_disk(
    tmp_path: Path,
) -> None:
    """The guide's loop: run, edit score.py + reload, new model + update, delete."""
    shutil.copy(EXAMPLE / "score.py", tmp_path / "score.py")
    shutil.copy(EXAMPLE / "model.npz", tmp_path / "model.npz")
    rows = [[1.0, 0.0, 0.0], [0.5, -1.0, 2.0]]
    logs = tmp_path / "logs"
    service = deploy_local(
        tmp_path / "score.py", models=tmp_path / "model.npz", port=0, key=KEY, log_dir=logs,
        config=_write(tmp_path / "two.yaml", replicas=2),
    )  # fmt: skip
    with service:
        assert np.allclose(service.run({"data": rows}), _expected(EXAMPLE / "model.npz", rows))
        assert service.run(f'{{"data": {rows}}}') == service.run({"data": rows})  # str in
        swagger = httpx.get(service.swagger_uri, headers={"Authorization": f"Bearer {KEY}"})
        assert swagger.status_code == 200 and swagger.json()["swagger"] == "2.0"
        pids = [service.pid] + [c.pid for c in psutil.Process(service.pid).children(True)]
        assert len(pids) >= 3  # the router and two replicas

        # edit score.py: answers doubled; requests sent during the rolling restart all succeed
        script = (tmp_path / "score.py").read_text()
        (tmp_path / "score.py").write_text(
            script.replace("return result.tolist()", "return (2 * result).tolist()")
        )
        statuses: list[int] = []
        stop = threading.Event()

        def load() -> None:
            with httpx.Client(headers={"Authorization": f"Bearer {KEY}"}) as client:
                while not stop.is_set():
                    r = client.post(service.scoring_uri, json={"data": rows}, timeout=30)
                    statuses.append(r.status_code)

        sender = threading.Thread(target=load)
        sender.start()
        result = service.reload()
        stop.set()
        sender.join()
        assert result["ok"] and result["replaced"] == 2
        assert statuses and set(statuses) == {200}, statuses
        assert np.allclose(service.run({"data": rows}), 2 * _expected(EXAMPLE / "model.npz", rows))

        # a new model: other coefficients, rolled out by update()
        np.savez(tmp_path / "v2.npz", coef=np.array([1.0, 1.0, 1.0]), intercept=np.array(-3.0))
        shutil.copy(tmp_path / "v2.npz", tmp_path / "model.npz")
        # still v1: the deployment has its own copy of the model until update()
        assert np.allclose(service.run({"data": rows}), 2 * _expected(EXAMPLE / "model.npz", rows))
        service.update(models=tmp_path / "model.npz")
        assert np.allclose(service.run({"data": rows}), 2 * _expected(tmp_path / "v2.npz", rows))
        assert "Worker with pid" in service.get_logs()  # the inference server's own log lines
    assert _alive(pids) == []
    on_disk = b"".join(p.read_bytes() for p in logs.rglob("*") if p.is_file())
    assert on_disk and KEY.encode() not in on_disk


def _write(path: Path, **deployment: Any) -> Path:
    import yaml

    spec = {"deployment": {"autoscaler": "none", **deployment}}
    path.write_text(yaml.safe_dump(spec))
    return path


def test_init_raising_is_a_crash_loop_with_the_traceback_in_get_logs(tmp_path: Path) -> None:
    """init() raising: CrashLoopBackOff in /stats, its traceback in get_logs(), an error raised."""
    score = tmp_path / "score.py"
    score.write_text(
        textwrap.dedent("""
        def init():
            raise RuntimeError("weights-7731 could not be loaded")

        def run(raw_data):
            return raw_data
        """)
    )
    with deploy_local(score, port=0, wait=False, backoff_base_s=0.2) as service:
        _wait(lambda: service.stats()["crash_loop"])
        stats = service.stats()
        assert stats["replicas"]["ready"] == 0 and stats["replica_list"][0]["failures"] >= 1
        logs = service.get_logs()
        assert "Traceback" in logs and "RuntimeError: weights-7731 could not be loaded" in logs
        assert "User's init function failed" in logs  # the inference server's own words
        pids = [service.pid] + [c.pid for c in psutil.Process(service.pid).children(True)]
    assert _alive(pids) == []
    with pytest.raises(DeploymentError, match=r"(?s)CrashLoopBackOff.*weights-7731"):
        deploy_local(score, port=0, backoff_base_s=0.2, timeout_s=60)


def test_reload_fixes_a_crash_loop_and_a_broken_edit_keeps_the_old_replicas(
    tmp_path: Path,
) -> None:
    """The debugging loop: init() fails, fix score.py, reload() -> serving; break it again,
    reload() raises with the new traceback and the working replica keeps answering."""
    score = tmp_path / "score.py"
    broken = (
        "def init():\n    raise KeyError('no-weights-42')\n\ndef run(raw_data):\n    return 1\n"
    )
    score.write_text(broken)
    with deploy_local(score, port=0, wait=False, backoff_base_s=0.2) as service:
        _wait(lambda: service.stats()["crash_loop"])
        score.write_text(broken.replace("raise KeyError('no-weights-42')", "pass"))
        assert service.reload()["ok"]
        assert service.run("{}") == 1
        assert service.stats()["replicas"]["ready"] == 1
        score.write_text(broken.replace("no-weights-42", "again-43"))
        with pytest.raises(DeploymentError, match="again-43"):
            service.reload()
        assert service.run("{}") == 1  # the old replica still serves
        stats = service.stats()
        assert stats["replicas"]["ready"] == 1 and len(stats["replica_list"]) == 1


def test_a_missing_model_fails_init_with_the_path_in_the_error(tmp_path: Path) -> None:
    """The example without its model: init() cannot open AZUREML_MODEL_DIR/model.npz."""
    with pytest.raises(
        DeploymentError, match=r"(?s)CrashLoopBackOff.*FileNotFoundError.*model\.npz"
    ):
        deploy_local(EXAMPLE / "score.py", port=0, backoff_base_s=0.2, timeout_s=60)
    other = tmp_path / "other.npz"
    shutil.copy(EXAMPLE / "model.npz", other)  # there, but under another name
    with pytest.raises(DeploymentError, match=r"(?s)FileNotFoundError.*model\.npz"):
        deploy_local(EXAMPLE / "score.py", models=other, port=0, backoff_base_s=0.2, timeout_s=60)


SECRET_SCORE = """
import json
import math

def init():
    pass

def run(raw_data):
    kind = json.loads(raw_data)["kind"]
    if kind == "raise":
        raise ValueError("Server=db;Password=hunter2 in /srv/app/secret.cfg")
    if kind == "nan":
        return {"y": math.nan}
    if kind == "object":
        return object()
    if kind == "generator":
        return (i for i in range(3))
    return {"y": 1.0}
"""


@pytest.mark.parametrize("debug", [False, True])
def test_run_errors_are_5xx_with_generic_bodies_unless_debug_errors(
    tmp_path: Path, debug: bool
) -> None:
    """run() raising -> 502 whose body does not echo the exception (only with --debug-errors);
    answers that are not JSON (NaN, an object, a generator) -> 5xx, never 200."""
    score = tmp_path / "score.py"
    score.write_text(SECRET_SCORE)
    with deploy_local(score, port=0, key=KEY, debug_errors=debug, log_dir=tmp_path / "l") as svc:
        assert svc.run({"kind": "ok"}) == {"y": 1.0}
        with pytest.raises(ScoringError) as raised:
            svc.run({"kind": "raise"})
        assert raised.value.status == 502
        assert ("hunter2" in raised.value.body) is debug
        assert "hunter2" in svc.get_logs()  # the traceback is in the replica log
        for kind in ("nan", "object", "generator"):
            with pytest.raises(ScoringError) as raised:
                svc.run({"kind": kind})
            assert 500 <= raised.value.status < 600, (kind, raised.value.body)
        assert "not valid JSON" in svc.get_logs()  # the NaN answer's log line
        assert "is not JSON serializable" in svc.get_logs()  # object, generator


def test_every_endpoint_but_liveness_needs_the_key(tmp_path: Path) -> None:
    """/score, /stats, /swagger.json and the reload endpoint answer 401 without the key."""
    with deploy_local(EXAMPLE / "score.py", models=EXAMPLE / "model.npz", port=0, key=KEY) as svc:
        base = svc.scoring_uri.removesuffix("/score")
        assert httpx.get(f"{base}/").status_code == 200
        wrong = {"Authorization": f"Bearer {KEY}x"}
        for headers in ({}, wrong, {"Authorization": KEY}):
            assert httpx.get(f"{base}/stats", headers=headers).status_code == 401
            assert httpx.get(svc.swagger_uri, headers=headers).status_code == 401
            assert httpx.post(svc.scoring_uri, json={}, headers=headers).status_code == 401
            assert httpx.post(f"{base}/-/reload", headers=headers).status_code == 401
        assert svc.stats()["replicas"]["ready"] == 1  # with the key


def test_load_test_through_the_inference_server_feeds_the_calibration(tmp_path: Path) -> None:
    """Locust against the example sleeping 50 ms in the inference server: the measured slot
    time is the sleep plus the server's overhead, and calibrate() takes it as request time."""
    import yaml

    from planner.loadtest.calibrate import calibrate
    from planner.loadtest.run import EXAMPLE_SCORE, measure
    from planner.scenario import load_scenario

    spec = {
        "name": "calib",
        "duration_s": 6,
        "seeds": 1,
        "traffic": {"rps": 8},
        "service": {"request_time_s": 0.05, "cold_start_s": 0, "max_concurrent": 1},
        "deployment": {"autoscaler": "none", "replicas": 2, "max_request_wait_s": 2.0},
    }
    path = tmp_path / "calib.yaml"
    path.write_text(yaml.safe_dump(spec))
    scenario = load_scenario(path)
    measured = measure(path, scenario, out_dir=tmp_path / "out", score=EXAMPLE_SCORE, key=KEY,
                       progress=False)  # fmt: skip
    platform = measured.platform
    assert platform is not None and platform.dispatched >= 30
    assert 0.05 <= platform.slot_time_s < 0.08, platform
    _, calibration = calibrate(scenario, platform)
    assert calibration.measured_request_time_s == pytest.approx(platform.slot_time_s)
    assert calibration.specified_request_time_s == pytest.approx(0.05)
    log = (tmp_path / "out" / "serve-logs" / "replica-0.log").read_text()
    assert "azmlinfsrv" in log  # it was the inference server that answered
    on_disk = b"".join(p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert KEY.encode() not in on_disk


def test_update_config_rolls_new_settings_with_the_builtin_runtime(tmp_path: Path) -> None:
    """update(config=...) with 3 replicas and a 0.3 s scoring timeout: both take effect."""
    from planner.serve.examples import sleep_score

    one = _write(tmp_path / "one.yaml", replicas=1)
    three = _write(tmp_path / "three.yaml", replicas=3, scoring_timeout_s=0.3)
    with deploy_local(sleep_score.__file__, config=one, port=0, runtime="builtin") as service:
        assert service.run({"sleep_s": 0.5})["slept_s"] == 0.5  # 60 s timeout: answered
        assert service.update(config=three)["ok"]
        _wait(lambda: service.stats()["replicas"]["ready"] == 3)
        with pytest.raises(ScoringError) as raised:
            service.run({"sleep_s": 0.5})
        assert raised.value.status == 504
        assert "planner serve" not in service.get_logs(replica=0)  # one replica's own log
        assert "replica ready" in service.get_logs(replica=0)


@pytest.mark.parametrize("runtime", ["azureml", "builtin"])
def test_the_example_gives_the_models_predictions_under_both_runtimes(runtime: str) -> None:
    """Both runtimes set AZUREML_MODEL_DIR and answer the model's own predictions."""
    rows = [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]
    model = EXAMPLE / "model.npz"
    with deploy_local(EXAMPLE / "score.py", models=model, port=0, runtime=runtime) as service:
        assert np.allclose(service.run({"data": rows}), _expected(model, rows))
        with pytest.raises(ScoringError) as raised:
            service.run(b"not json")
        assert raised.value.status == 502 and "Check the logs" in raised.value.body


SCHEMA_SCORE = """
from inference_schema.parameter_types.standard_py_parameter_type import (
    StandardPythonParameterType,
)
from inference_schema.schema_decorators import input_schema, output_schema


def init():
    pass


@input_schema("data", StandardPythonParameterType([[1.0, 2.0]]))
@output_schema(StandardPythonParameterType([3.0]))
def run(data):
    return [sum(row) for row in data]
"""

RAWHTTP_SCORE = """
from azureml.contrib.services.aml_request import rawhttp
from azureml.contrib.services.aml_response import AMLResponse


def init():
    pass


@rawhttp
def run(request):
    seen = request.headers.get("x-echo", "") + request.headers.get("Authorization", "")
    return AMLResponse(seen + request.get_data(as_text=True), 201)
"""


def test_inference_schema_and_rawhttp_behave_as_in_the_inference_server(tmp_path: Path) -> None:
    """@input_schema: parsed arguments, 400 for a body that is not an object, the schema in
    /swagger.json; @rawhttp: run() gets the request and chooses the status."""
    (tmp_path / "schema.py").write_text(SCHEMA_SCORE)
    with deploy_local(tmp_path / "schema.py", port=0) as service:
        assert service.run({"data": [[1.0, 2.0], [3.0, 4.5]]}) == [3.0, 7.5]
        with pytest.raises(ScoringError) as raised:
            service.run([1, 2])
        assert raised.value.status == 400 and "JSON dictionary" in raised.value.body
        swagger = httpx.get(service.swagger_uri).json()
        assert "data" in json.dumps(swagger["definitions"]["ServiceInput"])
    (tmp_path / "raw.py").write_text(RAWHTTP_SCORE)
    with deploy_local(tmp_path / "raw.py", port=0, key=KEY) as service:
        headers = {"x-echo": "hi:", "Authorization": f"Bearer {KEY}"}
        answer = httpx.post(service.scoring_uri, content=b"body", headers=headers)
        assert (answer.status_code, answer.text) == (201, "hi:body")  # headers, but not the key
