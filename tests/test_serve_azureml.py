"""Pieces of the local deployment checked in-process: model layout, strict JSON, keys, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from planner.cli import app
from planner.errors import ScenarioError
from planner.serve import azureml
from planner.serve.config import check_key
from planner.serve.logs import failure_line
from planner.serve.models import layout_models, parse_models
from planner.serve.replica import builtin_handler, encode_result

EXAMPLE = Path(__file__).resolve().parent.parent / "examples"


def test_one_model_file_is_directly_under_the_model_dir(tmp_path: Path) -> None:
    """One model: AZUREML_MODEL_DIR = azureml-models/<name>/1 holding the file itself."""
    models = parse_models([str(EXAMPLE / "model.npz")])
    assert list(models) == ["model"]
    model_dir = layout_models(models, tmp_path)
    assert model_dir == tmp_path / "azureml-models" / "model" / "1"
    assert (model_dir / "model.npz").read_bytes() == (EXAMPLE / "model.npz").read_bytes()


def test_one_model_folder_keeps_its_folder_name(tmp_path: Path) -> None:
    """A registered folder appears as AZUREML_MODEL_DIR/<folder>/..., as on the platform."""
    folder = tmp_path / "src" / "clf"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "w.txt").write_text("w")
    model_dir = layout_models(parse_models([f"clf={folder}"]), tmp_path / "out")
    assert model_dir is not None
    assert (model_dir / "clf" / "sub" / "w.txt").read_text() == "w"


def test_several_models_are_name_version_under_the_model_dir(tmp_path: Path) -> None:
    """Several models: AZUREML_MODEL_DIR = azureml-models, each under <name>/1/<file>."""
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text("1")
    b.write_text("2")
    model_dir = layout_models(parse_models([f"first={a}", f"second={b}"]), tmp_path / "out")
    assert model_dir == tmp_path / "out" / "azureml-models"
    assert (model_dir / "first" / "1" / "a.json").read_text() == "1"
    assert (model_dir / "second" / "1" / "b.json").read_text() == "2"


def test_model_errors_name_the_item(tmp_path: Path) -> None:
    """A missing path, a bad name or a duplicate is an input error naming it."""
    with pytest.raises(ScenarioError, match=r"--model m=.*nope.npz: no such file"):
        parse_models([f"m={tmp_path / 'nope.npz'}"])
    (tmp_path / "x.npz").write_text("")
    with pytest.raises(ScenarioError, match="not a valid model name"):
        parse_models({"bad name": tmp_path / "x.npz"})
    with pytest.raises(ScenarioError, match="same name"):
        parse_models([str(tmp_path / "x.npz"), f"x={tmp_path / 'x.npz'}"])


def test_strict_json_refuses_nan_and_infinity() -> None:
    """RFC 8259 has no NaN/Infinity: Python's json.dumps writes them, the check refuses them."""
    assert azureml.strict_json(b'{"a": [1, 2.5, null]}')
    for bad in (json.dumps(float("nan")), json.dumps([float("inf")]), "-Infinity", "<obj>"):
        assert not azureml.strict_json(bad.encode()), bad


def test_builtin_result_without_json_form_is_rejected() -> None:
    """encode_result raises for NaN, Infinity, objects and generators; plain values pass."""
    assert encode_result({"y": [1.5]}) == (200, b"application/json", b'{"y": [1.5]}')
    for bad in (float("nan"), [float("inf")], object(), (x for x in [1])):
        with pytest.raises((TypeError, ValueError)):
            encode_result(bad)


def _handle(run: Any, *, debug: bool = False) -> tuple[int, dict[bytes, bytes], Any]:
    status, headers, body = builtin_handler(run, debug_errors=debug)({"method": "POST"}, b"{}")
    return status, dict(headers), json.loads(body)


def test_builtin_run_error_is_generic_unless_debug(capsys: pytest.CaptureFixture[str]) -> None:
    """run() raising: 500 flagged run-failed, generic body; the text only in the log or debug."""

    def run(data: str) -> Any:
        raise ValueError("password=hunter2 at /srv/secret.txt")

    status, headers, body = _handle(run)
    assert status == 500 and headers[b"x-ms-run-function-failed"] == b"True"
    assert "hunter2" not in json.dumps(body) and "Check the logs" in body["message"]
    assert "hunter2" in capsys.readouterr().err  # the traceback went to the replica log
    _, _, debug_body = _handle(run, debug=True)
    assert "ValueError: password=hunter2" in debug_body["error"]


def test_builtin_non_json_answer_is_500_with_a_log_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A NaN answer is not sent as invalid JSON with 200: 500 and a line saying why."""
    status, headers, body = _handle(lambda data: {"y": float("nan")})
    assert status == 500 and headers[b"x-ms-run-function-failed"] == b"True"
    assert "not valid JSON" in body["message"]
    assert "not valid JSON" in capsys.readouterr().out


def _wsgi(status: str, body: bytes, ctype: str = "application/json") -> azureml.WsgiApp:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response(status, [("Content-Type", ctype), ("x-ms-run-function-failed", "False")])
        return [body]

    return app


def test_inference_server_nan_answer_becomes_500(capsys: pytest.CaptureFixture[str]) -> None:
    """The server's own json.dumps writes NaN with 200: the replica turns it into a 500."""
    scope = {"method": "POST", "path": "/score", "headers": []}
    errors = azureml._LastError()
    nan = json.dumps({"y": float("nan")}).encode()
    status, headers, _ = azureml.call_wsgi(_wsgi("200 OK", nan), errors, scope, b"{}",
                                           debug_errors=False)  # fmt: skip
    assert status == 500 and (b"x-ms-run-function-failed", b"True") in headers
    assert "not valid JSON" in capsys.readouterr().out
    good = json.dumps({"y": 1.0}).encode()
    status, _, body = azureml.call_wsgi(_wsgi("200 OK", good), errors, scope, b"{}",
                                        debug_errors=False)  # fmt: skip
    assert (status, body) == (200, good)


def test_empty_key_is_an_input_error_in_the_api_and_the_cli(tmp_path: Path) -> None:
    """An empty key would turn authentication off: it is refused (exit 2), not ignored."""
    for empty in ("", "  "):
        with pytest.raises(ScenarioError, match="empty"):
            check_key(empty)
    assert check_key("k") == "k" and check_key(None) is None
    score = EXAMPLE / "score.py"
    runner = CliRunner()
    result = runner.invoke(app, ["serve", str(score), "--key", ""])
    assert result.exit_code == 2 and "--key: the key is empty" in result.output
    result = runner.invoke(app, ["serve", str(score)], env={"PLANNER_KEY": ""})
    assert result.exit_code == 2 and "empty" in result.output
    (tmp_path / "key").write_text("\n")
    result = runner.invoke(app, ["serve", str(score), "--key-file", str(tmp_path / "key")])
    assert result.exit_code == 2 and "empty" in result.output


def test_azureml_runtime_without_the_package_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without azureml-inference-server-http: one line, exit 2, the extra and --runtime builtin."""
    monkeypatch.setattr(azureml, "available", lambda: False)
    result = CliRunner().invoke(app, ["serve", str(EXAMPLE / "score.py")])
    assert result.exit_code == 2
    assert "pip install 'planner[azureml]'" in result.output
    assert "--runtime builtin" in result.output
    assert "Traceback" not in result.output


def test_failure_line_is_the_exception_of_the_traceback() -> None:
    """The one-line CrashLoopBackOff message names the exception, not the server's exit."""
    log = (
        "Traceback (most recent call last):\n  File 'score.py', line 3\n"
        "FileNotFoundError: [Errno 2] No such file or directory: '/m/model.npz'\n"
        "The above exception was the direct cause of the following exception:\n"
        "azureml_inference_server_http.server.user_script.UserScriptException: Caught an\n"
        "SystemExit: 3\nreplica start failed: SystemExit: 3"
    )
    assert failure_line(log).startswith("FileNotFoundError: [Errno 2]")
    assert failure_line("nothing here") == "see its log"


def test_example_model_matches_its_training_data() -> None:
    """The committed model is the least-squares fit train.py makes (an independent refit)."""
    with np.load(EXAMPLE / "model.npz") as saved:
        coef, intercept = saved["coef"], float(saved["intercept"])
    assert np.allclose(coef, [3.0, -2.0, 0.5], atol=0.05) and abs(intercept - 1.0) < 0.05


def test_the_key_is_checked_with_a_constant_time_comparison(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Router.authorized decides through hmac.compare_digest, never `==` on the secret."""
    from types import SimpleNamespace

    from planner.serve import router

    calls: list[tuple[bytes, bytes]] = []
    real = router.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(router.hmac, "compare_digest", spy)
    fake = SimpleNamespace(auth=b"Bearer k1")
    assert router.Router.authorized(fake, [(b"authorization", b"Bearer k1")])  # type: ignore[arg-type]
    assert not router.Router.authorized(fake, [(b"authorization", b"Bearer k2")])  # type: ignore[arg-type]
    assert not router.Router.authorized(fake, [])  # type: ignore[arg-type]
    assert calls == [(b"Bearer k1", b"Bearer k1"), (b"Bearer k2", b"Bearer k1")]
    assert router.Router.authorized(SimpleNamespace(auth=None), [])  # type: ignore[arg-type]
