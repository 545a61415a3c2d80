"""Label-exchange toys: the exact null of a symmetry, at histogram level.

Unweighted events (or weights that do not depend on the label): under the symmetry, which
events are labelled A is a random draw of ``N_A`` events from the pooled sample, the
permutation null. With label-dependent weights (detector corrections, ``weight_a`` and
``weight_b``), an event is in A with probability w_b / (w_a + w_b) when the maps are right
(:mod:`asymscan.scan.weights`): a toy relabels each event independently with that probability,
and the event carries the weight of its new label. With systematics, each toy first draws the
nuisances from their N(0, 1) priors and relabels with the probabilities of the pulled weights.

A toy relabels every event at once; all histograms are refilled by one sparse product with the
cells of the events (``EventCells.sums``), so correlations between histograms filled from the
same events are kept, and no event file is re-read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

from ..stats.windows import scan_windows

if TYPE_CHECKING:
    from ..scan.cells import BinSums, EventCells
    from ..scan.layout import Histogram

__all__ = (
    "exchange_counts",
    "histogram_inputs",
    "max_abs_nsigma",
    "relabel_counts",
    "toy_shard",
)

Normalize = Literal["none", "total", "selection"]

#: Most (units x toys) relabelled and refilled at once inside a shard: bounds the memory of a
#: scan with many units (weighted events) without slowing a compressed unweighted one.
BATCH_ELEMENTS = 10_000_000


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


def relabel_counts(
    cells: EventCells, n_toys: int, rng: np.random.Generator
) -> np.ndarray:
    """Events of A per unit, ``(n_units, n_toys)``, for toys of the scan's null.

    Hypergeometric (:func:`exchange_counts`) unless the weights depend on the label; then each
    event is in A with probability w_b / (w_a + w_b) at nuisances drawn from N(0, 1) per toy.
    """
    w = cells.weights
    if w is None or not w.label_dependent:
        return exchange_counts(cells.multiplicity, int(cells.n_a.sum()), n_toys, rng)
    theta = rng.standard_normal((w.n_systematics, n_toys)) if w.n_systematics else None
    p = w.probability_a(theta)
    p = np.broadcast_to(p if p.ndim == 2 else p[:, None], (p.shape[0], n_toys))
    # one event per unit (most units of a weighted scan): a Bernoulli draw is a comparison
    counts = (rng.random(p.shape) < p).astype(np.int64)
    several = np.flatnonzero(cells.multiplicity > 1)
    if several.size:
        counts[several] = rng.binomial(cells.multiplicity[several, None], p[several])
    return counts


def _ratio(sums: BinSums, h: Histogram, normalize: Normalize) -> np.ndarray | None:
    """The factor scaling A to B's total for ``normalize`` (None for "none"), per labelling."""
    if normalize == "none":
        return None
    k = 0 if normalize == "total" else h.selection_index
    ta, tb = sums.total_a[..., k], sums.total_b[..., k]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ta > 0, tb / ta, 1.0)


def histogram_inputs(
    cells: EventCells, sums: BinSums, h: Histogram, normalize: Normalize = "none"
) -> dict[str, np.ndarray | None]:
    """The arguments of :func:`~asymscan.stats.windows.scan_windows` for one histogram.

    ``b``, ``a`` (scaled to B's total for a normalised scan), their variances, the systematic
    shifts of B - A (``(K, ..., *shape)``, None without systematics) and the event counts per
    bin (``entries``).
    """
    a, b = h.bins(sums.a), h.bins(sums.b)
    var_a = None if sums.var_a is None else h.bins(sums.var_a)
    var_b = None if sums.var_b is None else h.bins(sums.var_b)
    shift_a = None if sums.shift_a is None else h.bins(sums.shift_a)
    shift_b = None if sums.shift_b is None else h.bins(sums.shift_b)
    r = _ratio(sums, h, normalize)
    if r is not None:
        r = r.reshape(r.shape + (1,) * h.ndim)
        a = a * r
        var_a = a * r if var_a is None else var_a * r**2
        var_b = b if var_b is None else var_b
        shift_a = None if shift_a is None else shift_a * r
    shifts = None if shift_b is None else shift_b - shift_a
    return {
        "b": b,
        "a": a,
        "var_b": var_b,
        "var_a": var_a,
        "shifts": shifts,
        "entries": h.bins(cells.entries),
    }


def max_abs_nsigma(
    cells: EventCells,
    a_counts: np.ndarray,
    *,
    min_entries: float,
    normalize: Normalize = "none",
) -> tuple[np.ndarray, np.ndarray]:
    """The largest |N_sigma| over every window of every histogram, per labelling.

    ``a_counts`` gives the events of A per unit, ``(n_units,)`` or ``(n_units, n_toys)``.
    Returns ``(maximum, per_histogram)`` with shapes ``(n_toys,)`` and ``(n_toys, n_hist)``;
    a histogram whose windows were all skipped counts as 0. With systematics, every window's
    N_sigma includes them (:func:`~asymscan.stats.windows.scan_windows` with ``shifts``).
    """
    counts = a_counts if a_counts.ndim == 2 else a_counts[:, None]
    if normalize == "none":  # B - A and its variance suffice: fewer sparse products
        d, var, shifts = cells.differences(counts)

        def inputs(h: Histogram) -> dict[str, np.ndarray | None]:
            zero = np.zeros(h.shape)
            return {
                "b": h.bins(d),
                "a": zero,
                "var_b": h.bins(var),
                "var_a": zero,
                "shifts": None if shifts is None else h.bins(shifts),
                "entries": h.bins(cells.entries),
            }

    else:
        sums = cells.sums(counts)

        def inputs(h: Histogram) -> dict[str, np.ndarray | None]:
            return histogram_inputs(cells, sums, h, normalize)

    per_hist = np.zeros((counts.shape[1], len(cells.histograms)))
    for h in cells.histograms:
        scan = scan_windows(
            ndim=h.ndim, two_sided=True, min_entries=min_entries, **inputs(h)
        )
        per_hist[:, h.index] = np.nan_to_num(np.abs(scan.best_nsigma), nan=0.0)
    return per_hist.max(axis=1), per_hist


def toy_shard(
    cells: EventCells,
    seed: np.random.SeedSequence,
    n_toys: int,
    *,
    min_entries: float,
    normalize: Normalize = "none",
) -> np.ndarray:
    """Maximum |N_sigma| of ``n_toys`` label-exchange toys drawn from ``seed`` (one shard)."""
    rng = np.random.default_rng(seed)
    batch = max(1, BATCH_ELEMENTS // max(cells.n_units, 1))
    out = []
    for start in range(0, n_toys, batch):
        counts = relabel_counts(cells, min(batch, n_toys - start), rng)
        out.append(
            max_abs_nsigma(cells, counts, min_entries=min_entries, normalize=normalize)[
                0
            ]
        )
    return np.concatenate(out) if out else np.empty(0)
