"""``asymscan.samples.emu``: Poisson yields, draws without replacement, refusals."""

from __future__ import annotations

import logging
import os

import numpy as np
import pytest

from asymscan.errors import ConfigError, DataError
from asymscan.generate import BACKGROUNDS, COLUMNS
from asymscan.samples import (
    REALISTIC,
    Detector,
    EfficiencyMap,
    _pools,
    available_lumi,
    emu,
    pool_summary,
)
from asymscan.samples.detector import ABSETA_EDGES, EFFICIENCY_COLUMNS, PT_EDGES

TAUMU = ("ggh_taumu", "vbfh_taumu")
TAUE = ("ggh_taue", "vbfh_taue")


def _counts(data):
    names, counts = np.unique(data["process"], return_counts=True)
    return dict(zip(names.tolist(), counts.tolist(), strict=True))


def _sigma(names):
    return sum(STANDARD_POOLS[n][1] for n in names)


# the pools of the ``standard_pools`` fixture (tests/samples/conftest.py)
STANDARD_POOLS = {
    "ttbar": (4000, 40.0),
    "ww": (2000, 20.0),
    "dy_tautau": (3000, 30.0),
    "ggh_ww": (500, 5.0),
    "vbfh_ww": (200, 2.0),
    "ggh_tautau": (300, 3.0),
    "vbfh_tautau": (100, 1.0),
    "ggh_taumu": (1000, 10.0),
    "vbfh_taumu": (400, 4.0),
    "ggh_taue": (1000, 10.0),
    "vbfh_taue": (400, 4.0),
}


@pytest.mark.parametrize("lumi", [10.0, 40.0])
def test_yield_scales_with_luminosity(standard_pools, lumi):
    n_draws = 100
    totals = np.array(
        [len(emu(lumi, rng=i, pools=standard_pools)["process"]) for i in range(n_draws)]
    )
    expected = _sigma(BACKGROUNDS) * lumi
    assert abs(totals.mean() - expected) < 4 * np.sqrt(expected / n_draws)
    # Poisson: variance equal to the mean (chi2 with 99 dof, loose bounds)
    assert 0.6 < totals.var(ddof=1) / expected < 1.5


@pytest.mark.parametrize("br", [0.2, 0.8])
def test_signal_yield_scales_with_branching_ratio(standard_pools, br):
    n_draws, lumi = 100, 50.0
    signal = []
    for i in range(n_draws):
        counts = _counts(emu(lumi, "taumu", br, rng=i, pools=standard_pools))
        signal.append(sum(counts.get(n, 0) for n in TAUMU))
    expected = _sigma(TAUMU) * lumi * br
    assert abs(np.mean(signal) - expected) < 4 * np.sqrt(expected / n_draws)


def test_no_event_is_drawn_twice(standard_pools, caplog):
    # 99 % of every pool's luminosity: the Poisson draw often exceeds a pool and is capped
    with caplog.at_level(logging.INFO, logger="asymscan.samples.emu"):
        for seed in range(5):
            data = emu(99.0, "taumu", 0.99, rng=seed, pools=standard_pools)
            keys = np.rec.fromarrays([data["process"], data["shard"], data["event"]])
            assert len(np.unique(keys)) == len(keys)
            counts = _counts(data)
            for name, n in counts.items():
                assert n <= STANDARD_POOLS[name][0]
    assert "taking the whole pool" in caplog.text


def test_rows_are_events_of_their_pool(standard_pools):
    data = emu(30.0, ("taumu", "taue"), 0.5, rng=3, pools=standard_pools, shuffle=False)
    assert set(data) == {"process", "shard", *COLUMNS}
    lengths = {len(v) for v in data.values()}
    assert len(lengths) == 1
    # unshuffled: grouped by pool, backgrounds first, each pool's events in file order
    order = list(dict.fromkeys(data["process"].tolist()))
    assert order == [*BACKGROUNDS, *TAUMU, *TAUE]
    ttbar = data["process"] == "ttbar"
    assert np.all(np.diff(data["shard"][ttbar] * 10**6 + data["event"][ttbar]) > 0)


def test_same_seed_same_sample(standard_pools):
    a = emu(20.0, "taumu", 0.1, rng=7, pools=standard_pools)
    b = emu(20.0, "taumu", 0.1, rng=np.random.default_rng(7), pools=standard_pools)
    c = emu(20.0, "taumu", 0.1, rng=8, pools=standard_pools)
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert len(a["event"]) != len(c["event"]) or not np.array_equal(
        a["event"], c["event"]
    )


@pytest.mark.parametrize(
    ("signal", "pools"),
    [
        (None, ()),
        ("taumu", TAUMU),
        ("taue", TAUE),
        (("taumu", "taue"), TAUMU + TAUE),
    ],
)
def test_signal_selection(standard_pools, signal, pools):
    br = 0.0 if signal is None else 0.5
    counts = _counts(emu(30.0, signal, br, rng=1, pools=standard_pools))
    assert set(counts) == {*BACKGROUNDS, *pools}


def test_zero_branching_ratio_draws_no_signal(standard_pools):
    counts = _counts(emu(30.0, "taumu", 0.0, rng=1, pools=standard_pools))
    assert set(counts) == set(BACKGROUNDS)


def test_columns_subset(standard_pools):
    data = emu(10.0, rng=1, pools=standard_pools, columns=["m_coll", "lead_flavour"])
    assert set(data) == {"process", "shard", "event", "m_coll", "lead_flavour"}
    with pytest.raises(ConfigError, match="unknown column"):
        emu(10.0, rng=1, pools=standard_pools, columns=["m_colll"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lumi": -1.0}, "lumi must be >= 0"),
        ({"signal": "taumu", "branching_ratio": 1.5}, r"\[0, 1\]"),
        ({"branching_ratio": 0.1}, "without a signal"),
        ({"signal": "tautau", "branching_ratio": 0.1}, "unknown signal 'tautau'"),
    ],
)
def test_bad_arguments(standard_pools, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        emu(pools=standard_pools, **kwargs)


def test_refuses_too_large_luminosity(standard_pools):
    with pytest.raises(DataError) as err:
        emu(101.0, pools=standard_pools)
    msg = str(err.value)
    assert "pool 'ttbar' has 4000 events but 4040.0 are expected at 101 fb^-1" in msg
    assert "at most 100 fb^-1" in msg
    assert "never drawn twice" in msg
    assert emu(100.0, rng=1, pools=standard_pools)  # the limit itself is served


def test_refuses_too_large_branching_ratio(tmp_path, standard_pools, pool_writer):
    for name in BACKGROUNDS:
        os.symlink(standard_pools / f"{name}.parquet", tmp_path / f"{name}.parquet")
    pool_writer(tmp_path, "ggh_taumu", 100, 10.0)  # 10 fb^-1 at BR = 1
    pool_writer(tmp_path, "vbfh_taumu", 400, 4.0)
    emu(20.0, "taumu", 0.5, rng=1, pools=tmp_path)
    with pytest.raises(DataError) as err:
        emu(20.0, "taumu", 0.8, rng=1, pools=tmp_path)
    msg = str(err.value)
    assert "pool 'ggh_taumu' has 100 events but 160.0 are expected" in msg
    assert "BR = 0.8" in msg
    assert "at most 12.5 fb^-1 at BR = 0.8, or BR <= 0.5 at 20 fb^-1" in msg
    assert "vbfh_taumu" not in msg
    assert available_lumi(tmp_path, "taumu", 0.8) == pytest.approx(12.5)
    assert available_lumi(tmp_path) == pytest.approx(100.0)


def test_missing_pool(tmp_path, standard_pools):
    os.symlink(standard_pools / "ttbar.parquet", tmp_path / "ttbar.parquet")
    with pytest.raises(DataError, match=r"lacks the pool file\(s\) ww.parquet"):
        emu(10.0, pools=tmp_path)


def test_no_pools_shipped_yet(tmp_path, monkeypatch):
    monkeypatch.setattr(_pools, "DEFAULT_POOLS", tmp_path / "data")
    with pytest.raises(DataError) as err:
        emu()
    msg = str(err.value)
    assert "shipped sample is not built yet" in msg
    assert "asymscan generate emu --lumi 21" in msg
    assert "asymscan generate assemble" in msg
    with pytest.raises(DataError, match="not a folder of e-mu pools"):
        emu(pools=tmp_path)


def test_pool_summary(standard_pools):
    summary = pool_summary(standard_pools)
    assert {n: (r.events, r.sigma_selected_fb) for n, r in summary.items()} == (
        STANDARD_POOLS
    )
    row = summary["vbfh_tautau"]
    assert (row.kind, row.events, row.sigma_selected_fb) == ("background", 100, 1.0)
    assert row.max_lumi_fb == pytest.approx(100.0)
    # mu + 5 sqrt(mu) = 100  ->  sqrt(mu) = (sqrt(425) - 5) / 2
    assert row.max_lumi_fb_5sigma == pytest.approx(((425**0.5 - 5) / 2) ** 2)
    assert summary["ggh_taumu"].kind == "signal"


def test_rewritten_pool_is_read_again(tmp_path, pool_writer):
    pool_writer(tmp_path, "ttbar", 100, 1.0)
    assert pool_summary(tmp_path)["ttbar"].events == 100
    pool_writer(tmp_path, "ttbar", 300, 1.0)
    assert pool_summary(tmp_path)["ttbar"].events == 300


# --------------------------------------------------------------------------------------------
# detectors (asymscan.samples.detector)


def _keys(data):
    return list(zip(data["process"], data["shard"], data["event"], strict=True))


@pytest.mark.parametrize("kwargs", [{}, {"columns": ["m_coll"], "shuffle": False}])
def test_ideal_detector_is_the_default_draw(standard_pools, kwargs):
    a = emu(20.0, "taumu", 0.1, rng=3, pools=standard_pools, **kwargs)
    b = emu(20.0, "taumu", 0.1, rng=3, pools=standard_pools, detector="ideal", **kwargs)
    c = emu(20.0, "taumu", 0.1, rng=3, pools=standard_pools, detector=None, **kwargs)
    assert list(a) == list(b) == list(c)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
        np.testing.assert_array_equal(a[key], c[key])


def test_realistic_detector_thins_the_same_draw(standard_pools, caplog):
    ideal = emu(20.0, rng=4, pools=standard_pools)
    with caplog.at_level(logging.INFO, logger="asymscan.samples.emu"):
        real = emu(20.0, rng=4, pools=standard_pools, detector="realistic")
    assert list(real) == list(ideal)
    assert set(_keys(real)) < set(_keys(ideal))
    assert len(set(_keys(real))) == len(real["event"])
    assert "detector realistic: kept" in caplog.text
    # the synthetic columns (pT uniform in 0-200 GeV) fall mostly in the high-pT bins
    assert 0.5 < len(real["event"]) / len(ideal["event"]) < 0.95


def test_detector_of_unit_efficiency_keeps_every_event(standard_pools):
    one = np.ones((len(PT_EDGES) - 1, len(ABSETA_EDGES) - 1))
    flat = EfficiencyMap(
        PT_EDGES, ABSETA_EDGES, tuple(map(tuple, one)), tuple(map(tuple, 0 * one))
    )
    perfect = Detector(flat, flat, flat, flat)
    ideal = emu(20.0, rng=5, pools=standard_pools, columns=["m_coll"])
    kept = emu(20.0, rng=5, pools=standard_pools, columns=["m_coll"], detector=perfect)
    assert list(kept) == ["shard", "event", "m_coll", "process"]
    assert sorted(_keys(kept)) == sorted(_keys(ideal))


def test_thinned_yields_stay_poisson(standard_pools):
    n_draws, lumi = 100, 10.0
    totals = np.array(
        [
            len(emu(lumi, rng=i, pools=standard_pools, detector="realistic")["event"])
            for i in range(n_draws)
        ]
    )
    # every pool holds 100 fb^-1: each of its events is drawn with probability 0.1, then
    # kept with probability its efficiency
    infos = _pools.find_pools(standard_pools, BACKGROUNDS)
    eff_sum = 0.0
    for info in infos.values():
        table = _pools.read_table(info, EFFICIENCY_COLUMNS)
        cols = {c: table.column(c).to_numpy() for c in EFFICIENCY_COLUMNS}
        eff_sum += REALISTIC.event_efficiency(cols).sum()
    expected = eff_sum * lumi / 100.0
    assert abs(totals.mean() - expected) < 4 * np.sqrt(expected / n_draws)
    assert 0.6 < totals.var(ddof=1) / expected < 1.5


def test_unknown_detector(standard_pools):
    with pytest.raises(
        ConfigError, match=r"unknown detector 'cms'.*'ideal', 'realistic'"
    ):
        emu(10.0, rng=1, pools=standard_pools, detector="cms")
