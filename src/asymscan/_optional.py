"""Imports of the heavy optional dependencies, with an error that says how to install them."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ("require",)

_EXTRA = {
    "torch": "nn",
    "uproot": "root",
    "awkward": "root",
    "distributed": "dask",
    "pythia8mc": "pythia",
    "pythia8": "pythia",
    "fastjet": "pythia",
}


def require(module: str) -> ModuleType:
    """Import ``module`` or raise a ``ModuleNotFoundError`` naming the extra that provides it."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        extra = _EXTRA.get(module.split(".")[0], "all")
        msg = f"{module} is required for this feature: pip install 'asymscan[{extra}]'"
        raise ModuleNotFoundError(msg) from err
