"""The extrapolated global p-value in the scan's results: beside the toys, for regions too."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
from scan_factories import make_config, make_events

from asymscan.calibrate.tail import extrapolated_p
from asymscan.config import config_from_dict
from asymscan.scan import build_cells, scan_cells
from asymscan.scan.demo import demo_config, demo_events
from asymscan.scan.output import write_results


@pytest.fixture(scope="module")
def signal_scan():
    rng = np.random.default_rng(3)
    cfg = make_config(toys=200, tail_samples=100)
    cells = build_cells([make_events(20000, rng, signal=150)], cfg)
    return scan_cells(cells, cfg)


def test_results_carry_the_extrapolated_p_value(signal_scan, tmp_path):
    g = signal_scan.to_dict()["global"]
    e = g["extrapolated"]
    assert set(e) >= {"p_value", "p_value_error", "z", "method", "bonferroni"}
    assert "Adler, Blanchet & Liu" in e["method"]
    # at the observed maximum
    assert e["threshold"] == g["max_abs_nsigma"]
    assert 0 < e["p_value"] <= e["bonferroni"]
    assert e["p_value_error"] < e["p_value"]
    # beyond the toys: the toy p sits at its floor, the extrapolated one far below it
    assert g["p_value"] == pytest.approx(1 / 201)
    assert e["p_value"] < 1e-3
    assert e["z"] > g["z"]
    paths = write_results(signal_scan, tmp_path, plots=False)
    table = pq.read_table(paths["regions"]).to_pylist()
    assert table[0]["global_p_extrapolated"] == pytest.approx(e["p_value"])


def test_regions_get_it_where_the_toys_do_not_resolve_them(signal_scan):
    toys = signal_scan.toys
    for region in signal_scan.regions:
        above = np.count_nonzero(toys >= abs(region["nsigma"]))
        if above < 10:
            assert region["global_p_extrapolated"] is not None
            assert region["global_p_extrapolated_error"] > 0
        else:
            assert region["global_p_extrapolated"] is None
    top = signal_scan.regions[0]
    assert top["global_p_extrapolated"] == signal_scan.extrapolated.p_value


def test_it_agrees_with_an_independent_call_and_is_reproducible(signal_scan):
    cfg, cells = signal_scan.config, signal_scan.cells
    again = scan_cells(cells, cfg)
    assert again.extrapolated == signal_scan.extrapolated
    # another stream of the same estimator: the same p within the combined errors
    other = extrapolated_p(
        cells, signal_scan.max_abs_nsigma, min_entries=25, n_samples=100, seed=99
    )
    mine = signal_scan.extrapolated
    diff = abs(other.p_value - mine.p_value)
    assert diff < 4 * np.hypot(other.p_value_error, mine.p_value_error)


def test_none_without_samples_and_unavailable_for_normalised_scans(rng):
    events = make_events(4000, rng)
    off = make_config(toys=50, tail_samples=0)
    assert (
        scan_cells(build_cells([events], off), off).to_dict()["global"]["extrapolated"]
        is None
    )
    shapes = make_config(toys=50, normalize="total")
    result = scan_cells(build_cells([events], shapes), shapes)
    e = result.to_dict()["global"]["extrapolated"]
    assert e["p_value"] is None
    assert e["method"].startswith("unavailable: ")
    assert "normalize" in e["method"]
    assert all(r.get("global_p_extrapolated") is None for r in result.regions)


@pytest.mark.slow
@pytest.mark.parametrize("signal", ["taumu", None])
def test_demo(signal):
    """With the signal: a finite Z beyond the toys' reach. Without: toys and extrapolation
    agree within their errors."""
    events = demo_events(lumi=20.0, signal=signal, branching_ratio=0.02, seed=1)
    cfg = config_from_dict(demo_config("events.parquet", toys=1000, seed=1))
    g = scan_cells(build_cells([events], cfg), cfg).to_dict()["global"]
    e = g["extrapolated"]
    if signal:
        assert np.isfinite(e["z"])
        assert e["z"] > g["z"] + 1  # the toys say only Z >= 3.09
        assert e["p_value_error"] < 0.2 * e["p_value"]
    else:
        combined = np.hypot(e["p_value_error"], g["p_value_error"])
        assert abs(e["p_value"] - g["p_value"]) < 3 * combined
