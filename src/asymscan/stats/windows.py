"""N_sigma of every axis-aligned window of a histogram pair, from summed-area tables.

The window version of Eq. (1) of Birman et al. 2022 is ``D_w / sqrt(M_w)`` with ``D_w`` the sum of
the per-bin terms ``(B_i - A_i)/sigma_i`` and ``M_w`` the number of bins with entries in the
window. Both sums come from summed-area (prefix-sum) tables: a window of any size costs one
difference per axis, i.e. 2^d look-ups, for all toys at once. With K Gaussian systematic
nuisances (shifts ``delta_ik`` of B - A, see :func:`~asymscan.stats.nsigma.nsigma`), one more
table per nuisance, of ``delta_ik/sigma_i``, gives the window sums ``W_k`` and
``N_sys = D_w / sqrt(M_w + sum_k W_k^2)``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._arrays import as_variance
from ..errors import ShapeError
from .nsigma import bin_terms

__all__ = ("WindowScan", "count_windows_above", "scan_windows")

Size = tuple[int, ...]


def _prefix(x: np.ndarray, nd: int) -> np.ndarray:
    """Summed-area table of the last ``nd`` axes, with a leading zero row on each."""
    pad = [(0, 0)] * (x.ndim - nd) + [(1, 0)] * nd
    out = np.pad(x.astype(float, copy=False), pad)
    for axis in range(x.ndim - nd, x.ndim):
        np.cumsum(out, axis=axis, out=out)
    return out


def _window_sums(table: np.ndarray, size: Size) -> np.ndarray:
    """Sums of every window of ``size`` (one difference of the table per axis)."""
    out = table
    nd = len(size)
    for j, k in enumerate(size):
        axis = table.ndim - nd + j
        hi = [slice(None)] * table.ndim
        lo = [slice(None)] * table.ndim
        hi[axis], lo[axis] = slice(k, None), slice(None, -k)
        out = out[tuple(hi)] - out[tuple(lo)]
    return out


@dataclass
class WindowScan:
    """The result of :func:`scan_windows`, batched over the inputs' leading axes.

    Attributes
    ----------
    best_nsigma
        N_sigma of the best window (N_sys, the systematics included, with shifts): the largest
        (B in excess), or the largest in magnitude (sign kept) when ``two_sided``; NaN when
        every window was skipped.
    best_window
        ``(..., ndim, 2)`` integer array: the best window's ``[start, stop)`` bin range per axis.
    best_per_size
        ``(..., n_1, ..., n_d)``: the best N_sigma among windows of size ``(k_1, ..., k_d)`` at
        index ``[k_1 - 1, ..., k_d - 1]``; NaN for sizes not scanned or wholly skipped.
    n_windows
        Windows examined per batch entry (all positions of all requested sizes).
    n_skipped
        Windows skipped per batch entry (fewer than ``min_entries`` entries, or no entries).
    n_shifts
        K, the number of systematic nuisances (0 without shifts).
    two_sided, min_entries
        The settings of the scan.
    """

    best_nsigma: np.ndarray
    best_window: np.ndarray
    best_per_size: np.ndarray
    n_windows: int
    n_skipped: np.ndarray
    two_sided: bool
    min_entries: float
    n_shifts: int
    _tables: dict[str, np.ndarray] = field(repr=False)
    _batch: tuple[int, ...] = field(repr=False)

    def _size(self, size: int | Iterable[int]) -> Size:
        shape = self._tables["d"].shape[1:]
        return _normalise_size(size, tuple(n - 1 for n in shape))

    def map(self, size: int | Iterable[int], *, systematics: bool = True) -> np.ndarray:
        """N_sigma of every window of ``size``: shape ``(..., n_1 - k_1 + 1, ...)``, NaN if skipped.

        Entry ``[..., i_1, ..., i_d]`` is the window starting at bin ``i_j`` on axis ``j``. With
        shifts this is N_sys (the systematics included); ``systematics=False`` gives Eq. (1)
        with statistical uncertainties only.
        """
        tables = self._tables
        if not systematics:
            tables = {k: v for k, v in tables.items() if k != "w"}
        value = _nsigma_of(tables, self._size(size), self.min_entries)
        return value.reshape(*self._batch, *value.shape[1:])

    def shift_map(self, size: int | Iterable[int]) -> np.ndarray:
        """s_k of every window of ``size``: shape ``(K, ..., n_1 - k_1 + 1, ...)``, NaN if skipped.

        The shift of the window's statistic-only N_sigma for a +1 sigma pull of nuisance k,
        ``W_k / sqrt(M_w)`` (the systematic part: ``N_sys = N / sqrt(1 + sum_k s_k^2)``).
        """
        k = self._size(size)
        table = self._tables["d"]
        n = table.shape[0]
        starts = tuple(s - v for s, v in zip(table.shape[1:], k, strict=True))
        if "w" not in self._tables:
            return np.zeros((0, *self._batch, *starts))
        w = _window_sums(self._tables["w"], k)
        m = _window_sums(self._tables["m"], k) if "m" in self._tables else np.prod(k)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.where(m > 0.5, w / np.sqrt(np.maximum(m, 1)), np.nan)
        if "e" in self._tables:
            few = _window_sums(self._tables["e"], k) < self.min_entries
            value = np.where(few, np.nan, value)
        value = np.broadcast_to(value, (value.shape[0], n, *starts))
        return value.reshape(value.shape[0], *self._batch, *starts)


def _normalise_size(size: int | Iterable[int], shape: tuple[int, ...]) -> Size:
    k = (int(size),) * len(shape) if np.isscalar(size) else tuple(int(v) for v in size)
    if len(k) != len(shape) or any(
        not 1 <= v <= n for v, n in zip(k, shape, strict=True)
    ):
        msg = f"window size {k} does not fit the histogram of shape {shape} (each side 1..n)"
        raise ShapeError(msg)
    return k


def _sizes(sizes: Any, shape: tuple[int, ...]) -> list[Size]:
    if isinstance(sizes, str):
        if sizes == "all":
            return list(itertools.product(*(range(1, n + 1) for n in shape)))
        if sizes == "square":
            return [(k,) * len(shape) for k in range(1, min(shape) + 1)]
        msg = f"sizes must be 'all', 'square' or a list of window sizes, got {sizes!r}"
        raise ShapeError(msg)
    if np.isscalar(sizes):
        sizes = [sizes]
    out = [_normalise_size(k, shape) for k in sizes]
    if not out:
        msg = "sizes is empty: give at least one window size"
        raise ShapeError(msg)
    return out


def _nsigma_of(
    tables: dict[str, np.ndarray], size: Size, min_entries: float
) -> np.ndarray:
    """N_sigma of every window of one size (NaN where skipped), batch axis flattened first.

    The tables of bins with entries ("m"), of entries ("e") and of the shifts ("w", one per
    nuisance along a leading axis) may have a batch length of one when they are the same for
    every batch entry (label-exchange toys keep A + B per bin).
    """
    d = _window_sums(tables["d"], size)
    if "w" in tables:  # N_sys = D / sqrt(M + sum_k W_k^2)
        w = _window_sums(tables["w"], size)
        var = (w * w).sum(axis=0)
        if "m" in tables:
            m = _window_sums(tables["m"], size)
            with np.errstate(divide="ignore"):
                scale = np.where(m > 0.5, 1.0 / np.sqrt(m + var), np.nan)
        else:
            scale = 1.0 / np.sqrt(np.prod(size) + var)
        value = d * scale
    elif "m" in tables:
        m = _window_sums(tables["m"], size)
        with np.errstate(divide="ignore"):
            scale = np.where(m > 0.5, 1.0 / np.sqrt(m), np.nan)
        value = d * scale
    else:
        value = d * (1.0 / np.sqrt(np.prod(size)))
    if "e" in tables:
        few = _window_sums(tables["e"], size) < min_entries
        value[np.broadcast_to(few, value.shape)] = np.nan
    return value


def _same_for_all(x: np.ndarray, axis: int = 0) -> np.ndarray:
    """``x`` reduced to its first row along the batch ``axis`` when every row is identical."""
    first = x[(slice(None),) * axis + (slice(0, 1),)]
    return first if x.shape[axis] > 1 and (x == first).all() else x


def _entries_rows(entries: Any, shape: tuple[int, ...], nd: int) -> np.ndarray:
    """Validated event counts per bin as ``(n or 1, *bins)`` rows for the ``"e"`` table."""
    e = as_variance(entries, "entries", np.empty(()), what="event counts")
    try:
        full = np.broadcast_shapes(e.shape, shape)
    except ValueError:
        full = None
    if full != shape:
        msg = (
            f"entries has shape {e.shape}, which does not broadcast to the shape {shape} of the "
            "counts (batch and bin axes)"
        )
        raise ShapeError(msg)
    bins = shape[len(shape) - nd :]
    full_e = np.broadcast_to(e, shape)
    if e.size == int(np.prod(bins)):  # no batch axes (or only axes of length one)
        return full_e[(0,) * (len(shape) - nd)][None]
    return _same_for_all(full_e.reshape(-1, *bins))


def _tables_of(
    b: Any,
    a: Any,
    var_b: Any,
    var_a: Any,
    shifts: Any,
    entries: Any,
    min_entries: float,
    ndim: int | None,
) -> tuple[dict[str, np.ndarray], tuple[int, ...], tuple[int, ...], int]:
    """The summed-area tables of a scan (batch axis flattened first), the batch and bin
    shapes, and the number of nuisances; see :func:`scan_windows` for the arguments."""
    terms, used, total, nd, shift_terms = bin_terms(
        b,
        a,
        var_b=var_b,
        var_a=var_a,
        shifts=shifts,
        ndim=ndim,
        max_ndim=3,
        entries=min_entries > 0 and entries is None,
    )
    batch, shape = terms.shape[:-nd], terms.shape[-nd:]
    flat = (-1, *shape)
    counts = None if entries is None else _entries_rows(entries, terms.shape, nd)
    tables = {"d": _prefix(terms.reshape(flat), nd)}
    if used is not None:
        tables["m"] = _prefix(_same_for_all(used.reshape(flat)), nd)
    if min_entries > 0:
        if counts is None:
            counts = _same_for_all(np.ascontiguousarray(total).reshape(flat))
        tables["e"] = _prefix(counts, nd)
    if shift_terms is not None:  # one table per nuisance, K first
        k = shift_terms.shape[0]
        tables["w"] = _prefix(_same_for_all(shift_terms.reshape(k, *flat), 1), nd)
    n_shifts = 0 if shift_terms is None else shift_terms.shape[0]
    return tables, tuple(batch), tuple(shape), n_shifts


def scan_windows(
    b: Any,
    a: Any,
    *,
    var_b: Any = None,
    var_a: Any = None,
    shifts: Any = None,
    entries: Any = None,
    sizes: Any = "all",
    min_entries: float = 0,
    ndim: int | None = None,
    two_sided: bool = False,
) -> WindowScan:
    r"""N_sigma (Eq. 1 of Birman et al. 2022) of every window of a 1-, 2- or 3-D histogram pair.

    A window is a hyper-rectangle of contiguous bins. All positions of each requested size are
    evaluated for every batch entry at once from summed-area tables. With systematic ``shifts``
    each window's statistic is N_sys of :func:`~asymscan.stats.nsigma.nsigma` on the window's
    bins, from one more summed-area table per nuisance:

    .. math:: N_{sys}(w) = \frac{D_w}{\sqrt{M_w + \sum_k W_{k,w}^2}}, \qquad
              D_w = \sum_{i \in w} \frac{B_i - A_i}{\sigma_i}, \quad
              W_{k,w} = \sum_{i \in w} \frac{\delta_{ik}}{\sigma_i}.

    Parameters
    ----------
    b, a
        Tested and reference counts (or hist/UHI histograms); leading axes are batch axes.
    var_b, var_a
        Variances for weighted histograms (Eq. 1); default Poisson, Eq. (2).
    shifts
        Systematic shifts delta of B - A for a +1 sigma pull of each of K Gaussian nuisances,
        shape ``(K, ..., *bins)``; the axes in the middle are batch axes broadcasting against
        those of ``b`` and ``a`` (e.g. ``(K, n_toys, *bins)``). Default None: statistical
        uncertainties only, as Eq. (1).
    entries
        Event counts per bin (broadcastable to the batch and bin axes) for the ``min_entries``
        cut; default ``A + B``. Give it for weighted histograms, whose sums of weights are not
        numbers of events.
    sizes
        ``"all"`` (every size), ``"square"`` (k x k ... for every k), or a list of sizes, each an
        int (the same on every axis) or a tuple with one length per axis.
    min_entries
        Windows with fewer A + B entries (or ``entries``, when given) are skipped (and counted
        in ``n_skipped``).
    ndim
        Number of bin axes (1-3); default all axes of the smaller input. Give it when both
        inputs carry batch axes, or a (toys, 28, 28) pair is scanned as one 3-D histogram.
    two_sided
        Rank windows by |N_sigma| (A or B in excess) rather than by N_sigma (B in excess).

    Returns
    -------
    WindowScan
    """
    tables, batch, shape, n_shifts = _tables_of(
        b, a, var_b, var_a, shifts, entries, min_entries, ndim
    )
    nd = len(shape)
    n = tables["d"].shape[0]
    rows = np.arange(n)

    best = np.full(n, -np.inf)
    best_signed = np.full(n, np.nan)
    best_window = np.full((n, nd, 2), -1, dtype=np.int64)
    per_size = np.full((n, *shape), np.nan)
    skipped = np.zeros(n, dtype=np.int64)
    n_windows = 0
    for size in _sizes(sizes, shape):
        value = _nsigma_of(tables, size, min_entries).reshape(n, -1)
        n_windows += value.shape[1]
        bad = np.isnan(value)
        score = np.abs(value) if two_sided else value
        if bad.any():
            skipped += bad.sum(axis=1)
            score = np.where(bad, -np.inf, score)
        pos = np.argmax(score, axis=1)
        top = score[rows, pos]
        signed = np.where(np.isneginf(top), np.nan, value[rows, pos])
        per_size[(slice(None), *(k - 1 for k in size))] = signed
        better = top > best
        if better.any():
            best = np.where(better, top, best)
            best_signed = np.where(better, signed, best_signed)
            starts = np.stack(
                np.unravel_index(
                    pos[better],
                    tuple(s - k + 1 for s, k in zip(shape, size, strict=True)),
                ),
                axis=-1,
            )
            best_window[better, :, 0] = starts
            best_window[better, :, 1] = starts + np.asarray(size)
    return WindowScan(
        best_nsigma=best_signed.reshape(batch),
        best_window=best_window.reshape(*batch, nd, 2),
        best_per_size=per_size.reshape(*batch, *shape),
        n_windows=n_windows,
        n_skipped=skipped.reshape(batch),
        two_sided=two_sided,
        min_entries=min_entries,
        n_shifts=n_shifts,
        _tables=tables,
        _batch=tuple(batch),
    )


def count_windows_above(
    b: Any,
    a: Any,
    threshold: float,
    *,
    var_b: Any = None,
    var_a: Any = None,
    shifts: Any = None,
    entries: Any = None,
    sizes: Any = "all",
    min_entries: float = 0,
    ndim: int | None = None,
    two_sided: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """How many tested windows reach ``threshold``, and the largest statistic, per batch entry.

    The windows and their statistic are those of :func:`scan_windows` with the same
    arguments (skipped windows never count): a window counts when its N_sigma (|N_sigma| when
    ``two_sided``) is at least ``threshold``. What the extrapolated global p-value of
    :mod:`asymscan.calibrate.tail` needs beyond the best window.

    Returns
    -------
    count, largest
        Arrays with the batch shape of the inputs: the number of windows at or above
        ``threshold`` (int64), and the largest statistic (-inf where every window was skipped).

    Examples
    --------
    >>> import numpy as np
    >>> count, largest = count_windows_above([130.0, 100.0, 100.0], [100.0] * 3, 1.0)
    >>> int(count), round(float(largest), 3)
    (3, 1.978)
    """
    tables, batch, shape, _ = _tables_of(
        b, a, var_b, var_a, shifts, entries, min_entries, ndim
    )
    n = tables["d"].shape[0]
    count = np.zeros(n, dtype=np.int64)
    largest = np.full(n, -np.inf)
    for size in _sizes(sizes, shape):
        value = _nsigma_of(tables, size, min_entries).reshape(n, -1)
        score = np.abs(value) if two_sided else value
        score = np.where(np.isnan(score), -np.inf, score)
        count += (score >= threshold).sum(axis=1)
        np.maximum(largest, score.max(axis=1), out=largest)
    return count.reshape(batch), largest.reshape(batch)
