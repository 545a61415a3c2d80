"""``asymscan scan CONFIG --out DIR`` and ``asymscan demo``: the data-directed scan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ._options import execution_options, library_errors, resume_options

__all__ = ("DEMO", "demo", "scan")

#: The demo's settings. The branching ratio is far above today's limits (about 0.15% for
#: H -> tau mu) on purpose, so that the injected signal stands out at 20 fb^-1.
DEMO: dict[str, Any] = {
    "lumi": 20.0,
    "signal": "taumu",
    "branching_ratio": 0.02,
    "toys": 1000,
    "seed": 1,
}


def _scan_and_report(
    console: Any,
    config: Any,
    events: Any,
    out: Path,
    *,
    workers: int | None,
    scheduler: str | None,
    resume: bool,
    overwrite: bool,
    merged: Any = None,
) -> None:
    """Fill, scan with toys (progress bar), follow up the top regions with the neural test
    if ``followup.nn`` (progress bar), write every output and print the summary.

    ``events`` are chunks of columns in memory, or None to read the configuration's files as
    work items on the same executor as the toys (and the follow-up's permutations).
    ``merged``: the toys of earlier runs (:func:`asymscan.scan.merge.merge_toys`) instead of
    new ones.
    """
    from rich.markup import escape
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TimeRemainingColumn,
    )
    from rich.table import Table

    from ..execution import executor
    from ..scan import build_cells, fill_cells, scan_cells
    from ..scan.followup import check_followup, run_followup
    from ..scan.merge import check_cells
    from ..scan.output import prepare_output, write_results

    if config.followup.nn:
        check_followup(config)  # before the scan, not after its toys
    prepare_output(out, resume=resume, overwrite=overwrite)
    with executor(workers, scheduler) as pool:
        with console.status("reading events and filling histograms"):
            if events is None:
                cells = fill_cells(config, executor=pool)
            else:
                cells = build_cells(events, config)
        console.print(
            f"{cells.counts['a']} events in A, {cells.counts['b']} in B "
            f"({cells.counts['dropped']} in neither); {len(cells.histograms)} histograms"
        )
        if merged is not None:
            check_cells(merged, cells)
        columns = (BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress("toys", *columns, console=console) as bar:
            task = bar.add_task("toys", total=config.scan.toys)
            result = scan_cells(
                cells,
                config,
                executor=pool,
                shard_dir=out / "shards",
                resume=resume,
                overwrite=overwrite,
                progress=lambda done, total: bar.update(task, completed=done),
                toys=None if merged is None else merged.toys,
            )
        if merged is not None:
            result.merged_from = merged.sources()
        if config.followup.nn:
            with Progress("neural follow-up", *columns, console=console) as bar:
                task = bar.add_task("follow-up", total=None)
                result.followup = run_followup(
                    config,
                    result.regions,
                    events=events,
                    executor=pool,
                    progress=lambda done, total: bar.update(
                        task, completed=done, total=total
                    ),
                )
    with console.status("writing results, plots and the report"):
        paths = write_results(result, out)

    g = result.to_dict()["global"]
    if g["toys"]:
        console.print(
            f"max |N_sigma| = {g['max_abs_nsigma']:.2f}: global p = {g['p_value']:.3g} "
            f"± {g['p_value_error']:.2g} (Z = {g['z']:.2f}, {g['toys']} toys)"
        )
    else:
        console.print(
            f"max |N_sigma| = {g['max_abs_nsigma']:.2f} (no toys: no global p-value)"
        )
    e = g["extrapolated"]
    if e is not None and e["p_value"] is not None:
        console.print(
            f"extrapolated beyond the toys (Gaussian model, {e['n_samples']} samples): "
            f"global p = {e['p_value']:.3g} ± {e['p_value_error']:.2g} (Z = {e['z']:.2f})"
        )
    elif e is not None:
        console.print(f"no extrapolated global p-value ({e['method']})", markup=False)
    tested = (
        f"{g['windows_tested']} windows tested (of {g['windows']} scanned) in "
        f"{len(result.cells.histograms)} histograms"
    )
    if g["untested_histograms"]:
        tested += (
            f"; none in {len(g['untested_histograms'])} of them (see "
            "untested_histograms in results.json)"
        )
    console.print(tested)
    syst = bool(config.systematics)
    table = Table(title="regions of interest")
    columns = ("rank", "selection", "window", "N_sigma")
    columns += ("stat. only",) * syst + ("A", "B", "global p")
    for col in columns:
        table.add_column(col)
    for r in result.regions[:10]:
        sel = escape(
            ", ".join(f"{k}={v}" for k, v in r["selection"].items()) or "inclusive"
        )
        win = escape(
            ", ".join(f"{o} [{lo:g}, {hi:g})" for o, (lo, hi) in r["window"].items())
        )
        gp = "" if r["global_p"] is None else f"{r['global_p']:.3g}"
        stat = (f"{r['nsigma_stat']:+.2f}",) * syst
        table.add_row(
            str(r["rank"]),
            sel,
            win,
            f"{r['nsigma']:+.2f}",
            *stat,
            f"{r['n_a']:.4g}",
            f"{r['n_b']:.4g}",
            gp,
        )
    console.print(table)
    if result.followup:
        console.print(_followup_table(result.followup))
    console.print(f"results: {paths['results']}; report: {paths['report']}")


def _followup_table(rows: list[dict]) -> Any:
    """The neural follow-up as a rich table."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="neural follow-up (symmetrized test, permutations)")
    for col in ("rank", "selection", "observables", "A", "B", "t", "perm. p", "Z"):
        table.add_column(col)
    for r in rows:
        sel = escape(
            ", ".join(f"{k}={v}" for k, v in r["selection"].items()) or "inclusive"
        )
        sub = " (subset)" if r["subsampled"] else ""
        if r["skipped"]:
            t = p = z = "skipped"
        else:
            t = f"{r['t']:.1f}"
            p = f"{r['permutation_p_value']:.3g}"
            z = f"{r['permutation_z']:.2f}"
        table.add_row(
            str(r["rank"]),
            sel,
            escape(" vs ".join(r["observables"])) + sub,
            str(r["n_a"]),
            str(r["n_b"]),
            t,
            p,
            z,
        )
    return table


@click.command("scan")
@click.argument(
    "config_path", metavar="CONFIG", type=click.Path(dir_okay=False, path_type=Path)
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Output folder (results.json, regions.parquet, PNG plots, report.html).",
)
@execution_options("toy shards (and follow-up permutations)")
@resume_options("toy shards in OUT")
def scan(
    config_path: Path,
    out: Path,
    workers: int | None,
    scheduler: str | None,
    resume: bool,
    overwrite: bool,
) -> None:
    """Scan every selection, observable set and window of CONFIG for A/B asymmetries."""
    from rich.console import Console

    from ..config import load_config

    console = Console()
    with library_errors(console):
        config = load_config(config_path)
        _scan_and_report(
            console,
            config,
            None,
            out,
            workers=workers,
            scheduler=scheduler,
            resume=resume,
            overwrite=overwrite,
        )


@click.command("demo")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("results/demo"),
    show_default=True,
    help="Output folder.",
)
@click.option(
    "--lumi",
    type=float,
    default=DEMO["lumi"],
    show_default=True,
    help="Integrated luminosity of the assembled data set [fb^-1].",
)
@click.option(
    "--signal",
    type=click.Choice(["taumu", "taue", "none"]),
    default=DEMO["signal"],
    show_default=True,
    help="LFV Higgs decay injected (gluon fusion + VBF).",
)
@click.option(
    "--branching-ratio",
    type=float,
    default=DEMO["branching_ratio"],
    show_default=True,
    help="BR(H -> LFV) of the injected signal.",
)
@click.option(
    "--toys",
    type=click.IntRange(min=0),
    default=DEMO["toys"],
    show_default=True,
    help="Label-exchange toys for the global p-value.",
)
@click.option(
    "--seed",
    type=int,
    default=DEMO["seed"],
    show_default=True,
    help="Seed of the data set and of the toys.",
)
@click.option(
    "--pools",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of e-mu pool files (default: the sample shipped with asymscan).",
)
@click.option(
    "--nn-followup",
    is_flag=True,
    help="Follow up the top regions with the neural symmetrized test, calibrated by "
    "permutations ([followup] nn = true; needs asymscan[nn]).",
)
@click.option(
    "--detector",
    type=click.Choice(["ideal", "realistic"]),
    default="ideal",
    show_default=True,
    help="ideal: electrons and muons detected alike; realistic: flavour-dependent "
    "efficiencies in pT and |eta| (corrected with the shipped maps and their systematics).",
)
@click.option(
    "--no-corrections",
    is_flag=True,
    help="With --detector realistic: scan without the efficiency corrections (shows the "
    "detector artefacts).",
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace the outputs of an earlier run in OUT.",
)
@execution_options("toy shards (and follow-up permutations)")
def demo(
    out: Path,
    lumi: float,
    signal: str,
    branching_ratio: float,
    toys: int,
    seed: int,
    pools: Path | None,
    nn_followup: bool,
    detector: str,
    no_corrections: bool,
    overwrite: bool,
    workers: int | None,
    scheduler: str | None,
) -> None:
    """Scan a data set assembled from the shipped PYTHIA e-mu sample, with a signal injected.

    Writes the events and the configuration (demo.toml) beside the results, so the scan can be
    rerun with `asymscan scan OUT/demo.toml`.
    """
    from rich.console import Console

    from ..scan.demo import demo_events, write_demo_inputs
    from ..scan.output import prepare_output

    console = Console()
    with library_errors(console):
        prepare_output(out, overwrite=overwrite)  # before its inputs are written
        with console.status("assembling the data set from the shipped sample"):
            events = demo_events(
                lumi=lumi,
                signal=None if signal == "none" else signal,
                branching_ratio=branching_ratio,
                seed=seed,
                pools=pools,
                detector=detector,
            )
        corrected = detector == "realistic" and not no_corrections
        config, config_path = write_demo_inputs(
            events,
            out,
            toys=toys,
            seed=seed,
            followup=nn_followup,
            corrections=corrected,
        )
        injected = (
            "no signal"
            if signal == "none"
            else f"H -> {signal} at BR = {branching_ratio:g}"
        )
        seen = f"{detector} detector" + (
            ", corrected" if corrected else ", uncorrected" * (detector == "realistic")
        )
        console.print(
            f"{len(events['lead_flavour'])} events at {lumi:g} fb^-1, {injected}, "
            f"{seen}; configuration: {config_path}"
        )
        _scan_and_report(
            console,
            config,
            [events],
            out,
            workers=workers,
            scheduler=scheduler,
            resume=False,
            overwrite=overwrite,
        )


@click.command("merge")
@click.argument(
    "runs",
    metavar="OUT...",
    nargs=-1,
    required=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Output folder of the merged scan.",
)
@click.option(
    "--overwrite", is_flag=True, help="Replace the outputs of an earlier run in OUT."
)
@execution_options("the reading of the events")
def merge(
    runs: tuple[Path, ...],
    out: Path,
    overwrite: bool,
    workers: int | None,
    scheduler: str | None,
) -> None:
    """Merge the toys of finished scans of the same data and settings into one result.

    The runs' toys must not overlap: different seeds, or the same seed with disjoint ranges
    (scan.first_toy). The events are read again (and checked against the toys' stamp) and the
    scan is written to OUT with the global p-values of all the toys together.
    """
    from rich.console import Console

    from ..scan.merge import merge_toys

    console = Console()
    with library_errors(console):
        merged = merge_toys(runs)
        console.print(
            f"merging {merged.toys.size} toys of {len(runs)} runs: "
            + ", ".join(
                f"{r['out']} (seed {r['seed']}, toys {r['first_toy']}-"
                f"{r['first_toy'] + r['toys'] - 1})"
                for r in merged.sources()
            ),
            markup=False,
        )
        _scan_and_report(
            console,
            merged.config,
            None,
            out,
            workers=workers,
            scheduler=scheduler,
            resume=False,
            overwrite=overwrite,
            merged=merged,
        )
