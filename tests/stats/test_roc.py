"""ROC curves and AUC against closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from asymscan import DataError
from asymscan.stats import auc, roc_curve


@pytest.mark.parametrize("shift", [0.0, 0.5, 1.5, 3.0])
def test_auc_of_shifted_gaussians(shift):
    rng = np.random.default_rng(11)
    null, alt = rng.normal(size=40000), rng.normal(shift, 1.0, size=40000)
    # P(X1 > X0) for independent unit Gaussians = Phi(shift / sqrt(2)).
    assert auc(null, alt) == pytest.approx(
        stats.norm.cdf(shift / np.sqrt(2)), abs=0.006
    )


def test_auc_is_area_under_roc():
    rng = np.random.default_rng(2)
    null, alt = rng.normal(size=500), rng.normal(1.0, 1.2, size=700)
    fpr, tpr = roc_curve(null, alt)
    area = -np.trapezoid(tpr, fpr)
    assert area == pytest.approx(auc(null, alt), abs=1e-12)


def test_auc_counts_ties_half():
    assert auc([0.0, 1.0], [1.0, 2.0]) == pytest.approx((1 + 0.5 + 1 + 1) / 4)


def test_roc_thinning_keeps_endpoints():
    rng = np.random.default_rng(3)
    fpr, tpr = roc_curve(rng.normal(size=5000), rng.normal(1, 1, size=5000), points=50)
    assert len(fpr) == 52
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (1.0, 1.0, 0.0, 0.0)
    assert np.all(np.diff(fpr) <= 0)
    assert np.all(np.diff(tpr) <= 0)


@pytest.mark.parametrize(("null", "alt"), [([], [1.0]), ([1.0, np.nan], [1.0])])
def test_bad_input(null, alt):
    with pytest.raises(DataError):
        auc(null, alt)
