"""Toys of several runs of one scan merged into one calibration (``asymscan merge``).

Toy shard ``i`` of a seed is the same in every run (:func:`~asymscan.scan.run.shard_seed`), so
runs of the same data and settings whose toys do not overlap -- different seeds, or the same
seed with disjoint ranges (``scan.first_toy``) -- add up to one larger calibration. Runs with
the same seed and adjacent ranges merge into exactly the toys of the equivalent single run.
Each run's toy shards are read from its ``shards/`` checkpoint, whose stamp must match the
others' (data, settings, shard size) and, when the merged scan runs, the data read again.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..checkpoint import Checkpointer, read_stamp
from ..config import Config, config_from_dict
from ..errors import DataError
from .cells import EventCells
from .run import toy_shards, toy_stamp

__all__ = ("MergedToys", "ToyRun", "check_cells", "merge_toys", "read_toy_run")


@dataclass(frozen=True)
class ToyRun:
    """The toys of one finished scan: its folder, seed and range of toys."""

    out: Path
    config: Config
    stamp: dict[str, Any]

    @property
    def seed(self) -> int:
        return self.config.scan.seed

    @property
    def toys(self) -> range:
        """The indices of its toys in its seed's stream."""
        first = self.config.scan.first_toy
        return range(first, first + self.config.scan.toys)

    def describe(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "seed": self.seed,
            "first_toy": self.toys.start,
            "toys": len(self.toys),
        }

    def load(self) -> np.ndarray:
        """Its toys' maxima, from its saved shards."""
        folder = Checkpointer(self.out / "shards", self.stamp, resume=True)
        shards = toy_shards(self.config)
        missing = [i for i in shards if not folder.path(i).exists()]
        if missing:
            msg = (
                f"{self.out}: {len(missing)} of its {len(shards)} toy shards are missing "
                f"from {folder.directory} (first: {missing[0]}); resume that run first"
            )
            raise DataError(msg)
        toys = np.concatenate([folder.load(i) for i in shards])
        return toys[: len(self.toys)]


def read_toy_run(out: str | Path) -> ToyRun:
    """A finished scan's folder: its configuration and the stamp of its toy shards.

    Raises
    ------
    DataError
        No ``results.json`` (not a finished scan) or no stamped ``shards/`` folder.
    """
    out = Path(out)
    results = out / "results.json"
    if not results.is_file():
        msg = f"{out} holds no results.json: not a finished scan (resume it first)"
        raise DataError(msg)
    data = json.loads(results.read_text())
    config = config_from_dict(data["config"])
    stamp = read_stamp(out / "shards")
    if stamp is None or config.scan.toys == 0:
        msg = f"{out} holds no toy shards (shards/checkpoint.json) to merge"
        raise DataError(msg)
    return ToyRun(out, config, stamp)


@dataclass(frozen=True)
class MergedToys:
    """The toys of several runs in one array, and the configuration of the merged scan."""

    config: Config
    toys: np.ndarray
    runs: list[ToyRun]
    stamp: dict[str, Any]

    def sources(self) -> list[dict[str, Any]]:
        return [run.describe() for run in self.runs]


def merge_toys(outs: Sequence[str | Path]) -> MergedToys:
    """The toys of finished scans of the same data and settings, merged.

    Runs are ordered by seed, then by first toy; the merged configuration is the first run's
    with ``scan.toys`` the total (and the seed and ``first_toy`` of the first run): for
    adjacent ranges of one seed, exactly the configuration of the equivalent single run.

    Raises
    ------
    DataError
        Fewer than two runs; runs of different data or settings (the message names the
        parts of the stamp that differ); runs whose toys overlap (the same toys of one seed).
    """
    if len(outs) < 2:
        msg = f"merging needs at least two scan folders, got {len(outs)}"
        raise DataError(msg)
    runs = sorted((read_toy_run(o) for o in outs), key=lambda r: (r.seed, r.toys.start))
    first = runs[0]
    common = {k: v for k, v in first.stamp.items() if k != "seed"}
    for run in runs[1:]:
        other = {k: v for k, v in run.stamp.items() if k != "seed"}
        differ = sorted(
            k for k in set(common) | set(other) if common.get(k) != other.get(k)
        )
        if differ:
            msg = (
                f"cannot merge {first.out} and {run.out}: their toys belong to different "
                f"{', '.join(differ)}"
            )
            raise DataError(msg)
    for a, b in itertools.pairwise(runs):
        if a.seed == b.seed and b.toys.start < a.toys.stop:
            msg = (
                f"cannot merge {a.out} and {b.out}: both hold toys {b.toys.start}-"
                f"{min(a.toys.stop, b.toys.stop) - 1} of seed {a.seed} (overlapping "
                "seeds would count the same toys twice); give one of them another seed "
                "or scan.first_toy"
            )
            raise DataError(msg)
    toys = np.concatenate([run.load() for run in runs])
    data = first.config.model_dump()
    data["scan"]["toys"] = int(toys.size)
    return MergedToys(config_from_dict(data), toys, runs, first.stamp)


def check_cells(merged: MergedToys, cells: EventCells) -> None:
    """Refuse to calibrate ``cells`` with toys of other data or settings.

    Raises
    ------
    DataError
        The events read now, or the settings, differ from those the toys were made with.
    """
    now = toy_stamp(cells, merged.config)
    differ = sorted(
        k for k in ("events", "configuration") if now[k] != merged.stamp.get(k)
    )
    if differ:
        msg = (
            f"the merged toys were made from other {' and '.join(differ)} than "
            "the scan has now (were the data files changed?)"
        )
        raise DataError(msg)
