"""Tests of the window scan (summed-area tables) against a direct loop over every window."""

from __future__ import annotations

import itertools

import hist
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asymscan import DataError, ShapeError, WindowScan, nsigma, scan_windows

ATOL = 1e-9


def window_slices(start, size):
    return tuple(slice(i, i + k) for i, k in zip(start, size, strict=True))


def direct_window(b, a, window, min_entries=0.0, var_b=None, var_a=None) -> float:
    """N_sigma of one window, Eq. (1) restricted to its bins; NaN when the window is skipped."""
    bw, aw = b[window], a[window]
    vb = bw if var_b is None else var_b[window]
    va = aw if var_a is None else var_a[window]
    var = va + vb
    used = var > 0
    if not used.any() or (aw + bw).sum() < min_entries:
        return float("nan")
    return float(((bw - aw)[used] / np.sqrt(var[used])).sum() / np.sqrt(used.sum()))


def direct_map(b, a, size, min_entries=0.0, var_b=None, var_a=None) -> np.ndarray:
    out_shape = tuple(n - k + 1 for n, k in zip(b.shape, size, strict=True))
    out = np.full(out_shape, np.nan)
    for start in np.ndindex(*out_shape):
        out[start] = direct_window(
            b, a, window_slices(start, size), min_entries, var_b, var_a
        )
    return out


def _score(x, two_sided):
    return np.abs(x) if two_sided else x


def check_scan_against_direct(res, b, a, sizes, min_entries, two_sided):
    """Every output of one (unbatched) scan against the per-window loop."""
    shape = b.shape
    maps = {k: direct_map(b, a, k, min_entries) for k in sizes}
    assert res.n_windows == sum(m.size for m in maps.values())
    assert int(res.n_skipped) == sum(int(np.isnan(m).sum()) for m in maps.values())
    for k, expected in maps.items():
        np.testing.assert_allclose(
            res.map(k), expected, rtol=0, atol=ATOL, equal_nan=True
        )
    # best per size: the value achieving the best score (ties: any window achieving it)
    for k in itertools.product(*(range(1, n + 1) for n in shape)):
        got = res.best_per_size[tuple(i - 1 for i in k)]
        if k not in maps or np.isnan(maps[k]).all():
            assert np.isnan(got)
            continue
        values = maps[k][~np.isnan(maps[k])]
        scores = _score(values, two_sided)
        assert _score(got, two_sided) == pytest.approx(scores.max(), abs=ATOL)
        assert np.isclose(values, got, rtol=0, atol=ATOL).any()
    # best overall
    every = np.concatenate([m.ravel() for m in maps.values()])
    every = every[~np.isnan(every)]
    if every.size == 0:
        assert np.isnan(res.best_nsigma)
        np.testing.assert_array_equal(res.best_window, -1)
        return
    best = float(res.best_nsigma)
    assert _score(best, two_sided) == pytest.approx(
        _score(every, two_sided).max(), abs=ATOL
    )
    window = tuple(slice(int(lo), int(hi)) for lo, hi in res.best_window)
    assert tuple(w.stop - w.start for w in window) in maps
    assert direct_window(b, a, window, min_entries) == pytest.approx(best, abs=ATOL)


@st.composite
def scan_cases(draw):
    ndim = draw(st.integers(1, 3))
    max_side = {1: 8, 2: 5, 3: 3}[ndim]
    shape = tuple(draw(st.integers(1, max_side)) for _ in range(ndim))
    lam = draw(st.sampled_from([0.3, 2.0, 10.0]))
    seed = draw(st.integers(0, 2**32 - 1))
    batch = draw(st.sampled_from([(), (2,)]))
    rng = np.random.default_rng(seed)
    b = rng.poisson(lam, (*batch, *shape)).astype(float)
    a = rng.poisson(lam, shape).astype(float)
    mode = draw(st.sampled_from(["all", "square", "list"]))
    if mode == "all":
        sizes_arg = "all"
        sizes = list(itertools.product(*(range(1, n + 1) for n in shape)))
    elif mode == "square":
        sizes_arg = "square"
        sizes = [(k,) * ndim for k in range(1, min(shape) + 1)]
    else:
        picked = draw(
            st.lists(
                st.tuples(*(st.integers(1, n) for n in shape)),
                min_size=1,
                max_size=3,
                unique=True,
            )
        )
        sizes_arg, sizes = picked, picked
    min_entries = draw(st.sampled_from([0, 0, 1, 4, 15]))
    two_sided = draw(st.booleans())
    return b, a, sizes_arg, sizes, min_entries, two_sided


@settings(max_examples=80, deadline=None)
@given(scan_cases())
def test_scan_matches_direct_loop(case):
    b, a, sizes_arg, sizes, min_entries, two_sided = case
    res = scan_windows(
        b, a, sizes=sizes_arg, min_entries=min_entries, two_sided=two_sided, ndim=a.ndim
    )
    assert isinstance(res, WindowScan)
    assert res.two_sided is two_sided
    assert res.min_entries == min_entries
    nd = a.ndim
    batch = b.shape[: b.ndim - nd]
    assert res.best_window.shape == (*batch, nd, 2)
    assert res.best_per_size.shape == (*batch, *a.shape)
    for idx in np.ndindex(*batch):
        row = WindowScanRow(res, idx)
        check_scan_against_direct(row, b[idx], a, sizes, min_entries, two_sided)


class WindowScanRow:
    """One batch entry of a WindowScan, with the same attributes as an unbatched one."""

    def __init__(self, res, idx):
        self.n_windows = res.n_windows
        self.n_skipped = res.n_skipped[idx]
        self.best_nsigma = res.best_nsigma[idx]
        self.best_window = res.best_window[idx]
        self.best_per_size = res.best_per_size[idx]
        self._map = res.map
        self._idx = idx

    def map(self, size):
        return self._map(size)[self._idx]


@settings(max_examples=60, deadline=None)
@given(scan_cases())
def test_swapping_samples_flips_every_window(case):
    b, a, sizes_arg, sizes, min_entries, two_sided = case
    b = b.reshape(-1, *a.shape)[0]
    fwd = scan_windows(
        b, a, sizes=sizes_arg, min_entries=min_entries, two_sided=two_sided
    )
    rev = scan_windows(
        a, b, sizes=sizes_arg, min_entries=min_entries, two_sided=two_sided
    )
    maps = [fwd.map(k) for k in sizes]
    for k, m in zip(sizes, maps, strict=True):
        np.testing.assert_allclose(rev.map(k), -m, rtol=0, atol=ATOL, equal_nan=True)
    assert int(rev.n_skipped) == int(fwd.n_skipped)
    every = np.concatenate([m.ravel() for m in maps])
    if np.isnan(every).all():
        assert np.isnan(rev.best_nsigma)
        assert np.isnan(fwd.best_nsigma)
    elif two_sided:
        assert float(rev.best_nsigma) == pytest.approx(
            -float(fwd.best_nsigma), abs=ATOL
        )
    else:  # the best excess of A is the most negative window of B - A
        assert float(rev.best_nsigma) == pytest.approx(-np.nanmin(every), abs=ATOL)


def test_one_window_of_the_full_size_is_nsigma():
    rng = np.random.default_rng(0)
    b, a = (
        rng.poisson(5.0, (4, 6)).astype(float),
        rng.poisson(5.0, (4, 6)).astype(float),
    )
    res = scan_windows(b, a, sizes=[(4, 6)])
    assert res.n_windows == 1
    assert float(res.best_nsigma) == pytest.approx(float(nsigma(b, a)), rel=1e-12)
    np.testing.assert_array_equal(res.best_window, [[0, 4], [0, 6]])


def test_weighted_scan_matches_eq_1_per_window():
    rng = np.random.default_rng(4)
    shape = (5, 4)
    b = rng.normal(10.0, 5.0, shape)
    a = rng.normal(10.0, 5.0, shape)
    var_b = rng.uniform(0.5, 20.0, shape)
    var_a = rng.uniform(0.5, 20.0, shape)
    var_a[1, 2] = var_b[1, 2] = 0.0
    b[1, 2] = a[1, 2] = 0.0
    res = scan_windows(b, a, var_b=var_b, var_a=var_a, two_sided=True)
    every = []
    for k in itertools.product(range(1, 6), range(1, 5)):
        expected = direct_map(b, a, k, var_b=var_b, var_a=var_a)
        np.testing.assert_allclose(
            res.map(k), expected, rtol=0, atol=ATOL, equal_nan=True
        )
        every.append(expected.ravel())
    every = np.concatenate(every)
    assert abs(float(res.best_nsigma)) == pytest.approx(
        np.nanmax(np.abs(every)), abs=ATOL
    )
    window = tuple(slice(int(lo), int(hi)) for lo, hi in res.best_window)
    assert direct_window(b, a, window, var_b=var_b, var_a=var_a) == pytest.approx(
        float(res.best_nsigma), abs=ATOL
    )
    assert int(res.n_skipped) == 1  # the 1x1 window on the empty bin


def _weighted_hist(values, variances, edges=(0.0, 5.0)):
    h = (
        hist.Hist.new.Reg(values.shape[0], *edges)
        .Reg(values.shape[1], -1.0, 1.0)
        .Weight()
    )
    h[...] = np.stack([values, variances], axis=-1)
    return h


def test_hist_inputs_match_arrays_with_variances():
    rng = np.random.default_rng(6)
    vb, va = rng.uniform(5, 30, (5, 4)), rng.uniform(5, 30, (5, 4))
    wb, wa = rng.uniform(1, 40, (5, 4)), rng.uniform(1, 40, (5, 4))
    from_hist = scan_windows(
        _weighted_hist(vb, wb), _weighted_hist(va, wa), min_entries=30
    )
    from_arrays = scan_windows(vb, va, var_b=wb, var_a=wa, min_entries=30)
    assert float(from_hist.best_nsigma) == pytest.approx(
        float(from_arrays.best_nsigma), rel=1e-14
    )
    np.testing.assert_array_equal(from_hist.best_window, from_arrays.best_window)
    np.testing.assert_allclose(
        from_hist.best_per_size, from_arrays.best_per_size, rtol=1e-14, equal_nan=True
    )
    assert int(from_hist.n_skipped) == int(from_arrays.n_skipped)
    np.testing.assert_allclose(
        from_hist.map((2, 3)), from_arrays.map((2, 3)), rtol=1e-14
    )


def test_hist_inputs_with_different_binnings_raise():
    v = np.full((5, 4), 10.0)
    with pytest.raises(ShapeError, match="different binnings"):
        scan_windows(_weighted_hist(v, v), _weighted_hist(v, v, edges=(0.0, 6.0)))


def test_flat_closed_form_best_window_is_the_signal_square(flat_setup):
    res = scan_windows(flat_setup.b, flat_setup.a)
    assert float(res.best_nsigma) == pytest.approx(3.53, abs=0.01)
    np.testing.assert_array_equal(res.best_window, [[11, 17], [11, 17]])
    best_size = np.unravel_index(
        np.nanargmax(res.best_per_size), res.best_per_size.shape
    )
    assert tuple(int(i) + 1 for i in best_size) == (6, 6)
    assert res.n_windows == (28 * 29 // 2) ** 2
    assert int(res.n_skipped) == 0
    # the square sizes of Fig. 3: rising to the 6x6 window, then falling
    sq = scan_windows(flat_setup.b, flat_setup.a, sizes="square")
    per_k = np.array([sq.best_per_size[k - 1, k - 1] for k in range(1, 29)])
    assert int(np.argmax(per_k)) + 1 == 6
    assert np.all(np.diff(per_k[:6]) > 0)
    assert np.all(np.diff(per_k[5:]) < 0)
    assert sq.map(6)[11, 11] == pytest.approx(float(res.best_nsigma), rel=1e-12)


def test_batched_scan_and_broadcasting():
    rng = np.random.default_rng(7)
    b = rng.poisson(4.0, (3, 6)).astype(float)
    a = rng.poisson(4.0, (3, 6)).astype(float)
    res = scan_windows(b, a, ndim=1)
    assert res.best_nsigma.shape == (3,)
    assert res.map(2).shape == (3, 5)
    for i in range(3):
        single = scan_windows(b[i], a[i])
        assert float(res.best_nsigma[i]) == pytest.approx(
            float(single.best_nsigma), abs=ATOL
        )
        np.testing.assert_allclose(
            res.map(3)[i], single.map(3), atol=ATOL, equal_nan=True
        )


def test_all_windows_skipped():
    res = scan_windows(np.zeros((3, 3)), np.zeros((3, 3)))
    assert np.isnan(res.best_nsigma)
    np.testing.assert_array_equal(res.best_window, -1)
    assert np.isnan(res.best_per_size).all()
    assert int(res.n_skipped) == res.n_windows == 36
    res = scan_windows(np.ones(4), np.ones(4), min_entries=100)
    assert np.isnan(res.best_nsigma)
    assert int(res.n_skipped) == 10


def test_bad_inputs_raise():
    x = np.ones((4, 4))
    with pytest.raises(ShapeError, match=r"window size \(5, 5\) does not fit"):
        scan_windows(x, x, sizes=[5])
    with pytest.raises(ShapeError, match="does not fit"):
        scan_windows(x, x, sizes=[(2, 0)])
    with pytest.raises(ShapeError, match="does not fit"):
        scan_windows(x, x, sizes=[(2, 2, 2)])
    with pytest.raises(ShapeError, match="does not fit"):
        scan_windows(x, x).map((1, 5))
    with pytest.raises(ShapeError, match="sizes must be 'all', 'square'"):
        scan_windows(x, x, sizes="every")
    with pytest.raises(ShapeError, match="sizes is empty"):
        scan_windows(x, x, sizes=[])
    with pytest.raises(ShapeError, match="at most 3 bin axes"):
        scan_windows(np.ones((2, 2, 2, 2)), np.ones((2, 2, 2, 2)))
    with pytest.raises(ShapeError, match="ndim=3 must be between"):
        scan_windows(x, x, ndim=3)
    with pytest.raises(ShapeError, match="bin shapes differ"):
        scan_windows(x, np.ones((4, 5)))
    with pytest.raises(DataError, match="negative count"):
        scan_windows(x, -x)
    with pytest.raises(DataError, match="non-finite"):
        scan_windows(x, np.full((4, 4), np.nan))
    with pytest.raises(DataError, match="empty"):
        scan_windows(np.ones((0, 4)), np.ones((0, 4)))
