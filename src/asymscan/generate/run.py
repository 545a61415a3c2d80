"""Generating the e-mu pools in parallel and writing them as Parquet, one file per pool.

Each pool's events are split into shards of at most ``shard_size`` events; a shard is one PYTHIA
run with its own seed, spawned from ``numpy.random.SeedSequence([seed, crc32(pool name)])``, so
a pool's content depends on the seed and the shard size only, never on the number of workers or
on which other pools are generated alongside. Shards are work items of
:func:`asymscan.execution.run_items` (in this process, on a local process pool or on a Dask
cluster); their results are merged in shard order and each pool is written atomically as soon
as its last shard finishes.

A pool file holds one row per selected event (the columns of
:data:`~asymscan.generate.detector.COLUMNS`, plus ``shard``) and, in the Parquet schema metadata
under the key ``asymscan``, a JSON document with the generator settings, seeds, cross sections
and efficiency. The expected number of selected events for a luminosity L (and, for a signal
pool, a branching ratio BR(H -> LFV)) is ``sigma_selected_fb * L [* BR]``; see
:func:`expected_events`.

Long productions keep every finished shard (``shard_dir``): each pool's shards are the items of
a :class:`~asymscan.checkpoint.Checkpointer` in ``<shard_dir>/<pool>/``, stamped with the
pool's settings (process, seed, events, shard size, batch size, detector, PYTHIA version); a
shard is the Parquet file ``item_<index:06d>.parquet`` (:func:`shard_path`) with its selected
events and, in its schema metadata, PYTHIA's counts and cross section. With ``resume=True`` the
shards found there are read back instead of generated again (after checking the stamp), so a
run cut short goes on where it stopped; the pool files are the same as those of an
uninterrupted run. :func:`assemble_pools` writes the pools whose shards are all there.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..checkpoint import Checkpointer, Checkpoints, read_stamp
from ..errors import ConfigError, DataError
from ..execution import executor, report, run_items
from ..files import atomic_path
from .detector import COLUMNS, DetectorConfig
from .processes import COMMON_SETTINGS, Process, resolve_processes
from .pythia import ShardResult, import_pythia, run_shard

__all__ = (
    "DEFAULT_SHARD_SIZE",
    "DEFAULT_WORKERS",
    "METADATA_KEY",
    "SHARDS",
    "Assembly",
    "Pool",
    "assemble_pools",
    "expected_events",
    "generate_emu",
    "read_pool",
    "shard_path",
)

log = logging.getLogger(__name__)

#: Key of the JSON document in the Parquet schema metadata.
METADATA_KEY = "asymscan"
_FORMAT = "asymscan.emu-pool/1"
_SHARD_FORMAT = "asymscan.emu-shard/2"
#: Largest number of events of one PYTHIA run, unless told otherwise.
DEFAULT_SHARD_SIZE = 20_000
#: Local processes generating in parallel, unless told otherwise (or given a Dask cluster).
DEFAULT_WORKERS = 2

#: ``progress(pool, events_done, events_total)``, called in the calling process.
ProgressCallback = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Pool:
    """A written pool: its file and its metadata (see :func:`read_pool`)."""

    name: str
    path: Path
    metadata: dict[str, Any]

    @property
    def n_generated(self) -> int:
        """Events generated, selected or not."""
        return int(self.metadata["n_generated"])

    @property
    def n_selected(self) -> int:
        """Events selected (rows of the file)."""
        return int(self.metadata["n_selected"])

    @property
    def sigma_selected_fb(self) -> float:
        """Selected cross section in fb (per unit BR(H -> LFV) for a signal pool)."""
        return float(self.metadata["sigma_selected_fb"])


@dataclass(frozen=True)
class Assembly:
    """What :func:`assemble_pools` found: the pools written and those still incomplete."""

    pools: dict[str, Pool]
    #: pool -> (shards present, shards planned), for the pools not written
    incomplete: dict[str, tuple[int, int]]


@dataclass(frozen=True)
class _Task:
    """One shard: a work item (``index`` numbers the shards of all pools of the run)."""

    index: int
    process: Process
    shard: int
    n_events: int
    seed: np.random.SeedSequence
    detector: DetectorConfig
    batch_size: int


def _pool_seed(seed: int, name: str) -> np.random.SeedSequence:
    return np.random.SeedSequence([seed, zlib.crc32(name.encode())])


def _shard_sizes(n_events: int, shard_size: int) -> list[int]:
    k = max(1, math.ceil(n_events / shard_size))
    return [n_events // k + (i < n_events % k) for i in range(k)]


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _process_dict(process: Process) -> dict[str, Any]:
    data = dataclasses.asdict(process)
    data.pop("planning_sigma_pb", None)  # plans the run, does not change its events
    return _jsonable(data)


def _process_from_dict(data: dict[str, Any]) -> Process:
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    return Process(**fields)


def _pool_tasks(
    process: Process,
    n_events: int,
    shard_size: int,
    seed: int,
    detector: DetectorConfig,
    batch_size: int,
    first: int = 0,
) -> list[_Task]:
    sizes = _shard_sizes(n_events, shard_size)
    seeds = _pool_seed(seed, process.name).spawn(len(sizes))
    return [
        _Task(first + i, process, i, n, ss, detector, batch_size)
        for i, (n, ss) in enumerate(zip(sizes, seeds, strict=True))
    ]


def _pool_stamp(
    process: Process,
    n_events: int,
    shard_size: int,
    seed: int,
    detector: DetectorConfig,
    batch_size: int,
    pythia: str,
) -> dict[str, Any]:
    """What a pool's shards depend on: the stamp of its shard folder."""
    return {
        "format": _SHARD_FORMAT,
        "process": _process_dict(process),
        "seed": seed,
        "pool_events": n_events,
        "shard_size": shard_size,
        "n_shards": len(_shard_sizes(n_events, shard_size)),
        "batch_size": batch_size,
        "detector": _jsonable(detector.to_dict()),
        "pythia": pythia,
    }


def _pythia_version() -> str:
    pythia = import_pythia().Pythia("", False)
    return f"{pythia.parm('Pythia:versionNumber'):.3f}"


def shard_path(shard_dir: str | Path, pool: str, index: int) -> Path:
    """Path of the file of shard ``index`` of ``pool`` in a shard folder."""
    return Path(shard_dir) / pool / f"item_{index:06d}{SHARDS.suffix}"


_RESULT_FIELDS = tuple(
    f.name for f in dataclasses.fields(ShardResult) if f.name != "columns"
)


@dataclass(frozen=True)
class _ShardFiles:
    """A shard as a Parquet file: its selected events, PYTHIA's counts in the metadata."""

    suffix: str = ".parquet"

    def write(self, path: Path, result: ShardResult) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        meta = {
            "format": _SHARD_FORMAT,
            "asymscan_version": __version__,
            "result": {k: getattr(result, k) for k in _RESULT_FIELDS},
        }
        table = pa.table({key: result.columns[key] for key in COLUMNS})
        table = table.replace_schema_metadata({METADATA_KEY: json.dumps(meta)})
        pq.write_table(table, path)

    def read(self, path: Path) -> ShardResult:
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        raw = (table.schema.metadata or {}).get(METADATA_KEY.encode())
        meta = json.loads(raw) if raw is not None else {}
        if meta.get("format") != _SHARD_FORMAT:
            msg = (
                f"{path} is not an asymscan shard file (format {meta.get('format')!r})"
            )
            raise DataError(msg)
        columns = {name: table.column(name).to_numpy() for name in COLUMNS}
        return ShardResult(columns=columns, **meta["result"])


#: The codec of the shard checkpoints.
SHARDS = _ShardFiles()


def _run_task(task: _Task) -> ShardResult:
    """Run one shard (on a worker), reporting ``(task.index, events)`` after every batch."""
    return run_shard(
        task.process,
        task.n_events,
        task.seed,
        task.detector,
        shard=task.shard,
        batch_size=task.batch_size,
        on_batch=lambda n: report((task.index, n)),
    )


def generate_emu(
    out_dir: str | Path,
    processes: str | Sequence[str | Process] = "all",
    n_events: int | dict[str, int] = 10_000,
    seed: int = 1,
    workers: int | None = None,
    detector: DetectorConfig | None = None,
    progress: ProgressCallback | None = None,
    *,
    shard_size: int | dict[str, int] = DEFAULT_SHARD_SIZE,
    batch_size: int = 100,
    shard_dir: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    scheduler: str | None = None,
) -> dict[str, Pool]:
    """Generate e-mu pools with PYTHIA 8 and the detector emulation; write one Parquet each.

    Parameters
    ----------
    out_dir
        Folder of the output, ``<pool>.parquet`` per pool.
    processes
        Pool names, comma-separated names, groups (``"sm"``, ``"signal"``, ``"all"``) or
        :class:`~asymscan.generate.processes.Process` objects. Shards run in this order (the
        shards of the first pool first).
    n_events
        Events to generate per pool (before selection), or a mapping pool -> events (see
        :func:`~asymscan.generate.processes.events_for_lumi` to size pools by luminosity).
    seed
        Root seed; every shard of every pool gets its own child seed.
    workers
        Local processes generating in parallel (default :data:`DEFAULT_WORKERS`, none with a
        ``scheduler``); 1 runs everything in this process.
    detector
        Detector settings; default :class:`~asymscan.generate.detector.DetectorConfig`
        (electrons and muons alike).
    progress
        Called in this process as ``progress(pool, events_done, events_total)`` after every
        batch of generated events (per shard on a Dask cluster, and once for each shard read
        back on resuming).
    shard_size
        Largest number of events of one PYTHIA run, or a mapping pool -> that number (pools
        left out get :data:`DEFAULT_SHARD_SIZE`). A pool's events depend on it.
    batch_size
        Events per ``nextBatch`` call and per progress report.
    shard_dir
        If given, every finished shard is saved at once in ``<shard_dir>/<pool>/`` (see
        :func:`shard_path`), a checkpoint folder stamped with the pool's settings.
    resume
        Read the shards already in ``shard_dir`` instead of generating them again.
    overwrite
        Discard the shards already in ``shard_dir``. With neither ``resume`` nor
        ``overwrite``, a ``shard_dir`` that holds shards of a requested pool is an error.
    scheduler
        Address of a Dask scheduler to generate on instead of local processes.

    Returns
    -------
    dict of str to Pool
        The pools written, by name.

    Raises
    ------
    ConfigError
        For bad arguments.
    asymscan.checkpoint.CheckpointMismatch
        When ``resume`` and ``shard_dir`` holds shards made with other settings (seed,
        detector, events, shard size, batch size, process or PYTHIA version).
    asymscan.execution.Interrupted
        On Ctrl-C: the finished shards are in ``shard_dir`` (and the finished pools written).

    Examples
    --------
    >>> pools = generate_emu("pools", "ttbar,ggh_taumu", n_events=500)  # doctest: +SKIP
    >>> pools["ttbar"].sigma_selected_fb  # doctest: +SKIP
    """
    procs = resolve_processes(processes)
    detector = DetectorConfig() if detector is None else detector
    if workers is None and scheduler is None:
        workers = DEFAULT_WORKERS
    if workers is not None and workers < 1:
        msg = f"workers must be >= 1, got {workers}"
        raise ConfigError(msg)
    sizes = {
        p.name: int(
            shard_size.get(p.name, DEFAULT_SHARD_SIZE)
            if isinstance(shard_size, dict)
            else shard_size
        )
        for p in procs
    }
    if min(sizes.values()) < 1 or batch_size < 1:
        msg = f"shard sizes and batch_size must be >= 1, got {sizes}, {batch_size}"
        raise ConfigError(msg)
    if resume and shard_dir is None:
        msg = "resume=True needs a shard_dir to resume from"
        raise ConfigError(msg)
    if resume and overwrite:
        msg = "give either resume or overwrite, not both"
        raise ConfigError(msg)
    counts: dict[str, int] = {}
    for p in procs:
        n = n_events.get(p.name) if isinstance(n_events, dict) else n_events
        if n is None or int(n) < 1:
            msg = f"number of events of pool {p.name!r} must be >= 1, got {n}"
            raise ConfigError(msg)
        counts[p.name] = int(n)
    out = Path(out_dir)

    tasks: list[_Task] = []
    settings = {}
    for p in procs:
        settings[p.name] = (counts[p.name], sizes[p.name], seed, detector, batch_size)
        tasks += _pool_tasks(p, *settings[p.name], first=len(tasks))
    checkpoint = None
    if shard_dir is not None:
        pythia = _pythia_version()
        folders = {
            p.name: Checkpointer(
                Path(shard_dir) / p.name,
                _pool_stamp(p, *settings[p.name], pythia),
                resume=resume,
                overwrite=overwrite,
                codec=SHARDS,
            )
            for p in procs
        }
        checkpoint = Checkpoints([(folders[t.process.name], t.shard) for t in tasks])

    n_shards = {p.name: sum(t.process.name == p.name for t in tasks) for p in procs}
    by_name = {p.name: p for p in procs}
    task_events = [0] * len(tasks)
    pool_events = dict.fromkeys(counts, 0)
    finished: dict[str, dict[int, ShardResult]] = {p.name: {} for p in procs}
    pools: dict[str, Pool] = {}
    done: set[int] = set()

    def count(index: int, n: int) -> None:
        name = tasks[index].process.name
        task_events[index] += n
        pool_events[name] += n
        if progress is not None:
            progress(name, pool_events[name], counts[name])

    def on_report(message: tuple[int, int]) -> None:
        index, n = message
        if index not in done:  # a late message of a finished shard
            count(index, n)

    def on_result(index: int, res: ShardResult) -> None:
        name = res.process
        count(index, res.n_generated - task_events[index])
        done.add(index)
        finished[name][res.shard] = res
        log.info(
            "%s shard %d/%d: %d events, %d selected, %.0f s",
            name,
            res.shard + 1,
            n_shards[name],
            res.n_generated,
            len(res.columns["event"]),
            res.seconds,
        )
        if len(finished[name]) == n_shards[name]:
            shards = finished.pop(name)
            pools[name] = _write_pool(
                out, by_name[name], list(shards.values()), seed, detector
            )
            log.info("wrote %s", pools[name].path)

    where = f"a Dask cluster at {scheduler}" if scheduler else f"{workers} worker(s)"
    log.info("generating %d pools, %d shards, on %s", len(procs), len(tasks), where)
    local = None if scheduler is not None else min(workers or 1, len(tasks))
    with executor(local if local != 1 else None, scheduler) as pool:
        run_items(
            _run_task,
            tasks,
            executor=pool,
            checkpoint=checkpoint,
            on_result=on_result,
            on_report=on_report,
            what="shards",
        )
    return pools


def assemble_pools(
    shard_dir: str | Path, out_dir: str | Path, *, mantissa_bits: int | None = None
) -> Assembly:
    """Write the pool files of the pools whose planned shards are all in ``shard_dir``.

    Parameters
    ----------
    shard_dir
        A shard folder written by :func:`generate_emu` (``shard_dir=...``): one checkpoint
        folder per pool.
    out_dir
        Folder of the output, ``<pool>.parquet`` per complete pool; the files are the same as
        :func:`generate_emu` writes.
    mantissa_bits
        ``None``: floats as generated (float32). An integer (8-22): every float column is
        rounded to this many mantissa bits (relative precision ``2**-(bits + 1)``, e.g.
        3e-5 for 14, far below the detector resolution) and the file is compressed with
        zstd, for the compact copy shipped with the package; recorded in the metadata.

    Returns
    -------
    Assembly
        The pools written and, for the incomplete ones (not written), how many of their
        planned shards are present.
    """
    if mantissa_bits is not None:
        round_mantissa(np.zeros(0, np.float32), mantissa_bits)  # validate early
    shards = Path(shard_dir)
    stamps = {
        folder.name: stamp
        for folder in (sorted(shards.iterdir()) if shards.is_dir() else [])
        if folder.is_dir()
        and (stamp := read_stamp(folder)) is not None
        and stamp.get("format") == _SHARD_FORMAT
    }
    if not stamps:
        msg = (
            f"{shards} holds no shard folders of generate_emu (<pool>/checkpoint.json)"
        )
        raise DataError(msg)
    out = Path(out_dir)
    pools: dict[str, Pool] = {}
    incomplete: dict[str, tuple[int, int]] = {}
    for name, stamp in stamps.items():
        folder = Checkpointer(shards / name, stamp, resume=True, codec=SHARDS)
        present = folder.saved()
        if len(present) < stamp["n_shards"]:
            incomplete[name] = (len(present), stamp["n_shards"])
            log.warning("pool %s incomplete: %d of %d shards", name, *incomplete[name])
            continue
        results = [folder.load(i) for i in range(stamp["n_shards"])]
        pools[name] = _write_pool(
            out,
            _process_from_dict(stamp["process"]),
            results,
            stamp["seed"],
            DetectorConfig.from_dict(stamp["detector"]),
            mantissa_bits,
        )
        log.info("wrote %s", pools[name].path)
    return Assembly(pools, incomplete)


def _write_pool(
    out: Path,
    process: Process,
    shards: list[ShardResult],
    seed: int,
    detector: DetectorConfig,
    mantissa_bits: int | None = None,
) -> Pool:
    import pyarrow as pa
    import pyarrow.parquet as pq

    shards = sorted(shards, key=lambda r: r.shard)
    columns = {
        "shard": np.concatenate(
            [np.full(len(r.columns["event"]), r.shard, dtype=np.int32) for r in shards]
        )
    }
    for key in COLUMNS:
        columns[key] = np.concatenate([r.columns[key] for r in shards])
    metadata = _metadata(process, shards, seed, detector)
    options: dict[str, Any] = {}
    if mantissa_bits is not None:
        columns = {k: round_mantissa(v, mantissa_bits) for k, v in columns.items()}
        metadata["float_mantissa_bits"] = mantissa_bits
        options = {"compression": "zstd", "compression_level": 19}
    table = pa.table(columns)
    table = table.replace_schema_metadata({METADATA_KEY: json.dumps(metadata)})
    path = out / f"{process.name}.parquet"
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, **options)
    return Pool(process.name, path, metadata)


def round_mantissa(values: np.ndarray, bits: int) -> np.ndarray:
    """float32 ``values`` rounded (to nearest) to ``bits`` mantissa bits; others unchanged.

    The rounded floats compress several times better; the relative change is at most
    ``2**-(bits + 1)``.
    """
    if isinstance(bits, bool) or not isinstance(bits, int) or not 8 <= bits <= 22:
        msg = f"mantissa_bits must be an integer in [8, 22], got {bits!r}"
        raise ConfigError(msg)
    if values.dtype != np.float32:
        return values
    drop = 23 - bits
    raw = values.view(np.uint32).astype(np.uint64)
    raw = ((raw + (1 << (drop - 1))) >> drop) << drop
    out = raw.astype(np.uint32).view(np.float32)
    # never round a finite value to inf/nan (the largest floats): keep those as they are
    return np.where(np.isfinite(out) | ~np.isfinite(values), out, values)


def _metadata(
    process: Process, shards: list[ShardResult], seed: int, detector: DetectorConfig
) -> dict[str, Any]:
    versions = sorted({r.pythia_version for r in shards})
    if len(versions) > 1:
        msg = f"the shards of pool {process.name!r} come from PYTHIA {versions}"
        raise DataError(msg)
    n_gen = sum(r.n_generated for r in shards)
    n_sel = sum(len(r.columns["event"]) for r in shards)
    n_acc = sum(r.n_accepted for r in shards)
    # PYTHIA's cross sections of the shards, averaged with their accepted events as weights
    sigma = sum(r.sigma_pb * r.n_accepted for r in shards) / n_acc
    sigma_err = (
        math.sqrt(sum((r.sigma_err_pb * r.n_accepted) ** 2 for r in shards)) / n_acc
    )
    tau_factor = shards[0].tau_factor
    higgs_open = shards[0].higgs_open_fraction
    sigma_eff = sigma * tau_factor
    if process.kind == "signal":
        sigma_eff /= higgs_open
    eff = n_sel / n_gen
    eff_err = math.sqrt(max(eff * (1 - eff), 1.0 / n_gen) / n_gen)
    sigma_sel_fb = sigma_eff * 1e3 * eff
    return {
        "format": _FORMAT,
        "asymscan_version": __version__,
        "process": process.name,
        "description": process.description,
        "kind": process.kind,
        "generator": {
            "name": "PYTHIA",
            "version": shards[0].pythia_version,
            "settings": [*COMMON_SETTINGS, *process.settings],
            "tau_decay_tables": [list(t) for t in process.tau_configurations],
            "per_shard_settings": [
                "Random:setSeed = on",
                "Random:seed = <pythia_seed>",
            ],
        },
        "detector": detector.to_dict(),
        "seed": seed,
        "seed_sequence": "SeedSequence([seed, crc32(process)]).spawn(n_shards); "
        "each shard's child spawns (PYTHIA seed, detector rng)",
        "shards": [
            {
                "shard": r.shard,
                "n_generated": r.n_generated,
                "n_selected": len(r.columns["event"]),
                "pythia_seed": r.pythia_seed,
                "sigma_pb": r.sigma_pb,
                "sigma_err_pb": r.sigma_err_pb,
                "n_tried": r.n_tried,
                "n_accepted": r.n_accepted,
                "tau_table_events": r.tau_table_events,
                "wall_s": r.seconds,
                "cpu_s": r.cpu_seconds,
            }
            for r in shards
        ],
        "n_generated": n_gen,
        "n_selected": n_sel,
        "efficiency": eff,
        "efficiency_err": eff_err,
        "sigma_pythia_pb": sigma,
        "sigma_pythia_err_pb": sigma_err,
        "forced_taus": process.forced_taus,
        "tau_factor": tau_factor,
        "higgs_open_fraction": higgs_open if process.kind == "signal" else None,
        "sigma_eff_pb": sigma_eff,
        "sigma_selected_fb": sigma_sel_fb,
        "lumi_fb": n_gen / (sigma_eff * 1e3) if sigma_eff > 0 else math.inf,
        "normalisation": (
            "per unit BR(H -> LFV): expected events = sigma_selected_fb * L[fb^-1] * BR"
            if process.kind == "signal"
            else "expected events = sigma_selected_fb * L[fb^-1]"
        ),
        "columns": {"shard": "index of the PYTHIA run (shard) in the pool", **COLUMNS},
    }


def read_pool(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a pool file: its columns as numpy arrays and its metadata.

    Raises
    ------
    DataError
        If the file carries no asymscan pool metadata.
    """
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    meta = (table.schema.metadata or {}).get(METADATA_KEY.encode())
    if meta is None:
        msg = f"{path} is not an asymscan pool: no {METADATA_KEY!r} Parquet metadata"
        raise DataError(msg)
    columns = {name: table.column(name).to_numpy() for name in table.column_names}
    return columns, json.loads(meta)


def expected_events(
    pool: Pool | dict[str, Any], lumi_fb: float, branching_ratio: float | None = None
) -> float:
    """Expected number of selected events of a pool for a luminosity (and BR, for a signal).

    Parameters
    ----------
    pool
        A :class:`Pool` or its metadata.
    lumi_fb
        Integrated luminosity in fb^-1.
    branching_ratio
        BR(H -> LFV) of a signal pool (required for one, not allowed for a background).
    """
    meta = pool.metadata if isinstance(pool, Pool) else pool
    if lumi_fb < 0:
        msg = f"lumi_fb must be >= 0, got {lumi_fb}"
        raise ConfigError(msg)
    n = float(meta["sigma_selected_fb"]) * lumi_fb
    if meta["kind"] == "signal":
        if branching_ratio is None or not 0 <= branching_ratio <= 1:
            msg = f"a signal pool needs a branching ratio in [0, 1], got {branching_ratio}"
            raise ConfigError(msg)
        return n * branching_ratio
    if branching_ratio is not None:
        msg = f"pool {meta['process']!r} is a background: it takes no branching ratio"
        raise ConfigError(msg)
    return n
