"""``asymscan test``: problems of the samples are reported with the files the user gave,
never with the library's argument names (x_a, x_b, w_a, ...)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from asymscan.cli import cli

pytest.importorskip("torch")

LIBRARY_NAMES = ("x_a", "x_b", "x_data", "x_ref", "w_a", "w_b", "w_data", "w_ref")


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(4)
    good = rng.exponential(size=200)
    pq.write_table(pa.table({"x": good, "w": np.ones(200)}), tmp_path / "B.parquet")
    np.save(tmp_path / "B.npy", good)
    return tmp_path


def run(folder, a, b="B.parquet", *options):
    result = CliRunner().invoke(
        cli, ["test", str(folder / a), str(folder / b), *options]
    )
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        result.exception
    )
    for name in LIBRARY_NAMES:
        assert name not in result.output, result.output
    return " ".join(result.output.split())  # rich/click may wrap long lines


@pytest.mark.parametrize("method", ["symmetrized", "delta", "nplm"])
def test_an_empty_file_is_named(folder, method):
    pq.write_table(pa.table({"x": np.zeros(0)}), folder / "A.parquet")
    out = run(folder, "A.parquet", "B.parquet", "--columns", "x", "--method", method)
    assert "A.parquet has no events" in out


def test_a_single_event_is_named(folder):
    pq.write_table(pa.table({"x": np.ones(1)}), folder / "A.parquet")
    out = run(folder, "A.parquet", "B.parquet", "--columns", "x")
    assert "A.parquet has 1 event" in out
    assert "at least 2" in out


def test_nan_values_name_the_file_and_column(folder):
    x = np.ones(50)
    x[[3, 7]] = np.nan
    pq.write_table(pa.table({"x": x}), folder / "A.parquet")
    out = run(folder, "B.parquet", "A.parquet", "--columns", "x")
    assert "A.parquet" in out
    assert "column 'x'" in out
    assert "2 NaN or infinite value(s)" in out
    assert "event 3" in out


def test_nan_values_of_a_npy_array_name_the_file(folder):
    x = np.ones((50, 2))
    x[5, 1] = np.inf
    np.save(folder / "A.npy", x)
    np.save(folder / "B2.npy", np.ones((50, 2)))
    out = run(folder, "A.npy", "B2.npy")
    assert "A.npy" in out
    assert "observable 1" in out
    assert "event 5" in out


def test_a_npy_array_of_the_wrong_shape_is_named(folder):
    np.save(folder / "A.npy", np.ones((4, 3, 2)))
    out = run(folder, "A.npy", "B.npy")
    assert "A.npy" in out
    assert "(4, 3, 2)" in out


def test_a_npy_array_that_is_not_numbers_is_named(folder):
    np.save(folder / "A.npy", np.array(["a", "b", "c"]))
    out = run(folder, "A.npy", "B.npy")
    assert "A.npy" in out
    assert "numbers" in out


def test_different_numbers_of_observables_name_both_files(folder):
    np.save(folder / "A.npy", np.ones((50, 2)))
    out = run(folder, "A.npy", "B.npy")
    assert "A.npy has 2 observables" in out
    assert "B.npy has 1" in out


def test_negative_label_independent_weights_name_the_file(folder):
    w = np.ones(50)
    w[4] = -2.0
    pq.write_table(pa.table({"x": np.ones(50), "w": w}), folder / "A.parquet")
    out = run(
        folder,
        "A.parquet",
        "B.parquet",
        "--columns",
        "x",
        "--weight-a",
        "w",
        "--weight-b",
        "w",
    )
    assert "A.parquet" in out
    assert "--weight-a" in out
    assert "negative" in out
    assert "event 4" in out


def test_weights_summing_to_zero_name_the_file(folder):
    pq.write_table(
        pa.table({"x": np.ones(50), "w": np.zeros(50)}), folder / "A.parquet"
    )
    out = run(
        folder,
        "B.parquet",
        "A.parquet",
        "--columns",
        "x",
        "--weight-a",
        "w",
        "--weight-b",
        "w",
    )
    assert "A.parquet" in out
    # A.parquet is the second sample: its weight is --weight-b
    assert "--weight-b" in out
    assert "sum to 0" in out
