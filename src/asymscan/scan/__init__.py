"""The data-directed scan: selections x observables x windows, regions, global significance."""

from __future__ import annotations

from .cells import BinSums, EventCells
from .followup import run_followup
from .layout import (
    ChunkUnits,
    Histogram,
    build_cells,
    chunk_units,
    plan_histograms,
)
from .regions import Window, top_windows
from .run import ScanResult, fill_cells, run_scan, scan_cells

__all__ = (
    "BinSums",
    "ChunkUnits",
    "EventCells",
    "Histogram",
    "ScanResult",
    "Window",
    "build_cells",
    "chunk_units",
    "fill_cells",
    "plan_histograms",
    "run_followup",
    "run_scan",
    "scan_cells",
    "top_windows",
)
