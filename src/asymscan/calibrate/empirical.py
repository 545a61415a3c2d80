"""Empirical null distributions of any two-sample statistic: permutations and toys.

The permutation null (Bressler et al., Sec. III E) relabels the pooled sample A u B at random
with the observed sizes and recomputes the statistic: under the symmetry every relabelling is
equally likely whatever the common density, so the p-value (k + 1)/(n + 1) is exact. Toys draw
fresh data sets from a generator. Each permutation or toy has its own seed spawned from one
``SeedSequence``, so results do not depend on the executor that runs them.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from ..errors import DataError
from ..stats.significance import toy_p_value, z_from_p

__all__ = ("EmpiricalNull", "asymptotic_p", "permutation_null", "toy_null")

Statistic = Callable[[np.ndarray, np.ndarray], float]
"""A function of two samples; it may also have ``many(pairs) -> array``, the statistic of
many ``(x_a, x_b)`` pairs computed together (e.g. :class:`asymscan.nn.PooledStatistic`)."""


@dataclass(frozen=True)
class EmpiricalNull:
    """An observed statistic calibrated by an empirical null distribution.

    ``p_value`` is (k + 1)/(n + 1) with k null values >= the observed one; ``z`` is its
    one-sided significance; ``method`` says how the null was made.
    """

    observed: float
    null: np.ndarray
    p_value: float
    p_value_error: float
    z: float
    method: str


def asymptotic_p(t: Any, dof: int) -> tuple[np.ndarray, np.ndarray]:
    """p-value and Z of ``t`` for a chi2 distribution with ``dof`` degrees of freedom (Wilks)."""
    p = stats.chi2.sf(np.asarray(t, dtype=float), dof)
    return p, z_from_p(p)


def _calibrated(observed: float, null: np.ndarray, method: str) -> EmpiricalNull:
    p, err = toy_p_value(observed, null)
    return EmpiricalNull(
        float(observed), null, float(p), float(err), float(z_from_p(p)), method
    )


def _run(
    func: Callable, args: list[tuple], executor: Executor | None, progress
) -> np.ndarray:
    """Run ``func(*a)`` (each returning a list of values) for every ``a``, in order."""
    total = sum(len(a[-1]) for a in args)
    out: list[float] = []
    if executor is None:
        results = (func(*a) for a in args)
    else:
        futures = [executor.submit(func, *a) for a in args]
        results = (f.result() for f in futures)
    for values in results:
        out += values
        if progress:
            progress(len(out), total)
    return np.asarray(out, dtype=float)


def _permuted(
    statistic: Statistic,
    pooled: np.ndarray,
    n_a: int,
    seeds: list[np.random.SeedSequence],
) -> list[float]:
    pairs = []
    for seed in seeds:
        order = np.random.default_rng(seed).permutation(len(pooled))
        pairs.append((pooled[order[:n_a]], pooled[order[n_a:]]))
    return _evaluate(statistic, pairs)


def _evaluate(statistic: Statistic, pairs: list[tuple]) -> list[float]:
    many = getattr(statistic, "many", None)
    if many is not None:
        return [float(t) for t in many(pairs)]
    return [float(statistic(a, b)) for a, b in pairs]


def _chunks(seeds: list, batch_size: int) -> list[list]:
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int)
        or batch_size < 1
    ):
        msg = f"batch_size must be a positive integer, got {batch_size!r}"
        raise DataError(msg)
    return [seeds[i : i + batch_size] for i in range(0, len(seeds), batch_size)]


def permutation_null(
    statistic: Statistic,
    x_a: Any,
    x_b: Any,
    *,
    n_permutations: int = 1000,
    seed: int | np.random.SeedSequence = 0,
    executor: Executor | None = None,
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = 1,
) -> EmpiricalNull:
    """Calibrate ``statistic(x_a, x_b)`` (larger = more asymmetric) by relabelling A u B.

    Parameters
    ----------
    statistic
        A function of two samples (arrays of events along the first axis); it must be
        picklable to run on a process pool or a Dask cluster.
    x_a, x_b
        The observed samples.
    n_permutations
        Relabellings; the smallest attainable p-value is 1/(n + 1).
    seed
        Root seed; permutation i uses the i-th spawned child.
    executor
        Where the refits run (see :func:`asymscan.execution.executor`); default here.
    progress
        Called as ``progress(done, total)`` after every batch.
    batch_size
        Permutations per task; a statistic with a ``many`` method computes each batch in one
        go (results agree to rounding; see :func:`asymscan.nn.pooled_tests`).
    """
    a, b = np.asarray(x_a), np.asarray(x_b)
    if len(a) == 0 or len(b) == 0:
        msg = f"both samples need events (A has {len(a)}, B has {len(b)})"
        raise DataError(msg)
    if a.shape[1:] != b.shape[1:]:
        msg = f"A and B have different event shapes: {a.shape[1:]} and {b.shape[1:]}"
        raise DataError(msg)
    if n_permutations < 1:
        msg = f"n_permutations must be >= 1, got {n_permutations}"
        raise DataError(msg)
    pooled = np.concatenate([a, b])
    root = (
        seed
        if isinstance(seed, np.random.SeedSequence)
        else np.random.SeedSequence(seed)
    )
    args = [
        (statistic, pooled, len(a), chunk)
        for chunk in _chunks(root.spawn(n_permutations), batch_size)
    ]
    null = _run(_permuted, args, executor, progress)
    return _calibrated(statistic(a, b), null, f"{n_permutations} permutations of A u B")


def _toy(
    statistic: Statistic, generator: Callable, seeds: list[np.random.SeedSequence]
) -> list[float]:
    pairs = [generator(np.random.default_rng(seed)) for seed in seeds]
    return _evaluate(statistic, pairs)


def toy_null(
    statistic: Statistic,
    generator: Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]],
    observed: float,
    *,
    n_toys: int = 1000,
    seed: int | np.random.SeedSequence = 0,
    executor: Executor | None = None,
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = 1,
) -> EmpiricalNull:
    """Calibrate an ``observed`` statistic with toys ``generator(rng) -> (x_a, x_b)`` of the null.

    Toy i uses the i-th child of ``seed``; ``batch_size``, ``executor`` and ``progress`` as in
    :func:`permutation_null`.
    """
    if n_toys < 1:
        msg = f"n_toys must be >= 1, got {n_toys}"
        raise DataError(msg)
    root = (
        seed
        if isinstance(seed, np.random.SeedSequence)
        else np.random.SeedSequence(seed)
    )
    args = [
        (statistic, generator, chunk)
        for chunk in _chunks(root.spawn(n_toys), batch_size)
    ]
    null = _run(_toy, args, executor, progress)
    return _calibrated(observed, null, f"{n_toys} toys from the null generator")
