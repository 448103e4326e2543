"""compare(): measured vs predicted on hand-built frames; the binomial and quantile intervals."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from planner.distributions import Constant, Empirical, Exponential, Gamma, Lognormal
from planner.loadtest.calibrate import (
    PlatformTimes,
    calibrate,
    calibration_overrides,
    compare_calibrated,
    platform_times,
)
from planner.loadtest.compare import Measurement, Tolerance, compare
from planner.scenario import Scenario, scenario_from_dict, scenario_to_dict
from planner.simulate import Results
from planner.stats import clopper_pearson, quantile_ci

T2 = 4.302652730  # t(0.975, 2)


@pytest.fixture
def scenario() -> Scenario:
    """20 s at 50 rps, no warm-up; SLO 1 % 503s and p99 <= 0.5 s."""
    return scenario_from_dict(
        {
            "duration_s": 20,
            "traffic": {"rps": 50},
            "service": {"request_time_s": 0.1, "cold_start_s": 1},
            "deployment": {"autoscaler": "none", "replicas": 6},
            "slo": {"max_rate_503": 0.01, "latency_p99_s": 0.5},
        }
    )


def _predicted(
    scenario: Scenario, rates: list[float], p95: list[float], p99: list[float] | None = None
) -> Results:
    """Results with one summary row per seed and a flat timeline."""
    reps = len(rates)
    summary = pd.DataFrame(
        {
            "rep": range(reps),
            "requests": 1000,
            "n_503": [round(r * 1000) for r in rates],
            "rate_503": rates,
            "latency_p95_s": p95,
            "latency_p99_s": p99 or p95,
            "peak_replicas": 6,
        }
    )
    t = np.arange(20.0)
    timeline = pd.concat(
        pd.DataFrame(
            {"rep": rep, "t_s": t, "rps_offered": 50.0, "arrivals": 50, "ready": 6,
             "starting": 0, "queue_len": 0, "n_503": 50 * rates[rep]}
        )
        for rep in range(reps)
    )  # fmt: skip
    return Results(scenario=scenario, summary=summary, timeline=timeline, requests=None)


def _measured(n: int, n_503: int, latency_s: float = 0.1, **kwargs: object) -> Measurement:
    """n requests evenly over 20 s; the first n_503 answered 503, the rest 200 after latency_s."""
    status = np.where(np.arange(n) < n_503, 503, 200)
    requests = pd.DataFrame(
        {
            "t_s": np.linspace(0.0, 19.99, n),
            "lag_s": 0.001,
            "status": status,
            "response_time_s": np.where(status == 503, 0.2, latency_s),
        }
    )
    return Measurement(requests=requests, sent=n, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("k", "n"), [(0, 10), (3, 10), (10, 10), (5, 1000), (500, 1000), (1, 100_000), (40, 5000)]
)
def test_clopper_pearson_matches_scipy_beta(k: int, n: int) -> None:
    """Bounds are Beta(0.025; k, n−k+1) and Beta(0.975; k+1, n−k) (scipy as the oracle)."""
    lo, hi = clopper_pearson(k, n)
    want_lo = 0.0 if k == 0 else stats.beta.ppf(0.025, k, n - k + 1)
    want_hi = 1.0 if k == n else stats.beta.ppf(0.975, k + 1, n - k)
    assert lo == pytest.approx(want_lo, rel=1e-9, abs=1e-15)
    assert hi == pytest.approx(want_hi, rel=1e-9, abs=1e-15)


def test_clopper_pearson_edges() -> None:
    """0 of 0 is uninformative; k outside 0..n is an error."""
    assert clopper_pearson(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError, match="k must be"):
        clopper_pearson(5, 4)


def test_quantile_ci_ranks_and_coverage() -> None:
    """Order-statistic ranks match scipy's binomial quantiles ±1; coverage of p95 is ~95 %."""
    rng = np.random.default_rng(7)
    x = rng.exponential(1.0, 1000)
    q, lo, hi = quantile_ci(x, 0.95)
    s = np.sort(x)
    j, k = stats.binom.ppf(0.025, 1000, 0.95), stats.binom.ppf(0.975, 1000, 0.95) + 1
    assert q == pytest.approx(np.quantile(x, 0.95))
    assert s[int(j) - 2] <= lo <= s[int(j)]
    assert s[int(k) - 2] <= hi <= s[int(k)]
    # Coverage of [X_(j), X_(k)] is P(j <= B <= k − 1), B ~ Binom(m, q): exact, scipy's.
    m, true_p95 = 200, math.log(20.0)
    half = 1.959963984540054 * math.sqrt(m * 0.95 * 0.05)
    j, k = math.floor(m * 0.95 - half), math.ceil(m * 0.95 + half)
    exact = stats.binom.cdf(k - 1, m, 0.95) - stats.binom.cdf(j - 1, m, 0.95)
    covered = [
        lo_ <= true_p95 <= hi_
        for lo_, hi_ in (quantile_ci(rng.exponential(1.0, m), 0.95)[1:] for _ in range(2000))
    ]
    assert exact >= 0.95
    assert np.mean(covered) == pytest.approx(exact, abs=3 * math.sqrt(exact * (1 - exact) / 2000))
    assert all(math.isnan(v) for v in quantile_ci(np.array([]), 0.95))


def test_quantile_ci_small_samples_keep_their_coverage() -> None:
    """From 20 values a p95 has no upper order statistic: the bound is +inf, so coverage holds."""
    rng = np.random.default_rng(11)
    true_p95 = math.log(20.0)  # exponential(1)
    bounds = [quantile_ci(rng.exponential(1.0, 20), 0.95)[1:] for _ in range(2000)]
    assert all(hi == math.inf for _, hi in bounds)
    missed_above = np.mean([true_p95 > hi for _, hi in bounds])
    missed_below = np.mean([true_p95 < lo for lo, _ in bounds])
    assert missed_above == 0.0
    # Lower bound X_(j): P(true < X_(j)) = P(Binom(20, 0.95) <= j - 1), j = floor(19 - 1.91) = 17.
    assert missed_below == pytest.approx(stats.binom.cdf(16, 20, 0.95), abs=0.02)


def test_agreement_inside_the_band(scenario: Scenario) -> None:
    """5 % measured vs seeds at 4, 5, 6 %: band = prediction interval ± tolerance ± CP noise."""
    predicted = _predicted(scenario, [0.04, 0.05, 0.06], [0.1, 0.1, 0.1])
    v = compare(_measured(1000, 50), predicted)
    check = v.checks["rate_503"]
    half = T2 * 0.01 * math.sqrt(1 + 1 / 3)
    tol = 0.01 + 0.5 * 0.05
    cp_lo = stats.beta.ppf(0.025, 50, 951)
    cp_hi = stats.beta.ppf(0.975, 51, 950)
    assert check.predicted == pytest.approx(0.05)
    assert check.predicted_interval == pytest.approx((0.05 - half, 0.05 + half))
    assert check.band == pytest.approx(
        (max(0.0, 0.05 - half - tol - (cp_hi - 0.05)), 0.05 + half + tol + (0.05 - cp_lo))
    )
    assert check.agrees is True
    assert v.agrees_with_prediction is True
    assert v.meets_slo is False  # 5 % > 1 %
    assert not v.ok
    assert any("SLO missed: measured 503 rate 5.00 % (50 of 1000" in r for r in v.reasons)
    assert v.counts["n_503"] == 50 and v.counts["requests"] == 1000


def test_disagreement_outside_the_band(scenario: Scenario) -> None:
    """30 % measured vs seeds at 4–6 % is above the band: not agreeing, and said so."""
    v = compare(_measured(1000, 300), _predicted(scenario, [0.04, 0.05, 0.06], [0.1] * 3))
    assert v.checks["rate_503"].agrees is False
    assert v.agrees_with_prediction is False
    assert any("measured 503 rate 30.00 % is above the predicted band" in r for r in v.reasons)


def test_no_503s_within_slo_and_prediction(scenario: Scenario) -> None:
    """0 of 1000 measured, 0 predicted: SLO met, agrees, ok; tolerance sets the band's top."""
    v = compare(_measured(1000, 0), _predicted(scenario, [0.0, 0.0, 0.0], [0.1, 0.11, 0.12]))
    assert v.checks["rate_503"].band == pytest.approx((0.0, 0.01))
    assert v.meets_slo is True
    assert v.agrees_with_prediction is True
    assert v.ok
    assert v.reasons == ()


def test_latency_disagreement_below_band(scenario: Scenario) -> None:
    """Measured p95 0.1 s vs predicted 0.5 s: below the band 0.5 − 0.05 − 0.125 = 0.325 s."""
    v = compare(_measured(1000, 0), _predicted(scenario, [0.0] * 3, [0.5] * 3))
    check = v.checks["latency_p95_s"]
    assert check.measured == pytest.approx(0.1)
    assert check.band[0] == pytest.approx(0.325)
    assert check.agrees is False
    assert any("latency_p95_s 0.100 s is below the predicted band" in r for r in v.reasons)


def test_custom_tolerance_widens_the_band(scenario: Scenario) -> None:
    """With rate_503_abs 0.3 the 30 % measurement agrees with a 5 % prediction."""
    predicted = _predicted(scenario, [0.04, 0.05, 0.06], [0.1] * 3)
    v = compare(_measured(1000, 300), predicted, tolerance=Tolerance(rate_503_abs=0.3))
    assert v.checks["rate_503"].agrees is True
    with pytest.raises(ValueError, match="rate_503_abs must be >= 0"):
        Tolerance(rate_503_abs=-1.0)


def test_invalid_measurements_do_not_agree(scenario: Scenario) -> None:
    """401 answers, requests without an answer and a lagging generator are reasons."""
    predicted = _predicted(scenario, [0.0] * 3, [0.1] * 3)
    m = _measured(100, 0)
    m.requests.loc[:4, "status"] = 401
    v = compare(m, predicted)
    assert not v.agrees_with_prediction
    assert any("5 requests answered 401" in r and "check --key" in r for r in v.reasons)
    v = compare(_measured(100, 0, pending=3), predicted)
    assert any("3 requests got no HTTP answer" in r for r in v.reasons)
    late = _measured(100, 0)
    late.requests["lag_s"] = 0.5
    v = compare(late, predicted)
    assert any("load generator fell behind" in r for r in v.reasons)


def test_per_second_frame_and_json(scenario: Scenario) -> None:
    """Per-second counts add up to the totals; the JSON has the verdicts and each check."""
    v = compare(_measured(1000, 50), _predicted(scenario, [0.04, 0.05, 0.06], [0.1] * 3))
    ps = v.per_second
    assert len(ps) == 20
    assert ps["measured_arrivals"].sum() == 1000
    assert ps["measured_503"].sum() == 50
    assert ps["predicted_503"].sum() == pytest.approx(20 * 50 * 0.05)
    doc = v.to_json_dict()
    assert doc["ok"] is False and doc["agrees_with_prediction"] is True
    assert doc["rate_503"]["measured"] == pytest.approx(0.05)
    assert doc["latency_p99_s"]["agrees"] is None
    assert "replicas over time unknown" in doc["notes"][-1]


# ---------------------------------------------------------------------------- calibration


@pytest.mark.parametrize(
    ("request_time", "kind"),
    [
        (0.1, Constant),
        ({"dist": "exponential", "mean": 0.1}, Exponential),
        ({"dist": "lognormal", "mean": 0.1, "p99": 0.4}, Lognormal),
        ({"dist": "gamma", "mean": 0.1, "scv": 0.5}, Gamma),
        ({"dist": "empirical", "samples": [0.05, 0.1, 0.15]}, Empirical),
    ],
)
def test_calibration_takes_measured_means_and_keeps_the_shape(
    scenario: Scenario, request_time: object, kind: type
) -> None:
    """Cold start = the 4 measured starts; request time scaled to the 0.125 s slot time."""
    spec = scenario_to_dict(scenario)
    spec["service"]["request_time_s"] = request_time
    base = scenario_from_dict(spec)
    starts = (1.3, 1.5, 1.8, 1.4)
    platform = PlatformTimes(
        start_times_s=starts, starts_during_test=True, slot_time_s=0.125, dispatched=900
    )
    calibrated, cal = calibrate(base, platform)
    cold = calibrated.service.cold_start_s
    assert isinstance(cold, Empirical) and cold.samples_s == starts
    assert cold.mean_s == pytest.approx(1.5) == cal.measured_cold_start_s
    before, after = base.service.request_time_s, calibrated.service.request_time_s
    assert isinstance(after, kind)
    assert after.mean_s == pytest.approx(0.125)
    assert after.scv == pytest.approx(before.scv)  # the shape: same coefficient of variation
    if kind is not Constant:  # a scale family: every quantile moves by 0.125 / 0.1
        assert after.quantile(0.99) == pytest.approx(1.25 * before.quantile(0.99), rel=1e-9)
    assert (cal.specified_cold_start_s, cal.specified_request_time_s) == pytest.approx((1.0, 0.1))
    assert cal.label == (
        "calibrated: cold start 1.5 s measured vs 1 s specified, request 0.125 s vs 0.1 s"
    )
    # nothing else changes
    assert calibrated.traffic == base.traffic and calibrated.deployment == base.deployment


def test_calibration_with_few_or_no_measurements(scenario: Scenario) -> None:
    """< 3 starts: a constant of their mean; nothing measured: no override, scenario kept."""
    two = PlatformTimes(
        start_times_s=(2.0, 3.0), starts_during_test=False, slot_time_s=math.nan, dispatched=0
    )
    assert calibration_overrides(scenario, two) == {"service.cold_start_s": 2.5}
    calibrated, cal = calibrate(scenario, two)
    assert calibrated.service.cold_start_s == Constant(value_s=2.5)
    assert calibrated.service.request_time_s == scenario.service.request_time_s
    assert cal.label.endswith("request 0.1 s (not measured)")
    none = PlatformTimes(start_times_s=(), starts_during_test=False, slot_time_s=math.nan,
                         dispatched=0)  # fmt: skip
    same, cal = calibrate(scenario, none)
    assert same is scenario and cal.overrides == {}
    assert (
        cal.label == "calibrated: cold start 1 s (no start measured), request 0.1 s (not measured)"
    )


def test_platform_times_from_stats_before_and_after() -> None:
    """Starts during the test are the samples added after the first /stats; slot = busy / n."""
    before = {"replica_start_s": {"count": 2, "samples_s": [0.9, 1.1]}, "dispatched": 10,
              "busy_seconds": 1.0}  # fmt: skip
    after = {"replica_start_s": {"count": 5, "samples_s": [0.9, 1.1, 2.0, 2.5, 3.0]},
             "dispatched": 1010, "busy_seconds": 206.0}  # fmt: skip
    p = platform_times(before, after)
    assert p.start_times_s == (2.0, 2.5, 3.0) and p.starts_during_test
    assert p.mean_start_s == pytest.approx(2.5)
    assert p.slot_time_s == pytest.approx(0.205) and p.dispatched == 1000
    idle = platform_times(before, {**before, "dispatched": 10})
    assert idle.start_times_s == (0.9, 1.1) and not idle.starts_during_test
    assert math.isnan(idle.slot_time_s)


def test_compare_calibrated_judges_the_calibrated_prediction(scenario: Scenario) -> None:
    """5 % measured: outside the as-specified 0 % band, inside the calibrated 4–6 %; both shown."""
    m = _measured(1000, 50)
    specified = _predicted(scenario, [0.0, 0.0, 0.0], [0.1] * 3)
    calibrated = _predicted(scenario, [0.04, 0.05, 0.06], [0.1] * 3)
    platform = PlatformTimes(
        start_times_s=(1.6,), starts_during_test=True, slot_time_s=0.1, dispatched=950
    )
    _, cal = calibrate(scenario, platform)
    v = compare_calibrated(m, specified, calibrated, cal)
    alone = compare(m, calibrated)
    assert v.agrees_with_prediction is True and v.checks == alone.checks
    assert v.reasons == alone.reasons
    assert v.specified is not None and v.specified.agrees_with_prediction is False
    assert v.specified.checks["rate_503"].predicted == 0.0
    ps = v.per_second
    assert ps["specified_503"].sum() == 0 and ps["predicted_503"].sum() == pytest.approx(50)
    doc = v.to_json_dict()
    assert doc["rate_503"]["predicted"] == pytest.approx(0.05)
    assert doc["as_specified"]["agrees_with_prediction"] is False
    assert doc["as_specified"]["rate_503"]["agrees"] is False
    assert doc["calibration"]["cold_start_s"] == {
        "specified": 1.0, "measured": 1.6, "starts": 1, "starts_during_test": True
    }  # fmt: skip
    assert doc["calibration"]["overrides"] == {
        "service.cold_start_s": 1.6, "service.request_time_s": 0.1
    }  # fmt: skip
    assert "the measurement would NOT agree with that" in v.notes[-1]
    assert compare(m, specified).to_json_dict()["calibration"] is None
