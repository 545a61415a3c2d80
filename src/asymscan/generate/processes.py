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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ..errors import ConfigError

__all__ = (
    "BACKGROUNDS",
    "COMMON_SETTINGS",
    "PROCESSES",
    "SIGNALS",
    "Process",
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
    """

    name: str
    description: str
    kind: Literal["background", "signal"]
    settings: tuple[str, ...]
    forced_taus: int = 0
    tau_decays: tuple[int, ...] = ()
    emu_tau_pairs: bool = False

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
        ),
        Process(
            "ww",
            "W+ W- (q qbar -> W+ W-), W -> e/mu/tau nu",
            "background",
            ("WeakDoubleBoson:ffbar2WW = on", *_W_TO_LEPTONS),
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
        ),
        Process(
            "ggh_ww",
            "SM Higgs, gluon fusion, H -> W W*, W -> e/mu/tau nu",
            "background",
            (*_GGH, *_H_TO_WW, *_W_TO_LEPTONS),
        ),
        Process(
            "vbfh_ww",
            "SM Higgs, vector-boson fusion, H -> W W*, W -> e/mu/tau nu",
            "background",
            (*_VBFH, *_H_TO_WW, *_W_TO_LEPTONS),
        ),
        Process(
            "ggh_tautau",
            "SM Higgs, gluon fusion, H -> tau tau, one tau -> e nu nu, the other -> mu nu nu",
            "background",
            (*_GGH, *_H_TO_TAUTAU),
            forced_taus=2,
            tau_decays=(11, 13),
            emu_tau_pairs=True,
        ),
        Process(
            "vbfh_tautau",
            "SM Higgs, vector-boson fusion, H -> tau tau, one tau -> e nu nu, the other -> mu nu nu",
            "background",
            (*_VBFH, *_H_TO_TAUTAU),
            forced_taus=2,
            tau_decays=(11, 13),
            emu_tau_pairs=True,
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
