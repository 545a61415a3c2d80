"""Reading event columns from Parquet, CSV and ROOT files, in chunks of bounded size.

Only the columns an analysis reads are loaded. Every problem (a missing file, a corrupt file,
an unknown column, a missing tree) raises a :class:`~asymscan.errors.DataError` that names
the file and what was expected.

Input paths may be glob patterns (``data/*.parquet``, ``data/**/*.root``), expanded in sorted
order (:func:`expand_paths`). One file named twice (the same path, another spelling of it, a
symbolic link, or a pattern matching a file listed too) is refused with a
:class:`~asymscan.errors.ConfigError`: its events would be counted twice.
"""

from __future__ import annotations

import difflib
import glob
import itertools
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .._optional import require
from ..errors import ConfigError, DataError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = (
    "SUFFIXES",
    "InputFile",
    "WorkItem",
    "check_distinct",
    "expand_paths",
    "iter_events",
    "read_events",
    "read_item",
    "work_items",
)

#: File types understood, by suffix.
SUFFIXES = (".parquet", ".pq", ".csv", ".root")

Columns = dict[str, np.ndarray]


def _missing(path: Path, wanted: Iterable[str], available: Iterable[str]) -> None:
    available = list(available)
    missing = sorted(set(wanted) - set(available))
    if missing:
        hints = []
        for name in missing:
            close = difflib.get_close_matches(name, available, n=1)
            hints.append(
                f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
            )
        msg = (
            f"{path}: unknown column(s) {', '.join(hints)}; "
            f"the file has {', '.join(sorted(available)) or 'no columns'}"
        )
        raise DataError(msg)


def _as_numpy(values: Iterable, name: str, path: Path) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype == object or array.dtype.kind in "USV":
        msg = f"{path}: column {name!r} is not numeric (dtype {array.dtype})"
        raise DataError(msg)
    return array


def _parquet(path: Path, columns: list[str], chunk_size: int) -> Iterator[Columns]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        handle = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as err:
        msg = f"{path}: not a readable Parquet file ({err})"
        raise DataError(msg) from err
    _missing(path, columns, handle.schema_arrow.names)
    batches = handle.iter_batches(batch_size=chunk_size, columns=columns)
    yield from _arrow_batches(batches, columns, path, "corrupt Parquet data")


def _csv(path: Path, columns: list[str], chunk_size: int) -> Iterator[Columns]:
    import pyarrow as pa
    from pyarrow import csv

    try:
        reader = csv.open_csv(
            path, read_options=csv.ReadOptions(block_size=max(1 << 20, 64 * chunk_size))
        )
    except (pa.ArrowInvalid, OSError) as err:
        msg = f"{path}: not a readable CSV file ({err})"
        raise DataError(msg) from err
    _missing(path, columns, reader.schema.names)
    yield from _arrow_batches(reader, columns, path, "malformed CSV data")


def _arrow_batches(
    batches: Iterable, columns: list[str], path: Path, problem: str
) -> Iterator[Columns]:
    """numpy columns of Arrow record batches; read errors name the file."""
    import pyarrow as pa

    try:
        for batch in batches:
            yield {
                c: _as_numpy(batch.column(c).to_numpy(zero_copy_only=False), c, path)
                for c in columns
            }
    except (pa.ArrowInvalid, OSError) as err:
        msg = f"{path}: {problem} ({err})"
        raise DataError(msg) from err


def _open_root(path: Path):
    uproot = require("uproot")
    try:
        return uproot.open(path)
    except Exception as err:  # uproot raises many types for unreadable files
        msg = f"{path}: not a readable ROOT file ({err})"
        raise DataError(msg) from err


def _tree_name(handle, path: Path, tree: str | None) -> str:
    trees = [
        key.split(";")[0]
        for key, cls in handle.classnames().items()
        if cls.startswith("TTree") or cls.endswith("RNTuple")
    ]
    name = tree or (trees[0] if len(trees) == 1 else None)
    if name is None or name not in trees:
        msg = f"{path}: name the TTree to read (data.tree); the file has {trees or 'none'}"
        raise DataError(msg)
    return name


def _root(
    path: Path, columns: list[str], chunk_size: int, tree: str | None
) -> Iterator[Columns]:
    with _open_root(path) as handle:
        ttree = handle[_tree_name(handle, path, tree)]
        _missing(path, columns, ttree.keys())
        for chunk in ttree.iterate(columns, step_size=chunk_size, library="np"):
            yield {c: _as_numpy(chunk[c], c, path) for c in columns}


_GLOB_CHARS = re.compile(r"[*?[]")


@dataclass(frozen=True)
class InputFile:
    """One input file, and the entry of the input list it comes from.

    ``entry`` is the path or glob pattern as given and ``index`` its position in the list;
    ``path`` is the file (a match of the pattern for globs).
    """

    index: int
    entry: str
    path: Path

    def describe(self) -> str:
        """The entry's index and text as given, and for a pattern the file it matched."""
        text = f"{self.index} ({self.entry!r}"
        if _is_glob(self.entry) and str(self.path) != self.entry:
            text += f", matching {str(self.path)!r}"
        return text + ")"


def _is_glob(entry: str) -> bool:
    return _GLOB_CHARS.search(entry) is not None


def _matches(pattern: str) -> list[Path]:
    """The files (not folders) a glob pattern matches, sorted; ``**`` matches any depth."""
    return [
        Path(m) for m in sorted(glob.glob(pattern, recursive=True)) if os.path.isfile(m)
    ]


def expand_paths(
    paths: Iterable[str | os.PathLike[str]], *, missing_ok: bool = False
) -> list[InputFile]:
    """The input files of ``paths``, glob patterns expanded.

    Parameters
    ----------
    paths
        Files, or glob patterns (``*``, ``?``, ``[...]``, and ``**`` for any number of
        folders) expanded with :func:`glob.glob` in sorted order. A path that exists as
        written is taken literally even if it contains those characters; ``~`` is expanded.
    missing_ok
        False: a pattern that matches no file is a :class:`~asymscan.errors.DataError`
        naming it. True: it gives no files (to check a list before the files exist).

    Returns
    -------
    list of InputFile
        The files in order, each with the entry it comes from.
    """
    out: list[InputFile] = []
    for index, raw in enumerate(paths):
        entry = os.fspath(raw)
        path = Path(entry).expanduser()
        if not _is_glob(entry) or path.exists():
            out.append(InputFile(index, entry, path))
            continue
        found = _matches(str(path))
        if not found and not missing_ok:
            msg = (
                f"the pattern {entry!r} matches no file; check the folder and the "
                f"extension (files read: {', '.join(SUFFIXES)})"
            )
            raise DataError(msg)
        out += [InputFile(index, entry, p) for p in found]
    return out


def check_distinct(files: Sequence[InputFile]) -> None:
    """Refuse a file listed twice: its events would be read, and counted, twice.

    Two entries name the same file when they are the same path, other spellings of it
    (``./f.parquet``, the absolute path), symbolic links to it, or glob patterns matching it:
    compared by device and inode (:func:`os.stat`). Entries that do not exist are skipped.

    Raises
    ------
    ConfigError
        Naming both entries and the file.
    """
    seen: dict[tuple[int, int], InputFile] = {}
    for file in files:
        try:
            stat = file.path.stat()
        except OSError:
            continue
        key = (stat.st_dev, stat.st_ino)
        first = seen.setdefault(key, file)
        if first is not file:
            msg = (
                f"entries {first.describe()} and {file.describe()} are the same file "
                f"({str(file.path.resolve())!r}); list each input file once, otherwise "
                "its events are read and counted twice"
            )
            raise ConfigError(msg)


def _suggested_pattern(folder: Path, entry: str) -> str:
    """A glob for the files of ``folder``: of its most frequent known type, else Parquet."""
    suffixes = [
        p.suffix.lower() for p in folder.iterdir() if p.suffix.lower() in SUFFIXES
    ]
    suffix = max(sorted(set(suffixes)), key=suffixes.count) if suffixes else ".parquet"
    return f"{entry.rstrip('/' + os.sep) or entry}/*{suffix}"


def _checked(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The input files, globs expanded: each must exist, be a file of a known type, and be
    listed once."""
    files = expand_paths(paths)
    if not files:
        msg = "no input files given"
        raise DataError(msg)
    for file in files:
        path = file.path
        if path.is_dir():
            msg = (
                f"input path {file.entry!r} is a directory, not a file; to read the files "
                f"in it, give a glob pattern such as {_suggested_pattern(path, file.entry)!r}"
            )
            raise DataError(msg)
        if not path.is_file():
            msg = f"input file {file.entry!r} does not exist"
            raise DataError(msg)
        if path.suffix.lower() not in SUFFIXES:
            msg = f"{path}: unknown file type {path.suffix!r}; expected one of {', '.join(SUFFIXES)}"
            raise DataError(msg)
    check_distinct(files)
    return [f.path for f in files]


def iter_events(
    paths: Iterable[str | os.PathLike[str]],
    columns: Iterable[str],
    *,
    tree: str | None = None,
    chunk_size: int = 1_000_000,
) -> Iterator[Columns]:
    """Yield dictionaries of numpy columns, at most ``chunk_size`` events each, file after file.

    ROOT files may hold TTrees or RNTuples (uproot's default output since 5.6).

    Parameters
    ----------
    paths
        Parquet (``.parquet``/``.pq``), CSV (``.csv``) or ROOT (``.root``, needs
        ``asymscan[root]``) files, or glob patterns of them (:func:`expand_paths`); each
        file at most once.
    columns
        The columns to read; others are never loaded.
    tree
        The TTree of ROOT files (optional when a file holds exactly one).
    chunk_size
        Events per chunk, which bounds memory.
    """
    wanted = sorted(set(columns))
    for path in _checked(paths):
        suffix = path.suffix.lower()
        if suffix in (".parquet", ".pq"):
            yield from _parquet(path, wanted, chunk_size)
        elif suffix == ".csv":
            yield from _csv(path, wanted, chunk_size)
        else:
            yield from _root(path, wanted, chunk_size, tree)


def read_events(
    paths: Iterable[str | Path], columns: Iterable[str], *, tree: str | None = None
) -> Columns:
    """All events of ``paths`` as one dictionary of numpy columns (see :func:`iter_events`)."""
    wanted = sorted(set(columns))
    chunks = list(iter_events(paths, wanted, tree=tree))
    return {
        c: np.concatenate([ch[c] for ch in chunks]) if chunks else np.empty(0)
        for c in wanted
    }


@dataclass(frozen=True)
class WorkItem:
    """A piece of one file, read on its own by a worker.

    ``part`` is a tuple of Parquet row groups, a ROOT entry range ``(start, stop)``, or None
    for the whole file (CSV). ``rows``: for a Parquet row group larger than a work item (one
    group in ``part``), the range ``(start, stop)`` of its rows that this item reads.
    """

    path: str
    part: tuple[int, ...] | None = None
    rows: tuple[int, int] | None = None


#: Rows per Arrow batch, and bytes per buffered read of a column, when part of a row group
#: is read: what stays in memory besides the item's own rows.
_BATCH_ROWS = 1 << 16
_BUFFER_BYTES = 1 << 20


def _row_ranges(n: int, chunk_size: int) -> list[tuple[int, int]]:
    """``[0, n)`` cut into the fewest near-equal ranges of at most ``chunk_size`` rows."""
    k = -(-n // chunk_size)
    bounds = [n * j // k for j in range(k + 1)]
    return list(itertools.pairwise(bounds))


def work_items(
    paths: Iterable[str | Path], *, tree: str | None = None, chunk_size: int = 1_000_000
) -> list[WorkItem]:
    """Split files into work items of about ``chunk_size`` events.

    Parquet row groups are gathered in order until an item holds at least ``chunk_size``
    events; a row group of more than ``chunk_size`` events is cut into near-equal row ranges
    of at most ``chunk_size`` (``WorkItem.rows``), each read without loading the rest of the
    group, so memory is bounded whatever the file's layout. ROOT files are cut into entry
    ranges of ``chunk_size``; a CSV file is one item. The items hold the events in file order.

    ``paths`` are files or glob patterns (:func:`expand_paths`).

    Raises
    ------
    DataError
        A file is missing, a folder, of an unknown type or unreadable; a pattern matches
        nothing.
    ConfigError
        A file is listed twice (:func:`check_distinct`).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    items: list[WorkItem] = []
    for path in _checked(paths):
        suffix = path.suffix.lower()
        if suffix in (".parquet", ".pq"):
            try:
                meta = pq.ParquetFile(path).metadata
            except (pa.ArrowInvalid, OSError) as err:
                msg = f"{path}: not a readable Parquet file ({err})"
                raise DataError(msg) from err
            group: list[int] = []
            rows = 0
            for i in range(meta.num_row_groups):
                size = meta.row_group(i).num_rows
                if size > chunk_size:
                    if group:
                        items.append(WorkItem(str(path), tuple(group)))
                        group, rows = [], 0
                    items += [
                        WorkItem(str(path), (i,), r)
                        for r in _row_ranges(size, chunk_size)
                    ]
                    continue
                group.append(i)
                rows += size
                if rows >= chunk_size:
                    items.append(WorkItem(str(path), tuple(group)))
                    group, rows = [], 0
            if group or meta.num_row_groups == 0:
                items.append(WorkItem(str(path), tuple(group)))
        elif suffix == ".root":
            with _open_root(path) as handle:
                n = handle[_tree_name(handle, path, tree)].num_entries
            items += [
                WorkItem(str(path), (s, min(s + chunk_size, n)))
                for s in range(0, max(n, 1), chunk_size)
            ]
        else:
            items.append(WorkItem(str(path)))
    return items


def read_item(
    item: WorkItem, columns: Iterable[str], *, tree: str | None = None
) -> Columns:
    """The columns of one work item (see :func:`work_items`)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(item.path)
    wanted = sorted(set(columns))
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq") and item.part is not None:
        try:
            if item.rows is None:
                handle = pq.ParquetFile(path)
                _missing(path, wanted, handle.schema_arrow.names)
                table = handle.read_row_groups(list(item.part), columns=wanted)
            else:
                table = _row_range(path, item.part, item.rows, wanted)
        except (pa.ArrowInvalid, OSError) as err:
            msg = f"{path}: corrupt Parquet data ({err})"
            raise DataError(msg) from err
        return {c: _as_numpy(table.column(c).to_numpy(), c, path) for c in wanted}
    if suffix == ".root" and item.part is not None:
        with _open_root(path) as handle:
            ttree = handle[_tree_name(handle, path, tree)]
            _missing(path, wanted, ttree.keys())
            start, stop = item.part
            arrays = ttree.arrays(
                wanted, entry_start=start, entry_stop=stop, library="np"
            )
        return {c: _as_numpy(arrays[c], c, path) for c in wanted}
    return read_events([path], wanted, tree=tree)


def _row_range(
    path: Path, groups: tuple[int, ...], rows: tuple[int, int], columns: list[str]
) -> pa.Table:
    """Rows ``[start, stop)`` of a row group as an Arrow table, the group streamed.

    The column chunks are read through buffered streams (no pre-buffering of the whole
    group) and decoded batch by batch; the batches before ``start`` are decoded and dropped
    (pyarrow cannot seek to a row inside a row group; one pass over 2e7 rows of the demo's
    eight columns takes ~0.4 s), so memory holds the range and one batch.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    start, stop = rows
    kept = []
    position = 0
    with pq.ParquetFile(path, buffer_size=_BUFFER_BYTES, pre_buffer=False) as handle:
        _missing(path, columns, handle.schema_arrow.names)
        if start == stop:
            return handle.schema_arrow.empty_table().select(columns)
        batches = handle.iter_batches(
            batch_size=_BATCH_ROWS, row_groups=list(groups), columns=columns
        )
        for batch in batches:
            end = position + batch.num_rows
            if end > start:
                lo = max(start - position, 0)
                kept.append(batch.slice(lo, min(stop, end) - position - lo))
            position = end
            if position >= stop:
                break
    if position < stop:
        msg = (
            f"{path}: row group(s) {list(groups)} end at row {position}, before {stop}"
        )
        raise DataError(msg)
    return pa.Table.from_batches(kept)
