"""A vectorized, bracketed Newton solver for many 1-D monotone root problems at once."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ("newton_decreasing",)


def newton_decreasing(
    fun: Callable[[np.ndarray, tuple], tuple[np.ndarray, np.ndarray]],
    lo: np.ndarray,
    hi: np.ndarray,
    x0: np.ndarray | None = None,
    *,
    rtol: float = 1e-13,
    maxiter: int = 200,
) -> np.ndarray:
    """Roots of decreasing functions ``g`` on brackets ``[lo, hi]``, one problem per array element.

    ``fun(x, idx)`` returns ``(g(x), g'(x))`` for the still-active elements ``x``, whose
    positions in the batch are the index tuple ``idx`` (so ``fun`` can pick their data). Newton steps are taken while they stay inside the
    current bracket, bisection otherwise, so every element converges (quadratically near a
    simple root). Where ``g`` has no sign change in the bracket, the endpoint where ``|g|`` is
    smallest is approached; this is the constrained optimum when ``g`` is the derivative of a
    concave function.
    """
    lo, hi = np.broadcast_arrays(
        np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    )
    lo, hi = lo.copy(), hi.copy()
    x = (
        0.5 * (lo + hi)
        if x0 is None
        else np.clip(np.broadcast_to(x0, lo.shape), lo, hi)
    )
    x = np.array(x, dtype=float)
    active = hi > lo
    for _ in range(maxiter):
        if not active.any():
            break
        idx = np.nonzero(active)
        xa, la, ha = x[idx], lo[idx], hi[idx]
        g, dg = fun(xa, idx)
        la = np.where(g > 0, xa, la)
        ha = np.where(g < 0, xa, ha)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            step = np.where(dg < 0, -g / dg, np.nan)
        new = xa + step
        outside = ~np.isfinite(new) | (new <= la) | (new >= ha)
        new = np.where(outside, 0.5 * (la + ha), new)
        new = np.where(g == 0, xa, new)
        scale = 1.0 + np.abs(new)
        done = (g == 0) | (np.abs(new - xa) <= rtol * scale) | (ha - la <= rtol * scale)
        x[idx], lo[idx], hi[idx] = new, la, ha
        active[idx] = ~done
    return x
