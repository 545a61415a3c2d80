"""The data-directed scan: events -> every window of every histogram -> ranked regions, global p.

The look-elsewhere effect is calibrated by label-exchange toys: the maximum |N_sigma| over
everything scanned is recomputed for many random relabellings of the events (exact under the
symmetry), and the observed maximum's p-value is (k + 1)/(n + 1).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..calibrate.exchange import histogram_inputs, max_abs_nsigma, toy_shard
from ..calibrate.tail import GaussianTail, TailEstimate, TailNotSupported
from ..checkpoint import Checkpointer, Checkpoints
from ..config import TOY_SHARD_SIZE, Config
from ..errors import DataError
from ..execution import InlineExecutor, run_items
from ..stats.nsigma import nsigma
from ..stats.significance import toy_p_value, z_from_p
from ..stats.windows import scan_windows
from .cells import BinSums, EventCells
from .followup import check_followup, run_followup
from .layout import build_cells, chunk_units
from .regions import top_windows
from .source import Events, map_events
from .weights import check_weights, is_weighted

__all__ = ("ScanResult", "fill_cells", "run_scan", "scan_cells")

log = logging.getLogger(__name__)

SHARD_SIZE = TOY_SHARD_SIZE
#: A region's global p-value is also extrapolated when fewer toys than this lie above it.
RESOLVING_TOYS = 10
#: Entropy mixed with ``scan.seed`` for the tail's samples (a stream apart from the toys').
_TAIL_STREAM = 0x7A11


@dataclass
class ScanResult:
    """Everything a scan found; ``to_dict`` is the content of ``results.json``.

    ``followup`` holds the neural follow-up of the top regions
    (:func:`asymscan.scan.followup.run_followup`), empty when it was not run.
    ``windows`` and ``windows_tested`` are, per histogram, the windows scanned and those
    tested (the others have fewer than ``min_entries`` events, or none with weight); None
    when unknown.
    """

    config: Config
    cells: EventCells
    max_abs_nsigma: float
    per_histogram: np.ndarray
    toys: np.ndarray
    regions: list[dict[str, Any]]
    followup: list[dict[str, Any]] = field(default_factory=list)
    windows: np.ndarray | None = None
    windows_tested: np.ndarray | None = None
    #: the runs whose toys were merged (``asymscan merge``), None for toys of this run
    merged_from: list[dict[str, Any]] | None = None
    #: the extrapolated global p-value of the observed maximum (None when not computed)
    extrapolated: TailEstimate | None = None
    #: why there is no extrapolated p-value (an option the Gaussian model does not cover)
    extrapolation_unavailable: str | None = None

    @property
    def untested(self) -> list[dict[str, Any]]:
        """The histograms in which no window was tested, with their events in range."""
        if self.windows_tested is None:
            return []
        return [
            {
                "histogram": h.index,
                "selection": dict(h.selection),
                "observables": list(h.observables),
                "events": int(h.bins(self.cells.entries).sum()),
            }
            for h in self.cells.histograms
            if self.windows_tested[h.index] == 0
        ]

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
        merged = (
            ""
            if self.merged_from is None
            else f", merged from {len(self.merged_from)} runs"
        )
        return (
            f"{n} label-exchange toys{merged} ({how}; all histograms refilled together)"
        )

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

    def _extrapolated(self) -> dict[str, Any] | None:
        if self.extrapolated is not None:
            return self.extrapolated.to_dict()
        if self.extrapolation_unavailable is not None:
            return {
                "p_value": None,
                "p_value_error": None,
                "z": None,
                "method": f"unavailable: {self.extrapolation_unavailable}",
            }
        return None

    def to_dict(self) -> dict[str, Any]:
        """The content of ``results.json``.

        Keys: ``version``; ``global`` (the maximum |N_sigma| over everything scanned, its
        global p-value, error and Z from ``toys`` label-exchange toys, the windows scanned
        and tested, ``untested_histograms``: those in which no window was tested, with
        their events in range, and ``extrapolated``: the global p-value, its error, Z and
        method from the Gaussian model of the scan, :mod:`asymscan.calibrate.tail`, None
        when ``scan.tail_samples`` is 0); ``regions`` (ranked: selection, observables,
        window, N_sigma, A and B counts, local and global p, and the extrapolated global p
        where the toys do not resolve it);
        ``followup`` (one entry per region followed up by the neural test, see
        :func:`asymscan.scan.followup.run_followup`; an empty list when ``followup.nn`` is
        off); ``histograms`` (each one's selection, observables, shape, maximum |N_sigma|,
        windows scanned and tested); ``events`` (counts read, in A, in B, dropped, non-finite and out of
        range); ``config`` (the resolved configuration).
        """
        p, err = self.p_value
        z = float(z_from_p(p)) if np.isfinite(p) else None

        def count(per_hist: np.ndarray | None, i: int | None = None) -> int | None:
            if per_hist is None:
                return None
            return int(per_hist.sum() if i is None else per_hist[i])

        return {
            "version": __version__,
            "global": {
                "max_abs_nsigma": self.max_abs_nsigma,
                "p_value": p,
                "p_value_error": err,
                "z": z,  # -inf when p = 1 (every toy above the observation): JSON null
                "toys": int(self.toys.size),
                "calibration": self.calibration,
                "windows": count(self.windows),
                "windows_tested": count(self.windows_tested),
                "untested_histograms": self.untested,
                "extrapolated": self._extrapolated(),
                **(
                    {}
                    if self.merged_from is None
                    else {"merged_from": self.merged_from}
                ),
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
                    "windows": count(self.windows, h.index),
                    "windows_tested": count(self.windows_tested, h.index),
                }
                for h in self.cells.histograms
            ],
            "events": self.cells.counts,
            "config": self.config.model_dump(),
        }


def _region_rows(
    cells: EventCells, sums: BinSums, config: Config, toys: np.ndarray
) -> list[dict]:
    """The ``top`` most discrepant non-overlapping windows over all histograms, ranked.

    ``sums`` are the observed ones, ``cells.sums(cells.n_a)``. Each row holds the window's
    N_sigma (with the systematics when there are any), its statistical-only N_sigma and, per
    systematic, the shift of that N_sigma for a +1 sigma pull (its systematic part).
    """
    from scipy import stats

    normalize = config.scan.normalize
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


def toy_stamp(cells: EventCells, config: Config) -> dict[str, Any]:
    """What the toy shards depend on, part by part, so --resume never mixes runs.

    Shard ``i`` of a seed is the same whatever the number of toys asked for, so neither
    ``toys`` nor ``first_toy`` is part of it (a resumed run may ask for more toys); nor are
    the follow-up settings, which do not change the toys. The seed is a part of its own, so
    that runs with other seeds can be merged (:mod:`asymscan.scan.merge`).
    """
    settings = config.model_dump(
        exclude={
            "followup": True,
            "scan": {"toys", "first_toy", "seed", "tail_samples", "top"},
            "data": {"paths"},  # the events are stamped by their content
        }
    )
    events = hashlib.sha256()
    for part in (cells.n_a, cells.multiplicity, cells.cells.indices):
        events.update(np.ascontiguousarray(part).tobytes())
    if cells.weights is not None:
        w = cells.weights
        for part in (w.a, w.b, w.shift_a, w.shift_b):
            events.update(np.ascontiguousarray(part).tobytes())
    return {
        "events": events.hexdigest(),
        "configuration": hashlib.sha256(
            json.dumps(settings, sort_keys=True, default=str).encode()
        ).hexdigest(),
        "seed": config.scan.seed,
        "shard_size": SHARD_SIZE,
    }


def toy_shards(config: Config) -> range:
    """The indices of the toy shards of a scan: its toys are those of these shards, in
    order, cut at ``scan.toys``."""
    first = config.scan.first_toy // SHARD_SIZE
    return range(first, first + -(-config.scan.toys // SHARD_SIZE))


def shard_seed(seed: int, index: int) -> np.random.SeedSequence:
    """The seed of toy shard ``index``: ``SeedSequence(seed).spawn(n)[index]`` for any n."""
    return np.random.SeedSequence(seed, spawn_key=(index,))


def _shard(
    cells: EventCells, min_entries: float, normalize: str, seed: np.random.SeedSequence
) -> np.ndarray:
    return toy_shard(
        cells, seed, SHARD_SIZE, min_entries=min_entries, normalize=normalize
    )


def _run_toys(
    cells: EventCells,
    config: Config,
    pool: Executor,
    shard_dir: Path | None,
    resume: bool,
    overwrite: bool,
    progress: Callable[[int, int], None] | None,
) -> np.ndarray:
    n = config.scan.toys
    if n == 0:
        return np.empty(0)
    shards = toy_shards(config)
    checkpoint = None
    if shard_dir is not None:
        folder = Checkpointer(
            shard_dir, toy_stamp(cells, config), resume=resume, overwrite=overwrite
        )
        checkpoint = Checkpoints([(folder, i) for i in shards])

    def report(done: int, _n: int) -> None:
        progress(min(done * SHARD_SIZE, n), n)

    toys = run_items(
        functools.partial(
            _shard, cells, config.scan.min_entries, config.scan.normalize
        ),
        [shard_seed(config.scan.seed, i) for i in shards],
        executor=pool,
        progress=report if progress else None,
        checkpoint=checkpoint,
        what="toy shards",
    )
    return np.concatenate(toys)[:n]


def _windows_tested(
    cells: EventCells, sums: BinSums, config: Config
) -> tuple[np.ndarray, np.ndarray]:
    """Windows scanned and windows tested per histogram, on the observed labelling.

    A window is skipped (not tested) when it holds fewer than ``min_entries`` events or no
    bin with a non-zero variance; which windows those are does not depend on the labels.
    """
    n = len(cells.histograms)
    windows, tested = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    for h in cells.histograms:
        scan = scan_windows(
            ndim=h.ndim,
            two_sided=True,
            min_entries=config.scan.min_entries,
            **histogram_inputs(cells, sums, h, config.scan.normalize),
        )
        windows[h.index] = scan.n_windows
        tested[h.index] = scan.n_windows - int(scan.n_skipped)
    return windows, tested


def _check_tested(cells: EventCells, config: Config, tested: np.ndarray) -> None:
    """Refuse a scan that tested no window (saying why); log histograms that tested none."""
    events = [int(h.bins(cells.entries).sum()) for h in cells.histograms]
    min_entries = config.scan.min_entries
    if not tested.any():
        c = cells.counts
        if max(events, default=0) == 0:
            outside = ", ".join(
                f"{o}: {c['out_of_range'][o]} outside its range, "
                f"{c['non_finite'][o]} non-finite"
                for o in c["out_of_range"]
            )
            msg = (
                f"nothing to scan: no event falls in any histogram ({c['a']} event(s) in "
                f"A, {c['b']} in B; {outside}); the observables' ranges or the selections' "
                "categories are empty"
            )
        else:
            largest = int(np.argmax(events))
            label = cells.histograms[largest].label
            if events[largest] < min_entries:
                msg = (
                    f"nothing to scan: every window has fewer events than min_entries = "
                    f"{min_entries:g}; the largest window, all of {label}, holds "
                    f"{events[largest]} events; lower scan.min_entries or select more "
                    "events"
                )
            else:
                msg = (
                    f"nothing to scan: no window has a bin with non-zero variance (the "
                    f"{events[largest]} events of {label} carry weight 0)"
                )
        raise DataError(msg)
    empty = [h for h in cells.histograms if tested[h.index] == 0]
    if empty:
        log.warning(
            "no window tested in %d of %d histograms (fewer than min_entries = %g events, "
            "or none): %s",
            len(empty),
            len(cells.histograms),
            min_entries,
            "; ".join(f"{h.label} ({events[h.index]} events)" for h in empty),
        )


def scan_cells(
    cells: EventCells,
    config: Config,
    *,
    executor: Executor | None = None,
    shard_dir: Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
    toys: np.ndarray | None = None,
) -> ScanResult:
    """Scan prepared event cells: observed windows, regions, and the label-exchange toys.

    ``toys``: the maxima of toys already made (merged runs, :mod:`asymscan.scan.merge`)
    instead of running ``scan.toys`` new ones.

    Toy shards run through :func:`asymscan.execution.run_items`; with ``shard_dir`` each
    finished shard is saved there at once (:class:`asymscan.checkpoint.Checkpointer`), so
    ``resume=True`` continues an interrupted run with an identical result, and Ctrl-C raises
    :class:`asymscan.execution.Interrupted` keeping the finished shards. Shards of an earlier
    run there are an error unless ``resume`` or ``overwrite`` (discard them) is given.

    Raises
    ------
    DataError
        Before any toy: sample A or B has a total weight of zero
        (:func:`~asymscan.scan.weights.check_weights`), or no window of any histogram was
        tested (every window below ``min_entries`` events, or no event in the observables'
        ranges and the selections' categories). Histograms in which no window was tested,
        while others have some, are logged as a warning and listed in ``results.json``.
    """
    check_weights(cells.weights, cells.multiplicity, cells.n_a, config)
    sums = cells.sums(cells.n_a)
    windows, tested = _windows_tested(cells, sums, config)
    _check_tested(cells, config, tested)
    observed, per_hist = max_abs_nsigma(
        cells,
        cells.n_a,
        min_entries=config.scan.min_entries,
        normalize=config.scan.normalize,
    )
    if toys is None:
        toys = _run_toys(
            cells,
            config,
            executor or InlineExecutor(),
            shard_dir,
            resume,
            overwrite,
            progress,
        )
    regions = _region_rows(cells, sums, config, toys)
    result = ScanResult(
        config=config,
        cells=cells,
        max_abs_nsigma=float(observed[0]),
        per_histogram=per_hist[0],
        toys=toys,
        regions=regions,
        windows=windows,
        windows_tested=tested,
    )
    _extrapolate(result)
    return result


def _extrapolate(result: ScanResult) -> None:
    """The extrapolated global p-values of the observed maximum (``scan.tail_samples``
    samples) and of the regions the toys do not resolve (fewer than :data:`RESOLVING_TOYS`
    toys above them; a quarter of the samples each)."""
    config = result.config
    n = config.scan.tail_samples
    if n == 0:
        return
    try:
        tail = GaussianTail(
            result.cells,
            min_entries=config.scan.min_entries,
            normalize=config.scan.normalize,
        )
    except TailNotSupported as err:
        result.extrapolation_unavailable = str(err)
        log.info("no extrapolated global p-value: %s", err)
        return
    root = np.random.SeedSequence([config.scan.seed, _TAIL_STREAM])
    estimates = {}

    def estimate(u: float, samples: int) -> TailEstimate:
        # each threshold draws from its own stream, whatever was asked before it
        if u not in estimates:
            key = int(np.float64(u).view(np.uint64))
            seed = np.random.SeedSequence(root.entropy, spawn_key=(key,))
            estimates[u] = tail.p_value(u, n_samples=samples, seed=seed)
        return estimates[u]

    result.extrapolated = estimate(result.max_abs_nsigma, n)
    for region in result.regions:
        u = abs(region["nsigma"])
        unresolved = np.count_nonzero(result.toys >= u) < RESOLVING_TOYS
        extrapolated = estimate(u, max(1, n // 4)) if unresolved else None
        region["global_p_extrapolated"] = (
            None if extrapolated is None else extrapolated.p_value
        )
        region["global_p_extrapolated_error"] = (
            None if extrapolated is None else extrapolated.p_value_error
        )


#: Events read per work item: weighted events need ~500 bytes each while their weights and
#: systematic variations are evaluated, so their chunks are smaller.
CHUNK_EVENTS = {"unweighted": 1_000_000, "weighted": 250_000}


def _chunk_size(config: Config) -> int:
    return CHUNK_EVENTS["weighted" if is_weighted(config) else "unweighted"]


def fill_cells(
    config: Config, *, executor: Executor | None = None, chunk_size: int | None = None
) -> EventCells:
    """Read ``config.data.paths`` as (file, row groups | entry range) work items on ``executor``.

    Each item is read, split and binned where it runs; the parts merge by concatenation and
    addition, so the cells are identical whatever the executor. ``chunk_size``: events per
    work item (default :data:`CHUNK_EVENTS`).
    """
    parts = map_events(
        chunk_units,
        config,
        executor=executor,
        chunk_size=chunk_size or _chunk_size(config),
    )
    return build_cells(parts, config)


def run_scan(
    config: Config,
    *,
    events: Events | None = None,
    executor: Executor | None = None,
    shard_dir: Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
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
        Folder for finished toy shards, so that ``resume=True`` continues an interrupted run
        (``overwrite=True`` discards the shards of an earlier run; see :func:`scan_cells`).
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
        map_events(
            chunk_units,
            config,
            events,
            executor=executor,
            chunk_size=_chunk_size(config),
        ),
        config,
    )
    result = scan_cells(
        cells,
        config,
        executor=executor,
        shard_dir=shard_dir,
        resume=resume,
        overwrite=overwrite,
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
