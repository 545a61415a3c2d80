"""Histograms of the scan, filled from per-event cells, against hist fills."""

from __future__ import annotations

import hist
import numpy as np
import pytest
from scan_factories import make_config, make_events

from asymscan import DataError
from asymscan.config import config_from_dict
from asymscan.scan import build_cells, plan_histograms


def test_plan_covers_inclusive_and_every_category():
    hists = plan_histograms(make_config())
    # (inclusive + 3 categories) x (m, pt, m-pt)
    assert len(hists) == 4 * 3
    assert [h.size for h in hists[:3]] == [28, 13, 28 * 13]
    assert hists[1].offset == 28
    assert hists[3].selection == (("jets", "0j"),)


@pytest.mark.parametrize("weighted", [False, True])
def test_observed_histograms_equal_hist_fills(rng, weighted):
    ev = make_events(5000, rng)
    cfg = make_config()
    if weighted:
        ev["w"] = rng.uniform(0.5, 1.5, ev["m"].size)
        cfg = cfg.model_copy(
            update={
                "data": cfg.data.model_copy(
                    update={"weight": __import__("asymscan").data.parse("w")}
                )
            }
        )
    cells = build_cells([ev], cfg)
    obs = cells.observed()
    w = ev.get("w", np.ones(ev["m"].size))
    for h in cells.histograms:
        sel = np.ones(ev["m"].size, dtype=bool)
        for _fam, cat in h.selection:
            sel &= {"0j": ev["nj"] == 0, "1j": ev["nj"] == 1, "2j+": ev["nj"] >= 2}[cat]
        axes = [hist.axis.Regular(len(e) - 1, e[0], e[-1]) for e in h.edges]
        for flav, key in ((11, "a"), (13, "b")):
            ref = hist.Hist(*axes, storage=hist.storage.Weight())
            m = sel & (ev["flav"] == flav)
            ref.fill(*(ev[o][m] for o in h.observables), weight=w[m])
            np.testing.assert_allclose(h.bins(obs[key]), ref.values(), rtol=1e-12)
            if weighted:
                np.testing.assert_allclose(
                    h.bins(obs["var_" + key]), ref.variances(), rtol=1e-12
                )


def test_non_finite_and_out_of_range_are_counted_not_binned(rng):
    ev = make_events(1000, rng)
    ev["m"][:7] = np.nan
    ev["m"][7:10] = np.inf
    ev["m"][10:15] = 500.0
    cells = build_cells([ev], make_config())
    assert cells.counts["non_finite"]["m"] == 10
    assert cells.counts["out_of_range"]["m"] == 5 + int(
        ((ev["m"][15:] < 30) | (ev["m"][15:] >= 170)).sum()
    )
    obs = cells.observed()
    h = cells.histograms[0]
    assert (
        h.bins(obs["a"]).sum() + h.bins(obs["b"]).sum()
        == 1000 - cells.counts["non_finite"]["m"] - cells.counts["out_of_range"]["m"]
    )


def test_chunks_give_the_same_cells(rng):
    ev = make_events(3000, rng)
    whole = build_cells([ev], make_config())
    parts = build_cells(
        [{k: v[:1000] for k, v in ev.items()}, {k: v[1000:] for k, v in ev.items()}],
        make_config(),
    )
    assert (whole.cells != parts.cells).nnz == 0
    np.testing.assert_array_equal(whole.n_a, parts.n_a)
    np.testing.assert_array_equal(whole.multiplicity, parts.multiplicity)


def test_overlapping_samples_are_an_error(rng):
    cfg = config_from_dict(
        {
            **make_config().model_dump(),
            "symmetry": {"name": "x", "a": "nj >= 0", "b": "flav == 13"},
        }
    )
    with pytest.raises(DataError, match=r"both symmetry\.a"):
        build_cells([make_events(100, rng)], cfg)


def test_overlapping_categories_are_an_error(rng):
    data = make_config().model_dump()
    data["selections"] = [
        {"name": "jets", "categories": {"low": "nj <= 1", "high": "nj >= 1"}}
    ]
    with pytest.raises(DataError, match="both categories 'low' and 'high'"):
        build_cells([make_events(500, rng)], config_from_dict(data))


def test_empty_sample_is_an_error(rng):
    ev = make_events(100, rng)
    ev["flav"][:] = 11
    with pytest.raises(DataError, match="sample B 0 event"):
        build_cells([ev], make_config())


def test_unknown_column_is_named(rng):
    ev = make_events(100, rng)
    del ev["pt"]
    with pytest.raises(DataError, match="pt"):
        build_cells([ev], make_config())


def test_work_items_fill_identical_cells(rng, tmp_path):
    from concurrent.futures import ProcessPoolExecutor

    import pyarrow as pa
    import pyarrow.parquet as pq

    from asymscan.data.io import work_items
    from asymscan.scan import fill_cells

    ev = make_events(6000, rng)
    path = tmp_path / "events.parquet"
    pq.write_table(pa.table(ev), path, row_group_size=1000)
    data = make_config().model_dump()
    data["data"]["paths"] = [str(path)]
    cfg = config_from_dict(data)
    reference = build_cells([ev], cfg)
    # Whole row groups of 1000 events, gathered until an item holds >= 2500 events.
    assert [i.part for i in work_items([path], chunk_size=2500)] == [
        (0, 1, 2),
        (3, 4, 5),
    ]
    with ProcessPoolExecutor(2) as pool:
        parallel = fill_cells(cfg, executor=pool, chunk_size=2500)
    serial = fill_cells(cfg, chunk_size=2500)
    for cells in (parallel, serial):
        assert (cells.cells != reference.cells).nnz == 0
        np.testing.assert_array_equal(cells.n_a, reference.n_a)
        assert cells.counts == reference.counts


def test_root_entry_ranges(rng, tmp_path):
    uproot = pytest.importorskip("uproot")
    from asymscan.data.io import read_item, work_items

    ev = make_events(2500, rng)
    with uproot.recreate(tmp_path / "e.root") as f:
        f.mktree("events", {k: v.dtype for k, v in ev.items()}).extend(ev)
    items = work_items([tmp_path / "e.root"], chunk_size=1000)
    assert [i.part for i in items] == [(0, 1000), (1000, 2000), (2000, 2500)]
    got = np.concatenate([read_item(i, ["m"])["m"] for i in items])
    np.testing.assert_array_equal(got, ev["m"])


def test_plan_refuses_more_bins_than_the_limit():
    """A configuration built around validation (model_copy) is still refused when planned,
    before any bin edges are allocated."""
    from asymscan.config import MAX_BINS
    from asymscan.errors import ConfigError

    cfg = make_config(dims=[2])
    big = [o.model_copy(update={"bins": 20_000}) for o in cfg.observables]
    cfg = cfg.model_copy(update={"observables": big})
    with pytest.raises(ConfigError) as info:
        plan_histograms(cfg)
    message = str(info.value)
    # (inclusive + 3 categories) x one 20000 x 20000 histogram each
    assert f"{4 * 20_000 * 20_000:,} bins" in message
    assert f"{MAX_BINS:,}" in message
    assert "[inclusive] m vs pt" in message
    assert f"{20_000 * 20_000:,}" in message


def test_plan_allows_the_limit_itself():
    from asymscan.config import MAX_BINS

    cfg = make_config(dims=[1])
    obs = cfg.observables[0].model_copy(update={"bins": MAX_BINS // 4})
    cfg = cfg.model_copy(update={"observables": [obs]})
    hists = plan_histograms(cfg)
    assert sum(h.size for h in hists) == MAX_BINS
