"""planner.stats against published values and closed forms (not against the code's own scipy)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from planner.stats import clopper_pearson, mean_ci, prediction_interval, t_quantile_975


def _binomial_tail_at_least(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), summed term by term with exact binomial coefficients."""
    return math.fsum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))


@pytest.mark.parametrize("n", [1, 10, 30, 1000])
def test_clopper_pearson_edges_have_closed_forms(n: int) -> None:
    """0 of n: upper = 1 − (α/2)^(1/n); n of n: lower = (α/2)^(1/n) (Clopper & Pearson 1934)."""
    assert clopper_pearson(0, n) == (0.0, pytest.approx(1 - 0.025 ** (1 / n), rel=1e-12))
    assert clopper_pearson(n, n) == (pytest.approx(0.025 ** (1 / n), rel=1e-12), 1.0)


def test_clopper_pearson_matches_the_published_example() -> None:
    """5 of 10: 0.1871 – 0.8129, the interval R's binom.test(5, 10) prints."""
    lo, hi = clopper_pearson(5, 10)
    assert (lo, hi) == (pytest.approx(0.187086, abs=1e-6), pytest.approx(0.812914, abs=1e-6))


@pytest.mark.parametrize(("k", "n"), [(1, 10), (3, 10), (7, 40), (50, 1000)])
def test_clopper_pearson_bounds_solve_the_binomial_tails(k: int, n: int) -> None:
    """At the bounds the binomial tails equal α/2: P(X ≥ k | lo) = P(X ≤ k | hi) = 0.025."""
    lo, hi = clopper_pearson(k, n)
    assert _binomial_tail_at_least(k, n, lo) == pytest.approx(0.025, rel=1e-8)
    assert 1 - _binomial_tail_at_least(k + 1, n, hi) == pytest.approx(0.025, rel=1e-8)
    # A wrong bound (1 % off) misses the tail equation by far more than the tolerance.
    assert _binomial_tail_at_least(k, n, lo * 1.01) != pytest.approx(0.025, rel=1e-3)


def test_mean_ci_is_mean_plus_minus_t_s_over_root_n() -> None:
    """Three values 1, 2, 3: mean 2, s = 1, half-width t(0.975, 2) / √3 = 4.302653 / √3."""
    mean, (lo, hi) = mean_ci(np.array([1.0, 2.0, 3.0, math.nan]))
    half = 4.302653 / math.sqrt(3)
    assert mean == 2.0
    assert (lo, hi) == (pytest.approx(2 - half, abs=1e-6), pytest.approx(2 + half, abs=1e-6))


def test_prediction_interval_is_wider_by_root_one_plus_one_over_n() -> None:
    """The prediction half-width is the CI's × √(n + 1) for the same values."""
    x = np.array([1.0, 2.0, 3.0, 4.0])
    mean, lo, hi = prediction_interval(x)
    half = t_quantile_975(3) * float(x.std(ddof=1)) * math.sqrt(1 + 1 / 4)
    assert (mean, lo, hi) == (2.5, pytest.approx(2.5 - half), pytest.approx(2.5 + half))
    assert prediction_interval(np.array([7.0])) == (7.0, 7.0, 7.0)


def test_statistics_modules_do_not_import_scipy_until_used() -> None:
    """Importing planner, its CLI, stats and distributions loads no scipy (fast start-up)."""
    import subprocess
    import sys

    code = (
        "import sys, planner, planner.cli, planner.stats, planner.distributions, "
        "planner.recommend.closed_form; print('scipy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
