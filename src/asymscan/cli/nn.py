"""``asymscan test A B``: a neural two-sample test on two event samples."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import click
import numpy as np

from ._options import library_errors

__all__ = ("test",)

_METHODS = ("symmetrized", "nplm", "delta")


MIN_EVENTS = 2
"""Fewest events a sample may have (the library's own minimum)."""


def _read_sample(
    path: Path, columns: list[str], weights: _Weights | None = None, label: str = "A"
) -> tuple[np.ndarray, np.ndarray | None]:
    """Events ``(n, d)`` from a .npy array or the named columns of a Parquet/CSV/ROOT file,
    and with ``weights`` each event's ``[weight if in A, weight if in B]`` ``(n, 2)``.

    The events (and the weights of sample ``label``) are checked here, so that problems are
    reported with the file's name rather than the library's argument names (``x_a``, ...).
    """
    from ..data.io import read_events
    from ..errors import DataError

    if path.suffix == ".npy":
        if not path.is_file():
            msg = f"input file {str(path)!r} does not exist"
            raise DataError(msg)
        if weights is not None:
            msg = (
                f"{path}: --weight-a/--weight-b are expressions of named columns; a .npy "
                "array has none (use a Parquet, CSV or ROOT file with --columns)"
            )
            raise DataError(msg)
        x = _npy_events(path, np.load(path, allow_pickle=False))
        _check_events(path, x, [f"observable {j}" for j in range(x.shape[1])])
        return x, None
    if not columns:
        msg = f"{path}: name the observables to test with --columns (e.g. --columns m_coll)"
        raise DataError(msg)
    needed = set(columns) | (set() if weights is None else weights.columns)
    data = read_events([path], needed)
    x = np.column_stack([data[c].astype(float) for c in columns])
    _check_events(path, x, [f"column {c!r}" for c in columns])
    if weights is None:
        return x, None
    return x, weights.evaluate(data, len(x), path, label)


def _npy_events(path: Path, array: np.ndarray) -> np.ndarray:
    """A .npy array as events ``(n, d)`` of floats; errors name the file."""
    from ..errors import DataError, ShapeError

    try:
        x = np.asarray(array, dtype=float)
    except (TypeError, ValueError):
        msg = (
            f"{path}: the array holds {array.dtype} values, not numbers; a .npy sample must "
            "be a numeric array of shape (events,) or (events, observables)"
        )
        raise DataError(msg) from None
    if x.ndim not in (1, 2):
        msg = (
            f"{path}: a .npy sample must have shape (events,) or (events, observables), "
            f"got shape {x.shape}"
        )
        raise ShapeError(msg)
    x = x[:, None] if x.ndim == 1 else x
    if x.shape[1] == 0:
        msg = f"{path}: the array has no observables (shape {x.shape})"
        raise ShapeError(msg)
    return x


def _check_events(path: Path, x: np.ndarray, labels: list[str]) -> None:
    """At least :data:`MIN_EVENTS` events, all finite; errors name the file and column."""
    from ..errors import DataError

    n = len(x)
    if n < MIN_EVENTS:
        has = "has no events" if n == 0 else f"has {n} event"
        msg = f"{path} {has}; the test needs at least {MIN_EVENTS} events per sample"
        raise DataError(msg)
    bad = ~np.isfinite(x)
    if bad.any():
        j = int(np.argmax(bad.any(axis=0)))
        column = bad[:, j]
        msg = (
            f"{path}: {labels[j]} has {int(column.sum())} NaN or infinite value(s) of {n}, "
            f"first at event {int(np.argmax(column))}; remove or fix those events"
        )
        raise DataError(msg)


def _check_same_observables(
    sample_a: Path, x_a: np.ndarray, sample_b: Path, x_b: np.ndarray
) -> None:
    from ..errors import ShapeError

    if x_a.shape[1] != x_b.shape[1]:
        msg = (
            f"{sample_a} has {x_a.shape[1]} observables, {sample_b} has {x_b.shape[1]}; "
            "the two samples must have the same observables"
        )
        raise ShapeError(msg)


class _Weights:
    """The ``--weight-a``/``--weight-b`` expressions and the ``--corrections`` they call."""

    def __init__(self, a: Any, b: Any, corrections: Any) -> None:
        self.a, self.b, self.corrections = a, b, corrections

    @property
    def columns(self) -> set[str]:
        return set(self.a.columns | self.b.columns)

    def evaluate(
        self, data: dict[str, np.ndarray], n: int, path: Path, label: str = "A"
    ) -> np.ndarray:
        """``(n, 2)``: each event's weight if in A and if in B; the weights of sample
        ``label`` (``"A"`` or ``"B"``) must be >= 0 with a positive sum."""
        from ..errors import DataError

        out = []
        for option, expr in (("--weight-a", self.a), ("--weight-b", self.b)):
            w = np.asarray(expr.evaluate(data, corrections=self.corrections), float)
            w = np.broadcast_to(w, (n,))
            bad = ~np.isfinite(w)
            if bad.any():
                msg = (
                    f"{path}: {option} {expr.text!r} is NaN or infinite for "
                    f"{int(bad.sum())} of {n} event(s), first event {int(np.argmax(bad))}"
                )
                raise DataError(msg)
            out.append(w)
        w = np.column_stack(out)
        if not np.array_equal(w[:, 0], w[:, 1]) and (w <= 0).any():
            row, col = (int(i) for i in np.argwhere(w <= 0)[0])
            option = ("--weight-a", "--weight-b")[col]
            msg = (
                f"{path}: {option} is {w[row, col]} for event {row} "
                f"({int((w <= 0).sum())} weight(s) <= 0); weights that depend on the "
                "label must be positive (1 / efficiency)"
            )
            raise DataError(msg)
        col = 0 if label == "A" else 1
        option, expr = (("--weight-a", self.a), ("--weight-b", self.b))[col]
        negative = w[:, col] < 0
        if negative.any():
            first = int(np.argmax(negative))
            msg = (
                f"{path}: {option} {expr.text!r} is negative for {int(negative.sum())} of "
                f"{n} event(s), first event {first} ({w[first, col]:g}); the test needs "
                "weights >= 0"
            )
            raise DataError(msg)
        total = float(w[:, col].sum())
        if total <= 0:
            msg = (
                f"{path}: the weights {option} {expr.text!r} sum to {total:g}; a sample "
                "needs a positive total weight"
            )
            raise DataError(msg)
        return w


def _weights(
    weight_a: str | None, weight_b: str | None, corrections: tuple[Path, ...]
) -> _Weights | None:
    """The parsed weight expressions, or None; usage errors for incomplete options."""
    from ..data.expressions import ExpressionError, parse

    if (weight_a is None) != (weight_b is None):
        given, missing = (
            ("--weight-a", "--weight-b")
            if weight_b is None
            else ("--weight-b", "--weight-a")
        )
        msg = (
            f"{given} needs {missing}: give each event's weight if it is in A "
            "(--weight-a) and if it is in B (--weight-b); the same expression twice for "
            "weights that do not depend on the label"
        )
        raise click.UsageError(msg)
    if weight_a is None or weight_b is None:
        if corrections:
            msg = "--corrections is read by --weight-a/--weight-b expressions; give them too"
            raise click.UsageError(msg)
        return None
    exprs = []
    for option, text in (("--weight-a", weight_a), ("--weight-b", weight_b)):
        try:
            expr = parse(text)
        except ExpressionError as err:
            raise click.BadParameter(str(err), param_hint=option) from None
        if expr.kind == "bool":
            msg = f"{text!r} is a condition, not a weight (a number per event)"
            raise click.BadParameter(msg, param_hint=option)
        if expr.corrections and not corrections:
            names = ", ".join(map(repr, sorted(expr.corrections)))
            msg = (
                f"{text!r} calls correction {names}: give the correctionlib file(s) "
                "with --corrections FILE"
            )
            raise click.BadParameter(msg, param_hint=option)
        exprs.append(expr)
    loaded = None
    if corrections:
        from ..data.corrections import load_corrections

        loaded = load_corrections(corrections)
    return _Weights(exprs[0], exprs[1], loaded)


def statistic(
    method: str,
    options: dict[str, Any],
    x_a: np.ndarray,
    x_b: np.ndarray,
    w_a: np.ndarray | None = None,
    w_b: np.ndarray | None = None,
) -> Any:
    """Run one neural test (``method``) on A and B, with optional per-event weights; a
    module-level function, so it pickles."""
    from .. import nn

    if method == "nplm":
        return nn.nplm_test(x_a, x_b, w_data=w_a, w_ref=w_b, **options)
    func = nn.symmetrized_test if method == "symmetrized" else nn.delta_test
    return func(x_a, x_b, w_a=w_a, w_b=w_b, **options)


def _set_threads(threads: int) -> None:
    """Torch threads of this process: small fits run fastest, and never oversubscribe, on one."""
    from .._optional import require

    require("torch").set_num_threads(threads)


PERMUTATION_BATCH = 4
"""Permutations fitted together (and per task on a process pool)."""


def _permutation_statistic(method: str, options: dict[str, Any], threads: int) -> Any:
    """The statistic of the permutations: batched fits for the pooled tests."""
    if method == "nplm":
        return functools.partial(_t, method, options, threads)
    from ..nn import FitOptions, PooledStatistic

    return PooledStatistic(method, FitOptions(**options), PERMUTATION_BATCH, threads)


def _t(
    method: str,
    options: dict[str, Any],
    threads: int,
    x_a: np.ndarray,
    x_b: np.ndarray,
    *,
    w_a: np.ndarray | None = None,
    w_b: np.ndarray | None = None,
) -> float:
    _set_threads(threads)
    return float(statistic(method, options, x_a, x_b, w_a, w_b).t)


@click.command("test")
@click.argument("sample_a", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("sample_b", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--columns", default="", help="Comma-separated observables (tabular files)."
)
@click.option(
    "--method",
    type=click.Choice(_METHODS),
    default="symmetrized",
    show_default=True,
    help="symmetrized t_{A+B}(A+B), NPLM t_B(A) (B the reference), or t^delta.",
)
@click.option(
    "--fit",
    type=click.Choice(["fast", "paper"]),
    default="fast",
    show_default=True,
    help="Bounded multi-start Newton, or the papers' Adam protocol.",
)
@click.option(
    "--epochs",
    type=click.IntRange(min=1),
    default=500_000,
    show_default=True,
    help="Adam epochs of the paper protocol.",
)
@click.option(
    "--permutations",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Calibrate with N relabellings of A u B (recommended) besides chi2.",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed of fits and permutations.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Run the permutations on N processes.",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Torch threads per process.",
)
@click.option(
    "--weight-a",
    "weight_a",
    metavar="EXPR",
    default=None,
    help="Each event's weight if it is in A: an expression of the files' columns "
    "(e.g. '1 / eff_a'); needs --weight-b.",
)
@click.option(
    "--weight-b",
    "weight_b",
    metavar="EXPR",
    default=None,
    help="Each event's weight if it is in B (the same event, labels swapped). The "
    "permutations then relabel each event A with probability w_b / (w_a + w_b).",
)
@click.option(
    "--corrections",
    "corrections",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A correctionlib JSON file for correction('name', ...) in the weights (repeatable).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write test.json (and a plot for 1-D samples) here.",
)
def test(
    sample_a: Path,
    sample_b: Path,
    columns: str,
    method: str,
    fit: str,
    epochs: int,
    permutations: int,
    seed: int,
    workers: int | None,
    threads: int,
    weight_a: str | None,
    weight_b: str | None,
    corrections: tuple[Path, ...],
    out: Path | None,
) -> None:
    """Test whether SAMPLE_A and SAMPLE_B come from the same distribution (Bressler et al.).

    With --weight-a/--weight-b, every event carries the weight of its label: A's events the
    first, B's the second, in the test and in its permutations (which then relabel each
    event A with probability w_b / (w_a + w_b) when the two differ)."""
    from rich.console import Console

    from ..calibrate.empirical import permutation_null
    from ..execution import executor
    from ..report import write_json

    console = Console()
    names = [c.strip() for c in columns.split(",") if c.strip()]
    options: dict[str, Any] = {"fit": fit, "epochs": epochs, "rng": seed}
    with library_errors(console):
        weights = _weights(weight_a, weight_b, corrections)
        _set_threads(threads)
        x_a, pair_a = _read_sample(sample_a, names, weights, "A")
        x_b, pair_b = _read_sample(sample_b, names, weights, "B")
        _check_same_observables(sample_a, x_a, sample_b, x_b)
        w_a = None if pair_a is None else pair_a[:, 0]
        w_b = None if pair_b is None else pair_b[:, 1]
        with console.status(
            f"fitting the {method} test ({len(x_a)} + {len(x_b)} events)"
        ):
            result = statistic(method, options, x_a, x_b, w_a, w_b)
        console.print(
            f"{method}: t = {result.t:.3f} (parts: "
            + ", ".join(f"{k} {v:.3f}" for k, v in result.parts.items())
            + f"); chi2_{result.dof}: p = {result.p_value:.3g}, Z = {result.z:.2f}"
            + ("" if result.converged else "  [fit not converged]")
        )
        summary: dict[str, Any] = {
            "method": method,
            "fit": fit,
            "t": result.t,
            "parts": result.parts,
            "dof": result.dof,
            "chi2": {"p_value": result.p_value, "z": result.z},
            "converged": result.converged,
            "n_a": result.n_a,
            "n_b": result.n_b,
            "columns": names,
            "seed": seed,
            "weights": None
            if weights is None
            else {
                "a": weights.a.text,
                "b": weights.b.text,
                "corrections": [str(p) for p in corrections],
            },
        }
        if permutations:
            with (
                executor(workers) as pool,
                console.status(f"{permutations} permutations"),
            ):
                null = permutation_null(
                    _permutation_statistic(method, options, threads),
                    x_a,
                    x_b,
                    weights_a=pair_a,
                    weights_b=pair_b,
                    n_permutations=permutations,
                    seed=seed,
                    executor=pool,
                    batch_size=PERMUTATION_BATCH,
                )
            console.print(
                f"permutations: p = {null.p_value:.3g} ± {null.p_value_error:.2g}, "
                f"Z = {null.z:.2f} ({null.method})"
            )
            summary["permutation"] = {
                "p_value": null.p_value,
                "p_value_error": null.p_value_error,
                "z": null.z,
                "n": permutations,
                "method": null.method,
                "null": null.null.tolist(),
            }
        if out is not None:
            write_json(Path(out) / "test.json", summary)
            if x_a.shape[1] == 1:
                _plot(
                    result,
                    (x_a, w_a),
                    (x_b, w_b),
                    Path(out) / "test.png",
                    method,
                    names[0] if names else "x",
                )
            console.print(f"wrote {Path(out) / 'test.json'}")


def _plot(
    result: Any,
    sample_a: tuple[np.ndarray, np.ndarray | None],
    sample_b: tuple[np.ndarray, np.ndarray | None],
    path: Path,
    method: str,
    label: str,
) -> None:
    """The two samples' (weighted) densities and the fitted log density ratio(s), for 1-D
    samples."""
    import mplhep as hep

    from ..report.plots import figure

    (x_a, w_a), (x_b, w_b) = sample_a, sample_b

    lo, hi = np.quantile(np.concatenate([x_a[:, 0], x_b[:, 0]]), [0.001, 0.999])
    edges = np.linspace(lo, hi, 61)
    grid = np.linspace(lo, hi, 400)[:, None]
    with figure(path, nrows=2, height_ratios=(2, 1)) as (_fig, axes):
        top, bottom = axes[0][0], axes[1][0]
        for x, w, name in ((x_a, w_a, "A"), (x_b, w_b, "B")):
            counts = np.histogram(x[:, 0], edges, weights=w)[0]
            hep.histplot(counts, edges, ax=top, label=name)
        top.set_ylabel("events")
        top.set_title(
            f"{method}: t = {result.t:.2f}, Z(chi2_{result.dof}) = {result.z:.2f}",
            fontsize=13,
        )
        top.legend()
        for name in ("f", "g", "delta"):
            if name in result.functions:
                bottom.plot(grid[:, 0], result.functions[name](grid), label=name)
        bottom.axhline(0, color="k", lw=0.8)
        bottom.set_ylabel("fitted")
        bottom.set_xlabel(label)
        bottom.legend(fontsize=11)
