"""Neural likelihood-ratio tests of two samples (Bressler et al.), with PyTorch (``asymscan[nn]``).

Importing this package does not import torch; the functions do, and say how to install it when
it is missing.
"""

from __future__ import annotations

from .classifier import ClassifierResult, classifier_test
from .models import Network
from .statistics import NNTestResult, delta_test, nplm_test, symmetrized_test

__all__ = (
    "ClassifierResult",
    "NNTestResult",
    "Network",
    "classifier_test",
    "delta_test",
    "nplm_test",
    "symmetrized_test",
)
