"""Ready-made data sets and templates from the generated e-mu pools.

- :func:`emu`: a unit-weight e-mu data set for a luminosity and, optionally, an LFV Higgs
  signal, drawn without replacement from the pools.
- :func:`pool_summary`, :func:`available_lumi`: what the pools can serve.
- :func:`higgs_lfv_templates`: the binned templates T and S of Sec. 3 of Birman et al. 2022.
- :class:`Detector`, :data:`REALISTIC`, :func:`realistic_detector`: a detector that finds
  electrons and muons with different efficiencies (``emu(..., detector="realistic")``), its
  measured maps as a correctionlib file (:data:`REALISTIC_EFFICIENCIES`,
  :func:`write_corrections`) and the per-event weights and systematics that correct for it
  (:data:`REALISTIC_WEIGHTS`, :data:`REALISTIC_SYSTEMATICS`, :func:`event_weights`).

The pools are read from :data:`DEFAULT_POOLS` (the package's ``samples/data`` folder, where the
shipped sample lives) unless a folder is given.
"""

from __future__ import annotations

from ._pools import DEFAULT_POOLS
from .detector import (
    REALISTIC,
    REALISTIC_EFFICIENCIES,
    REALISTIC_SYSTEMATICS,
    REALISTIC_WEIGHTS,
    Detector,
    EfficiencyMap,
    event_weights,
    realistic_detector,
    write_corrections,
)
from .emu import SIGNAL_CHANNELS, PoolSummary, available_lumi, emu, pool_summary
from .higgs_lfv import HIGGS_LFV_AXES, HIGGS_LFV_FLOOR, higgs_lfv_templates

__all__ = (
    "DEFAULT_POOLS",
    "HIGGS_LFV_AXES",
    "HIGGS_LFV_FLOOR",
    "REALISTIC",
    "REALISTIC_EFFICIENCIES",
    "REALISTIC_SYSTEMATICS",
    "REALISTIC_WEIGHTS",
    "SIGNAL_CHANNELS",
    "Detector",
    "EfficiencyMap",
    "PoolSummary",
    "available_lumi",
    "emu",
    "event_weights",
    "higgs_lfv_templates",
    "pool_summary",
    "realistic_detector",
    "write_corrections",
)
