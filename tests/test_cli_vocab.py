"""One CLI vocabulary: help on every option, hidden old names, --version, the exit codes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import typer
import typer.main
from typer.testing import CliRunner

from planner._version import __version__
from planner.cli import app
from planner.cli._app import handles_errors
from planner.errors import DeploymentError, InfeasibleError, ScenarioError

runner = CliRunner()


def _params_without_help(command: Any, path: str) -> list[str]:
    """Every option or argument, in the whole command tree, that has no help text."""
    missing = [
        f"{path} {param.name}" for param in command.params if not getattr(param, "help", None)
    ]
    # typer ships its own click: a group is whatever has sub-commands, not a click.Group.
    for name, sub in getattr(command, "commands", {}).items():
        missing += _params_without_help(sub, f"{path} {name}")
    return missing


def test_every_option_and_argument_has_help() -> None:
    """Walk the click tree of `planner`: no option or argument without help text."""
    assert _params_without_help(typer.main.get_command(app), "planner") == []


def test_the_walk_finds_an_option_stripped_of_its_help() -> None:
    """The walk fails on a command with one bare option (so the test above can fail)."""
    bare = typer.Typer()

    @bare.command()
    def cmd(
        good: int = typer.Option(1, "--good", help="has help"),
        bad: int = typer.Option(1, "--bad"),
    ) -> None:
        """A command."""

    @bare.command()
    def other() -> None:
        """A second command, so the app is a group."""

    assert _params_without_help(typer.main.get_command(bare), "x") == ["x cmd bad"]


def test_version_prints_the_package_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"planner {__version__}"
    assert re.fullmatch(r"planner \S+", result.stdout.strip())


# (command, old name, new name)
OLD_NAMES = [
    ("recommend", "--request-time", "--request-time-s"),
    ("recommend", "--target-util", "--target-utilization"),
    ("recommend", "--max-wait", "--max-request-wait-s"),
    ("recommend", "--slo-503", "--max-rate-503"),
    ("recommend", "--latency-p99", "--latency-p99-s"),
    ("recommend", "--spike-duration", "--spike-duration-s"),
    ("recommend", "--cold-start", "--cold-start-s"),
    ("export", "--target-util", "--target-utilization"),
    ("serve", "--config", "--scenario"),
]


@pytest.mark.parametrize(("command", "old", "new"), OLD_NAMES)
def test_help_lists_the_new_name_not_the_old(command: str, old: str, new: str) -> None:
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    names = set(re.findall(r"--[a-z0-9-]+", result.stdout))
    assert new in names
    assert old not in names


def _recommend_json(*args: str) -> dict[str, object]:
    result = runner.invoke(app, ["recommend", "--rps", "20", *args, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    return data


@pytest.mark.parametrize(
    ("old", "new", "value", "field"),
    [
        ("--request-time", "--request-time-s", "4", "request_time_s"),
        ("--target-util", "--target-utilization", "0.6", "target_utilization"),
        ("--max-wait", "--max-request-wait-s", "0.2", "max_wait_s"),
        ("--slo-503", "--max-rate-503", "0.01", "max_rate_503"),
    ],
)
def test_old_names_still_work_as_the_new(old: str, new: str, value: str, field: str) -> None:
    """An old name, and `--old=VALUE`, give the same answer as the new name."""
    by_new = _recommend_json(new, value)
    assert by_new == _recommend_json(old, value) == _recommend_json(f"{old}={value}")
    assert by_new != _recommend_json()  # the value was taken: not the default
    assert float(by_new[field]) == float(value)  # type: ignore[arg-type]


def test_recommend_defaults_are_the_schemas() -> None:
    """No option: the scenario schema's target utilization, wait limit and 503 objective."""
    from planner.cli import recommend as rec
    from planner.scenario_types import Deployment, Service, Slo, default

    assert default(Service, "cold_start_s").value_s == rec._COLD_START_S
    data = _recommend_json()
    assert data["target_utilization"] == default(Deployment, "target_utilization")
    assert data["max_wait_s"] == default(Deployment, "max_request_wait_s")
    assert data["max_rate_503"] == default(Slo, "max_rate_503")


@pytest.mark.parametrize("command", ["simulate", "sweep", "export", "loadtest"])
def test_the_scenario_argument_has_one_name(command: str) -> None:
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert "SCENARIO" in result.stdout and "scenario YAML file" in result.stdout


@pytest.mark.parametrize("command", ["backtest", "serve", "recommend"])
def test_the_scenario_option_has_one_metavar(command: str) -> None:
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert re.search(r"--scenario\s+SCENARIO", result.stdout)


# The exit codes: 0 ok, 1 SLO missed / prediction disagrees, 2 input, 3 runtime.


def test_exit_0_on_a_good_recommendation() -> None:
    result = runner.invoke(app, ["recommend", "--rps", "20"])
    assert result.exit_code == 0


def test_exit_2_on_a_bad_option_and_an_invalid_scenario(tmp_path: Path) -> None:
    assert (
        runner.invoke(app, ["recommend", "--rps", "20", "--target-utilization", "2"]).exit_code == 2
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ntraffic: {kind: constant, rps: -1}\n", encoding="utf-8")
    result = runner.invoke(app, ["simulate", str(bad)])
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr


def test_exit_2_on_an_impossible_latency_target() -> None:
    """A p99 target under the request time's own p99 can never be met: it is bad input (2)."""
    result = runner.invoke(app, ["recommend", "--rps", "20", "--latency-p99-s", "10"])
    assert result.exit_code == 2
    assert "--latency-p99-s" in result.stderr


@pytest.mark.parametrize(
    ("error", "code"), [(ScenarioError, 2), (InfeasibleError, 1), (DeploymentError, 3)]
)
def test_the_cli_edge_maps_each_error_to_its_code(error: type[Exception], code: int) -> None:
    """handles_errors turns each family member into one stderr line and its exit code."""
    edge = typer.Typer()

    @edge.command()
    @handles_errors
    def boom() -> None:
        """Raise the error."""
        raise error("field x: bad value 3")

    result = runner.invoke(edge, [])
    assert result.exit_code == code
    assert result.stderr.strip() == "Error: field x: bad value 3"


@pytest.mark.parametrize(("seeds", "runs"), [(None, 80 * 5), ("2", 80 * 2)])
def test_recommend_refuses_a_search_past_the_work_budget(seeds: str | None, runs: int) -> None:
    """300 rps for 20 000 s is 6e6 requests a run; × 80 candidates × seeds: refused (exit 2)."""
    from planner.recommend.search import DEFAULT_MAX_SIMULATIONS

    assert runs % DEFAULT_MAX_SIMULATIONS == 0
    args = ["recommend", "--rps", "100", "--peak-rps", "300", "--spike-duration-s", "20000"]
    args += ["--request-time-s", "0.1", *(["--seeds", seeds] if seeds else [])]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert f"× {runs} runs" in result.stderr and "--allow-large" in result.stderr
    assert "--allow-large" in runner.invoke(app, ["recommend", "--help"]).stdout
