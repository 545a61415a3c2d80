"""Sensitivity studies reproducing the papers' figures."""

from __future__ import annotations

from .binned import PRESETS, TESTS, BinnedStudy, binned_study, preset_templates
from .nn import NN_PRESETS, NNStudy, NNStudyConfig, nn_study

__all__ = (
    "NN_PRESETS",
    "PRESETS",
    "TESTS",
    "BinnedStudy",
    "NNStudy",
    "NNStudyConfig",
    "binned_study",
    "nn_study",
    "preset_templates",
)
