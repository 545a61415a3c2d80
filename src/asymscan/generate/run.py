"""Generating the e-mu pools in parallel and writing them as Parquet, one file per pool.

Each pool's events are split into shards of at most ``shard_size`` events; a shard is one PYTHIA
run with its own seed, spawned from ``numpy.random.SeedSequence([seed, crc32(pool name)])``, so
a pool's content depends on the seed and the shard size only, never on the number of workers or
on which other pools are generated alongside. Shards run on a process pool; their results are
merged in shard order and written atomically.

A pool file holds one row per selected event (the columns of
:data:`~asymscan.generate.detector.COLUMNS`, plus ``shard``) and, in the Parquet schema metadata
under the key ``asymscan``, a JSON document with the generator settings, seeds, cross sections
and efficiency. The expected number of selected events for a luminosity L (and, for a signal
pool, a branching ratio BR(H -> LFV)) is ``sigma_selected_fb * L [* BR]``; see
:func:`expected_events`.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import multiprocessing
import queue as queue_module
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..errors import ConfigError, DataError
from ..report.files import atomic_path
from .detector import COLUMNS, DetectorConfig
from .processes import COMMON_SETTINGS, Process, resolve_processes
from .pythia import ShardResult, run_shard

__all__ = (
    "METADATA_KEY",
    "Pool",
    "expected_events",
    "generate_emu",
    "read_pool",
)

log = logging.getLogger(__name__)

#: Key of the JSON document in the Parquet schema metadata.
METADATA_KEY = "asymscan"
_FORMAT = "asymscan.emu-pool/1"

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
class _Task:
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


_reports: Any = None


def _init_worker(reports: Any) -> None:
    global _reports
    _reports = reports


def _run_task(task: _Task) -> ShardResult:
    def on_batch(n: int) -> None:
        if _reports is not None:
            _reports.put((task.process.name, n))

    return run_shard(
        task.process,
        task.n_events,
        task.seed,
        task.detector,
        shard=task.shard,
        batch_size=task.batch_size,
        on_batch=on_batch,
    )


def generate_emu(
    out_dir: str | Path,
    processes: str | Sequence[str | Process] = "all",
    n_events: int | dict[str, int] = 10_000,
    seed: int = 1,
    workers: int = 2,
    detector: DetectorConfig | None = None,
    progress: ProgressCallback | None = None,
    *,
    shard_size: int = 20_000,
    batch_size: int = 100,
) -> dict[str, Pool]:
    """Generate e-mu pools with PYTHIA 8 and the detector emulation; write one Parquet each.

    Parameters
    ----------
    out_dir
        Folder of the output, ``<pool>.parquet`` per pool.
    processes
        Pool names, comma-separated names, groups (``"sm"``, ``"signal"``, ``"all"``) or
        :class:`~asymscan.generate.processes.Process` objects.
    n_events
        Events to generate per pool (before selection), or a mapping pool -> events.
    seed
        Root seed; every shard of every pool gets its own child seed.
    workers
        Processes generating in parallel; 1 runs everything in this process.
    detector
        Detector settings; default :class:`~asymscan.generate.detector.DetectorConfig`
        (electrons and muons alike).
    progress
        Called in this process as ``progress(pool, events_done, events_total)`` after every
        batch of generated events.
    shard_size
        Largest number of events of one PYTHIA run.
    batch_size
        Events per ``nextBatch`` call and per progress report.

    Returns
    -------
    dict of str to Pool
        The pools written, by name.

    Examples
    --------
    >>> pools = generate_emu("pools", "ttbar,ggh_taumu", n_events=500)  # doctest: +SKIP
    >>> pools["ttbar"].sigma_selected_fb  # doctest: +SKIP
    """
    procs = resolve_processes(processes)
    detector = DetectorConfig() if detector is None else detector
    if workers < 1:
        msg = f"workers must be >= 1, got {workers}"
        raise ConfigError(msg)
    if shard_size < 1 or batch_size < 1:
        msg = f"shard_size and batch_size must be >= 1, got {shard_size}, {batch_size}"
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
    for p in procs:
        sizes = _shard_sizes(counts[p.name], shard_size)
        seeds = _pool_seed(seed, p.name).spawn(len(sizes))
        tasks += [
            _Task(p, i, n, s, detector, batch_size)
            for i, (n, s) in enumerate(zip(sizes, seeds, strict=True))
        ]
    n_shards = {p.name: sum(t.process.name == p.name for t in tasks) for p in procs}
    done_events = dict.fromkeys(counts, 0)
    results: dict[str, list[ShardResult]] = {p.name: [] for p in procs}
    pools: dict[str, Pool] = {}
    by_name = {p.name: p for p in procs}

    def report(name: str, n: int) -> None:
        done_events[name] += n
        if progress is not None:
            progress(name, done_events[name], counts[name])

    def collect(res: ShardResult) -> None:
        results[res.process].append(res)
        if len(results[res.process]) == n_shards[res.process]:
            proc = by_name[res.process]
            pools[proc.name] = _write_pool(
                out, proc, results.pop(proc.name), seed, detector
            )
            log.info("wrote %s", pools[proc.name].path)

    log.info(
        "generating %d pools, %d shards, on %d worker(s)",
        len(procs),
        len(tasks),
        workers,
    )
    if workers == 1:
        for task in tasks:
            on_batch = functools.partial(report, task.process.name)
            collect(
                run_shard(
                    task.process,
                    task.n_events,
                    task.seed,
                    task.detector,
                    shard=task.shard,
                    batch_size=task.batch_size,
                    on_batch=on_batch,
                )
            )
        return pools

    # The default start method (fork on Linux before Python 3.14): a script calling this on a
    # platform that spawns needs the usual ``if __name__ == "__main__":`` guard.
    context = multiprocessing.get_context()
    reports = context.Queue()

    def drain() -> None:
        while True:
            try:
                name, n = reports.get_nowait()
            except queue_module.Empty:
                return
            report(name, n)

    executor = ProcessPoolExecutor(
        max_workers=min(workers, len(tasks)),
        mp_context=context,
        initializer=_init_worker,
        initargs=(reports,),
    )
    try:
        pending: set[Future[ShardResult]] = {
            executor.submit(_run_task, task) for task in tasks
        }
        while pending:
            finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            drain()
            for fut in finished:
                collect(fut.result())
        executor.shutdown()
        drain()
    except BaseException:
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        reports.close()
        reports.join_thread()
    return pools


def _write_pool(
    out: Path,
    process: Process,
    shards: list[ShardResult],
    seed: int,
    detector: DetectorConfig,
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
    table = pa.table(columns)
    table = table.replace_schema_metadata({METADATA_KEY: json.dumps(metadata)})
    path = out / f"{process.name}.parquet"
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return Pool(process.name, path, metadata)


def _metadata(
    process: Process, shards: list[ShardResult], seed: int, detector: DetectorConfig
) -> dict[str, Any]:
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
