"""``asymscan test A B``: a neural two-sample test on two event samples."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import click
import numpy as np

__all__ = ("test",)

_METHODS = ("symmetrized", "nplm", "delta")


def _read_sample(path: Path, columns: list[str]) -> np.ndarray:
    """Events ``(n, d)`` from a .npy array or the named columns of a Parquet/CSV/ROOT file."""
    from ..data.io import read_events
    from ..errors import DataError

    if path.suffix == ".npy":
        if not path.is_file():
            msg = f"input file {str(path)!r} does not exist"
            raise DataError(msg)
        x = np.load(path, allow_pickle=False)
        return x[:, None] if x.ndim == 1 else x
    if not columns:
        msg = f"{path}: name the observables to test with --columns (e.g. --columns m_coll)"
        raise DataError(msg)
    data = read_events([path], columns)
    return np.column_stack([data[c].astype(float) for c in columns])


def statistic(
    method: str, options: dict[str, Any], x_a: np.ndarray, x_b: np.ndarray
) -> Any:
    """Run one neural test (``method``) on A and B; a module-level function, so it pickles."""
    from .. import nn

    if method == "nplm":
        return nn.nplm_test(x_a, x_b, **options)
    func = nn.symmetrized_test if method == "symmetrized" else nn.delta_test
    return func(x_a, x_b, **options)


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
    method: str, options: dict[str, Any], threads: int, x_a: np.ndarray, x_b: np.ndarray
) -> float:
    _set_threads(threads)
    return float(statistic(method, options, x_a, x_b).t)


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
    out: Path | None,
) -> None:
    """Test whether SAMPLE_A and SAMPLE_B come from the same distribution (Bressler et al.)."""
    from rich.console import Console

    from ..calibrate.empirical import permutation_null
    from ..errors import AsymscanError
    from ..execution import executor
    from ..report import write_json

    console = Console()
    names = [c.strip() for c in columns.split(",") if c.strip()]
    options: dict[str, Any] = {"fit": fit, "epochs": epochs, "rng": seed}
    try:
        _set_threads(threads)
        x_a, x_b = _read_sample(sample_a, names), _read_sample(sample_b, names)
        with console.status(
            f"fitting the {method} test ({len(x_a)} + {len(x_b)} events)"
        ):
            result = statistic(method, options, x_a, x_b)
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
                "null": null.null.tolist(),
            }
        if out is not None:
            write_json(Path(out) / "test.json", summary)
            if x_a.shape[1] == 1:
                _plot(
                    result,
                    x_a,
                    x_b,
                    Path(out) / "test.png",
                    method,
                    names[0] if names else "x",
                )
            console.print(f"wrote {Path(out) / 'test.json'}")
    except AsymscanError as err:
        raise click.ClickException(str(err)) from err


def _plot(
    result: Any, x_a: np.ndarray, x_b: np.ndarray, path: Path, method: str, label: str
) -> None:
    """The two samples' densities and the fitted log density ratio(s), for 1-D samples."""
    import mplhep as hep

    from ..report.plots import figure

    lo, hi = np.quantile(np.concatenate([x_a[:, 0], x_b[:, 0]]), [0.001, 0.999])
    edges = np.linspace(lo, hi, 61)
    grid = np.linspace(lo, hi, 400)[:, None]
    with figure(path, nrows=2, height_ratios=(2, 1)) as (_fig, axes):
        top, bottom = axes[0][0], axes[1][0]
        hep.histplot(np.histogram(x_a[:, 0], edges)[0], edges, ax=top, label="A")
        hep.histplot(np.histogram(x_b[:, 0], edges)[0], edges, ax=top, label="B")
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
