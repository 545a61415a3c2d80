"""Tests of N_sigma, Eqs. (1)-(2) of Birman et al. 2022, against direct per-bin sums."""

from __future__ import annotations

import hist
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from asymscan import DataError, NsigmaResult, ShapeError, nsigma
from asymscan.calibrate import poisson_toys
from asymscan.templates import flat


def direct_nsigma(b, a, var_b=None, var_a=None) -> float:
    """Eq. (1) by a loop over bins; bins with zero combined variance are left out of M."""
    b, a = np.asarray(b, float), np.asarray(a, float)
    vb = b if var_b is None else np.broadcast_to(var_b, b.shape)
    va = a if var_a is None else np.broadcast_to(var_a, a.shape)
    b, a, vb, va = (np.ravel(x) for x in (b, a, vb, va))
    total, m = 0.0, 0
    for bi, ai, vbi, vai in zip(b, a, vb, va, strict=True):
        if vai + vbi > 0:
            total += (bi - ai) / np.sqrt(vai + vbi)
            m += 1
    return total / np.sqrt(m) if m else float("nan")


counts = st.integers(min_value=0, max_value=60).map(float)
shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5)


@st.composite
def count_pairs(draw):
    shape = draw(shapes)
    b = draw(hnp.arrays(float, shape, elements=counts))
    a = draw(hnp.arrays(float, shape, elements=counts))
    return b, a


@settings(max_examples=80, deadline=None)
@given(count_pairs())
def test_poisson_form_matches_direct_sum(pair):
    b, a = pair
    res = nsigma(b, a)
    expected = direct_nsigma(b, a)
    if np.isnan(expected):
        assert np.isnan(res.nsigma)
    else:
        assert float(res.nsigma) == pytest.approx(expected, rel=1e-12, abs=1e-12)
    n_used = int(np.count_nonzero(a + b))
    assert int(res.n_bins) == n_used
    assert int(res.n_empty) == b.size - n_used


@settings(max_examples=80, deadline=None)
@given(count_pairs())
def test_swapping_samples_flips_the_sign(pair):
    b, a = pair
    fwd, rev = nsigma(b, a).nsigma, nsigma(a, b).nsigma
    np.testing.assert_allclose(rev, -fwd, rtol=0, atol=1e-12)


@settings(max_examples=50, deadline=None)
@given(count_pairs(), st.integers(min_value=1, max_value=9))
def test_scaling_counts_scales_by_sqrt(pair, k):
    """Eq. (2) is homogeneous of degree 1/2 in the counts."""
    b, a = pair
    np.testing.assert_allclose(
        nsigma(k * b, k * a).nsigma,
        np.sqrt(k) * nsigma(b, a).nsigma,
        rtol=1e-12,
        atol=1e-12,
    )


def test_docstring_example_and_hand_value():
    assert float(
        nsigma(np.array([110.0, 100.0]), np.array([90.0, 100.0]))
    ) == pytest.approx(20 / np.sqrt(200) / np.sqrt(2))
    # one bin: (B - A)/sqrt(A + B)
    assert float(nsigma([30.0], [10.0])) == pytest.approx(20 / np.sqrt(40))


def test_empty_bins_are_left_out_and_all_empty_is_nan():
    res = nsigma(
        np.array([[4.0, 0.0], [0.0, 9.0]]), np.array([[1.0, 0.0], [0.0, 16.0]])
    )
    expected = (3 / np.sqrt(5) - 7 / np.sqrt(25)) / np.sqrt(2)
    assert float(res.nsigma) == pytest.approx(expected)
    assert int(res.n_bins) == 2
    assert int(res.n_empty) == 2
    none = nsigma(np.zeros((2, 3)), np.zeros((2, 3)))
    assert np.isnan(none.nsigma)
    assert int(none.n_bins) == 0
    assert int(none.n_empty) == 6


def test_batched_inputs_broadcast_and_match_row_by_row():
    rng = np.random.default_rng(1)
    b = rng.poisson(3.0, (4, 2, 3, 5)).astype(float)
    a = rng.poisson(3.0, (3, 5)).astype(float)
    res = nsigma(b, a, ndim=2)
    assert isinstance(res, NsigmaResult)
    assert res.nsigma.shape == res.n_bins.shape == res.n_empty.shape == (4, 2)
    for idx in np.ndindex(4, 2):
        assert res.nsigma[idx] == pytest.approx(direct_nsigma(b[idx], a), rel=1e-12)
        assert res.n_bins[idx] == np.count_nonzero(b[idx] + a)
    # 1 bin axis: every row of the last axis is its own histogram
    res1 = nsigma(b, a, ndim=1)
    assert res1.nsigma.shape == (4, 2, 3)
    assert res1.nsigma[3, 1, 2] == pytest.approx(
        direct_nsigma(b[3, 1, 2], a[2]), rel=1e-12
    )
    # default ndim: all axes of the smaller input
    assert nsigma(b, a).nsigma.shape == (4, 2)


def test_weighted_inputs_match_eq_1():
    rng = np.random.default_rng(2)
    b = rng.normal(20.0, 8.0, (6, 4))  # weighted sums may be negative
    a = rng.normal(20.0, 8.0, (6, 4))
    var_b = rng.uniform(1.0, 40.0, (6, 4))
    var_a = rng.uniform(1.0, 40.0, (6, 4))
    var_a[0, 0] = var_b[0, 0] = 0.0  # no entries: left out
    b[0, 0] = a[0, 0] = 0.0
    res = nsigma(b, a, var_b=var_b, var_a=var_a)
    assert float(res.nsigma) == pytest.approx(
        direct_nsigma(b, a, var_b, var_a), rel=1e-12
    )
    assert int(res.n_bins) == 23
    # one side weighted, the other Poisson (its variance = its counts)
    a_counts = rng.poisson(20.0, (6, 4)).astype(float)
    res = nsigma(b, a_counts, var_b=var_b)
    assert float(res.nsigma) == pytest.approx(
        direct_nsigma(b, a_counts, var_b, a_counts), rel=1e-12
    )
    # variances equal to the counts reproduce the Poisson form, Eq. (2)
    bc = rng.poisson(20.0, (6, 4)).astype(float)
    assert float(nsigma(bc, a_counts, var_b=bc, var_a=a_counts)) == pytest.approx(
        float(nsigma(bc, a_counts)), rel=1e-14
    )
    # scalar variance broadcasts
    assert float(nsigma(b, a, var_b=4.0, var_a=5.0)) == pytest.approx(
        direct_nsigma(b, a, np.full((6, 4), 4.0), np.full((6, 4), 5.0)), rel=1e-12
    )


def _weighted_hist(values, variances, edges=(0.0, 4.0)):
    h = (
        hist.Hist.new.Reg(values.shape[0], *edges)
        .Reg(values.shape[1], 0.0, 1.0)
        .Weight()
    )
    h[...] = np.stack([values, variances], axis=-1)
    return h


def test_hist_inputs_use_their_variances():
    rng = np.random.default_rng(3)
    vb, va = rng.uniform(5, 30, (4, 3)), rng.uniform(5, 30, (4, 3))
    wb, wa = rng.uniform(1, 20, (4, 3)), rng.uniform(1, 20, (4, 3))
    hb, ha = _weighted_hist(vb, wb), _weighted_hist(va, wa)
    from_hist = nsigma(hb, ha)
    from_arrays = nsigma(vb, va, var_b=wb, var_a=wa)
    assert float(from_hist.nsigma) == pytest.approx(
        float(from_arrays.nsigma), rel=1e-14
    )
    assert float(from_hist.nsigma) != pytest.approx(
        float(nsigma(vb, va).nsigma), rel=1e-3
    )
    # a histogram filled without weights: Poisson variances
    hp = hist.Hist.new.Reg(3, 0, 3).Double()
    hp.fill([0.5, 0.5, 1.5, 2.5, 2.5, 2.5])
    hq = hist.Hist.new.Reg(3, 0, 3).Double()
    hq.fill([0.5, 1.5, 1.5, 1.5])
    assert float(nsigma(hp, hq)) == pytest.approx(
        float(nsigma([2.0, 1.0, 3.0], [1.0, 3.0, 0.0]))
    )
    # a histogram against a plain array
    assert float(nsigma(hp, np.array([1.0, 3.0, 0.0]))) == pytest.approx(
        float(nsigma(hp, hq))
    )


def test_hist_inputs_with_different_binnings_raise():
    v = np.full((4, 3), 10.0)
    with pytest.raises(ShapeError, match="different binnings"):
        nsigma(_weighted_hist(v, v), _weighted_hist(v, v, edges=(0.0, 8.0)))
    h3 = hist.Hist.new.Reg(3, 0, 1).Double()
    h4 = hist.Hist.new.Reg(4, 0, 1).Double()
    with pytest.raises(ShapeError, match="different binnings"):
        nsigma(h3, h4)


def test_closed_form_on_the_signal_window_and_the_whole_histogram(flat_setup):
    w = flat_setup.signal_window
    inside = nsigma(flat_setup.b[w], flat_setup.a[w])
    assert float(inside.nsigma) == pytest.approx(3.53, abs=0.01)
    # by hand: 36 equal terms x/sqrt(2T + x), x = mu/36, over sqrt(36)
    x = flat_setup.mu / 36
    assert float(inside.nsigma) == pytest.approx(6 * x / np.sqrt(2e4 + x), rel=1e-12)
    # the whole 28x28 histogram: the same sum diluted by sqrt(784) instead of sqrt(36)
    whole = nsigma(flat_setup.b, flat_setup.a)
    assert float(whole.nsigma) == pytest.approx(
        float(inside.nsigma) * 6 / 28, rel=1e-12
    )
    assert int(whole.n_bins) == 784


def test_null_toys_are_standard_normal():
    """With >= 25 entries per bin N_sigma is N(0, 1) under the symmetry (Sec. 2).

    Given N = A + B > 0 in a bin, B ~ Binomial(N, 1/2), so (B - A)/sqrt(N) has mean 0 and
    variance exactly 1; the bins are independent, so N_sigma has mean 0 and variance 1 for any
    number of bins (up to P(N = 0) = e^-200 here). The only allowance needed is the sampling
    error: 4/sqrt(n) on the mean, 4 sqrt(1/(2n)) on the standard deviation (the excess
    kurtosis of a 100-bin sum is ~ -1e-4 and the 1/(4n) bias of the sample std is negligible).
    """
    n = 20_000
    toys = poisson_toys(flat((10, 10), 100.0), n=n, rng=12345)
    z = nsigma(toys.b, toys.a, ndim=2).nsigma
    assert z.shape == (n,)
    assert abs(z.mean()) < 4 / np.sqrt(n)
    assert abs(z.std(ddof=1) - 1.0) < 4 * np.sqrt(1 / (2 * n))


def test_bad_inputs_raise():
    good = np.ones((3, 4))
    with pytest.raises(ShapeError, match="bin shapes differ"):
        nsigma(good, np.ones((3, 5)))
    with pytest.raises(ShapeError, match="bin shapes differ"):
        nsigma(np.ones((2, 3, 4)), np.ones((5, 4)), ndim=2)
    with pytest.raises(ShapeError, match="batch axes do not broadcast"):
        nsigma(np.ones((2, 3, 4)), np.ones((3, 3, 4)), ndim=2)
    with pytest.raises(DataError, match="negative count"):
        nsigma(-good, good)
    bad = good.copy()
    bad[1, 2] = np.nan
    with pytest.raises(
        DataError, match=r"a has 1 non-finite value\(s\).*index \(1, 2\)"
    ):
        nsigma(good, bad)
    with pytest.raises(DataError, match="non-finite"):
        nsigma(np.full((3, 4), np.inf), good)
    with pytest.raises(DataError, match="empty"):
        nsigma(np.zeros((0, 4)), np.zeros((0, 4)))
    with pytest.raises(ShapeError, match="at least one bin axis"):
        nsigma(3.0, 2.0)
    with pytest.raises(ShapeError, match="ndim=3 must be between 1"):
        nsigma(good, good, ndim=3)
    with pytest.raises(ShapeError, match="ndim=0 must be between 1"):
        nsigma(good, good, ndim=0)
    with pytest.raises(DataError, match="must be an array of numbers"):
        nsigma(["x", "y"], good[0, :2])
    with pytest.raises(DataError, match="var_b has negative entries"):
        nsigma(good, good, var_b=-good)
    with pytest.raises(DataError, match=r"var_a.*non-finite"):
        nsigma(good, good, var_a=np.full((3, 4), np.nan))
    with pytest.raises(ShapeError, match="var_a has shape"):
        nsigma(good, good, var_a=np.ones(7))
    for err in (DataError, ShapeError):
        assert issubclass(err, ValueError)
