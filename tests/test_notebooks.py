"""The notebooks run top to bottom in a fresh kernel and show what their text says they show.

Each `notebooks/*.ipynb` is executed with nbclient in a kernel that runs this very interpreter
(a `python3` kernelspec written to a temporary JUPYTER_PATH, which Jupyter searches first),
with matplotlib on Agg and IPython's profile and Jupyter's runtime files in a temporary
directory. The working directory is `notebooks/`, as in Jupyter, so the notebooks read
`../scenarios/`; anything they write goes to a temporary directory, which a test checks.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from planner.formulas import erlang_c

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
WALKTHROUGH = NOTEBOOKS_DIR / "capacity_planning.ipynb"
EXECUTABLE_PROBE = "import sys\nprint('kernel executable:', sys.executable)"

Executed = tuple[nbformat.NotebookNode, list[str]]  # the run notebook, notebooks/ after the run


def _listing() -> list[str]:
    return sorted(p.name for p in NOTEBOOKS_DIR.iterdir())


@pytest.fixture(scope="module")
def run_notebook(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[Path], Executed]]:
    """Execute a notebook once per module (cached) in a kernel running sys.executable."""
    home = tmp_path_factory.mktemp("jupyter")
    spec_dir = home / "data" / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (planner tests)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    done: dict[Path, Executed] = {}

    def run(path: Path) -> Executed:
        if path not in done:
            nb = nbformat.read(path, as_version=4)
            nb.cells.append(nbformat.v4.new_code_cell(EXECUTABLE_PROBE))
            client = NotebookClient(
                nb,
                timeout=300,
                kernel_name="python3",
                resources={"metadata": {"path": str(NOTEBOOKS_DIR)}},
            )
            client.execute()  # raises CellExecutionError, with the cell and traceback
            done[path] = (nb, _listing())
        return done[path]

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(home / "data"))
        mp.setenv("JUPYTER_RUNTIME_DIR", str(home / "runtime"))
        mp.setenv("IPYTHONDIR", str(home / "ipython"))
        mp.setenv("MPLBACKEND", "Agg")
        yield run


def _text(cell: nbformat.NotebookNode) -> str:
    """What a code cell printed (stdout) and displayed as plain text, joined."""
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream" and out.name == "stdout":
            parts.append(out.text)
        elif "data" in out:
            parts.append(str(out.data.get("text/plain", "")))
    return "".join(parts)


def _tagged(nb: nbformat.NotebookNode, tag: str) -> str:
    """The output text of the one code cell carrying `tag` in its metadata."""
    cells = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"expected one cell tagged {tag!r}, found {len(cells)}"
    return _text(cells[0])


def test_notebooks_exist() -> None:
    """The walkthrough is there (so the parametrised runs below are not an empty set)."""
    assert WALKTHROUGH in NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    """Notebooks are committed cleared (small diffs, small repo) and name the python3 kernel."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_cleanly(path: Path, run_notebook: Callable[[Path], Executed]) -> None:
    """Every cell runs without error or stderr (no warnings) in this interpreter's kernel."""
    before = _listing()
    nb, after = run_notebook(path)
    noisy = [
        (i, out.text)
        for i, cell in enumerate(nb.cells)
        for out in cell.get("outputs", [])
        if out.output_type == "stream" and out.name == "stderr"
    ]
    assert noisy == []
    assert _text(nb.cells[-1]).strip() == f"kernel executable: {sys.executable}"
    assert after == before  # side files (sweep caches) went to a temporary directory


@pytest.mark.slow
def test_walkthrough_formula_gives_286(run_notebook: Callable[[Path], Executed]) -> None:
    """Azure ML's documented example: 20 rps × 10 s / 0.7 / 1 = 285.7 → 286 replicas."""
    nb, _ = run_notebook(WALKTHROUGH)
    assert _tagged(nb, "formula").strip() == "Azure ML formula: 286 replicas"
    queueing = _tagged(nb, "queueing")
    match = re.match(r"At 286 replicas: P\(a request waits\) = ([0-9.e+-]+), ", queueing)
    assert match, queueing
    # So few requests wait that the 0.5 s limit hardly matters: Erlang C(286, 200) = 6.57e-9.
    assert float(match.group(1)) == pytest.approx(erlang_c(286, 20 * 10), rel=0.02)


@pytest.mark.slow
def test_walkthrough_spike_shows_503s(run_notebook: Callable[[Path], Executed]) -> None:
    """The spike example has a nonzero 503 rate, fails its SLO, and the 503s are cold starts."""
    nb, _ = run_notebook(WALKTHROUGH)
    text = _tagged(nb, "spike-summary")
    match = re.search(r"^503 rate: ([0-9.]+) % over 5 seeds$", text, re.MULTILINE)
    assert match, text
    assert 0.1 < float(match.group(1)) < 20.0  # percent; the SLO allows 0.1 %
    assert "SLO: NOT met" in text
    assert "while replicas were starting" in _tagged(nb, "spike-why")


@pytest.mark.slow
def test_walkthrough_exports_the_chosen_settings(
    run_notebook: Callable[[Path], Executed],
) -> None:
    """The search's choice is minimal, and the exported YAML carries exactly those settings."""
    nb, _ = run_notebook(WALKTHROUGH)
    search = _tagged(nb, "search")
    match = re.search(
        r"chosen: min_replicas=(\d+), max_replicas=(\d+), target_utilization=([0-9.]+)", search
    )
    assert match, search
    low, high, target = int(match.group(1)), int(match.group(2)), float(match.group(3))
    assert 1 <= low <= high
    assert f"min_replicas {low} is minimal: {low - 1} " in search
    assert "> slo." in _tagged(nb, "failing")  # the failing candidate says which bound broke
    percent = round(target * 100)
    v2 = _tagged(nb, "export-v2")
    for line in (
        f"min_instances: {low}",
        f"max_instances: {high}",
        f"target_utilization_percentage: {percent}",
        "max_queue_wait_ms: 500",
    ):
        assert f"\n  {line}\n" in v2, line
    hpa = _tagged(nb, "export-hpa")
    assert "kind: HorizontalPodAutoscaler" in hpa
    assert f"minReplicas: {low}\n" in hpa
    assert f"maxReplicas: {high}\n" in hpa
    assert f"averageUtilization: {percent}\n" in hpa
