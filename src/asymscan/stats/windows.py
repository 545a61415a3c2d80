"""N_sigma of every axis-aligned window of a histogram pair, from summed-area tables.

The window version of Eq. (1) of Birman et al. 2022 is ``D_w / sqrt(M_w)`` with ``D_w`` the sum of
the per-bin terms ``(B_i - A_i)/sigma_i`` and ``M_w`` the number of bins with entries in the
window. Both sums come from summed-area (prefix-sum) tables: a window of any size costs one
difference per axis, i.e. 2^d look-ups, for all toys at once.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ShapeError
from .nsigma import bin_terms

__all__ = ("WindowScan", "scan_windows")

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
        N_sigma of the best window: the largest (B in excess), or the largest in magnitude
        (sign kept) when ``two_sided``; NaN when every window was skipped.
    best_window
        ``(..., ndim, 2)`` integer array: the best window's ``[start, stop)`` bin range per axis.
    best_per_size
        ``(..., n_1, ..., n_d)``: the best N_sigma among windows of size ``(k_1, ..., k_d)`` at
        index ``[k_1 - 1, ..., k_d - 1]``; NaN for sizes not scanned or wholly skipped.
    n_windows
        Windows examined per batch entry (all positions of all requested sizes).
    n_skipped
        Windows skipped per batch entry (fewer than ``min_entries`` entries, or no entries).
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
    _tables: dict[str, np.ndarray] = field(repr=False)
    _batch: tuple[int, ...] = field(repr=False)

    def map(self, size: int | Iterable[int]) -> np.ndarray:
        """N_sigma of every window of ``size``: shape ``(..., n_1 - k_1 + 1, ...)``, NaN if skipped.

        Entry ``[..., i_1, ..., i_d]`` is the window starting at bin ``i_j`` on axis ``j``.
        """
        shape = self._tables["d"].shape[1:]
        k = _normalise_size(size, tuple(n - 1 for n in shape))
        value = _nsigma_of(self._tables, k, self.min_entries)
        return value.reshape(*self._batch, *value.shape[1:])


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

    The tables of bins with entries ("m") and of entries ("e") may have a batch length of one
    when they are the same for every batch entry (label-exchange toys keep A + B per bin).
    """
    d = _window_sums(tables["d"], size)
    if "m" in tables:
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


def _same_for_all(x: np.ndarray) -> np.ndarray:
    """``x`` (batch first) reduced to its first row when every row is identical."""
    return x[:1] if x.shape[0] > 1 and (x == x[:1]).all() else x


def scan_windows(
    b: Any,
    a: Any,
    *,
    var_b: Any = None,
    var_a: Any = None,
    sizes: Any = "all",
    min_entries: float = 0,
    ndim: int | None = None,
    two_sided: bool = False,
) -> WindowScan:
    """N_sigma (Eq. 1 of Birman et al. 2022) of every window of a 1-, 2- or 3-D histogram pair.

    A window is a hyper-rectangle of contiguous bins. All positions of each requested size are
    evaluated for every batch entry at once from summed-area tables.

    Parameters
    ----------
    b, a
        Tested and reference counts (or hist/UHI histograms); leading axes are batch axes.
    var_b, var_a
        Variances for weighted histograms (Eq. 1); default Poisson, Eq. (2).
    sizes
        ``"all"`` (every size), ``"square"`` (k x k ... for every k), or a list of sizes, each an
        int (the same on every axis) or a tuple with one length per axis.
    min_entries
        Windows with fewer A + B entries are skipped (and counted in ``n_skipped``).
    ndim
        Number of bin axes (1-3); default all axes of the smaller input. Give it when both
        inputs carry batch axes, or a (toys, 28, 28) pair is scanned as one 3-D histogram.
    two_sided
        Rank windows by |N_sigma| (A or B in excess) rather than by N_sigma (B in excess).

    Returns
    -------
    WindowScan
    """
    terms, used, entries, nd = bin_terms(
        b, a, var_b=var_b, var_a=var_a, ndim=ndim, max_ndim=3, entries=min_entries > 0
    )
    batch, shape = terms.shape[:-nd], terms.shape[-nd:]
    flat = (-1, *shape)
    tables = {"d": _prefix(terms.reshape(flat), nd)}
    if used is not None:
        tables["m"] = _prefix(_same_for_all(used.reshape(flat)), nd)
    if min_entries > 0:
        tables["e"] = _prefix(
            _same_for_all(np.ascontiguousarray(entries).reshape(flat)), nd
        )
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
        _tables=tables,
        _batch=tuple(batch),
    )
