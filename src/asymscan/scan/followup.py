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

Weighted events (``data.weight``, ``[symmetry] weight_a``/``weight_b``) are tested with their
nominal weights (:func:`asymscan.scan.weights.event_weights`, columns w_a and w_b): each event
of A carries w_a and each of B w_b in the fit, and the permutations are the weighted ones of
:func:`~asymscan.calibrate.permutation_null` (label-dependent weights: each event relabelled A
with probability w_b / (w_a + w_b) and weighted by its new label; label-independent ones: N_A
fixed, each event keeping its weight). Systematics (``[[systematics]]``) are not part of the
neural test: it uses the nominal corrections only, and its rows say so (``weights``).
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
from .weights import event_weights, is_weighted

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

Sample = tuple[np.ndarray, np.ndarray, np.ndarray | None]
"""The events of a target: values ``(n, d)``, is-A ``(n,)``, and the nominal weights
``(n, 2)`` ``[w_a, w_b]`` (None for an unweighted configuration)."""

NOMINAL_WEIGHTS = "nominal corrections (w_a, w_b)"
"""The ``weights`` of a row with label-dependent weights (``weight_a``/``weight_b``)."""

EVENT_WEIGHTS = "data.weight"
"""The ``weights`` of a row with label-independent weights (``data.weight`` alone)."""


def check_followup(config: Config) -> None:
    """Raise if the follow-up cannot run: torch missing.

    Weighted configurations are tested with their nominal weights (see the module).

    Raises
    ------
    ModuleNotFoundError
        torch is not installed (``pip install 'asymscan[nn]'``).
    """
    require("torch")


def _weights_note(config: Config) -> str | None:
    """The row's ``weights``: which weights the test used, None when unweighted."""
    if config.symmetry.weight_a is not None:
        return NOMINAL_WEIGHTS
    return EVENT_WEIGHTS if config.data.weight is not None else None


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


def _empty(names: tuple[str, ...], weighted: bool) -> Sample:
    return (
        np.empty((0, len(names))),
        np.empty(0, dtype=bool),
        np.empty((0, 2)) if weighted else None,
    )


def _chunk_samples(
    chunk: Mapping[str, np.ndarray], config: Config, targets: list[Target]
) -> list[Sample]:
    """Per target: the values ``(m, d)`` of a chunk's events in its selection with every
    observable inside its range, whether each is in A, and their nominal weights ``(m, 2)``
    ``[w_a, w_b]`` or None (a pure function, run anywhere)."""
    weighted = is_weighted(config)
    if not chunk or len(next(iter(chunk.values()))) == 0:
        return [_empty(names, weighted) for _, names in targets]
    is_a, sub = split_events(chunk, config)
    m = len(is_a)
    columns = event_weights(sub, config, m)
    weights = None if columns is None else columns[:, :2]
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
        out.append((x, is_a[keep], None if weights is None else weights[keep]))
    return out


def collect_samples(
    config: Config,
    targets: list[Target],
    events: Events | None = None,
    *,
    executor: Executor | None = None,
) -> list[Sample]:
    """The events of every target, unbinned: ``(x (n, d), is_a (n,), weights)`` per target.

    ``weights`` is ``(n, 2)``, the nominal ``[w_a, w_b]`` of each event (the weight if it is
    in A and if it is in B, :func:`asymscan.scan.weights.event_weights`), or None for an
    unweighted configuration. ``events`` and ``executor`` as for the scan
    (:func:`asymscan.scan.run_scan`): the files are read in work items on the executor, in
    file order.
    """
    parts: list[list[Sample]] = [[] for _ in targets]
    for chunk in map_events(
        _chunk_samples, config, events, args=(targets,), executor=executor
    ):
        for k, part in enumerate(chunk):
            parts[k].append(part)
    weighted = is_weighted(config)
    out: list[Sample] = []
    for (_, names), part in zip(targets, parts, strict=True):
        if not part:
            out.append(_empty(names, weighted))
            continue
        weights = [p[2] for p in part]
        out.append(
            (
                np.concatenate([p[0] for p in part]),
                np.concatenate([p[1] for p in part]),
                None if weights[0] is None else np.concatenate(weights),
            )
        )
    return out


def _subsample(
    x: np.ndarray,
    is_a: np.ndarray,
    max_events: int,
    seed: np.random.SeedSequence,
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, bool]:
    """A uniform random subset of ``max_events`` events (without replacement, in their
    original order, each with its label and weights), or all of them when there are not
    more. Returns ``(x, is_a, weights, subsampled)``."""
    if len(x) <= max_events:
        return x, is_a, weights, False
    keep = np.sort(
        np.random.default_rng(seed).choice(len(x), max_events, replace=False)
    )
    return x[keep], is_a[keep], None if weights is None else weights[keep], True


def _row(
    rank: int,
    target: Target,
    n_selected: int,
    n_a: int,
    n_b: int,
    subsampled: bool,
    weights: str | None,
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
        "weights": weights,
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
    replacement, each event keeping its label and weights. Weighted events are tested with
    their nominal weights, w_a for A's events and w_b for B's, and calibrated by the weighted
    permutations (see the module; systematics are not included). This function runs whatever
    ``followup.nn`` says; the scan calls it when ``followup.nn`` is true.

    Parameters
    ----------
    config
        The scan's configuration; ``followup`` gives the regions, permutations, event cap and
        seed; ``data.weight``, ``symmetry.weight_a``/``weight_b`` the weights.
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
        ``n_b`` (events tested), ``subsampled``, ``weights`` (None: unweighted;
        ``"nominal corrections (w_a, w_b)"``: label-dependent weights; ``"data.weight"``:
        label-independent ones), ``t``, ``dof``, ``chi2_p_value``, ``chi2_z``,
        ``converged``, ``permutation_p_value`` ((k + 1)/(n + 1)), ``permutation_p_value_error``,
        ``permutation_z``, ``permutations``, and ``skipped`` (None, or why the test was not
        run: fewer than 2 events in A or in B; the test's numbers are then None).

    Raises
    ------
    ConfigError
        Regions naming selections or observables that the configuration lacks.
    DataError
        Weights that are not finite, or label-dependent weights that are not positive.
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
    note = _weights_note(config)
    rows = []
    try:
        for k, ((rank, target), (x, is_a, w)) in enumerate(
            zip(targets, samples, strict=True)
        ):
            sub_seed, perm_seed = seeds[k].spawn(2)
            x_used, is_a, w, subsampled = _subsample(
                x, is_a, settings.max_events, sub_seed, w
            )
            x_a, x_b = x_used[is_a], x_used[~is_a]
            w_a, w_b = (None, None) if w is None else (w[is_a], w[~is_a])
            row = _row(rank, target, len(x), len(x_a), len(x_b), subsampled, note)

            def update(d: int, n: int, done: int = n_perm * k) -> None:
                if progress:
                    progress(done + d, total)

            row |= _test(
                (x_a, x_b), (w_a, w_b), options, n_perm, perm_seed, executor, update
            )
            rows.append(row)
    finally:
        torch.set_num_threads(threads)
    return rows


def _test(
    samples: tuple[np.ndarray, np.ndarray],
    weights: tuple[np.ndarray | None, np.ndarray | None],
    options: FitOptions,
    n_perm: int,
    seed: np.random.SeedSequence,
    executor: Executor | None,
    progress: Callable[[int, int], None],
) -> dict[str, Any]:
    """The symmetrized test of A and B and its permutation calibration, as a row's numbers
    (all None, with the reason in ``skipped``, when A or B has fewer than 2 events).

    ``weights`` are ``(n, 2)`` ``[w_a, w_b]`` per event of A and of B, or None: the test
    weights A's events by w_a and B's by w_b."""
    x_a, x_b = samples
    w_a, w_b = weights
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
    res = symmetrized_test(
        x_a,
        x_b,
        w_a=None if w_a is None else w_a[:, 0],
        w_b=None if w_b is None else w_b[:, 1],
        **_fields(options),
    )
    statistic = PooledStatistic(
        method="symmetrized", options=options, batch_size=PERMUTATION_BATCH, threads=1
    )
    null = permutation_null(
        statistic,
        x_a,
        x_b,
        weights_a=w_a,
        weights_b=w_b,
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
