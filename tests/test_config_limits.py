"""Configurations that would mislead or exhaust a scan: one file listed twice, globs, and
more bins than a scan can hold."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import asymscan.config
from asymscan.config import load_config
from asymscan.errors import ConfigError

CONFIG = """\
[data]
paths = {paths}

[symmetry]
name = "e-mu vs mu-e"
a = "flav == 11"
b = "flav == 13"

[[selections]]
name = "jets"
categories = {{ "0j" = "nj == 0", "1j" = "nj >= 1" }}

[[observables]]
name = "m"
bins = {bins_m}
range = [0.0, 200.0]

[[observables]]
name = "pt"
bins = {bins_pt}
range = [0.0, 100.0]

[scan]
dims = {dims}
"""


def write_config(
    folder: Path,
    paths: str = '["small.parquet"]',
    *,
    bins_m: int = 20,
    bins_pt: int = 10,
    dims: str = "[1, 2]",
) -> Path:
    text = CONFIG.format(paths=paths, bins_m=bins_m, bins_pt=bins_pt, dims=dims)
    path = folder / "scan.toml"
    path.write_text(text)
    return path


@pytest.fixture
def folder(tmp_path):
    """A folder with ``small.parquet`` and ``data/{a,b}.parquet``."""
    table = pa.table({"flav": np.array([11, 13]), "m": np.ones(2), "nj": np.zeros(2)})
    pq.write_table(table, tmp_path / "small.parquet")
    (tmp_path / "data").mkdir()
    for name in ("a", "b"):
        pq.write_table(table, tmp_path / "data" / f"{name}.parquet")
    return tmp_path


# --------------------------------------------------------------------------------------------
# the same file twice


@pytest.mark.parametrize(
    "second",
    [
        "small.parquet",
        "./small.parquet",
        "ABSOLUTE",
        "link.parquet",
        "data/../small.parquet",
    ],
)
def test_the_same_file_twice_is_refused(folder, second):
    os.symlink(folder / "small.parquet", folder / "link.parquet")
    if second == "ABSOLUTE":
        second = str(folder / "small.parquet")
    path = write_config(folder, f'["small.parquet", "{second}"]')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "data.paths" in message
    assert "same file" in message
    assert "'small.parquet'" in message
    assert repr(second) in message


def test_missing_files_are_not_an_error_at_validation(folder):
    cfg = load_config(write_config(folder, '["later.parquet", "./later2.parquet"]'))
    assert cfg.data.paths == [folder / "later.parquet", folder / "later2.parquet"]


def test_globs_are_kept_and_checked_for_duplicates(folder):
    cfg = load_config(write_config(folder, '["data/*.parquet"]'))
    assert cfg.data.paths == [folder / "data" / "*.parquet"]
    with pytest.raises(ConfigError, match="same file") as info:
        load_config(write_config(folder, '["data/*.parquet", "data/a.parquet"]'))
    assert "'data/*.parquet'" in str(info.value)
    assert "'data/a.parquet'" in str(info.value)


# --------------------------------------------------------------------------------------------
# the number of bins


def test_max_bins_is_documented():
    assert asymscan.config.MAX_BINS == 50_000_000
    assert "MAX_BINS" in asymscan.config.__all__


def test_one_huge_observable_is_refused(folder):
    with pytest.raises(ConfigError) as info:
        load_config(write_config(folder, bins_m=100_000_000, dims="[1]"))
    message = str(info.value)
    assert "observables[0].bins" in message
    assert "100,000,000" in message
    assert "50,000,000" in message


def test_a_huge_2d_product_is_refused(folder):
    with pytest.raises(ConfigError) as info:
        load_config(write_config(folder, bins_m=20_000, bins_pt=20_000, dims="[2]"))
    message = str(info.value)
    # (inclusive + 2 categories) x one 20000 x 20000 histogram
    assert f"{3 * 20_000 * 20_000:,}" in message
    assert "50,000,000" in message
    assert "m vs pt" in message
    assert f"{20_000 * 20_000:,}" in message


def test_a_large_but_allowed_scan_loads(folder):
    cfg = load_config(write_config(folder, bins_m=4000, bins_pt=4000, dims="[1, 2]"))
    assert cfg.observables[0].bins == 4000
