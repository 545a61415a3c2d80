"""The e-mu pools: one PYTHIA 8 process per pool, with the decays forced to what can give e-mu.

Every pool is generated on its own, with the cross section PYTHIA computes for it, so that a
data set can be assembled afterwards for any luminosity and, for the signal pools, any branching
ratio. The Standard-Model processes are those of Sec. 3 of Birman et al. 2022 and Sec. III A of
Bressler et al. that PYTHIA generates itself (Wt is absent: PYTHIA 8 has no g b -> W t process);
the signal is the lepton-flavour-violating Higgs decay H -> tau mu (tau -> e) or H -> tau e
(tau -> mu), produced by gluon fusion or vector-boson fusion.

How the forced decays enter the cross section:

- W, Z and H are resonances. PYTHIA multiplies its cross section by the open fraction of their
  decay tables (recursively, e.g. t -> W b -> l nu b), so ``W -> e/mu/tau nu`` is already in
  ``Info.sigmaGen()``.
- tau is not a resonance: its forced decays are folded in here. The hard process makes exactly
  ``forced_taus`` taus, so the factor is the product of the open fractions of their decay tables
  (a tau from a heavy-flavour hadron decay would also be forced; that is rare enough to be
  neglected). In the tau-pair pools (Z/gamma*, H -> tau tau) one tau is forced to e nu nu and
  the other to mu nu nu -- ee and mu mu pairs can never pass the selection -- with the charges
  swapped between consecutive halves of every batch (tau- -> e, tau+ -> mu; then tau- -> mu,
  tau+ -> e), so the pool stays symmetric under e <-> mu and under charge conjugation; the
  factor is then 2 BR(tau -> e nu nu) BR(tau -> mu nu nu), twice as efficient as forcing both
  taus to e or mu.
- Z/gamma* -> tau tau is generated for m(tau tau) > 40 GeV. Below that the two leptons almost
  never both reach 15 GeV: with 20 < m < 40 GeV, none of 3,500 generated events passed the
  default selection, which bounds the loss to < 1 % of the pool's selected events, while the
  cut removes a third of its cross section (and generation time).
- A signal pool is normalised to BR(H -> LFV) = 1: PYTHIA's cross section is divided by the open
  fraction of the Higgs decay table, which contains only the two LFV channels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ..errors import ConfigError

__all__ = (
    "BACKGROUNDS",
    "COMMON_SETTINGS",
    "PROCESSES",
    "SIGNALS",
    "SIGNAL_EVENTS",
    "Process",
    "events_for_lumi",
    "pythia_settings",
    "resolve_processes",
)

#: Settings shared by every pool: 13 TeV pp, PYTHIA's default tune (Monash 2013) and PDF
#: (NNPDF2.3 QCD+QED LO), quiet output, and the usual LHC definition of stable particles
#: (c tau > 10 mm: K0_S and Lambda decay, pi+-, K+- and K0_L do not).
COMMON_SETTINGS: tuple[str, ...] = (
    "Beams:idA = 2212",
    "Beams:idB = 2212",
    "Beams:eCM = 13000.",
    "Print:quiet = on",
    "Next:numberCount = 0",
    "ParticleDecays:limitTau0 = on",
    "ParticleDecays:tau0Max = 10.",
)

_W_TO_LEPTONS = ("24:onMode = off", "24:onIfAny = 11 13 15")
_GGH = ("HiggsSM:gg2H = on",)
_VBFH = ("HiggsSM:ff2Hff(t:ZZ) = on", "HiggsSM:ff2Hff(t:WW) = on")
_H_TO_WW = ("25:onMode = off", "25:onIfMatch = 24 -24")
_H_TO_TAUTAU = ("25:onMode = off", "25:onIfMatch = 15 -15")

# The LFV channels are added with meMode = 100 (partial width = BR x the stored total width),
# so PYTHIA keeps the SM channels (gg -> H needs H -> gg) and only the LFV ones are switched on.
_H_TO_TAUMU = (
    "25:addChannel = 1 0.0005 100 15 -13",
    "25:addChannel = 1 0.0005 100 13 -15",
    "25:onMode = off",
    "25:onIfMatch = 13 15",
)
_H_TO_TAUE = (
    "25:addChannel = 1 0.0005 100 15 -11",
    "25:addChannel = 1 0.0005 100 11 -15",
    "25:onMode = off",
    "25:onIfMatch = 11 15",
)


@dataclass(frozen=True)
class Process:
    """One pool: a PYTHIA process and the decays forced to save time.

    Attributes
    ----------
    name
        Short name, also the Parquet file's stem.
    description
        What the pool contains, for people.
    kind
        ``"background"`` (Standard Model) or ``"signal"`` (normalised to BR(H -> LFV) = 1).
    settings
        PYTHIA settings of the process (on top of :data:`COMMON_SETTINGS`).
    forced_taus
        Number of taus per event from the hard process whose decays are forced.
    tau_decays
        Charged leptons the forced taus decay to (``tau -> l nu nu``); empty when taus are free.
    emu_tau_pairs
        For a tau pair (``forced_taus = 2``, ``tau_decays = (11, 13)``): force one tau to e and
        the other to mu, alternating which charge goes to which (see
        :attr:`tau_configurations`).
    planning_sigma_pb
        Cross section of the pool in pb (PYTHIA's, times the forced tau decays), as measured
        on earlier runs, used only to plan how many events a luminosity needs
        (:func:`events_for_lumi`); ``None`` for a signal pool, which gets a fixed number of
        events. The pool files carry the cross section of their own run.
    """

    name: str
    description: str
    kind: Literal["background", "signal"]
    settings: tuple[str, ...]
    forced_taus: int = 0
    tau_decays: tuple[int, ...] = ()
    emu_tau_pairs: bool = False
    planning_sigma_pb: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("background", "signal"):
            msg = f"kind must be 'background' or 'signal', got {self.kind!r}"
            raise ConfigError(msg)
        if (self.forced_taus > 0) != bool(self.tau_decays):
            msg = "forced_taus and tau_decays must be given together"
            raise ConfigError(msg)
        if self.emu_tau_pairs and (
            self.forced_taus != 2 or sorted(self.tau_decays) != [11, 13]
        ):
            msg = "emu_tau_pairs needs forced_taus = 2 and tau_decays = (11, 13)"
            raise ConfigError(msg)
        if self.planning_sigma_pb is not None and not self.planning_sigma_pb > 0:
            msg = f"planning_sigma_pb must be > 0 or None, got {self.planning_sigma_pb}"
            raise ConfigError(msg)

    @property
    def tau_configurations(self) -> tuple[tuple[str, ...], ...]:
        """The tau decay tables the generation cycles through, one per (half-)batch.

        Empty when tau decays are free; one table when all forced taus decay alike; two for
        ``emu_tau_pairs`` (tau- -> e and tau+ -> mu, then tau- -> mu and tau+ -> e).
        """
        if not self.tau_decays:
            return ()
        if self.emu_tau_pairs:
            return (
                ("15:onMode = off", "15:onPosIfAny = 11", "15:onNegIfAny = 13"),
                ("15:onMode = off", "15:onPosIfAny = 13", "15:onNegIfAny = 11"),
            )
        ids = " ".join(str(i) for i in self.tau_decays)
        return (("15:onMode = off", f"15:onIfAny = {ids}"),)

    @property
    def all_settings(self) -> tuple[str, ...]:
        """The process settings with the first forced tau decay table appended."""
        configs = self.tau_configurations
        return (*self.settings, *configs[0]) if configs else self.settings


def _processes() -> dict[str, Process]:
    procs = (
        Process(
            "ttbar",
            "top-quark pairs (gg, qqbar -> t tbar), W -> e/mu/tau nu",
            "background",
            ("Top:gg2ttbar = on", "Top:qqbar2ttbar = on", *_W_TO_LEPTONS),
            planning_sigma_pb=53.03,
        ),
        Process(
            "ww",
            "W+ W- (q qbar -> W+ W-), W -> e/mu/tau nu",
            "background",
            ("WeakDoubleBoson:ffbar2WW = on", *_W_TO_LEPTONS),
            planning_sigma_pb=6.98,
        ),
        Process(
            "dy_tautau",
            "Z/gamma* -> tau tau, m(tau tau) > 40 GeV, one tau -> e nu nu, the other -> mu nu nu",
            "background",
            (
                "WeakSingleBoson:ffbar2gmZ = on",
                "23:onMode = off",
                "23:onIfAny = 15",
                "PhaseSpace:mHatMin = 40.",
            ),
            forced_taus=2,
            tau_decays=(11, 13),
            emu_tau_pairs=True,
            planning_sigma_pb=98.71,
        ),
        Process(
            "ggh_ww",
            "SM Higgs, gluon fusion, H -> W W*, W -> e/mu/tau nu",
            "background",
            (*_GGH, *_H_TO_WW, *_W_TO_LEPTONS),
            planning_sigma_pb=0.577,
        ),
        Process(
            "vbfh_ww",
            "SM Higgs, vector-boson fusion, H -> W W*, W -> e/mu/tau nu",
            "background",
            (*_VBFH, *_H_TO_WW, *_W_TO_LEPTONS),
            planning_sigma_pb=0.0805,
        ),
        Process(
            "ggh_tautau",
            "SM Higgs, gluon fusion, H -> tau tau, one tau -> e nu nu, the other -> mu nu nu",
            "background",
            (*_GGH, *_H_TO_TAUTAU),
            forced_taus=2,
            tau_decays=(11, 13),
            emu_tau_pairs=True,
            planning_sigma_pb=0.104,
        ),
        Process(
            "vbfh_tautau",
            "SM Higgs, vector-boson fusion, H -> tau tau, one tau -> e nu nu, the other -> mu nu nu",
            "background",
            (*_VBFH, *_H_TO_TAUTAU),
            forced_taus=2,
            tau_decays=(11, 13),
            emu_tau_pairs=True,
            planning_sigma_pb=0.0139,
        ),
        Process(
            "ggh_taumu",
            "LFV Higgs, gluon fusion, H -> tau mu, tau -> e nu nu",
            "signal",
            (*_GGH, *_H_TO_TAUMU),
            forced_taus=1,
            tau_decays=(11,),
        ),
        Process(
            "vbfh_taumu",
            "LFV Higgs, vector-boson fusion, H -> tau mu, tau -> e nu nu",
            "signal",
            (*_VBFH, *_H_TO_TAUMU),
            forced_taus=1,
            tau_decays=(11,),
        ),
        Process(
            "ggh_taue",
            "LFV Higgs, gluon fusion, H -> tau e, tau -> mu nu nu",
            "signal",
            (*_GGH, *_H_TO_TAUE),
            forced_taus=1,
            tau_decays=(13,),
        ),
        Process(
            "vbfh_taue",
            "LFV Higgs, vector-boson fusion, H -> tau e, tau -> mu nu nu",
            "signal",
            (*_VBFH, *_H_TO_TAUE),
            forced_taus=1,
            tau_decays=(13,),
        ),
    )
    return {p.name: p for p in procs}


#: Every pool, by name.
PROCESSES: dict[str, Process] = _processes()
#: The Standard-Model pools, whose e-mu and mu-e samples should match.
BACKGROUNDS: tuple[str, ...] = tuple(
    n for n, p in PROCESSES.items() if p.kind == "background"
)
#: The Higgs LFV signal pools.
SIGNALS: tuple[str, ...] = tuple(n for n, p in PROCESSES.items() if p.kind == "signal")
_GROUPS = {
    "sm": BACKGROUNDS,
    "background": BACKGROUNDS,
    "signal": SIGNALS,
    "all": tuple(PROCESSES),
}


def resolve_processes(names: str | Process | Sequence[str | Process]) -> list[Process]:
    """Turn names, groups (``sm``, ``signal``, ``all``) or :class:`Process` objects into pools.

    A string may hold several comma-separated names. Order is kept, duplicates dropped.
    """
    items = [names] if isinstance(names, str | Process) else list(names)
    out: dict[str, Process] = {}
    for item in items:
        if isinstance(item, Process):
            out.setdefault(item.name, item)
            continue
        for raw in str(item).split(","):
            key = raw.strip().lower()
            if not key:
                continue
            if key in _GROUPS:
                for n in _GROUPS[key]:
                    out.setdefault(n, PROCESSES[n])
            elif key in PROCESSES:
                out.setdefault(key, PROCESSES[key])
            else:
                valid = ", ".join([*_GROUPS, *PROCESSES])
                msg = f"unknown process {raw.strip()!r}; valid: {valid}"
                raise ConfigError(msg)
    if not out:
        msg = "no process selected"
        raise ConfigError(msg)
    return list(out.values())


def pythia_settings(process: Process, seed: int) -> list[str]:
    """Every PYTHIA setting of one run of ``process``: common, seed, then the process's own."""
    if not 0 <= seed <= 900_000_000:
        msg = f"PYTHIA seeds lie in [0, 900000000], got {seed}"
        raise ConfigError(msg)
    return [
        *COMMON_SETTINGS,
        "Random:setSeed = on",
        f"Random:seed = {seed}",
        *process.all_settings,
    ]


#: Events generated per signal pool when pools are sized by luminosity: a signal pool is
#: normalised per unit BR(H -> LFV), so no luminosity fixes its size.
SIGNAL_EVENTS = 20_000


def events_for_lumi(
    process: Process,
    lumi_fb: float,
    margin: float = 1.0,
    signal_events: int = SIGNAL_EVENTS,
) -> int:
    """Events to generate so that a pool holds the events of an integrated luminosity.

    A background pool gets ``ceil(planning_sigma_pb x 1000 x lumi_fb x margin)`` events (its
    cross section already includes the forced decays, so every generated event counts); a
    signal pool, normalised per unit BR(H -> LFV), gets ``signal_events``.

    Parameters
    ----------
    process
        The pool.
    lumi_fb
        Integrated luminosity in fb^-1.
    margin
        Factor (>= 1 for a safety margin) on the number of events, e.g. for the statistical
        error of the planning cross section.
    signal_events
        Events of a signal pool.

    Examples
    --------
    >>> events_for_lumi(PROCESSES["ww"], 20.0)
    139600
    """
    if not lumi_fb > 0 or not margin > 0:
        msg = f"lumi_fb and margin must be > 0, got {lumi_fb} and {margin}"
        raise ConfigError(msg)
    if process.kind == "signal":
        if signal_events < 1:
            msg = f"signal_events must be >= 1, got {signal_events}"
            raise ConfigError(msg)
        return int(signal_events)
    if process.planning_sigma_pb is None:
        msg = (
            f"pool {process.name!r} has no planning_sigma_pb: give its number of events"
        )
        raise ConfigError(msg)
    # rounded first so that floating-point noise does not add an event
    return max(
        1, math.ceil(round(process.planning_sigma_pb * 1e3 * lumi_fb * margin, 6))
    )
