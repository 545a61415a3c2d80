"""Toys that scale out and merge: runs of the same data and settings add up to one result."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from scan_factories import make_events

from asymscan.cli import cli
from asymscan.config import load_config
from asymscan.errors import ConfigError
from asymscan.stats.significance import toy_p_value

HEAD = """[data]
paths = ["{data}"]
[symmetry]
name = "e-mu vs mu-e"
a = "flav == 11"
b = "flav == 13"
[[selections]]
name = "jets"
categories = {{ "0j" = "nj == 0", "1j" = "nj == 1", "2j+" = "nj >= 2" }}
[[observables]]
name = "m"
bins = 14
range = [30.0, 170.0]
[[observables]]
name = "pt"
bins = 13
range = [10.0, 140.0]
[scan]
dims = [1, 2]
top = 5
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("merge")
    rng = np.random.default_rng(5)
    for name, n in (("events", 6000), ("other", 6000)):
        pq.write_table(
            pa.table(make_events(n, rng, signal=60)), path / f"{name}.parquet"
        )
    return path


def _scan(folder, name: str, *extra: str, data="events", **scan) -> dict:
    settings = {"min_entries": 25, "seed": 1, "toys": 100} | scan
    config = folder / f"{name}.toml"
    body = HEAD.format(data=data + ".parquet")
    config.write_text(body + "".join(f"{k} = {v}\n" for k, v in settings.items()))
    result = CliRunner().invoke(
        cli, ["scan", str(config), "--out", str(folder / name), *extra]
    )
    assert result.exit_code == 0, result.output
    return json.loads((folder / name / "results.json").read_text())


def _merge(folder, out: str, *runs: str):
    args = ["merge", *(str(folder / r) for r in runs), "--out", str(folder / out)]
    return CliRunner().invoke(cli, args)


def _same_scan(a: dict, b: dict) -> None:
    keep = ("max_abs_nsigma", "p_value", "p_value_error", "z", "toys", "windows_tested")
    assert {k: a["global"][k] for k in keep} == {k: b["global"][k] for k in keep}
    assert a["regions"] == b["regions"]


def test_adjacent_ranges_of_one_seed_merge_into_the_single_run(folder):
    single = _scan(folder, "single", toys=200)
    _scan(folder, "first", toys=100)
    _scan(folder, "second", toys=100, first_toy=100)
    result = _merge(folder, "merged", "second", "first")
    assert result.exit_code == 0, result.output
    merged = json.loads((folder / "merged" / "results.json").read_text())
    _same_scan(merged, single)
    assert merged["config"] == single["config"]
    assert [r["first_toy"] for r in merged["global"]["merged_from"]] == [0, 100]
    assert "merged from 2 runs" in merged["global"]["calibration"]


def test_different_seeds_merge_into_all_their_toys(folder):
    one = _scan(folder, "seed1", toys=150)
    _scan(folder, "seed2", toys=100, seed=2)
    result = _merge(folder, "merged_seeds", "seed1", "seed2")
    assert result.exit_code == 0, result.output
    merged = json.loads((folder / "merged_seeds" / "results.json").read_text())
    toys = [
        np.concatenate(
            [np.load(p) for p in sorted((folder / run / "shards").glob("item_*.npy"))]
        )[:n]
        for run, n in (("seed1", 150), ("seed2", 100))
    ]
    p, err = toy_p_value(one["global"]["max_abs_nsigma"], np.concatenate(toys))
    assert merged["global"]["toys"] == 250
    assert merged["global"]["p_value"] == pytest.approx(float(p), rel=1e-12)
    assert merged["global"]["p_value_error"] == pytest.approx(float(err), rel=1e-12)
    top = merged["regions"][0]
    p_top, _ = toy_p_value(abs(top["nsigma"]), np.concatenate(toys))
    assert top["global_p"] == pytest.approx(float(p_top), rel=1e-12)


def test_overlapping_toys_are_refused(folder):
    _scan(folder, "again", toys=100)  # the same seed and toys as "first"
    _scan(folder, "first", "--overwrite", toys=100)
    result = _merge(folder, "refused", "first", "again")
    assert result.exit_code != 0
    assert "both hold toys 0-99 of seed 1" in result.output
    assert not (folder / "refused").exists()


@pytest.mark.parametrize(
    ("change", "differs"),
    [({"data": "other"}, "events"), ({"min_entries": 30}, "configuration")],
)
def test_toys_of_other_data_or_settings_are_refused(folder, change, differs):
    _scan(folder, "base", "--overwrite", toys=100)
    _scan(folder, "changed", "--overwrite", toys=100, seed=7, **change)
    result = _merge(folder, "refused_other", "base", "changed")
    assert result.exit_code != 0
    assert f"their toys belong to different {differs}" in result.output


def test_data_changed_since_the_toys_is_refused(folder, tmp_path):
    rng = np.random.default_rng(9)
    pq.write_table(pa.table(make_events(3000, rng)), tmp_path / "events.parquet")
    for name, seed in (("a", 1), ("b", 2)):
        _scan(tmp_path, name, seed=seed, toys=50)
    pq.write_table(pa.table(make_events(3000, rng)), tmp_path / "events.parquet")
    result = _merge(tmp_path, "merged", "a", "b")
    assert result.exit_code != 0
    assert "made from other events" in result.output


def test_resume_with_more_toys_reuses_the_finished_shards(folder):
    single = _scan(folder, "single300", toys=300)
    _scan(folder, "grow", toys=150)
    shards = folder / "grow" / "shards"
    before = {p.name: p.stat().st_mtime_ns for p in shards.glob("item_*.npy")}
    grown = _scan(folder, "grow", "--resume", toys=300)
    after = {p.name: p.stat().st_mtime_ns for p in shards.glob("item_*.npy")}
    assert len(before) == 3
    assert len(after) == 6
    assert all(after[name] == t for name, t in before.items())  # not run again
    _same_scan(grown, single)


def test_a_run_without_results_is_not_merged(folder, tmp_path):
    (tmp_path / "empty").mkdir()
    result = _merge(tmp_path, "x", "empty", "empty")
    assert result.exit_code != 0
    assert "holds no results.json" in result.output


def test_first_toy_must_start_a_shard(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(HEAD.format(data="e.parquet") + "first_toy = 70\n")
    with pytest.raises(ConfigError, match=r"first_toy must be a multiple .* 50"):
        load_config(config)
