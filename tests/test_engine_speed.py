"""The shortcuts the engines take for speed give exactly the results of the plain computation.

- The azureml policy's ceil(load / (max_concurrent × target)) and `ceil_ratio` take integer
  or float fast paths; they must equal `math.ceil` of the `Fraction` quotient of the decimal
  reprs on every input, above all on quotients an ulp away from an integer.
- `Traffic` arrival times, computed segment by segment, must equal the array-wide inversion
  of the cumulative rate (the formula applied to every point at once) bit for bit.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.autoscalers import AzureMlPolicy, ceil_ratio
from planner.traffic import Phase, Traffic


def fraction_ceil(num: float, den: float) -> int:
    """The definition: ceil of the exact quotient of the two shortest decimal reprs."""
    return math.ceil(Fraction(str(num)) / Fraction(str(den)))


def policy(mc: int, target: float) -> AzureMlPolicy:
    return AzureMlPolicy(
        min_replicas=0, max_replicas=10**9, target_utilization=target, max_concurrent=mc
    )


targets = st.one_of(
    st.sampled_from([0.7, 0.1, 0.3, 0.33, 0.9, 0.55, 1.0, 0.123456789]),
    st.floats(min_value=0.01, max_value=1.0),
)
counts = st.integers(min_value=0, max_value=10**6)


def near_multiples(draw: st.DrawFn, per: float) -> float:
    """A float a few ulps from k × per: the quotients where a float ceil can go wrong."""
    k = draw(st.integers(min_value=0, max_value=5000))
    x = k * per
    for _ in range(draw(st.integers(min_value=-3, max_value=3))):
        x = math.nextafter(x, math.inf)
    return abs(x)


@st.composite
def loads(draw: st.DrawFn, per: float) -> float:
    return draw(
        st.one_of(
            st.floats(min_value=0.0, max_value=1e6),
            st.integers(min_value=0, max_value=10**6).map(float),
            st.integers(min_value=0, max_value=4000).map(lambda k: k / 7.0),
            st.just(near_multiples(draw, per)),
        )
    )


@settings(max_examples=400, deadline=None)
@given(mc=st.integers(min_value=1, max_value=64), target=targets, data=st.data())
def test_proportional_desired_is_the_fraction_ceil(
    mc: int, target: float, data: st.DataObject
) -> None:
    pol = policy(mc, target)
    load = data.draw(loads(mc * target))
    per_exact = Fraction(mc) * Fraction(str(target))
    assert pol.proportional_desired(load) == math.ceil(Fraction(str(load)) / per_exact)
    n = data.draw(counts)
    assert pol.proportional_desired(n) == math.ceil(n / per_exact)


@settings(max_examples=400, deadline=None)
@given(
    num=st.one_of(counts, st.floats(min_value=-1e9, max_value=1e9), counts.map(float)),
    den=st.one_of(
        st.integers(min_value=1, max_value=1000),
        st.floats(min_value=1e-6, max_value=1e6),
        st.sampled_from([0.7, 0.1, 0.3, 1.0, 3.0]),
    ),
)
def test_ceil_ratio_is_the_fraction_ceil(num: float, den: float) -> None:
    assert ceil_ratio(num, den) == fraction_ceil(num, den)


@pytest.mark.parametrize(
    ("load", "mc", "target", "expected"),
    [
        (21, 1, 0.7, 30),  # float division gives 31
        (21.0, 1, 0.7, 30),
        (2.1, 1, 0.7, 3),  # 2.1 / 0.7 = 3.0000000000000004 in floats
        (math.nextafter(2.1, 3.0), 1, 0.7, 4),  # its decimal repr is just above 2.1
        (6.3, 3, 0.7, 3),
        (7.0, 2, 0.35, 10),
    ],
)
def test_proportional_desired_near_integers(
    load: float, mc: int, target: float, expected: int
) -> None:
    assert policy(mc, target).proportional_desired(load) == expected


def array_wide_invert(tr: Traffic, s: np.ndarray) -> np.ndarray:
    """Λ⁻¹ over the whole array at once, every point through the quadratic formula."""
    i = np.maximum(np.searchsorted(tr._cum, s, side="left") - 1, 0)
    u = s - tr._cum[i]
    r0, a = tr._r0[i], tr._slope[i]
    disc = np.maximum(r0 * r0 + 2.0 * a * u, 0.0)
    denom = r0 + np.sqrt(disc)
    x = np.divide(2.0 * u, denom, out=np.zeros_like(u), where=denom > 0)
    out: np.ndarray = tr._starts[i] + np.minimum(x, tr._dur[i])
    return out


PATTERNS = {
    "constant": Traffic(rps=37.3),
    "ramps": Traffic(
        pattern=(
            Phase(duration_s=7.0, rps=5.0),
            Phase(duration_s=3.0, rps=0.0),
            Phase(duration_s=11.0, rps=2.0, to_rps=90.0),
            Phase(duration_s=5.0, rps=90.0, to_rps=0.0),
            Phase(duration_s=2.0, rps=0.0),
            Phase(duration_s=13.0, rps=40.0),
        )
    ),
    "some-short": Traffic(
        pattern=tuple(Phase(duration_s=5.0, rps=float(k % 5) * 30.0) for k in range(40))
    ),
    "many-short": Traffic(
        pattern=tuple(
            Phase(duration_s=0.25, rps=float(k % 9), to_rps=float(k % 4)) for k in range(800)
        )
    ),
}


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_invert_equals_the_array_wide_formula(name: str) -> None:
    tr = PATTERNS[name]
    total = float(tr.cumulative(200.0))
    rng = np.random.default_rng(5)
    s = np.sort(np.concatenate([rng.uniform(0.0, total, 20_000), tr._cum[tr._cum < total]]))
    got, want = tr._invert(s), array_wide_invert(tr, s)
    assert got.tobytes() == want.tobytes()
    for k in range(0, s.size, 3000):  # chunk-sized pieces, as arrival_times passes them
        assert tr._invert(s[k : k + 3000]).tobytes() == want[k : k + 3000].tobytes()
