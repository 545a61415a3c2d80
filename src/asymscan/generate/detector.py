"""A simple, documented detector emulation for e-mu events, following the papers' selection.

The input is a batch of generated events as flat numpy arrays (one entry per particle, with the
index of its event); the output is one row per selected event. Every step is a pure function
of arrays and a ``numpy.random.Generator``:

1. **Lepton candidates** are the final-state electrons and muons. By default both are *dressed*:
   the final-state photons not coming from a hadron decay that lie within ``dressing_cone``
   (Delta R = 0.1) of a lepton are added to it (each photon to its nearest lepton), so that QED
   radiation, much stronger off electrons, affects both flavours alike.
2. **Resolution**: the measured pT is the true (dressed) pT times 1 + sigma g, g standard normal,
   sigma / pT = sqrt(a^2 / E + b^2 + (c pT)^2): a stochastic (calorimeter), b constant and c
   curvature (tracker) term, E and pT in GeV.
3. **Isolation**: the scalar sum of the pT of the visible final-state particles (pT > 0.5 GeV)
   within ``isolation_cone`` (Delta R = 0.3) of the lepton, itself and its dressing photons
   left out, divided by the lepton's measured pT, must be below the flavour's threshold.
4. **Efficiency**: a candidate is kept with the flavour's efficiency (|eta| < 1.5 and above).
5. **Selection**: pT > 15 GeV, |eta| < 2.3; exactly one electron and one muon pass, of opposite
   charges (Sec. III A of Bressler et al.: p_T >= 15 GeV, |eta| <= 2.3, isolation 0.15 for
   electrons and 0.25 for muons).
6. **Missing transverse momentum**: the vector sum of the neutrinos' pT, each component smeared
   by a Gaussian of width ``met_resolution * sqrt(sum E_T)``, sum E_T the scalar sum of the
   visible particles' pT with |eta| < 4.9.
7. **Jets**: anti-kt, R = 0.4 (FastJet) on the visible final-state particles with |eta| < 4.9,
   the two selected leptons and their dressing photons left out; jet pT smeared with
   sigma / pT = sqrt(a^2 / pT + b^2); kept with pT > 30 GeV and |eta| < 4.5.
8. **b-tagging by truth matching**: a jet with |eta| < 2.5 within Delta R = 0.3 of a b hadron
   (pT > 5 GeV) is tagged with ``btag_efficiency``; one matched to a c hadron only with
   ``ctag_mistag``, any other with ``light_mistag``.

The default :class:`DetectorConfig` treats electrons and muons alike (same dressing, isolation,
resolution and efficiency), so the Standard-Model sample respects the e <-> mu symmetry up to the
physics itself. :meth:`DetectorConfig.flavour_dependent` gives the papers' settings (isolation
0.15 for electrons and 0.25 for muons), ATLAS-like resolutions and efficiencies, and undressed
muons (a muon is measured by its track, an electron by a calorimeter cluster that collects its
collinear photons).

References
----------
Birman et al. 2022, Sec. 3; Bressler et al., Sec. III A. The dilepton observables (m_ll,
pT_ll, Delta phi_ll, the collinear mass with the subleading lepton as the tau's daughter) are
those of :mod:`asymscan.data.hep`, leptons massless.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from ..data import hep
from ..errors import ConfigError
from .events import (
    EventBatch,
    Particles,
    delta_r2,
    kinematics,
    same_event_pairs,
)
from .jets import Jets, btag_probability, cluster_jets, jet_truth_flavour

__all__ = (
    "COLUMNS",
    "DetectorConfig",
    "LeptonResponse",
    "Leptons",
    "dress_leptons",
    "missing_et",
    "reconstruct_jets",
    "reconstruct_leptons",
    "relative_isolation",
    "select_emu",
    "simulate_detector",
    "smear_leptons",
)

ELECTRON, MUON = 11, 13
_NEUTRINOS = (12, 14, 16)

#: The columns of the output, one row per selected event, and what they hold.
COLUMNS: dict[str, str] = {
    "event": "index of the event in its shard's generation sequence",
    "lead_flavour": "PDG id (11 e, 13 mu) of the leading lepton: 11 -> e-mu, 13 -> mu-e",
    "lep1_pt": "leading lepton pT [GeV]",
    "lep1_eta": "leading lepton pseudorapidity",
    "lep1_phi": "leading lepton azimuth",
    "lep1_charge": "leading lepton charge (+1 or -1)",
    "lep2_pt": "subleading lepton pT [GeV]",
    "lep2_eta": "subleading lepton pseudorapidity",
    "lep2_phi": "subleading lepton azimuth",
    "lep2_charge": "subleading lepton charge (+1 or -1)",
    "met": "missing transverse momentum [GeV]",
    "met_phi": "azimuth of the missing transverse momentum",
    "m_ll": "invariant mass of the two leptons [GeV]",
    "pt_ll": "pT of the two-lepton system [GeV]",
    "dphi_ll": "|Delta phi| of the two leptons, in [0, pi]",
    "m_coll": "collinear mass, subleading lepton from the tau [GeV]",
    "n_jets": "number of jets, pT > 30 GeV, |eta| < 4.5",
    "n_bjets": "number of b-tagged jets (|eta| < 2.5)",
    "ht": "scalar sum of the jets' pT [GeV]",
}


@dataclass(frozen=True)
class LeptonResponse:
    """How one lepton flavour is measured.

    Attributes
    ----------
    isolation
        Upper cut on the relative isolation.
    resolution
        ``(a, b, c)``: sigma / pT = sqrt(a^2 / E + b^2 + (c pT)^2), a in sqrt(GeV), c in 1/GeV.
    efficiency
        Identification efficiency for |eta| < 1.5 and for |eta| >= 1.5.
    dressed
        Whether nearby photons are added to the lepton.
    """

    isolation: float = 0.15
    resolution: tuple[float, float, float] = (0.0, 0.015, 1e-4)
    efficiency: tuple[float, float] = (1.0, 1.0)
    dressed: bool = True

    def __post_init__(self) -> None:
        if not self.isolation > 0:
            msg = f"isolation cut must be > 0, got {self.isolation}"
            raise ConfigError(msg)
        if len(self.resolution) != 3 or min(self.resolution) < 0:
            msg = (
                f"resolution must be three terms >= 0 (a, b, c), got {self.resolution}"
            )
            raise ConfigError(msg)
        if len(self.efficiency) != 2 or not all(0 <= e <= 1 for e in self.efficiency):
            msg = f"efficiency must be two numbers in [0, 1], got {self.efficiency}"
            raise ConfigError(msg)


@dataclass(frozen=True)
class DetectorConfig:
    """Settings of the detector emulation; the defaults treat electrons and muons alike.

    Energies and momenta in GeV. See the module docstring for what each step does.
    """

    lepton_pt_min: float = 15.0
    lepton_eta_max: float = 2.3
    dressing_cone: float = 0.1
    isolation_cone: float = 0.3
    isolation_particle_pt_min: float = 0.5
    electron: LeptonResponse = field(default_factory=LeptonResponse)
    muon: LeptonResponse = field(default_factory=LeptonResponse)
    visible_eta_max: float = 4.9
    met_resolution: float = 0.5
    jet_r: float = 0.4
    jet_pt_min: float = 30.0
    jet_eta_max: float = 4.5
    jet_resolution: tuple[float, float] = (0.5, 0.03)
    btag_eta_max: float = 2.5
    btag_match_dr: float = 0.3
    btag_hadron_pt_min: float = 5.0
    btag_efficiency: float = 0.7
    ctag_mistag: float = 0.1
    light_mistag: float = 0.01

    def __post_init__(self) -> None:
        positive = (
            "lepton_pt_min",
            "lepton_eta_max",
            "isolation_cone",
            "visible_eta_max",
            "jet_r",
            "jet_pt_min",
            "jet_eta_max",
        )
        for name in positive:
            if not getattr(self, name) > 0:
                msg = f"{name} must be > 0, got {getattr(self, name)}"
                raise ConfigError(msg)
        for name in ("dressing_cone", "isolation_particle_pt_min", "met_resolution"):
            if not getattr(self, name) >= 0:
                msg = f"{name} must be >= 0, got {getattr(self, name)}"
                raise ConfigError(msg)
        for name in ("btag_efficiency", "ctag_mistag", "light_mistag"):
            if not 0 <= getattr(self, name) <= 1:
                msg = f"{name} must lie in [0, 1], got {getattr(self, name)}"
                raise ConfigError(msg)

    @classmethod
    def flavour_dependent(cls, **changes: Any) -> DetectorConfig:
        """The papers' flavour-dependent settings, with ATLAS-like resolutions and efficiencies.

        Electrons: isolation 0.15, sigma/E = 10 %/sqrt(E) (+) 0.7 %, efficiency 0.95 (barrel)
        and 0.85 (end-caps), dressed. Muons: isolation 0.25, sigma/pT = 1.5 % (+) 0.01 % pT,
        efficiency 0.95 and 0.90, not dressed.
        """
        base = cls(
            electron=LeptonResponse(0.15, (0.10, 0.007, 0.0), (0.95, 0.85), True),
            muon=LeptonResponse(0.25, (0.0, 0.015, 1e-4), (0.95, 0.90), False),
        )
        return replace(base, **changes)

    def response(self, flavour: int) -> LeptonResponse:
        """The :class:`LeptonResponse` of PDG id ``flavour`` (11 or 13)."""
        return self.electron if abs(flavour) == ELECTRON else self.muon

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary of every setting."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DetectorConfig:
        """The inverse of :meth:`to_dict`."""
        data = dict(data)
        for key in ("electron", "muon"):
            if isinstance(data.get(key), dict):
                sub = dict(data[key])
                for t in ("resolution", "efficiency"):
                    if t in sub:
                        sub[t] = tuple(sub[t])
                data[key] = LeptonResponse(**sub)
        if "jet_resolution" in data:
            data["jet_resolution"] = tuple(data["jet_resolution"])
        try:
            return cls(**data)
        except TypeError as err:
            msg = f"bad detector settings: {err}"
            raise ConfigError(msg) from err


def dress_leptons(
    final: Particles,
    leptons: np.ndarray,
    photons: np.ndarray,
    n_events: int,
    cone: float = 0.1,
) -> tuple[np.ndarray, np.ndarray]:
    """Add photons within ``cone`` of a lepton to it, each photon to its nearest lepton.

    Parameters
    ----------
    final
        The final-state particles.
    leptons, photons
        Indices into ``final`` of the leptons to dress and of the photons that may dress them.
    n_events
        Number of events in the batch.
    cone
        Delta R of the dressing cone.

    Returns
    -------
    p4 : ndarray, shape (len(leptons), 4)
        Dressed (px, py, pz, E).
    owner : ndarray, shape (len(photons),)
        Position in ``leptons`` of the lepton each photon went to, -1 if none.
    """
    leptons = np.asarray(leptons, dtype=np.int64)
    photons = np.asarray(photons, dtype=np.int64)
    p4 = np.stack([final.px, final.py, final.pz, final.e], axis=1)[leptons].astype(
        float
    )
    owner = np.full(len(photons), -1, dtype=np.int64)
    if len(leptons) == 0 or len(photons) == 0 or cone <= 0:
        return p4, owner
    _, eta_l, phi_l = kinematics(p4[:, 0], p4[:, 1], p4[:, 2])
    _, eta_g, phi_g = kinematics(
        final.px[photons], final.py[photons], final.pz[photons]
    )
    # pairs (photon, lepton) in the same event; photons' events are sorted
    ig, il = same_event_pairs(final.event[photons], final.event[leptons], n_events)
    # same_event_pairs needs the second argument sorted: leptons come from sorted final indices
    dr2 = delta_r2(eta_g[ig], phi_g[ig], eta_l[il], phi_l[il])
    inside = dr2 < cone**2
    ig, il, dr2 = ig[inside], il[inside], dr2[inside]
    order = np.lexsort((dr2, ig))
    ig, il = ig[order], il[order]
    first = np.ones(len(ig), dtype=bool)
    first[1:] = ig[1:] != ig[:-1]
    ig, il = ig[first], il[first]
    owner[ig] = il
    g = photons[ig]
    for k, comp in enumerate((final.px, final.py, final.pz, final.e)):
        np.add.at(p4[:, k], il, comp[g])
    return p4, owner


def relative_isolation(
    final: Particles,
    lep_event: np.ndarray,
    lep_pt: np.ndarray,
    lep_eta: np.ndarray,
    lep_phi: np.ndarray,
    owner: np.ndarray,
    n_events: int,
    cone: float = 0.3,
    particle_pt_min: float = 0.5,
    lep_key: np.ndarray | None = None,
) -> np.ndarray:
    """Scalar pT sum of the visible particles within ``cone`` of each lepton over its pT.

    Parameters
    ----------
    final
        The final-state particles (neutrinos are skipped).
    lep_event, lep_pt, lep_eta, lep_phi
        The leptons (their own particles are in ``final``).
    owner
        For every particle of ``final``, the key of the lepton it belongs to -- the lepton
        itself and its dressing photons -- or -1. Those are left out of that lepton's sum.
    n_events
        Number of events in the batch.
    cone, particle_pt_min
        Delta R of the cone and the pT threshold of the particles summed.
    lep_key
        Key of each lepton in ``owner``; default their positions 0, 1, ...
    """
    lep_pt = np.asarray(lep_pt, dtype=float)
    pt, eta, phi = kinematics(final.px, final.py, final.pz)
    use = (pt > particle_pt_min) & ~np.isin(np.abs(final.pid), _NEUTRINOS)
    idx = np.flatnonzero(use)
    il, jj = same_event_pairs(lep_event, final.event[idx], n_events)
    j = idx[jj]
    near = (
        delta_r2(np.asarray(lep_eta)[il], np.asarray(lep_phi)[il], eta[j], phi[j])
        < cone**2
    )
    key = np.arange(len(lep_pt)) if lep_key is None else np.asarray(lep_key)
    near &= owner[j] != key[il]
    total = np.bincount(il[near], weights=pt[j[near]], minlength=len(lep_pt))
    return total / np.maximum(lep_pt, 1e-12)


def _resolution(
    pt: np.ndarray, eta: np.ndarray, terms: tuple[float, float, float]
) -> np.ndarray:
    a, b, c = terms
    energy = pt * np.cosh(eta)
    return np.sqrt(a**2 / np.maximum(energy, 1e-12) + b**2 + (c * pt) ** 2)


def smear_leptons(
    pt: np.ndarray,
    eta: np.ndarray,
    flavour: np.ndarray,
    config: DetectorConfig,
    rng: np.random.Generator,
) -> np.ndarray:
    """Measured pT: pT (1 + sigma g), sigma from the flavour's resolution, kept positive."""
    pt = np.asarray(pt, dtype=float)
    sigma = np.empty_like(pt)
    for fl in (ELECTRON, MUON):
        m = np.abs(flavour) == fl
        sigma[m] = _resolution(
            pt[m], np.asarray(eta)[m], config.response(fl).resolution
        )
    return pt * np.maximum(1.0 + sigma * rng.standard_normal(len(pt)), 1e-3)


def select_emu(
    event: np.ndarray,
    flavour: np.ndarray,
    charge: np.ndarray,
    passed: np.ndarray,
    n_events: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Events with exactly one passing electron and one passing muon, of opposite charges.

    Returns
    -------
    events, electron, muon
        The selected events and, for each, the index of its electron and of its muon in the
        candidate arrays.
    """
    event = np.asarray(event, dtype=np.int64)
    flavour = np.abs(np.asarray(flavour))
    passed = np.asarray(passed, dtype=bool)
    is_e = passed & (flavour == ELECTRON)
    is_m = passed & (flavour == MUON)
    n_e = np.bincount(event[is_e], minlength=n_events)
    n_m = np.bincount(event[is_m], minlength=n_events)
    one_each = (n_e == 1) & (n_m == 1)
    ie = np.full(n_events, -1, dtype=np.int64)
    im = np.full(n_events, -1, dtype=np.int64)
    ie[event[is_e]] = np.flatnonzero(is_e)
    im[event[is_m]] = np.flatnonzero(is_m)
    charge = np.asarray(charge)
    ok = one_each.copy()
    ok[one_each] = charge[ie[one_each]] * charge[im[one_each]] < 0
    events = np.flatnonzero(ok)
    return events, ie[events], im[events]


@dataclass(frozen=True)
class Leptons:
    """Electron and muon candidates of a batch, after dressing, smearing and isolation.

    Attributes
    ----------
    event, flavour, charge
        Event, |PDG id| (11 or 13) and charge of each candidate.
    p4
        Measured (px, py, pz, E), shape (n, 4).
    pt, eta, phi
        Measured pT, and direction.
    isolation
        Relative isolation (inf where not computed: candidates far below threshold).
    passed
        Passes pT, eta, isolation and efficiency.
    owner
        For every final-state particle of the batch, the candidate it makes up (the lepton
        and its dressing photons), or -1.
    """

    event: np.ndarray
    flavour: np.ndarray
    charge: np.ndarray
    p4: np.ndarray
    pt: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    isolation: np.ndarray
    passed: np.ndarray
    owner: np.ndarray


def reconstruct_leptons(
    batch: EventBatch, config: DetectorConfig, rng: np.random.Generator
) -> Leptons:
    """Steps 1-4 of the module docstring: dressing, smearing, isolation and efficiency.

    Draws ``2 n`` random numbers from ``rng`` for ``n`` candidates (smearing, then efficiency).
    """
    n = batch.n_events
    fin = batch.final
    aid = np.abs(fin.pid)
    _, eta_all, _ = kinematics(fin.px, fin.py, fin.pz)
    lep_idx = np.flatnonzero(
        np.isin(aid, (ELECTRON, MUON)) & (np.abs(eta_all) < config.lepton_eta_max + 0.3)
    )
    flavour = aid[lep_idx]
    p4 = np.stack([fin.px, fin.py, fin.pz, fin.e], axis=1)[lep_idx].astype(float)
    owner = np.full(len(fin), -1, dtype=np.int64)

    # 1. dressing, for the flavours that are dressed
    dress = np.where(
        flavour == ELECTRON, config.electron.dressed, config.muon.dressed
    ).astype(bool)
    to_dress = np.flatnonzero(dress)
    if len(to_dress) and config.dressing_cone > 0:
        from_hadron = (
            np.zeros(len(fin), dtype=bool)
            if fin.from_hadron is None
            else np.asarray(fin.from_hadron, dtype=bool)
        )
        photons = np.flatnonzero((aid == 22) & ~from_hadron)
        p4_dressed, photon_owner = dress_leptons(
            fin, lep_idx[to_dress], photons, n, config.dressing_cone
        )
        p4[to_dress] = p4_dressed
        got = photon_owner >= 0
        owner[photons[got]] = to_dress[photon_owner[got]]
    owner[lep_idx] = np.arange(len(lep_idx))

    # 2. resolution
    pt_true, eta, phi = kinematics(p4[:, 0], p4[:, 1], p4[:, 2])
    pt = smear_leptons(pt_true, eta, flavour, config, rng)
    p4 *= (pt / np.maximum(pt_true, 1e-12))[:, None]

    # 3. isolation, for the candidates that may pass
    event = fin.event[lep_idx]
    iso = np.full(len(lep_idx), np.inf)
    near = np.flatnonzero(
        (pt > 0.5 * config.lepton_pt_min) & (np.abs(eta) < config.lepton_eta_max)
    )
    if len(near):
        iso[near] = relative_isolation(
            fin,
            event[near],
            pt[near],
            eta[near],
            phi[near],
            owner,
            n,
            config.isolation_cone,
            config.isolation_particle_pt_min,
            lep_key=near,
        )
    iso_cut = np.where(
        flavour == ELECTRON, config.electron.isolation, config.muon.isolation
    )

    # 4. efficiency
    barrel = np.abs(eta) < 1.5
    eff = np.where(
        flavour == ELECTRON,
        np.where(barrel, *config.electron.efficiency),
        np.where(barrel, *config.muon.efficiency),
    )
    found = rng.random(len(lep_idx)) < eff
    passed = (
        (pt > config.lepton_pt_min)
        & (np.abs(eta) < config.lepton_eta_max)
        & (iso < iso_cut)
        & found
    )
    charge = (-np.sign(fin.pid[lep_idx])).astype(np.int8)
    return Leptons(event, flavour, charge, p4, pt, eta, phi, iso, passed, owner)


def missing_et(
    batch: EventBatch,
    events: np.ndarray,
    config: DetectorConfig,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Step 6: smeared missing transverse momentum (x, y) of the given events.

    The vector sum of the neutrinos' pT, each component smeared by a Gaussian of width
    ``config.met_resolution * sqrt(sum E_T)``; draws ``2 len(events)`` normals.
    """
    fin = batch.final
    n = batch.n_events
    nu = np.isin(np.abs(fin.pid), _NEUTRINOS)
    pt, eta, _ = kinematics(fin.px, fin.py, fin.pz)
    visible = ~nu & (np.abs(eta) < config.visible_eta_max)
    met_x = np.bincount(fin.event[nu], weights=fin.px[nu], minlength=n)[events]
    met_y = np.bincount(fin.event[nu], weights=fin.py[nu], minlength=n)[events]
    sumet = np.bincount(fin.event[visible], weights=pt[visible], minlength=n)[events]
    width = config.met_resolution * np.sqrt(sumet)
    noise = rng.standard_normal((2, len(events)))
    return met_x + width * noise[0], met_y + width * noise[1]


def reconstruct_jets(
    batch: EventBatch,
    events: np.ndarray,
    exclude: np.ndarray,
    config: DetectorConfig,
    rng: np.random.Generator,
) -> Jets:
    """Steps 7-8: jets of the given events, smeared, selected and b-tagged.

    Parameters
    ----------
    batch
        The events.
    events
        The events to reconstruct jets in (sorted); the jets' ``event`` indexes this array.
    exclude
        Boolean mask over ``batch.final``: particles left out (the selected leptons and
        their dressing photons).
    config
        The detector settings.
    rng
        Draws one normal (smearing) and one uniform (tagging) per clustered jet.
    """
    fin = batch.final
    n_sel = len(events)
    new_index = np.full(batch.n_events, -1, dtype=np.int64)
    new_index[events] = np.arange(n_sel)
    _, eta_all, _ = kinematics(fin.px, fin.py, fin.pz)
    use = (
        ~np.isin(np.abs(fin.pid), _NEUTRINOS)
        & (np.abs(eta_all) < config.visible_eta_max)
        & (new_index[fin.event] >= 0)
        & ~np.asarray(exclude, dtype=bool)
    )
    jet_event, p4 = cluster_jets(
        new_index[fin.event[use]],
        fin.px[use],
        fin.py[use],
        fin.pz[use],
        fin.e[use],
        n_sel,
        config.jet_r,
        0.5 * config.jet_pt_min,
    )
    pt, eta, phi = kinematics(p4[:, 0], p4[:, 1], p4[:, 2])
    a, b = config.jet_resolution
    sigma = np.sqrt(a**2 / np.maximum(pt, 1e-12) + b**2)
    pt = pt * np.maximum(1.0 + sigma * rng.standard_normal(len(pt)), 0.0)
    hv = batch.heavy
    hadrons = Particles(new_index[hv.event], hv.pid, hv.px, hv.py, hv.pz, hv.e)
    hadrons = hadrons.take(hadrons.event >= 0)
    flavour = jet_truth_flavour(
        jet_event,
        eta,
        phi,
        hadrons,
        n_sel,
        config.btag_match_dr,
        config.btag_hadron_pt_min,
    )
    prob = btag_probability(
        flavour, config.btag_efficiency, config.ctag_mistag, config.light_mistag
    )
    tagged = (rng.random(len(pt)) < prob) & (np.abs(eta) < config.btag_eta_max)
    good = (pt > config.jet_pt_min) & (np.abs(eta) < config.jet_eta_max)
    return Jets(jet_event[good], pt[good], eta[good], phi[good], tagged[good])


_DTYPES = {
    "event": np.int64,
    "lead_flavour": np.int8,
    "lep1_charge": np.int8,
    "lep2_charge": np.int8,
    "n_jets": np.int16,
    "n_bjets": np.int16,
}


def simulate_detector(
    batch: EventBatch, config: DetectorConfig, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Emulate the detector on a batch of events and select e-mu events.

    Parameters
    ----------
    batch
        The generated events.
    config
        The detector settings.
    rng
        Source of the smearing, efficiency and tagging draws.

    Returns
    -------
    dict of ndarray
        One entry per column of :data:`COLUMNS`, one row per selected event (floats as
        float32).
    """
    lep = reconstruct_leptons(batch, config, rng)
    events, ie, im = select_emu(
        lep.event, lep.flavour, lep.charge, lep.passed, batch.n_events
    )
    n_sel = len(events)
    met_x, met_y = missing_et(batch, events, config, rng)
    chosen = np.zeros(len(lep.event) + 1, dtype=bool)
    chosen[ie] = True
    chosen[im] = True
    exclude = chosen[lep.owner]  # owner -1 reads the trailing False
    jets = reconstruct_jets(batch, events, exclude, config, rng)

    e_first = lep.pt[ie] >= lep.pt[im]
    l1 = np.where(e_first, ie, im)
    l2 = np.where(e_first, im, ie)
    met = np.hypot(met_x, met_y)
    met_phi = np.arctan2(met_y, met_x)
    # the dilepton observables of asymscan.data.hep (massless leptons), as the scan computes them
    lead = (lep.pt[l1], lep.eta[l1], lep.phi[l1])
    sub = (lep.pt[l2], lep.eta[l2], lep.phi[l2])
    cols = {
        "event": events,
        "lead_flavour": lep.flavour[l1],
        "lep1_pt": lep.pt[l1],
        "lep1_eta": lep.eta[l1],
        "lep1_phi": lep.phi[l1],
        "lep1_charge": lep.charge[l1],
        "lep2_pt": lep.pt[l2],
        "lep2_eta": lep.eta[l2],
        "lep2_phi": lep.phi[l2],
        "lep2_charge": lep.charge[l2],
        "met": met,
        "met_phi": met_phi,
        "m_ll": hep.m_ll(*lead, *sub),
        "pt_ll": hep.pt_ll(lead[0], lead[2], sub[0], sub[2]),
        "dphi_ll": np.abs(hep.delta_phi(lead[2], sub[2])),
        "m_coll": hep.m_coll(*lead, *sub, met, met_phi),
        "n_jets": np.bincount(jets.event, minlength=n_sel),
        "n_bjets": np.bincount(jets.event[jets.btag], minlength=n_sel),
        "ht": np.bincount(jets.event, weights=jets.pt, minlength=n_sel),
    }
    return {
        k: np.asarray(v).astype(_DTYPES.get(k, np.float32)) for k, v in cols.items()
    }
