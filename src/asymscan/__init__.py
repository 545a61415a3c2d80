"""asymscan: find where two event samples that a Standard-Model symmetry says should match do not.

The public API is re-exported here; see the submodules for the details.
"""

from __future__ import annotations

from ._version import __version__
from .errors import (
    AsymscanError,
    ConfigError,
    DataError,
    LowStatisticsWarning,
    ShapeError,
)
from .stats import (
    NsigmaResult,
    Q0Result,
    WindowScan,
    asimov_q0,
    inject_strength,
    nsigma,
    p_from_z,
    q0_known_background,
    q0_two_sample,
    scan_windows,
    toy_p_value,
    z_from_p,
)

__all__ = (
    "AsymscanError",
    "ConfigError",
    "DataError",
    "LowStatisticsWarning",
    "NsigmaResult",
    "Q0Result",
    "ShapeError",
    "WindowScan",
    "__version__",
    "asimov_q0",
    "inject_strength",
    "nsigma",
    "p_from_z",
    "q0_known_background",
    "q0_two_sample",
    "scan_windows",
    "toy_p_value",
    "z_from_p",
)
