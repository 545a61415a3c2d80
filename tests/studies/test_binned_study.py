"""The binned sensitivity study against the paper's closed-form numbers (Sec. 4, ERRATA)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from asymscan import ShapeError, templates
from asymscan.studies import TESTS, binned_study, preset_templates


@pytest.fixture(scope="module")
def flat_study():
    t, s = preset_templates("flat")
    return binned_study(t, s, n_toys=4000, rng=7)


def test_flat_asimov_matches_paper(flat_study):
    z = flat_study.asimov_z
    assert z["q0_L1"] == pytest.approx(5.00, abs=0.01)
    assert z["q0_L2"] == pytest.approx(3.53, abs=0.01)
    assert z["nsigma_window"] == pytest.approx(3.53, abs=0.01)
    # Sec. 4: with flat templates the window N_sigma matches q0^L2 exactly (Figs. 3, 5).
    assert z["nsigma_window"] == pytest.approx(z["q0_L2"], rel=1e-4)
    np.testing.assert_array_equal(flat_study.window, [[11, 17], [11, 17]])


def test_flat_full_histogram_nsigma_closed_form(flat_study):
    # Asimov N_sigma over all 784 bins: 36 bins of (mu/36)/sqrt(2e4 + mu/36), divided by sqrt(784).
    mu = flat_study.mu_inject
    expected = 36 * (mu / 36) / np.sqrt(2e4 + mu / 36) / 28
    assert flat_study.asimov_z["nsigma_full"] == pytest.approx(expected, rel=1e-12)


def test_window_size_curve_peaks_at_signal_size(flat_study):
    sizes, z = flat_study.window_sizes, flat_study.window_z
    assert sizes[np.argmax(z)] == 6
    assert z[5] == pytest.approx(flat_study.asimov_z["nsigma_window"], rel=1e-12)
    # Beyond the signal, each extra ring adds background only: the Asimov N_sigma falls.
    assert np.all(np.diff(z[5:]) < 0)


def test_toy_distributions_are_unit_gaussians(flat_study):
    n = flat_study.settings["n_toys"]
    for key in TESTS:
        for toys, centre in (
            (flat_study.toys_null[key], 0.0),
            (flat_study.toys_signal[key], flat_study.asimov_z[key]),
        ):
            # The asymmetric PDFs are unit Gaussians around the Asimov Z (Sec. 4): 5 sigma bands.
            assert toys.mean() == pytest.approx(centre, abs=5 / np.sqrt(n) + 0.03)
            assert toys.std(ddof=1) == pytest.approx(1.0, abs=5 / np.sqrt(2 * n) + 0.02)


def test_auc_matches_gaussian_shift(flat_study):
    aucs = flat_study.auc()
    for key in TESTS:
        expected = stats.norm.cdf(flat_study.asimov_z[key] / np.sqrt(2))
        assert aucs[key] == pytest.approx(expected, abs=0.01)
    # The paper's Sec. 4 numbers for 5 sigma injected with L1: ~1.0 (L1) and 0.994 (L2).
    assert aucs["q0_L1"] > 0.999
    assert aucs["q0_L2"] == pytest.approx(0.994, abs=0.003)


def test_injection_scan_reproduces_injected_z(flat_study):
    np.testing.assert_allclose(
        flat_study.injected_asimov["q0_L1"], flat_study.injected_z, rtol=1e-9
    )
    assert np.all(np.diff(flat_study.injected_asimov["nsigma_window"]) > 0)


def test_to_dict_is_json_and_complete(flat_study):
    data = json.loads(json.dumps(flat_study.to_dict()))
    assert set(data["toys"]) == set(TESTS)
    assert data["mu_inject"] == pytest.approx(flat_study.mu_inject)
    assert len(data["window_size_scan"]["size"]) == 28
    roc = data["toys"]["q0_L2"]["roc"]
    assert roc["fpr"][0] == 1.0
    assert roc["fpr"][-1] == 0.0
    assert data["window"]["signal_fraction"] == pytest.approx(
        flat_study.mu_inject / (36 * 1e4)
    )


def test_l2_injection_gives_requested_z():
    t, s = templates.flat((10, 10), 400.0), templates.rectangle((10, 10), 3)
    study = binned_study(
        t, s, z_inject=3.0, method="L2", n_toys=200, rng=1, injected_z=[3.0]
    )
    assert study.asimov_z["q0_L2"] == pytest.approx(3.0, rel=1e-9)
    assert study.asimov_z["q0_L1"] > 3.0


def test_one_dimensional_templates():
    t = templates.flat(40, 500.0)
    s = templates.rectangle(40, 5, start=10)
    study = binned_study(t, s, n_toys=300, rng=3)
    np.testing.assert_array_equal(study.window, [[10, 15]])
    assert study.asimov_z["q0_L1"] == pytest.approx(5.0, rel=1e-9)


def test_user_window_and_seed_reproducibility():
    t, s = templates.flat((12, 12), 200.0), templates.rectangle((12, 12), 4)
    one = binned_study(t, s, n_toys=100, rng=5, window=[[4, 8], [4, 8]])
    two = binned_study(t, s, n_toys=100, rng=5, window=[[4, 8], [4, 8]])
    np.testing.assert_array_equal(one.toys_signal["q0_L2"], two.toys_signal["q0_L2"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"window": [[0, 30], [0, 4]]}, "does not fit"),
        ({"window": [[5, 5], [0, 4]]}, "does not fit"),
        ({"injected_z": []}, "injected_z"),
        ({"z_inject": -1.0}, "z must be > 0"),
    ],
)
def test_bad_options(kwargs, match):
    t, s = templates.flat((12, 12), 200.0), templates.rectangle((12, 12), 4)
    with pytest.raises(ValueError, match=match):
        binned_study(t, s, n_toys=10, rng=1, **kwargs)


def test_mismatched_templates():
    with pytest.raises(ShapeError, match="different shapes"):
        binned_study(
            templates.flat((12, 12)), templates.rectangle((10, 10), 3), n_toys=10
        )


def test_unknown_preset():
    with pytest.raises(ValueError, match="unknown preset"):
        preset_templates("nope")
