"""Exceptions and warnings raised by asymscan.

Every error message names the offending value and what would have been valid.
"""

from __future__ import annotations

__all__ = (
    "AsymscanError",
    "ConfigError",
    "DataError",
    "LowStatisticsWarning",
    "ShapeError",
)


class AsymscanError(Exception):
    """Base class of every error raised by asymscan."""


class DataError(AsymscanError, ValueError):
    """Input numbers that cannot be used: NaN/inf, negative counts, empty samples, ..."""


class ShapeError(DataError):
    """Arrays or histograms whose shapes or binnings do not match."""


class ConfigError(AsymscanError, ValueError):
    """A malformed or inconsistent configuration or option."""


class LowStatisticsWarning(UserWarning):
    """Bins or windows with too few entries for the asymptotic distributions to hold."""
