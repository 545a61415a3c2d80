"""Tests of the p-value <-> significance conversions and of p-values counted from toys."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asymscan import p_from_z, toy_p_value, z_from_p


def test_five_sigma_is_p_2_87e_minus_7():
    """Sec. 2: Z = 5 corresponds to p ~ 2.87e-7 (one-sided)."""
    assert float(p_from_z(5.0)) == pytest.approx(2.8665157e-7, rel=1e-7)
    assert float(z_from_p(2.87e-7)) == pytest.approx(5.0, abs=1e-3)
    assert float(z_from_p(2.8665157187919333e-07)) == pytest.approx(5.0, rel=1e-12)


@pytest.mark.parametrize(
    ("z", "p"),
    [
        (0.0, 0.5),
        (1.0, 0.15865525393145707),
        (2.0, 0.022750131948179195),
        (3.0, 0.0013498980316300946),
        (-1.0, 0.8413447460685429),
    ],
)
def test_known_values(z, p):
    assert float(p_from_z(z)) == pytest.approx(p, rel=1e-12)
    assert float(z_from_p(p)) == pytest.approx(z, abs=1e-12)


def test_tiny_p_values_stay_accurate():
    # p = 1 - Phi(Z) is computed without forming 1 - Phi: Z = 30 has p ~ 4.9e-198.
    assert float(p_from_z(30.0)) == pytest.approx(4.906713927148187e-198, rel=1e-10)
    assert float(z_from_p(p_from_z(30.0))) == pytest.approx(30.0, rel=1e-12)
    assert np.isinf(z_from_p(0.0))
    assert np.isneginf(z_from_p(1.0))


def test_arrays_keep_their_shape():
    z = np.array([[0.5, 1.5], [2.5, 6.0]])
    assert p_from_z(z).shape == (2, 2)
    np.testing.assert_allclose(z_from_p(p_from_z(z)), z, rtol=1e-12)


@settings(max_examples=100, deadline=None)
@given(st.floats(min_value=-3.0, max_value=37.0))
def test_round_trip_z(z):
    # (for much more negative Z, p = 1 - tiny is only known to 1e-16 absolute in doubles)
    assert float(z_from_p(p_from_z(z))) == pytest.approx(z, rel=1e-9, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(st.floats(min_value=1e-300, max_value=1.0 - 1e-9))
def test_round_trip_p_and_monotone(p):
    z = float(z_from_p(p))
    assert float(p_from_z(z)) == pytest.approx(p, rel=1e-8)
    assert float(z_from_p(p * 0.5)) > z  # smaller p, larger significance


def test_toy_p_value_counts_toys_at_least_as_extreme():
    toys = np.array([0.3, 1.2, 2.0, 2.0, 3.1, -0.4, 5.0, 0.0, 1.9])  # n = 9
    p, err = toy_p_value(2.0, toys)  # k = 4 (2.0, 2.0, 3.1, 5.0): ties count
    assert float(p) == pytest.approx(5 / 10)
    assert float(err) == pytest.approx(np.sqrt(0.5 * 0.5 / 10))
    p, _ = toy_p_value(10.0, toys)  # k = 0: never zero
    assert float(p) == pytest.approx(1 / 10)
    p, _ = toy_p_value(-1.0, toys)  # k = n
    assert float(p) == pytest.approx(1.0)


def test_toy_p_value_batched_over_observations_and_axes():
    toys = np.arange(10.0)  # 0..9
    p, err = toy_p_value(np.array([0.0, 4.5, 9.0, 9.5]), toys[None, :])
    np.testing.assert_allclose(p, [11 / 11, 6 / 11, 2 / 11, 1 / 11])
    np.testing.assert_allclose(err, np.sqrt(p * (1 - p) / 11))
    # toys along axis 0, one column per statistic
    toys2 = np.stack([np.arange(4.0), 10 * np.arange(4.0)], axis=1)  # shape (4, 2)
    p, _ = toy_p_value(np.array([2.0, 25.0]), toys2, axis=0)
    np.testing.assert_allclose(p, [(2 + 1) / 5, (1 + 1) / 5])


def test_toy_p_value_is_uniform_under_the_null():
    """(k + 1)/(n + 1) with the observation drawn like the toys: P(p <= j/(n+1)) = j/(n+1)."""
    rng = np.random.default_rng(0)
    n, trials = 19, 20_000
    toys = rng.normal(size=(trials, n))
    observed = rng.normal(size=trials)
    p, _ = toy_p_value(observed, toys)
    for j in (1, 5, 10):
        frac = (p <= j / (n + 1) + 1e-12).mean()
        expected = j / (n + 1)
        assert abs(frac - expected) < 4 * np.sqrt(expected * (1 - expected) / trials)
