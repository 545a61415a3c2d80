"""The one way to resume work: a folder of finished items, stamped with their data and settings.

A :class:`Checkpointer` owns a folder. Its stamp (``checkpoint.json``) names, part by part, what
the items depend on (a hash of the events, the settings, the seed, the number of items, ...).
Each finished item is saved atomically as it finishes (:func:`asymscan.execution.run_items`),
so an interrupted run loses at most the items in flight. Opening the folder again:

- ``resume=True`` continues: the stamp must match, else a :class:`CheckpointMismatch` lists the
  parts that differ (the finished items belong to other data or settings);
- ``overwrite=True`` discards what is there and starts afresh;
- neither, with finished items there, is an error: nothing is deleted without being asked.

Items are written by a :class:`Codec`: arrays as ``.npy`` (:data:`ARRAYS`, the default),
JSON documents (:data:`DOCUMENTS`), or any other format a caller defines (the PYTHIA shards
are Parquet files). :class:`Checkpoints` lets one run keep its items in several folders.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .errors import DataError
from .files import atomic_path, write_json

__all__ = (
    "ARRAYS",
    "DOCUMENTS",
    "CheckpointMismatch",
    "Checkpointer",
    "Checkpoints",
    "Codec",
    "read_stamp",
)

_STAMP = "checkpoint.json"


class CheckpointMismatch(DataError):
    """Finished items in a folder that belong to other data or settings."""


class Codec(Protocol):
    """How items are written to and read from files ``item_NNNNNN<suffix>``."""

    suffix: str

    def write(self, path: Path, value: Any) -> None:
        """Write ``value`` to ``path`` (a temporary name; the checkpointer renames it)."""

    def read(self, path: Path) -> Any:
        """The value written to ``path``."""


@dataclass(frozen=True)
class _Arrays:
    suffix: str = ".npy"

    def write(self, path: Path, value: Any) -> None:
        with path.open("wb") as fh:
            np.save(fh, np.asarray(value), allow_pickle=False)

    def read(self, path: Path) -> np.ndarray:
        return np.load(path, allow_pickle=False)


@dataclass(frozen=True)
class _Documents:
    suffix: str = ".json"

    def write(self, path: Path, value: Any) -> None:
        path.write_text(json.dumps(value, indent=1, allow_nan=True))

    def read(self, path: Path) -> Any:
        return json.loads(path.read_text())


#: numpy arrays, as ``.npy`` files (no pickles).
ARRAYS: Codec = _Arrays()
#: JSON documents (dicts, lists, numbers, strings).
DOCUMENTS: Codec = _Documents()


def read_stamp(directory: str | Path) -> dict[str, Any] | None:
    """The stamp of a checkpoint folder, or None when it has none.

    Raises
    ------
    DataError
        The stamp file is there but unreadable.
    """
    path = Path(directory) / _STAMP
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())["stamp"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        msg = f"{path} is not a checkpoint stamp ({err}); remove the folder or choose another"
        raise DataError(msg) from err


class Checkpointer:
    """Finished items of one run in ``directory``, valid for one ``stamp``.

    Parameters
    ----------
    directory
        The folder (created if missing).
    stamp
        Part name -> a JSON-able value (usually a hash) identifying what the items depend on.
    resume
        Keep the items already there, if the stamp matches.
    overwrite
        Discard the items already there.
    codec
        How items are written (default: numpy arrays).

    Raises
    ------
    CheckpointMismatch
        ``resume`` and the folder's stamp differs (or is missing while items are there); the
        message names the parts that differ.
    DataError
        The folder holds finished items and neither ``resume`` nor ``overwrite`` is given.
    """

    def __init__(
        self,
        directory: str | Path,
        stamp: Mapping[str, Any],
        *,
        resume: bool = False,
        overwrite: bool = False,
        codec: Codec = ARRAYS,
    ) -> None:
        self.directory = Path(directory)
        self.codec = codec
        self.stamp = json.loads(json.dumps(dict(stamp), default=str))
        old = read_stamp(self.directory)
        items = self.saved()
        if resume and (old is not None or items):
            if old is None:
                msg = (
                    f"{self.directory} holds {len(items)} finished item(s) but no "
                    f"{_STAMP}: what they were made from is unknown; run with --overwrite "
                    "to discard them"
                )
                raise CheckpointMismatch(msg)
            differ = sorted(
                k for k in set(old) | set(self.stamp) if old.get(k) != self.stamp.get(k)
            )
            if differ:
                msg = (
                    f"{self.directory}: the {len(items)} finished item(s) there belong to "
                    f"other data or settings (different: {', '.join(differ)}); run without "
                    "--resume and with --overwrite to discard them"
                )
                raise CheckpointMismatch(msg)
        elif items and not overwrite:
            msg = (
                f"{self.directory} holds {len(items)} finished item(s) of an earlier run: "
                "pass --resume to continue it, or --overwrite to discard them"
            )
            raise DataError(msg)
        elif not resume:  # only what a checkpointer wrote
            for index in items:
                self.path(index).unlink()
        self.directory.mkdir(parents=True, exist_ok=True)
        write_json(self.directory / _STAMP, {"stamp": self.stamp})

    def path(self, index: int) -> Path:
        """The file of item ``index`` (whether it is there or not)."""
        return self.directory / f"item_{index:06d}{self.codec.suffix}"

    def saved(self) -> list[int]:
        """The indices of the items saved in the folder."""
        if not self.directory.is_dir():
            return []
        files = self.directory.glob(f"item_*{self.codec.suffix}")
        stems = (p.name[5 : -len(self.codec.suffix)] for p in files)
        return sorted(int(s) for s in stems if s.isdigit())

    def load(self, index: int) -> Any:
        """Item ``index``, or None when it has not finished."""
        path = self.path(index)
        if not path.exists():
            return None
        return self.codec.read(path)

    def save(self, index: int, value: Any) -> None:
        """Save item ``index`` atomically."""
        with atomic_path(self.path(index)) as tmp:
            self.codec.write(tmp, value)


class Checkpoints:
    """Several checkpointers seen as one: item ``i`` is item ``places[i][1]`` of
    checkpointer ``places[i][0]`` (a run whose items belong to several folders)."""

    def __init__(self, places: Sequence[tuple[Checkpointer, int]]) -> None:
        self.places = list(places)
        folders = {str(c.directory.resolve()) for c, _ in self.places}
        self.directory = Path(os.path.commonpath(folders)) if folders else Path()

    def load(self, index: int) -> Any:
        owner, local = self.places[index]
        return owner.load(local)

    def save(self, index: int, value: Any) -> None:
        owner, local = self.places[index]
        owner.save(local, value)
