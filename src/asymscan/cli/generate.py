"""``asymscan generate ...``: event samples made with an event generator (``[pythia]`` extra)."""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from pathlib import Path

import click

from ._options import execution_options, library_errors, resume_options

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
    default=None,
    help="Events to generate per pool (before the e-mu selection)  [default: 10000].",
)
@click.option(
    "--lumi",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Size the background pools for this integrated luminosity (fb^-1), from their "
    "planning cross sections; signal pools get --signal-events. Instead of --events.",
)
@click.option(
    "--lumi-margin",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Factor on the events of --lumi.",
)
@click.option(
    "--signal-events",
    type=click.IntRange(min=1),
    default=20_000,
    show_default=True,
    help="Events of each signal pool with --lumi.",
)
@click.option(
    "--processes",
    default="all",
    show_default=True,
    help="Comma-separated pools or groups: sm, signal, all, ttbar, ww, dy_tautau, ggh_ww, "
    "vbfh_ww, ggh_tautau, vbfh_tautau, ggh_taumu, vbfh_taumu, ggh_taue, vbfh_taue.",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Root seed.")
@execution_options("the PYTHIA shards", default_workers=2)
@click.option(
    "--shard-size",
    "shard_sizes",
    multiple=True,
    default=("20000",),
    show_default=True,
    help="Largest number of events of one PYTHIA run (the output does not depend on "
    "--workers): N for every pool, or POOL=N for one; may be repeated.",
)
@click.option(
    "--shard-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Save every finished shard in SHARD_DIR/<pool>/ at once, so that an interrupted "
    "run can be resumed (--resume).",
)
@resume_options("shards in --shard-dir")
@click.option(
    "--flavour-dependent-detector",
    is_flag=True,
    help="The papers' flavour-dependent detector (isolation 0.15 for e, 0.25 for mu, "
    "different resolutions and efficiencies) instead of treating e and mu alike.",
)
def emu(
    out,
    events,
    lumi,
    lumi_margin,
    signal_events,
    processes,
    seed,
    workers,
    scheduler,
    shard_sizes,
    shard_dir,
    resume,
    overwrite,
    flavour_dependent_detector,
) -> None:
    """e-mu pools at 13 TeV: SM backgrounds and the Higgs LFV signal, one Parquet per pool.

    Every pool carries PYTHIA's cross section in its metadata, so that data sets can be
    assembled for any luminosity and branching ratio. Shards run in the order of
    --processes. When the output is not a terminal, progress is logged one line per shard.
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
    from ..generate import (
        DetectorConfig,
        events_for_lumi,
        generate_emu,
        resolve_processes,
    )

    console = Console()
    try:
        procs = resolve_processes(processes)
    except AsymscanError as err:
        raise click.BadParameter(str(err), param_hint="--processes") from err
    if lumi is not None and events is not None:
        msg = "give either --events or --lumi, not both"
        raise click.UsageError(msg)
    if (resume or overwrite) and shard_dir is None:
        msg = "--resume and --overwrite need --shard-dir"
        raise click.UsageError(msg)
    if lumi is None:
        n_events = dict.fromkeys((p.name for p in procs), events or 10_000)
    else:
        n_events = {
            p.name: events_for_lumi(p, lumi, lumi_margin, signal_events) for p in procs
        }
    shard_size = _shard_sizes(shard_sizes, [p.name for p in procs])
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
    tasks = {p.name: progress.add_task(p.name, total=n_events[p.name]) for p in procs}

    def update(name: str, done: int, total: int) -> None:
        progress.update(tasks[name], completed=done, total=total)
        progress.refresh()

    interactive = console.is_terminal
    if not interactive:
        # a log file: one line per shard from the library's log instead of progress bars
        _log_to_stderr()
        for name in n_events:
            console.print(
                f"{name}: {n_events[name]} events, shards of <= {shard_size[name]}"
            )
    with library_errors(console), progress if interactive else contextlib.nullcontext():
        pools = generate_emu(
            out,
            procs,
            n_events=n_events,
            seed=seed,
            workers=workers,
            detector=detector,
            progress=update if interactive else None,
            shard_size=shard_size,
            shard_dir=shard_dir,
            resume=resume,
            overwrite=overwrite,
            scheduler=scheduler,
        )
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


def _shard_sizes(values: tuple[str, ...], names: list[str]) -> dict[str, int]:
    """``N`` (every pool) and ``POOL=N`` (one pool) options, later ones winning."""
    sizes: dict[str, int] = {}
    for value in values:
        pool, _, size = value.rpartition("=")
        try:
            n = int(size)
        except ValueError:
            n = 0
        if n < 1 or (pool and pool not in names):
            msg = f"{value!r}: expected N or POOL=N, N >= 1, POOL one of {names}"
            raise click.BadParameter(msg, param_hint="--shard-size")
        for name in [pool] if pool else names:
            sizes[name] = n
    return {name: sizes.get(name, 20_000) for name in names}


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record comes (click's test runner swaps it)."""

    @property  # type: ignore[override]
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


def _log_to_stderr() -> None:
    logger = logging.getLogger("asymscan.generate")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)


@generate.command("assemble")
@click.option(
    "--shard-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    required=True,
    help="Shard folder written by 'asymscan generate emu --shard-dir'.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("pools/emu"),
    show_default=True,
    help="Output folder: one <pool>.parquet per complete pool.",
)
@click.option(
    "--mantissa-bits",
    type=int,
    default=None,
    help="Round floats to this many mantissa bits (e.g. 14: 3e-5 relative) and compress "
    "with zstd: the compact copy shipped with the package.",
)
def assemble(shard_dir, out, mantissa_bits) -> None:
    """Write the pools whose shards are all in SHARD_DIR; list the incomplete ones."""
    from rich.console import Console

    from ..generate import assemble_pools

    console = Console()
    with library_errors(console):
        result = assemble_pools(shard_dir, out, mantissa_bits=mantissa_bits)
    for pool in result.pools.values():
        console.print(f"wrote {pool.path} ({pool.n_generated} generated)")
    for name, (present, planned) in result.incomplete.items():
        console.print(f"incomplete, not written: {name} ({present}/{planned} shards)")
