"""Reading event columns from Parquet, CSV and ROOT, and the errors for bad files."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyarrow import csv as pacsv

from asymscan import DataError
from asymscan.data.io import iter_events, read_events


@pytest.fixture
def columns():
    rng = np.random.default_rng(3)
    return {"x": rng.normal(size=1000), "n": rng.integers(0, 5, 1000)}


def test_parquet_csv_and_root_agree(tmp_path, columns):
    uproot = pytest.importorskip("uproot")
    pq.write_table(pa.table(columns), tmp_path / "e.parquet")
    pacsv.write_csv(pa.table(columns), tmp_path / "e.csv")
    with uproot.recreate(tmp_path / "e.root") as f:
        f["events"] = columns  # an RNTuple with recent uproot
    with uproot.recreate(tmp_path / "t.root") as f:
        f.mktree("events", {"x": np.float64, "n": np.int64}).extend(columns)
    assert uproot.open(tmp_path / "t.root").classnames() == {"events;1": "TTree"}
    for name in ("e.parquet", "e.csv", "e.root", "t.root"):
        got = read_events([tmp_path / name], ["x", "n"])
        np.testing.assert_allclose(got["x"], columns["x"], rtol=1e-12)
        np.testing.assert_array_equal(got["n"], columns["n"])


def test_chunks_are_bounded_and_files_concatenate(tmp_path, columns):
    pq.write_table(pa.table(columns), tmp_path / "e.parquet")
    # two files: one file listed twice is refused (test_io_defects.py)
    pq.write_table(pa.table(columns), tmp_path / "f.parquet")
    files = [tmp_path / "e.parquet", tmp_path / "f.parquet"]
    chunks = list(iter_events(files, ["x"], chunk_size=300))
    assert max(len(c["x"]) for c in chunks) <= 300
    assert sum(len(c["x"]) for c in chunks) == 2000
    assert set(chunks[0]) == {"x"}  # unrequested columns are never read


def test_unknown_column_suggests_a_close_name(tmp_path, columns):
    pq.write_table(pa.table(columns), tmp_path / "e.parquet")
    with pytest.raises(
        DataError, match=r"unknown column\(s\) 'xx' \(did you mean 'x'\?\)"
    ):
        read_events([tmp_path / "e.parquet"], ["xx"])


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("missing.parquet", None, "does not exist"),
        ("bad.parquet", b"not a parquet file at all", "not a readable Parquet"),
        ("events.txt", b"x\n1\n", "unknown file type"),
        ("bad.root", b"not root", "not a readable ROOT"),
    ],
)
def test_bad_files(tmp_path, name, content, match):
    if name.endswith(".root"):
        pytest.importorskip("uproot")
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError, match=match):
        read_events([path], ["x"])


def test_root_tree_must_be_named_when_ambiguous(tmp_path, columns):
    uproot = pytest.importorskip("uproot")
    with uproot.recreate(tmp_path / "two.root") as f:
        f.mktree("one", {"x": np.float64}).extend({"x": columns["x"]})
        f.mktree("two", {"x": np.float64}).extend({"x": columns["x"]})
    with pytest.raises(DataError, match="name the TTree"):
        read_events([tmp_path / "two.root"], ["x"])
    got = read_events([tmp_path / "two.root"], ["x"], tree="two")
    assert got["x"].size == 1000


def test_non_numeric_column(tmp_path):
    pq.write_table(pa.table({"x": ["a", "b"]}), tmp_path / "s.parquet")
    with pytest.raises(DataError, match="not numeric"):
        read_events([tmp_path / "s.parquet"], ["x"])


def test_no_files():
    with pytest.raises(DataError, match="no input files"):
        read_events([], ["x"])
