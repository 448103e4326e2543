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
from planner.loadtest.compare import JUDGED_METRICS, Measurement, Tolerance, compare
from planner.loadtest.verdict import measured_overhead
from planner.scenario import Scenario, Slo, scenario_from_dict, scenario_to_dict
from planner.simulate import Results
from planner.stats import clopper_pearson, quantile_ci


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
    scenario: Scenario,
    rates: list[float],
    p95: list[float],
    p99: list[float] | None = None,
    p50: list[float] | None = None,
) -> Results:
    """Results with one summary row per seed (rep = 0, 1, ...) and a flat timeline."""
    reps = len(rates)
    summary = pd.DataFrame(
        {
            "rep": range(reps),
            "requests": 1000,
            "n_503": [round(r * 1000) for r in rates],
            "rate_503": rates,
            "latency_p50_s": p50 or [0.1] * reps,
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


def _measured(
    n: int, n_503: int, latency_s: float | np.ndarray = 0.1, seed: int | None = 0, **kwargs: object
) -> Measurement:
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
    return Measurement(requests=requests, sent=n, seed=seed, **kwargs)  # type: ignore[arg-type]


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


def test_band_is_the_paired_seed_plus_the_other_seeds_spread(scenario: Scenario) -> None:
    """Seed 0 sent: band = its 5 % ± t(0.975, 2)·s·√(4/3) of seeds 1–3 ± 0.5 % ± CP noise."""
    predicted = _predicted(scenario, [0.05, 0.03, 0.05, 0.07], [0.1] * 4)
    v = compare(_measured(1000, 50), predicted)
    check = v.checks["rate_503"]
    spread = stats.t.ppf(0.975, 2) * 0.02 * math.sqrt(1 + 1 / 3)  # sd of 3 %, 5 %, 7 %: 2 %
    allowance = 0.5 * 0.01  # half of slo.max_rate_503
    cp_lo, cp_hi = stats.beta.ppf(0.025, 50, 951), stats.beta.ppf(0.975, 51, 950)
    assert check.paired == 0.05 and check.predicted == pytest.approx(0.05)
    assert check.spread == pytest.approx(spread, rel=1e-6)
    assert check.allowance == pytest.approx(allowance)
    assert check.band == pytest.approx(
        (max(0.0, 0.05 - spread - allowance - (cp_hi - 0.05)),
         0.05 + spread + allowance + (0.05 - cp_lo)),
        rel=1e-6,
    )  # fmt: skip
    assert check.agrees is True and v.agrees_with_prediction is True
    assert v.meets_slo is False and not v.ok  # 5 % > 1 %
    assert any(r.startswith("SLO missed: rate_503 measured upper 95 % bound") for r in v.reasons)
    assert any("(measured 5.00 %: 50 of 1000)" in r for r in v.reasons)


def test_the_paired_seed_not_the_mean_is_the_prediction(scenario: Scenario) -> None:
    """Seeds at 2, 6, 6, 6 % (mean 5 %): 5 % measured with seed 0's arrivals disagrees."""
    predicted = _predicted(scenario, [0.02, 0.06, 0.06, 0.06], [0.1] * 4)
    v = compare(_measured(1000, 50, seed=0), predicted)
    check = v.checks["rate_503"]
    assert check.predicted == pytest.approx(0.05)  # the mean would be a perfect match
    assert check.paired == 0.02 and check.spread == pytest.approx(0.0, abs=1e-12)
    assert check.agrees is False  # 5 % (CP 3.7–6.5 %) vs 2 % ± 0.5 %
    assert "measured 503 rate 5.00 % is above the band" in v.reasons[-1]
    # with seed 1's arrivals the paired value is 6 % and seeds 0, 2, 3 spread it widely
    assert compare(_measured(1000, 50, seed=1), predicted).checks["rate_503"].agrees is True


def test_latency_is_two_sided(scenario: Scenario) -> None:
    """p50 0.07 s or 0.13 s measured vs 0.1 s predicted (seeds 0.098–0.102 s): both disagree."""
    predicted = _predicted(scenario, [0.0] * 4, [0.2] * 4, p50=[0.1, 0.098, 0.1, 0.102])
    right = compare(_measured(1000, 0, latency_s=0.1), predicted)
    assert right.checks["latency_p50_s"].agrees is True
    for latency, side in ((0.07, "below"), (0.13, "above")):
        v = compare(_measured(1000, 0, latency_s=latency), predicted)
        assert v.checks["latency_p50_s"].agrees is False, latency
        assert not v.agrees_with_prediction
        assert any(f"latency p50 {latency:.3f} s is {side} the band" in r for r in v.reasons)
    assert set(JUDGED_METRICS) | {"latency_p99_s"} >= set(right.checks)  # no replicas here
    assert all(check.judged for name, check in right.checks.items() if name != "latency_p99_s")
    assert right.checks["latency_p99_s"].judged is False  # shown, not judged


def test_the_503_allowance_is_relative_to_the_slo(scenario: Scenario) -> None:
    """0 503s predicted, 5 of 1000 measured: agrees under a 1 % SLO, disagrees under 0.1 %."""
    predicted = _predicted(scenario, [0.0] * 4, [0.1] * 4)
    measured = _measured(1000, 5)
    loose = compare(measured, predicted)  # slo 1 %: allowance 0.5 % > CP lower bound 0.16 %
    assert loose.checks["rate_503"].agrees is True
    strict = Slo(max_rate_503=0.001, latency_p99_s=0.5)
    v = compare(measured, predicted, strict)  # allowance 0.05 % < 0.16 %
    assert v.checks["rate_503"].allowance == pytest.approx(0.0005)
    assert stats.beta.ppf(0.025, 5, 996) > 0.0005
    assert v.checks["rate_503"].agrees is False
    with pytest.raises(ValueError, match="rate_503_slo_fraction must be >= 0"):
        Tolerance(rate_503_slo_fraction=-1.0)


def test_slo_is_judged_on_the_measured_upper_bound(scenario: Scenario) -> None:
    """0 of 1000 cannot show a 0.1 % SLO (CP upper 0.37 %); 0 of 5000 can (0.074 %)."""
    strict = Slo(max_rate_503=0.001, latency_p99_s=0.5)
    few = compare(_measured(1000, 0), _predicted(scenario, [0.0] * 3, [0.1] * 3), strict)
    assert few.checks["rate_503"].measured_ci95[1] == pytest.approx(
        stats.beta.ppf(0.975, 1, 1000), rel=1e-9
    )
    assert few.meets_slo is False and few.agrees_with_prediction is True
    # 0 of n shows 0.1 % from n = 3,688 on (the Clopper–Pearson bound, scipy's)
    assert stats.beta.ppf(0.975, 1, 3688) <= 0.001 < stats.beta.ppf(0.975, 1, 3687)
    assert any("too short to show it: at least 3,688 requests" in r for r in few.reasons)
    many = compare(_measured(5000, 0), _predicted(scenario, [0.0] * 3, [0.1] * 3), strict)
    assert stats.beta.ppf(0.975, 1, 5000) < 0.001
    assert many.meets_slo is True and many.ok and many.reasons == ()
    slow = compare(
        _measured(5000, 0, latency_s=0.6), _predicted(scenario, [0.0] * 3, [0.6] * 3), strict
    )
    assert slow.meets_slo is False
    assert any("latency_p99_s measured upper 95 % bound 0.6 s" in r for r in slow.reasons)


def test_no_paired_seed_cannot_agree(scenario: Scenario) -> None:
    """Seed 9 was sent but never simulated: no paired prediction, said so."""
    v = compare(_measured(1000, 0, seed=9), _predicted(scenario, [0.0] * 3, [0.1] * 3))
    assert v.agrees_with_prediction is False
    assert any(
        "seed 9 (the arrivals sent) is not among the simulated seeds" in r for r in v.reasons
    )


def test_overhead_is_the_median_stats_round_trip_after_warmup(scenario: Scenario) -> None:
    """Polls of 2 ms and one of 50 ms: p50 gets 2 ms; p95 and p99 the RTTs' own quantiles."""
    scenario = scenario_from_dict({**scenario_to_dict(scenario), "warmup_s": 5})
    rtt = np.full(20, 0.002)
    rtt[10] = 0.05  # one slow poll does not move the median
    rtt[:5] = 0.5  # polls during warm-up do not count
    polls = pd.DataFrame({"t_s": np.arange(20.0), "ready": 6, "starting": 0, "draining": 0,
                          "queued": 0, "busy": 3, "desired": 6, "rtt_s": rtt})  # fmt: skip
    m = _measured(1000, 0, replicas=polls)
    overhead = measured_overhead(m, scenario)
    assert overhead.overhead_s == pytest.approx(0.002) and overhead.polls == 15
    predicted = _predicted(scenario, [0.0] * 3, [0.1] * 3, p50=[0.1] * 3)
    v = compare(m, predicted)
    assert v.checks["latency_p50_s"].allowance == pytest.approx(0.002)
    # 15 polls after warm-up, the slowest 50 ms: the linear quantile at rank q × 14, by hand
    for name, q in (("latency_p95_s", 0.95), ("latency_p99_s", 0.99)):
        frac = q * 14 - 13
        assert v.checks[name].allowance == pytest.approx(0.002 + frac * 0.048)
    assert v.checks["latency_p50_s"].band == pytest.approx((0.098, 0.102))
    assert v.checks["rate_503"].allowance == pytest.approx(0.005)  # the SLO's, not this
    assert "per-request overhead 2.0 ms: the median round trip" in " ".join(v.notes)
    # 0.1 s + 2 ms agrees, + 5 ms does not
    assert (
        compare(_measured(1000, 0, 0.102, replicas=polls), predicted).checks["latency_p50_s"].agrees
    )
    late = compare(_measured(1000, 0, 0.105, replicas=polls), predicted)
    assert late.checks["latency_p50_s"].agrees is False
    remote = measured_overhead(_measured(400, 0), scenario)
    assert math.isnan(remote.overhead_s) and remote.polls == 0
    assert compare(_measured(1000, 0), predicted).checks["latency_p50_s"].allowance == 0.0


def test_peak_replicas_band_allows_the_polling_resolution(scenario: Scenario) -> None:
    """6 replicas predicted everywhere: 7 polled agrees (one-poll resolution), 8 does not."""
    predicted = _predicted(scenario, [0.0] * 3, [0.1] * 3)
    for ready, agrees in ((7, True), (8, False)):
        polls = pd.DataFrame({"t_s": np.arange(20.0), "ready": ready, "starting": 0,
                              "draining": 0, "queued": 0, "busy": 3, "desired": ready})  # fmt: skip
        check = compare(_measured(1000, 0, replicas=polls), predicted).checks["peak_replicas"]
        assert (check.measured, check.paired, check.band) == (ready, 6.0, (5.0, 7.0))
        assert check.agrees is agrees


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
    assert doc["rate_503"]["paired"] == pytest.approx(0.04)
    assert doc["latency_p99_s"]["agrees"] is None  # shown, not judged
    assert doc["overhead_s"] is None
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
