"""ROC curves and their area for separating two distributions of a test statistic (Fig. 4)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._arrays import check_finite
from ..errors import DataError

__all__ = ("auc", "roc_curve")


def _samples(x: Any, name: str) -> np.ndarray:
    v = np.ravel(np.asarray(x, dtype=float))
    if v.size == 0:
        msg = f"{name} is empty: a ROC curve needs values under both hypotheses"
        raise DataError(msg)
    check_finite(v, name)
    return v


def roc_curve(
    null: Any, alt: Any, *, points: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """False- and true-positive rates of the cut ``statistic > c`` for every threshold ``c``.

    ``null`` holds the statistic under the symmetric hypothesis, ``alt`` under the asymmetric
    one. Returns ``(fpr, tpr)`` from (1, 1) down to (0, 0); ``points`` thins the curve evenly
    in threshold rank (for plotting and storage).
    """
    x0, x1 = _samples(null, "null"), _samples(alt, "alt")
    thresholds = np.unique(np.concatenate([x0, x1]))
    if points is not None and thresholds.size > points:
        thresholds = thresholds[np.linspace(0, thresholds.size - 1, points).astype(int)]
    s0, s1 = np.sort(x0), np.sort(x1)
    fpr = 1.0 - np.searchsorted(s0, thresholds, side="right") / s0.size
    tpr = 1.0 - np.searchsorted(s1, thresholds, side="right") / s1.size
    return np.concatenate([[1.0], fpr, [0.0]]), np.concatenate([[1.0], tpr, [0.0]])


def auc(null: Any, alt: Any) -> float:
    """Area under the ROC curve: P(alt > null) + P(alt = null)/2 (the Mann-Whitney U statistic)."""
    from scipy import stats

    x0, x1 = _samples(null, "null"), _samples(alt, "alt")
    u = stats.mannwhitneyu(x1, x0, alternative="greater").statistic
    return float(u / (x0.size * x1.size))
