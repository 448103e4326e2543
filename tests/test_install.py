"""A fresh install can run the tests: every import is a declared dependency (deptry).

deptry reads `[tool.deptry]` in pyproject.toml. Two checks, as a user's install sees them:
- the package (planner/ and loadtests/) imports only `dependencies` and the non-test extras;
  a module of the `test` extra imported there is an error too (DEP004), since `pip install .`
  does not bring it;
- tests/ imports only what `pip install -e ".[test]"` brings (any declared dependency).
Each check is also run on a small copy of the project with a deliberate mistake, to watch it
fail.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# tests/ is scanned with no exclusion ("a^" matches nothing); unused dependencies (DEP002) are
# the package check's business, and the test extra is what tests/ may use (DEP004).
TESTS_CHECK = ("tests", "--exclude", "a^", "--ignore", "DEP002,DEP004")


def _deptry(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deptry", *args, "--no-ansi"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _project_copy(tmp_path: Path) -> Path:
    """pyproject.toml, planner/ and loadtests/ of this project, without caches."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("planner", "loadtests"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=ignore)
    (tmp_path / "tests").mkdir()
    return tmp_path


def test_package_imports_only_declared_dependencies() -> None:
    """`deptry .` finds no undeclared, transitive, misplaced or unused dependency."""
    out = _deptry(ROOT, ".")
    assert out.returncode == 0, out.stdout + out.stderr


def test_tests_import_only_what_the_test_extra_installs() -> None:
    """tests/ imports nothing that `pip install -e ".[test]"` would not install."""
    out = _deptry(ROOT, *TESTS_CHECK)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize(
    ("module", "code"),
    [("yaml_nonexistent_pkg", "DEP001"), ("hypothesis", "DEP004")],
    ids=["undeclared", "test-extra-only"],
)
def test_package_check_fails_on_a_stray_import(tmp_path: Path, module: str, code: str) -> None:
    """An import no dependency declares, or one only the test extra brings, fails the check."""
    project = _project_copy(tmp_path)
    with (project / "planner" / "formulas.py").open("a") as f:
        f.write(f"\nimport {module}  # noqa: E402\n")
    out = _deptry(project, ".")
    assert out.returncode == 1, out.stdout + out.stderr
    assert code in out.stdout + out.stderr
    assert module in out.stdout + out.stderr


def test_tests_check_fails_on_an_undeclared_import(tmp_path: Path) -> None:
    """A test importing a module nothing declares fails the tests/ check."""
    project = _project_copy(tmp_path)
    (project / "tests" / "test_x.py").write_text("import yaml_nonexistent_pkg\n")
    out = _deptry(project, *TESTS_CHECK)
    assert out.returncode == 1, out.stdout + out.stderr
    report = out.stdout + out.stderr
    assert "DEP001" in report and "yaml_nonexistent_pkg" in report
