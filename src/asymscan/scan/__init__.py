"""The data-directed scan: selections x observables x windows, regions, global significance."""

from __future__ import annotations

from .layout import EventCells, Histogram, build_cells, plan_histograms
from .regions import Window, top_windows
from .run import ScanResult, run_scan, scan_cells

__all__ = (
    "EventCells",
    "Histogram",
    "ScanResult",
    "Window",
    "build_cells",
    "plan_histograms",
    "run_scan",
    "scan_cells",
    "top_windows",
)
