"""Calibration: Asimov data and toys drawn under the symmetric and asymmetric hypotheses."""

from __future__ import annotations

from .toys import ToyPairs, asimov, poisson_toys

__all__ = ("ToyPairs", "asimov", "poisson_toys")
