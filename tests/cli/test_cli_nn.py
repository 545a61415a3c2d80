"""``asymscan test``: a neural two-sample test from files, with permutations."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from asymscan.cli import cli

pytest.importorskip("torch")


@pytest.fixture
def samples(tmp_path):
    rng = np.random.default_rng(2)
    a = rng.exponential(size=400)
    b = np.concatenate([rng.exponential(size=400), rng.normal(1.6, 0.16, 120)])
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    pq.write_table(pa.table({"x": a}), tmp_path / "a.parquet")
    pq.write_table(pa.table({"x": b}), tmp_path / "b.parquet")
    return tmp_path


def test_symmetrized_test_with_permutations(samples):
    out = samples / "out"
    result = CliRunner().invoke(
        cli,
        [
            "test",
            str(samples / "a.npy"),
            str(samples / "b.npy"),
            "--permutations",
            "2",
            "--seed",
            "3",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads((out / "test.json").read_text())
    assert data["t"] == pytest.approx(sum(data["parts"].values()))
    assert data["dof"] == 12
    assert len(data["permutation"]["null"]) == 2
    # A strong bump in B: beyond both relabellings, so p = 1/3.
    assert data["permutation"]["p_value"] == pytest.approx(1 / 3)
    assert (out / "test.png").read_bytes()[:4] == b"\x89PNG"


def test_columns_of_tabular_files_and_the_same_statistic(samples):
    runner = CliRunner()
    first = runner.invoke(
        cli,
        [
            "test",
            str(samples / "a.parquet"),
            str(samples / "b.parquet"),
            "--columns",
            "x",
            "--method",
            "delta",
            "--out",
            str(samples / "p"),
        ],
    )
    second = runner.invoke(
        cli,
        [
            "test",
            str(samples / "a.npy"),
            str(samples / "b.npy"),
            "--method",
            "delta",
            "--out",
            str(samples / "n"),
        ],
    )
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    t1 = json.loads((samples / "p" / "test.json").read_text())["t"]
    t2 = json.loads((samples / "n" / "test.json").read_text())["t"]
    assert t1 == pytest.approx(t2, rel=1e-9)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["a.parquet", "b.parquet"], "--columns"),
        (["a.npy", "missing.npy"], "does not exist"),
        (["a.parquet", "b.parquet", "--columns", "y"], "unknown column"),
    ],
)
def test_bad_input(samples, args, match):
    paths = [str(samples / a) if a.endswith((".npy", ".parquet")) else a for a in args]
    result = CliRunner().invoke(cli, ["test", *paths])
    assert result.exit_code != 0
    assert match in result.output
