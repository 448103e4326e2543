"""Tests for planner.scenario: loading, validation messages, overrides, round trip."""

# ruff: noqa: E501  (tables of exact error messages read best one case per line)

from __future__ import annotations

import copy
import dataclasses
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from planner.distributions import Constant, Empirical, Exponential, Gamma, Lognormal
from planner.errors import PlannerWarning, ScenarioError
from planner.scenario import (
    Scenario,
    Service,
    load_scenario,
    scenario_from_dict,
    scenario_to_dict,
    with_overrides,
)
from planner.traffic import Phase, Traffic

# DESIGN.md's example, verbatim except that `traffic` keeps one of its alternatives
# (the example lists rps, pattern and trace side by side as choices).
DESIGN_EXAMPLE = """\
name: spike-3x
duration_s: 900            # simulated seconds
warmup_s: 60               # excluded from the statistics
seeds: 5                   # replications (an int, or a list of seeds)
traffic:
  arrivals: poisson        # poisson | uniform (evenly spaced)
  pattern:                 # ... or phases, run in order (to_rps: linear ramp within the phase)
    - {duration_s: 300, rps: 20}
    - {duration_s: 60, rps: 60}
    - {duration_s: 540, rps: 20, to_rps: 10}
  # trace: traffic.csv     # ... or replay: per-request timestamps, or per-second counts
service:
  request_time_s: 0.5      # a number = constant, or a distribution:
  # request_time_s: {dist: lognormal, mean: 0.5, p99: 2.0}   # constant|exponential|...
  max_concurrent: 1        # requests one replica serves at once
  cold_start_s: 30         # request-to-ready time of a new replica (number or distribution)
deployment:
  autoscaler: azureml      # azureml | hpa | knative | none
  replicas: 4              # fixed count (autoscaler: none) and initial count otherwise
  min_replicas: 1
  max_replicas: 10
  target_utilization: 0.7
  refresh_s: 1
  scale_down_delay_s: 60
  max_request_wait_s: 0.5  # queue wait before 503; 0 = reject when no replica is free
  scoring_timeout_s: 60    # 504 after this
slo:
  max_rate_503: 0.001
  latency_p99_s: 2.0
sweep:                     # only for planner sweep: dotted field -> values
  deployment.min_replicas: [1, 2, 4, 8]
  deployment.target_utilization: [0.5, 0.6, 0.7]
"""

OVERLOAD = r"peak offered load 60 rps × 0.5 s = 30 busy exceeds max_replicas × max_concurrent"


def base() -> dict[str, Any]:
    """A valid scenario that raises no warning."""
    return {
        "name": "t",
        "duration_s": 600,
        "warmup_s": 60,
        "traffic": {"pattern": [{"duration_s": 300, "rps": 10}, {"duration_s": 300, "rps": 20}]},
        "service": {"request_time_s": 0.5},
        "deployment": {"autoscaler": "azureml", "min_replicas": 2, "max_replicas": 30},
    }


def edited(path: str, value: Any) -> dict[str, Any]:
    """base() with one dotted path set (value None deletes it)."""
    data = base()
    *parents, last = path.split(".")
    node: Any = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    if value is None:
        del node[last]
    else:
        node[last] = value
    return data


def test_design_example_loads(tmp_path: Path) -> None:
    """DESIGN.md's scenario loads with its values; its 3× spike above max capacity warns."""
    file = tmp_path / "spike.yaml"
    file.write_text(DESIGN_EXAMPLE)
    with pytest.warns(PlannerWarning, match=OVERLOAD):
        s = load_scenario(file)
    assert s.name == "spike-3x" and s.duration_s == 900.0 and s.warmup_s == 60.0
    assert s.seeds == (0, 1, 2, 3, 4)
    assert s.traffic.pattern == (
        Phase(duration_s=300, rps=20),
        Phase(duration_s=60, rps=60),
        Phase(duration_s=540, rps=20, to_rps=10),
    )
    assert s.service == Service(request_time_s=Constant(value_s=0.5), max_concurrent=1)
    d = s.deployment
    assert (d.autoscaler, d.replicas, d.min_replicas, d.max_replicas) == ("azureml", 4, 1, 10)
    assert (d.target_utilization, d.refresh_s, d.scale_down_delay_s) == (0.7, 1.0, 60.0)
    assert (d.max_request_wait_s, d.scoring_timeout_s) == (0.5, 60.0)
    assert (s.slo.max_rate_503, s.slo.latency_p99_s) == (0.001, 2.0)
    assert s.sweep == (
        ("deployment.min_replicas", (1, 2, 4, 8)),
        ("deployment.target_utilization", (0.5, 0.6, 0.7)),
    )
    assert s.base_dir == tmp_path.resolve()


def test_design_example_with_rps_and_pattern_names_the_conflict() -> None:
    """Giving both alternatives of the example (rps and pattern) is an error naming them."""
    data = yaml.safe_load(DESIGN_EXAMPLE)
    data["traffic"]["rps"] = 20
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(data)
    assert str(err.value) == "traffic needs exactly one of rps, pattern, trace: got rps, pattern"


ERRORS = [
    ("deployment", {"min_replicas": 4, "max_replicas": 2}, "deployment.max_replicas must be >= min_replicas (4): 2"),
    ("deployment.max_replicas", 1, "deployment.max_replicas must be >= min_replicas (2): 1"),
    ("traffic", {"rps": -5}, "traffic.rps must be > 0: -5"),
    ("traffic", {"rps": "20"}, "traffic.rps must be a number: '20'"),
    ("traffic", {}, "traffic needs exactly one of rps, pattern, trace: got none"),
    ("traffic.arrivals", "burst", "traffic.arrivals must be one of poisson, uniform: 'burst'"),
    ("traffic.pattern.1.rps", None, "traffic.pattern[1].rps is required"),
    ("traffic.pattern.0.duration_s", 0, "traffic.pattern[0].duration_s must be > 0: 0"),
    ("traffic.pattern", [], "traffic.pattern must be a non-empty list of phases: []"),
    (
        "service.request_time_s",
        {"dist": "weibul"},
        "service.request_time_s.dist must be one of constant, exponential, lognormal, gamma, "
        "empirical: 'weibul'",
    ),
    (
        "service.request_time_s",
        {"dist": "lognormal", "mean": 0.5, "p99": 0.4},
        "service.request_time_s.p99 must be > mean (0.5): 0.4",
    ),
    (
        "service.request_time_s",
        {"dist": "lognormal", "mean": 0.5, "p99": 9},
        "service.request_time_s.p99 must be <= mean × 14.97 (7.484): 9",
    ),
    (
        "service.request_time_s",
        {"dist": "lognormal", "mean": 0.5, "p99": 2, "sigma": 1},
        "service.request_time_s needs exactly one of p99, sigma: got p99, sigma",
    ),
    (
        "service.request_time_s",
        {"dist": "gamma", "mean": 1, "shap": 2},
        "unknown field service.request_time_s.shap (did you mean 'shape'?)",
    ),
    ("service.request_time_s", 0, "service.request_time_s must be > 0: 0"),
    ("service.request_time_s", None, "service.request_time_s is required"),
    ("service.cold_start_s", -1, "service.cold_start_s must be >= 0: -1"),
    ("service.max_concurrent", 1.5, "service.max_concurrent must be an integer: 1.5"),
    ("deployment.max_replica", 5, "unknown field deployment.max_replica (did you mean 'max_replicas'?)"),
    ("deployment.min_replicas", 2.5, "deployment.min_replicas must be an integer: 2.5"),
    ("deployment.min_replicas", True, "deployment.min_replicas must be an integer: True"),
    ("deployment.min_replicas", 0, "deployment.min_replicas must be >= 1 with autoscaler azureml: 0"),
    ("deployment.replicas", 31, "deployment.replicas must be <= max_replicas (30): 31"),
    ("deployment.replicas", 1, "deployment.replicas must be >= min_replicas (2): 1"),
    ("deployment.autoscaler", "keda", "deployment.autoscaler must be one of azureml, hpa, knative, none: 'keda'"),
    ("deployment.target_utilization", 1.2, "deployment.target_utilization must be <= 1: 1.2"),
    ("deployment.max_request_wait_s", -0.5, "deployment.max_request_wait_s must be >= 0: -0.5"),
    ("deployment.knative", {"stable_window_s": 3}, "deployment.knative.stable_window_s must be >= 6: 3"),
    ("deployment.hpa", {"tolerence": 0.2}, "unknown field deployment.hpa.tolerence (did you mean 'tolerance'?)"),
    ("deployment.hpa", {"metric": "mem"}, "deployment.hpa.metric must be one of cpu, concurrency: 'mem'"),
    ("deployment.hpa", {"legacy": 1}, "deployment.hpa.legacy must be true or false: 1"),
    (
        "deployment.hpa",
        {"scale_up_policies": [{"kind": "Pods", "value": 0, "period_s": 15}]},
        "deployment.hpa.scale_up_policies[0].value must be > 0: 0",
    ),
    ("deployment.azureml", {"scale_down_step": 0}, "deployment.azureml.scale_down_step must be >= 1: 0"),
    ("seeds", 0, "seeds must be >= 1: 0"),
    ("seeds", [1, 1], "seeds must be unique: [1, 1]"),
    ("seeds", [1, -2], "seeds[1] must be >= 0: -2"),
    ("duration_s", 0, "duration_s must be > 0: 0"),
    ("warmup_s", 600, "warmup_s must be < duration_s (600): 600"),
    ("slo", {"max_rate_503": 1}, "slo.max_rate_503 must be < 1: 1"),
    ("slo", {"latency_p99_s": 0}, "slo.latency_p99_s must be > 0: 0"),
    ("seed", 3, "unknown field seed (did you mean 'seeds'?)"),
    ("service", None, "service is required"),
    ("sweep", {"deployment.min_replicas": []}, "sweep.deployment.min_replicas must be a non-empty list of values: []"),
    (
        "sweep",
        {"deployment.min_replica": [1, 2]},
        "sweep.deployment.min_replica[0]: unknown field deployment.min_replica "
        "(did you mean 'min_replicas'?)",
    ),
    (
        "sweep",
        {"deployment.target_utilization": [0.5, 1.5]},
        "sweep.deployment.target_utilization[1]: deployment.target_utilization must be <= 1: 1.5",
    ),
    (
        "sweep",
        {"traffic.pattern.5.rps": [1]},
        "sweep.traffic.pattern.5.rps[0]: cannot set traffic.pattern.5.rps: traffic.pattern has "
        "no item 5 (2 items)",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("path", "value", "message"), ERRORS, ids=[e[2][:60] for e in ERRORS])
def test_error_messages_name_path_rule_and_value(path: str, value: Any, message: str) -> None:
    """Each invalid field gives exactly this one-line message."""
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(edited(path, value))
    assert str(err.value) == message


def test_file_errors_are_one_line_naming_the_file(tmp_path: Path) -> None:
    """Missing, unreadable, non-YAML and non-mapping files each give one line with the name."""
    cases = {
        "missing.yaml": None,
        "bad.yaml": "name: [unclosed\n",
        "list.yaml": "- 1\n- 2\n",
        "empty.yaml": "",
        "binary.yaml": b"\xff\xfe\x00bad",
    }
    expected = {
        "missing.yaml": "scenario file not found: {f}",
        "bad.yaml": "{f}: not valid YAML: line 2, column 1: expected ',' or ']', but got '<stream end>'",
        "list.yaml": "{f}: top level must be a mapping of fields (name:, traffic:, ...), not list",
        "empty.yaml": "{f}: the file is empty (expected name:, traffic:, ...)",
        "binary.yaml": "{f}: not a UTF-8 text file",
    }  # fmt: skip
    for name, content in cases.items():
        file = tmp_path / name
        if isinstance(content, bytes):
            file.write_bytes(content)
        elif content is not None:
            file.write_text(content)
        with pytest.raises(ScenarioError) as err:
            load_scenario(file)
        assert str(err.value) == expected[name].format(f=file)
        assert "\n" not in str(err.value)
    with pytest.raises(ScenarioError, match=r"^cannot read scenario file .*: Is a directory$"):
        load_scenario(tmp_path)


def test_field_errors_from_a_file_are_prefixed_with_its_name(tmp_path: Path) -> None:
    """Loading a file puts the file name in front of the field message."""
    file = tmp_path / "s.yaml"
    file.write_text(yaml.safe_dump(edited("traffic", {"rps": -5})))
    with pytest.raises(ScenarioError) as err:
        load_scenario(file)
    assert str(err.value) == f"{file}: traffic.rps must be > 0: -5"


def test_defaults_and_derived_fields(tmp_path: Path) -> None:
    """Name from the file stem, duration from the pattern, replicas from min, seeds from a count."""
    data = base()
    del data["name"], data["duration_s"]
    data["seeds"] = 3
    file = tmp_path / "my-test.yaml"
    file.write_text(yaml.safe_dump(data))
    s = load_scenario(file)
    assert (s.name, s.duration_s, s.seeds, s.deployment.replicas) == (
        "my-test",
        600.0,
        (0, 1, 2),
        2,
    )
    assert s.service.cold_start_s == Constant(value_s=30.0)
    fixed = scenario_from_dict(edited("deployment", {"autoscaler": "none", "replicas": 12}))
    assert fixed.deployment.replicas == 12  # no max_replicas check for a fixed pool
    assert scenario_from_dict(edited("seeds", [7, 3])).seeds == (7, 3)
    no_length = edited("traffic", {"rps": 5})
    del no_length["duration_s"]
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(no_length)
    assert str(err.value) == "duration_s is required (traffic.rps has no length of its own)"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (0.25, Constant(value_s=0.25)),
        ({"dist": "constant", "mean": 1}, Constant(value_s=1.0)),
        ({"dist": "exponential", "mean": 0.5}, Exponential(mean_s=0.5)),
        ({"dist": "lognormal", "mean": 0.5, "sigma": 0.3}, Lognormal(mean_s=0.5, sigma=0.3)),
        ({"dist": "lognormal", "mean": 0.5, "p99": 2}, Lognormal.from_mean_p99(0.5, 2.0)),
        ({"dist": "gamma", "mean": 1, "shape": 4}, Gamma(mean_s=1.0, shape=4.0)),
        ({"dist": "gamma", "mean": 1, "scv": 0.25}, Gamma(mean_s=1.0, shape=4.0)),
        ({"dist": "empirical", "samples": [0.1, 0.3]}, Empirical(samples_s=(0.1, 0.3))),
    ],
)
def test_distribution_specs(spec: Any, expected: Any) -> None:
    """Each distribution form builds the matching object."""
    s = scenario_from_dict(edited("service.request_time_s", spec))
    assert s.service.request_time_s == expected


def test_empirical_file_with_and_without_header(tmp_path: Path) -> None:
    """A one-column CSV of seconds, header optional, relative to the scenario's directory."""
    (tmp_path / "with.csv").write_text("latency_s\n0.2\n0.4\n\n0.9\n")
    (tmp_path / "without.csv").write_text("0.2\n0.4\n")
    for name, samples in (("with.csv", (0.2, 0.4, 0.9)), ("without.csv", (0.2, 0.4))):
        spec = {"dist": "empirical", "file": name}
        s = scenario_from_dict(edited("service.request_time_s", spec), base_dir=tmp_path)
        assert s.service.request_time_s == Empirical(samples_s=samples)
    (tmp_path / "bad.csv").write_text("0.2\nfast\n")
    with pytest.raises(ScenarioError) as err:
        spec = {"dist": "empirical", "file": "bad.csv"}
        scenario_from_dict(edited("service.request_time_s", spec), base_dir=tmp_path)
    assert str(err.value) == (
        f"service.request_time_s.file: {tmp_path.resolve() / 'bad.csv'} line 2: "
        "seconds must be a number >= 0: 'fast'"
    )


def test_trace_files_timestamps_and_counts(tmp_path: Path) -> None:
    """`t_s` files replay timestamps; `second,count` files give counts; duration from the trace."""
    (tmp_path / "times.csv").write_text("t_s,path\n0.5,/score\n0.25,/score\n2.75,/score\n")
    (tmp_path / "counts.csv").write_text("# ingress log\nsecond,count\n0,3\n2,5\n")
    data = edited("traffic", {"trace": "times.csv", "arrivals": "uniform"})
    del data["duration_s"], data["warmup_s"]
    data["deployment"] = {"autoscaler": "none", "replicas": 10}
    times = scenario_from_dict(data, base_dir=tmp_path)
    assert times.traffic.trace_times_s is not None
    assert np.array_equal(times.traffic.trace_times_s, [0.25, 0.5, 2.75])
    assert times.duration_s == 3.0 and times.traffic.arrivals == "uniform"
    assert times.traffic.trace_name == str(tmp_path.resolve() / "times.csv")
    data["traffic"]["trace"] = "counts.csv"
    counts = scenario_from_dict(data, base_dir=tmp_path)
    assert counts.traffic.trace_counts is not None
    assert np.array_equal(counts.traffic.trace_counts, [3, 0, 5])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("t_s\n1.0\n-2\n", "{f} line 3: t_s must be a number >= 0: '-2'"),
        ("second,count\n0,3\n1,x\n", "{f} line 3: count must be a number >= 0: 'x'"),
        ("second,count\n0,3\n0,2\n", "{f} line 3: second 0 appears twice"),
        ("second,count\n0,2.5\n", "{f} line 2: second and count must be integers: 0,2.5"),
        ("when,n\n1,2\n", "{f} line 1: header must have a column t_s, or columns second,count: 'when,n'"),
        ("t_s\n", "{f} has no rows after the header"),
        ("second,count\n0,0\n", "{f} has no requests"),
    ],
)  # fmt: skip
def test_bad_trace_csv_names_file_and_line(tmp_path: Path, content: str, message: str) -> None:
    """A malformed trace CSV gives the file, the line and the problem."""
    file = tmp_path / "trace.csv"
    file.write_text(content)
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(edited("traffic", {"trace": "trace.csv"}), base_dir=tmp_path)
    assert str(err.value) == "traffic.trace: " + message.format(f=file.resolve())


def test_missing_trace_file(tmp_path: Path) -> None:
    """A trace path that does not exist names the resolved path."""
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(edited("traffic", {"trace": "nope.csv"}), base_dir=tmp_path)
    assert str(err.value) == f"traffic.trace: file not found: {tmp_path.resolve() / 'nope.csv'}"


def test_overrides_revalidate_with_the_same_messages() -> None:
    """with_overrides edits the spec, validates again, and leaves the original untouched."""
    s = scenario_from_dict(base())
    t = with_overrides(s, {"traffic.pattern.1.rps": 40, "deployment.hpa.tolerance": 0.2})
    assert t.traffic.pattern[1].rps == 40.0 and t.deployment.hpa.tolerance == 0.2
    assert s.traffic.pattern[1].rps == 20.0 and s.spec["traffic"]["pattern"][1]["rps"] == 20
    with pytest.raises(ScenarioError) as err:
        with_overrides(s, {"deployment.max_replicas": 1})
    assert str(err.value) == "deployment.max_replicas must be >= min_replicas (2): 1"
    with pytest.raises(ScenarioError) as err:
        with_overrides(s, {"deployment.max_replica": 1})
    assert str(err.value) == "unknown field deployment.max_replica (did you mean 'max_replicas'?)"
    with pytest.raises(ScenarioError) as err:
        with_overrides(s, {"service.request_time_s.mean": 1})
    assert str(err.value) == (
        "cannot set service.request_time_s.mean: service.request_time_s is not a mapping "
        "or list: 0.5"
    )


def test_overrides_drop_alternatives_and_move_replicas() -> None:
    """traffic.rps replaces a pattern; sigma replaces p99; new min_replicas moves replicas."""
    data = edited("deployment.replicas", 4)
    data["service"]["request_time_s"] = {"dist": "lognormal", "mean": 0.5, "p99": 2}
    s = scenario_from_dict(data)
    t = with_overrides(
        s,
        {"traffic.rps": 12, "service.request_time_s.sigma": 0.4, "deployment.min_replicas": 8},
    )
    assert t.traffic.rps == 12.0 and t.traffic.pattern == ()
    assert t.service.request_time_s == Lognormal(mean_s=0.5, sigma=0.4)
    assert (t.deployment.min_replicas, t.deployment.replicas) == (8, 8)
    kept = with_overrides(s, {"deployment.min_replicas": 3, "deployment.replicas": 3})
    assert kept.deployment.replicas == 3


def test_sweep_values_and_override_of_the_sweep() -> None:
    """Every sweep value is applied at load; overriding `sweep` validates the new one."""
    s = scenario_from_dict(edited("sweep", {"deployment.min_replicas": [2, 4, 8]}))
    assert s.sweep == (("deployment.min_replicas", (2, 4, 8)),)
    with pytest.raises(ScenarioError, match=r"^sweep\.slo\.max_rate_503\[0\]: slo\.max_rate_503"):
        with_overrides(s, {"sweep": {"slo.max_rate_503": [2]}})
    assert with_overrides(s, {"sweep": {}}).sweep == ()


def test_round_trip_gives_an_equal_scenario(tmp_path: Path) -> None:
    """scenario_to_dict → scenario_from_dict rebuilds an equal Scenario, also from elsewhere."""
    (tmp_path / "counts.csv").write_text("second,count\n0,3\n1,4\n")
    (tmp_path / "lat.csv").write_text("0.1\n0.7\n")
    data = edited("traffic", {"trace": "counts.csv"})
    data["service"]["request_time_s"] = {"dist": "empirical", "file": "lat.csv"}
    data["duration_s"], data["warmup_s"] = 2, 1
    file = tmp_path / "s.yaml"
    file.write_text(yaml.safe_dump(data))
    for s in (load_scenario(file), scenario_from_dict(base())):
        d = scenario_to_dict(s)
        again = scenario_from_dict(yaml.safe_load(yaml.safe_dump(d)))
        assert again == s
        assert scenario_to_dict(again) == d
    assert Path(scenario_to_dict(load_scenario(file))["traffic"]["trace"]).is_absolute()


def test_describe_a_scenario_built_directly() -> None:
    """A Scenario made from the dataclasses (no spec) converts to a dict and back."""
    s = Scenario(
        name="direct",
        duration_s=120.0,
        warmup_s=10.0,
        traffic=Traffic(pattern=(Phase(duration_s=60, rps=2, to_rps=4),)),
        service=Service(
            request_time_s=Gamma(mean_s=0.3, shape=2.0), cold_start_s=Exponential(mean_s=20.0)
        ),
        sweep=(("deployment.max_replicas", (5, 6)),),
    )
    again = scenario_from_dict(scenario_to_dict(s))
    assert again == s
    assert with_overrides(s, {"deployment.max_replicas": 7}).deployment.max_replicas == 7


def test_scenario_is_frozen_and_spec_is_a_copy() -> None:
    """Assignment raises; mutating the input dict later does not change the scenario."""
    data = base()
    s = scenario_from_dict(data)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.duration_s = 5.0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.deployment.max_replicas = 5  # type: ignore[misc]
    data["deployment"]["max_replicas"] = 99
    assert s.spec["deployment"]["max_replicas"] == 30
    assert scenario_to_dict(s) == base()


def test_warnings_for_doubtful_input() -> None:
    """No warm-up with an autoscaler, and peak load above max capacity, each warn once."""
    with pytest.warns(PlannerWarning, match="warmup_s is 0 with autoscaler azureml") as rec:
        scenario_from_dict(edited("warmup_s", 0))
    assert len(rec) == 1
    with pytest.warns(PlannerWarning, match=re.escape("20 rps × 0.5 s = 10 busy exceeds")):
        scenario_from_dict(edited("deployment.max_replicas", 9))
    none = copy.deepcopy(base())
    none["deployment"] = {"autoscaler": "none", "replicas": 10}
    none["warmup_s"] = 0
    scenario_from_dict(none)  # a fixed pool needs no warm-up and has capacity 10: no warning
    quiet = scenario_from_dict(edited("deployment.max_replicas", 20))
    with_overrides(quiet, {"deployment.max_replicas": 9}, warn=False)


def test_knative_scale_to_zero_needs_a_wait() -> None:
    """min_replicas 0 with no queue wait could never scale from zero: a named error."""
    data = {
        "name": "z",
        "duration_s": 100,
        "warmup_s": 10,
        "traffic": {"rps": 1},
        "service": {"request_time_s": 0.1},
        "deployment": {"autoscaler": "knative", "min_replicas": 0, "max_request_wait_s": 0},
    }
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(data)
    assert str(err.value) == (
        "deployment.max_request_wait_s must be > 0 with knative min_replicas 0 "
        "(scale from zero needs requests to wait): 0"
    )


def test_knative_scale_to_zero_warns_about_the_activator() -> None:
    """min_replicas 0 loads, with a PlannerWarning that the activator's hold is not modelled."""
    data = {
        "name": "z",
        "duration_s": 100,
        "warmup_s": 10,
        "traffic": {"rps": 1},
        "service": {"request_time_s": 0.1},
        "deployment": {"autoscaler": "knative", "min_replicas": 0},
    }
    with pytest.warns(PlannerWarning, match="scale to zero"):
        s = scenario_from_dict(data)
    assert s.deployment.min_replicas == 0
