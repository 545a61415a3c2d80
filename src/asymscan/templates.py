"""Background and signal templates: flat, rectangle, 2-D Gaussian, and user-supplied histograms.

Background templates are expected counts per bin; signal templates are normalised shapes
(sum one), so a signal strength ``mu`` is a number of signal events (Sec. 3 of Birman et al. 2022).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ._arrays import as_binned
from ._optional import require
from .errors import DataError, ShapeError

__all__ = (
    "flat",
    "from_histogram",
    "gaussian",
    "load_templates",
    "normalise",
    "rectangle",
    "template_pair",
)


def _shape(shape: int | tuple[int, ...]) -> tuple[int, ...]:
    out = (int(shape),) if np.isscalar(shape) else tuple(int(n) for n in shape)
    if not out or any(n < 1 for n in out):
        msg = f"a template shape needs at least one axis and positive lengths, got {shape!r}"
        raise ShapeError(msg)
    return out


def normalise(s: Any) -> np.ndarray:
    """A non-negative signal template scaled to unit sum."""
    values = as_binned(s, "signal template").values
    total = values.sum()
    if total <= 0:
        msg = "signal template has no positive entry: cannot normalise it"
        raise DataError(msg)
    return values / total


def flat(shape: int | tuple[int, ...] = (28, 28), value: float = 1e4) -> np.ndarray:
    """A flat background template with ``value`` expected entries per bin (Sec. 4 uses 1e4)."""
    if not value > 0:
        msg = f"a flat background needs a positive value per bin, got {value!r}"
        raise DataError(msg)
    return np.full(_shape(shape), float(value))


def rectangle(
    shape: int | tuple[int, ...] = (28, 28),
    size: int | tuple[int, ...] = 6,
    start: int | tuple[int, ...] | None = None,
) -> np.ndarray:
    """A flat rectangular signal of ``size`` bins per axis, normalised; centred unless ``start`` is given."""
    shp = _shape(shape)
    k = (int(size),) * len(shp) if np.isscalar(size) else tuple(int(v) for v in size)
    if len(k) != len(shp) or any(not 1 <= v <= n for v, n in zip(k, shp, strict=True)):
        msg = f"rectangle size {k} does not fit in a template of shape {shp}"
        raise ShapeError(msg)
    if start is None:
        first = tuple((n - v) // 2 for n, v in zip(shp, k, strict=True))
    else:
        first = (
            (int(start),) * len(shp)
            if np.isscalar(start)
            else tuple(int(v) for v in start)
        )
    if any(f < 0 or f + v > n for f, v, n in zip(first, k, shp, strict=True)):
        msg = f"rectangle at {first} of size {k} falls outside the template of shape {shp}"
        raise ShapeError(msg)
    s = np.zeros(shp)
    s[tuple(slice(f, f + v) for f, v in zip(first, k, strict=True))] = 1.0
    return s / s.sum()


def gaussian(
    shape: tuple[int, int] = (28, 28),
    mean: tuple[float, float] | None = None,
    sigma: float | tuple[float, float] = 2.0,
    rho: float = 0.0,
) -> np.ndarray:
    """A 2-D Gaussian signal evaluated at bin centres (in bin units), normalised to unit sum."""
    shp = _shape(shape)
    if len(shp) != 2:
        msg = f"gaussian templates are 2-D, got shape {shp}"
        raise ShapeError(msg)
    mx, my = ((shp[0] - 1) / 2, (shp[1] - 1) / 2) if mean is None else mean
    sx, sy = (sigma, sigma) if np.isscalar(sigma) else sigma
    if not (sx > 0 and sy > 0 and -1 < rho < 1):
        msg = f"gaussian needs sigma > 0 and -1 < rho < 1, got sigma={sigma!r}, rho={rho!r}"
        raise DataError(msg)
    x, y = np.meshgrid(np.arange(shp[0]), np.arange(shp[1]), indexing="ij")
    u, v = (x - mx) / sx, (y - my) / sy
    s = np.exp(-(u * u - 2 * rho * u * v + v * v) / (2 * (1 - rho * rho)))
    return s / s.sum()


def from_histogram(h: Any) -> np.ndarray:
    """Bin contents of a numpy array or any hist/UHI histogram (non-negative, finite)."""
    return as_binned(h, "template").values


def load_templates(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read ``(background, signal)`` templates from a file.

    Supported: ``.npz`` with arrays ``background`` and ``signal``; ``.root`` with histograms
    named ``background`` and ``signal`` (read with uproot, ``asymscan[root]``). The signal is
    normalised to unit sum.
    """
    p = Path(path)
    if not p.is_file():
        msg = f"template file {str(p)!r} does not exist"
        raise DataError(msg)
    if p.suffix == ".npz":
        with np.load(p) as f:
            missing = {"background", "signal"} - set(f.files)
            if missing:
                msg = f"{p} lacks array(s) {sorted(missing)}; it has {sorted(f.files)}"
                raise DataError(msg)
            t, s = f["background"], f["signal"]
    elif p.suffix == ".root":
        uproot = require("uproot")
        with uproot.open(p) as f:
            missing = [k for k in ("background", "signal") if k not in f]
            if missing:
                msg = f"{p} lacks histogram(s) {missing}"
                raise DataError(msg)
            t, s = f["background"].values(), f["signal"].values()
    else:
        msg = f"template file {p.name!r}: expected a .npz or .root file"
        raise DataError(msg)
    return template_pair(t, s)


def template_pair(background: Any, signal: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``(background, signal)`` templates of one shape, the signal normalised."""
    t = from_histogram(background)
    s = normalise(signal)
    if t.shape != s.shape:
        msg = (
            f"background {t.shape} and signal {s.shape} templates have different shapes"
        )
        raise ShapeError(msg)
    return t, s
