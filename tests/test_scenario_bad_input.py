"""Bad scenario input never crashes, hangs or passes silently: one ScenarioError line instead.

Hand-picked bombs (alias bombs, recursion, deep nesting, duplicate keys, non-regular files),
the numeric limits, the distributions the simulation cannot estimate, and a Hypothesis corpus
of random mutations of valid scenarios.
"""

# ruff: noqa: E501  (tables of exact error messages read best one case per line)

from __future__ import annotations

import copy
import math
import os
import re
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from planner.cli import app
from planner.errors import ScenarioError
from planner.scenario import Scenario, load_scenario, scenario_from_dict, with_overrides

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "scenarios").glob("*.yaml"))

VALID = """\
name: t
duration_s: 60
warmup_s: 10
traffic: {rps: 5}
service: {request_time_s: 0.1}
deployment: {autoscaler: none, replicas: 2}
"""


def laughs(levels: int) -> str:
    """A "billion laughs" document: each level repeats the previous one nine times."""
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        refs = ", ".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\n"


TEXT_CASES = [
    ("alias bomb", laughs(9), r"aliases expand to more than 1,000,000 nodes"),
    ("recursive alias", "name: &x [*x]\n", r"line 1: recursive alias"),
    ("deep nesting", "name: " + "[" * 3000 + "]" * 3000 + "\n", r"nested deeper than 64"),
    ("deep mappings", "a:\n" + "".join(" " * i + "b:\n" for i in range(1, 80)), r"nested deeper"),
    ("duplicate key", VALID + "warmup_s: 20\n", r"line 7: duplicate key 'warmup_s' \(first given on line 3\)"),
    ("duplicate in flow", VALID.replace("{rps: 5}", "{rps: 5, rps: 50}"), r"line 4: duplicate key 'rps'"),
    ("octal-looking count", VALID.replace("replicas: 2", "replicas: 0o"), r"deployment\.replicas must be an integer: '0o'"),
    ("sexagesimal time", VALID.replace("duration_s: 60", "duration_s: 1:00"), r"duration_s must be a number: '1:00'"),
    ("huge integer", VALID.replace("rps: 5", "rps: " + "9" * 5000), r"line 4: integer too long: 5000 digits"),
    ("int beyond float", VALID.replace("rps: 5", "rps: " + "9" * 400), r"traffic\.rps is too large for a number"),
    ("yes is not true", VALID + "slo: {max_rate_503: yes}\n", r"slo\.max_rate_503 must be a number: 'yes'"),
    ("scalar document", "42\n", r"top level must be a mapping of fields .*not int"),
    ("binary", "\x00\x01\x02 name: x\n", r"not valid YAML"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "pattern"), [c[1:] for c in TEXT_CASES], ids=[c[0] for c in TEXT_CASES]
)
def test_bombs_and_yaml_traps_are_one_line_errors(tmp_path: Path, text: str, pattern: str) -> None:
    """Each trap is refused with one line naming the file and the problem."""
    file = tmp_path / "s.yaml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_scenario(file)
    message = str(err.value)
    assert message.startswith(f"{file}: ") and "\n" not in message
    assert re.search(pattern, message), message


def test_yaml_12_numbers() -> None:
    """010 is ten and 1e3 is a thousand (YAML 1.2), where YAML 1.1 gives 8 and a string."""
    from planner.scenario_yaml import read_yaml

    assert yaml.safe_load("a: 010\nb: 1e3\n") == {"a": 8, "b": "1e3"}  # what YAML 1.1 does
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"planner-yaml12-{os.getpid()}.yaml"
    try:
        path.write_text("a: 010\nb: 1e3\nc: 0x10\nd: .inf\ne: on\nf: 2024-01-01\n")
        assert read_yaml(path) == {
            "a": 10,
            "b": 1000.0,
            "c": 16,
            "d": math.inf,
            "e": "on",
            "f": "2024-01-01",
        }
    finally:
        path.unlink()


def test_a_valid_file_still_loads(tmp_path: Path) -> None:
    """The base of the text cases loads: the traps above are what fails."""
    file = tmp_path / "ok.yaml"
    file.write_text(VALID, encoding="utf-8")
    assert load_scenario(file).traffic.rps == 5.0


def test_non_regular_files_are_refused_without_opening(tmp_path: Path) -> None:
    """A FIFO (which would block on open), a directory and /dev/zero: one line each, at once."""
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    cases = {fifo: "not a regular file", tmp_path: "Is a directory"}
    if Path("/dev/zero").exists():
        cases[Path("/dev/zero")] = "not a regular file"
    for path, what in cases.items():
        with pytest.raises(ScenarioError) as err:
            load_scenario(path)
        assert str(err.value) == f"cannot read scenario file {path}: {what}"


def test_a_fifo_as_trace_file_is_refused(tmp_path: Path) -> None:
    """A trace path that is a FIFO is not opened."""
    os.mkfifo(tmp_path / "t.csv")
    data = yaml.safe_load(VALID)
    data["traffic"] = {"trace": "t.csv"}
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(data, base_dir=tmp_path)
    assert str(err.value) == f"traffic.trace: not a regular file: {tmp_path.resolve() / 't.csv'}"


BOUNDS = [
    ("traffic.rps", 1e300, "traffic.rps must be <= 1000000: 1e+300"),
    ("traffic.rps", 1e7, "traffic.rps must be <= 1000000: 10000000"),
    ("deployment.replicas", 10**12, "deployment.replicas must be <= 100000: 1000000000000"),
    ("deployment.max_replicas", 10**12, "deployment.max_replicas must be <= 100000: 1000000000000"),
    ("deployment.target_utilization", 1e-9, "deployment.target_utilization must be >= 0.01: 1e-09"),
    ("deployment.refresh_s", 1e-9, "deployment.refresh_s must be >= 0.01: 1e-09"),
    ("duration_s", 1e12, "duration_s must be <= 2678400: 1000000000000"),
    ("seeds", 10**6, "seeds must be <= 10000: 1000000"),
    ("service.max_concurrent", 10**9, "service.max_concurrent must be <= 10000: 1000000000"),
    ("service.request_time_s", 1e9, "service.request_time_s must be <= 2678400: 1000000000"),
    ("warmup_s", math.nan, "warmup_s must be finite: nan"),
    ("service.request_time_s", math.inf, "service.request_time_s must be finite: inf"),
    ("service.request_time_s", {"dist": "lognormal", "mean": 0.5, "sigma": 50}, "service.request_time_s.sigma must be < 5: 50"),
    ("service.request_time_s", {"dist": "lognormal", "mean": 0.5, "sigma": 5}, "service.request_time_s.sigma must be < 5: 5"),
    ("service.cold_start_s", {"dist": "gamma", "mean": 30, "shape": 0.001}, "service.cold_start_s.shape must be >= 0.01: 0.001"),
    ("service.request_time_s", {"dist": "gamma", "mean": 1, "scv": 1000}, "service.request_time_s.scv must be <= 100: 1000"),
    ("service.request_time_s", {"dist": "empirical", "samples": [0.5]}, "service.request_time_s needs at least 2 samples (use a constant for one value): 1"),
    ("service.request_time_s", {"dist": "empirical", "samples": [0.5, 1e300]}, "service.request_time_s.samples[1] must be <= 2678400: 1e+300"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "value", "message"), BOUNDS, ids=[b[2][:50] for b in BOUNDS])
def test_numbers_are_bounded_to_what_the_model_represents(
    path: str, value: Any, message: str
) -> None:
    """Each out-of-range number is refused with the limit; the limit itself is accepted."""
    data = yaml.safe_load(VALID)
    *parents, last = path.split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(data)
    assert str(err.value) == message


def test_the_limits_themselves_are_accepted() -> None:
    """At the limits (and sigma just below 5) the scenario loads."""
    data = yaml.safe_load(VALID)
    data["deployment"] = {"autoscaler": "none", "replicas": 100_000}
    data["traffic"] = {"rps": 1e6}
    data["service"] = {"request_time_s": {"dist": "lognormal", "mean": 0.05, "sigma": 4.99}}
    s = scenario_from_dict(data)
    assert (s.deployment.replicas, s.traffic.rps, s.service.request_time_s.sigma) == (
        100_000,
        1e6,
        4.99,
    )  # type: ignore[union-attr]


CLI_CASES = {
    "alias bomb": laughs(9),
    "duplicate key": VALID + "warmup_s: 20\n",
    "deep nesting": "name: " + "[" * 3000 + "]" * 3000 + "\n",
    "sigma 50": VALID.replace("request_time_s: 0.1", "request_time_s: {dist: lognormal, mean: 0.5, sigma: 50}"),
    "rps 1e7": VALID.replace("rps: 5", "rps: 1.0e7"),
}  # fmt: skip


@pytest.mark.parametrize("text", list(CLI_CASES.values()), ids=list(CLI_CASES))
def test_planner_simulate_exits_2_with_one_line(tmp_path: Path, text: str) -> None:
    """Through the CLI: exit code 2, one line on stderr, no traceback, nothing on stdout."""
    file = tmp_path / "bad.yaml"
    file.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["simulate", str(file), "--no-progress"])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert str(file) in result.stderr


# ------------------------------------------------------------------------------- Hypothesis

BASES = [yaml.safe_load(f.read_text(encoding="utf-8")) for f in EXAMPLES]
SPECIAL = st.sampled_from(
    [0, -1, 10**400, 2**63, 1e300, -1e300, math.nan, math.inf, -math.inf, 1e-300]
)
WEIRD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["20", "poisson", "lognormal", "none", "", "1:00", "sweep"]),
    st.lists(st.integers(min_value=-3, max_value=3), max_size=3),
    st.dictionaries(st.sampled_from(["dist", "mean", "rps", "x"]), st.integers(-2, 5), max_size=3),
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node[:5]):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    """A valid example with one to three random edits: an extreme number, a wrong value, a
    deletion, a misspelt key."""
    data = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = data
        for part in path[:-1]:
            parent = parent[part]
        key = path[-1]
        action = draw(st.sampled_from(["number", "value", "delete", "misspell"]))
        if action == "number":
            parent[key] = draw(SPECIAL)
        elif action == "value":
            parent[key] = draw(WEIRD)
        elif isinstance(parent, dict) and action == "delete":
            del parent[key]
        elif isinstance(parent, dict):
            parent[str(key)[:-1] + draw(st.sampled_from(["", "s", "_", "x"]))] = parent.pop(key)
    return data


@settings(
    max_examples=1500,
    deadline=timedelta(seconds=10),
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(mutated())
def test_random_mutations_load_or_fail_with_one_line(data: dict[str, Any]) -> None:
    """Any mutation of an example either loads or raises a one-line ScenarioError, nothing else."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            scenario = scenario_from_dict(data, base_dir=ROOT / "scenarios")
        except ScenarioError as exc:
            assert "\n" not in str(exc) and str(exc)
            return
        assert isinstance(scenario, Scenario)
        assert scenario.duration_s <= 31 * 24 * 3600 and scenario.warmup_s < scenario.duration_s


@settings(max_examples=150, deadline=timedelta(seconds=10), derandomize=True)
@given(st.sampled_from(["deployment.min_replicas", "deployment.target_utilization",
                        "service.request_time_s", "traffic.pattern.1.rps", "seeds", "slo.max_rate_503",
                        "deployment.hpa.tolerance", "service.request_time_s.sigma"]), WEIRD)  # fmt: skip
def test_random_overrides_load_or_fail_with_one_line(path: str, value: Any) -> None:
    """with_overrides (sweeps, search) with any value gives a Scenario or a ScenarioError."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = load_scenario(ROOT / "scenarios" / "spike.yaml")
        try:
            assert isinstance(with_overrides(base, {path: value}), Scenario)
        except ScenarioError as exc:
            assert "\n" not in str(exc)


@settings(max_examples=200, deadline=timedelta(seconds=10), derandomize=True)
@given(st.data())
def test_random_bytes_in_a_file_load_or_fail_with_one_line(
    tmp_path_factory: Any, data: st.DataObject
) -> None:
    """A file with random bytes overwritten either loads or gives a one-line ScenarioError."""
    source = data.draw(st.sampled_from(EXAMPLES)).read_bytes()
    raw = bytearray(source)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.sampled_from(b"\x00\xff:&*[]{}-#'\"\n 9.e|>!%@`"))
    file = tmp_path_factory.mktemp("fuzz") / "s.yaml"
    file.write_bytes(bytes(raw))
    (file.parent / "trace_counts.csv").write_bytes(
        (ROOT / "scenarios" / "trace_counts.csv").read_bytes()
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            assert isinstance(load_scenario(file), Scenario)
        except ScenarioError as exc:
            assert "\n" not in str(exc)
