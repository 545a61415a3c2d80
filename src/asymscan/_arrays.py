"""Turning user input (numpy arrays, hist/UHI histograms) into validated float arrays."""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import DataError, ShapeError

__all__ = (
    "Binned",
    "as_binned",
    "as_shifts",
    "bin_shape",
    "broadcast_batch",
    "check_finite",
    "resolve_ndim",
)


class Binned:
    """Bin contents and optional variances taken from an array or a UHI histogram."""

    __slots__ = ("edges", "values", "variances")

    def __init__(
        self, values: np.ndarray, variances: np.ndarray | None, edges: tuple | None
    ):
        self.values = values
        self.variances = variances
        self.edges = edges


def _is_histogram(x: Any) -> bool:
    return hasattr(x, "values") and hasattr(x, "axes") and callable(x.values)


def check_finite(x: np.ndarray, name: str) -> None:
    """Raise ``DataError`` if ``x`` holds NaN or infinity, saying how many and where the first is."""
    if np.isfinite(np.sum(x)):  # one pass: NaN and inf propagate into the sum
        return
    bad = ~np.isfinite(x)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        msg = f"{name} has {int(bad.sum())} non-finite value(s) (NaN or inf), first at index {first}"
        raise DataError(msg)


def as_binned(x: Any, name: str, *, nonnegative: bool = True) -> Binned:
    """Validate counts given as an array-like or a hist/UHI histogram.

    Parameters
    ----------
    x
        Array-like of bin contents, or an object following the UHI plottable protocol
        (``hist.Hist``, ``boost_histogram.Histogram``, uproot's histograms).
    name
        The argument's name, used in error messages.
    nonnegative
        Reject negative entries (Poisson counts must not be negative).
    """
    edges = None
    variances = None
    if _is_histogram(x):
        values = np.asarray(x.values(), dtype=float)
        var = x.variances() if hasattr(x, "variances") else None
        # A histogram filled without weights has variances equal to its counts: keep Poisson form.
        if var is not None and not np.array_equal(var, values):
            variances = np.asarray(var, dtype=float)
        edges = tuple(np.asarray(ax.edges, dtype=float) for ax in x.axes)
    else:
        try:
            values = np.asarray(x, dtype=float)
        except (TypeError, ValueError) as err:
            msg = f"{name} must be an array of numbers or a histogram, got {type(x).__name__}"
            raise DataError(msg) from err
    if values.ndim == 0:
        msg = f"{name} must have at least one bin axis, got a scalar"
        raise ShapeError(msg)
    if values.size == 0:
        msg = f"{name} is empty (shape {values.shape}): there are no bins to compare"
        raise DataError(msg)
    check_finite(values, name)
    if nonnegative and values.min() < 0:
        n = int((values < 0).sum())
        msg = (
            f"{name} has {n} negative count(s) (minimum {values.min():g}); Poisson counts must be "
            "non-negative (pass var_a/var_b for weighted histograms)"
        )
        raise DataError(msg)
    if variances is not None:
        check_finite(variances, f"variances of {name}")
    return Binned(values, variances, edges)


def as_variance(
    v: Any, name: str, like: np.ndarray, *, what: str = "variances"
) -> np.ndarray:
    """Validate an explicit variance array: finite, non-negative, broadcastable to ``like``.

    ``what`` names the kind of numbers in the error message (``"variances"``, ``"event counts"``).
    """
    try:
        var = np.asarray(v, dtype=float)
    except (TypeError, ValueError) as err:
        msg = f"{name} must be an array of numbers, got {type(v).__name__}"
        raise DataError(msg) from err
    check_finite(var, name)
    if (var < 0).any():
        msg = (
            f"{name} has negative entries (minimum {var.min():g}); {what} must be >= 0"
        )
        raise DataError(msg)
    try:
        np.broadcast_shapes(var.shape, like.shape)
    except ValueError as err:
        msg = f"{name} has shape {var.shape}, which does not match the counts' shape {like.shape}"
        raise ShapeError(msg) from err
    return var


def resolve_ndim(
    ndim: int | None, *arrays: np.ndarray, max_ndim: int | None = None
) -> int:
    """Number of trailing bin axes: ``ndim`` if given, else all axes of the smallest input."""
    smallest = min(a.ndim for a in arrays)
    if ndim is None:
        ndim = smallest
    if not 1 <= ndim <= smallest:
        msg = (
            f"ndim={ndim} must be between 1 and the inputs' number of axes ({smallest})"
        )
        raise ShapeError(msg)
    if max_ndim is not None and ndim > max_ndim:
        msg = f"ndim={ndim} is not supported here; at most {max_ndim} bin axes"
        raise ShapeError(msg)
    return ndim


def bin_shape(ndim: int, named: dict[str, np.ndarray]) -> tuple[int, ...]:
    """The common bin shape (trailing ``ndim`` axes) of ``named`` arrays; batch axes must broadcast."""
    shapes = {k: v.shape for k, v in named.items()}
    bins = {k: s[len(s) - ndim :] for k, s in shapes.items()}
    first = next(iter(bins.values()))
    if any(b != first for b in bins.values()):
        described = ", ".join(f"{k} {s}" for k, s in shapes.items())
        msg = f"bin shapes differ (last {ndim} axes): {described}"
        raise ShapeError(msg)
    try:
        np.broadcast_shapes(*(s[: len(s) - ndim] for s in shapes.values()))
    except ValueError as err:
        described = ", ".join(f"{k} {s}" for k, s in shapes.items())
        msg = f"batch axes do not broadcast: {described}"
        raise ShapeError(msg) from err
    return first


def check_same_binning(x: Binned, y: Binned, names: tuple[str, str]) -> None:
    """Raise ``ShapeError`` when two histograms carry different bin edges."""
    if x.edges is None or y.edges is None:
        return
    same = len(x.edges) == len(y.edges) and all(
        e1.shape == e2.shape and np.allclose(e1, e2)
        for e1, e2 in zip(x.edges, y.edges, strict=False)
    )
    if not same:
        msg = f"{names[0]} and {names[1]} have different binnings (bin edges differ)"
        raise ShapeError(msg)


def as_shifts(
    x: Any, ndim: int, bins: tuple[int, ...], name: str = "shifts"
) -> np.ndarray:
    """Validate systematic shifts of shape ``(K, ..., *bins)``: one row per nuisance first.

    The axes between the nuisance axis and the ``ndim`` bin axes are batch axes (they must
    broadcast against those of the counts; see :func:`broadcast_batch`). Values must be finite.
    """
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as err:
        msg = f"{name} must be an array of numbers, got {type(x).__name__}"
        raise DataError(msg) from err
    if arr.ndim < ndim + 1:
        msg = (
            f"{name} has shape {arr.shape}, but must be (K, ..., *bins) with bins {bins}: one "
            f"entry per nuisance along the first axis (use {name}[None] for a single nuisance)"
        )
        raise ShapeError(msg)
    if arr.shape[arr.ndim - ndim :] != tuple(bins):
        msg = (
            f"{name} has shape {arr.shape}, whose last {ndim} axes do not match the bin shape "
            f"{tuple(bins)} of the counts"
        )
        raise ShapeError(msg)
    check_finite(arr, name)
    return arr


def broadcast_batch(
    shifts: np.ndarray, batch: tuple[int, ...], ndim: int, name: str = "shifts"
) -> tuple[np.ndarray, tuple[int, ...]]:
    """Shifts ``(K, *sbatch, *bins)`` reshaped to ``(K, *full, *bins)`` with ones where needed.

    ``full`` is the broadcast of ``sbatch`` with the counts' ``batch``; returned with the
    reshaped array (a view, not broadcast in memory).
    """
    sbatch = shifts.shape[1 : shifts.ndim - ndim]
    try:
        full = np.broadcast_shapes(sbatch, batch)
    except ValueError as err:
        msg = (
            f"the batch axes {sbatch} of {name} (shape {shifts.shape}) do not broadcast "
            f"against the batch axes {batch} of the counts"
        )
        raise ShapeError(msg) from err
    pad = (1,) * (len(full) - len(sbatch))
    bins = shifts.shape[shifts.ndim - ndim :]
    return shifts.reshape(shifts.shape[0], *pad, *sbatch, *bins), full
