"""N_sigma with Gaussian systematic nuisances (``shifts``) against a per-bin loop, and its null.

Under B_i - A_i = sigma_i eps_i + sum_k theta_k delta_ik, with eps, theta ~ N(0, 1), the sum of
the terms (B_i - A_i)/sigma_i has variance M + sum_k (sum_i delta_ik/sigma_i)^2, so
N_sys = sum_i t_i / sqrt(M + sum_k W_k^2) is standard normal; Eq. (1) of Birman et al. 2022
alone has standard deviation sqrt(1 + sum_k s_k^2), s_k = W_k / sqrt(M).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from asymscan import DataError, ShapeError, nsigma, scan_windows
from asymscan.stats.nsigma import bin_terms


def loop_nsigma(b, a, shifts, var_b=None, var_a=None):
    """(N_sys, N_stat, [s_k]) of one histogram pair by a loop over bins (and nuisances)."""
    vb = b if var_b is None else np.broadcast_to(var_b, np.shape(b))
    va = a if var_a is None else np.broadcast_to(var_a, np.shape(a))
    b, a, vb, va = (np.ravel(x).astype(float) for x in (b, a, vb, va))
    shifts = [np.ravel(row) for row in shifts]
    total, m = 0.0, 0
    w = [0.0] * len(shifts)
    for i in range(b.size):
        var = va[i] + vb[i]
        if var > 0:
            sigma = np.sqrt(var)
            total += (b[i] - a[i]) / sigma
            m += 1
            for k, row in enumerate(shifts):
                w[k] += row[i] / sigma
    if m == 0:
        return float("nan"), float("nan"), [float("nan")] * len(shifts)
    var_sys = m + sum(x * x for x in w)
    return total / np.sqrt(var_sys), total / np.sqrt(m), [x / np.sqrt(m) for x in w]


def test_matches_a_loop_over_bins_with_empty_bins_and_weights():
    rng = np.random.default_rng(10)
    shape = (5, 4)
    b = rng.poisson(6.0, shape).astype(float)
    a = rng.poisson(6.0, shape).astype(float)
    b[0, 0] = a[0, 0] = 0.0  # an empty bin: left out of M and of the shifts' sums
    shifts = rng.normal(0.0, 2.0, (3, *shape))
    res = nsigma(b, a, shifts=shifts)
    n_sys, n_stat, s_k = loop_nsigma(b, a, shifts)
    assert float(res.nsigma) == pytest.approx(n_sys, rel=1e-13)
    assert float(res.nsigma_stat) == pytest.approx(n_stat, rel=1e-13)
    np.testing.assert_allclose(res.sys_shift, s_k, rtol=1e-13)
    assert res.sys_shift.shape == (3,)
    assert int(res.n_bins) == 19
    # N_sys = N / sqrt(1 + sum s_k^2), as in the docstring
    assert float(res.nsigma) == pytest.approx(
        n_stat / np.sqrt(1 + np.sum(np.square(s_k))), rel=1e-13
    )
    # weighted (sums of weights may be negative), one nuisance
    bw, aw = rng.normal(20.0, 8.0, shape), rng.normal(20.0, 8.0, shape)
    vb, va = rng.uniform(1.0, 30.0, shape), rng.uniform(1.0, 30.0, shape)
    one = rng.normal(0.0, 5.0, (1, *shape))
    res = nsigma(bw, aw, var_b=vb, var_a=va, shifts=one)
    n_sys, n_stat, s_k = loop_nsigma(bw, aw, one, vb, va)
    assert float(res.nsigma) == pytest.approx(n_sys, rel=1e-13)
    assert float(res.nsigma_stat) == pytest.approx(n_stat, rel=1e-13)
    assert float(res.sys_shift[0]) == pytest.approx(s_k[0], rel=1e-13)


def test_batched_counts_and_shifts_broadcast_row_by_row():
    rng = np.random.default_rng(11)
    bins = (3, 4)
    a = rng.poisson(5.0, bins).astype(float)
    b = rng.poisson(5.0, (6, *bins)).astype(float)
    b[2, 1, 1] = a[1, 1] = 0.0
    # shifts vary per toy: (K, n_toys, *bins)
    per_toy = rng.normal(0.0, 1.5, (2, 6, *bins))
    res = nsigma(b, a, shifts=per_toy, ndim=2)
    assert res.nsigma.shape == res.nsigma_stat.shape == (6,)
    assert res.sys_shift.shape == (2, 6)
    for i in range(6):
        n_sys, n_stat, s_k = loop_nsigma(b[i], a, per_toy[:, i])
        assert res.nsigma[i] == pytest.approx(n_sys, rel=1e-13)
        assert res.nsigma_stat[i] == pytest.approx(n_stat, rel=1e-13)
        np.testing.assert_allclose(res.sys_shift[:, i], s_k, rtol=1e-13)
    # shifts without batch axes apply to every toy
    fixed = per_toy[:, 0]
    res = nsigma(b, a, shifts=fixed, ndim=2)
    for i in range(6):
        assert res.nsigma[i] == pytest.approx(loop_nsigma(b[i], a, fixed)[0], rel=1e-13)
    # shifts with batch axes, counts without: the batch comes from the shifts
    res = nsigma(b[0], a, shifts=per_toy)
    assert res.nsigma.shape == res.n_bins.shape == (6,)
    for i in range(6):
        assert res.nsigma[i] == pytest.approx(
            loop_nsigma(b[0], a, per_toy[:, i])[0], rel=1e-13
        )
        assert res.nsigma_stat[i] == pytest.approx(
            float(nsigma(b[0], a).nsigma), rel=1e-15
        )


def test_without_shifts_nothing_changes():
    rng = np.random.default_rng(12)
    b = rng.poisson(4.0, (3, 7)).astype(float)
    a = rng.poisson(4.0, (3, 7)).astype(float)
    plain = nsigma(b, a, ndim=1)
    np.testing.assert_array_equal(plain.nsigma, plain.nsigma_stat)
    assert plain.sys_shift.shape == (0, 3)
    # K = 0 behaves exactly like None
    empty = nsigma(b, a, shifts=np.zeros((0, 7)), ndim=1)
    np.testing.assert_array_equal(empty.nsigma, plain.nsigma)
    assert empty.sys_shift.shape == (0, 3)
    # zero shifts: the same numbers (sqrt(M + 0) = sqrt(M))
    zero = nsigma(b, a, shifts=np.zeros((2, 7)), ndim=1)
    np.testing.assert_array_equal(zero.nsigma, plain.nsigma)
    np.testing.assert_array_equal(zero.sys_shift, 0.0)
    terms = bin_terms(b, a, ndim=1)
    assert terms.shift_terms is None
    terms = bin_terms(b, a, shifts=np.ones((2, 7)), ndim=1)
    assert terms.shift_terms.shape == (2, 3, 7)


def test_sys_shift_is_the_shift_of_nsigma_for_a_one_sigma_pull():
    """s_k is N_stat(B + delta_k, A) - N_stat(B, A) when the variances are held fixed."""
    rng = np.random.default_rng(13)
    b = rng.normal(50.0, 5.0, 12)
    a = rng.normal(50.0, 5.0, 12)
    var = rng.uniform(20.0, 80.0, 12)
    delta = rng.normal(0.0, 3.0, (2, 12))
    res = nsigma(b, a, var_b=var, var_a=var, shifts=delta)
    for k in range(2):
        moved = nsigma(b + delta[k], a, var_b=var, var_a=var).nsigma
        assert float(res.sys_shift[k]) == pytest.approx(
            float(moved - res.nsigma_stat), rel=1e-12
        )


@pytest.mark.slow
def test_null_with_nuisances_is_standard_normal():
    """Monte Carlo of the model itself: N_sys ~ N(0, 1), N_stat has std sqrt(1 + sum s_k^2).

    2e4 toys: the standard error of a standard deviation is sqrt(1/(2n)) = 0.005, so 0.02 is
    4 of them; the mean's is 0.007.
    """
    n = 20_000
    rng = np.random.default_rng(2024)
    shape = (8, 6)
    a = np.full(shape, 400.0)
    sigma = rng.uniform(15.0, 40.0, shape)
    delta = np.stack(
        [
            np.linspace(-10.0, 25.0, 48).reshape(shape),  # a tilt
            np.full(shape, 12.0),  # a normalisation
        ]
    )
    eps = rng.standard_normal((n, *shape))
    theta = rng.standard_normal((n, 2))
    b = a + sigma * eps + np.einsum("nk,k...->n...", theta, delta)
    var = 0.5 * sigma**2  # var_a + var_b = sigma^2
    res = nsigma(b, a, var_b=var, var_a=var, shifts=delta, ndim=2)
    assert abs(res.nsigma.mean()) < 0.03
    assert abs(res.nsigma.std(ddof=1) - 1.0) < 0.02
    expected = np.sqrt(1.0 + np.sum(res.sys_shift[:, 0] ** 2))
    assert np.allclose(res.sys_shift, res.sys_shift[:, :1], rtol=1e-13, atol=0)
    assert expected > 1.5  # the systematics matter: the test can tell
    assert abs(res.nsigma_stat.std(ddof=1) / expected - 1.0) < 0.02
    # and every window of a few sizes (the same toys, the window's own normalisation)
    scan = scan_windows(
        b, a, var_b=var, var_a=var, shifts=delta, sizes=[(2, 2), (3, 6), (8, 1)]
    )
    for size in [(2, 2), (3, 6), (8, 1)]:
        z = scan.map(size).reshape(n, -1)
        stat = scan.map(size, systematics=False).reshape(n, -1)
        widths = np.sqrt(1.0 + (scan.shift_map(size).reshape(2, n, -1) ** 2).sum(0))
        for j in range(0, z.shape[1], 5):
            assert abs(z[:, j].mean()) < 0.03
            assert abs(z[:, j].std(ddof=1) - 1.0) < 0.02
            assert abs(stat[:, j].std(ddof=1) / widths[0, j] - 1.0) < 0.02


def test_bad_shifts_raise_clear_errors():
    b = np.ones((3, 4))
    with pytest.raises(ShapeError, match=r"shifts has shape \(3, 4\), but must be"):
        nsigma(b, b, shifts=np.ones((3, 4)))  # the nuisance axis is missing
    with pytest.raises(ShapeError, match=r"shifts\[None\]"):
        nsigma(b, b, shifts=np.ones(4), ndim=1)
    with pytest.raises(ShapeError, match=r"last 2 axes do not match the bin shape"):
        nsigma(b, b, shifts=np.ones((2, 4, 3)))
    with pytest.raises(ShapeError, match="do not broadcast"):
        nsigma(np.ones((5, 4)), np.ones(4), shifts=np.ones((2, 3, 4)), ndim=1)
    bad = np.ones((2, 3, 4))
    bad[1, 2, 3] = np.nan
    with pytest.raises(DataError, match=r"shifts has 1 non-finite.*\(1, 2, 3\)"):
        nsigma(b, b, shifts=bad)
    with pytest.raises(DataError, match="non-finite"):
        nsigma(b, b, shifts=np.full((1, 3, 4), np.inf))
    with pytest.raises(DataError, match="must be an array of numbers"):
        nsigma(b, b, shifts=[["x"] * 4] * 3)
    with pytest.raises(ShapeError, match="last 2 axes do not match"):
        nsigma(b, b, shifts=np.ones((0, 4, 4)))  # even with K = 0


small_counts = st.integers(min_value=0, max_value=40).map(float)
bin_shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)


@st.composite
def pairs_with_shifts(draw):
    shape = draw(bin_shapes)
    b = draw(hnp.arrays(float, shape, elements=small_counts))
    a = draw(hnp.arrays(float, shape, elements=small_counts))
    k = draw(st.integers(0, 3))
    shifts = draw(
        hnp.arrays(
            float,
            (k, *shape),
            elements=st.floats(-30.0, 30.0, allow_nan=False, allow_subnormal=False),
        )
    )
    return b, a, shifts


@settings(max_examples=80, deadline=None)
@given(pairs_with_shifts())
def test_swapping_samples_and_shifts_flips_the_sign(case):
    b, a, shifts = case
    fwd = nsigma(b, a, shifts=shifts)
    rev = nsigma(a, b, shifts=-shifts)
    np.testing.assert_allclose(rev.nsigma, -fwd.nsigma, rtol=0, atol=1e-12)
    np.testing.assert_allclose(rev.sys_shift, -fwd.sys_shift, rtol=0, atol=1e-12)
    # and the loop agrees
    n_sys = loop_nsigma(b, a, shifts)[0]
    if np.isnan(n_sys):
        assert np.isnan(fwd.nsigma)
    else:
        assert float(fwd.nsigma) == pytest.approx(n_sys, rel=1e-12, abs=1e-12)
    scan_f = scan_windows(b, a, shifts=shifts, sizes="square")
    scan_r = scan_windows(a, b, shifts=-shifts, sizes="square")
    for k in range(1, min(b.shape) + 1):
        np.testing.assert_allclose(
            scan_r.map(k), -scan_f.map(k), rtol=0, atol=1e-12, equal_nan=True
        )
