"""Running PYTHIA 8 for one pool and one seed, with the detector emulation on its events.

PYTHIA comes from the ``pythia8mc`` wheel on PyPI (``pip install 'asymscan[pythia]'``); it is
imported only when a shard runs. Events are produced in batches with ``Pythia.nextBatch``
(an Awkward Array of the full event records), turned into flat numpy arrays and passed to
:func:`~asymscan.generate.detector.simulate_detector`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._optional import require
from ..errors import AsymscanError, ConfigError
from .detector import DetectorConfig, simulate_detector
from .events import EventBatch, Particles, hadron_flavour, is_hadron
from .processes import Process, pythia_settings

__all__ = ("ShardResult", "event_batch", "import_pythia", "run_shard")

log = logging.getLogger(__name__)

_MB_TO_PB = 1e9


def import_pythia() -> Any:
    """The ``pythia8mc`` module, or a ``ModuleNotFoundError`` that says how to install it."""
    return require("pythia8mc")


@dataclass
class ShardResult:
    """What one PYTHIA run (one pool, one seed) produced.

    Attributes
    ----------
    process
        Name of the pool.
    shard
        Index of the shard within the pool.
    n_generated
        Events generated (accepted by PYTHIA), selected or not.
    columns
        The selected events, one array per column of
        :data:`~asymscan.generate.detector.COLUMNS`.
    sigma_pb, sigma_err_pb
        PYTHIA's cross section of the run and its statistical error, in pb; it already
        includes the open fractions of the resonances' decay tables (W, Z, H, t).
    n_tried, n_accepted
        PYTHIA's counts of tried and accepted events.
    tau_factor
        Factor the forced tau decays bring to the cross section (1 when tau decays are free):
        the sum over the tau decay tables cycled through (each used for an equal share of the
        events) of the product of the forced taus' open branching fractions.
    tau_table_events
        Events generated with each tau decay table.
    higgs_open_fraction
        Fraction of Higgs decays left open (PYTHIA's ``resOpenFrac(25)``).
    pythia_seed
        The ``Random:seed`` used.
    pythia_version
        PYTHIA's version number.
    seconds, cpu_seconds
        Wall and CPU time of generation and detector emulation (initialisation included).
    timings
        Wall time of initialisation, generation and detector emulation.
    """

    process: str
    shard: int
    n_generated: int
    columns: dict[str, np.ndarray]
    sigma_pb: float
    sigma_err_pb: float
    n_tried: int
    n_accepted: int
    tau_factor: float
    tau_table_events: list[int]
    higgs_open_fraction: float
    pythia_seed: int
    pythia_version: str
    seconds: float
    cpu_seconds: float
    timings: dict[str, float] = field(default_factory=dict)


def event_batch(run: Any) -> EventBatch:
    """Flat numpy arrays of final-state particles and heavy-flavour hadrons of a batch.

    Parameters
    ----------
    run
        The Awkward Array returned by ``Pythia.nextBatch`` (field ``prt``: the particles).
    """
    ak = require("awkward")
    prt = run.prt
    counts = ak.to_numpy(ak.num(prt)).astype(np.int64)
    n = len(counts)
    flat = ak.flatten(prt)
    pid = ak.to_numpy(flat.id).astype(np.int64)
    status = ak.to_numpy(flat.status)
    mom = flat.p
    px, py, pz, e = (ak.to_numpy(mom[k]).astype(float) for k in ("px", "py", "pz", "e"))
    event = np.repeat(np.arange(n, dtype=np.int64), counts)
    start = np.cumsum(counts) - counts
    mother = ak.to_numpy(flat.mother1).astype(np.int64) + start[event]
    final = status > 0
    from_hadron = is_hadron(pid[mother])
    heavy = hadron_flavour(pid) > 0
    all_particles = Particles(event, pid, px, py, pz, e, from_hadron)
    return EventBatch(
        n_events=n,
        final=all_particles.take(final),
        heavy=all_particles.take(heavy),
    )


def _seeds(seed: np.random.SeedSequence | int) -> tuple[int, np.random.Generator]:
    ss = (
        seed
        if isinstance(seed, np.random.SeedSequence)
        else np.random.SeedSequence(seed)
    )
    gen_ss, det_ss = ss.spawn(2)
    pythia_seed = int(gen_ss.generate_state(1, np.uint64)[0] % 900_000_000) + 1
    return pythia_seed, np.random.default_rng(det_ss)


def _tau_factor(pythia: Any, forced_taus: int) -> float:
    """Product of the open branching fractions of ``forced_taus`` taus, half of each charge."""
    entry = pythia.particleData.particleDataEntryPtr(15)
    total = minus = plus = 0.0
    for i in range(entry.sizeChannels()):
        channel = entry.channel(i)
        br, mode = channel.bRatio(), channel.onMode()
        total += br
        minus += br * (mode in (1, 2))
        plus += br * (mode in (1, 3))
    if total <= 0:
        return 1.0
    return float((minus / total * plus / total) ** (forced_taus / 2))


def _apply(pythia: Any, settings: tuple[str, ...]) -> None:
    for setting in settings:
        if not pythia.readString(setting):
            msg = f"PYTHIA rejected the setting {setting!r}"
            raise ConfigError(msg)


def run_shard(
    process: Process,
    n_events: int,
    seed: np.random.SeedSequence | int,
    detector: DetectorConfig | None = None,
    *,
    shard: int = 0,
    batch_size: int = 100,
    on_batch: Callable[[int], None] | None = None,
) -> ShardResult:
    """Generate ``n_events`` events of ``process`` with PYTHIA and select e-mu events.

    Parameters
    ----------
    process
        The pool to generate.
    n_events
        Number of events to generate (before selection).
    seed
        A ``SeedSequence`` (or an int for one); it is split into PYTHIA's ``Random:seed``
        and the detector's random generator.
    detector
        Detector settings; default :class:`~asymscan.generate.detector.DetectorConfig`.
    shard
        Index stored with the result.
    batch_size
        Events per ``nextBatch`` call (and per ``on_batch`` report).
    on_batch
        Called with the number of events just generated, after every batch.

    Returns
    -------
    ShardResult
    """
    if n_events < 1:
        msg = f"n_events must be >= 1, got {n_events}"
        raise ConfigError(msg)
    if batch_size < 1:
        msg = f"batch_size must be >= 1, got {batch_size}"
        raise ConfigError(msg)
    detector = DetectorConfig() if detector is None else detector
    p8 = import_pythia()
    require("fastjet")
    start = time.perf_counter()
    cpu_start = time.process_time()
    pythia_seed, rng = _seeds(seed)
    pythia = p8.Pythia("", False)
    _apply(pythia, tuple(pythia_settings(process, pythia_seed)))
    if not pythia.init():
        msg = f"PYTHIA failed to initialise process {process.name!r}"
        raise AsymscanError(msg)
    # forced tau decay tables: their factors, then cycled through within every batch
    tables = process.tau_configurations
    factors = []
    for table in tables:
        _apply(pythia, table)
        factors.append(_tau_factor(pythia, process.forced_taus))
    tau_factor = float(sum(factors)) if tables else 1.0
    table_events = [0] * max(1, len(tables))
    t_init = time.perf_counter() - start
    t_gen = t_det = 0.0
    parts: list[dict[str, np.ndarray]] = []
    done = 0
    while done < n_events:
        m = min(batch_size, n_events - done)
        k = len(table_events)
        # split the batch evenly between the tau tables (first ones get the remainder)
        sizes = [m // k + (i < m % k) for i in range(k)]
        for i, n in enumerate(sizes):
            if n == 0:
                continue
            if len(tables) > 1:
                _apply(pythia, tables[i])
            t0 = time.perf_counter()
            try:
                run = pythia.nextBatch(n, 10.0)
            except RuntimeError as err:
                msg = f"PYTHIA failed too often in process {process.name!r}: {err}"
                raise AsymscanError(msg) from err
            batch = event_batch(run)
            t1 = time.perf_counter()
            cols = simulate_detector(batch, detector, rng)
            cols["event"] = cols["event"] + done
            parts.append(cols)
            t_det += time.perf_counter() - t1
            t_gen += t1 - t0
            done += batch.n_events
            table_events[i] += batch.n_events
            if on_batch is not None:
                on_batch(batch.n_events)
    info = pythia.infoPython()
    columns = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    result = ShardResult(
        process=process.name,
        shard=shard,
        n_generated=done,
        columns=columns,
        sigma_pb=info.sigmaGen() * _MB_TO_PB,
        sigma_err_pb=info.sigmaErr() * _MB_TO_PB,
        n_tried=int(info.nTried()),
        n_accepted=int(info.nAccepted()),
        tau_factor=tau_factor,
        tau_table_events=table_events,
        higgs_open_fraction=float(pythia.particleData.resOpenFrac(25, 0, 0)),
        pythia_seed=pythia_seed,
        pythia_version=f"{pythia.parm('Pythia:versionNumber'):.3f}",
        seconds=time.perf_counter() - start,
        cpu_seconds=time.process_time() - cpu_start,
        timings={"init": t_init, "generation": t_gen, "detector": t_det},
    )
    log.debug(
        "%s shard %d: %d events, %d selected, sigma %.4g pb, %.1f s",
        process.name,
        shard,
        done,
        len(columns["event"]),
        result.sigma_pb,
        result.seconds,
    )
    return result
