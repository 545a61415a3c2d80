"""Event data: safe expressions on columns, kinematic helpers and correctionlib corrections."""

from __future__ import annotations

from . import hep
from .corrections import Corrections, load_corrections
from .expressions import (
    FUNCTIONS,
    Expression,
    ExpressionError,
    UnknownColumnError,
    parse,
)

__all__ = (
    "FUNCTIONS",
    "Corrections",
    "Expression",
    "ExpressionError",
    "UnknownColumnError",
    "hep",
    "load_corrections",
    "parse",
)
