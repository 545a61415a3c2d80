"""Scans with label-dependent weights (detector corrections) and systematics.

The weights of an event for each label, the histograms they fill, the toys' relabelling
probabilities and systematic shifts are checked against direct computations; the global
p-value is checked to be uniform on data that are symmetric once corrected, also when the
maps are off by an amount drawn from their uncertainties.
"""

from __future__ import annotations

import hist
import numpy as np
import pytest
from scan_factories import (
    detector_config,
    make_config,
    make_detector_events,
    make_events,
    true_weights,
    write_efficiencies,
)
from scipy import stats

from asymscan import DataError
from asymscan.calibrate.exchange import max_abs_nsigma, relabel_counts
from asymscan.config import config_from_dict
from asymscan.scan import build_cells, scan_cells


@pytest.fixture
def efficiencies(tmp_path):
    return write_efficiencies(tmp_path / "eff.json")


def _direct_histograms(ev, h, weight):
    """hist fills of A and B for histogram ``h`` with per-event weights."""
    sel = np.ones(ev["m"].size, dtype=bool)
    for _fam, cat in h.selection:
        sel &= {"0j": ev["nj"] == 0, "1j": ev["nj"] == 1, "2j+": ev["nj"] >= 2}[cat]
    axes = [hist.axis.Regular(len(e) - 1, e[0], e[-1]) for e in h.edges]
    out = {}
    for flav, key in ((11, "a"), (13, "b")):
        ref = hist.Hist(*axes, storage=hist.storage.Weight())
        m = sel & (ev["flav"] == flav)
        ref.fill(*(ev[o][m] for o in h.observables), weight=weight[m])
        out[key] = ref
    return out


def test_each_label_is_filled_with_its_own_weight(rng, efficiencies):
    ev = make_detector_events(6000, rng)
    cells = build_cells([ev], detector_config(efficiencies))
    wa, wb = true_weights(ev["pt"])
    weight = np.where(ev["flav"] == 11, wa, wb)
    obs = cells.observed()
    for h in cells.histograms:
        ref = _direct_histograms(ev, h, weight)
        for key in ("a", "b"):
            np.testing.assert_allclose(h.bins(obs[key]), ref[key].values(), rtol=1e-12)
            np.testing.assert_allclose(
                h.bins(obs["var_" + key]), ref[key].variances(), rtol=1e-10, atol=1e-9
            )
    # binned maps: events with the same bins and weights share a unit
    assert cells.n_units < cells.n_events
    assert cells.n_events == ev["m"].size


def test_data_weight_multiplies_the_label_weights(rng, efficiencies):
    ev = make_detector_events(3000, rng)
    ev["w"] = rng.uniform(0.5, 2.0, ev["m"].size)
    data = detector_config(efficiencies, systematics=False).model_dump()
    data["data"]["weight"] = "w"
    cells = build_cells([ev], config_from_dict(data))
    wa, wb = true_weights(ev["pt"])
    weight = ev["w"] * np.where(ev["flav"] == 11, wa, wb)
    h = cells.histograms[0]
    ref = _direct_histograms(ev, h, weight)
    np.testing.assert_allclose(h.bins(cells.observed()["b"]), ref["b"].values())


def test_toy_sums_equal_a_direct_fill_of_the_relabelled_events(rng, efficiencies):
    """A toy's histograms: each event with the weight of its new label, shifts included."""
    ev = make_detector_events(2000, rng)
    cells = build_cells([ev], detector_config(efficiencies))
    counts = relabel_counts(cells, 3, np.random.default_rng(1))
    sums = cells.sums(counts)
    w = cells.weights
    for t in range(3):
        a = counts[:, t]
        b = cells.multiplicity - a
        direct = {
            "a": cells.cells @ (a * w.a),
            "b": cells.cells @ (b * w.b),
            "var_a": cells.cells @ (a * w.a**2),
            "var_b": cells.cells @ (b * w.b**2),
        }
        for key, value in direct.items():
            np.testing.assert_allclose(
                getattr(sums, key)[t], value, rtol=1e-9, atol=1e-9
            )
        for k in range(2):
            np.testing.assert_allclose(
                sums.shift_b[k, t] - sums.shift_a[k, t],
                cells.cells @ (b * w.shift_b[k] - a * w.shift_a[k]),
                atol=1e-9,
            )


def test_shifts_are_half_the_up_down_difference(rng, efficiencies):
    ev = make_detector_events(1000, rng)
    cells = build_cells([ev], detector_config(efficiencies))
    w = cells.weights
    # the maps' pT bins, by their centres: nominal weights and shifts per bin
    centres = np.array([15.0, 25.0, 37.5, 57.5, 105.0])
    nominal = true_weights(centres)
    pulled = true_weights(centres, theta=(1.0, 1.0))
    for k, (unit_w, unit_shift) in enumerate(((w.a, w.shift_a), (w.b, w.shift_b))):
        for nom, pull in zip(nominal[k], pulled[k], strict=True):
            here = np.isclose(unit_w, nom, rtol=1e-12)
            np.testing.assert_allclose(unit_shift[k][here], pull - nom, rtol=1e-9)
        # every unit's weight is one of the map's values, and the other shift is zero
        assert np.isclose(unit_w[:, None], nominal[k][None, :], rtol=1e-12).any(1).all()
        np.testing.assert_array_equal(unit_shift[1 - k], 0.0)


def test_relabelling_probability_is_wb_over_wa_plus_wb(rng, efficiencies):
    ev = make_detector_events(500, rng)
    cells = build_cells([ev], detector_config(efficiencies, systematics=False))
    w = cells.weights
    n = 4000
    counts = relabel_counts(cells, n, np.random.default_rng(2))
    p = w.b / (w.a + w.b)
    expect = cells.multiplicity * p
    sd = np.sqrt(cells.multiplicity * p * (1 - p) / n)
    z = (counts.mean(axis=1) - expect) / sd
    assert np.abs(z).max() < 5
    assert (
        stats.chisquare(
            np.histogram(z, bins=[-np.inf, -1, 0, 1, np.inf])[0],
            len(z) * np.diff(stats.norm.cdf([-np.inf, -1, 0, 1, np.inf])),
        ).pvalue
        > 1e-3
    )


def test_toys_draw_the_nuisances(rng, efficiencies):
    """With systematics each toy relabels at weights pulled by theta ~ N(0, 1): the count of
    A varies more than the binomial variance at the nominal weights."""
    ev = make_detector_events(3000, rng)
    with_syst = build_cells([ev], detector_config(efficiencies))
    without = build_cells([ev], detector_config(efficiencies, systematics=False))
    n_a_syst = relabel_counts(with_syst, 3000, np.random.default_rng(3)).sum(axis=0)
    n_a_nom = relabel_counts(without, 3000, np.random.default_rng(3)).sum(axis=0)
    error = np.sqrt((n_a_syst.var() + n_a_nom.var()) / 3000)
    assert abs(n_a_syst.mean() - n_a_nom.mean()) < 5 * error
    assert n_a_syst.var() > 2 * n_a_nom.var()


def test_weights_must_be_positive_and_finite(rng, efficiencies):
    ev = make_detector_events(500, rng)
    data = detector_config(efficiencies, systematics=False).model_dump()
    data["symmetry"]["weight_b"] = "where(pt > 50, -1.0, 1.0)"
    with pytest.raises(
        DataError, match=r"weight of \d+ event\(s\) in B .* zero or negative"
    ):
        build_cells([ev], config_from_dict(data))
    data["symmetry"]["weight_b"] = "log(pt - 20)"
    with pytest.raises(
        DataError, match=r"symmetry.weight_b = .* NaN or infinite for \d+"
    ):
        build_cells([ev], config_from_dict(data))


def test_min_entries_counts_events_not_weights(rng):
    ev = make_events(4000, rng)
    ev["w"] = np.full(ev["m"].size, 0.01)
    data = make_config(toys=0).model_dump()
    plain = scan_cells(build_cells([ev], make_config(toys=0)), make_config(toys=0))
    data["data"]["weight"] = "w"
    cfg = config_from_dict(data)
    weighted = scan_cells(build_cells([ev], cfg), cfg)
    # the same windows pass the cut: scaling every weight leaves N_sigma unchanged
    assert weighted.max_abs_nsigma == pytest.approx(plain.max_abs_nsigma, rel=1e-9)


def test_normalize_removes_a_global_efficiency_difference(rng):
    """A flat 10% loss in A: without normalisation the widest windows dominate; scaling A to
    B's total removes it, and the toys stay calibrated."""
    ev = make_events(20000, rng)
    keep = (ev["flav"] == 13) | (rng.random(ev["m"].size) < 0.9)
    ev = {k: v[keep] for k, v in ev.items()}
    raw_cfg = make_config(toys=0, dims=[1])
    raw = scan_cells(build_cells([ev], raw_cfg), raw_cfg)
    assert raw.max_abs_nsigma > 8
    for mode in ("total", "selection"):
        cfg = make_config(toys=0, dims=[1], normalize=mode)
        cells = build_cells([ev], cfg)
        norm = scan_cells(cells, cfg)
        assert norm.max_abs_nsigma < 4.5
        # the whole inclusive histogram, scaled, has B - rA = 0 when nothing is out of range
        sums = cells.sums(cells.n_a)
        ratio = sums.total_b[0] / sums.total_a[0]
        assert ratio == pytest.approx(
            ev["flav"].size / (ev["flav"] == 11).sum() - 1, rel=1e-12
        )


def _randomized_p(result, rng):
    """(k + U)/(n + 1): continuous uniform under the null, for a KS test."""
    k = (result.toys >= result.max_abs_nsigma).sum()
    return (k + rng.random()) / (result.toys.size + 1)


@pytest.mark.slow
@pytest.mark.parametrize("systematics", [False, True])
def test_global_p_is_uniform_with_label_dependent_weights(efficiencies, systematics):
    """200 small data sets, symmetric once corrected, with strongly label-dependent weights
    (B's efficiency 0.35-0.9 against 0.95 for A); with systematics, the true efficiencies are
    pulled by theta ~ N(0, 1) away from the maps. Global p-values uniform, type-I error 5%."""
    rng = np.random.default_rng(11)
    cfg = detector_config(
        efficiencies, systematics=systematics, toys=59, dims=[1], min_entries=10
    )
    p, rand = [], []
    for i in range(200):
        theta = rng.standard_normal(2) if systematics else (0.0, 0.0)
        ev = make_detector_events(1200, rng, theta=theta)
        run = cfg.model_copy(update={"scan": cfg.scan.model_copy(update={"seed": i})})
        result = scan_cells(build_cells([ev], run), run)
        p.append(result.p_value[0])
        rand.append(_randomized_p(result, rng))
    p = np.array(p)
    assert stats.kstest(rand, "uniform").pvalue > 0.01
    # P(p <= 0.05) = 3/60 exactly under the null
    rate = (p <= 0.05).mean()
    assert abs(rate - 0.05) < 3 * np.sqrt(0.05 * 0.95 / p.size)


def test_weights_kept_through_relabelling_break_the_null(rng, efficiencies):
    """Why weight_a/weight_b: correcting through data.weight (a weight that follows the
    event's observed label) makes the toys keep each event's weight when they relabel it, and
    their maxima far exceed those of the correct null, so nothing could ever be found."""
    ev = make_detector_events(6000, rng)
    right_cfg = detector_config(efficiencies, systematics=False, toys=0, dims=[1])
    data = right_cfg.model_dump()
    data["data"]["weight"] = (
        "where(flav == 11, 1 / correction('eff_a', pt, 'nominal'), "
        "1 / correction('eff_b', pt, 'nominal'))"
    )
    data["symmetry"].pop("weight_a")
    data["symmetry"].pop("weight_b")
    wrong_cfg = config_from_dict(data)
    right, wrong = build_cells([ev], right_cfg), build_cells([ev], wrong_cfg)
    # the same observed histograms ...
    np.testing.assert_allclose(right.observed()["b"], wrong.observed()["b"])
    observed = max_abs_nsigma(right, right.n_a, min_entries=25)[0][0]
    # ... but different nulls
    toys = {
        name: max_abs_nsigma(
            cells, relabel_counts(cells, 40, np.random.default_rng(4)), min_entries=25
        )[0]
        for name, cells in (("right", right), ("wrong", wrong))
    }
    assert np.median(toys["wrong"]) > np.median(toys["right"]) + 2
    assert observed < np.quantile(toys["wrong"], 0.05)


@pytest.mark.parametrize("collide", [False, True])
def test_units_are_exactly_the_distinct_rows(monkeypatch, collide):
    """Rows are grouped through a hash; a collision (forced here) falls back to the exact
    sort, so units always equal numpy's unique rows."""
    from asymscan.scan import layout

    if collide:
        monkeypatch.setattr(
            layout, "_row_hash", lambda rows: rows[:, 0].view(np.uint64) % 3
        )
    rng = np.random.default_rng(8)
    rows = rng.integers(0, 4, size=(5000, 3))
    mult = rng.integers(1, 3, 5000).astype(float)
    n_a = rng.integers(0, 2, 5000).astype(float)
    unique, total, in_a = layout._compress(rows, mult, n_a)
    ref, inverse = np.unique(rows, axis=0, return_inverse=True)
    order = np.lexsort(unique.T[::-1])
    np.testing.assert_array_equal(unique[order], ref)
    np.testing.assert_array_equal(
        total[order], np.bincount(inverse.ravel(), weights=mult)
    )
    np.testing.assert_array_equal(
        in_a[order], np.bincount(inverse.ravel(), weights=n_a)
    )
