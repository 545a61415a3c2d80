"""The data-directed scan: events -> every window of every histogram -> ranked regions, global p.

The look-elsewhere effect is calibrated by label-exchange toys: the maximum |N_sigma| over
everything scanned is recomputed for many random relabellings of the events (exact under the
symmetry), and the observed maximum's p-value is (k + 1)/(n + 1).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..calibrate.exchange import histogram_inputs, max_abs_nsigma, toy_shard
from ..config import Config
from ..errors import DataError
from ..execution import InlineExecutor
from ..report.files import atomic_path, write_json
from ..stats.nsigma import nsigma
from ..stats.significance import toy_p_value, z_from_p
from .cells import EventCells
from .followup import check_followup, run_followup
from .layout import build_cells, chunk_units
from .regions import top_windows
from .source import Events, map_events

__all__ = ("ScanResult", "fill_cells", "run_scan", "scan_cells")

log = logging.getLogger(__name__)

#: Toys per shard: fixed, so results do not depend on how shards are spread over workers.
SHARD_SIZE = 50


@dataclass
class ScanResult:
    """Everything a scan found; ``to_dict`` is the content of ``results.json``.

    ``followup`` holds the neural follow-up of the top regions
    (:func:`asymscan.scan.followup.run_followup`), empty when it was not run.
    """

    config: Config
    cells: EventCells
    max_abs_nsigma: float
    per_histogram: np.ndarray
    toys: np.ndarray
    regions: list[dict[str, Any]]
    followup: list[dict[str, Any]] = field(default_factory=list)

    @property
    def p_value(self) -> tuple[float, float]:
        """Global p-value of the observed maximum, (k + 1)/(n + 1), and its binomial error."""
        if self.toys.size == 0:
            return float("nan"), float("nan")
        p, err = toy_p_value(self.max_abs_nsigma, self.toys)
        return float(p), float(err)

    @property
    def calibration(self) -> str:
        """How the global p-value was calibrated, in words."""
        n = self.toys.size
        w = self.cells.weights
        if w is None or not w.label_dependent:
            how = "events relabelled A/B at the observed N_A"
        else:
            how = "each event relabelled A with probability w_b/(w_a + w_b) and given the "
            how += "weight of its new label"
            if w.n_systematics:
                how += f"; {w.n_systematics} systematic(s) drawn from N(0, 1) per toy"
        return f"{n} label-exchange toys ({how}; all histograms refilled together)"

    @property
    def corrections(self) -> dict[str, Any]:
        """The corrections and systematics the scan used, and its normalisation."""
        c = self.config
        sym = c.symmetry
        return {
            "files": []
            if c.corrections is None
            else [str(p) for p in c.corrections.files],
            "weight": None if c.data.weight is None else c.data.weight.text,
            "weight_a": None if sym.weight_a is None else sym.weight_a.text,
            "weight_b": None if sym.weight_b is None else sym.weight_b.text,
            "systematics": [s.model_dump() for s in c.systematics],
            "normalize": c.scan.normalize,
        }

    def to_dict(self) -> dict[str, Any]:
        """The content of ``results.json``.

        Keys: ``version``; ``global`` (the maximum |N_sigma| over everything scanned, its
        global p-value, error and Z from ``toys`` label-exchange toys); ``regions`` (ranked:
        selection, observables, window, N_sigma, A and B counts, local and global p);
        ``followup`` (one entry per region followed up by the neural test, see
        :func:`asymscan.scan.followup.run_followup`; an empty list when ``followup.nn`` is
        off); ``histograms`` (each one's selection, observables, shape and maximum
        |N_sigma|); ``events`` (counts read, in A, in B, dropped, non-finite and out of
        range); ``config`` (the resolved configuration).
        """
        p, err = self.p_value
        z = float(z_from_p(p)) if np.isfinite(p) else None
        return {
            "version": __version__,
            "global": {
                "max_abs_nsigma": self.max_abs_nsigma,
                "p_value": p,
                "p_value_error": err,
                "z": z,  # -inf when p = 1 (every toy above the observation): JSON null
                "toys": int(self.toys.size),
                "calibration": self.calibration,
            },
            "corrections": self.corrections,
            "regions": self.regions,
            "followup": self.followup,
            "histograms": [
                {
                    "index": h.index,
                    "selection": dict(h.selection),
                    "observables": list(h.observables),
                    "shape": list(h.shape),
                    "max_abs_nsigma": float(self.per_histogram[h.index]),
                }
                for h in self.cells.histograms
            ],
            "events": self.cells.counts,
            "config": self.config.model_dump(),
        }


def _region_rows(cells: EventCells, config: Config, toys: np.ndarray) -> list[dict]:
    """The ``top`` most discrepant non-overlapping windows over all histograms, ranked.

    Each row holds the window's N_sigma (with the systematics when there are any), its
    statistical-only N_sigma and, per systematic, the shift of that N_sigma for a +1 sigma
    pull (its systematic part).
    """
    from scipy import stats

    normalize = config.scan.normalize
    sums = cells.sums(cells.n_a)
    names = cells.weights.systematics if cells.weights is not None else ()
    rows = []
    for h in cells.histograms:
        inputs = histogram_inputs(cells, sums, h, normalize)
        for w in top_windows(
            min_entries=config.scan.min_entries, k=config.scan.top, **inputs
        ):
            sl = tuple(slice(s, e) for s, e in zip(w.start, w.stop, strict=True))
            window = {
                k: None if v is None else (v[:, *sl] if k == "shifts" else v[sl])
                for k, v in inputs.items()
                if k != "entries"
            }
            direct = nsigma(**window, ndim=h.ndim)
            rows.append(
                {
                    "histogram": h.index,
                    "selection": dict(h.selection),
                    "observables": list(h.observables),
                    "window": {
                        o: [float(h.edges[j][w.start[j]]), float(h.edges[j][w.stop[j]])]
                        for j, o in enumerate(h.observables)
                    },
                    "bins": {
                        o: [w.start[j], w.stop[j]] for j, o in enumerate(h.observables)
                    },
                    "nsigma": w.nsigma,
                    "nsigma_stat": float(direct.nsigma_stat),
                    "systematics": {
                        n: float(direct.sys_shift[k]) for k, n in enumerate(names)
                    },
                    "n_a": float(window["a"].sum()),
                    "n_b": float(window["b"].sum()),
                    "events": int(inputs["entries"][sl].sum()),
                    "local_p": float(2 * stats.norm.sf(abs(w.nsigma))),
                }
            )
    rows.sort(key=lambda r: -abs(r["nsigma"]))
    rows = rows[: config.scan.top]
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
        if toys.size:
            row["global_p"] = float(toy_p_value(abs(row["nsigma"]), toys)[0])
        else:
            row["global_p"] = None
    return rows


def _fingerprint(cells: EventCells, config: Config) -> str:
    """Identifies the data and settings a shard belongs to, so --resume never mixes runs."""
    # the follow-up settings do not change the toys: leave them out
    settings = config.model_dump(exclude={"followup"})
    h = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    h.update(np.ascontiguousarray(cells.n_a).tobytes())
    h.update(np.ascontiguousarray(cells.multiplicity).tobytes())
    h.update(np.asarray(cells.cells.indices).tobytes())
    if cells.weights is not None:
        w = cells.weights
        for part in (w.a, w.b, w.shift_a, w.shift_b):
            h.update(np.ascontiguousarray(part).tobytes())
    return h.hexdigest()


def _run_toys(
    cells: EventCells,
    config: Config,
    pool: Executor,
    shard_dir: Path | None,
    resume: bool,
    progress: Callable[[int, int], None] | None,
) -> np.ndarray:
    n = config.scan.toys
    if n == 0:
        return np.empty(0)
    sizes = [SHARD_SIZE] * (n // SHARD_SIZE) + (
        [n % SHARD_SIZE] if n % SHARD_SIZE else []
    )
    seeds = np.random.SeedSequence(config.scan.seed).spawn(len(sizes))
    results: dict[int, np.ndarray] = {}
    if shard_dir is not None:
        shard_dir.mkdir(parents=True, exist_ok=True)
        manifest = shard_dir / "manifest.json"
        fingerprint = _fingerprint(cells, config)
        if resume and manifest.exists():
            if json.loads(manifest.read_text()).get("fingerprint") != fingerprint:
                msg = f"{shard_dir}: the finished shards belong to other data or settings; rerun without --resume"
                raise DataError(msg)
            for i in range(len(sizes)):
                f = shard_dir / f"shard_{i:05d}.npy"
                if f.exists():
                    results[i] = np.load(f)
        else:
            for old in shard_dir.glob("shard_*.npy"):
                old.unlink()
        write_json(
            manifest,
            {
                "fingerprint": fingerprint,
                "shards": len(sizes),
                "shard_size": SHARD_SIZE,
            },
        )
    done = sum(sizes[i] for i in results)
    if progress:
        progress(done, n)
    futures = {
        pool.submit(
            toy_shard,
            cells,
            seeds[i],
            sizes[i],
            min_entries=config.scan.min_entries,
            normalize=config.scan.normalize,
        ): i
        for i in range(len(sizes))
        if i not in results
    }
    for future in as_completed(futures):
        i = futures[future]
        results[i] = future.result()
        if shard_dir is not None:
            with (
                atomic_path(shard_dir / f"shard_{i:05d}.npy") as tmp,
                tmp.open("wb") as fh,
            ):
                np.save(fh, results[i])
        done += sizes[i]
        if progress:
            progress(done, n)
    return np.concatenate([results[i] for i in range(len(sizes))])


def scan_cells(
    cells: EventCells,
    config: Config,
    *,
    executor: Executor | None = None,
    shard_dir: Path | None = None,
    resume: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ScanResult:
    """Scan prepared event cells: observed windows, regions, and the label-exchange toys."""
    observed, per_hist = max_abs_nsigma(
        cells,
        cells.n_a,
        min_entries=config.scan.min_entries,
        normalize=config.scan.normalize,
    )
    toys = _run_toys(
        cells, config, executor or InlineExecutor(), shard_dir, resume, progress
    )
    regions = _region_rows(cells, config, toys)
    return ScanResult(
        config=config,
        cells=cells,
        max_abs_nsigma=float(observed[0]),
        per_histogram=per_hist[0],
        toys=toys,
        regions=regions,
    )


def fill_cells(
    config: Config, *, executor: Executor | None = None, chunk_size: int = 1_000_000
) -> EventCells:
    """Read ``config.data.paths`` as (file, row groups | entry range) work items on ``executor``.

    Each item is read, split and binned where it runs; the parts merge by concatenation and
    addition, so the cells are identical whatever the executor.
    """
    parts = map_events(chunk_units, config, executor=executor, chunk_size=chunk_size)
    return build_cells(parts, config)


def run_scan(
    config: Config,
    *,
    events: Events | None = None,
    executor: Executor | None = None,
    shard_dir: Path | None = None,
    resume: bool = False,
    progress: Callable[[int, int], None] | None = None,
    followup_progress: Callable[[int, int], None] | None = None,
) -> ScanResult:
    """Run the data-directed scan described by ``config``, and its neural follow-up if on.

    Parameters
    ----------
    config
        The validated configuration (:func:`asymscan.config.load_config`).
    events
        Columns in memory (a mapping of arrays, a pandas DataFrame, or an iterable of such
        chunks); default: read ``config.data.paths`` in chunks. With ``followup.nn`` the
        events are read twice, so a one-shot iterator of chunks is first made a list.
    executor
        Where toy shards (and file chunks, and follow-up permutations) run (see
        :func:`asymscan.execution.executor`); default in-process.
    shard_dir
        Folder for finished toy shards, so that ``resume=True`` continues an interrupted run.
    progress
        Called with (toys done, toys requested).
    followup_progress
        Called with (permutations done, permutations requested) by the follow-up.
    """
    followup = config.followup.nn
    if followup:
        check_followup(config)  # before the scan, not after its toys
        if isinstance(events, Iterator):
            events = list(events)
    cells = build_cells(
        map_events(chunk_units, config, events, executor=executor), config
    )
    result = scan_cells(
        cells,
        config,
        executor=executor,
        shard_dir=shard_dir,
        resume=resume,
        progress=progress,
    )
    if followup:
        result.followup = run_followup(
            config,
            result.regions,
            events=events,
            executor=executor,
            progress=followup_progress,
        )
    return result
