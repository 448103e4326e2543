"""The package's layering (.importlinter) holds, and the checker really sees violations."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from the repository root, where .importlinter lives and `planner` is importable."""
    monkeypatch.chdir(REPO)
    monkeypatch.syspath_prepend(str(REPO))


def test_layers_and_the_locust_ban_hold(in_repo: None) -> None:
    """Every contract in .importlinter is kept: imports flow one way, and no Locust in planner."""
    assert lint_imports(config_filename=".importlinter", no_cache=True) == 0


def test_a_reversed_layer_is_reported_broken(in_repo: None, tmp_path: Path) -> None:
    """With errors placed above scenario, scenario's real `from planner.errors import` breaks it."""
    config = tmp_path / "reversed.ini"
    config.write_text(
        "[importlinter]\nroot_packages =\n    planner\n\n"
        "[importlinter:contract:reversed]\nname = reversed\ntype = layers\n"
        "layers =\n    planner.errors\n    planner.scenario\n",
        encoding="utf-8",
    )
    assert os.path.isfile(config)
    assert lint_imports(config_filename=str(config), no_cache=True) == 1


def test_every_module_and_package_has_a_layer() -> None:
    """A new planner module or package must be placed in .importlinter, or it goes unchecked."""
    text = (REPO / ".importlinter").read_text(encoding="utf-8")
    named = set(re.findall(r"\(?(planner\.[a-z_]+)\)?", text))
    pkg = REPO / "planner"
    found = {f"planner.{p.stem}" for p in pkg.glob("*.py") if p.stem != "__init__"}
    found |= {f"planner.{p.parent.name}" for p in pkg.glob("*/__init__.py")}
    assert sorted(found - named) == []
