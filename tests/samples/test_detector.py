"""``asymscan.samples.detector``: the realistic detector, its correctionlib maps and weights.

The first tests need no pools; the last ones draw the shipped e-mu sample (20 fb^-1, about
3e5 events) with the ideal and the realistic detector and check the thinning, the e-mu/mu-e
artefact it makes, and that the weights of the measured maps undo it.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from asymscan.errors import ConfigError, DataError
from asymscan.samples import (
    REALISTIC,
    REALISTIC_EFFICIENCIES,
    REALISTIC_SYSTEMATICS,
    REALISTIC_WEIGHTS,
    Detector,
    EfficiencyMap,
    emu,
    event_weights,
    realistic_detector,
    write_corrections,
)
from asymscan.samples import detector as detmod
from asymscan.samples.detector import MAP_NAMES, SYSTS

correctionlib = pytest.importorskip("correctionlib")


def _loop_evaluate(emap: EfficiencyMap, pt: float, abseta: float) -> float:
    """Slow reference: walk the bins, clamping below the first and above the last edge."""

    def find(edges, x):
        for i in range(len(edges) - 1):
            if edges[i] <= x < edges[i + 1]:
                return i
        return 0 if x < edges[0] else len(edges) - 2

    return emap.values[find(emap.pt_edges, pt)][find(emap.abseta_edges, abseta)]


def _points(rng, n=2000):
    """Random (pt, abseta) plus every bin edge and points outside the edges."""
    gen = np.random.default_rng(rng)
    pt = np.concatenate([gen.uniform(5.0, 400.0, n), detmod.PT_EDGES[:-1], [1.0, 1e5]])
    eta = gen.uniform(0.0, 2.6, len(pt))
    eta[: len(detmod.ABSETA_EDGES) + 1] = [*detmod.ABSETA_EDGES, 3.0]
    return pt, eta


def _leptons(rng, n=3000):
    gen = np.random.default_rng(rng)
    lep1_pt = gen.uniform(15.0, 200.0, n)
    return {
        "lead_flavour": gen.choice(np.array([11, 13], dtype=np.int8), n),
        "lep1_pt": lep1_pt.astype(np.float32),
        "lep1_eta": gen.uniform(-2.3, 2.3, n).astype(np.float32),
        "lep2_pt": gen.uniform(15.0, lep1_pt).astype(np.float32),
        "lep2_eta": gen.uniform(-2.3, 2.3, n).astype(np.float32),
    }


# --------------------------------------------------------------------------------------------
# the maps


def test_realistic_maps_have_realistic_sizes():
    e, mu = REALISTIC.electron_idiso, REALISTIC.muon_idiso
    ev, mv = np.asarray(e.values), np.asarray(mu.values)
    barrel = 0  # |eta| < 0.8
    assert 0.70 <= ev[0, barrel] <= 0.80  # 15-20 GeV
    assert 0.92 <= ev[-2, barrel] <= 0.95  # 60-100 GeV
    assert 0.90 <= mv[0, barrel] <= 0.93
    assert mv[-1, barrel] >= 0.97
    crack = 2  # 1.444 < |eta| < 1.566: the electron's worst
    assert np.all(ev[:, crack] == ev.min(axis=1))
    # muons better everywhere, by several percent at low pT and less above 60 GeV
    diff = mv - ev
    assert np.all(diff > 0)
    assert diff[0, barrel] > 0.1
    assert diff[-2, barrel] < 0.05
    assert np.all(np.diff(ev, axis=0)[:-1] > 0)  # rising with pT
    # uncertainties: electron 2-3 % at 15-25 GeV, <= 1 % above 40 GeV; muon about half
    ee, me = np.asarray(e.errors), np.asarray(mu.errors)
    assert np.all((ee[:2, :2] >= 0.02) & (ee[:2, :2] <= 0.03))
    assert np.all(ee[4:6, :2] <= 0.01)
    assert np.all(me <= 0.6 * ee + 1e-12)
    # trigger turn-on to 0.85-0.95
    for name in ("electron_trigger", "muon_trigger"):
        t = np.asarray(REALISTIC.maps[name].values)
        assert np.all(np.diff(t, axis=0) >= 0), name
        assert np.all((t[3:, :2] >= 0.85) & (t[3:, :2] <= 0.95)), name
        assert t[0, 0] < 0.7, name


def test_evaluate_matches_a_loop_over_the_bins():
    pt, eta = _points(0)
    for name, emap in REALISTIC.maps.items():
        expect = [_loop_evaluate(emap, p, a) for p, a in zip(pt, eta, strict=True)]
        np.testing.assert_array_equal(emap.evaluate(pt, eta), expect, err_msg=name)


def test_syst_variations_are_one_sigma_clamped():
    for emap in REALISTIC.maps.values():
        v, e = np.asarray(emap.values), np.asarray(emap.errors)
        np.testing.assert_allclose(emap.table("up"), np.minimum(v + e, 1.0))
        np.testing.assert_allclose(emap.table("down"), v - e)
        assert np.all(emap.table("up") <= 1.0)
    with pytest.raises(ConfigError, match="unknown syst 'sideways'"):
        REALISTIC.electron_idiso.table("sideways")


def test_event_efficiency_formula_and_labels():
    cols = _leptons(1)
    eff = REALISTIC.event_efficiency(cols)
    is_a = cols["lead_flavour"] == 11
    e_pt = np.where(is_a, cols["lep1_pt"], cols["lep2_pt"])
    e_eta = np.abs(np.where(is_a, cols["lep1_eta"], cols["lep2_eta"]))
    m_pt = np.where(is_a, cols["lep2_pt"], cols["lep1_pt"])
    m_eta = np.abs(np.where(is_a, cols["lep2_eta"], cols["lep1_eta"]))
    for i in range(0, len(eff), 97):
        te = _loop_evaluate(REALISTIC.electron_trigger, e_pt[i], e_eta[i])
        tm = _loop_evaluate(REALISTIC.muon_trigger, m_pt[i], m_eta[i])
        expect = (
            _loop_evaluate(REALISTIC.electron_idiso, e_pt[i], e_eta[i])
            * _loop_evaluate(REALISTIC.muon_idiso, m_pt[i], m_eta[i])
            * (1 - (1 - te) * (1 - tm))
        )
        assert eff[i] == pytest.approx(expect, rel=1e-12)
    eff_a, eff_b = REALISTIC.label_efficiencies(cols)
    np.testing.assert_array_equal(eff, np.where(is_a, eff_a, eff_b))
    # the electron is found less often: the label with the electron soft loses more
    assert np.mean(eff_a) > np.mean(eff_b)
    assert np.mean(eff_a > eff_b) > 0.6


def test_event_efficiency_errors():
    cols = _leptons(2, 10)
    with pytest.raises(DataError, match="lep2_eta"):
        REALISTIC.event_efficiency({k: v for k, v in cols.items() if k != "lep2_eta"})
    with pytest.raises(DataError, match="lead_flavour must be 11 or 13"):
        REALISTIC.event_efficiency({**cols, "lead_flavour": np.full(10, 15)})


def test_shift_moves_only_the_targeted_bins():
    truth = realistic_detector({"electron_idiso": 1.5}, max_pt=25.0)
    e = REALISTIC.electron_idiso
    low = np.asarray(e.pt_edges[1:]) <= 25.0  # the 15-20 and 20-25 GeV bins
    assert low.sum() == 2
    moved = np.asarray(truth.electron_idiso.values)
    np.testing.assert_allclose(
        moved[low], np.asarray(e.values)[low] + 1.5 * np.asarray(e.errors)[low]
    )
    np.testing.assert_array_equal(moved[~low], np.asarray(e.values)[~low])
    assert truth.electron_idiso.errors == e.errors  # the stated uncertainty stays
    for name in MAP_NAMES[1:]:
        assert truth.maps[name] == REALISTIC.maps[name], name
    assert "electron_idiso +1.5 sigma" in truth.description
    assert realistic_detector() == REALISTIC
    assert realistic_detector({"muon_trigger": 0.0}) == REALISTIC


def test_shift_any_map_range_and_sign():
    truth = realistic_detector(
        {"muon_idiso": -2.0, "electron_trigger": 1.0}, min_pt=30.0, max_pt=100.0
    )
    rows = [3, 4, 5]  # 30-40, 40-60, 60-100 GeV
    for name, n in (("muon_idiso", -2.0), ("electron_trigger", 1.0)):
        v0, err = np.asarray(REALISTIC.maps[name].values), REALISTIC.maps[name].errors
        v1 = np.asarray(truth.maps[name].values)
        np.testing.assert_allclose(v1[rows], v0[rows] + n * np.asarray(err)[rows])
        others = np.setdiff1d(np.arange(len(v0)), rows)
        np.testing.assert_array_equal(v1[others], v0[others])
    assert truth.electron_idiso == REALISTIC.electron_idiso
    # everywhere (the last bin too), clamped at 1
    up = realistic_detector({"muon_idiso": 100.0})
    assert np.all(np.asarray(up.muon_idiso.values) == 1.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"shifts": {"photon_idiso": 1.0}},
            "unknown map.*photon_idiso.*electron_idiso",
        ),
        ({"shifts": {"electron_idiso": math.nan}}, "n_sigma must be finite"),
        ({"shifts": {"electron_idiso": 1.0}, "max_pt": 17.0}, "no pT bin"),
        ({"shifts": {"electron_idiso": 1.0}, "min_pt": 50.0, "max_pt": 30}, "below"),
    ],
)
def test_shift_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        realistic_detector(**kwargs)


def test_map_validation():
    edges = (15.0, 30.0, math.inf)
    with pytest.raises(ConfigError, match="shape"):
        EfficiencyMap(edges, (0.0, 2.3), ((0.9,),), ((0.01,),))
    with pytest.raises(ConfigError, match=r"\(0, 1\]"):
        EfficiencyMap(edges, (0.0, 2.3), ((0.9,), (1.2,)), ((0.01,), (0.01,)))
    with pytest.raises(ConfigError, match="increasing"):
        EfficiencyMap((30.0, 15.0), (0.0, 2.3), ((0.9,),), ((0.01,),))


# --------------------------------------------------------------------------------------------
# the correctionlib file, the weights and the expressions


def test_shipped_file_is_what_write_corrections_makes(tmp_path):
    path = write_corrections(tmp_path / "eff.json")
    assert json.loads(path.read_text()) == json.loads(
        REALISTIC_EFFICIENCIES.read_text()
    )
    assert REALISTIC_EFFICIENCIES.stat().st_size < 100_000
    assert REALISTIC_EFFICIENCIES.parent.name == "data"


def test_shipped_file_evaluates_to_the_python_maps():
    cset = correctionlib.CorrectionSet.from_file(str(REALISTIC_EFFICIENCIES))
    assert sorted(cset.keys()) == sorted(MAP_NAMES)
    pt, eta = _points(3)
    for name, emap in REALISTIC.maps.items():
        corr = cset[name]
        assert [v.name for v in corr.inputs] == ["pt", "abseta", "syst"]
        for syst in SYSTS:
            np.testing.assert_allclose(
                corr.evaluate(pt, eta, syst), emap.evaluate(pt, eta, syst), rtol=1e-12
            )
        with pytest.raises(Exception, match="sideways"):
            corr.evaluate(30.0, 0.5, "sideways")


def test_write_corrections_of_a_shifted_detector(tmp_path):
    truth = realistic_detector({"electron_idiso": 2.0})
    path = write_corrections(tmp_path / "shifted.json", truth)
    cols = _leptons(4)
    wa, wb = event_weights(cols, path)
    eff_a, eff_b = truth.label_efficiencies(cols)
    np.testing.assert_allclose(wa, 1 / eff_a, rtol=1e-12)
    np.testing.assert_allclose(wb, 1 / eff_b, rtol=1e-12)


def test_main_regenerates_the_file(tmp_path, capsys):
    detmod.main([str(tmp_path / "x.json")])
    assert "wrote 4 corrections" in capsys.readouterr().out
    assert json.loads((tmp_path / "x.json").read_text()) == json.loads(
        REALISTIC_EFFICIENCIES.read_text()
    )


@pytest.mark.parametrize(
    "syst",
    ["nominal", "up", "down", {"electron_idiso": "up"}, {"muon_trigger": "down"}],
)
def test_event_weights_are_inverse_label_efficiencies(syst):
    cols = _leptons(5)
    wa, wb = event_weights(cols, syst=syst)
    eff_a, eff_b = REALISTIC.label_efficiencies(cols, syst=syst)
    assert wa.dtype == np.float64
    np.testing.assert_allclose(wa, 1 / eff_a, rtol=1e-12)
    np.testing.assert_allclose(wb, 1 / eff_b, rtol=1e-12)
    assert np.all((wa >= 1) & (wb >= 1))


def test_event_weights_errors():
    cols = _leptons(6, 5)
    with pytest.raises(ConfigError, match="unknown syst"):
        event_weights(cols, syst="sideways")
    with pytest.raises(ConfigError, match="unknown map"):
        event_weights(cols, syst={"tau_idiso": "up"})
    with pytest.raises(DataError, match="lep1_pt"):
        event_weights({k: v for k, v in cols.items() if k != "lep1_pt"})


def _eval_expression(text, cols, cset, syst=None):
    """Evaluate a weight expression with Python (a stand-in for the expression language)."""

    def correction(name, pt, abseta, which):
        which = syst.get(name, which) if syst else which
        return cset[name].evaluate(
            np.asarray(pt, dtype=np.float64), np.asarray(abseta, np.float64), which
        )

    names = {"correction": correction, "abs": np.abs, **cols}
    return eval(text, {"__builtins__": {}}, names)


def test_weight_expressions_match_event_weights():
    assert set(REALISTIC_WEIGHTS) == {"weight_a", "weight_b"}
    cset = correctionlib.CorrectionSet.from_file(str(REALISTIC_EFFICIENCIES))
    cols = _leptons(7)
    wa, wb = event_weights(cols)
    np.testing.assert_allclose(
        _eval_expression(REALISTIC_WEIGHTS["weight_a"], cols, cset), wa, rtol=1e-12
    )
    np.testing.assert_allclose(
        _eval_expression(REALISTIC_WEIGHTS["weight_b"], cols, cset), wb, rtol=1e-12
    )
    for text in REALISTIC_WEIGHTS.values():
        assert "'nominal'" in text
        for name in MAP_NAMES:
            assert f"correction('{name}'," in text


def test_systematics_entries_name_corrections_and_variations():
    assert [s["correction"] for s in REALISTIC_SYSTEMATICS] == [
        "electron_idiso",
        "muon_idiso",
    ]
    cset = correctionlib.CorrectionSet.from_file(str(REALISTIC_EFFICIENCIES))
    cols = _leptons(8)
    for entry in REALISTIC_SYSTEMATICS:
        assert set(entry) == {"name", "correction", "up", "down"}
        assert entry["up"] in SYSTS
        assert entry["down"] in SYSTS
        # substituting the variation into the expression = event_weights with that syst
        for side in ("up", "down"):
            syst = {entry["correction"]: entry[side]}
            got = _eval_expression(REALISTIC_WEIGHTS["weight_a"], cols, cset, syst)
            np.testing.assert_allclose(
                got, event_weights(cols, syst=syst)[0], rtol=1e-12
            )


def test_expressions_in_the_expression_language():
    """The strings as a scan configuration evaluates them (asymscan.data, correction(...))."""
    data_mod = pytest.importorskip("asymscan.data")
    if not hasattr(data_mod, "load_corrections"):
        pytest.skip("the expression language has no correction(...) yet")
    from asymscan.data.expressions import parse

    corr = data_mod.load_corrections(REALISTIC_EFFICIENCIES)
    cols = _leptons(9)
    for i, key in enumerate(("weight_a", "weight_b")):
        expr = parse(REALISTIC_WEIGHTS[key])
        assert expr.corrections == frozenset(MAP_NAMES)
        np.testing.assert_allclose(
            expr.evaluate(cols, corr), event_weights(cols)[i], rtol=1e-12
        )
        for entry in REALISTIC_SYSTEMATICS:
            for side in ("up", "down"):
                varied = corr.varied(entry["correction"], "nominal", entry[side])
                expect = event_weights(cols, syst={entry["correction"]: entry[side]})[i]
                np.testing.assert_allclose(
                    expr.evaluate(cols, varied), expect, rtol=1e-12
                )


# --------------------------------------------------------------------------------------------
# the shipped e-mu sample through the realistic detector

SEED = 11
PT_BINS = np.array([15, 20, 25, 30, 35, 40, 50, 60, 80, 100, 150, np.inf])


def _keys(data):
    return list(zip(data["process"], data["shard"], data["event"], strict=True))


@pytest.fixture(scope="module")
def drawn():
    """The events drawn before thinning: the ideal detector's sample with the same seed."""
    return emu(20.0, rng=SEED, shuffle=False)


@pytest.fixture(scope="module")
def observed():
    return emu(20.0, rng=SEED, shuffle=False, detector="realistic")


def _label_test(data, weights_path=REALISTIC_EFFICIENCIES):
    """chi2 p-value of the A counts per lep1_pt bin against sum_i w_b / (w_a + w_b)."""
    wa, wb = event_weights(data, weights_path)
    p = wb / (wa + wb)
    is_a = data["lead_flavour"] == 11
    i = np.digitize(data["lep1_pt"], PT_BINS) - 1
    n = len(PT_BINS) - 1
    obs = np.bincount(i, is_a, n)
    exp = np.bincount(i, p, n)
    var = np.bincount(i, p * (1 - p), n)  # Poisson-binomial
    chi2 = float(np.sum((obs - exp) ** 2 / var))
    return stats.chi2.sf(chi2, n)


def test_realistic_detector_makes_an_e_mu_asymmetry(drawn, observed):
    n_a = int(np.sum(observed["lead_flavour"] == 11))
    n_b = int(np.sum(observed["lead_flavour"] == 13))
    assert n_a > n_b  # the electron is soft in mu-e, where it is lost more often
    assert stats.binomtest(n_a, n_a + n_b, 0.5).pvalue < 1e-6
    # the ideal sample of the same events is symmetric
    n_a0 = int(np.sum(drawn["lead_flavour"] == 11))
    assert stats.binomtest(n_a0, len(drawn["process"]), 0.5).pvalue > 1e-3
    assert 0.6 < len(observed["process"]) / len(drawn["process"]) < 0.9


def test_kept_events_follow_the_event_efficiency(drawn, observed):
    kept_keys = set(_keys(observed))
    kept = np.array([k in kept_keys for k in _keys(drawn)])
    assert kept.sum() == len(observed["process"])  # a subset: thinning after the draw
    eff = REALISTIC.event_efficiency(drawn)
    is_a = drawn["lead_flavour"] == 11
    e_pt = np.where(is_a, drawn["lep1_pt"], drawn["lep2_pt"])
    mu_pt = np.where(is_a, drawn["lep2_pt"], drawn["lep1_pt"])
    ie = np.digitize(e_pt, detmod.PT_EDGES) - 1
    im = np.digitize(mu_pt, [15.0, 25.0, 40.0, np.inf]) - 1
    cell = (is_a * 7 + ie) * 3 + im  # flavour configuration x electron pT x muon pT
    n = 2 * 7 * 3

    def chi2_p(p):
        obs = np.bincount(cell, kept, n)
        exp = np.bincount(cell, p, n)
        var = np.bincount(cell, p * (1 - p), n)
        use = var > 0
        chi2 = float(np.sum((obs[use] - exp[use]) ** 2 / var[use]))
        return stats.chi2.sf(chi2, use.sum())

    assert chi2_p(eff) > 1e-3
    # the check is tight: the efficiency of the other label is rejected
    eff_a, eff_b = REALISTIC.label_efficiencies(drawn)
    assert chi2_p(np.where(is_a, eff_b, eff_a)) < 1e-6


def test_weights_of_the_measured_maps_undo_the_asymmetry(observed):
    assert _label_test(observed) > 1e-3


def test_weights_fail_when_the_truth_is_three_sigma_off():
    truth = realistic_detector({"electron_idiso": 3.0})
    data = emu(20.0, rng=SEED, shuffle=False, detector=truth)
    assert _label_test(data) < 1e-3


def test_detector_instance_and_restricted_columns(observed):
    data = emu(20.0, rng=SEED, shuffle=False, detector=REALISTIC, columns=["m_coll"])
    assert list(data) == ["shard", "event", "m_coll", "process"]
    assert _keys(data) == _keys(observed)
    np.testing.assert_array_equal(data["m_coll"], observed["m_coll"])


def test_public_names():
    from asymscan import samples

    for name in (
        "Detector",
        "EfficiencyMap",
        "REALISTIC",
        "REALISTIC_EFFICIENCIES",
        "REALISTIC_SYSTEMATICS",
        "REALISTIC_WEIGHTS",
        "event_weights",
        "realistic_detector",
        "write_corrections",
    ):
        assert name in samples.__all__, name
    assert isinstance(REALISTIC, Detector)
    for name in detmod.__all__:
        assert hasattr(detmod, name), name
