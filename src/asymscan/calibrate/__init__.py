"""Calibration: Asimov data and toys; label-exchange toys of a scan are in ``calibrate.exchange``."""

from __future__ import annotations

from .toys import ToyPairs, asimov, poisson_toys

__all__ = ("ToyPairs", "asimov", "poisson_toys")
