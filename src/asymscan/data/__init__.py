"""Event data: safe expressions on columns and kinematic helpers."""

from __future__ import annotations

from . import hep
from .expressions import (
    FUNCTIONS,
    Expression,
    ExpressionError,
    UnknownColumnError,
    parse,
)

__all__ = (
    "FUNCTIONS",
    "Expression",
    "ExpressionError",
    "UnknownColumnError",
    "hep",
    "parse",
)
