"""The neural-test study: its bookkeeping (percentiles, Z, signal yields), resume and output."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest

pytest.importorskip("torch")

from scipy import stats

from asymscan.checkpoint import CheckpointMismatch
from asymscan.errors import ConfigError, DataError
from asymscan.execution import InlineExecutor
from asymscan.studies import nn as S
from asymscan.toymodel import ideal_significance


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("nn-study")
    calls = []
    study = S.nn_study(S.NN_PRESETS["quick"], out, progress=lambda *a: calls.append(a))
    return out, study, calls


def test_parts_written_and_progress_reported(quick):
    out, study, calls = quick
    for name in S.PARTS:
        saved = json.loads((out / "parts" / name / "item_000000.json").read_text())
        assert saved == json.loads(json.dumps(study.parts[name]))
    labels = {c[0] for c in calls}
    assert "null N_A/N_B=1" in labels
    assert all(done <= total for _, done, total in calls)


def test_null_summary_matches_numpy_and_scipy(quick):
    _, study, _ = quick
    config = S.NN_PRESETS["quick"]
    for (ratio, res), n_toys in zip(
        study.parts["null"]["ratios"].items(), config.null_toys, strict=True
    ):
        t = np.asarray(res["t"])
        assert len(t) == n_toys
        assert np.all(t >= -1e-9)  # f = g = 0 is always a candidate
        assert res["mean"] == pytest.approx(t.mean())
        for q in ("50", "84", "97.5"):
            assert res["percentiles"][q]["observed"] == pytest.approx(
                np.percentile(t, float(q))
            )
            assert res["percentiles"][q]["chi2"] == pytest.approx(
                stats.chi2(12).ppf(float(q) / 100)
            )
        assert res["ks_pvalue"] == pytest.approx(
            stats.kstest(t, stats.chi2(12).cdf).pvalue
        )
        n_a, n_b = S._sizes(config.n_total, float(ratio))
        assert (res["n_a"], res["n_b"]) == (n_a, n_b)


def test_signal_yield_solves_eq30():
    for signal, z in (("S1", 2.0), ("S3", 4.0), ("S2", 3.0)):
        n_s = S._signal_yield(5.5e4, z, signal)
        assert ideal_significance(5.5e4, n_s, signal) == pytest.approx(z, abs=1e-5)


def test_median_z_by_hand():
    null = np.arange(100.0)
    t = np.array([40.0, 60.5, 70.0])
    res = S._median_z(t, null)
    # 39 null values (61..99) are >= 60.5: p = (39 + 1)/(100 + 1)
    assert res["p_value"] == pytest.approx(40 / 101)
    assert res["z"] == pytest.approx(stats.norm.isf(40 / 101))
    assert res["z_chi2"] == pytest.approx(stats.norm.isf(stats.chi2.sf(60.5, 12)))
    assert not res["z_limited_by_toys"]
    assert S._median_z(np.array([500.0]), null)["z_limited_by_toys"]


def test_representative_is_the_median_toy():
    t = np.array([5.0, 1.0, 9.0, 3.0, 7.0])
    assert S._representative(t) == 0
    assert S._representative(np.array([4.0, 1.0, 2.0, 3.0])) == 2


def test_permutation_part_uses_the_representative_data_set(quick):
    _, study, _ = quick
    for d in study.parts["permutation"]["datasets"].values():
        t = np.asarray(d["datasets_t"])
        assert d["representative_t"] == pytest.approx(t[S._representative(t)], abs=1e-8)
        perm = np.asarray(d["permutation"]["t"])
        k = int((perm >= d["representative_t"]).sum())
        assert d["permutation"]["p_value"] == pytest.approx((k + 1) / (len(perm) + 1))


def test_epochs_part(quick):
    _, study, _ = quick
    part = study.parts["epochs"]
    config = S.NN_PRESETS["quick"]
    t_paper = np.asarray(part["t_paper"])
    assert t_paper.shape == (config.epochs_toys, len(config.checkpoints))
    assert part["epochs"] == list(config.checkpoints)
    for i, e in enumerate(part["epochs"]):
        assert part["percentiles"][str(e)]["50"] == pytest.approx(
            np.percentile(t_paper[:, i], 50)
        )
    # the converged fast fit ends at least as high as the short Adam run, toy by toy
    assert np.all(np.asarray(part["t_fast"]) >= t_paper[:, -1] - 1e-3)


def test_resume_reads_finished_parts(quick, tmp_path, monkeypatch):
    out, study, _ = quick
    out = shutil.copytree(
        out, tmp_path / "copy"
    )  # the fixture's parts stay as they are

    def boom(*args, **kwargs):
        raise AssertionError("recomputed a finished part")

    monkeypatch.setattr(S, "_null_part", boom)
    again = S.nn_study(S.NN_PRESETS["quick"], out, parts=["null"], resume=True)
    assert again.parts["null"] == json.loads(json.dumps(study.parts["null"]))
    # another configuration is not resumed from these parts: the error names what differs
    other = S.config_with(S.NN_PRESETS["quick"], seed=99)
    with pytest.raises(CheckpointMismatch, match=r"parts/null.*different: seed\)"):
        S.nn_study(other, out, parts=["null"], resume=True)
    # a change a part does not depend on leaves it resumable
    more = S.config_with(S.NN_PRESETS["quick"], epochs_toys=3)
    assert S.nn_study(more, out, parts=["null"], resume=True).parts["null"]
    # finished parts are never replaced without being asked
    with pytest.raises(DataError, match=r"--resume.*--overwrite"):
        S.nn_study(S.NN_PRESETS["quick"], out, parts=["null"])
    with pytest.raises(AssertionError, match="recomputed"):
        S.nn_study(S.NN_PRESETS["quick"], out, parts=["null"], overwrite=True)


def test_same_numbers_on_an_executor(tmp_path):
    config = S.config_with(
        S.NN_PRESETS["quick"], ratios=(1.0,), null_toys=(5,), batch_size=2
    )
    a = S.nn_study(config, tmp_path / "a", parts=["null"])
    b = S.nn_study(config, tmp_path / "b", parts=["null"], executor=InlineExecutor())
    assert a.parts["null"]["ratios"]["1"]["t"] == b.parts["null"]["ratios"]["1"]["t"]


def test_bad_configuration(tmp_path):
    with pytest.raises(ConfigError, match="unknown study part"):
        S.nn_study(S.NN_PRESETS["quick"], tmp_path, parts=["nul"])
    bad = S.config_with(S.NN_PRESETS["quick"], null_toys=(3,))
    with pytest.raises(ConfigError, match="one count per ratio"):
        S.nn_study(bad, tmp_path, parts=["null"])
    with pytest.raises(ConfigError, match="fast-fit options"):
        S.config_with(S.NN_PRESETS["quick"], fast={"n_start": 3}).options()
    assert math.isclose(S.DOF, 12)


def test_nplm_part_matches_nplm_test(quick):
    from asymscan.nn import nplm_test

    _, study, _ = quick
    config = S.NN_PRESETS["quick"]
    part = study.parts["nplm"]["clipping"]["9"]
    assert set(part) == {f"{r:g}" for r in config.ratios}
    first = part["1"]
    assert first["n"] == config.nplm_toys
    assert first["infinite_fraction"] == 0.0  # clipping keeps t_B(A) finite
    # toy 0 of the first (clipping, ratio) stream, refitted directly with nplm_test
    seed = S._fresh(np.random.SeedSequence(config.seed).spawn(6)[5]).spawn(2)[0]
    child = S._fresh(seed).spawn(config.nplm_toys)[0]
    x_a, x_b = S._pair(
        first["n_a"], first["n_b"], None, 0.0, np.random.default_rng(child)
    )
    opts = config.options()
    direct = nplm_test(
        x_a,
        x_b,
        weight_clipping=9.0,
        n_starts=opts.n_starts,
        prune=opts.prune,
        max_iter=opts.max_iter,
        rng=opts.rng,
    )
    assert first["t"][0] == pytest.approx(direct.t, abs=1e-8)
