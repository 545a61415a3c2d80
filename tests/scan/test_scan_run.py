"""The scan end to end: signal localisation, executors, resume, outputs, file input."""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from pyarrow import csv as pacsv
from scan_factories import make_config, make_events

from asymscan import DataError
from asymscan.cli import cli
from asymscan.scan import build_cells, run_scan, scan_cells
from asymscan.scan.output import write_results


def test_injected_signal_is_the_top_region(rng):
    result = run_scan(make_config(toys=40), events=make_events(20000, rng, signal=400))
    top = result.regions[0]
    assert top["nsigma"] > 0  # B in excess
    lo, hi = top["window"]["m"]
    assert lo < 125 < hi
    assert hi - lo <= 40
    assert result.p_value[0] == pytest.approx(1 / 41)  # beyond every toy


def test_no_signal_is_compatible_with_a_fluctuation(rng):
    result = run_scan(make_config(toys=40), events=make_events(20000, rng))
    assert result.p_value[0] > 0.05
    assert all(r["global_p"] >= result.p_value[0] for r in result.regions)


def test_process_pool_gives_identical_results(rng):
    cfg = make_config(toys=120)
    cells = build_cells([make_events(5000, rng)], cfg)
    local = scan_cells(cells, cfg)
    with ProcessPoolExecutor(2) as pool:
        pooled = scan_cells(cells, cfg, executor=pool)
    np.testing.assert_array_equal(local.toys, pooled.toys)
    assert local.to_dict()["global"] == pooled.to_dict()["global"]


def test_resume_continues_from_finished_shards(rng, tmp_path):
    cfg = make_config(toys=160)
    cells = build_cells([make_events(3000, rng)], cfg)
    full = scan_cells(cells, cfg, shard_dir=tmp_path)
    (tmp_path / "item_000001.npy").unlink()
    (tmp_path / "item_000003.npy").unlink()
    calls = []
    resumed = scan_cells(
        cells,
        cfg,
        shard_dir=tmp_path,
        resume=True,
        progress=lambda d, n: calls.append(d),
    )
    np.testing.assert_array_equal(full.toys, resumed.toys)
    assert calls[0] == 160 - 50 - 10  # shards 0 and 2 were reused
    other = make_config(toys=160, seed=2)
    with pytest.raises(DataError, match="other data or settings"):
        scan_cells(cells, other, shard_dir=tmp_path, resume=True)


def test_outputs_are_complete(rng, tmp_path):
    result = run_scan(make_config(toys=20), events=make_events(5000, rng))
    paths = write_results(result, tmp_path)
    data = json.loads(paths["results"].read_text())
    assert set(data["global"]) >= {"max_abs_nsigma", "p_value", "z", "toys"}
    assert data["config"]["symmetry"]["a"] == "flav == 11"
    for region in data["regions"]:
        assert set(region) >= {
            "rank",
            "selection",
            "observables",
            "window",
            "nsigma",
            "n_a",
            "n_b",
            "local_p",
            "global_p",
        }
    table = pq.read_table(paths["regions"])
    assert table.num_rows == len(data["regions"])
    assert table.column("nsigma").to_pylist() == [r["nsigma"] for r in data["regions"]]


def _write_config(tmp_path, data_name: str, **scan) -> str:
    text = tmp_path / "scan.toml"
    text.write_text(
        f'[data]\npaths = ["{data_name}"]\n[symmetry]\nname = "emu"\na = "flav == 11"\nb = "flav == 13"\n'
        '[[observables]]\nname = "m"\nbins = 28\nrange = [30.0, 170.0]\n'
        f"[scan]\ntoys = {scan.get('toys', 20)}\n"
    )
    return str(text)


def test_cli_scan_from_parquet_and_csv(rng, tmp_path):
    ev = make_events(4000, rng)
    pq.write_table(pa.table(ev), tmp_path / "events.parquet")
    result = CliRunner().invoke(
        cli,
        [
            "scan",
            _write_config(tmp_path, "events.parquet"),
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 0, result.output
    first = json.loads((tmp_path / "out" / "results.json").read_text())["global"]
    pacsv.write_csv(pa.table(ev), tmp_path / "events.csv")
    result = CliRunner().invoke(
        cli,
        [
            "scan",
            _write_config(tmp_path, "events.csv"),
            "--out",
            str(tmp_path / "out2"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (
        json.loads((tmp_path / "out2" / "results.json").read_text())["global"] == first
    )


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (None, "does not exist"),
        (b"PAR1 this is not parquet", "Parquet"),
        ("columns", "unknown column"),
    ],
)
def test_cli_scan_bad_input_leaves_no_output(rng, tmp_path, content, match):
    path = tmp_path / "events.parquet"
    if content == "columns":
        pq.write_table(pa.table({"flav": [11, 13], "mass": [50.0, 60.0]}), path)
    elif content is not None:
        path.write_bytes(content)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["scan", _write_config(tmp_path, "events.parquet"), "--out", str(out)]
    )
    assert result.exit_code != 0
    assert match in result.output
    assert not out.exists()


def test_cli_scan_unknown_config_key(tmp_path):
    cfg = tmp_path / "scan.toml"
    cfg.write_text('[data]\npaths = ["x.parquet"]\ncolour = "red"\n')
    result = CliRunner().invoke(cli, ["scan", str(cfg), "--out", str(tmp_path / "out")])
    assert result.exit_code != 0
    assert "colour" in result.output
    assert not (tmp_path / "out").exists()


def test_report_ties_plots_and_numbers_together(rng, tmp_path):
    data = make_config(toys=20).model_dump()
    data["symmetry"]["name"] = "<script>alert(1)</script>"
    from asymscan.config import config_from_dict

    result = run_scan(config_from_dict(data), events=make_events(6000, rng, signal=200))
    paths = write_results(result, tmp_path)
    html = paths["report"].read_text()
    assert "<script>" not in html  # names are escaped
    assert "&lt;script&gt;" in html
    for key, path in paths.items():
        if key.startswith("region_") or key == "toys":
            assert path.read_bytes()[:4] == b"\x89PNG"
            assert f'src="{path.name}"' in html
    assert f"{result.regions[0]['nsigma']:+.2f}" in html
    assert len([k for k in paths if k.startswith("region_")]) == min(
        10, len(result.regions)
    )
