"""The demo with a realistic detector, end to end on the shipped sample.

Electrons and muons are found with different efficiencies (:mod:`asymscan.samples.detector`).
Uncorrected, the scan ranks detector artefacts first; corrected with the shipped maps (weights
per label, two systematics), the Standard Model is compatible with the symmetry, the injected
H -> tau mu signal is found, and maps that are wrong within their uncertainties do not fake a
discovery once their systematics are in the scan.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats

from asymscan.cli import cli
from asymscan.config import config_from_dict
from asymscan.samples import realistic_detector
from asymscan.scan import build_cells, scan_cells
from asymscan.scan.demo import demo_config, demo_events

TOYS = 49


def _scan(seed: int, detector, *, systematics: bool = True, toys: int = TOYS):
    """The corrected demo scan of an SM-only draw at 20 fb^-1 seen by ``detector``."""
    events = demo_events(
        lumi=20.0, signal=None, branching_ratio=0.0, seed=seed, detector=detector
    )
    data = demo_config("events.parquet", toys=toys, seed=seed, corrections=True)
    if not systematics:
        data.pop("systematics")
    cfg = config_from_dict(data)
    return scan_cells(build_cells([events], cfg), cfg)


def _demo(tmp_path, *args: str) -> dict:
    out = tmp_path / "demo"
    result = CliRunner().invoke(
        cli, ["demo", "--out", str(out), "--detector", "realistic", *args]
    )
    assert result.exit_code == 0, result.output
    return json.loads((out / "results.json").read_text())


@pytest.mark.slow
def test_corrected_standard_model_gives_uniform_global_p():
    """20 draws of the SM at 20 fb^-1: randomized global p-values (k + U)/(n + 1) are
    uniform. (The draws share most of their events, the pools holding 21 fb^-1, so this
    checks the calibration on this sample rather than on independent experiments.)"""
    rng = np.random.default_rng(5)
    p = []
    for seed in range(100, 120):
        r = _scan(seed, "realistic")
        k = (r.toys >= r.max_abs_nsigma).sum()
        p.append((k + rng.random()) / (r.toys.size + 1))
    assert stats.kstest(p, "uniform").pvalue > 0.01
    assert min(p) > 0.01


@pytest.mark.slow
def test_corrected_demo_finds_the_signal(tmp_path):
    data = _demo(tmp_path)
    top = data["regions"][0]
    lo, hi = top["window"]["m_coll"]
    assert lo <= 125.0 < hi
    assert top["nsigma"] > 5  # B (mu-e) in excess
    assert data["global"]["p_value"] == pytest.approx(1 / 1001)
    assert set(top["systematics"]) == {"electron efficiency", "muon efficiency"}
    assert abs(top["nsigma"]) <= abs(top["nsigma_stat"])
    assert data["corrections"]["weight_a"].startswith("1 / (correction(")
    assert "w_b/(w_a + w_b)" in data["global"]["calibration"]


def test_uncorrected_demo_ranks_detector_artefacts_first(tmp_path):
    """Without corrections the electrons' low-pT inefficiency leaves mu-e (B, soft electron)
    short: the widest lepton-pT windows dominate, far above any fluctuation."""
    data = _demo(tmp_path, "--no-corrections", "--toys", "0")
    top = data["regions"][:3]
    assert all(r["nsigma"] < -7 for r in top)
    assert not any(
        "m_coll" in r["window"] and r["window"]["m_coll"][0] >= 100 for r in top
    )
    assert data["corrections"]["weight_a"] is None


@pytest.mark.slow
def test_maps_wrong_at_low_pt_are_covered_by_their_systematics():
    """The true electron efficiency 1.5 sigma above the map below 25 GeV: corrected with the
    nominal maps only, the residual is found in every draw; with the maps' systematics in the
    scan, the global p-value is not significant (> 0.05) in at least 90% of draws."""
    wrong = realistic_detector({"electron_idiso": 1.5}, max_pt=25.0)
    nominal, with_syst = [], []
    for seed in range(100, 110):
        r = _scan(seed, wrong, systematics=False)
        nominal.append(r.p_value[0])
        assert r.regions[0]["window"]["lep1_pt"][0] < 30.0  # the residual, at low pT
        with_syst.append(_scan(seed, wrong).p_value[0])
    assert np.mean(np.array(nominal) <= 0.05) >= 0.9
    assert np.mean(np.array(with_syst) > 0.05) >= 0.9
