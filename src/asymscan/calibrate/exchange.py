"""Label-exchange toys: the exact permutation null of a symmetry, at histogram level.

Under the symmetry, which events are labelled A is a random draw of ``N_A`` events from the
pooled sample. A toy relabels every event at once; all histograms are refilled by one sparse
product with the per-event cells (``EventCells.fill``), so correlations between histograms
filled from the same events are kept, and no event file is re-read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..stats.windows import scan_windows

if TYPE_CHECKING:
    from ..scan.layout import EventCells

__all__ = ("exchange_labels", "max_abs_nsigma", "toy_shard")


def exchange_labels(
    n_events: int, n_a: int, n_toys: int, rng: np.random.Generator
) -> np.ndarray:
    """``(n_events, n_toys)`` booleans: each column labels a uniformly random ``n_a`` events as A."""
    keys = rng.random((n_toys, n_events))
    chosen = np.argpartition(keys, n_a - 1, axis=1)[:, :n_a] if n_a < n_events else None
    labels = np.zeros((n_toys, n_events), dtype=bool)
    if chosen is None:
        labels[:] = True
    else:
        np.put_along_axis(labels, chosen, True, axis=1)
    return labels.T


def max_abs_nsigma(
    cells: EventCells, labels: np.ndarray, *, min_entries: float
) -> tuple[np.ndarray, np.ndarray]:
    """The largest |N_sigma| over every window of every histogram, per labelling.

    Returns ``(maximum, per_histogram)`` with shapes ``(n_toys,)`` and ``(n_toys, n_hist)``;
    a histogram whose windows were all skipped counts as 0.
    """
    obs = cells.observed()
    total = obs["a"] + obs["b"]
    total_var = None if obs["var_a"] is None else obs["var_a"] + obs["var_b"]
    sum_a, var_a = cells.fill(labels)
    sum_a = np.atleast_2d(sum_a)
    per_hist = np.zeros((sum_a.shape[0], len(cells.histograms)))
    for h in cells.histograms:
        a = h.bins(sum_a)
        b = h.bins(total) - a
        kwargs = {}
        if total_var is not None:
            va = h.bins(np.atleast_2d(var_a))
            kwargs = {"var_a": va, "var_b": np.maximum(h.bins(total_var) - va, 0.0)}
        scan = scan_windows(
            b, a, ndim=h.ndim, two_sided=True, min_entries=min_entries, **kwargs
        )
        per_hist[:, h.index] = np.nan_to_num(np.abs(scan.best_nsigma), nan=0.0)
    return per_hist.max(axis=1), per_hist


def toy_shard(
    cells: EventCells, seed: np.random.SeedSequence, n_toys: int, *, min_entries: float
) -> np.ndarray:
    """Maximum |N_sigma| of ``n_toys`` label-exchange toys drawn from ``seed`` (one shard)."""
    rng = np.random.default_rng(seed)
    labels = exchange_labels(cells.n_events, int(cells.is_a.sum()), n_toys, rng)
    return max_abs_nsigma(cells, labels, min_entries=min_entries)[0]
