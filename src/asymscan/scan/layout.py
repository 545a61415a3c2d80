"""From events to the bins of every histogram of a scan, kept per event for label-exchange toys.

A scan fills one histogram per (selection, observable set): the inclusive sample and every
combination of the categories of the selection families, times every observable (1-D), pair
(2-D) or triple (3-D). All their bins are laid end to end in one global bin vector. Events that
fall in the same bins of every histogram form one *unit* (a joint cell), and the membership of
the units is a sparse matrix ``cells`` of shape (global bins, units). Then

* the histograms of A are ``cells @ n_a`` with ``n_a`` the events of A per unit (for weighted
  events, one unit each: ``cells @ (w * is_a)`` and ``cells @ (w**2 * is_a)``), likewise B;
* toys relabelling the events are one sparse product with the toys' counts per unit, which
  keeps every correlation between histograms filled from the same events.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse

from ..config import Config, Observable, SelectionFamily
from ..errors import DataError

__all__ = (
    "ChunkUnits",
    "EventCells",
    "Histogram",
    "build_cells",
    "category_index",
    "chunk_units",
    "observable_values",
    "plan_histograms",
    "split_events",
)


@dataclass(frozen=True)
class Histogram:
    """One histogram of the scan: a selection, its observables, and its place in the bin vector."""

    index: int
    selection: tuple[tuple[str, str], ...]
    observables: tuple[str, ...]
    edges: tuple[np.ndarray, ...] = field(repr=False)
    offset: int

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(e) - 1 for e in self.edges)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def ndim(self) -> int:
        return len(self.edges)

    @property
    def label(self) -> str:
        sel = ", ".join(f"{f}={c}" for f, c in self.selection) or "inclusive"
        return f"[{sel}] {' vs '.join(self.observables)}"

    def bins(self, vector: np.ndarray) -> np.ndarray:
        """This histogram's part of global bin vectors ``(..., n_global)`` as ``(..., *shape)``."""
        part = vector[..., self.offset : self.offset + self.size]
        return part.reshape(*vector.shape[:-1], *self.shape)


def _selections(config: Config) -> list[tuple[tuple[str, str], ...]]:
    """The inclusive selection and every combination of one category per family."""
    families = [[(f.name, c) for c in f.categories] for f in config.selections]
    combos = [(), *list(itertools.product(*families))] if families else [()]
    return combos


def plan_histograms(config: Config) -> list[Histogram]:
    """Every histogram the scan fills, in a fixed order (selections outer, observables inner)."""
    obs = {
        o.name: np.linspace(o.range[0], o.range[1], o.bins + 1)
        for o in config.observables
    }
    sets = [
        combo
        for d in sorted(config.scan.dims)
        for combo in itertools.combinations([o.name for o in config.observables], d)
    ]
    out: list[Histogram] = []
    offset = 0
    for selection in _selections(config):
        for names in sets:
            h = Histogram(
                len(out), selection, names, tuple(obs[n] for n in names), offset
            )
            out.append(h)
            offset += h.size
    return out


@dataclass
class EventCells:
    """Bin membership of every event of a scan, compressed into units, plus bookkeeping.

    A *unit* is a set of events that fall in exactly the same bins of every histogram (the same
    category in every family and the same bin, or none, of every observable). Unweighted events
    are compressed into such joint cells, so memory and toy cost scale with the number of
    occupied cells, not of events; weighted events are one unit each.

    Attributes
    ----------
    histograms
        The histograms, whose bins occupy ``[offset, offset + size)`` of the global vector.
    cells
        Sparse ``(n_bins, n_units)`` membership matrix (CSR, entries 1).
    multiplicity
        Events per unit.
    n_a
        Events of sample A per unit (the rest are in B).
    weight
        Per-unit (= per-event) weight for weighted data, else None.
    counts
        Bookkeeping: events read, in A, in B, in neither (dropped); per observable, events
        with a non-finite value and events outside its range (neither is binned).
    """

    histograms: list[Histogram]
    cells: sparse.csr_matrix
    multiplicity: np.ndarray
    n_a: np.ndarray
    weight: np.ndarray | None
    counts: dict[str, Any]

    @property
    def n_events(self) -> int:
        return int(self.multiplicity.sum())

    @property
    def n_units(self) -> int:
        return int(self.multiplicity.size)

    @property
    def n_bins(self) -> int:
        return int(self.cells.shape[0])

    def fill(self, a_counts: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Sums of weights (and of squared weights, if weighted) of sample A in every bin.

        ``a_counts`` gives the events of A per unit, ``(n_units,)`` or ``(n_units, n_toys)``;
        the result is ``(n_bins,)`` or ``(n_toys, n_bins)``.
        """
        counts = a_counts.astype(float, copy=False)
        if self.weight is None:
            return np.asarray(self.cells @ counts).T, None
        w = self.weight if counts.ndim == 1 else self.weight[:, None]
        wc = w * counts
        return np.asarray(self.cells @ wc).T, np.asarray(self.cells @ (w * wc)).T

    def observed(self) -> dict[str, np.ndarray | None]:
        """The observed histograms of A and B as global bin vectors (sums of w and w**2)."""
        sum_a, var_a = self.fill(self.n_a)
        sum_b, var_b = self.fill(self.multiplicity - self.n_a)
        return {"a": sum_a, "b": sum_b, "var_a": var_a, "var_b": var_b}


def _evaluate(expr: Any, columns: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    value = np.asarray(expr.evaluate(columns))
    return value if value.shape == (n,) else np.broadcast_to(value, (n,))


def _condition(
    expr: Any, columns: Mapping[str, np.ndarray], where: str, n: int
) -> np.ndarray:
    value = _evaluate(expr, columns, n)
    if value.dtype != bool:
        msg = f"{where} = {expr.text!r} must be a condition (true/false per event), got numbers"
        raise DataError(msg)
    return value


def split_events(
    chunk: Mapping[str, np.ndarray], config: Config
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The events of a chunk in sample A or B: is-A per kept event, and their columns.

    Events selected by neither ``symmetry.a`` nor ``symmetry.b`` are left out; an event
    selected by both is a :class:`~asymscan.errors.DataError`.
    """
    n = len(next(iter(chunk.values())))
    in_a = _condition(config.symmetry.a, chunk, "symmetry.a", n)
    in_b = _condition(config.symmetry.b, chunk, "symmetry.b", n)
    both = in_a & in_b
    if both.any():
        msg = (
            f"{int(both.sum())} event(s) are selected by both symmetry.a "
            f"({config.symmetry.a.text!r}) and symmetry.b ({config.symmetry.b.text!r}); "
            "the two samples must be exclusive"
        )
        raise DataError(msg)
    keep = in_a | in_b
    sub = {k: np.asarray(v)[keep] for k, v in chunk.items()}
    return in_a[keep], sub


def category_index(
    family: SelectionFamily, columns: Mapping[str, np.ndarray], n: int
) -> np.ndarray:
    """Per event, 1 + the index of its category in ``family`` (0: in none).

    An event in two categories of the family is a :class:`~asymscan.errors.DataError`.
    """
    index = np.zeros(n, dtype=np.int64)
    for k, (name, expr) in enumerate(family.categories.items(), start=1):
        mask = _condition(expr, columns, f"selections.{family.name}.{name}", n)
        clash = mask & (index > 0)
        if clash.any():
            other = list(family.categories)[int(index[np.argmax(clash)]) - 1]
            msg = (
                f"{int(clash.sum())} event(s) fall in both categories {other!r} and "
                f"{name!r} of selection family {family.name!r}; categories must be exclusive"
            )
            raise DataError(msg)
        index[mask] = k
    return index


def observable_values(
    obs: Observable, columns: Mapping[str, np.ndarray], n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per event: the observable's value (float), whether it is finite, and whether it is
    also inside the range ``[lo, hi)`` (the events that are binned)."""
    x = _evaluate(obs.expr, columns, n).astype(float)
    finite = np.isfinite(x)
    lo, hi = obs.range
    return x, finite, finite & (x >= lo) & (x < hi)


def _digits(
    chunk: Mapping[str, np.ndarray], config: Config, counts: dict
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Per kept event of a chunk: is-A, one digit per family and per observable, weight.

    A family's digit is 1 + the category index (0: in none); an observable's digit is its bin
    index, or ``bins`` when the value is non-finite or out of range. Returns
    ``(is_a, digits (n, n_families + n_observables), weight or None)``.
    """
    n = len(next(iter(chunk.values())))
    is_a, sub = split_events(chunk, config)
    m = len(is_a)
    counts["read"] += n
    counts["dropped"] += n - m
    counts["a"] += int(is_a.sum())
    counts["b"] += int(m - is_a.sum())
    weight = None
    if config.data.weight is not None:
        weight = _evaluate(config.data.weight, sub, m).astype(float)
        bad = ~np.isfinite(weight)
        if bad.any():
            msg = (
                f"data.weight = {config.data.weight.text!r} is NaN or infinite for "
                f"{int(bad.sum())} event(s)"
            )
            raise DataError(msg)
    digits = np.empty(
        (m, len(config.selections) + len(config.observables)), dtype=np.int64
    )
    for j, fam in enumerate(config.selections):
        digits[:, j] = category_index(fam, sub, m)
    for j, obs in enumerate(config.observables, start=len(config.selections)):
        x, finite, inside = observable_values(obs, sub, m)
        lo, hi = obs.range
        counts["non_finite"][obs.name] += int((~finite).sum())
        counts["out_of_range"][obs.name] += int((finite & ~inside).sum())
        idx = np.floor((np.where(inside, x, lo) - lo) / (hi - lo) * obs.bins).astype(
            np.int64
        )
        digits[:, j] = np.where(inside, np.minimum(idx, obs.bins - 1), obs.bins)
    return is_a, digits, weight


def _membership(
    digits: np.ndarray, config: Config, histograms: list[Histogram]
) -> sparse.csr_matrix:
    """Sparse (global bins x units) membership of units given by their digits."""
    fam_col = {f.name: j for j, f in enumerate(config.selections)}
    cats = {f.name: list(f.categories) for f in config.selections}
    obs_col = {
        o.name: j + len(config.selections) for j, o in enumerate(config.observables)
    }
    units = np.arange(digits.shape[0])
    rows, cols = [], []
    for h in histograms:
        ok = np.ones(digits.shape[0], dtype=bool)
        for fam, cat in h.selection:
            ok &= digits[:, fam_col[fam]] == cats[fam].index(cat) + 1
        for o, n in zip(h.observables, h.shape, strict=True):
            ok &= digits[:, obs_col[o]] < n
        index = tuple(digits[ok, obs_col[o]] for o in h.observables)
        rows.append(np.ravel_multi_index(index, h.shape) + h.offset)
        cols.append(units[ok])
    r, c = np.concatenate(rows), np.concatenate(cols)
    n_bins = sum(h.size for h in histograms)
    return sparse.csr_matrix((np.ones(r.size), (r, c)), shape=(n_bins, digits.shape[0]))


def _new_counts(config: Config) -> dict[str, Any]:
    names = [o.name for o in config.observables]
    return {
        "read": 0,
        "a": 0,
        "b": 0,
        "dropped": 0,
        "non_finite": dict.fromkeys(names, 0),
        "out_of_range": dict.fromkeys(names, 0),
    }


def _radix(config: Config) -> list[int] | None:
    """Digit ranges of a unit's key, or None when events stay one unit each (weights)."""
    radix = [len(f.categories) + 1 for f in config.selections]
    radix += [o.bins + 1 for o in config.observables]
    if config.data.weight is None and float(np.prod(radix, dtype=float)) * 2 < 2.0**62:
        return radix
    return None


@dataclass
class ChunkUnits:
    """What some events contribute to a scan, mergeable by concatenation and addition.

    Unweighted events are summarised as unique keys (joint cell and label) with their counts;
    weighted events keep their digits, labels and weights.
    """

    counts: dict[str, Any]
    keys: list[np.ndarray] = field(default_factory=list)
    key_counts: list[np.ndarray] = field(default_factory=list)
    digits: list[np.ndarray] = field(default_factory=list)
    is_a: list[np.ndarray] = field(default_factory=list)
    weight: list[np.ndarray] = field(default_factory=list)

    def merge(self, other: ChunkUnits) -> ChunkUnits:
        for name in ("keys", "key_counts", "digits", "is_a", "weight"):
            getattr(self, name).extend(getattr(other, name))
        for key, value in other.counts.items():
            if isinstance(value, dict):
                for k, v in value.items():
                    self.counts[key][k] += v
            else:
                self.counts[key] += value
        return self


def chunk_units(chunk: Mapping[str, np.ndarray], config: Config) -> ChunkUnits:
    """Split, select and bin one chunk of events: a pure function, run on any worker."""
    units = ChunkUnits(_new_counts(config))
    if not chunk or len(next(iter(chunk.values()))) == 0:
        return units
    is_a, digits, weight = _digits(chunk, config, units.counts)
    radix = _radix(config)
    if radix is not None:
        key = np.ravel_multi_index(tuple(digits.T), radix) * 2 + is_a
        k, c = np.unique(key, return_counts=True)
        units.keys.append(k)
        units.key_counts.append(c)
    else:
        units.digits.append(digits)
        units.is_a.append(is_a)
        if weight is not None:
            units.weight.append(weight)
    return units


def build_cells(
    chunks: Iterable[Mapping[str, np.ndarray] | ChunkUnits], config: Config
) -> EventCells:
    """Split events by the symmetry, bin them in every histogram, and keep their cells.

    ``chunks`` are dictionaries of columns, or their :func:`chunk_units` already computed
    (for instance on workers). Events selected by neither ``symmetry.a`` nor ``symmetry.b``
    are dropped (and counted); an event selected by both, or by two categories of one family,
    is an error. Non-finite and out-of-range observable values are counted per observable and
    never binned. Unweighted events are compressed into joint cells chunk by chunk, so memory
    stays bounded by the number of occupied cells.
    """
    histograms = plan_histograms(config)
    units = ChunkUnits(_new_counts(config))
    for chunk in chunks:
        units.merge(
            chunk if isinstance(chunk, ChunkUnits) else chunk_units(chunk, config)
        )
    counts = units.counts
    if counts["a"] == 0 or counts["b"] == 0:
        msg = (
            f"sample A has {counts['a']} and sample B {counts['b']} event(s) out of "
            f"{counts['read']} read: both must be non-empty (check symmetry.a and symmetry.b)"
        )
        raise DataError(msg)
    radix = _radix(config)
    if radix is not None:
        key, inverse = np.unique(np.concatenate(units.keys), return_inverse=True)
        total = np.bincount(inverse, weights=np.concatenate(units.key_counts))
        cell, first = np.unique(key >> 1, return_inverse=True)
        multiplicity = np.bincount(first, weights=total).astype(np.int64)
        n_a = np.bincount(first, weights=total * (key & 1)).astype(np.int64)
        digits = np.stack(np.unravel_index(cell, radix), axis=1)
        weight = None
    else:
        digits = np.concatenate(units.digits)
        n_a = np.concatenate(units.is_a).astype(np.int64)
        multiplicity = np.ones_like(n_a)
        weight = np.concatenate(units.weight) if units.weight else None
    return EventCells(
        histograms=histograms,
        cells=_membership(digits, config, histograms),
        multiplicity=multiplicity,
        n_a=n_a,
        weight=weight,
        counts=counts,
    )
