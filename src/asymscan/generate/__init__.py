"""Realistic e-mu samples made with PYTHIA 8 and a simple detector emulation (``[pythia]`` extra).

Each process (ttbar, WW, Z/gamma* -> tau tau, SM Higgs -> WW / tau tau, and the Higgs LFV
signal H -> tau mu / tau e) is generated as a separate *pool* with PYTHIA's cross section, so
that a data set can be assembled for any luminosity and branching ratio; see
:func:`generate_emu`. PYTHIA (``pythia8mc``) and FastJet are imported only when events are
generated: ``import asymscan.generate`` does not need them.
"""

from __future__ import annotations

from .detector import COLUMNS, DetectorConfig, LeptonResponse, simulate_detector
from .events import EventBatch, Particles
from .processes import (
    BACKGROUNDS,
    PROCESSES,
    SIGNALS,
    Process,
    events_for_lumi,
    resolve_processes,
)
from .pythia import ShardResult, run_shard
from .run import (
    Assembly,
    Pool,
    assemble_pools,
    expected_events,
    generate_emu,
    read_pool,
    round_mantissa,
)

__all__ = (
    "BACKGROUNDS",
    "COLUMNS",
    "PROCESSES",
    "SIGNALS",
    "Assembly",
    "DetectorConfig",
    "EventBatch",
    "LeptonResponse",
    "Particles",
    "Pool",
    "Process",
    "ShardResult",
    "assemble_pools",
    "events_for_lumi",
    "expected_events",
    "generate_emu",
    "read_pool",
    "resolve_processes",
    "round_mantissa",
    "run_shard",
    "simulate_detector",
)
