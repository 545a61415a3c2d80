"""Neural likelihood-ratio tests of two samples (Bressler et al.), with PyTorch (``asymscan[nn]``).

Importing this package does not import torch; the functions do, and say how to install it when
it is missing.
"""

from __future__ import annotations

from .classifier import ClassifierResult, classifier_test
from .models import Network
from .statistics import (
    FitOptions,
    NNTestResult,
    PooledStatistic,
    delta_test,
    nplm_test,
    pooled_tests,
    symmetrized_test,
)

__all__ = (
    "ClassifierResult",
    "FitOptions",
    "NNTestResult",
    "Network",
    "PooledStatistic",
    "classifier_test",
    "delta_test",
    "nplm_test",
    "pooled_tests",
    "symmetrized_test",
)
