"""``asymscan generate ...``: event samples made with an event generator (``[pythia]`` extra)."""

from __future__ import annotations

import time
from pathlib import Path

import click

__all__ = ("generate",)


@click.group()
def generate() -> None:
    """Generate event samples with PYTHIA 8 (needs: pip install 'asymscan[pythia]')."""


@generate.command("emu")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("pools/emu"),
    show_default=True,
    help="Output folder: one <pool>.parquet per pool.",
)
@click.option(
    "--events",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    help="Events to generate per pool (before the e-mu selection).",
)
@click.option(
    "--processes",
    default="all",
    show_default=True,
    help="Comma-separated pools or groups: sm, signal, all, ttbar, ww, dy_tautau, ggh_ww, "
    "vbfh_ww, ggh_tautau, vbfh_tautau, ggh_taumu, vbfh_taumu, ggh_taue, vbfh_taue.",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Root seed.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Processes generating in parallel.",
)
@click.option(
    "--shard-size",
    type=click.IntRange(min=1),
    default=20_000,
    show_default=True,
    help="Largest number of events of one PYTHIA run (the output does not depend on --workers).",
)
@click.option(
    "--flavour-dependent-detector",
    is_flag=True,
    help="The papers' flavour-dependent detector (isolation 0.15 for e, 0.25 for mu, "
    "different resolutions and efficiencies) instead of treating e and mu alike.",
)
def emu(
    out, events, processes, seed, workers, shard_size, flavour_dependent_detector
) -> None:
    """e-mu pools at 13 TeV: SM backgrounds and the Higgs LFV signal, one Parquet per pool.

    Every pool carries PYTHIA's cross section in its metadata, so that data sets can be
    assembled for any luminosity and branching ratio.
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.table import Table

    from ..errors import AsymscanError
    from ..generate import DetectorConfig, generate_emu, resolve_processes

    console = Console()
    try:
        procs = resolve_processes(processes)
    except AsymscanError as err:
        raise click.BadParameter(str(err), param_hint="--processes") from err
    detector = (
        DetectorConfig.flavour_dependent()
        if flavour_dependent_detector
        else DetectorConfig()
    )
    start = time.perf_counter()
    # no auto-refresh thread: the worker processes may be forked
    progress = Progress(
        TextColumn("{task.description:<12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        auto_refresh=False,
    )
    tasks = {p.name: progress.add_task(p.name, total=events) for p in procs}

    def update(name: str, done: int, total: int) -> None:
        progress.update(tasks[name], completed=done, total=total)
        progress.refresh()

    try:
        with progress:
            pools = generate_emu(
                out,
                procs,
                n_events=events,
                seed=seed,
                workers=workers,
                detector=detector,
                progress=update,
                shard_size=shard_size,
            )
    except ModuleNotFoundError as err:
        raise click.ClickException(str(err)) from err
    except AsymscanError as err:
        raise click.ClickException(str(err)) from err
    elapsed = time.perf_counter() - start

    table = Table(title=f"e-mu pools in {out} ({elapsed:.0f} s)")
    for col in (
        "pool",
        "sigma (pb)",
        "generated",
        "selected",
        "efficiency",
        "sigma x eff (fb)",
    ):
        table.add_column(col, justify="left" if col == "pool" else "right")
    for name, pool in pools.items():
        m = pool.metadata
        suffix = " /BR" if m["kind"] == "signal" else ""
        table.add_row(
            name,
            f"{m['sigma_eff_pb']:.4g}{suffix}",
            f"{m['n_generated']}",
            f"{m['n_selected']}",
            f"{m['efficiency']:.4f}",
            f"{m['sigma_selected_fb']:.4g}{suffix}",
        )
    console.print(table)
    console.print(
        "sigma: PYTHIA's cross section x forced branching fractions; for a signal pool, "
        "per unit BR(H -> LFV)."
    )
