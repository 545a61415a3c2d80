"""Neural likelihood-ratio tests of two samples (Bressler et al.), with PyTorch (``asymscan[nn]``).

Importing this package does not import torch; the functions do, and say how to install it when
it is missing.
"""

from __future__ import annotations

from .models import Network
from .statistics import NNTestResult, delta_test, nplm_test, symmetrized_test

__all__ = ("NNTestResult", "Network", "delta_test", "nplm_test", "symmetrized_test")
