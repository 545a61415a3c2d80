"""Empirical null distributions of any two-sample statistic: permutations and toys.

The permutation null (Bressler et al., Sec. III E) relabels the pooled sample A u B at random
with the observed sizes and recomputes the statistic: under the symmetry every relabelling is
equally likely whatever the common density, so the p-value (k + 1)/(n + 1) is exact. Toys draw
fresh data sets from a generator. Each permutation or toy has its own seed spawned from one
``SeedSequence``, so results do not depend on the executor that runs them.

Weighted events (detector corrections, :mod:`asymscan.scan.weights`) carry two weights: w_a if
the event is in A and w_b if the same event is in B. When the two are equal (label-independent
weights, e.g. generator weights) the null is the permutation above, N_A fixed, each event
keeping its weight. When they differ, the exact null given the observed events is that each
event is in A with probability w_b / (w_a + w_b), independently (the efficiency 1/w of a label
is the chance of seeing the event with it): a relabelling draws every label anew with that
probability and each event then carries the weight of its new label, as the scan's
label-exchange toys do (:func:`asymscan.calibrate.exchange.relabel_counts`). The observed
labels are one more draw of the same distribution, so (k + 1)/(n + 1) is exact again.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from ..errors import DataError
from ..execution import run_items
from ..stats.significance import toy_p_value, z_from_p

__all__ = ("EmpiricalNull", "asymptotic_p", "permutation_null", "toy_null")

Statistic = Callable[..., float]
"""A function of two samples, ``statistic(x_a, x_b)``; with weights it is called as
``statistic(x_a, x_b, w_a=..., w_b=...)`` (one weight per event). It may also have
``many(pairs) -> array`` (``many(pairs, weights=[(w_a, w_b), ...])`` with weights), the
statistic of many ``(x_a, x_b)`` pairs computed together (e.g.
:class:`asymscan.nn.PooledStatistic`)."""

WeightPair = tuple[np.ndarray, np.ndarray]


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


def _star(func: Callable, args: tuple) -> list[float]:
    return func(*args)


def _run(
    func: Callable, args: list[tuple], executor: Executor | None, progress
) -> np.ndarray:
    """Run ``func(*a)`` (each returning a list of values, one per seed in ``a[-1]``) for
    every ``a``, in order, through :func:`asymscan.execution.run_items`."""
    sizes = [len(a[-1]) for a in args]
    total = sum(sizes)

    def report(done: int, _n: int) -> None:
        # items finish in any order; all but the last have the same size
        progress(min(done * max(sizes, default=0), total), total)

    results = run_items(
        functools.partial(_star, func),
        args,
        executor=executor,
        progress=report if progress else None,
        what="batches",
    )
    return np.asarray([v for values in results for v in values], dtype=float)


def _permuted(
    statistic: Statistic,
    pooled: np.ndarray,
    n_a: int,
    weights: np.ndarray | None,
    seeds: list[np.random.SeedSequence],
) -> list[float]:
    """Relabellings keeping N_A: each event keeps its (label-independent) weight, if any."""
    pairs, pair_weights = [], []
    for seed in seeds:
        order = np.random.default_rng(seed).permutation(len(pooled))
        pairs.append((pooled[order[:n_a]], pooled[order[n_a:]]))
        if weights is not None:
            pair_weights.append((weights[order[:n_a]], weights[order[n_a:]]))
    return _evaluate(statistic, pairs, None if weights is None else pair_weights)


def _relabelled(
    statistic: Statistic,
    pooled: np.ndarray,
    weights: np.ndarray,
    seeds: list[np.random.SeedSequence],
) -> list[float]:
    """Relabellings with label-dependent ``weights`` ``(n, 2)``: each event in A with
    probability w_b / (w_a + w_b), independently, then weighted by its new label."""
    p_a = weights[:, 1] / (weights[:, 0] + weights[:, 1])
    pairs, pair_weights = [], []
    for seed in seeds:
        in_a = np.random.default_rng(seed).random(len(pooled)) < p_a
        pairs.append((pooled[in_a], pooled[~in_a]))
        pair_weights.append((weights[in_a, 0], weights[~in_a, 1]))
    return _evaluate(statistic, pairs, pair_weights)


def _evaluate(
    statistic: Statistic, pairs: list[tuple], weights: list[WeightPair] | None = None
) -> list[float]:
    many = getattr(statistic, "many", None)
    if weights is None:
        if many is not None:
            return [float(t) for t in many(pairs)]
        return [float(statistic(a, b)) for a, b in pairs]
    if many is not None:
        return [float(t) for t in many(pairs, weights=weights)]
    return [
        float(statistic(a, b, w_a=wa, w_b=wb))
        for (a, b), (wa, wb) in zip(pairs, weights, strict=True)
    ]


def _label_weights(w: Any, n: int, name: str, sample: str) -> np.ndarray | None:
    """``(n, 2)`` [weight if in A, weight if in B] from ``(n,)`` or ``(n, 2)`` input."""
    if w is None:
        return None
    try:
        arr = np.asarray(w, dtype=float)
    except (TypeError, ValueError) as err:
        msg = f"{name} must be an array of numbers, got {type(w).__name__}: {err}"
        raise DataError(msg) from None
    if arr.shape == (n,):
        arr = np.column_stack([arr, arr])
    elif arr.shape != (n, 2):
        msg = (
            f"{name} must have shape ({n},) (one label-independent weight per event of "
            f"{sample}) or ({n}, 2) ([weight if in A, weight if in B] per event), got "
            f"shape {arr.shape}"
        )
        raise DataError(msg)
    bad = ~np.isfinite(arr)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        msg = (
            f"{name} has non-finite weights (NaN or inf) for {int(bad.any(1).sum())} "
            f"event(s), first {arr[row, col]} for event {row} of {sample}"
        )
        raise DataError(msg)
    return arr


def _check_positive(w: np.ndarray, name: str, sample: str) -> None:
    bad = w <= 0
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        msg = (
            f"{name} has {int(bad.sum())} weight(s) <= 0, first {w[row, col]} for event "
            f"{row} of {sample} (the weight if in {'AB'[col]}); label-dependent weights "
            "must be positive (1 / efficiency): an event is relabelled A with probability "
            "w_b / (w_a + w_b)"
        )
        raise DataError(msg)


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
    weights_a: Any = None,
    weights_b: Any = None,
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
        A function of two samples (arrays of events along the first axis), called as
        ``statistic(x_a, x_b, w_a=..., w_b=...)`` when weights are given; it must be
        picklable to run on a process pool or a Dask cluster.
    x_a, x_b
        The observed samples.
    weights_a, weights_b
        Both or neither. Per event of A (of B): ``(n, 2)`` ``[w if in A, w if in B]``, or
        ``(n,)`` for label-independent weights (both columns the same). The observed
        statistic uses column 0 for A's events and column 1 for B's. If the two columns are
        equal everywhere, the relabellings are the permutations of the unweighted null (the
        same for the same seed) and each event keeps its weight. Otherwise every pooled event
        is relabelled A with probability w_b / (w_a + w_b), independently, and carries the
        weight of its new label; the weights must then be positive. A relabelling can then
        leave A or B empty (probability ``prod p + prod (1 - p)``, negligible beyond a few
        tens of events): it is not redrawn (that would bias the null), the statistic is
        called with the empty sample (shape ``(0, ...)``, and empty weights) and must give
        its value (:class:`asymscan.nn.PooledStatistic` gives ``t = 0``, exact).
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

    Returns
    -------
    EmpiricalNull
        ``method`` says which relabellings were drawn.

    Raises
    ------
    DataError
        An empty observed sample, different event shapes, weights of one sample only, weights
        of the wrong shape or not finite, label-dependent weights that are not positive.

    Examples
    --------
    >>> import numpy as np
    >>> def diff(a, b, w_a=None, w_b=None):
    ...     return abs(np.average(a, weights=w_a) - np.average(b, weights=w_b))
    >>> rng = np.random.default_rng(1)
    >>> a, b = rng.exponential(size=50), rng.exponential(size=30)
    >>> w_a = np.column_stack([np.full(50, 1.05), 1 / (0.3 + 0.6 * a / (1 + a))])
    >>> w_b = np.column_stack([np.full(30, 1.05), 1 / (0.3 + 0.6 * b / (1 + b))])
    >>> null = permutation_null(diff, a, b, weights_a=w_a, weights_b=w_b, n_permutations=99)
    >>> null.method
    '99 relabellings of A u B with P(A) = w_b/(w_a+w_b), each event weighted by its new label'
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
    wa = _label_weights(weights_a, len(a), "weights_a", "A")
    wb = _label_weights(weights_b, len(b), "weights_b", "B")
    if (wa is None) != (wb is None):
        given, missing = (
            ("weights_a", "weights_b") if wb is None else ("weights_b", "weights_a")
        )
        msg = (
            f"{given} is given but {missing} is None: give the weights of both samples "
            "(ones for unweighted events) or of neither"
        )
        raise DataError(msg)
    pooled = np.concatenate([a, b])
    root = (
        seed
        if isinstance(seed, np.random.SeedSequence)
        else np.random.SeedSequence(seed)
    )
    chunks = _chunks(root.spawn(n_permutations), batch_size)
    if wa is None or wb is None:
        args = [(statistic, pooled, len(a), None, chunk) for chunk in chunks]
        null = _run(_permuted, args, executor, progress)
        return _calibrated(
            statistic(a, b), null, f"{n_permutations} permutations of A u B"
        )
    weights = np.concatenate([wa, wb])
    if np.array_equal(weights[:, 0], weights[:, 1]):
        observed = statistic(a, b, w_a=wa[:, 0], w_b=wb[:, 1])
        args = [(statistic, pooled, len(a), weights[:, 0], chunk) for chunk in chunks]
        null = _run(_permuted, args, executor, progress)
        method = (
            f"{n_permutations} permutations of A u B (N_A fixed, label-independent "
            "weights: each event keeps its weight)"
        )
        return _calibrated(observed, null, method)
    _check_positive(wa, "weights_a", "A")
    _check_positive(wb, "weights_b", "B")
    observed = statistic(a, b, w_a=wa[:, 0], w_b=wb[:, 1])
    args = [(statistic, pooled, weights, chunk) for chunk in chunks]
    null = _run(_relabelled, args, executor, progress)
    method = (
        f"{n_permutations} relabellings of A u B with P(A) = w_b/(w_a+w_b), each event "
        "weighted by its new label"
    )
    return _calibrated(observed, null, method)


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
