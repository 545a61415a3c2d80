"""Scans that must not pass for a result: nothing tested, weights that sum to zero, and the
precision of windows far from one enormous weight."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from click.testing import CliRunner
from scan_factories import make_config, make_events

from asymscan import DataError
from asymscan.calibrate.exchange import histogram_inputs
from asymscan.cli import cli
from asymscan.config import config_from_dict
from asymscan.scan import build_cells, scan_cells
from asymscan.scan.output import write_results
from asymscan.stats.windows import scan_windows


def _config(*, categories=None, observables=None, weight=None, **scan):
    data = make_config(**scan).model_dump()
    if categories is not None:
        data["selections"][0]["categories"] = categories
    if observables is not None:
        data["observables"] = observables
    if weight is not None:
        data["data"]["weight"] = weight
    return config_from_dict(data)


# --------------------------------------------------------------------------------------------
# a scan that tested nothing is an error; histograms with nothing tested are reported


def _no_toys(done, total):
    assert done == 0, "the toys ran"


def test_every_window_below_min_entries_is_an_error(rng, tmp_path):
    cfg = _config(min_entries=1000)
    cells = build_cells([make_events(300, rng)], cfg)
    largest = max(int(h.bins(cells.entries).sum()) for h in cells.histograms)
    with pytest.raises(DataError, match="min_entries = 1000") as err:
        scan_cells(cells, cfg, shard_dir=tmp_path / "shards", progress=_no_toys)
    assert f"{largest} events" in str(err.value)
    assert not (tmp_path / "shards").exists()  # refused before the toys


def test_empty_ranges_are_an_error(rng):
    far = [
        {"name": "m", "bins": 10, "range": [1000.0, 2000.0]},
        {"name": "pt", "bins": 10, "range": [1000.0, 2000.0]},
    ]
    cfg = _config(observables=far, min_entries=0)
    cells = build_cells([make_events(2000, rng)], cfg)
    with pytest.raises(DataError, match="no event") as err:
        scan_cells(cells, cfg)
    assert "range" in str(err.value)


def _tested_1d(entries: np.ndarray, min_entries: float) -> int:
    """Windows [i, j) of a 1-D histogram with at least min_entries events (and some events)."""
    n = entries.size
    return sum(
        1
        for i in range(n)
        for j in range(i + 1, n + 1)
        if entries[i:j].sum() >= max(min_entries, 1)
    )


def test_windows_tested_and_untested_histograms_are_reported(rng, tmp_path, caplog):
    cats = {"0j": "nj == 0", "9j": "nj == 9"}
    cfg = _config(categories=cats, toys=10, min_entries=25)
    cells = build_cells([make_events(4000, rng)], cfg)
    with caplog.at_level(logging.WARNING, logger="asymscan"):
        result = scan_cells(cells, cfg)
    data = json.loads(
        write_results(result, tmp_path, plots=False)["results"].read_text()
    )
    per_hist = {h["index"]: h["windows_tested"] for h in data["histograms"]}
    empty = [h.index for h in cells.histograms if ("jets", "9j") in h.selection]
    for h in cells.histograms:
        if h.ndim == 1:
            assert per_hist[h.index] == _tested_1d(h.bins(cells.entries), 25)
        if h.index in empty:
            assert per_hist[h.index] == 0
        else:
            assert per_hist[h.index] > 0
    assert data["global"]["windows_tested"] == sum(per_hist.values())
    assert [u["histogram"] for u in data["global"]["untested_histograms"]] == empty
    assert [u["observables"] for u in data["global"]["untested_histograms"]] == [
        list(cells.histograms[i].observables) for i in empty
    ]
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("9j" in r.getMessage() for r in warned)


def test_cli_summary_prints_the_windows_tested(rng, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table(make_events(3000, rng)), tmp_path / "events.parquet")
    cfg = tmp_path / "scan.toml"
    cfg.write_text(
        '[data]\npaths = ["events.parquet"]\n[symmetry]\nname = "emu"\n'
        'a = "flav == 11"\nb = "flav == 13"\n'
        '[[observables]]\nname = "m"\nbins = 20\nrange = [30.0, 170.0]\n'
        "[scan]\ntoys = 5\nmin_entries = 10\n"
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["scan", str(cfg), "--out", str(out)])
    assert result.exit_code == 0, result.output
    tested = json.loads((out / "results.json").read_text())["global"]["windows_tested"]
    assert f"{tested} windows tested" in result.output


# --------------------------------------------------------------------------------------------
# weights


def test_all_zero_weights_are_refused(rng):
    cfg = _config(weight="0 * m", toys=5)
    cells = build_cells([make_events(3000, rng)], cfg)
    with pytest.raises(DataError, match=r"data.weight = '0 \* m'") as err:
        scan_cells(cells, cfg, progress=_no_toys)
    assert "total weight" in str(err.value)
    assert f"{cells.counts['a']} event" in str(err.value)


def test_zero_weights_of_one_sample_are_refused(rng):
    cfg = _config(weight="where(flav == 13, 0, 1)", toys=5)
    cells = build_cells([make_events(3000, rng)], cfg)
    with pytest.raises(DataError, match="total weight of B") as err:
        scan_cells(cells, cfg)
    assert f"{cells.counts['b']} event" in str(err.value)


def test_negative_weights_are_allowed_with_a_warning(rng, caplog):
    ev = make_events(3000, rng)
    cfg = _config(weight="where(m > 150, -1, 1)", toys=5)
    cells = build_cells([ev], cfg)
    with caplog.at_level(logging.WARNING, logger="asymscan"):
        result = scan_cells(cells, cfg)
    assert np.isfinite(result.max_abs_nsigma)
    n_negative = int((ev["m"] > 150).sum())
    assert any(
        f"{n_negative} event(s)" in r.getMessage() and "negative" in r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING
    )


def _maps(cells, cfg, *, via_sums: bool):
    """N_sigma of every window of every histogram (size -> map), as the scan computes it:
    from ``differences`` (the observed maximum and the toys) or ``sums`` (the regions)."""
    out = {}
    if via_sums:
        sums = cells.sums(cells.n_a)
    else:
        d, var, _ = cells.differences(cells.n_a)
    for h in cells.histograms:
        if via_sums:
            inputs = histogram_inputs(cells, sums, h)
        else:
            zero = np.zeros(h.shape)
            inputs = {
                "b": h.bins(d),
                "a": zero,
                "var_b": h.bins(var),
                "var_a": zero,
                "entries": h.bins(cells.entries),
            }
        scan = scan_windows(
            ndim=h.ndim, two_sided=True, min_entries=cfg.scan.min_entries, **inputs
        )
        out[h.index] = {
            tuple(s + 1 for s in k): scan.map(tuple(s + 1 for s in k))
            for k in np.ndindex(*h.shape)
        }
    return out


@pytest.mark.parametrize("via_sums", [False, True])
def test_one_huge_weight_leaves_the_other_windows_alone(rng, via_sums):
    """Regression: a weight of 1e30 once changed N_sigma of windows far from its event
    (6.65 -> 4.40) through the precision of the summed B; every window that does not hold
    the event must keep its N_sigma to ~1e-9."""
    ev = make_events(8000, rng, signal=300)
    ev["w"] = np.ones(ev["m"].size)
    heavy = {"flav": 11, "m": 31.0, "pt": 11.0, "nj": 0, "w": 1e30}
    with_heavy = {k: np.append(v, heavy[k]) for k, v in ev.items()}
    cfg = _config(weight="w", min_entries=10)
    cells = build_cells([with_heavy], cfg)
    ref_cells = build_cells([ev], cfg)
    maps = _maps(cells, cfg, via_sums=via_sums)
    ref = _maps(ref_cells, cfg, via_sums=via_sums)
    checked, moved = 0, False
    for h in cells.histograms:
        event_bins = np.argwhere(h.bins(cells.entries - ref_cells.entries) > 0)
        assert len(event_bins) <= 1
        for k, m in maps[h.index].items():
            holds = np.zeros(m.shape, dtype=bool)
            for b in event_bins:  # windows [i, i + k) holding the event's bin b
                sl = tuple(
                    slice(max(0, bj - kj + 1), bj + 1)
                    for bj, kj in zip(b, k, strict=True)
                )
                holds[sl] = True
            np.testing.assert_allclose(
                m[~holds], ref[h.index][k][~holds], rtol=1e-9, atol=1e-9
            )
            checked += int((~holds & np.isfinite(m)).sum())
            if holds.any():  # the event dominates the windows holding it: +-1 per bin
                with np.errstate(invalid="ignore"):
                    moved |= bool((np.abs(m - ref[h.index][k]) > 1e-3)[holds].any())
    assert checked > 1000
    assert moved
    # the reference scan sees the injected signal: the windows compared are not all noise
    assert max(np.nanmax(np.abs(m)) for hm in ref.values() for m in hm.values()) > 5


def test_weights_whose_squares_overflow_are_refused(rng):
    ev = make_events(2000, rng)
    ev["w"] = np.ones(ev["m"].size)
    ev["w"][7] = 1e200
    with pytest.raises(DataError, match=r"data.weight = 'w'.*1 event\(s\)"):
        build_cells([ev], _config(weight="w"))
