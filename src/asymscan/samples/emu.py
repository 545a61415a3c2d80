"""Unit-weight e-mu data sets drawn from the generated pools, for any luminosity and BR.

Every Standard-Model process (and every Higgs LFV signal) is generated into its own pool
(:mod:`asymscan.generate`); a data set is assembled by drawing, for each pool, a Poisson number
of distinct events. The e-mu and mu-e samples of Sec. 3 of Birman et al. 2022 are the rows with
``lead_flavour == 11`` and ``13``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError
from ..generate.detector import COLUMNS
from ..generate.processes import BACKGROUNDS, SIGNALS
from ._pools import PoolInfo, find_pools, read_table
from .detector import EFFICIENCY_COLUMNS, REALISTIC, Detector

__all__ = ("SIGNAL_CHANNELS", "PoolSummary", "available_lumi", "emu", "pool_summary")

log = logging.getLogger(__name__)

#: Signal channel -> its pools (gluon fusion and vector-boson fusion).
SIGNAL_CHANNELS: dict[str, tuple[str, ...]] = {
    "taumu": tuple(n for n in SIGNALS if n.endswith("_taumu")),
    "taue": tuple(n for n in SIGNALS if n.endswith("_taue")),
}

#: The detectors :func:`emu` knows by name (``None`` is ``"ideal"``).
DETECTORS = ("ideal", "realistic")

_KEY = ("shard", "event")
_ALL_COLUMNS = ("shard", *COLUMNS)


def _signal_pools(signal: str | Sequence[str] | None) -> tuple[str, ...]:
    if signal is None:
        return ()
    channels = [signal] if isinstance(signal, str) else list(signal)
    out: list[str] = []
    for ch in channels:
        if ch not in SIGNAL_CHANNELS:
            msg = f"unknown signal {ch!r}; choose None, one of {sorted(SIGNAL_CHANNELS)}, or a tuple of them"
            raise ConfigError(msg)
        out += [n for n in SIGNAL_CHANNELS[ch] if n not in out]
    return tuple(out)


def _columns(columns: Sequence[str] | None) -> tuple[str, ...]:
    if columns is None:
        return _ALL_COLUMNS
    unknown = sorted(set(columns) - set(_ALL_COLUMNS))
    if unknown:
        msg = f"unknown column(s) {unknown}; valid: {', '.join(_ALL_COLUMNS)}"
        raise ConfigError(msg)
    # the event key always comes along, so that draws can be checked for duplicates
    return (*_KEY, *(c for c in columns if c not in _KEY))


def _detector(detector: str | Detector | None) -> Detector | None:
    if detector is None or isinstance(detector, Detector):
        return detector
    if isinstance(detector, str) and detector in DETECTORS:
        return None if detector == "ideal" else REALISTIC
    msg = (
        f"unknown detector {detector!r}; choose None, one of {', '.join(map(repr, DETECTORS))}, "
        "or an asymscan.samples.Detector"
    )
    raise ConfigError(msg)


def emu(
    lumi: float = 20.0,
    signal: str | Sequence[str] | None = None,
    branching_ratio: float = 0.0,
    rng: np.random.Generator | int | None = None,
    pools: str | Path | None = None,
    *,
    columns: Sequence[str] | None = None,
    shuffle: bool = True,
    detector: str | Detector | None = None,
) -> dict[str, np.ndarray]:
    """Draw a unit-weight e-mu data set for a luminosity (and an LFV Higgs signal).

    For every Standard-Model pool (and every pool of the chosen signal), the number of events
    is drawn as N ~ Poisson(sigma_selected_fb x ``lumi`` [x ``branching_ratio``]) and N
    *distinct* events are drawn from the pool's selected events, without replacement.

    Events are never drawn twice. An event drawn twice carries the same e/mu label both times,
    so B - A (mu-e minus e-mu counts, per bin) receives +-2 instead of two independent +-1: with
    f draws per pool event on average, Var(B - A) = E[N] (1 + f) instead of the Poisson E[N]
    that every test of the symmetry assumes (Sec. 2 of Birman et al. 2022). A full scan of
    Standard-Model-only data drawn with replacement then finds "significant" asymmetries that
    are only repeated events. Without replacement, each pool event is kept or not, which thins
    the pool's (Poisson) events into a Poisson sample, and Var(B - A) = E[N] holds.

    Refusal rule: a pool is refused (:class:`~asymscan.errors.DataError`) when its expected
    yield exceeds its number of selected events, i.e. for ``lumi`` above the pool's own
    luminosity n_selected / sigma_selected_fb (divided by the BR for a signal). Below that, a
    Poisson draw larger than the pool (likely only within a few sqrt(expected) of the limit)
    is capped at the whole pool and logged. The cap slightly narrows the distribution of that
    pool's total, but not Var(B - A), which is E[N] for any distribution of N as long as the
    events are distinct; :func:`pool_summary` gives, per pool, both the limit and the
    luminosity below which the cap practically never acts (expected + 5 sqrt(expected)).
    The refusal depends on the request only, never on the random draw. The pools of one
    folder are finite: data sets drawn at a luminosity L from pools of luminosity L0 share a
    fraction about L / L0 of their events, so they are not independent experiments.

    Parameters
    ----------
    lumi
        Integrated luminosity in fb^-1 (>= 0).
    signal
        ``None`` (Standard Model only), ``"taumu"`` (H -> tau mu, tau -> e), ``"taue"``
        (H -> tau e, tau -> mu) or a tuple of both; each channel takes its gluon-fusion and
        vector-boson-fusion pools.
    branching_ratio
        BR(H -> LFV) of every chosen signal channel, in [0, 1]; must be 0 without a signal.
    rng
        Generator or seed.
    pools
        Folder of pool files (``<pool>.parquet``, as written by
        :func:`asymscan.generate.generate_emu` or :func:`asymscan.generate.assemble_pools`);
        default the package's shipped sample, :data:`asymscan.samples.DEFAULT_POOLS`.
    columns
        Columns to read (default all of :data:`asymscan.generate.COLUMNS` and ``shard``);
        ``shard`` and ``event`` are always included.
    shuffle
        Shuffle the rows (otherwise they are grouped by pool, in pool order).
    detector
        ``None`` or ``"ideal"``: the pools as generated, electrons and muons found alike
        (exactly the events drawn before this option existed, for the same ``rng``).
        ``"realistic"`` (:data:`asymscan.samples.REALISTIC`) or a
        :class:`~asymscan.samples.Detector` (e.g. from
        :func:`~asymscan.samples.realistic_detector`): after the draw above, each event is kept
        independently with probability its true event efficiency,
        :meth:`Detector.event_efficiency` (electron = lep1 if ``lead_flavour == 11``, else
        lep2), using the same generator. Thinning keeps the yields Poisson and the events
        distinct, but the e-mu and mu-e samples now differ: the electron is the soft lepton
        in mu-e, and electrons are found less efficiently than muons at low pT. The columns
        the efficiency needs are read even when ``columns`` leaves them out (and then dropped).

    Returns
    -------
    dict of str to numpy.ndarray
        One array per column, all of the same length (one row per event, unit weight), plus
        ``process``: the pool name of each row (a numpy unicode array). ``(process, shard,
        event)`` identifies an event uniquely.

    Raises
    ------
    DataError
        If the folder holds no pools (the shipped sample is not built yet), lacks a needed
        pool, or a pool cannot serve the requested luminosity / branching ratio (the message
        names the pool and the largest luminosity and BR it serves).
    ConfigError
        For a negative luminosity, a BR outside [0, 1], a BR without a signal, or an unknown
        signal, column or detector.

    References
    ----------
    Birman et al. 2022, Sec. 3 (the e-mu and mu-e samples); Sec. 2 (Poisson statistics of
    the N_sigma test).

    Examples
    --------
    >>> data = emu(20.0, signal="taumu", branching_ratio=1e-3, rng=1)  # doctest: +SKIP
    >>> a = data["lead_flavour"] == 11  # e-mu sample  # doctest: +SKIP
    >>> real = emu(20.0, rng=1, detector="realistic")  # doctest: +SKIP
    """
    if not lumi >= 0:
        msg = f"lumi must be >= 0 fb^-1, got {lumi}"
        raise ConfigError(msg)
    if not 0 <= branching_ratio <= 1:
        msg = f"branching_ratio must lie in [0, 1], got {branching_ratio}"
        raise ConfigError(msg)
    sig = _signal_pools(signal)
    if not sig and branching_ratio > 0:
        msg = (
            f"branching_ratio={branching_ratio} given without a signal: pass signal="
            f"{' or '.join(repr(c) for c in SIGNAL_CHANNELS)}"
        )
        raise ConfigError(msg)
    det = _detector(detector)
    cols = _columns(columns)
    read = (
        cols
        if det is None
        else (*cols, *(c for c in EFFICIENCY_COLUMNS if c not in cols))
    )
    infos = find_pools(pools, (*BACKGROUNDS, *sig))
    expected = {n: info.expected(lumi, branching_ratio) for n, info in infos.items()}
    too_small = [n for n in infos if expected[n] > infos[n].n_selected]
    if too_small:
        raise DataError(_refusal(infos, too_small, expected, lumi, branching_ratio))

    gen = np.random.default_rng(rng)
    tables, names, counts = [], [], []
    for name, info in infos.items():
        n_draw = int(gen.poisson(expected[name]))
        if n_draw > info.n_selected:
            log.info(
                "pool %s: Poisson draw %d above its %d events (expected %.1f); "
                "taking the whole pool",
                name,
                n_draw,
                info.n_selected,
                expected[name],
            )
            n_draw = info.n_selected
        idx = np.sort(gen.choice(info.n_selected, size=n_draw, replace=False))
        tables.append(read_table(info, read).take(idx))
        names.append(name)
        counts.append(n_draw)

    import pyarrow as pa

    table = pa.concat_tables(tables)
    data = {c: table.column(c).to_numpy() for c in read}
    data["process"] = np.repeat(np.array(names), counts)
    if det is not None:
        data, counts = _thin(data, det, gen, counts)
        # drop the columns read only for the efficiency
        data = {k: data[k] for k in (*cols, "process")}
    if shuffle:
        perm = gen.permutation(len(data["process"]))
        data = {k: v[perm] for k, v in data.items()}
    log.info(
        "e-mu sample: %.4g fb^-1, signal %s, BR %.3g: %d events (%s)",
        lumi,
        signal,
        branching_ratio,
        len(data["process"]),
        ", ".join(f"{n} {c}" for n, c in zip(names, counts, strict=True)),
    )
    return data


def _thin(
    data: dict[str, np.ndarray],
    det: Detector,
    gen: np.random.Generator,
    counts: list[int],
) -> tuple[dict[str, np.ndarray], list[int]]:
    """Keep each event with probability its true efficiency (rows grouped by pool, ``counts``)."""
    eff = det.event_efficiency(data)
    keep = gen.random(len(eff)) < eff
    drawn = len(keep)
    kept_counts = [int(k.sum()) for k in np.split(keep, np.cumsum(counts)[:-1])]
    flavour = data["lead_flavour"]
    a, b = flavour == 11, flavour == 13
    log.info(
        "detector %s: kept %d of %d events (%.4f; e-mu %.4f, mu-e %.4f)",
        det.description or "(custom)",
        int(keep.sum()),
        drawn,
        keep.mean() if drawn else float("nan"),
        keep[a].mean() if a.any() else float("nan"),
        keep[b].mean() if b.any() else float("nan"),
    )
    return {k: v[keep] for k, v in data.items()}, kept_counts


def _refusal(
    infos: dict[str, PoolInfo],
    names: list[str],
    expected: dict[str, float],
    lumi: float,
    branching_ratio: float,
) -> str:
    parts = []
    for n in names:
        info = infos[n]
        if info.kind == "signal":
            max_br = info.n_selected / (info.sigma_selected_fb * lumi)
            limit = (
                f"it serves at most {info.max_lumi(branching_ratio):.4g} fb^-1 at BR = "
                f"{branching_ratio:.3g}, or BR <= {max_br:.3g} at {lumi:.4g} fb^-1"
            )
        else:
            limit = f"it serves at most {info.max_lumi():.4g} fb^-1"
        parts.append(
            f"pool {n!r} has {info.n_selected} events but {expected[n]:.1f} are expected "
            f"at {lumi:.4g} fb^-1"
            + (f" and BR = {branching_ratio:.3g}" if info.kind == "signal" else "")
            + f": {limit}"
        )
    return (
        "; ".join(parts)
        + ". Events are never drawn twice (that would fake asymmetries): ask for less, or "
        "generate larger pools (asymscan generate emu --lumi ...)."
    )


@dataclass(frozen=True)
class PoolSummary:
    """What one pool can serve (see :func:`pool_summary`).

    Attributes
    ----------
    kind
        ``"background"`` or ``"signal"``.
    events
        Selected events in the pool.
    sigma_selected_fb
        Selected cross section, fb (per unit BR(H -> LFV) for a signal pool).
    max_lumi_fb
        Largest luminosity :func:`emu` serves (at BR = 1 for a signal pool; it scales as 1/BR).
    max_lumi_fb_5sigma
        Largest luminosity whose expected yield plus 5 sqrt of it fits in the pool: below it a
        Poisson draw practically never needs the whole pool.
    """

    kind: str
    events: int
    sigma_selected_fb: float
    max_lumi_fb: float
    max_lumi_fb_5sigma: float


def pool_summary(pools: str | Path | None = None) -> dict[str, PoolSummary]:
    """Per pool of a folder: events, selected cross section and the luminosity it serves.

    Parameters
    ----------
    pools
        Folder of pool files; default the shipped sample.

    Raises
    ------
    DataError
        If the folder holds no pool file.
    """
    return {
        name: PoolSummary(
            kind=info.kind,
            events=info.n_selected,
            sigma_selected_fb=info.sigma_selected_fb,
            max_lumi_fb=info.max_lumi(),
            max_lumi_fb_5sigma=info.max_lumi(n_sigma=5.0),
        )
        for name, info in find_pools(pools).items()
    }


def available_lumi(
    pools: str | Path | None = None,
    signal: str | Sequence[str] | None = None,
    branching_ratio: float = 0.0,
) -> float:
    """Largest luminosity (fb^-1) :func:`emu` serves with these pools, signal and BR.

    The smallest of the limits of the Standard-Model pools and of the chosen signal's pools
    (at ``branching_ratio``; a zero BR puts no limit); see :func:`emu` for the rule.
    """
    sig = _signal_pools(signal)
    infos = find_pools(pools, (*BACKGROUNDS, *sig))
    limits = [
        info.max_lumi(branching_ratio)
        for info in infos.values()
        if info.kind == "background" or branching_ratio > 0
    ]
    return min(limits)
