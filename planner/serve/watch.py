"""`planner serve --reload`: watch score.py and the model paths, roll the replicas on a change.

A thread polls modification times (no extra dependency) and, once a change has settled for one
poll, asks the router for a rolling restart: `POST /-/reload` when only the script changed,
`POST /-/update` with the models when a model file changed (they are laid out again).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from pathlib import Path

import httpx


def snapshot(paths: Iterable[Path]) -> dict[Path, tuple[int, int]]:
    """(mtime_ns, size) of every file under the given files and folders."""
    state: dict[Path, tuple[int, int]] = {}
    for path in paths:
        files = [path] if not path.is_dir() else [p for p in path.rglob("*") if p.is_file()]
        for file in files:
            try:
                info = file.stat()
            except FileNotFoundError:
                continue
            state[file] = (info.st_mtime_ns, info.st_size)
    return state


class Watcher(threading.Thread):
    """Polls score.py and the models every `poll_s`; rolls the replicas when they change."""

    def __init__(
        self,
        url: str,
        score: Path,
        models: Mapping[str, Path],
        *,
        key: str | None = None,
        poll_s: float = 0.5,
    ) -> None:
        super().__init__(daemon=True, name="planner-reload")
        self.url = url
        self.score = score
        self.models = dict(models)
        self.poll_s = poll_s
        self.stopped = threading.Event()
        self._headers = {"Authorization": f"Bearer {key}"} if key is not None else {}

    def run(self) -> None:
        """Poll until `stopped` is set."""
        score_state = snapshot([self.score])
        model_state = snapshot(self.models.values())
        while not self.stopped.wait(self.poll_s):
            new_score, new_models = snapshot([self.score]), snapshot(self.models.values())
            if new_score == score_state and new_models == model_state:
                continue
            self.stopped.wait(self.poll_s)  # let an editor finish writing
            new_score, new_models = snapshot([self.score]), snapshot(self.models.values())
            models_changed = new_models != model_state
            score_state, model_state = new_score, new_models
            self.roll(models_changed)

    def roll(self, models_changed: bool) -> None:
        """Ask the router for the rolling restart and print its outcome in one line."""
        what = "models" if models_changed else self.score.name
        print(f"planner serve: {what} changed; rolling the replicas ...", flush=True)
        if models_changed:
            path, spec = "/-/update", {"models": {k: str(v) for k, v in self.models.items()}}
        else:
            path, spec = "/-/reload", {}
        try:
            response = httpx.post(
                f"{self.url}{path}", json=spec, headers=self._headers, timeout=3600.0
            )
            result = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            print(f"planner serve: reload failed: {exc}", flush=True)
            return
        if result.get("ok"):
            print(f"planner serve: {result['replaced']} replica(s) reloaded.", flush=True)
        else:
            print(
                "planner serve: a new replica failed to start; the old ones keep serving. "
                f"Its log:\n{result.get('error', '')}",
                flush=True,
            )
