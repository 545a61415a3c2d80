"""The neural follow-up of a scan's top regions: unbinned tests calibrated by permutations.

For each followed-up region, the events of its selection are collected unbinned in its
observables (only values inside the observables' ranges, as the scan bins them), split into A
and B by the symmetry, and tested with the symmetrized neural test of Bressler et al.
(:func:`asymscan.nn.symmetrized_test`, fast fit). The statistic is calibrated by permutations
of the A/B labels (:func:`asymscan.calibrate.permutation_null`), exact under the symmetry;
its asymptotic chi2 p-value is reported beside, for reference only (the fast fit's null is
not chi2).

The test looks at the whole selection in its observables, not only at the region's window:
it asks whether A and B differ anywhere there, with no trial factor from the window choice.
Events are unweighted: a configuration with ``data.weight`` is refused.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from typing import Any

import numpy as np

from .._optional import require
from ..calibrate.empirical import permutation_null
from ..config import Config
from ..errors import ConfigError
from ..nn.statistics import FitOptions, PooledStatistic, symmetrized_test
from .layout import category_index, observable_values, split_events
from .source import Events, map_events

__all__ = (
    "PERMUTATION_BATCH",
    "check_followup",
    "collect_samples",
    "followup_targets",
    "run_followup",
)

PERMUTATION_BATCH = 4
"""Permutations fitted together, and per task on an executor."""

Target = tuple[tuple[tuple[str, str], ...], tuple[str, ...]]
"""A followed-up (selection as (family, category) pairs, observables)."""


def check_followup(config: Config) -> None:
    """Raise if the follow-up cannot run: weighted events, or torch missing.

    Raises
    ------
    ConfigError
        ``data.weight`` is set: the neural test is run on unweighted events only.
    ModuleNotFoundError
        torch is not installed (``pip install 'asymscan[nn]'``).
    """
    if config.data.weight is not None:
        msg = (
            f"the neural follow-up runs the symmetrized test on unweighted events only, "
            f"but data.weight = {config.data.weight.text!r} is set; remove data.weight "
            "or set followup.nn = false"
        )
        raise ConfigError(msg)
    require("torch")


def followup_targets(
    config: Config, regions: Sequence[Mapping[str, Any]]
) -> list[tuple[int, Target]]:
    """The ``followup.regions`` best-ranked distinct (selection, observables) of ``regions``.

    Returns ``(rank, (selection, observables))`` pairs in rank order, ``rank`` that of the
    best region with this selection and these observables. The selection's families and the
    observables must be the configuration's.
    """
    families = {f.name: f for f in config.selections}
    observables = {o.name for o in config.observables}
    out: list[tuple[int, Target]] = []
    seen: set[Target] = set()
    for region in sorted(regions, key=lambda r: r["rank"]):
        rank = region["rank"]
        for fam, cat in region["selection"].items():
            if fam not in families or cat not in families[fam].categories:
                msg = (
                    f"region {rank}: selection {fam}={cat} is not a category of the "
                    "configuration's selection families"
                )
                raise ConfigError(msg)
        unknown = [o for o in region["observables"] if o not in observables]
        if unknown or not region["observables"]:
            msg = (
                f"region {rank}: observables {list(region['observables'])} are not "
                f"observables of the configuration ({', '.join(sorted(observables))})"
            )
            raise ConfigError(msg)
        # the configuration's family order, whatever the order of the region's dict
        order = [f.name for f in config.selections]
        selection = tuple(
            sorted(region["selection"].items(), key=lambda fc: order.index(fc[0]))
        )
        target = (selection, tuple(region["observables"]))
        if target in seen:
            continue
        seen.add(target)
        out.append((int(rank), target))
        if len(out) == config.followup.regions:
            break
    return out


def _chunk_samples(
    chunk: Mapping[str, np.ndarray], config: Config, targets: list[Target]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per target: the values ``(m, d)`` of a chunk's events in its selection with every
    observable inside its range, and whether each is in A (a pure function, run anywhere)."""
    empty = [
        (np.empty((0, len(names))), np.empty(0, dtype=bool)) for _, names in targets
    ]
    if not chunk or len(next(iter(chunk.values()))) == 0:
        return empty
    is_a, sub = split_events(chunk, config)
    m = len(is_a)
    families = {f.name: f for f in config.selections}
    obs = {o.name: o for o in config.observables}
    index: dict[str, np.ndarray] = {}
    values: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    out = []
    for selection, names in targets:
        keep = np.ones(m, dtype=bool)
        for fam, cat in selection:
            if fam not in index:
                index[fam] = category_index(families[fam], sub, m)
            keep &= index[fam] == list(families[fam].categories).index(cat) + 1
        for name in names:
            if name not in values:
                x, _, inside = observable_values(obs[name], sub, m)
                values[name] = (x, inside)
            keep &= values[name][1]
        x = np.stack([values[n][0][keep] for n in names], axis=1)
        out.append((x, is_a[keep]))
    return out


def collect_samples(
    config: Config,
    targets: list[Target],
    events: Events | None = None,
    *,
    executor: Executor | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The events of every target, unbinned: ``(x (n, d), is_a (n,))`` per target.

    ``events`` and ``executor`` as for the scan (:func:`asymscan.scan.run_scan`): the files
    are read in work items on the executor, in file order.
    """
    parts: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in targets]
    for chunk in map_events(
        _chunk_samples, config, events, args=(targets,), executor=executor
    ):
        for k, part in enumerate(chunk):
            parts[k].append(part)
    out = []
    for (_, names), part in zip(targets, parts, strict=True):
        if not part:
            out.append((np.empty((0, len(names))), np.empty(0, dtype=bool)))
            continue
        out.append(
            (np.concatenate([p[0] for p in part]), np.concatenate([p[1] for p in part]))
        )
    return out


def _subsample(
    x: np.ndarray, is_a: np.ndarray, max_events: int, seed: np.random.SeedSequence
) -> tuple[np.ndarray, np.ndarray, bool]:
    """A uniform random subset of ``max_events`` events (without replacement, in their
    original order, each with its label), or all of them when there are not more."""
    if len(x) <= max_events:
        return x, is_a, False
    keep = np.sort(
        np.random.default_rng(seed).choice(len(x), max_events, replace=False)
    )
    return x[keep], is_a[keep], True


def _row(
    rank: int, target: Target, n_selected: int, n_a: int, n_b: int, subsampled: bool
) -> dict[str, Any]:
    selection, names = target
    return {
        "rank": rank,
        "selection": dict(selection),
        "observables": list(names),
        "n_selected": n_selected,
        "n_a": n_a,
        "n_b": n_b,
        "subsampled": subsampled,
    }


_TEST_KEYS = (
    "t",
    "dof",
    "chi2_p_value",
    "chi2_z",
    "converged",
    "permutation_p_value",
    "permutation_p_value_error",
    "permutation_z",
)


def _fields(options: FitOptions) -> dict[str, Any]:
    return {f.name: getattr(options, f.name) for f in dataclasses.fields(options)}


def _options(options: FitOptions | None, seed: int) -> FitOptions:
    """The fit options, with the follow-up seed for the starts unless they have one."""
    options = FitOptions() if options is None else options
    if options.rng is None:
        options = dataclasses.replace(options, rng=seed)
    return options


def run_followup(
    config: Config,
    regions: Sequence[Mapping[str, Any]],
    *,
    events: Events | None = None,
    executor: Executor | None = None,
    progress: Callable[[int, int], None] | None = None,
    options: FitOptions | None = None,
) -> list[dict[str, Any]]:
    """Run the symmetrized neural test on the top regions' events, calibrated by permutations.

    The regions followed up are the ``config.followup.regions`` best-ranked distinct
    (selection, observables) pairs (:func:`followup_targets`). For each, the events of the
    selection with every observable inside its range are collected unbinned (an ``(n, d)``
    array for A and for B, by the symmetry expressions). With more than
    ``followup.max_events`` of them, a uniform random subset of that many is drawn without
    replacement, each event keeping its label. The test is run unweighted. This function runs
    whatever ``followup.nn`` says; the scan calls it when ``followup.nn`` is true.

    Parameters
    ----------
    config
        The scan's configuration; ``followup`` gives the regions, permutations, event cap and
        seed. ``data.weight`` must not be set.
    regions
        The scan's ranked regions (``ScanResult.regions``: ``rank``, ``selection``
        ``{family: category}``, ``observables`` ``[names]``, ...).
    events
        The events the scan used: None reads ``config.data.paths`` in chunks; else columns
        in memory (a mapping, a DataFrame, or a re-iterable collection of chunks).
    executor
        Where the file chunks and the permutation batches run; default in-process.
    progress
        Called as ``progress(permutations done, permutations in all)``.
    options
        Fit options of the test (default: :class:`asymscan.nn.FitOptions`, the fast fit,
        with ``rng = followup.seed``).

    Returns
    -------
    list of dict
        One per followed-up region, in rank order: ``rank``, ``selection``,
        ``observables``, ``n_selected`` (A+B events of the selection in range), ``n_a``,
        ``n_b`` (tested), ``subsampled``, ``t``, ``dof``, ``chi2_p_value``, ``chi2_z``,
        ``converged``, ``permutation_p_value`` ((k + 1)/(n + 1)), ``permutation_p_value_error``,
        ``permutation_z``, ``permutations``, and ``skipped`` (None, or why the test was not
        run: fewer than 2 events in A or in B; the test's numbers are then None).

    Raises
    ------
    ConfigError
        Weighted events (``data.weight``), or regions naming selections or observables
        that the configuration lacks.
    """
    check_followup(config)
    settings = config.followup
    targets = followup_targets(config, regions)
    samples = collect_samples(
        config, [t for _, t in targets], events, executor=executor
    )
    options = _options(options, settings.seed)
    n_perm = settings.permutations
    total = n_perm * len(targets)
    seeds = np.random.SeedSequence(settings.seed).spawn(len(targets))
    torch = require("torch")
    threads = torch.get_num_threads()
    rows = []
    try:
        for k, ((rank, target), (x, is_a)) in enumerate(
            zip(targets, samples, strict=True)
        ):
            sub_seed, perm_seed = seeds[k].spawn(2)
            x_used, is_a, subsampled = _subsample(
                x, is_a, settings.max_events, sub_seed
            )
            x_a, x_b = x_used[is_a], x_used[~is_a]
            row = _row(rank, target, len(x), len(x_a), len(x_b), subsampled)

            def update(d: int, n: int, done: int = n_perm * k) -> None:
                if progress:
                    progress(done + d, total)

            row |= _test(x_a, x_b, options, n_perm, perm_seed, executor, update)
            rows.append(row)
    finally:
        torch.set_num_threads(threads)
    return rows


def _test(
    x_a: np.ndarray,
    x_b: np.ndarray,
    options: FitOptions,
    n_perm: int,
    seed: np.random.SeedSequence,
    executor: Executor | None,
    progress: Callable[[int, int], None],
) -> dict[str, Any]:
    """The symmetrized test of A and B and its permutation calibration, as a row's numbers
    (all None, with the reason in ``skipped``, when A or B has fewer than 2 events)."""
    if len(x_a) < 2 or len(x_b) < 2:
        progress(n_perm, n_perm)
        return dict.fromkeys(_TEST_KEYS) | {
            "permutations": 0,
            "skipped": (
                f"too few events: {len(x_a)} in A and {len(x_b)} in B (the test "
                "needs at least 2 in each)"
            ),
        }
    require("torch").set_num_threads(1)
    res = symmetrized_test(x_a, x_b, **_fields(options))
    statistic = PooledStatistic(
        method="symmetrized", options=options, batch_size=PERMUTATION_BATCH, threads=1
    )
    null = permutation_null(
        statistic,
        x_a,
        x_b,
        n_permutations=n_perm,
        seed=seed,
        executor=executor,
        progress=progress,
        batch_size=PERMUTATION_BATCH,
    )
    return {
        "t": res.t,
        "dof": res.dof,
        "chi2_p_value": res.p_value,
        "chi2_z": res.z,
        "converged": res.converged,
        "permutation_p_value": null.p_value,
        "permutation_p_value_error": null.p_value_error,
        "permutation_z": null.z,
        "permutations": n_perm,
        "skipped": None,
    }
