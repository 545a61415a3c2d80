"""Calibration: Asimov data and toys; label-exchange toys of a scan are in ``calibrate.exchange``."""

from __future__ import annotations

from .empirical import EmpiricalNull, asymptotic_p, permutation_null, toy_null
from .toys import ToyPairs, asimov, poisson_toys

__all__ = (
    "EmpiricalNull",
    "ToyPairs",
    "asimov",
    "asymptotic_p",
    "permutation_null",
    "poisson_toys",
    "toy_null",
)
