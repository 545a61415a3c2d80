"""``asymscan scan CONFIG --out DIR``: the data-directed scan."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ("scan",)


@click.command("scan")
@click.argument(
    "config_path", metavar="CONFIG", type=click.Path(dir_okay=False, path_type=Path)
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Output folder (results.json, regions.parquet).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Run toy shards on a local pool of N processes.",
)
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="Run toy shards on an existing Dask cluster (tcp://host:port).",
)
@click.option(
    "--resume", is_flag=True, help="Continue from the finished toy shards in OUT."
)
def scan(
    config_path: Path,
    out: Path,
    workers: int | None,
    scheduler: str | None,
    resume: bool,
) -> None:
    """Scan every selection, observable set and window of CONFIG for A/B asymmetries."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TimeRemainingColumn,
    )
    from rich.table import Table

    from ..config import load_config
    from ..data.io import iter_events
    from ..errors import AsymscanError
    from ..execution import executor
    from ..scan import build_cells, scan_cells
    from ..scan.output import write_results

    console = Console()
    try:
        config = load_config(config_path)
        with console.status("reading events and filling histograms"):
            cells = build_cells(
                iter_events(config.data.paths, config.columns(), tree=config.data.tree),
                config,
            )
        console.print(
            f"{cells.counts['a']} events in A, {cells.counts['b']} in B "
            f"({cells.counts['dropped']} in neither); {len(cells.histograms)} histograms"
        )
        with (
            executor(workers, scheduler) as pool,
            Progress(
                "toys",
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=console,
            ) as bar,
        ):
            task = bar.add_task("toys", total=config.scan.toys)
            result = scan_cells(
                cells,
                config,
                executor=pool,
                shard_dir=out / "shards",
                resume=resume,
                progress=lambda done, total: bar.update(task, completed=done),
            )
        paths = write_results(result, out)
    except AsymscanError as err:
        raise click.ClickException(str(err)) from err

    g = result.to_dict()["global"]
    console.print(
        f"max |N_sigma| = {g['max_abs_nsigma']:.2f}: global p = {g['p_value']:.3g} "
        f"± {g['p_value_error']:.2g} (Z = {g['z']:.2f}, {g['toys']} toys)"
        if g["toys"]
        else f"max |N_sigma| = {g['max_abs_nsigma']:.2f} (no toys: no global p-value)"
    )
    table = Table(title="regions of interest")
    for col in ("rank", "selection", "window", "N_sigma", "A", "B", "global p"):
        table.add_column(col)
    for r in result.regions[:10]:
        sel = ", ".join(f"{k}={v}" for k, v in r["selection"].items()) or "inclusive"
        win = ", ".join(f"{o} [{lo:g}, {hi:g})" for o, (lo, hi) in r["window"].items())
        gp = "" if r["global_p"] is None else f"{r['global_p']:.3g}"
        table.add_row(
            str(r["rank"]),
            sel,
            win,
            f"{r['nsigma']:+.2f}",
            f"{r['n_a']:g}",
            f"{r['n_b']:g}",
            gp,
        )
    console.print(table)
    console.print(
        f"wrote {paths['results']}, {paths['regions']} and the report {paths['report']}"
    )
