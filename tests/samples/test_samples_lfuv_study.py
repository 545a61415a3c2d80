"""The LFUV part of the neural-test study (Fig. 5) on synthetic e-mu pools."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from asymscan.errors import DataError
from asymscan.samples import _pools
from asymscan.studies import nn as S


def test_pools_and_bootstrap(standard_pools):
    pools = S.LFUVPools.load(standard_pools)
    # the SM pools (7 backgrounds): e-leading events only, collinear mass in 0.1 TeV
    assert len(pools.sm) == 7
    assert all(np.all((a >= 0) & (a <= 2.0)) for a in pools.sm)
    n_sm, n_sig = pools.expected(10.0, 0.02)
    # standard pools: 101 fb SM in total, about half e-leading; signal 14 fb per unit BR
    assert n_sm == pytest.approx(sum(pools.sm_fb) * 10.0)
    assert 0.4 * 1010 < n_sm < 0.6 * 1010
    assert n_sig == pytest.approx(14.0 * 10.0 * 0.02)
    sizes_a, sizes_b = [], []
    for k in range(400):
        a, b = S._lfuv_pair(pools, 10.0, 0.5, np.random.default_rng(k))
        assert a.shape[1] == b.shape[1] == 1
        sizes_a.append(len(a))
        sizes_b.append(len(b))
    # Poisson sizes: means n_sm + n_signal(BR 0.5) and n_sm, variances equal to the means
    assert np.mean(sizes_b) == pytest.approx(n_sm, rel=4 / np.sqrt(400 * n_sm))
    n_a = n_sm + 14.0 * 10.0 * 0.5
    assert np.mean(sizes_a) == pytest.approx(n_a, rel=4 / np.sqrt(400 * n_a))
    assert np.var(sizes_b, ddof=1) == pytest.approx(n_sm, rel=0.25)


def test_lfuv_part_runs_on_pools(standard_pools, tmp_path):
    config = S.config_with(S.NN_PRESETS["quick"], pools=str(standard_pools))
    study = S.nn_study(config, tmp_path, parts=["lfuv"])
    part = study.parts["lfuv"]
    res = part["lumis"]["1"]
    assert len(res["null_t"]) == config.lfuv_null_toys
    (point,) = res["points"]
    assert point["branching_ratio"] == 0.1
    assert len(point["t"]) == config.lfuv_toys
    assert point["median_t"] == pytest.approx(np.median(point["t"]))


def test_lfuv_without_pools(tmp_path):
    missing = S.config_with(S.NN_PRESETS["quick"], pools=str(tmp_path / "none"))
    with pytest.raises(DataError):
        S.nn_study(missing, tmp_path / "out", parts=["lfuv"])


def test_skipped_lfuv_part_is_run_on_resume_once_pools_exist(
    standard_pools, tmp_path, monkeypatch
):
    config = S.NN_PRESETS["quick"]  # pools=None: the shipped sample
    monkeypatch.setattr(_pools, "DEFAULT_POOLS", tmp_path / "not-built")
    first = S.nn_study(config, tmp_path / "out", parts=["lfuv"])
    assert "no e-mu pools" in first.parts["lfuv"]["skipped"]
    monkeypatch.setattr(_pools, "DEFAULT_POOLS", standard_pools)
    again = S.nn_study(config, tmp_path / "out", parts=["lfuv"], resume=True)
    assert "skipped" not in again.parts["lfuv"]
    assert len(again.parts["lfuv"]["lumis"]["1"]["null_t"]) == config.lfuv_null_toys
