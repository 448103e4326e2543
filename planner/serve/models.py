"""Model files laid out under `AZUREML_MODEL_DIR` as Azure ML lays them out in a deployment.

Azure ML copies the registered models of a deployment into `azureml-models/<name>/<version>/`
and points `AZUREML_MODEL_DIR` at it
(https://learn.microsoft.com/azure/machine-learning/how-to-deploy-advanced-entry-script):

- one model: `AZUREML_MODEL_DIR` is `azureml-models/<name>/<version>`, holding the registered
  file or folder itself, so score.py opens `$AZUREML_MODEL_DIR/model.npz` (or
  `$AZUREML_MODEL_DIR/<folder>/...`);
- several models: `AZUREML_MODEL_DIR` is `azureml-models`, and each model is under
  `<name>/<version>/<file or folder>`.

Local models get version 1. The files are copied (not linked), as on the platform: editing a
model file changes nothing until the deployment is updated or reloaded, which lays them out
again.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from planner.errors import ScenarioError

MODEL_VERSION = "1"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

Models = Mapping[str, Path]


def parse_models(specs: Sequence[str | Path] | Mapping[str, str | Path] | None) -> dict[str, Path]:
    """`PATH` or `NAME=PATH` items (or a name→path mapping) as {name: absolute path}.

    A bare PATH is named after its file stem (`model.npz` → `model`). Raises ScenarioError
    naming the item when a path does not exist, a name is not a valid model name, or two models
    share a name.
    """
    if specs is None:
        return {}
    items: list[tuple[str, Path]] = []
    if isinstance(specs, Mapping):
        items = [(str(name), Path(path)) for name, path in specs.items()]
    else:
        for spec in specs:
            text = str(spec)
            name, sep, rest = text.partition("=")
            if sep and _NAME.match(name) and not Path(text).exists():
                items.append((name, Path(rest)))
            else:
                items.append((Path(text).stem, Path(text)))
    models: dict[str, Path] = {}
    for name, given in items:
        if not _NAME.match(name):
            raise ScenarioError(f"--model {name}={given}: not a valid model name {name!r}")
        resolved = given.expanduser().resolve()
        if not resolved.exists():
            raise ScenarioError(f"--model {name}={given}: no such file or folder")
        if name in models:
            raise ScenarioError(f"--model {name}: two models with the same name")
        models[name] = resolved
    return models


def _copy(source: Path, dest_dir: Path) -> None:
    dest_dir.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, dest_dir / source.name, symlinks=False)
    else:
        shutil.copy2(source, dest_dir / source.name)


def layout_models(models: Models, root: Path) -> Path | None:
    """Copy `models` under `root/azureml-models/...`; the AZUREML_MODEL_DIR (None: no models)."""
    if not models:
        return None
    base = root / "azureml-models"
    for name, source in models.items():
        _copy(source, base / name / MODEL_VERSION)
    if len(models) == 1:
        (name,) = models
        return base / name / MODEL_VERSION
    return base
