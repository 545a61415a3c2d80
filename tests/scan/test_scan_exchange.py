"""Label-exchange toys: exact relabelling, consistency with direct scans, uniform global p."""

from __future__ import annotations

import numpy as np
from scan_factories import make_config, make_events
from scipy import stats

from asymscan import scan_windows
from asymscan.calibrate.exchange import exchange_labels, max_abs_nsigma
from asymscan.scan import build_cells, scan_cells


def test_labels_keep_the_sample_size_and_are_uniform():
    rng = np.random.default_rng(1)
    labels = exchange_labels(40, 13, 20000, rng)
    assert labels.shape == (40, 20000)
    assert (labels.sum(axis=0) == 13).all()
    # Each event is in A with probability 13/40.
    freq = labels.mean(axis=1)
    assert np.abs(freq - 13 / 40).max() < 5 * np.sqrt(13 / 40 * 27 / 40 / 20000)


def test_observed_maximum_equals_direct_window_scans(rng):
    cells = build_cells([make_events(4000, rng)], make_config())
    best, per_hist = max_abs_nsigma(cells, cells.is_a, min_entries=25)
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
    labels = exchange_labels(
        cells.n_events, int(cells.is_a.sum()), 3, np.random.default_rng(5)
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
