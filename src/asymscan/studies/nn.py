"""The neural-test study of Bressler et al.: null distributions, sensitivity, permutations, epochs.

Every toy follows Sec. III A: A and B drawn from the exponential background b0 with
Poisson-fluctuated sizes, a signal (S1, S2 or S3) added to A. The parts, each saved as a
checkpoint (``parts/<part>/``, a JSON document) as soon as it is done, so an interrupted study
keeps what it finished and ``resume`` continues it:

- ``null`` (Figs. 1-2): t_{A+B}(A+B) under the null for N_A/N_B = 1, 1/10, 1/100 at N ~ 2.2e5,
  against chi2_12: mean, 50/84/97.5 percentiles and a Kolmogorov-Smirnov p-value.
- ``nplm`` (Fig. 1): the original NPLM t_B(A) under the null for the same ratios, with the
  papers' weight clipping of 9 and without (the fraction of divergent fits is reported).
- ``sensitivity`` (Fig. 4): the median significance of signal toys against the ideal one
  (Z_id, Eq. 30), measured with the null toys of the same sizes and with chi2_12.
- ``permutation`` (Fig. 6): the permutation null (Sec. III E) of a representative data set (the
  one with the median t among toys) without and with an S3 signal, against the toy null.
- ``lfuv`` (Fig. 5): the e-mu pools: A and B bootstrapped (with replacement, as in Sec. III A)
  from the e-leading Standard-Model events at a luminosity, H -> tau e signal added to A; the
  median significance in the collinear mass (in 0.1 TeV) against BR, per luminosity.
- ``epochs`` (Fig. 7): percentiles of t after increasing numbers of epochs of the papers' Adam
  protocol, beside chi2_12 and the converged fast fit.

Toys are fitted in batches (:func:`asymscan.nn.pooled_tests`) on an optional executor; all seeds
derive from one ``SeedSequence``, so the numbers do not depend on how the work is split.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy import optimize, stats

from .._optional import require
from .._version import __version__
from ..calibrate.empirical import permutation_null, toy_null
from ..checkpoint import DOCUMENTS, Checkpointer
from ..errors import ConfigError, DataError
from ..execution import run_items
from ..stats.significance import toy_p_value, z_from_p
from ..toymodel import ideal_significance, sample_exponential

__all__ = ("NN_PRESETS", "NNStudy", "NNStudyConfig", "nn_study")

DOF = 12
"""Degrees of freedom of t_{A+B}(A+B) for the network of Eq. (12) with 4 hidden units."""

PERCENTILES = (50.0, 84.0, 97.5)

PARTS = ("null", "nplm", "sensitivity", "permutation", "epochs", "lfuv")

_COMMON = ("fast", "batch_size", "seed")
#: The configuration fields each part depends on (the stamp of its checkpoint).
PART_FIELDS = {
    "null": ("n_total", "ratios", "null_toys", *_COMMON),
    "nplm": ("n_total", "ratios", "nplm_toys", "nplm_clipping", *_COMMON),
    "sensitivity": (
        "sens_n",
        "signals",
        "z_ideal",
        "sens_toys",
        "sens_null_toys",
        *_COMMON,
    ),
    "permutation": (
        "sens_n",
        "sens_null_toys",
        "perm_signal",
        "perm_datasets",
        "permutations",
        *_COMMON,
    ),
    "epochs": ("epochs_n", "epochs_toys", "epochs", "checkpoints", "lr", *_COMMON),
    "lfuv": (
        "lfuv_lumis",
        "lfuv_brs",
        "lfuv_toys",
        "lfuv_null_toys",
        "pools",
        *_COMMON,
    ),
}

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class NNStudyConfig:
    """What the study runs (defaults: the paper's sizes, with toy counts for a 2-core CPU).

    Attributes
    ----------
    n_total, ratios, null_toys
        Null part: ``N``, the ratios N_A/N_B (1: N_A = N_B = N/2; r < 1: N_A = r N, N_B = N,
        as in Figs. 1-2) and the toys of each ratio.
    nplm_toys, nplm_clipping
        NPLM part (Fig. 1): toys per ratio of t_B(A) (B the reference, N_A fitted, 12
        degrees of freedom), for each weight clipping (``None``: none), in the inputs' units.
    sens_n, signals, z_ideal, sens_toys, sens_null_toys
        Sensitivity part: expected background N_A = N_B, the signals, the ideal significances
        Z_id at which signal is injected (the signal yield solving Eq. 30), signal toys per
        point, and null toys at this size (shared with the permutation part).
    perm_signal, perm_datasets, permutations
        Permutation part (at ``sens_n``): expected S3 events of the signal data set (500 in the
        paper), toys among which the representative (median t) one is chosen, relabellings.
    epochs_n, epochs_toys, epochs, checkpoints, lr
        Epochs part: N_A = N_B, toys, Adam epochs, the epochs at which t is recorded, and the
        learning rate.
    lfuv_lumis, lfuv_brs, lfuv_toys, lfuv_null_toys, pools
        LFUV part (Fig. 5, needs the e-mu pools, ``pools`` = their folder, default the
        shipped ones): luminosities (fb^-1), BR(H -> tau e) values, signal toys per point and
        null toys per luminosity.
    fast
        Options of the fast fit (:class:`asymscan.nn.FitOptions` fields) for every other part.
    batch_size
        Toys per batched fit (and per task on an executor).
    seed
        Root seed.
    """

    n_total: float = 2.2e5
    ratios: tuple[float, ...] = (1.0, 0.1, 0.01)
    null_toys: tuple[int, ...] = (500, 200, 200)
    nplm_toys: int = 100
    nplm_clipping: tuple[float | None, ...] = (9.0, None)
    sens_n: float = 5.5e4
    signals: tuple[str, ...] = ("S1", "S2", "S3")
    z_ideal: tuple[float, ...] = (2.0, 4.0, 6.0)
    sens_toys: int = 30
    sens_null_toys: int = 200
    perm_signal: float = 500.0
    perm_datasets: int = 30
    permutations: int = 200
    epochs_n: float = 5e3
    epochs_toys: int = 20
    epochs: int = 20_000
    checkpoints: tuple[int, ...] = (100, 300, 1000, 3000, 10_000, 20_000)
    lr: float = 1e-3
    lfuv_lumis: tuple[float, ...] = (5.0, 10.0, 20.0)
    lfuv_brs: tuple[float, ...] = (0.01, 0.02, 0.03, 0.05)
    lfuv_toys: int = 30
    lfuv_null_toys: int = 100
    pools: str | None = None
    fast: dict[str, Any] = field(default_factory=dict)
    batch_size: int = 8
    seed: int = 1

    def options(self, **extra: Any):
        """The :class:`asymscan.nn.FitOptions` of the fast fit (plus ``extra``); the starts of
        every fit are seeded with ``seed`` unless ``fast`` says otherwise."""
        from ..nn import FitOptions

        try:
            return FitOptions(**{"rng": self.seed, **self.fast, **extra})
        except TypeError as err:
            msg = f"bad fast-fit options {self.fast}: {err}"
            raise ConfigError(msg) from None


#: Named configurations: ``paper`` (the paper's sizes) and ``quick`` (seconds; for tests).
NN_PRESETS: dict[str, NNStudyConfig] = {
    "paper": NNStudyConfig(),
    "quick": NNStudyConfig(
        n_total=1000,
        ratios=(1.0, 0.1),
        null_toys=(8, 4),
        nplm_toys=4,
        nplm_clipping=(9.0,),
        sens_n=500,
        signals=("S3",),
        z_ideal=(3.0,),
        sens_toys=4,
        sens_null_toys=8,
        perm_signal=30.0,
        perm_datasets=3,
        permutations=8,
        epochs_n=300,
        epochs_toys=3,
        epochs=200,
        checkpoints=(20, 60, 200),
        lr=1e-2,
        lfuv_lumis=(1.0,),
        lfuv_brs=(0.1,),
        lfuv_toys=3,
        lfuv_null_toys=4,
        fast={"n_starts": 4, "prune": None, "max_iter": 40},
        batch_size=4,
    ),
}


def _pair(
    n_a: float,
    n_b: float,
    signal: str | None,
    n_signal: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """One toy of Sec. III A (module level, so it pickles)."""
    sample = sample_exponential(n_a, n_b, signal=signal, n_signal=n_signal, rng=rng)
    return sample.a, sample.b


def _summary(t: np.ndarray) -> dict[str, Any]:
    """Moments, percentiles against chi2_12 and a KS test of a null distribution."""
    finite = t[np.isfinite(t)]
    chi2 = stats.chi2(DOF)
    return {
        "n": len(t),
        "mean": float(finite.mean()),
        "std": float(finite.std(ddof=1)) if len(finite) > 1 else math.nan,
        "mean_error": float(finite.std(ddof=1) / math.sqrt(len(finite)))
        if len(finite) > 1
        else math.nan,
        "percentiles": {
            f"{q:g}": {
                "observed": float(np.percentile(finite, q)),
                "chi2": float(chi2.ppf(q / 100)),
            }
            for q in PERCENTILES
        },
        "ks_pvalue": float(stats.kstest(finite, chi2.cdf).pvalue),
        "chi2_mean": float(DOF),
        "t": t.tolist(),
    }


def _sizes(n_total: float, ratio: float) -> tuple[float, float]:
    if ratio == 1.0:
        return n_total / 2, n_total / 2
    return ratio * n_total, n_total


class _Runner:
    """Runs batches of toys/permutations of the study with a shared executor and progress."""

    def __init__(
        self,
        config: NNStudyConfig,
        executor: Executor | None,
        progress: Progress | None,
        threads: int | None,
    ) -> None:
        from ..nn import PooledStatistic

        self.config = config
        self.executor = executor
        self.progress = progress
        self.statistic = PooledStatistic(
            "symmetrized", config.options(), config.batch_size, threads
        )
        self.root = np.random.SeedSequence(config.seed)
        # one child per named stream, in a fixed order, so parts are independent of each other
        self.streams = dict(
            zip(
                ("null", "sens_null", "sens", "perm", "epochs", "nplm", "lfuv"),
                self.root.spawn(7),
                strict=True,
            )
        )

    def _report(self, label: str) -> Callable[[int, int], None] | None:
        if self.progress is None:
            return None
        return functools.partial(self.progress, label)

    def toys(
        self,
        label: str,
        n_a: float,
        n_b: float,
        n_toys: int,
        seed: np.random.SeedSequence,
        signal: str | None = None,
        n_signal: float = 0.0,
        statistic: Any = None,
    ) -> np.ndarray:
        gen = functools.partial(_pair, n_a, n_b, signal, n_signal)
        null = toy_null(
            self.statistic if statistic is None else statistic,
            gen,
            0.0,
            n_toys=n_toys,
            seed=seed,
            executor=self.executor,
            progress=self._report(label),
            batch_size=self.config.batch_size,
        )
        return null.null


def _null_part(run: _Runner) -> dict[str, Any]:
    c = run.config
    out = {}
    if len(c.null_toys) != len(c.ratios):
        msg = f"null_toys {c.null_toys} needs one count per ratio {c.ratios}"
        raise ConfigError(msg)
    seeds = run.streams["null"].spawn(len(c.ratios))
    for ratio, n_toys, seed in zip(c.ratios, c.null_toys, seeds, strict=True):
        n_a, n_b = _sizes(c.n_total, ratio)
        t = run.toys(f"null N_A/N_B={ratio:g}", n_a, n_b, n_toys, seed)
        out[f"{ratio:g}"] = {"n_a": n_a, "n_b": n_b, **_summary(t)}
    return {"ratios": out}


def _nplm_t(clipping: float | None, options: Any, x_a: Any, x_b: Any) -> float:
    """t_B(A) of one toy (module level, so it pickles)."""
    from ..nn import nplm_test

    require("torch").set_num_threads(1)  # small fits: one thread per process is fastest
    fields = dataclasses.asdict(options)
    del fields["weight_bound"]
    res = nplm_test(x_a, x_b, weight_clipping=clipping, **fields)
    return res.t


def _nplm_part(run: _Runner) -> dict[str, Any]:
    """Fig. 1: the original NPLM t_B(A) under the null, with and without weight clipping."""
    c = run.config
    seeds = run.streams["nplm"].spawn(len(c.nplm_clipping) * len(c.ratios))
    out: dict[str, dict[str, Any]] = {}
    k = 0
    for clipping in c.nplm_clipping:
        label = "none" if clipping is None else f"{clipping:g}"
        statistic = functools.partial(_nplm_t, clipping, c.options())
        out[label] = {}
        for ratio in c.ratios:
            n_a, n_b = _sizes(c.n_total, ratio)
            t = run.toys(
                f"NPLM clip {label} N_A/N_B={ratio:g}",
                n_a,
                n_b,
                c.nplm_toys,
                seeds[k],
                statistic=statistic,
            )
            k += 1
            finite = np.isfinite(t)
            summary = (
                _summary(t) if finite.sum() > 1 else {"n": len(t), "t": t.tolist()}
            )
            out[label][f"{ratio:g}"] = {
                "n_a": n_a,
                "n_b": n_b,
                "infinite_fraction": float(1.0 - finite.mean()),
                **summary,
            }
    return {"clipping": out}


#: Signal pools of Fig. 5: H -> tau e (tau -> mu), gluon fusion and VBF.
LFUV_SIGNAL = ("ggh_taue", "vbfh_taue")


@dataclass(frozen=True)
class LFUVPools:
    """Collinear masses (in 0.1 TeV) of the e-leading SM events and of the H -> tau e signal,
    per pool, with their selected cross sections in fb (signal: per unit BR)."""

    sm: tuple[np.ndarray, ...]
    sm_fb: tuple[float, ...]
    signal: tuple[np.ndarray, ...]
    signal_fb: tuple[float, ...]

    @classmethod
    def load(cls, pools: str | Path | None = None) -> LFUVPools:
        from ..samples._pools import find_pools, read_table

        infos = find_pools(pools)
        missing = [n for n in LFUV_SIGNAL if n not in infos]
        if missing:
            msg = f"the LFUV study needs the signal pools {missing}"
            raise ConfigError(msg)
        sm, sm_fb = [], []
        for info in infos.values():
            if info.kind != "background":
                continue
            table = read_table(info, ["lead_flavour", "m_coll"])
            lead = table["lead_flavour"].to_numpy()
            m = table["m_coll"].to_numpy().astype(float) / 100.0
            sm.append(m[lead == 11])
            sm_fb.append(info.sigma_selected_fb * float(np.mean(lead == 11)))
        signal = [
            read_table(infos[n], ["m_coll"])["m_coll"].to_numpy().astype(float) / 100.0
            for n in LFUV_SIGNAL
        ]
        signal_fb = [infos[n].sigma_selected_fb for n in LFUV_SIGNAL]
        return cls(tuple(sm), tuple(sm_fb), tuple(signal), tuple(signal_fb))

    def expected(self, lumi: float, br: float) -> tuple[float, float]:
        """Expected e-leading SM events and signal events at ``lumi`` and ``br``."""
        return sum(self.sm_fb) * lumi, sum(self.signal_fb) * lumi * br


def _bootstrap(arrays: Sequence[np.ndarray], means: Sequence[float], rng) -> np.ndarray:
    """Poisson(mean) events of every array, drawn with replacement, concatenated."""
    parts = [
        a[rng.integers(0, len(a), rng.poisson(mu))] if len(a) else a[:0]
        for a, mu in zip(arrays, means, strict=True)
    ]
    return np.concatenate(parts)[:, None]


def _lfuv_pair(
    pools: LFUVPools, lumi: float, br: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A: e-leading SM events plus H -> tau e at ``br``; B: e-leading SM events (Sec. III A)."""
    sm_means = [fb * lumi for fb in pools.sm_fb]
    a = _bootstrap(pools.sm, sm_means, rng)
    if br > 0:
        sig_means = [fb * lumi * br for fb in pools.signal_fb]
        a = np.concatenate([a, _bootstrap(pools.signal, sig_means, rng)])
    b = _bootstrap(pools.sm, sm_means, rng)
    return a, b


def _lfuv_part(run: _Runner) -> dict[str, Any]:
    """Fig. 5: median significance against BR(H -> tau e), per luminosity."""
    c = run.config
    try:
        pools = LFUVPools.load(c.pools)
    except DataError as err:
        if c.pools is not None:
            raise
        return {"skipped": f"no e-mu pools: {err}"}
    seeds = run.streams["lfuv"].spawn(len(c.lfuv_lumis))
    out = {}
    for lumi, seed in zip(c.lfuv_lumis, seeds, strict=True):
        null_seed, *br_seeds = seed.spawn(1 + len(c.lfuv_brs))
        null = _lfuv_toys(run, pools, lumi, 0.0, c.lfuv_null_toys, null_seed)
        n_sm, _ = pools.expected(lumi, 0.0)
        points = []
        for br, br_seed in zip(c.lfuv_brs, br_seeds, strict=True):
            t = _lfuv_toys(run, pools, lumi, br, c.lfuv_toys, br_seed)
            points.append(
                {
                    "branching_ratio": br,
                    "n_signal": pools.expected(lumi, br)[1],
                    "t": t.tolist(),
                    **_median_z(t, null),
                }
            )
        out[f"{lumi:g}"] = {
            "lumi": lumi,
            "n_sm_e_leading": n_sm,
            "null_t": null.tolist(),
            "points": points,
        }
    return {"observable": "m_coll / (0.1 TeV)", "lumis": out}


def _lfuv_toys(
    run: _Runner,
    pools: LFUVPools,
    lumi: float,
    br: float,
    n_toys: int,
    seed: np.random.SeedSequence,
) -> np.ndarray:
    gen = functools.partial(_lfuv_pair, pools, lumi, br)
    return toy_null(
        run.statistic,
        gen,
        0.0,
        n_toys=n_toys,
        seed=seed,
        executor=run.executor,
        progress=run._report(f"LFUV {lumi:g}/fb BR={br:g}"),
        batch_size=run.config.batch_size,
    ).null


def _signal_yield(n_b: float, z: float, signal: str) -> float:
    """Expected signal events in A for which Z_id (Eq. 30) equals ``z``."""
    hi = 10.0
    while ideal_significance(n_b, hi, signal) < z:
        hi *= 2.0
    return float(
        optimize.brentq(
            lambda s: ideal_significance(n_b, s, signal) - z, 0.0, hi, xtol=1e-6
        )
    )


def _median_z(t: np.ndarray, null: np.ndarray) -> dict[str, float]:
    """Median t's significance against ``null`` and chi2_12, with the paper's error (Sec. IV)."""
    med = float(np.median(t))
    p, p_err = toy_p_value(med, null)
    sigma = float(np.std(t, ddof=1)) if len(t) > 1 else 0.0
    lower = med - sigma / math.sqrt(len(t))
    p_low, _ = toy_p_value(lower, null)
    z = float(z_from_p(p))
    chi2_z = float(z_from_p(stats.chi2.sf(med, DOF)))
    chi2_low = float(z_from_p(stats.chi2.sf(lower, DOF)))
    return {
        "median_t": med,
        "z": z,
        "z_error": float(z - z_from_p(p_low)),
        "p_value": float(p),
        "p_value_error": float(p_err),
        "z_chi2": chi2_z,
        "z_chi2_error": chi2_z - chi2_low,
        "z_limited_by_toys": bool(p <= 1.0 / (len(null) + 1) + 1e-15),
    }


def _sensitivity_part(run: _Runner, null: np.ndarray) -> dict[str, Any]:
    c = run.config
    points = [(s, z) for s in c.signals for z in c.z_ideal]
    seeds = run.streams["sens"].spawn(len(points))
    out: dict[str, list] = {s: [] for s in c.signals}
    for (signal, z_id), seed in zip(points, seeds, strict=True):
        n_s = _signal_yield(c.sens_n, z_id, signal)
        t = run.toys(
            f"{signal} Z_id={z_id:g}",
            c.sens_n,
            c.sens_n,
            c.sens_toys,
            seed,
            signal,
            n_s,
        )
        out[signal].append(
            {"z_ideal": z_id, "n_signal": n_s, "t": t.tolist(), **_median_z(t, null)}
        )
    return {"n_a": c.sens_n, "n_b": c.sens_n, "null_toys": len(null), "signals": out}


def _fresh(seed: np.random.SeedSequence) -> np.random.SeedSequence:
    """A copy of ``seed`` that has spawned no children yet (``spawn`` is stateful)."""
    return np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key)


def _representative(t: np.ndarray) -> int:
    """Index of the toy whose t is the median (the lower middle one for even counts)."""
    order = np.argsort(t)
    return int(order[(len(t) - 1) // 2])


def _permutation_part(run: _Runner, null: np.ndarray) -> dict[str, Any]:
    c = run.config
    out = {}
    for n_sig, seed in zip(
        (0.0, c.perm_signal), run.streams["perm"].spawn(2), strict=True
    ):
        data_seed, perm_seed = seed.spawn(2)
        signal = "S3" if n_sig > 0 else None
        children = _fresh(data_seed).spawn(c.perm_datasets)
        t = run.toys(
            f"S3 {n_sig:g} events: data sets",
            c.sens_n,
            c.sens_n,
            c.perm_datasets,
            data_seed,
            signal,
            n_sig,
        )
        k = _representative(t)
        x_a, x_b = _pair(
            c.sens_n, c.sens_n, signal, n_sig, np.random.default_rng(children[k])
        )
        perm = permutation_null(
            run.statistic,
            x_a,
            x_b,
            n_permutations=c.permutations,
            seed=perm_seed,
            executor=run.executor,
            progress=run._report(f"S3 {n_sig:g} events: permutations"),
            batch_size=c.batch_size,
        )
        p_toy, p_toy_err = toy_p_value(perm.observed, null)
        out[f"{n_sig:g}"] = {
            "n_signal": n_sig,
            "datasets_t": t.tolist(),
            "representative_t": perm.observed,
            "permutation": {
                "p_value": perm.p_value,
                "p_value_error": perm.p_value_error,
                "z": perm.z,
                "t": perm.null.tolist(),
            },
            "toy_null": {
                "p_value": float(p_toy),
                "p_value_error": float(p_toy_err),
                "z": float(z_from_p(p_toy)),
            },
            "chi2": {
                "p_value": float(stats.chi2.sf(perm.observed, DOF)),
                "z": float(z_from_p(stats.chi2.sf(perm.observed, DOF))),
            },
        }
    return {"n_a": c.sens_n, "n_b": c.sens_n, "datasets": out}


def _epochs_part(run: _Runner) -> dict[str, Any]:
    from ..nn import PooledStatistic

    c = run.config
    marks = tuple(sorted({int(k) for k in c.checkpoints if 0 < k <= c.epochs}))
    paper = PooledStatistic(
        "symmetrized",
        c.options(fit="paper", epochs=c.epochs, lr=c.lr, checkpoints=marks),
        c.batch_size,
        run.statistic.threads,
    )
    seed = run.streams["epochs"]
    # the same toys for the protocol and the fast fit
    histories = _paper_histories(run, paper, _fresh(seed))
    fast = run.toys(
        "epochs: fast fit", c.epochs_n, c.epochs_n, c.epochs_toys, _fresh(seed)
    )
    per_epoch = {
        str(m): {
            f"{q:g}": float(np.percentile(histories[:, i], q)) for q in PERCENTILES
        }
        for i, m in enumerate(marks)
    }
    return {
        "n_a": c.epochs_n,
        "n_b": c.epochs_n,
        "lr": c.lr,
        "epochs": list(marks),
        "percentiles": per_epoch,
        "chi2": {f"{q:g}": float(stats.chi2(DOF).ppf(q / 100)) for q in PERCENTILES},
        "fast": {f"{q:g}": float(np.percentile(fast, q)) for q in PERCENTILES},
        "t_paper": histories.tolist(),
        "t_fast": fast.tolist(),
    }


def _histories(statistic: Any, gen: Callable, seeds: list) -> list[list[float]]:
    pairs = [gen(np.random.default_rng(s)) for s in seeds]
    results = statistic.results(pairs)
    return [list(r.t_history.values()) for r in results]


def _paper_histories(
    run: _Runner, paper: Any, seed: np.random.SeedSequence
) -> np.ndarray:
    """t after every checkpoint for the epochs toys (same toys as the fast fit's)."""
    c = run.config
    gen = functools.partial(_pair, c.epochs_n, c.epochs_n, None, 0.0)
    seeds = seed.spawn(c.epochs_toys)
    chunks = [seeds[i : i + c.batch_size] for i in range(0, len(seeds), c.batch_size)]
    report = run._report("epochs: Adam")
    results = run_items(
        functools.partial(_histories, paper, gen),
        chunks,
        executor=run.executor,
        progress=(
            None
            if report is None
            else lambda done, _n: report(
                min(done * c.batch_size, len(seeds)), len(seeds)
            )
        ),
        what="batches of toys",
    )
    return np.asarray([row for rows in results for row in rows], dtype=float)


@dataclass
class NNStudy:
    """Results of :func:`nn_study` by part (see the module docstring), and the settings."""

    config: NNStudyConfig
    parts: dict[str, dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": __version__,
            "config": _jsonable(asdict(self.config)),
            **self.parts,
        }


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    return obj


def nn_study(
    config: NNStudyConfig,
    out: str | Path,
    *,
    parts: Sequence[str] = PARTS,
    executor: Executor | None = None,
    progress: Progress | None = None,
    threads: int | None = 1,
    resume: bool = False,
    overwrite: bool = False,
) -> NNStudy:
    """Run the study's ``parts``, saving each as it finishes in ``OUT/parts/<part>/``.

    Each part is a :class:`~asymscan.checkpoint.Checkpointer` stamped with the configuration
    fields it depends on (:data:`PART_FIELDS`). With ``resume``, finished parts are read back
    instead of recomputed (a part made with other settings is an error that names them);
    ``overwrite`` discards them; with neither, finished parts in ``out`` are an error.
    ``threads`` sets torch's threads in the processes that fit.
    """
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        msg = f"unknown study part(s) {unknown}; choose from {list(PARTS)}"
        raise ConfigError(msg)
    out = Path(out)
    settings = _jsonable(asdict(config))
    folders = {
        name: Checkpointer(
            out / "parts" / name,
            {"part": name} | {f: settings[f] for f in PART_FIELDS[name]},
            resume=resume,
            overwrite=overwrite,
            codec=DOCUMENTS,
        )
        for name in PARTS
        if name in parts
    }
    run = _Runner(config, executor, progress, threads)
    done: dict[str, dict[str, Any]] = {}
    cache: dict[str, np.ndarray] = {}

    def sens_null() -> np.ndarray:
        if "null" not in cache:
            cache["null"] = run.toys(
                "null at the sensitivity size",
                config.sens_n,
                config.sens_n,
                config.sens_null_toys,
                run.streams["sens_null"],
            )
        return cache["null"]

    makers: dict[str, Callable[[], dict[str, Any]]] = {
        "null": lambda: _null_part(run),
        "nplm": lambda: _nplm_part(run),
        "sensitivity": lambda: {
            **_sensitivity_part(run, sens_null()),
            "null_t": sens_null().tolist(),
        },
        "permutation": lambda: {
            **_permutation_part(run, sens_null()),
            "null_t": sens_null().tolist(),
        },
        "epochs": lambda: _epochs_part(run),
        "lfuv": lambda: _lfuv_part(run),
    }
    for name, folder in folders.items():
        previous = folder.load(0)
        if previous is not None:
            done[name] = previous
            if "null_t" in previous:
                cache.setdefault("null", np.asarray(previous["null_t"], dtype=float))
            continue
        done[name] = makers[name]()
        if "skipped" not in done[name]:  # a skipped part is tried again
            folder.save(0, _jsonable(done[name]))
    return NNStudy(config, done)


def config_with(base: NNStudyConfig, **changes: Any) -> NNStudyConfig:
    """``base`` with some fields changed (``None`` values are ignored)."""
    return replace(base, **{k: v for k, v in changes.items() if v is not None})
