"""`planner serve` as a user runs it: --model, --key-file, --reload, and a failing init()."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import psutil
import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples"
KEY = "cli-key-5521"

pytestmark = pytest.mark.slow


class Serve:
    """`planner serve ...` in a subprocess, its stdout lines read by a thread."""

    def __init__(self, *args: str, cwd: Path) -> None:
        env = {k: v for k, v in os.environ.items() if k != "PLANNER_KEY"}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from planner.cli import main; main()", "serve", *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=cwd, env=env, text=True,
        )  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout_s: float = 60.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout_s
        seen = []
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            seen.append(line)
            if match := re.search(pattern, line):
                return match
        raise AssertionError(f"no line matching {pattern!r} in:\n" + "\n".join(seen))

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(10)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        return int(self.proc.returncode)


def test_reload_rolls_the_replicas_when_score_py_or_the_model_changes(tmp_path: Path) -> None:
    """--reload: an edited score.py, then a new model file, each give new answers."""
    for name in ("score.py", "model.npz"):
        shutil.copy(EXAMPLE / name, tmp_path / name)
    (tmp_path / "key").write_text(KEY + "\n")
    serve = Serve(
        "score.py", "--model", "model.npz", "--port", "0", "--key-file", "key", "--reload",
        "--log-dir", "logs", cwd=tmp_path,
    )  # fmt: skip
    try:
        url = serve.wait_for(r"(http://127\.0\.0\.1:\d+)/score").group(1)
        cmdline = " ".join(psutil.Process(serve.proc.pid).cmdline())
        assert KEY not in cmdline  # the key file keeps it off the process list
        client = httpx.Client(headers={"Authorization": f"Bearer {KEY}"}, timeout=30)
        deadline = time.monotonic() + 60
        while client.get(f"{url}/stats").json()["replicas"]["ready"] < 1:
            assert time.monotonic() < deadline, "no replica ready"
            time.sleep(0.1)
        body = {"data": [[1.0, 2.0, 3.0]]}
        with np.load(EXAMPLE / "model.npz") as saved:
            v1 = float(np.array([1.0, 2.0, 3.0]) @ saved["coef"] + saved["intercept"])
        assert client.post(f"{url}/score", json=body).json() == pytest.approx([v1])

        script = (tmp_path / "score.py").read_text()
        (tmp_path / "score.py").write_text(script.replace("result.tolist()", "(-result).tolist()"))
        serve.wait_for(r"replica\(s\) reloaded")
        assert client.post(f"{url}/score", json=body).json() == pytest.approx([-v1])

        np.savez(tmp_path / "model.npz", coef=np.array([1.0, 0.0, 0.0]), intercept=np.array(10.0))
        serve.wait_for(r"replica\(s\) reloaded")
        assert client.post(f"{url}/score", json=body).json() == pytest.approx([-11.0])
        assert httpx.get(f"{url}/stats").status_code == 401
        client.close()
    finally:
        assert serve.stop() == 0
    logs = b"".join(p.read_bytes() for p in (tmp_path / "logs").rglob("*") if p.is_file())
    assert KEY.encode() not in logs


def test_a_missing_model_is_one_line_on_the_console_and_a_traceback_in_the_log(
    tmp_path: Path,
) -> None:
    """No --model: init() fails; the console says so in one line, `planner logs` has the rest."""
    shutil.copy(EXAMPLE / "score.py", tmp_path / "score.py")
    serve = Serve("score.py", "--port", "0", "--log-dir", "logs", cwd=tmp_path)
    try:
        line = serve.wait_for(r"replica 0 failed to start").string
        assert "FileNotFoundError" in line and "model.npz" in line
        assert "CrashLoopBackOff" in line and "planner logs --replica 0" in line
    finally:
        serve.stop()
    log = (tmp_path / "logs" / "replica-0.log").read_text()
    assert "Traceback" in log and "User's init function failed" in log
