"""Summaries across replications: Student-t intervals (published tables, scipy) and SLO verdicts."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from planner.distributions import Constant
from planner.metrics import JSON_KEYS, summarise
from planner.scenario import Scenario, Service, Slo
from planner.simulate import SUMMARY_COLUMNS, TIMELINE_COLUMNS, Results, run
from planner.stats import t_quantile_975
from planner.traffic import Traffic


def results_with(**columns: list[float]) -> Results:
    """Results whose summary has the given per-rep columns (others filled with 1.0)."""
    n = len(next(iter(columns.values())))
    data = {c: columns.get(c, [1.0] * n) for c in SUMMARY_COLUMNS}
    data["rep"] = list(range(n))
    sc = Scenario(
        name="m",
        duration_s=100.0,
        traffic=Traffic(rps=1.0),
        service=Service(request_time_s=Constant(value_s=0.1), cold_start_s=Constant(value_s=1.0)),
    )
    return Results(
        scenario=sc,
        summary=pd.DataFrame(data, columns=list(SUMMARY_COLUMNS)),
        timeline=pd.DataFrame(columns=["rep", *TIMELINE_COLUMNS]),
        requests=None,
    )


# t(0.975, df), Abramowitz & Stegun Table 26.10 / NIST/SEMATECH e-Handbook Table 1.4.7.4 (the
# column for a two-sided 95 % interval), to the digits the tables print.
PUBLISHED_T975 = {
    1: 12.706205, 2: 4.302653, 3: 3.182446, 4: 2.776445, 5: 2.570582, 10: 2.228139,
    20: 2.085963, 30: 2.042272, 60: 2.000298, 120: 1.979930,
}  # fmt: skip


@pytest.mark.parametrize(("df", "published"), sorted(PUBLISHED_T975.items()))
def test_t_quantile_matches_the_published_table(df: int, published: float) -> None:
    """t(0.975, df) agrees with the printed Student-t table to its 7 significant digits."""
    assert t_quantile_975(df) == pytest.approx(published, abs=1e-6)


def test_t_quantile_tends_to_the_normal_quantile() -> None:
    """For very many degrees of freedom t(0.975) falls towards z(0.975) = 1.959964."""
    values = [t_quantile_975(df) for df in (200, 1000, 10**6)]
    assert values == sorted(values, reverse=True)
    assert values[-1] == pytest.approx(1.959964, abs=1e-5)
    with pytest.raises(ValueError, match="df must be >= 1"):
        t_quantile_975(0)


def test_interval_matches_scipy_t_interval() -> None:
    """mean ± t·s/√n equals scipy.stats.t.interval for each metric."""
    rng = np.random.default_rng(3)
    x = rng.normal(0.01, 0.003, size=7)
    summary = summarise(results_with(rate_503=list(x)))
    lo, hi = stats.t.interval(0.95, df=6, loc=x.mean(), scale=stats.sem(x))
    assert summary.values["rate_503"] == pytest.approx(x.mean())
    assert summary.ci95["rate_503"] == pytest.approx((lo, hi), rel=1e-8)
    assert summary.reps == 7


def test_slo_judged_on_upper_bound() -> None:
    """A mean under the SLO whose upper 95 % bound is over it does not meet the SLO."""
    res = results_with(rate_503=[0.0005, 0.0009, 0.0012], latency_p99_s=[1.0, 1.1, 1.2])
    summary = summarise(res, Slo(max_rate_503=0.001, latency_p99_s=2.0))
    assert summary.values["rate_503"] < 0.001 < summary.ci95["rate_503"][1]
    assert summary.meets_slo is False
    assert len(summary.reasons) == 1 and "rate_503" in summary.reasons[0]
    relaxed = summarise(res, Slo(max_rate_503=0.01, latency_p99_s=2.0))
    assert relaxed.meets_slo is True and relaxed.reasons == ()
    slow = summarise(res, Slo(max_rate_503=0.01, latency_p99_s=1.1))
    assert slow.meets_slo is False and "latency_p99_s" in slow.reasons[0]


def test_default_slo_comes_from_the_scenario() -> None:
    """slo=None uses scenario.slo (max_rate_503 0.001 by default)."""
    assert summarise(results_with(rate_503=[0.002])).meets_slo is False
    assert summarise(results_with(rate_503=[0.0])).meets_slo is True


def test_single_rep_has_equal_bounds_and_no_ci_keys() -> None:
    """One replication: the interval collapses to the value; JSON has no *_ci95 keys."""
    summary = summarise(results_with(rate_503=[0.25]))
    assert summary.ci95["rate_503"] == (0.25, 0.25)
    out = summary.to_json_dict()
    assert not any(k.endswith("_ci95") for k in out)


def test_json_dict_keys_and_null_for_nan() -> None:
    """DESIGN.md keys first, *_ci95 for rates and latencies, NaN as null, strict JSON."""
    res = results_with(
        requests=[100.0, 120.0], latency_p99_s=[math.nan, math.nan], rate_503=[0.1, 0.2]
    )
    out = summarise(res).to_json_dict()
    assert tuple(out)[: len(JSON_KEYS)] == JSON_KEYS
    assert out["requests"] == 110 and isinstance(out["requests"], int)
    assert out["latency_p99_s"] is None
    assert out["rate_503_ci95"][0] < 0.15 < out["rate_503_ci95"][1]
    for key in ("rate_504", "mean_wait_s", "latency_p50_s", "latency_p95_s", "latency_p99_s"):
        assert f"{key}_ci95" in out
    assert out["reps"] == 2 and out["meets_slo"] is False
    json.dumps(out, allow_nan=False)


def test_no_requests_cannot_be_judged() -> None:
    """Nothing arrived after warm-up: meets_slo is None, with the reason."""
    summary = summarise(results_with(requests=[0.0], rate_503=[math.nan]))
    assert summary.meets_slo is None
    assert "no request" in summary.reasons[0]


def test_summarise_a_real_run() -> None:
    """End to end: a short simulation summarised; means equal the per-rep average."""
    sc = Scenario(
        name="r",
        duration_s=300.0,
        warmup_s=20.0,
        seeds=(1, 2, 3),
        traffic=Traffic(rps=3.0),
        service=Service(request_time_s=Constant(value_s=1.0), cold_start_s=Constant(value_s=5.0)),
    )
    res = run(sc)
    summary = summarise(res)
    assert summary.reps == 3
    assert summary.values["requests"] == pytest.approx(res.summary["requests"].mean())
    lo, hi = summary.ci95["rate_503"]
    assert lo <= summary.values["rate_503"] <= hi
    json.dumps(summary.to_json_dict(), allow_nan=False)


def test_confidence_bounds_stay_within_what_a_rate_can_be() -> None:
    """Two very different reps: a rate's t-interval is clipped to [0, 1]; the mean is not."""
    summary = summarise(results_with(rate_503=[0.0, 0.9], p_wait=[0.0, 0.9], mean_wait_s=[0, 2]))
    assert summary.values["rate_503"] == pytest.approx(0.45)
    assert summary.ci95["rate_503"] == (0.0, 1.0)
    assert summary.ci95["p_wait"] == (0.0, 1.0)
    lo, hi = summary.ci95["mean_wait_s"]
    assert lo == 0.0 and hi == pytest.approx(1 + float(stats.t.ppf(0.975, 1)))
