"""Tests of the Asimov data and Poisson toy pairs of Sec. 3 of Birman et al. 2022."""

from __future__ import annotations

import numpy as np
import pytest

from asymscan import DataError, ShapeError
from asymscan.calibrate import ToyPairs, asimov, poisson_toys
from asymscan.templates import flat, gaussian, rectangle


@pytest.fixture(scope="module")
def templates_2d():
    rng = np.random.default_rng(0)
    t = rng.uniform(5.0, 60.0, (4, 6))
    s = rectangle((4, 6), 2)
    return t, s


def test_shapes_and_types(templates_2d):
    t, s = templates_2d
    toys = poisson_toys(t, s, 30.0, n=7, rng=1)
    assert isinstance(toys, ToyPairs)
    for x in (toys.a, toys.b, toys.b_signal):
        assert x.shape == (7, 4, 6)
        assert x.dtype == float
    for x in (toys.a, toys.b):
        assert np.all(x == np.round(x))
        assert np.all(x >= 0)
    # 1-D and 3-D templates
    assert poisson_toys(flat(5, 10.0), n=3, rng=0).a.shape == (3, 5)
    assert poisson_toys(flat((2, 3, 4), 10.0), n=2, rng=0).b.shape == (2, 2, 3, 4)


def test_reproducible_with_a_seed_or_generator(templates_2d):
    t, s = templates_2d
    one, two = (
        poisson_toys(t, s, 5.0, n=50, rng=42),
        poisson_toys(t, s, 5.0, n=50, rng=42),
    )
    for x, y in ((one.a, two.a), (one.b, two.b), (one.b_signal, two.b_signal)):
        np.testing.assert_array_equal(x, y)
    g1 = poisson_toys(t, s, 5.0, n=50, rng=np.random.default_rng(42))
    np.testing.assert_array_equal(g1.a, one.a)
    other = poisson_toys(t, s, 5.0, n=50, rng=43)
    assert not np.array_equal(other.a, one.a)
    assert not np.array_equal(one.a, one.b)  # A and B are independent draws


def test_means_and_variances_follow_the_template(templates_2d):
    t, _ = templates_2d
    n = 4000
    toys = poisson_toys(t, n=n, rng=7)
    for x in (toys.a, toys.b):
        mean = x.mean(axis=0)
        # per bin: |mean - T| < 5 standard errors sqrt(T/n), for all 24 bins
        assert np.all(np.abs(mean - t) < 5 * np.sqrt(t / n))
        var = x.var(axis=0, ddof=1)
        # Poisson: variance = mean; the variance estimate has sd ~ T sqrt(2/n) (+ 1/T terms)
        assert np.all(np.abs(var - t) < 6 * t * np.sqrt(2 / n + 1 / (t * n)))
    # A and B uncorrelated
    corr = np.corrcoef(toys.a[:, 0, 0], toys.b[:, 0, 0])[0, 1]
    assert abs(corr) < 5 / np.sqrt(n)


def test_signal_is_injected_without_fluctuation(templates_2d):
    t, s = templates_2d
    mu = 123.4
    toys = poisson_toys(t, s, mu, n=20, rng=3)
    np.testing.assert_allclose(
        toys.b_signal - toys.b,
        np.broadcast_to(mu * s, toys.b.shape),
        rtol=1e-12,
        atol=1e-12,
    )
    no_signal = poisson_toys(t, n=20, rng=3)
    np.testing.assert_array_equal(no_signal.b_signal, no_signal.b)
    zero_mu = poisson_toys(t, s, 0.0, n=20, rng=3)
    np.testing.assert_array_equal(zero_mu.b_signal, zero_mu.b)


def test_fluctuated_signal_is_poisson_with_mean_mu_s():
    t = flat((3, 3), 50.0)
    s = gaussian((3, 3), sigma=1.0)
    mu, n = 90.0, 5000
    toys = poisson_toys(t, s, mu, n=n, rng=11, fluctuate_signal=True)
    extra = toys.b_signal - toys.b
    assert np.all(extra >= 0)
    assert np.all(extra == np.round(extra))
    mean = extra.mean(axis=0)
    assert np.all(np.abs(mean - mu * s) < 5 * np.sqrt(mu * s / n))
    assert not np.allclose(extra, mu * s)


def test_asimov_data(templates_2d):
    t, s = templates_2d
    a, b = asimov(t, s, 17.0)
    np.testing.assert_array_equal(a, t)
    np.testing.assert_allclose(b, t + 17.0 * s, rtol=1e-15)
    a0, b0 = asimov(t, None, 17.0)
    np.testing.assert_array_equal(a0, t)
    np.testing.assert_array_equal(b0, t)


def test_bad_inputs_raise(templates_2d):
    t, s = templates_2d
    with pytest.raises(DataError, match="n must be a positive number of toys, got 0"):
        poisson_toys(t, s, 1.0, n=0)
    with pytest.raises(DataError, match="n must be a positive number of toys"):
        poisson_toys(t, s, 1.0, n=-5)
    with pytest.raises(DataError, match="mu must be >= 0"):
        poisson_toys(t, s, -1.0, n=3)
    with pytest.raises(ShapeError, match="must have the same shape"):
        poisson_toys(t, np.ones((4, 5)), 1.0, n=3)
    with pytest.raises(ShapeError, match="must have the same shape"):
        asimov(t, np.ones(3), 1.0)
    with pytest.raises(DataError, match="negative count"):
        poisson_toys(-t, n=3)
    with pytest.raises(DataError, match="non-finite"):
        poisson_toys(np.array([1.0, np.nan]), n=3)
    with pytest.raises(DataError, match="negative count"):
        poisson_toys(t, -s, 1.0, n=3)
