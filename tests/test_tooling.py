"""The house rules that tools check: ruff lint and format, mypy strict on planner/ (STYLE 15)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def test_ruff_lint_is_clean() -> None:
    """`ruff check` finds nothing in the package, tests, load tests and benchmarks."""
    out = _run("ruff", "check", "planner", "tests", "loadtests", "benchmarks")
    assert out.returncode == 0, out.stdout + out.stderr


def test_ruff_format_is_applied() -> None:
    """`ruff format --check` would change nothing."""
    out = _run("ruff", "format", "--check", "planner", "tests", "loadtests", "benchmarks")
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy_strict_on_the_package() -> None:
    """mypy --strict (configured in pyproject.toml) reports no error in planner/."""
    out = _run("mypy", "planner")
    assert out.returncode == 0, out.stdout + out.stderr
