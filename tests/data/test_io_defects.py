"""Input lists that would mislead a scan: the same file twice, globs, directories."""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from asymscan.data.io import iter_events, read_events, work_items
from asymscan.errors import ConfigError, DataError


@pytest.fixture
def small(tmp_path):
    """A folder with one 500-event Parquet file, ``small.parquet``."""
    x = np.random.default_rng(5).normal(size=500)
    pq.write_table(pa.table({"x": x}), tmp_path / "small.parquet")
    return tmp_path


def _same_file_spellings(folder):
    """Ways of naming ``folder/small.parquet`` a second time."""
    os.symlink(folder / "small.parquet", folder / "link.parquet")
    return {
        "repeated": str(folder / "small.parquet"),
        "dot": str(folder / "." / "small.parquet"),
        "dotdot": str(folder / ".." / folder.name / "small.parquet"),
        "symlink": str(folder / "link.parquet"),
    }


@pytest.mark.parametrize("spelling", ["repeated", "dot", "dotdot", "symlink"])
def test_the_same_file_twice_is_refused(small, spelling):
    second = _same_file_spellings(small)[spelling]
    first = str(small / "small.parquet")
    for plan in (work_items, lambda p: list(iter_events(p, ["x"]))):
        with pytest.raises(ConfigError, match="same file") as info:
            plan([first, second])
        message = str(info.value)
        assert repr(first) in message
        assert repr(second) in message
        assert "entries 0" in message
        assert "1" in message


def test_the_same_file_twice_relative_to_the_working_folder(small, monkeypatch):
    monkeypatch.chdir(small)
    with pytest.raises(ConfigError, match=r"'small\.parquet'.*'\./small\.parquet'"):
        work_items(["small.parquet", "./small.parquet"])
    with pytest.raises(ConfigError, match="same file"):
        work_items(["small.parquet", str(small / "small.parquet")])


def test_distinct_files_are_read_once_each(small):
    pq.write_table(pa.table({"x": np.zeros(300)}), small / "other.parquet")
    got = read_events([small / "small.parquet", small / "other.parquet"], ["x"])
    assert got["x"].size == 800


@pytest.fixture
def tree(tmp_path):
    """``data/a.parquet`` (10 events), ``data/b.parquet`` (20), ``data/sub/c.parquet`` (30)."""
    (tmp_path / "data" / "sub").mkdir(parents=True)
    for name, n in (("a", 10), ("b", 20), ("sub/c", 30)):
        pq.write_table(
            pa.table({"x": np.full(n, 1.0)}), tmp_path / f"data/{name}.parquet"
        )
    return tmp_path


def test_globs_are_expanded_sorted(tree):
    items = work_items([str(tree / "data" / "*.parquet")])
    assert [os.path.basename(i.path) for i in items] == ["a.parquet", "b.parquet"]
    assert read_events([tree / "data" / "*.parquet"], ["x"])["x"].size == 30


def test_recursive_globs(tree):
    items = work_items([str(tree / "data" / "**" / "*.parquet")])
    assert [os.path.relpath(i.path, tree) for i in items] == [
        "data/a.parquet",
        "data/b.parquet",
        "data/sub/c.parquet",
    ]


def test_a_glob_matching_nothing_names_the_pattern(tree):
    pattern = str(tree / "data" / "*.root")
    with pytest.raises(DataError, match="matches no file") as info:
        work_items([pattern])
    assert repr(pattern) in str(info.value)


def test_duplicates_are_found_after_glob_expansion(tree):
    pattern = str(tree / "data" / "*.parquet")
    single = str(tree / "data" / "b.parquet")
    with pytest.raises(ConfigError, match="same file") as info:
        work_items([pattern, single])
    assert repr(pattern) in str(info.value)
    assert repr(single) in str(info.value)


def test_a_directory_is_not_reported_missing(tree):
    folder = str(tree / "data")
    with pytest.raises(DataError) as info:
        work_items([folder])
    message = str(info.value)
    assert "does not exist" not in message
    assert "is a directory" in message
    assert f"{folder}/*.parquet" in message
