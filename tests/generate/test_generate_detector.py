"""The detector emulation on hand-made particles, against hand computations."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest

from asymscan.data.hep import m_coll
from asymscan.errors import ConfigError
from asymscan.generate.detector import (
    COLUMNS,
    DetectorConfig,
    LeptonResponse,
    dress_leptons,
    relative_isolation,
    select_emu,
    simulate_detector,
    smear_leptons,
)
from asymscan.generate.events import (
    EventBatch,
    Particles,
    delta_phi,
    hadron_flavour,
    is_hadron,
    kinematics,
    same_event_pairs,
)

E, MU, NU_E, NU_MU, GAMMA, PION = 11, 13, 12, 14, 22, 211


def particles(rows, with_from_hadron=True):
    """rows: (event, pid, pt, eta, phi[, from_hadron]) -> Particles (massless)."""
    rows = sorted(rows, key=lambda r: r[0])
    ev = np.array([r[0] for r in rows], dtype=np.int64)
    pid = np.array([r[1] for r in rows], dtype=np.int64)
    pt = np.array([r[2] for r in rows], dtype=float)
    eta = np.array([r[3] for r in rows], dtype=float)
    phi = np.array([r[4] for r in rows], dtype=float)
    fh = np.array([r[5] if len(r) > 5 else False for r in rows], dtype=bool)
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    e = pt * np.cosh(eta)
    return Particles(ev, pid, px, py, pz, e, fh if with_from_hadron else None)


def batch(rows, n_events=None, heavy=()):
    fin = particles(rows)
    n = int(fin.event.max()) + 1 if n_events is None else n_events
    return EventBatch(n, fin, particles(heavy, with_from_hadron=False))


EXACT = DetectorConfig(
    electron=LeptonResponse(resolution=(0.0, 0.0, 0.0)),
    muon=LeptonResponse(resolution=(0.0, 0.0, 0.0)),
    met_resolution=0.0,
    jet_resolution=(0.0, 0.0),
)


def m_massless(pt1, eta1, phi1, pt2, eta2, phi2):
    return math.sqrt(2 * pt1 * pt2 * (math.cosh(eta1 - eta2) - math.cos(phi1 - phi2)))


# ----------------------------------------------------------------------------- helpers


def test_kinematics_and_delta_phi():
    pt, eta, phi = kinematics([3.0, 0.0], [4.0, 0.0], [0.0, 1.0])
    np.testing.assert_allclose(pt, [5.0, 0.0])
    assert eta[0] == 0.0
    assert np.isfinite(eta[1])
    np.testing.assert_allclose(phi[0], math.atan2(4, 3))
    np.testing.assert_allclose(delta_phi(3.0, -3.0), 6.0 - 2 * math.pi)
    assert -math.pi <= delta_phi(math.pi, 0.0) < math.pi


def test_same_event_pairs_against_brute_force():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 6, 15)
    b = np.sort(rng.integers(0, 6, 25))
    i, j = same_event_pairs(a, b, 6)
    got = sorted(zip(i.tolist(), j.tolist(), strict=True))
    want = sorted((x, y) for x in range(15) for y in range(25) if a[x] == b[y])
    assert got == want


def test_hadron_flavour():
    ids = np.array([511, -521, 5122, 421, -4122, 443, 553, 211, 22, 13, 2212, 100553])
    np.testing.assert_array_equal(
        hadron_flavour(ids), [5, 5, 5, 4, 4, 4, 5, 0, 0, 0, 0, 5]
    )
    assert not is_hadron(np.array([11, 22, 23, 90])).any()


# ----------------------------------------------------------------------------- leptons


def test_dressing_adds_the_nearest_photons_only():
    fin = particles(
        [
            (0, E, 30.0, 0.0, 0.0),
            (0, GAMMA, 5.0, 0.05, 0.0),  # inside the cone of the electron
            (0, GAMMA, 4.0, 0.0, 0.2),  # outside
            (0, MU, 30.0, 0.0, 1.0),
            (0, GAMMA, 2.0, 0.0, 0.96),  # nearer the muon than the electron
        ]
    )
    leptons = np.array([0, 3])
    photons = np.array([1, 2, 4])
    p4, owner = dress_leptons(fin, leptons, photons, 1, cone=0.1)
    np.testing.assert_array_equal(owner, [0, -1, 1])
    np.testing.assert_allclose(p4[0, 3], fin.e[0] + fin.e[1])
    np.testing.assert_allclose(p4[1, 0], fin.px[3] + fin.px[4])


def test_relative_isolation():
    fin = particles(
        [
            (0, MU, 50.0, 0.0, 0.0),
            (0, PION, 5.0, 0.2, 0.0),  # in the cone
            (0, PION, 7.0, 0.0, 0.4),  # outside
            (0, NU_MU, 30.0, 0.1, 0.0),  # invisible
            (0, GAMMA, 0.3, 0.1, 0.0),  # below the particle threshold
            (0, GAMMA, 3.0, 0.05, 0.0),  # the muon's own dressing photon
            (1, PION, 40.0, 0.0, 0.0),  # other event
        ]
    )
    owner = np.array([0, -1, -1, -1, -1, 0, -1])
    iso = relative_isolation(fin, [0], [50.0], [0.0], [0.0], owner, 2, 0.3, 0.5)
    np.testing.assert_allclose(iso, [5.0 / 50.0])


def test_smearing_follows_the_resolution():
    cfg = DetectorConfig(muon=LeptonResponse(resolution=(0.0, 0.02, 0.0)))
    pt = np.full(20000, 40.0)
    out = smear_leptons(pt, np.zeros_like(pt), np.full(pt.shape, MU), cfg, rng(3))
    assert abs(out.mean() / 40.0 - 1) < 0.001
    assert abs(out.std() / 40.0 - 0.02) < 0.001


def rng(seed):
    return np.random.default_rng(seed)


def test_select_emu_needs_exactly_one_of_each_with_opposite_charges():
    #            ev  0: e- mu+   1: e- mu-   2: e- e+ mu+   3: mu+ only  4: e+ mu- (failed e)
    event = np.array([0, 0, 1, 1, 2, 2, 2, 3, 4, 4, 4])
    flavour = np.array([E, MU, E, MU, E, E, MU, MU, E, E, MU])
    charge = np.array([-1, 1, -1, -1, -1, 1, 1, 1, 1, -1, -1])
    passed = np.array([1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1], dtype=bool)
    events, ie, im = select_emu(event, flavour, charge, passed, 5)
    np.testing.assert_array_equal(events, [0, 4])
    np.testing.assert_array_equal(ie, [0, 8])
    np.testing.assert_array_equal(im, [1, 10])


def test_collinear_mass_against_a_hand_computation():
    # the package's definition (asymscan.data.hep.m_coll), used for the m_coll column
    lead, sub = (60.0, 0.0, 0.0), (30.0, 0.0, math.pi)
    m_ll = m_massless(*lead, *sub)
    # MET of 20 GeV along the subleading lepton: x = 30 / (30 + 20)
    np.testing.assert_allclose(
        m_coll(*lead, *sub, 20.0, math.pi), m_ll / math.sqrt(0.6)
    )
    # at 60 degrees only the projection counts
    got = m_coll(*lead, *sub, 20.0, math.pi + math.pi / 3)
    np.testing.assert_allclose(got, m_ll / math.sqrt(30.0 / 40.0))
    # MET opposite to the lepton: projection clipped at 0, m_coll = m_ll
    np.testing.assert_allclose(m_coll(*lead, *sub, 20.0, 0.0), m_ll)


# ----------------------------------------------------------------------------- full chain

needs_fastjet = pytest.mark.skipif(
    importlib.util.find_spec("fastjet") is None, reason="needs fastjet ([pythia] extra)"
)


def emu_event(ev, mu_charge=-1, extra=()):
    """mu (60 GeV) back to back with e (30 GeV), a neutrino along the electron, a soft pion."""
    return [
        (ev, MU * -mu_charge, 60.0, 0.5, 0.0),
        (ev, E * mu_charge, 30.0, -0.3, math.pi - 0.1),
        (ev, NU_E, 20.0, 1.0, math.pi - 0.1),
        (ev, PION, 1.0, 3.0, 1.5),
        *extra,
    ]


@needs_fastjet
def test_simulate_detector_on_one_event():
    out = simulate_detector(batch(emu_event(0)), EXACT, rng(0))
    assert set(out) == set(COLUMNS)
    assert len(out["event"]) == 1
    assert out["lead_flavour"][0] == MU
    assert (out["lep1_charge"][0], out["lep2_charge"][0]) == (-1, 1)
    np.testing.assert_allclose(out["lep1_pt"], 60.0, rtol=1e-6)
    np.testing.assert_allclose(out["lep2_pt"], 30.0, rtol=1e-6)
    m_ll = m_massless(60.0, 0.5, 0.0, 30.0, -0.3, math.pi - 0.1)
    np.testing.assert_allclose(out["m_ll"], m_ll, rtol=1e-5)
    np.testing.assert_allclose(out["met"], 20.0, rtol=1e-5)
    np.testing.assert_allclose(out["met_phi"], math.pi - 0.1, rtol=1e-5)
    np.testing.assert_allclose(out["m_coll"], m_ll / math.sqrt(30.0 / 50.0), rtol=1e-5)
    np.testing.assert_allclose(out["dphi_ll"], math.pi - 0.1, rtol=1e-5)
    assert out["n_jets"][0] == 0
    assert out["ht"][0] == 0


@needs_fastjet
def test_selection_cuts():
    events = [
        emu_event(0),  # selected
        emu_event(1, extra=[(1, E, 20.0, 1.5, 2.0)]),  # a second electron
        [(2, MU, 60.0, 0.5, 0.0), (2, E, 30.0, 0.0, 2.0)],  # same sign: mu- e-
        emu_event(3, extra=[(3, PION, 10.0, 0.7, 0.0)]),  # muon iso 10/60 > 0.15
        emu_event(4, extra=[(4, PION, 5.0, 0.7, 0.0)]),  # muon iso 5/60 < 0.15
        [(5, MU, 60.0, 2.4, 0.0), (5, -E, 30.0, 0.0, 2.0)],  # muon |eta| > 2.3
        [(6, MU, 60.0, 0.0, 0.0), (6, -E, 14.0, 0.0, 2.0)],  # electron pT < 15
    ]
    rows = [r for ev in events for r in ev]
    out = simulate_detector(batch(rows), EXACT, rng(0))
    np.testing.assert_array_equal(out["event"], [0, 4])
    assert np.all(out["lep1_charge"] * out["lep2_charge"] == -1)


@needs_fastjet
def test_dressing_collects_fsr_but_not_hadron_decay_photons():
    fsr = [(0, GAMMA, 5.0, -0.3, math.pi - 0.05)]
    out = simulate_detector(batch(emu_event(0, extra=fsr)), EXACT, rng(0))
    assert out["lep2_pt"][0] == pytest.approx(35.0, rel=1e-3)
    # the same photon from a pi0 decay is not added; it spoils the isolation (5/30)
    pi0 = [(0, GAMMA, 5.0, -0.3, math.pi - 0.05, True)]
    out = simulate_detector(batch(emu_event(0, extra=pi0)), EXACT, rng(0))
    assert len(out["event"]) == 0


@needs_fastjet
def test_undressed_muons_in_the_flavour_dependent_detector():
    cfg = DetectorConfig.flavour_dependent(
        electron=LeptonResponse(0.15, (0.0, 0.0, 0.0), (1.0, 1.0), True),
        muon=LeptonResponse(0.25, (0.0, 0.0, 0.0), (1.0, 1.0), False),
        met_resolution=0.0,
    )
    fsr = [(0, GAMMA, 10.0, 0.5, 0.05)]  # 10 GeV photon next to the muon: iso 10/60
    out = simulate_detector(batch(emu_event(0, extra=fsr)), cfg, rng(0))
    assert out["lep1_pt"][0] == pytest.approx(60.0, rel=1e-6)  # not dressed
    out = simulate_detector(batch(emu_event(0, extra=fsr)), EXACT, rng(0))
    assert out["lep1_pt"][0] == pytest.approx(70.0, rel=1e-3)  # dressed


@needs_fastjet
def test_jets_and_truth_b_tagging():
    # two collimated sprays of pions, one containing a b hadron
    spray1 = [(0, PION, 20.0, 1.0 + d, 2.0 + d) for d in (0.0, 0.05, -0.05)]
    spray2 = [(0, PION, 15.0, -1.5 + d, -2.0 + d) for d in (0.0, 0.1, -0.1)]
    heavy = [(0, 511, 30.0, 1.02, 2.01)]
    cfg = DetectorConfig(
        electron=EXACT.electron,
        muon=EXACT.muon,
        met_resolution=0.0,
        jet_resolution=(0.0, 0.0),
        btag_efficiency=1.0,
        light_mistag=0.0,
    )
    b = batch(emu_event(0, extra=spray1 + spray2), heavy=heavy)
    out = simulate_detector(b, cfg, rng(0))
    assert out["n_jets"][0] == 2
    assert out["n_bjets"][0] == 1
    assert out["ht"][0] == pytest.approx(105.0, rel=5e-3)


@needs_fastjet
def test_default_detector_is_symmetric_under_e_mu_exchange():
    gen = rng(7)
    rows = []
    for ev in range(200):
        for _ in range(gen.integers(1, 4)):
            pid = int(gen.choice([E, MU])) * int(gen.choice([-1, 1]))
            rows.append(
                (
                    ev,
                    pid,
                    gen.uniform(5, 80),
                    gen.uniform(-2.5, 2.5),
                    gen.uniform(-3, 3),
                )
            )
        for _ in range(30):
            rows.append(
                (ev, PION, gen.exponential(2.0), gen.uniform(-4, 4), gen.uniform(-3, 3))
            )
        rows.append((ev, NU_MU, gen.uniform(0, 50), 0.0, gen.uniform(-3, 3)))
    swap = {E: MU, MU: E}
    swapped = [
        (r[0], int(np.sign(r[1])) * swap.get(abs(r[1]), abs(r[1])), *r[2:])
        for r in rows
    ]
    a = simulate_detector(batch(rows), DetectorConfig(), rng(1))
    b = simulate_detector(batch(swapped), DetectorConfig(), rng(1))
    assert len(a["event"]) > 10
    for key in COLUMNS:
        if key == "lead_flavour":
            np.testing.assert_array_equal(a[key], 24 - b[key])
        else:
            np.testing.assert_array_equal(a[key], b[key])


@needs_fastjet
def test_no_event_selected_gives_empty_columns():
    out = simulate_detector(
        batch([(0, PION, 10.0, 0.0, 0.0)]), DetectorConfig(), rng(0)
    )
    assert set(out) == set(COLUMNS)
    assert all(len(v) == 0 for v in out.values())


# ----------------------------------------------------------------------------- config


def test_detector_config_round_trip_and_validation():
    cfg = DetectorConfig.flavour_dependent()
    assert cfg.electron.isolation == 0.15
    assert cfg.muon.isolation == 0.25
    assert not cfg.muon.dressed
    assert DetectorConfig.from_dict(cfg.to_dict()) == cfg
    assert DetectorConfig().electron == DetectorConfig().muon
    with pytest.raises(ConfigError, match="lepton_pt_min"):
        DetectorConfig(lepton_pt_min=-1.0)
    with pytest.raises(ConfigError, match="efficiency"):
        LeptonResponse(efficiency=(1.2, 1.0))
    with pytest.raises(ConfigError, match="bad detector settings"):
        DetectorConfig.from_dict({"lepton_pt_mni": 10.0})
