"""Conversions between p-values and significances, and p-values counted from toys."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ("p_from_z", "toy_p_value", "z_from_p")


def z_from_p(p: Any) -> np.ndarray:
    """One-sided significance Z = Phi^-1(1 - p) (Sec. 2 of Birman et al. 2022), accurate for tiny p."""
    from scipy import stats

    return stats.norm.isf(np.asarray(p, dtype=float))


def p_from_z(z: Any) -> np.ndarray:
    """One-sided p-value 1 - Phi(Z) of a significance Z."""
    from scipy import stats

    return stats.norm.sf(np.asarray(z, dtype=float))


def toy_p_value(
    observed: Any, toys: Any, *, axis: int = -1
) -> tuple[np.ndarray, np.ndarray]:
    """p = (k + 1)/(n + 1) with k toys at least as extreme as ``observed``, and its binomial error.

    The +1 counts the observation itself, so the p-value of a finite toy ensemble is never zero
    and is exactly valid (uniform or conservative) under the null.
    """
    toys = np.asarray(toys, dtype=float)
    n = toys.shape[axis]
    k = (toys >= np.expand_dims(np.asarray(observed, dtype=float), axis)).sum(axis=axis)
    p = (k + 1.0) / (n + 1.0)
    return p, np.sqrt(p * (1.0 - p) / (n + 1.0))
