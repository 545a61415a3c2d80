"""The one way to resume work: a folder of finished items, stamped with their data and settings.

A :class:`Checkpointer` owns a folder. Its stamp (``checkpoint.json``) names, part by part, what
the items depend on (a hash of the events, the settings, the seed, the number of items, ...).
Each finished item is saved atomically as it finishes (:func:`asymscan.execution.run_items`),
so an interrupted run loses at most the items in flight. Opening the folder again:

- ``resume=True`` continues: the stamp must match, else a :class:`CheckpointMismatch` lists the
  parts that differ (the finished items belong to other data or settings);
- ``overwrite=True`` discards what is there and starts afresh;
- neither, with finished items there, is an error: nothing is deleted without being asked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DataError
from .report.files import atomic_path, write_json

__all__ = ("CheckpointMismatch", "Checkpointer")

_STAMP = "checkpoint.json"


class CheckpointMismatch(DataError):
    """Finished items in a folder that belong to other data or settings."""


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

    Raises
    ------
    CheckpointMismatch
        ``resume`` and the folder's stamp differs; the message names the parts that differ.
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
    ) -> None:
        self.directory = Path(directory)
        self.stamp = json.loads(json.dumps(dict(stamp), default=str))
        old = self._read_stamp()
        items = self.saved()
        if old is not None and resume:
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
        elif items or old is not None:  # only what a checkpointer wrote
            for index in items:
                self._path(index).unlink()
        self.directory.mkdir(parents=True, exist_ok=True)
        write_json(self.directory / _STAMP, {"stamp": self.stamp})

    def _read_stamp(self) -> dict[str, Any] | None:
        path = self.directory / _STAMP
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text())["stamp"]
        except (OSError, ValueError, KeyError, TypeError) as err:
            msg = f"{path} is not a checkpoint stamp ({err}); remove the folder or choose another"
            raise DataError(msg) from err

    def _path(self, index: int) -> Path:
        return self.directory / f"item_{index:06d}.npy"

    def saved(self) -> list[int]:
        """The indices of the items saved in the folder."""
        if not self.directory.is_dir():
            return []
        return sorted(int(p.stem[5:]) for p in self.directory.glob("item_*.npy"))

    def load(self, index: int) -> np.ndarray | None:
        """Item ``index``, or None when it has not finished."""
        path = self._path(index)
        if not path.exists():
            return None
        return np.load(path, allow_pickle=False)

    def save(self, index: int, value: Any) -> None:
        """Save item ``index`` (an array) atomically."""
        with atomic_path(self._path(index)) as tmp, tmp.open("wb") as fh:
            np.save(fh, np.asarray(value), allow_pickle=False)
