"""Sensitivity studies reproducing the papers' figures."""

from __future__ import annotations

from .binned import PRESETS, TESTS, BinnedStudy, binned_study, preset_templates

__all__ = ("PRESETS", "TESTS", "BinnedStudy", "binned_study", "preset_templates")
