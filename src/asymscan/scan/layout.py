"""From events to the bins of every histogram of a scan, kept per event for label-exchange toys.

A scan fills one histogram per (selection, observable set): the inclusive sample and every
combination of the categories of the selection families, times every observable (1-D), pair
(2-D) or triple (3-D). All their bins are laid end to end in one global bin vector, and each
event's membership is a sparse matrix ``cells`` of shape (global bins, events). Then

* the histograms of A are ``cells @ (w * is_a)`` (sum of weights) and ``cells @ (w**2 * is_a)``
  (sum of squared weights), and likewise for B;
* toys relabelling the events are one sparse product ``cells @ (w[:, None] * labels)``, which
  keeps every correlation between histograms filled from the same events.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse

from ..config import Config
from ..errors import DataError

__all__ = ("EventCells", "Histogram", "build_cells", "plan_histograms")


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
    """Per-event bin membership of a whole scan, plus labels, weights and bookkeeping.

    Attributes
    ----------
    histograms
        The histograms, whose bins occupy ``[offset, offset + size)`` of the global vector.
    cells
        Sparse ``(n_bins, n_events)`` membership matrix (CSR, entries 1).
    is_a
        Whether each kept event is in sample A (else B).
    weight
        Per-event weight, or None for unit weights.
    counts
        Bookkeeping: events read, in A, in B, in neither (dropped); per observable, events
        with a non-finite value and events outside its range (neither is binned).
    """

    histograms: list[Histogram]
    cells: sparse.csr_matrix
    is_a: np.ndarray
    weight: np.ndarray | None
    counts: dict[str, Any]

    @property
    def n_events(self) -> int:
        return int(self.is_a.size)

    @property
    def n_bins(self) -> int:
        return int(self.cells.shape[0])

    def fill(self, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Sum of weights (and squared weights, if weighted) of the events labelled 1.

        ``labels`` is ``(n_events,)`` or ``(n_events, n_toys)``; the result is ``(n_bins,)`` or
        ``(n_toys, n_bins)``.
        """
        lab = labels.astype(float, copy=False)
        if self.weight is None:
            return np.asarray(self.cells @ lab).T, None
        w = self.weight if lab.ndim == 1 else self.weight[:, None]
        return np.asarray(self.cells @ (w * lab)).T, np.asarray(
            self.cells @ (w * w * lab)
        ).T

    def observed(self) -> dict[str, np.ndarray | None]:
        """The observed histograms of A and B as global bin vectors (sums of w and w**2)."""
        sum_a, var_a = self.fill(self.is_a)
        sum_b, var_b = self.fill(~self.is_a)
        return {"a": sum_a, "b": sum_b, "var_a": var_a, "var_b": var_b}


def _evaluate(
    expr: Any, columns: Mapping[str, np.ndarray], where: str, n: int
) -> np.ndarray:
    value = np.asarray(expr.evaluate(columns))
    if value.shape != (n,):
        value = np.broadcast_to(value, (n,))
    return value


def _condition(
    expr: Any, columns: Mapping[str, np.ndarray], where: str, n: int
) -> np.ndarray:
    value = _evaluate(expr, columns, where, n)
    if value.dtype != bool:
        msg = f"{where} = {expr.text!r} must be a condition (true/false per event), got numbers"
        raise DataError(msg)
    return value


def build_cells(
    chunks: Iterable[Mapping[str, np.ndarray]], config: Config
) -> EventCells:
    """Split events by the symmetry, bin them in every histogram, and keep each event's cells.

    Events selected by neither ``symmetry.a`` nor ``symmetry.b`` are dropped (and counted); an
    event selected by both, or by two categories of one family, is an error. Non-finite and
    out-of-range observable values are counted per observable and never binned.
    """
    histograms = plan_histograms(config)
    n_bins = sum(h.size for h in histograms) if histograms else 0
    families = config.selections
    observables = {o.name: o for o in config.observables}
    counts: dict[str, Any] = {
        "read": 0,
        "a": 0,
        "b": 0,
        "dropped": 0,
        "non_finite": dict.fromkeys(observables, 0),
        "out_of_range": dict.fromkeys(observables, 0),
    }
    rows, cols, labels, weights = [], [], [], []
    kept = 0
    for chunk in chunks:
        n = len(next(iter(chunk.values()))) if chunk else 0
        counts["read"] += n
        if n == 0:
            continue
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
        counts["dropped"] += int(n - keep.sum())
        sub = {k: np.asarray(v)[keep] for k, v in chunk.items()}
        m = int(keep.sum())
        is_a = in_a[keep]
        counts["a"] += int(is_a.sum())
        counts["b"] += int(m - is_a.sum())
        if config.data.weight is not None:
            w = _evaluate(config.data.weight, sub, "data.weight", m).astype(float)
            if not np.isfinite(w).all():
                msg = f"data.weight = {config.data.weight.text!r} is NaN or infinite for {int((~np.isfinite(w)).sum())} event(s)"
                raise DataError(msg)
            weights.append(w)
        cat = {}
        for fam in families:
            index = np.full(m, -1)
            for j, (name, expr) in enumerate(fam.categories.items()):
                mask = _condition(expr, sub, f"selections.{fam.name}.{name}", m)
                clash = mask & (index >= 0)
                if clash.any():
                    other = list(fam.categories)[int(index[np.argmax(clash)])]
                    msg = (
                        f"{int(clash.sum())} event(s) fall in both categories {other!r} and "
                        f"{name!r} of selection family {fam.name!r}; categories must be exclusive"
                    )
                    raise DataError(msg)
                index[mask] = j
            cat[fam.name] = index
        bin_index, valid = {}, {}
        for name, obs in observables.items():
            x = _evaluate(obs.expr, sub, f"observables.{name}.expr", m).astype(float)
            finite = np.isfinite(x)
            lo, hi = obs.range
            inside = finite & (x >= lo) & (x < hi)
            counts["non_finite"][name] += int((~finite).sum())
            counts["out_of_range"][name] += int((finite & ~inside).sum())
            idx = np.floor(
                (np.where(inside, x, lo) - lo) / (hi - lo) * obs.bins
            ).astype(np.int64)
            bin_index[name] = np.minimum(idx, obs.bins - 1)
            valid[name] = inside
        events = np.arange(m) + kept
        for h in histograms:
            ok = np.ones(m, dtype=bool)
            for fam_name, category in h.selection:
                fam = next(f for f in families if f.name == fam_name)
                ok &= cat[fam_name] == list(fam.categories).index(category)
            for name in h.observables:
                ok &= valid[name]
            flat = np.ravel_multi_index(
                tuple(bin_index[o][ok] for o in h.observables), h.shape
            )
            rows.append(flat + h.offset)
            cols.append(events[ok])
        labels.append(is_a)
        kept += m
    if kept == 0 or counts["a"] == 0 or counts["b"] == 0:
        msg = (
            f"sample A has {counts['a']} and sample B {counts['b']} event(s) out of "
            f"{counts['read']} read: both must be non-empty (check symmetry.a and symmetry.b)"
        )
        raise DataError(msg)
    r = np.concatenate(rows) if rows else np.empty(0, dtype=np.int64)
    c = np.concatenate(cols) if cols else np.empty(0, dtype=np.int64)
    cells = sparse.csr_matrix((np.ones(r.size), (r, c)), shape=(n_bins, kept))
    return EventCells(
        histograms=histograms,
        cells=cells,
        is_a=np.concatenate(labels),
        weight=np.concatenate(weights) if weights else None,
        counts=counts,
    )
