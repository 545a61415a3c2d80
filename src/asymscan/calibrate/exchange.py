"""Label-exchange toys: the exact permutation null of a symmetry, at histogram level.

Under the symmetry, which events are labelled A is a random draw of ``N_A`` events from the
pooled sample. A toy relabels every event at once; all histograms are refilled by one sparse
product with the cells of the events (``EventCells.fill``), so correlations between histograms
filled from the same events are kept, and no event file is re-read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..stats.windows import scan_windows

if TYPE_CHECKING:
    from ..scan.layout import EventCells

__all__ = ("exchange_counts", "max_abs_nsigma", "toy_shard")


def exchange_counts(
    multiplicity: np.ndarray, n_a: int, n_toys: int, rng: np.random.Generator
) -> np.ndarray:
    """Events of A per unit for ``n_toys`` random relabellings keeping ``n_a`` events in A.

    Relabelling a uniformly random ``n_a`` of the pooled events as A gives, per unit of
    ``multiplicity`` events, a multivariate hypergeometric count. Returns ``(n_units, n_toys)``.
    """
    method = "count" if multiplicity.sum() <= 5_000_000 else "marginals"
    draws = rng.multivariate_hypergeometric(
        multiplicity, n_a, size=n_toys, method=method
    )
    return draws.T


def max_abs_nsigma(
    cells: EventCells, a_counts: np.ndarray, *, min_entries: float
) -> tuple[np.ndarray, np.ndarray]:
    """The largest |N_sigma| over every window of every histogram, per labelling.

    ``a_counts`` gives the events of A per unit, ``(n_units,)`` or ``(n_units, n_toys)``.
    Returns ``(maximum, per_histogram)`` with shapes ``(n_toys,)`` and ``(n_toys, n_hist)``;
    a histogram whose windows were all skipped counts as 0.
    """
    obs = cells.observed()
    total = obs["a"] + obs["b"]
    total_var = None if obs["var_a"] is None else obs["var_a"] + obs["var_b"]
    sum_a, var_a = cells.fill(a_counts)
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
    counts = exchange_counts(cells.multiplicity, int(cells.n_a.sum()), n_toys, rng)
    return max_abs_nsigma(cells, counts, min_entries=min_entries)[0]
