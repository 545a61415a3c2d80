"""Regions of interest: the most discrepant windows of a histogram, overlapping ones merged."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..stats.windows import scan_windows

__all__ = ("Window", "top_windows")


@dataclass(frozen=True)
class Window:
    """A window ``[start, stop)`` in bins per axis and its N_sigma (positive: B in excess)."""

    nsigma: float
    start: tuple[int, ...]
    stop: tuple[int, ...]


def _all_windows(
    b: np.ndarray, a: np.ndarray, min_entries: float, **inputs: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """N_sigma, starts and stops of every window (NaN where skipped)."""
    scan = scan_windows(
        b, a, min_entries=min_entries, two_sided=True, ndim=b.ndim, **inputs
    )
    shape = b.shape
    values, starts, stops = [], [], []
    for size in np.ndindex(*shape):
        k = tuple(s + 1 for s in size)
        m = scan.map(k)
        grid = np.stack(
            np.meshgrid(*(np.arange(n) for n in m.shape), indexing="ij"), -1
        )
        values.append(m.ravel())
        first = grid.reshape(-1, len(shape))
        starts.append(first)
        stops.append(first + np.asarray(k))
    return np.concatenate(values), np.concatenate(starts), np.concatenate(stops)


def top_windows(
    b: np.ndarray,
    a: np.ndarray,
    *,
    var_b: np.ndarray | None = None,
    var_a: np.ndarray | None = None,
    shifts: np.ndarray | None = None,
    entries: np.ndarray | None = None,
    min_entries: float = 0,
    k: int = 5,
) -> list[Window]:
    """The ``k`` windows of largest |N_sigma| that do not overlap one another.

    Greedy: take the most discrepant window, drop every window overlapping it (they describe
    the same excess), repeat. Windows under ``min_entries`` are never regions. ``var_b``,
    ``var_a``, ``shifts`` (systematics) and ``entries`` (events per bin, for
    ``min_entries``) are those of :func:`~asymscan.stats.windows.scan_windows`.
    """
    values, starts, stops = _all_windows(
        b, a, min_entries, var_b=var_b, var_a=var_a, shifts=shifts, entries=entries
    )
    score = np.where(np.isnan(values), -np.inf, np.abs(values))
    out: list[Window] = []
    for _ in range(k):
        i = int(np.argmax(score))
        if not np.isfinite(score[i]):
            break
        out.append(
            Window(
                float(values[i]), tuple(map(int, starts[i])), tuple(map(int, stops[i]))
            )
        )
        overlap = np.all((starts < stops[i]) & (starts[i] < stops), axis=1)
        score[overlap] = -np.inf
    return out
