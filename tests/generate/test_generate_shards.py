"""Shard files of a long production: written as they finish, read back on resuming."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from asymscan.checkpoint import CheckpointMismatch, read_stamp
from asymscan.cli import cli
from asymscan.errors import ConfigError, DataError
from asymscan.generate import (
    PROCESSES,
    SIGNALS,
    DetectorConfig,
    assemble_pools,
    events_for_lumi,
    generate_emu,
    read_pool,
    round_mantissa,
)
from asymscan.generate.run import shard_path

KW = {"n_events": 60, "seed": 7, "shard_size": 20, "workers": 1}
POOL = "vbfh_tautau"
# timings differ from run to run; everything else must not
_TIMES = ("wall_s", "cpu_s")


def _same_pool(a, b):
    cols_a, meta_a = read_pool(a)
    cols_b, meta_b = read_pool(b)
    assert list(cols_a) == list(cols_b)
    for key in cols_a:
        assert cols_a[key].dtype == cols_b[key].dtype, key
        np.testing.assert_array_equal(cols_a[key], cols_b[key])
    strip = [{k: v for k, v in s.items() if k not in _TIMES} for s in meta_b["shards"]]
    assert [
        {k: v for k, v in s.items() if k not in _TIMES} for s in meta_a["shards"]
    ] == strip
    assert {k: v for k, v in meta_a.items() if k != "shards"} == {
        k: v for k, v in meta_b.items() if k != "shards"
    }


def test_events_for_lumi():
    assert events_for_lumi(PROCESSES["ttbar"], 21) == 1_113_630
    assert events_for_lumi(PROCESSES["ww"], 20, margin=1.05) == 146_580
    assert events_for_lumi(PROCESSES["ggh_taumu"], 21) == 20_000
    assert events_for_lumi(PROCESSES["vbfh_taue"], 1, signal_events=5) == 5
    assert all(PROCESSES[n].planning_sigma_pb is None for n in SIGNALS)
    with pytest.raises(ConfigError, match="lumi_fb"):
        events_for_lumi(PROCESSES["ww"], 0)


def test_cli_sizes_pools_by_luminosity(tmp_path):
    # 0.02 fb^-1 x 13.9 fb = 0.278 -> one event of vbfh_tautau
    args = ["generate", "emu", "--processes", POOL, "--lumi", "0.02"]
    result = CliRunner().invoke(cli, [*args, "--workers", "1", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "vbfh_tautau: 1 events" in result.output
    _, meta = read_pool(tmp_path / f"{POOL}.parquet")
    assert meta["n_generated"] == 1
    both = CliRunner().invoke(cli, [*args, "--events", "5"])
    assert both.exit_code != 0
    assert "not both" in both.output


pytest.importorskip("pythia8mc")
pytest.importorskip("fastjet")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("plain")
    return generate_emu(out, POOL, **KW)[POOL].path


def test_shards_and_resume_give_the_same_pool(tmp_path, reference):
    shards = tmp_path / "shards"
    pool = generate_emu(tmp_path / "a", POOL, shard_dir=shards, **KW)[POOL]
    files = sorted((shards / POOL).glob("item_*"))
    assert files == [shard_path(shards, POOL, i) for i in range(3)]
    stamp = read_stamp(shards / POOL)
    assert stamp["n_shards"] == 3
    assert stamp["pool_events"] == 60
    _same_pool(pool.path, reference)

    # everything read back: no PYTHIA run, the very same file
    again = generate_emu(tmp_path / "b", POOL, shard_dir=shards, resume=True, **KW)
    _same_pool(again[POOL].path, reference)
    assert read_pool(again[POOL].path)[1]["shards"] == read_pool(pool.path)[1]["shards"]

    # one shard lost: regenerated, same pool; two workers now
    shard_path(shards, POOL, 1).unlink()
    kw = KW | {"workers": 2}
    resumed = generate_emu(tmp_path / "c", POOL, shard_dir=shards, resume=True, **kw)
    _same_pool(resumed[POOL].path, reference)
    assert shard_path(shards, POOL, 1).exists()

    # without resume, existing shards are not overwritten
    with pytest.raises(DataError, match=r"3 finished item.*--resume.*--overwrite"):
        generate_emu(tmp_path / "d", POOL, shard_dir=shards, **KW)
    assert all(shard_path(shards, POOL, i).exists() for i in range(3))
    # with overwrite, they are generated again: the same pool
    again = generate_emu(tmp_path / "e", POOL, shard_dir=shards, overwrite=True, **KW)
    _same_pool(again[POOL].path, reference)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"seed": 8}, "seed"),
        ({"shard_size": 30}, "shard_size"),
        ({"n_events": 80}, "pool_events"),
        ({"detector": DetectorConfig.flavour_dependent()}, "detector"),
    ],
)
def test_resume_with_other_settings_is_an_error(tmp_path, change, match):
    shards = tmp_path / "shards"
    kw = KW | {"n_events": 20}
    generate_emu(tmp_path / "a", POOL, shard_dir=shards, **kw)
    with pytest.raises(CheckpointMismatch, match=rf"different: [\w, ]*{match}"):
        generate_emu(tmp_path / "b", POOL, shard_dir=shards, resume=True, **kw | change)


def test_shards_without_their_stamp_are_not_resumed(tmp_path):
    # the stamp lost: what the shards were made from is unknown
    shards = tmp_path / "shards"
    kw = KW | {"n_events": 20}
    generate_emu(tmp_path / "a", POOL, shard_dir=shards, **kw)
    (shards / POOL / "checkpoint.json").unlink()
    with pytest.raises(CheckpointMismatch, match=r"no checkpoint\.json.*--overwrite"):
        generate_emu(tmp_path / "b", POOL, shard_dir=shards, resume=True, **kw)


def test_assemble_skips_incomplete_pools(tmp_path, reference):
    shards = tmp_path / "shards"
    generate_emu(tmp_path / "a", [POOL, "vbfh_ww"], shard_dir=shards, **KW)
    shard_path(shards, "vbfh_ww", 2).unlink()
    out = tmp_path / "assembled"
    result = assemble_pools(shards, out)
    assert set(result.pools) == {POOL}
    assert result.incomplete == {"vbfh_ww": (2, 3)}
    _same_pool(result.pools[POOL].path, reference)
    assert sorted(p.name for p in out.iterdir()) == [f"{POOL}.parquet"]

    cli_out = tmp_path / "cli"
    args = ["generate", "assemble", "--shard-dir", str(shards), "--out", str(cli_out)]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "incomplete, not written: vbfh_ww (2/3 shards)" in res.output
    assert (cli_out / f"{POOL}.parquet").exists()


def test_cli_shard_dir_and_resume(tmp_path):
    shards = tmp_path / "shards"
    args = ["generate", "emu", "--processes", POOL, "--events", "40", "--workers", "1"]
    args += ["--shard-size", "100", "--shard-size", f"{POOL}=20"]
    args += ["--shard-dir", str(shards), "--out", str(tmp_path / "out")]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert len(list((shards / POOL).glob("item_*.parquet"))) == 2
    again = CliRunner().invoke(cli, args)
    assert again.exit_code != 0
    assert "--resume" in again.output
    resumed = CliRunner().invoke(cli, [*args, "--resume"])
    assert resumed.exit_code == 0, resumed.output
    bad = CliRunner().invoke(cli, [*args[:-4], "--shard-size", "zz=3"])
    assert bad.exit_code != 0
    assert "POOL=N" in bad.output


@pytest.mark.parametrize("bits", [8, 14, 22])
def test_round_mantissa_error_bound(bits):
    rng = np.random.default_rng(bits)
    x = (rng.standard_normal(10_000) * 10.0 ** rng.uniform(-3, 4, 10_000)).astype(
        np.float32
    )
    x[:3] = [0.0, -0.0, np.float32(np.finfo(np.float32).max)]
    r = round_mantissa(x, bits)
    assert r.dtype == np.float32
    finite = np.isfinite(r)
    assert finite.all()
    rel = np.abs(r.astype(float) - x) / np.maximum(np.abs(x.astype(float)), 1e-300)
    assert rel.max() <= 2.0 ** -(bits + 1) * (1 + 1e-6)
    # rounding to nearest: the mean relative error is about a quarter of the bound, unbiased
    assert abs(np.mean((r.astype(float) - x) / np.abs(x[3:]).mean())) < 1e-3
    # idempotent, and only the low mantissa bits change
    np.testing.assert_array_equal(round_mantissa(r, bits), r)
    low = r.view(np.uint32) & np.uint32((1 << (23 - bits)) - 1)
    assert np.all(
        low[3:] == 0
    )  # [2]: the largest float, kept rather than rounded to inf
    assert r[2] == x[2]
    ints = np.arange(5, dtype=np.int16)
    assert round_mantissa(ints, bits) is ints


@pytest.mark.parametrize("bits", [7, 23, 14.0, True])
def test_round_mantissa_bad_bits(bits):
    with pytest.raises(ConfigError, match="mantissa_bits"):
        round_mantissa(np.ones(3, np.float32), bits)


def test_assemble_compact_copy(tmp_path, reference):
    shards = tmp_path / "shards"
    generate_emu(tmp_path / "a", [POOL], shard_dir=shards, **KW)
    res = assemble_pools(shards, tmp_path / "compact", mantissa_bits=12)
    cols, meta = read_pool(res.pools[POOL].path)
    ref, ref_meta = read_pool(reference)
    assert meta["float_mantissa_bits"] == 12
    assert {k: v for k, v in meta.items() if k != "float_mantissa_bits"} == ref_meta | {
        "shards": meta["shards"]
    }
    for key, values in ref.items():
        if values.dtype == np.float32:
            np.testing.assert_allclose(cols[key], values, rtol=2.0**-13, atol=0)
        else:
            np.testing.assert_array_equal(cols[key], values)
    import pyarrow.parquet as pq

    column = pq.ParquetFile(res.pools[POOL].path).metadata.row_group(0).column(3)
    assert column.compression == "ZSTD"
