"""Replica log files of the last `planner serve`: paths, tails, and `planner logs` output.

Each replica process writes stdout and stderr to `<log_dir>/replica-<n>.log` (appended across
restarts, each start headed by a `--- planner: replica n start #k ...` line); the router writes
`router.log`. `planner serve` clears old replica logs in its log dir when it starts, so the dir
always holds the last run. Default dir: `./.planner/serve-logs`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from planner.errors import ScenarioError

_REPLICA_LOG = re.compile(r"replica-(\d+)\.log$")


_ERROR_LINE = re.compile(r"^([A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b.*)$")


def failure_line(log_text: str) -> str:
    """The last `SomeError: message` line of a log: the exception of the script's traceback.

    The inference server re-raises the script's exception as its own `UserScriptException`
    and exits with SystemExit: those wrappers are skipped for the script's own exception.
    """
    for line in reversed(log_text.splitlines()):
        match = _ERROR_LINE.match(line.strip())
        if match and not line.startswith(("SystemExit", "azureml_inference_server_http.")):
            return match.group(1)[:300]
    return "see its log"


def replica_log_path(log_dir: Path, replica_id: int) -> Path:
    """Where replica `replica_id` writes its output."""
    return Path(log_dir) / f"replica-{replica_id}.log"


def clear_logs(log_dir: Path) -> None:
    """Create the log dir and remove the replica logs of an earlier run."""
    log_dir.mkdir(parents=True, exist_ok=True)
    for path in [*log_dir.glob("replica-*.log"), log_dir / "router.log"]:
        path.unlink(missing_ok=True)


def log_tail(path: Path, *, lines: int = 20) -> str:
    """The last `lines` lines of a log file ('' if it does not exist)."""
    try:
        text = Path(path).read_text(errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


def replica_logs(log_dir: Path, replica: int | None = None) -> list[tuple[int, Path]]:
    """(replica id, path) of the logs in `log_dir`, by id; ScenarioError if there are none."""
    log_dir = Path(log_dir)
    if not log_dir.is_dir():
        raise ScenarioError(f"no serve logs in {log_dir} (--log-dir): run `planner serve` first")
    found = sorted(
        (int(m.group(1)), p) for p in log_dir.iterdir() if (m := _REPLICA_LOG.search(p.name))
    )
    if replica is not None:
        found = [(i, p) for i, p in found if i == replica]
        if not found:
            raise ScenarioError(f"--replica {replica}: no log replica-{replica}.log in {log_dir}")
    return found


def read_logs(log_dir: Path, replica: int | None = None) -> Iterator[str]:
    """Every line of the chosen logs, prefixed with `[replica-n]` when several are shown."""
    logs = replica_logs(log_dir, replica)
    for rid, path in logs:
        for line in path.read_text(errors="replace").splitlines():
            yield line if replica is not None else f"[replica-{rid}] {line}"


def follow_logs(
    log_dir: Path,
    replica: int | None = None,
    *,
    poll_s: float = 0.25,
    stop: Callable[[], bool] = lambda: False,
) -> Iterator[str]:
    """Existing lines, then new ones as they are written (new replica logs are picked up)."""
    offsets: dict[Path, int] = {}
    partial: dict[Path, str] = {}
    while True:
        try:
            logs = replica_logs(log_dir, replica)
        except ScenarioError:
            if offsets:
                logs = []
            else:
                raise
        for rid, path in logs:
            with path.open("rb") as f:
                f.seek(offsets.get(path, 0))
                data = f.read()
                offsets[path] = f.tell()
            text = partial.pop(path, "") + data.decode(errors="replace")
            *complete, rest = text.split("\n")
            if rest:
                partial[path] = rest
            for line in complete:
                yield line if replica is not None else f"[replica-{rid}] {line}"
        if stop():
            return
        time.sleep(poll_s)
