"""Binned statistics: N_sigma, profile-likelihood q0 (L1, L2), window scans, p <-> Z.

N_sigma, the window scan and q0^L2 take systematic uncertainties as Gaussian nuisances
(``shifts``: the change of B - A for a +1 sigma pull of each).
"""

from __future__ import annotations

from .likelihood import (
    Q0Result,
    asimov_q0,
    inject_strength,
    q0_known_background,
    q0_two_sample,
)
from .nsigma import NsigmaResult, nsigma
from .roc import auc, roc_curve
from .significance import p_from_z, toy_p_value, z_from_p
from .windows import WindowScan, scan_windows

__all__ = (
    "NsigmaResult",
    "Q0Result",
    "WindowScan",
    "asimov_q0",
    "auc",
    "inject_strength",
    "nsigma",
    "p_from_z",
    "q0_known_background",
    "q0_two_sample",
    "roc_curve",
    "scan_windows",
    "toy_p_value",
    "z_from_p",
)
