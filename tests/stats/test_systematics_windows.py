"""The window scan with systematic shifts and with ``entries``, against a per-window loop.

Every window of every size is compared with :func:`asymscan.nsigma` called on the window's own
bins (and shifts), which is itself checked against a per-bin loop in test_systematics_nsigma.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from asymscan import DataError, ShapeError, nsigma, scan_windows

RTOL = 1e-12
ATOL = (
    1e-13  # windows whose N is ~0: the summed-area differences round at ~1e-15 absolute
)


def window_slices(start, size):
    return tuple(slice(i, i + k) for i, k in zip(start, size, strict=True))


def loop_maps(b, a, shifts, size, *, var_b=None, var_a=None, entries=None, cut=0.0):
    """N_sys, N_stat and s_k of every window of ``size`` of one (unbatched) pair, by nsigma."""
    out_shape = tuple(n - k + 1 for n, k in zip(a.shape, size, strict=True))
    n_sys = np.full(out_shape, np.nan)
    n_stat = np.full(out_shape, np.nan)
    s_k = np.full((shifts.shape[0], *out_shape), np.nan)
    for start in np.ndindex(*out_shape):
        w = window_slices(start, size)
        counts = (a[w] + b[w]).sum() if entries is None else entries[w].sum()
        if counts < cut:
            continue
        res = nsigma(
            b[w],
            a[w],
            var_b=None if var_b is None else var_b[w],
            var_a=None if var_a is None else var_a[w],
            shifts=shifts[(slice(None), *w)],
        )
        n_sys[start], n_stat[start] = res.nsigma, res.nsigma_stat
        s_k[(slice(None), *start)] = res.sys_shift
    return n_sys, n_stat, s_k


def all_sizes(shape):
    return list(itertools.product(*(range(1, n + 1) for n in shape)))


def check_every_window(scan, b, a, shifts, batch_index, **kwargs):
    """Every map of one batch entry of ``scan`` against the loop; returns the best N found."""
    best = -np.inf
    for size in all_sizes(a.shape):
        n_sys, n_stat, s_k = loop_maps(b, a, shifts, size, **kwargs)
        got = scan.map(size)[batch_index]
        np.testing.assert_allclose(got, n_sys, rtol=RTOL, atol=ATOL, equal_nan=True)
        np.testing.assert_allclose(
            scan.map(size, systematics=False)[batch_index],
            n_stat,
            rtol=RTOL,
            atol=ATOL,
            equal_nan=True,
        )
        np.testing.assert_allclose(
            scan.shift_map(size)[(slice(None), *batch_index)],
            s_k,
            rtol=RTOL,
            atol=ATOL,
            equal_nan=True,
        )
        if not np.isnan(n_sys).all():
            best = max(best, np.nanmax(n_sys))
    return best


@pytest.mark.parametrize(
    ("shape", "n_shifts"), [((9,), 1), ((9,), 3), ((4, 5), 2), ((3, 2, 4), 2)]
)
def test_every_window_matches_nsigma_of_its_bins(shape, n_shifts):
    rng = np.random.default_rng(sum(shape) + n_shifts)
    b = rng.poisson(4.0, shape).astype(float)
    a = rng.poisson(4.0, shape).astype(float)
    empty = rng.random(shape) < 0.2  # empty bins, inside windows and alone
    b[empty] = a[empty] = 0.0
    shifts = rng.normal(0.0, 2.0, (n_shifts, *shape))
    scan = scan_windows(b, a, shifts=shifts)
    assert scan.n_shifts == n_shifts
    best = check_every_window(scan, b, a, shifts, ())
    assert float(scan.best_nsigma) == pytest.approx(best, rel=RTOL)
    window = tuple(slice(int(lo), int(hi)) for lo, hi in scan.best_window)
    assert float(
        nsigma(b[window], a[window], shifts=shifts[(slice(None), *window)]).nsigma
    ) == pytest.approx(best, rel=RTOL)
    expected_skipped = sum(
        int(np.isnan(loop_maps(b, a, shifts, k)[0]).sum()) for k in all_sizes(shape)
    )
    assert int(scan.n_skipped) == expected_skipped
    # the systematics change the answer (the comparison above can fail)
    plain = scan_windows(b, a)
    assert not np.allclose(plain.map(shape), scan.map(shape))


def test_batched_toys_with_per_toy_shifts_weights_and_min_entries():
    """Batch axes on the counts and on the shifts (``(K, n_toys, *bins)``), weighted inputs."""
    rng = np.random.default_rng(5)
    shape, n = (4, 3), 3
    a = rng.normal(12.0, 4.0, shape)
    b = rng.normal(12.0, 4.0, (n, *shape))
    var_a = rng.uniform(2.0, 20.0, shape)
    var_b = rng.uniform(2.0, 20.0, (n, *shape))
    var_a[0, 1] = var_b[:, 0, 1] = 0.0  # no entries in that bin: left out
    shifts = rng.normal(0.0, 3.0, (2, n, *shape))
    entries = rng.integers(0, 30, (n, *shape)).astype(float)
    scan = scan_windows(
        b,
        a,
        var_b=var_b,
        var_a=var_a,
        shifts=shifts,
        entries=entries,
        min_entries=40,
        two_sided=True,
    )
    assert scan.best_nsigma.shape == (n,)
    assert scan.shift_map((2, 2)).shape == (2, n, 3, 2)
    for i in range(n):
        check_every_window(
            scan,
            b[i],
            a,
            shifts[:, i],
            (i,),
            var_b=var_b[i],
            var_a=var_a,
            entries=entries[i],
            cut=40,
        )
    # shifts with batch axes, counts without: the batch comes from the shifts
    scan1 = scan_windows(b[0], a, var_b=var_b[0], var_a=var_a, shifts=shifts)
    assert scan1.best_nsigma.shape == (n,)
    for i in range(n):
        check_every_window(
            scan1, b[0], a, shifts[:, i], (i,), var_b=var_b[0], var_a=var_a
        )


def test_shifts_the_same_for_every_toy_use_one_table():
    """Label-exchange toys keep A + B per bin: sigma and delta/sigma are the same for all."""
    rng = np.random.default_rng(8)
    shape = (5, 4)
    total = rng.poisson(20.0, shape).astype(float)
    total[2, 2] = 0.0
    a = rng.binomial(total.astype(int), 0.5, (6, *shape)).astype(float)
    b = total - a
    shifts = rng.normal(0.0, 2.0, (2, *shape))
    scan = scan_windows(b, a, shifts=shifts, min_entries=5, ndim=2)
    assert scan._tables["w"].shape[1] == 1  # one table row for all the toys
    for i in range(6):
        check_every_window(scan, b[i], a[i], shifts, (i,), cut=5)


def test_without_shifts_or_with_zero_shifts_nothing_changes(flat_setup):
    b, a = flat_setup.b, flat_setup.a
    plain = scan_windows(b, a, sizes="square")
    for shifts in (None, np.zeros((0, 28, 28))):
        same = scan_windows(b, a, shifts=shifts, sizes="square")
        assert same.n_shifts == 0
        assert "w" not in same._tables
        np.testing.assert_array_equal(same.best_per_size, plain.best_per_size)
        np.testing.assert_array_equal(same.map(6), plain.map(6))
        assert same.shift_map(6).shape == (0, 23, 23)
    zero = scan_windows(b, a, shifts=np.zeros((2, 28, 28)), sizes="square")
    np.testing.assert_allclose(zero.best_per_size, plain.best_per_size, rtol=1e-15)
    # a 10% normalisation uncertainty on the signal window's background: the 3.53 of Sec. 4
    # is divided by sqrt(1 + s^2), s = 36 * 1000 / sqrt(2e4 + x) / 6 for the 6x6 window
    shifts = np.full((1, 28, 28), 0.1 * 1e4)
    sys = scan_windows(b, a, shifts=shifts, sizes=[6])
    x = flat_setup.mu / 36
    s = 36 * 1e3 / np.sqrt(2e4 + x) / 6
    assert sys.map(6)[11, 11] == pytest.approx(
        plain.map(6)[11, 11] / np.sqrt(1 + s * s), rel=1e-12
    )
    assert sys.shift_map(6)[0, 11, 11] == pytest.approx(s, rel=1e-12)


def test_entries_change_which_windows_are_skipped():
    """``entries`` replaces A + B in the min_entries cut: skipped windows counted exactly."""
    rng = np.random.default_rng(9)
    shape = (6, 5)
    b = rng.uniform(0.0, 3.0, shape)  # sums of small weights: few "entries" by A + B
    a = rng.uniform(0.0, 3.0, shape)
    var = rng.uniform(0.1, 1.0, shape)
    entries = rng.integers(0, 12, shape).astype(float)
    cut = 25.0
    by_weights = scan_windows(b, a, var_b=var, var_a=var, min_entries=cut)
    by_events = scan_windows(
        b, a, var_b=var, var_a=var, min_entries=cut, entries=entries
    )
    expected_w = expected_e = 0
    for size in all_sizes(shape):
        out = tuple(n - k + 1 for n, k in zip(shape, size, strict=True))
        sums_w = np.array(
            [(a + b)[window_slices(s, size)].sum() for s in np.ndindex(*out)]
        ).reshape(out)
        sums_e = np.array(
            [entries[window_slices(s, size)].sum() for s in np.ndindex(*out)]
        ).reshape(out)
        np.testing.assert_array_equal(np.isnan(by_weights.map(size)), sums_w < cut)
        np.testing.assert_array_equal(np.isnan(by_events.map(size)), sums_e < cut)
        # where kept, the values are the same: only the cut changes
        kept = ~np.isnan(by_events.map(size)) & ~np.isnan(by_weights.map(size))
        np.testing.assert_array_equal(
            by_events.map(size)[kept], by_weights.map(size)[kept]
        )
        expected_w += int((sums_w < cut).sum())
        expected_e += int((sums_e < cut).sum())
    assert int(by_weights.n_skipped) == expected_w
    assert int(by_events.n_skipped) == expected_e
    assert expected_w != expected_e
    # entries without min_entries: no cut at all
    none = scan_windows(b, a, var_b=var, var_a=var, entries=entries)
    assert int(none.n_skipped) == 0
    # entries that broadcast over a batch of toys
    batch = scan_windows(
        np.stack([b, a]), a, var_b=var, var_a=var, min_entries=cut, entries=entries
    )
    assert int(batch.n_skipped[0]) == expected_e
    assert int(batch.n_skipped[1]) == expected_e


def test_bad_shifts_and_entries_raise():
    x = np.ones((4, 4))
    with pytest.raises(ShapeError, match=r"must be \(K, \.\.\., \*bins\)"):
        scan_windows(x, x, shifts=np.ones((4, 4)))
    with pytest.raises(ShapeError, match="do not match the bin shape"):
        scan_windows(x, x, shifts=np.ones((1, 4, 5)))
    with pytest.raises(ShapeError, match="do not broadcast"):
        scan_windows(np.ones((3, 4, 4)), x, shifts=np.ones((1, 2, 4, 4)), ndim=2)
    bad = np.ones((1, 4, 4))
    bad[0, 1, 2] = np.nan
    with pytest.raises(DataError, match=r"shifts has 1 non-finite.*\(0, 1, 2\)"):
        scan_windows(x, x, shifts=bad)
    with pytest.raises(DataError, match="entries has negative entries"):
        scan_windows(x, x, entries=-x, min_entries=1)
    with pytest.raises(DataError, match="entries has 1 non-finite"):
        scan_windows(x, x, entries=np.where(np.eye(4)[0] > 0, np.nan, 1.0))
    with pytest.raises(ShapeError, match=r"entries has shape \(3, 4\)"):
        scan_windows(x, x, entries=np.ones((3, 4)))
    with pytest.raises(ShapeError, match=r"entries has shape \(2, 4, 4\)"):
        scan_windows(x, x, entries=np.ones((2, 4, 4)))  # would add a batch axis
