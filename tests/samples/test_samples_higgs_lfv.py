"""The Higgs-LFV templates of Sec. 3 and the ``higgs-lfv`` preset."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from asymscan.cli import cli
from asymscan.errors import DataError
from asymscan.generate import BACKGROUNDS
from asymscan.samples import HIGGS_LFV_AXES, _pools, higgs_lfv_templates
from asymscan.studies import PRESETS, preset_templates

#: background pool -> sigma_selected_fb; all events in the first bin, ttbar outside the axes
SM = {name: float(i + 1) for i, name in enumerate(BACKGROUNDS)}


@pytest.fixture(scope="module")
def lfv_pools(tmp_path_factory, pool_writer):
    out = tmp_path_factory.mktemp("lfv-pools")
    for name, sigma in SM.items():
        m = 200.0 if name == "ttbar" else 32.5
        pool_writer(
            out, name, 50, sigma, n_shards=1, fixed={"m_coll": m, "lep1_pt": 12.5}
        )
    fixed = {
        "ggh_taumu": {"m_coll": 102.5, "lep1_pt": 52.5},  # bin (14, 8)
        "vbfh_taumu": {"m_coll": 122.5, "lep1_pt": 52.5},  # bin (18, 8)
        "ggh_taue": {"m_coll": 62.5, "lep1_pt": 62.5},
        "vbfh_taue": {"m_coll": 62.5, "lep1_pt": 62.5},
    }
    sigma = {"ggh_taumu": 30.0, "vbfh_taumu": 10.0, "ggh_taue": 5.0, "vbfh_taue": 5.0}
    for name, cols in fixed.items():
        # different numbers of events: the weights must use sigma / n, not counts
        n = 40 if name == "ggh_taumu" else 80
        pool_writer(out, name, n, sigma[name], n_shards=1, fixed=cols)
    return out


def test_axes_are_28_by_28_of_5_gev():
    for _col, n, lo, hi, _label in HIGGS_LFV_AXES:
        assert n == 28
        assert (hi - lo) / n == 5.0
    assert [a[0] for a in HIGGS_LFV_AXES] == ["m_coll", "lep1_pt"]


@pytest.mark.parametrize("lumi", [40.0, 10.0])
def test_background_is_half_the_sm_yield_plus_25(lfv_pools, lumi):
    t, _ = higgs_lfv_templates(lfv_pools, lumi=lumi)
    assert t.shape == (28, 28)
    in_range = sum(s for n, s in SM.items() if n != "ttbar")
    assert t[0, 0] == pytest.approx(25.0 + 0.5 * in_range * lumi)
    rest = np.ones_like(t, dtype=bool)
    rest[0, 0] = False
    np.testing.assert_allclose(t[rest], 25.0)


def test_floor_is_configurable(lfv_pools):
    t, _ = higgs_lfv_templates(lfv_pools, floor=0.0)
    assert t.min() == 0.0
    assert t.sum() == pytest.approx(
        0.5 * 40.0 * sum(SM.values()) - 0.5 * 40.0 * SM["ttbar"]
    )


def test_signal_is_taumu_weighted_by_cross_section(lfv_pools):
    _, s = higgs_lfv_templates(lfv_pools)
    assert s.shape == (28, 28)
    assert s.sum() == pytest.approx(1.0)
    assert s[14, 8] == pytest.approx(0.75)  # ggh: 30 fb of 40
    assert s[18, 8] == pytest.approx(0.25)
    assert np.count_nonzero(s) == 2


def test_preset_needs_the_shipped_pools(tmp_path, monkeypatch):
    assert "higgs-lfv" in PRESETS
    monkeypatch.setattr(_pools, "DEFAULT_POOLS", tmp_path)
    with pytest.raises(DataError, match="shipped sample is not built yet"):
        preset_templates("higgs-lfv")
    result = CliRunner().invoke(
        cli, ["study", "binned", "--preset", "higgs-lfv", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 1
    assert "shipped sample is not built yet" in result.output
    assert "asymscan generate emu --lumi 21" in result.output


def test_preset_reads_the_shipped_pools(lfv_pools, monkeypatch):
    monkeypatch.setattr(_pools, "DEFAULT_POOLS", lfv_pools)
    t, s = preset_templates("higgs-lfv")
    t40, s40 = higgs_lfv_templates(lfv_pools, lumi=40.0)
    np.testing.assert_array_equal(t, t40)
    np.testing.assert_array_equal(s, s40)
