"""Asimov data and Poisson toy pairs from a background template (Sec. 3 of Birman et al. 2022)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._arrays import as_binned
from ..errors import DataError, ShapeError

__all__ = ("ToyPairs", "asimov", "poisson_toys")


@dataclass(frozen=True)
class ToyPairs:
    """Toy histograms with the toy index as the leading axis.

    ``a`` and ``b`` are independent Poisson draws from the background template T (the
    symmetric case); ``b_signal`` is ``b`` with the signal injected (the asymmetric case).
    """

    a: np.ndarray
    b: np.ndarray
    b_signal: np.ndarray


def _templates(t: Any, s: Any) -> tuple[np.ndarray, np.ndarray]:
    tt = as_binned(t, "t (background template)").values
    ss = np.zeros_like(tt) if s is None else as_binned(s, "s (signal template)").values
    if tt.shape != ss.shape:
        msg = f"t {tt.shape} and s {ss.shape} must have the same shape"
        raise ShapeError(msg)
    return tt, ss


def asimov(t: Any, s: Any, mu: float) -> tuple[np.ndarray, np.ndarray]:
    """Asimov data ``(A, B) = (T, T + mu S)``: every statistic at its expected value (Sec. 4)."""
    tt, ss = _templates(t, s)
    return tt, tt + float(mu) * ss


def poisson_toys(
    t: Any,
    s: Any = None,
    mu: float = 0.0,
    *,
    n: int = 20000,
    rng: np.random.Generator | int | None = None,
    fluctuate_signal: bool = False,
) -> ToyPairs:
    """Draw ``n`` toy pairs A, B ~ Poisson(T) and B^s = B + mu S.

    As in Sec. 3 of Birman et al. 2022 the injected signal is not fluctuated
    (``fluctuate_signal=False``): the study isolates the background's statistical power.
    With ``fluctuate_signal=True``, B^s = B + Poisson(mu S).

    Parameters
    ----------
    t
        Background template (expected counts per bin).
    s
        Signal template (normalised), or None for no signal.
    mu
        Injected signal strength (events).
    n
        Number of toys (20000 in the paper).
    rng
        A ``numpy.random.Generator`` or a seed.
    """
    if n < 1:
        msg = f"n must be a positive number of toys, got {n}"
        raise DataError(msg)
    if mu < 0:
        msg = f"mu must be >= 0 (a signal to inject), got {mu}"
        raise DataError(msg)
    tt, ss = _templates(t, s)
    gen = np.random.default_rng(rng)
    a = gen.poisson(tt, size=(n, *tt.shape)).astype(float)
    b = gen.poisson(tt, size=(n, *tt.shape)).astype(float)
    if fluctuate_signal:
        b_signal = b + gen.poisson(mu * ss, size=b.shape)
    else:
        b_signal = b + mu * ss
    return ToyPairs(a=a, b=b, b_signal=b_signal)
