"""Calibration: Asimov data and toys; label-exchange toys of a scan are in ``calibrate.exchange``,
and the extrapolated global p-value beyond them in ``calibrate.tail``."""

from __future__ import annotations

from .empirical import EmpiricalNull, asymptotic_p, permutation_null, toy_null
from .tail import GaussianTail, TailEstimate, TailNotSupported, extrapolated_p
from .toys import ToyPairs, asimov, poisson_toys

__all__ = (
    "EmpiricalNull",
    "GaussianTail",
    "TailEstimate",
    "TailNotSupported",
    "ToyPairs",
    "asimov",
    "asymptotic_p",
    "extrapolated_p",
    "permutation_null",
    "poisson_toys",
    "toy_null",
)
