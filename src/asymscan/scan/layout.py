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
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse

from ..config import MAX_BINS, Config, Observable, SelectionFamily
from ..errors import ConfigError, DataError
from .cells import EventCells
from .weights import UnitWeights, event_weights, is_weighted

__all__ = (
    "MAX_BINS",
    "ChunkUnits",
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
    selection_index: int = 0

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
        return _label(self.selection, self.observables)

    def bins(self, vector: np.ndarray) -> np.ndarray:
        """This histogram's part of global bin vectors ``(..., n_global)`` as ``(..., *shape)``."""
        part = vector[..., self.offset : self.offset + self.size]
        return part.reshape(*vector.shape[:-1], *self.shape)


def _selections(config: Config) -> list[tuple[tuple[str, str], ...]]:
    """The inclusive selection and every combination of one category per family."""
    families = [[(f.name, c) for c in f.categories] for f in config.selections]
    combos = [(), *list(itertools.product(*families))] if families else [()]
    return combos


def _label(selection: tuple[tuple[str, str], ...], names: tuple[str, ...]) -> str:
    sel = ", ".join(f"{f}={c}" for f, c in selection) or "inclusive"
    return f"[{sel}] {' vs '.join(names)}"


def _check_bins(config: Config, sets: list[tuple[str, ...]]) -> None:
    """Refuse a plan of more than :data:`~asymscan.config.MAX_BINS` bins in all (counted
    before the selections or edges are built)."""
    families = [len(f.categories) for f in config.selections]
    n_selections = 1 + math.prod(families) if families else 1
    bins = {o.name: o.bins for o in config.observables}
    sizes = {names: math.prod(bins[n] for n in names) for names in sets}
    total = n_selections * sum(sizes.values())
    if total <= MAX_BINS:
        return
    largest = sorted(sets, key=lambda names: -sizes[names])[:3]
    shown = ", ".join(
        f"{_label((), names)} ({sizes[names]:,} bins)" for names in largest
    )
    msg = (
        f"the scan would fill {total:,} bins in {n_selections * len(sets):,} histograms "
        f"({len(sets)} in each of {n_selections:,} selection(s)), more than the limit "
        f"of {MAX_BINS:,} (asymscan.config.MAX_BINS); the largest: {shown}. Use fewer "
        "bins, fewer observables or dims, or fewer selection categories"
    )
    raise ConfigError(msg)


def plan_histograms(config: Config) -> list[Histogram]:
    """Every histogram the scan fills, in a fixed order (selections outer, observables inner).

    Raises
    ------
    ConfigError
        The histograms hold more than :data:`~asymscan.config.MAX_BINS` bins together
        (checked before any is allocated).
    """
    sets = [
        combo
        for d in sorted(config.scan.dims)
        for combo in itertools.combinations([o.name for o in config.observables], d)
    ]
    _check_bins(config, sets)
    selections = _selections(config)
    obs = {
        o.name: np.linspace(o.range[0], o.range[1], o.bins + 1)
        for o in config.observables
    }
    out: list[Histogram] = []
    offset = 0
    for k, selection in enumerate(selections):
        for names in sets:
            h = Histogram(
                len(out), selection, names, tuple(obs[n] for n in names), offset, k
            )
            out.append(h)
            offset += h.size
    return out


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
    """Per kept event of a chunk: is-A, one digit per family and per observable, weights.

    A family's digit is 1 + the category index (0: in none); an observable's digit is its bin
    index, or ``bins`` when the value is non-finite or out of range. Returns
    ``(is_a, digits (n, n_families + n_observables), weights (n, 2 + 2K) or None)``, the
    weights as :func:`~asymscan.scan.weights.event_weights` gives them.
    """
    n = len(next(iter(chunk.values())))
    is_a, sub = split_events(chunk, config)
    m = len(is_a)
    counts["read"] += n
    counts["dropped"] += n - m
    counts["a"] += int(is_a.sum())
    counts["b"] += int(m - is_a.sum())
    weights = event_weights(sub, config, m)
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
    return is_a, digits, weights


def _membership(
    digits: np.ndarray, config: Config, histograms: list[Histogram]
) -> tuple[sparse.csc_matrix, sparse.csr_matrix]:
    """Sparse (global bins x units) and (selections x units) membership of units given by
    their digits.

    Both matrices are built in their compressed form directly, with 32-bit indices: the
    units' entries are counted histogram by histogram, then written histogram by histogram
    (a unit falls in at most one bin of each histogram, and the histograms' bins are laid out
    in order, so each column's rows come sorted). No coordinate lists and no (units x
    histograms) table: at 1e7 units either would need more memory than the matrix itself.
    """
    fam_col = {f.name: j for j, f in enumerate(config.selections)}
    cats = {f.name: list(f.categories) for f in config.selections}
    obs_col = {
        o.name: j + len(config.selections) for j, o in enumerate(config.observables)
    }
    n_units = digits.shape[0]
    n_bins = sum(h.size for h in histograms)

    def selected(selection: tuple[tuple[str, str], ...]) -> np.ndarray:
        ok = np.ones(n_units, dtype=bool)
        for fam, cat in selection:
            ok &= digits[:, fam_col[fam]] == cats[fam].index(cat) + 1
        return ok

    chosen = {sel: selected(sel) for sel in _selections(config)}

    def binned(h: Histogram) -> np.ndarray:
        ok = chosen[h.selection].copy()
        for o, n in zip(h.observables, h.shape, strict=True):
            ok &= digits[:, obs_col[o]] < n
        return ok

    per_unit = np.zeros(n_units, dtype=np.int32)
    for h in histograms:
        per_unit += binned(h)
    nnz = int(per_unit.sum(dtype=np.int64))
    index_type = np.int32 if nnz < 2**31 else np.int64
    indptr = np.zeros(n_units + 1, dtype=index_type)
    np.cumsum(per_unit, out=indptr[1:])
    del per_unit
    indices = np.empty(nnz, dtype=index_type)
    slot = indptr[:-1].copy()
    for h in histograms:
        ok = binned(h)
        index = np.ravel_multi_index(
            tuple(digits[ok, obs_col[o]] for o in h.observables), h.shape
        )
        index += h.offset
        indices[slot[ok]] = index
        slot[ok] += 1
    del slot
    cells = sparse.csc_matrix((np.ones(nnz), indices, indptr), shape=(n_bins, n_units))
    masks = list(chosen.values())
    sel_indptr = np.zeros(len(masks) + 1, dtype=np.int64)
    np.cumsum([int(ok.sum()) for ok in masks], out=sel_indptr[1:])
    sel_type = np.int32 if max(n_units, int(sel_indptr[-1])) < 2**31 else np.int64
    selections = sparse.csr_matrix(
        (
            np.ones(int(sel_indptr[-1])),
            np.concatenate([np.flatnonzero(ok).astype(sel_type) for ok in masks]),
            sel_indptr.astype(sel_type),
        ),
        shape=(len(masks), n_units),
    )
    return cells, selections


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
    """Digit ranges of a unit's key, or None when the key would not fit in 62 bits."""
    radix = [len(f.categories) + 1 for f in config.selections]
    radix += [o.bins + 1 for o in config.observables]
    if float(np.prod(radix, dtype=float)) * 2 < 2.0**62:
        return radix
    return None


_MIX = np.uint64(0x9E3779B97F4A7C15)


def _row_hash(rows: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each int64 row (multiply-xorshift over the columns)."""
    h = np.zeros(len(rows), dtype=np.uint64)
    for j in range(rows.shape[1]):
        h = (h ^ rows[:, j].view(np.uint64)) * _MIX
        h ^= h >> np.uint64(31)
    return h


def _compress(
    rows: np.ndarray, multiplicity: np.ndarray, n_a: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge identical rows (int64, one unit each): unique rows, summed multiplicity and n_a.

    Rows are grouped by a hash (one 1-D sort instead of a sort of whole rows, ~40 times
    faster); the groups are then checked row by row, and a collision falls back to the
    exact sort, so the result is always exact.
    """
    _, first, inverse = np.unique(
        _row_hash(rows), return_index=True, return_inverse=True
    )
    unique = rows[first]
    block = 1 << 20  # checked in blocks: no second copy of all the rows
    if not all(
        np.array_equal(unique[inverse[i : i + block]], rows[i : i + block])
        for i in range(0, len(rows), block)
    ):
        unique, inverse = np.unique(rows, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    total = np.bincount(inverse, weights=multiplicity, minlength=len(unique))
    in_a = np.bincount(inverse, weights=n_a, minlength=len(unique))
    return unique, total.astype(np.int64), in_a.astype(np.int64)


#: Bytes per block of the weighted units gathered while the events are read
#: (:class:`_UnitStore`): above glibc's largest dynamic mmap threshold (32 MiB), so a block
#: is mostly mapped on its own, rather than placed in the heap where, long-lived among the
#: chunks' temporaries, it would keep the address space freed below it reserved.
_BLOCK_BYTES = 40 << 20


class _UnitStore:
    """Distinct weighted rows gathered chunk by chunk, without moving those already held.

    Unit ``u`` is row ``u % B`` of block ``u // B`` (``B`` rows of :data:`_BLOCK_BYTES`),
    its multiplicity and events in A in the block's last two columns; ``hashes`` (sorted,
    distinct) and ``units`` index the units by :func:`_row_hash`. Adding a chunk's distinct
    rows costs a search per row and a copy of the new ones, where grouping all the rows again
    at every chunk costs time and twice their memory. :meth:`add` refuses (returns False,
    changing nothing) when a hash is shared by different rows; the caller then groups exactly.
    """

    def __init__(self, width: int) -> None:
        self.width = width
        self.block_rows = max(1, _BLOCK_BYTES // (8 * (width + 2)))
        self.blocks: list[np.ndarray] = []
        self.size = 0
        self.hashes = np.empty(0, dtype=np.uint64)
        self.units = np.empty(0, dtype=np.int64)

    def _by_block(
        self, units: np.ndarray
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """``(block, positions in units, rows in the block)`` for every block of ``units``."""
        block = units // self.block_rows
        order = np.argsort(block, kind="stable")
        bounds = np.searchsorted(block[order], np.arange(len(self.blocks) + 1))
        for k, data in enumerate(self.blocks):
            where = order[bounds[k] : bounds[k + 1]]
            if where.size:
                yield data, where, units[where] - k * self.block_rows

    def gather(self, units: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows, multiplicities and events in A of ``units``, in that order."""
        rows = np.empty((units.size, self.width), dtype=np.int64)
        mult = np.empty(units.size, dtype=np.int64)
        n_a = np.empty(units.size, dtype=np.int64)
        for data, where, local in self._by_block(units):
            rows[where] = data[local, : self.width]
            mult[where] = data[local, self.width]
            n_a[where] = data[local, self.width + 1]
        return rows, mult, n_a

    def add(self, rows: np.ndarray, mult: np.ndarray, n_a: np.ndarray) -> bool:
        """Add distinct rows: counts added to the units already held, new units appended."""
        h = _row_hash(rows)
        pos = np.searchsorted(self.hashes, h)
        found = pos < self.hashes.size
        found[found] = self.hashes[pos[found]] == h[found]
        held = self.units[pos[found]]
        if not np.array_equal(self.gather(held)[0], rows[found]):
            return False
        new = np.flatnonzero(~found)
        new = new[np.argsort(h[new])]
        fresh = h[new]
        if np.any(fresh[1:] == fresh[:-1]):
            return False
        mult_held, n_a_held = mult[found], n_a[found]
        for data, where, local in self._by_block(held):
            data[local, self.width] += mult_held[where]
            data[local, self.width + 1] += n_a_held[where]
        ids = self._append(rows[new], mult[new], n_a[new])
        at = np.searchsorted(self.hashes, fresh)
        self.hashes = np.insert(self.hashes, at, fresh)
        self.units = np.insert(self.units, at, ids)
        return True

    def _append(
        self, rows: np.ndarray, mult: np.ndarray, n_a: np.ndarray
    ) -> np.ndarray:
        ids = np.arange(self.size, self.size + len(rows))
        done = 0
        while done < len(rows):
            if self.size == len(self.blocks) * self.block_rows:
                self.blocks.append(
                    np.empty((self.block_rows, self.width + 2), dtype=np.int64)
                )
            at = self.size % self.block_rows
            take = min(self.block_rows - at, len(rows) - done)
            part = slice(done, done + take)
            block = self.blocks[-1]
            block[at : at + take, : self.width] = rows[part]
            block[at : at + take, self.width] = mult[part]
            block[at : at + take, self.width + 1] = n_a[part]
            self.size += take
            done += take
        return ids

    def by_hash(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All units ordered by hash, as :func:`_compress` orders them."""
        return self.gather(self.units)


@dataclass
class ChunkUnits:
    """What some events contribute to a scan, mergeable by concatenation and addition.

    Unweighted events are summarised as unique keys (joint cell and label) with their counts;
    weighted events as unique rows (digits, then the bits of their weights and shifts) with
    their multiplicity and events in A. Merged weighted rows are held in a
    :class:`_UnitStore` until :meth:`compress` lays them out as one array.
    """

    counts: dict[str, Any]
    keys: list[np.ndarray] = field(default_factory=list)
    key_counts: list[np.ndarray] = field(default_factory=list)
    rows: list[np.ndarray] = field(default_factory=list)
    multiplicity: list[np.ndarray] = field(default_factory=list)
    n_a: list[np.ndarray] = field(default_factory=list)
    _store: _UnitStore | None = field(
        default=None, init=False, repr=False, compare=False
    )
    _exact: bool = field(default=False, init=False, repr=False, compare=False)

    def merge(self, other: ChunkUnits) -> ChunkUnits:
        self.keys.extend(other.keys)
        self.key_counts.extend(other.key_counts)
        for key, value in other.counts.items():
            if isinstance(value, dict):
                for k, v in value.items():
                    self.counts[key][k] += v
            else:
                self.counts[key] += value
        if other.rows or other._store is not None:
            self._add(*other._distinct())  # memory bounded by the units, not the chunks
        return self

    def _distinct(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The weighted rows held, grouped into units (as :meth:`compress` leaves them)."""
        self.compress()
        return self.rows[0], self.multiplicity[0], self.n_a[0]

    def _add(self, rows: np.ndarray, mult: np.ndarray, n_a: np.ndarray) -> None:
        """Add distinct rows: through the store, or (after a hash collision) exactly."""
        if not self._exact and self._store is None:
            held = self._distinct() if self.rows else None
            store = _UnitStore(rows.shape[1])
            if held is None or store.add(*held):
                self._store = store
                self.rows, self.multiplicity, self.n_a = [], [], []
            else:
                self._exact = True
        if self._store is not None:
            if self._store.add(rows, mult, n_a):
                return
            self.compress()
            self._exact = True
        self.rows.append(rows)
        self.multiplicity.append(mult)
        self.n_a.append(n_a)
        self.compress()

    def compress(self) -> None:
        """Merge the weighted rows gathered so far into units (ordered as :func:`_compress`
        orders them)."""
        if self._store is not None:
            rows, mult, n_a = self._store.by_hash()
            self._store = None
            self.rows, self.multiplicity, self.n_a = [rows], [mult], [n_a]
        elif len(self.rows) > 1:
            rows, mult, n_a = _compress(
                np.concatenate(self.rows),
                np.concatenate(self.multiplicity),
                np.concatenate(self.n_a),
            )
            self.rows, self.multiplicity, self.n_a = [rows], [mult], [n_a]


def chunk_units(chunk: Mapping[str, np.ndarray], config: Config) -> ChunkUnits:
    """Split, select, weight and bin one chunk of events: a pure function, run on any worker."""
    units = ChunkUnits(_new_counts(config))
    if not chunk or len(next(iter(chunk.values()))) == 0:
        return units
    is_a, digits, weights = _digits(chunk, config, units.counts)
    radix = _radix(config)
    if radix is not None and weights is None:
        key = np.ravel_multi_index(tuple(digits.T), radix) * 2 + is_a
        k, c = np.unique(key, return_counts=True)
        units.keys.append(k)
        units.key_counts.append(c)
    else:
        parts = [digits]
        if weights is not None:
            parts.append(np.ascontiguousarray(weights + 0.0).view(np.int64))
        rows, mult, n_a = _compress(
            np.hstack(parts), np.ones(len(is_a)), is_a.astype(float)
        )
        units.rows.append(rows)
        units.multiplicity.append(mult)
        units.n_a.append(n_a)
    return units


def build_cells(
    chunks: Iterable[Mapping[str, np.ndarray] | ChunkUnits], config: Config
) -> EventCells:
    """Split events by the symmetry, weight them, bin them in every histogram, keep their cells.

    ``chunks`` are dictionaries of columns, or their :func:`chunk_units` already computed
    (for instance on workers). Events selected by neither ``symmetry.a`` nor ``symmetry.b``
    are dropped (and counted); an event selected by both, or by two categories of one family,
    is an error. Non-finite and out-of-range observable values are counted per observable and
    never binned. Events are compressed into units chunk by chunk (events with the same bins
    everywhere and, when weighted, the same weights), so memory stays bounded by the number of
    units.
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
    n_digits = len(config.selections) + len(config.observables)
    weights = None
    if units.keys:
        radix = _radix(config)
        key, inverse = np.unique(np.concatenate(units.keys), return_inverse=True)
        total = np.bincount(inverse, weights=np.concatenate(units.key_counts))
        cell, first = np.unique(key >> 1, return_inverse=True)
        multiplicity = np.bincount(first, weights=total).astype(np.int64)
        n_a = np.bincount(first, weights=total * (key & 1)).astype(np.int64)
        digits = np.stack(np.unravel_index(cell, radix), axis=1)
    else:
        rows, multiplicity, n_a = units._distinct()
        units.rows.clear()  # the rows go once split into digits and weights
        digits = rows[:, :n_digits].astype(np.int32)
        if is_weighted(config):
            columns = np.ascontiguousarray(rows[:, n_digits:]).view(np.float64)
            weights = UnitWeights.from_columns(
                columns,
                tuple(s.name for s in config.systematics),
                config.symmetry.weight_a is not None,
            )
        del rows
    cells, selections = _membership(digits, config, histograms)
    return EventCells(
        histograms=histograms,
        cells=cells,
        multiplicity=multiplicity,
        n_a=n_a,
        weights=weights,
        counts=counts,
        selections=selections,
    )
