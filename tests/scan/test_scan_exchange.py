"""Label-exchange toys: exact relabelling, consistency with direct scans, uniform global p."""

from __future__ import annotations

import numpy as np
from scan_factories import make_config, make_events
from scipy import stats

from asymscan import scan_windows
from asymscan.calibrate.exchange import exchange_counts, max_abs_nsigma
from asymscan.scan import build_cells, scan_cells


def test_exchange_counts_are_multivariate_hypergeometric():
    rng = np.random.default_rng(1)
    multiplicity = np.array([1, 4, 10, 25])
    counts = exchange_counts(multiplicity, 13, 20000, rng)
    assert counts.shape == (4, 20000)
    assert (counts.sum(axis=0) == 13).all()
    assert (counts <= multiplicity[:, None]).all()
    # Mean and variance of a multivariate hypergeometric: n p_i and n p_i (1 - p_i) (N - n)/(N - 1).
    big_n, n = multiplicity.sum(), 13
    p = multiplicity / big_n
    mean, var = n * p, n * p * (1 - p) * (big_n - n) / (big_n - 1)
    np.testing.assert_allclose(
        counts.mean(axis=1), mean, atol=5 * np.sqrt(var / 20000).max()
    )
    np.testing.assert_allclose(counts.var(axis=1), var, rtol=0.05)


def test_weighted_events_with_equal_weights_share_units(rng):
    data = make_config().model_dump()
    data["data"]["weight"] = "1.0 + 0 * m"
    from asymscan.config import config_from_dict

    ev = make_events(3000, rng)
    weighted = build_cells([ev], config_from_dict(data))
    compressed = build_cells([ev], make_config())
    # equal weights: the same units as unweighted events, with variances
    assert weighted.n_units == compressed.n_units < weighted.n_events
    for key in ("a", "b"):
        np.testing.assert_allclose(weighted.observed()[key], compressed.observed()[key])
        np.testing.assert_allclose(
            weighted.observed()["var_" + key], compressed.observed()[key]
        )
    # events of distinct weights are distinct units
    ev["w"] = rng.uniform(0.5, 1.5, ev["m"].size)
    data["data"]["weight"] = "w"
    distinct = build_cells([ev], config_from_dict(data))
    assert distinct.n_units == distinct.n_events


def test_observed_maximum_equals_direct_window_scans(rng):
    cells = build_cells([make_events(4000, rng)], make_config())
    best, per_hist = max_abs_nsigma(cells, cells.n_a, min_entries=25)
    obs = cells.observed()
    direct = [
        abs(
            scan_windows(
                h.bins(obs["b"]), h.bins(obs["a"]), two_sided=True, min_entries=25
            ).best_nsigma
        )
        for h in cells.histograms
    ]
    np.testing.assert_allclose(per_hist[0], np.nan_to_num(direct), rtol=1e-12)
    assert best[0] == np.nanmax(direct)


def test_toys_refill_every_histogram_from_the_same_events(rng):
    cells = build_cells([make_events(2000, rng)], make_config())
    labels = exchange_counts(
        cells.multiplicity, int(cells.n_a.sum()), 3, np.random.default_rng(5)
    )
    sums, _ = cells.fill(labels)
    for t in range(3):
        one, _ = cells.fill(labels[:, t])
        np.testing.assert_allclose(sums[t], one)
    # Inclusive m histogram = sum over the jet categories' m histograms, toy by toy.
    hists = cells.histograms
    inclusive = hists[0].bins(sums)
    parts = sum(h.bins(sums) for h in hists if h.selection and h.observables == ("m",))
    np.testing.assert_allclose(inclusive, parts)


def test_global_p_values_are_uniform_on_symmetric_data():
    rng = np.random.default_rng(7)
    cfg = make_config(toys=39, dims=[1], min_entries=10)
    p = []
    for i in range(150):
        cells = build_cells(
            [make_events(600, rng)],
            cfg.model_copy(update={"scan": cfg.scan.model_copy(update={"seed": i})}),
        )
        p.append(scan_cells(cells, cfg).p_value[0])
    p = np.array(p)
    # p = (k + 1)/40 is uniform on {1/40, ..., 1} under the null: compare the counts per
    # quarter with the expected 150/4 (chi2 with 3 dof), and the mean with 41/80.
    counts = np.histogram(p, bins=[0, 0.25, 0.5, 0.75, 1.0])[0]
    assert stats.chisquare(counts).pvalue > 0.001
    assert abs(p.mean() - 41 / 80) < 4 * np.sqrt(1 / 12 / 150)
