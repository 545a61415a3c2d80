"""``asymscan study ...``: sensitivity studies reproducing the papers' figures."""

from __future__ import annotations

import time
from pathlib import Path

import click

from ._options import execution_options, library_errors, resume_options

__all__ = ("study",)

_PRESETS = ("flat", "flat-gaussian", "flat-100", "higgs-lfv")


@click.group()
def study() -> None:
    """Sensitivity studies (the papers' figures)."""


@study.command("binned")
@click.option(
    "--preset",
    type=click.Choice(_PRESETS),
    default="flat",
    show_default=True,
    help="Background and signal templates to study.",
)
@click.option(
    "--templates",
    "template_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read templates from a .npz (arrays 'background', 'signal') or .root file instead.",
)
@click.option(
    "--z-inject",
    type=float,
    default=5.0,
    show_default=True,
    help="Significance of the injected signal on Asimov data.",
)
@click.option(
    "--method",
    type=click.Choice(["L1", "L2"]),
    default="L1",
    show_default=True,
    help="Likelihood defining the injected strength: Eq. (10) or (11).",
)
@click.option(
    "--toys",
    type=click.IntRange(min=1),
    default=20000,
    show_default=True,
    help="Toy pairs per hypothesis.",
)
@click.option(
    "--seed", type=int, default=1, show_default=True, help="Seed of the toys."
)
@click.option(
    "--window",
    type=int,
    nargs=4,
    default=None,
    metavar="X0 X1 Y0 Y1",
    help="Fixed 2-D window [X0, X1) x [Y0, Y1) for N_sigma; default: best on Asimov.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("results/binned-study"),
    show_default=True,
    help="Output folder.",
)
def binned(preset, template_file, z_inject, method, toys, seed, window, out) -> None:
    """The binned sensitivity study of Birman et al. 2022, Sec. 4 (Figs. 1-5).

    Writes study.json (every number) and fig1-fig5 PNG plots to OUT.
    """
    from rich.console import Console
    from rich.table import Table

    from ..report import write_json
    from ..report.plots import plot_binned_study
    from ..studies import TESTS, binned_study, preset_templates
    from ..templates import load_templates

    console = Console()
    start = time.perf_counter()
    with library_errors(console):
        if template_file is not None:
            background, signal = load_templates(template_file)
            source = str(template_file)
        else:
            background, signal = preset_templates(preset)
            source = f"preset:{preset}"
        win = (
            None if window is None else [[window[0], window[1]], [window[2], window[3]]]
        )
        with console.status("starting") as status:
            result = binned_study(
                background,
                signal,
                z_inject=z_inject,
                method=method,
                n_toys=toys,
                rng=seed,
                window=win,
                progress=lambda msg: status.update(msg),
            )
            result.settings.update({"seed": seed, "templates": source})
            status.update("plots")
            figures = plot_binned_study(result, out)
            data = result.to_dict()
            data["figures"] = {k: p.name for k, p in figures.items()}
            data["elapsed_s"] = time.perf_counter() - start
            write_json(out / "study.json", data)

    table = Table(
        title=f"Binned sensitivity study ({source}, mu_inj = {result.mu_inject:.1f} events)"
    )
    for col in (
        "test",
        "Asimov Z",
        "Z symmetric (mean ± sd)",
        "Z asymmetric (mean ± sd)",
        "AUC",
    ):
        table.add_column(col, justify="right" if col != "test" else "left")
    toys_summary = data["toys"]
    for key in TESTS:
        n, s = toys_summary[key]["null"], toys_summary[key]["signal"]
        table.add_row(
            key,
            f"{data['asimov_z'][key]:.3f}",
            f"{n['mean']:+.3f} ± {n['std']:.3f}",
            f"{s['mean']:+.3f} ± {s['std']:.3f}",
            f"{toys_summary[key]['auc']:.4f}",
        )
    console.print(table)
    w = result.window
    console.print(f"best window: bins {w.tolist()} ([start, stop) per axis)")
    console.print(
        f"wrote {out / 'study.json'} and {len(figures)} figures in {data['elapsed_s']:.1f} s"
    )


@study.command("nn")
@click.option(
    "--preset",
    type=click.Choice(["paper", "quick"]),
    default="paper",
    show_default=True,
    help="paper: the paper's sizes (about an hour on 2 cores); quick: a minute-long check.",
)
@click.option(
    "--parts",
    default="null,nplm,sensitivity,permutation,epochs,lfuv",
    show_default=True,
    help="Comma-separated parts: null (Fig. 2), nplm (Fig. 1), sensitivity (Fig. 4), "
    "permutation (Fig. 6), epochs (Fig. 7), lfuv (Fig. 5: needs the e-mu pools; skipped "
    "without them).",
)
@click.option(
    "--seed", type=int, default=None, help="Root seed (default: the preset's)."
)
@click.option(
    "--pools",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of e-mu pools for the lfuv part (default: the shipped sample).",
)
@execution_options("the fits of batches of toys")
@resume_options("parts in OUT")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("results/nn-study"),
    show_default=True,
    help="Output folder.",
)
def nn(preset, parts, seed, pools, workers, scheduler, resume, overwrite, out) -> None:
    """The neural-test study of Bressler et al. on the exponential toy model (Sec. III).

    Saves each part in OUT/parts/<part>/ as it finishes, study.json with every number, and the
    figures fig1_nplm_null, fig2_null, fig4_sensitivity, fig5_lfuv, fig6_permutation and
    fig7_epochs (PNG) to OUT.
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from ..execution import executor
    from ..report import write_json
    from ..report.nn_plots import plot_nn_study
    from ..studies.nn import NN_PRESETS, config_with, nn_study

    console = Console()
    names = [p.strip() for p in parts.split(",") if p.strip()]
    config = config_with(
        NN_PRESETS[preset], seed=seed, pools=None if pools is None else str(pools)
    )
    start = time.perf_counter()
    progress = Progress(
        TextColumn("{task.description:<36}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        auto_refresh=False,
    )
    tasks: dict[str, int] = {}

    def update(label: str, done: int, total: int) -> None:
        if label not in tasks:
            tasks[label] = progress.add_task(label, total=total)
        progress.update(tasks[label], completed=done, total=total)
        progress.refresh()

    with library_errors(console):
        with executor(workers, scheduler) as pool, progress:
            result = nn_study(
                config,
                out,
                parts=names,
                executor=pool,
                progress=update,
                resume=resume,
                overwrite=overwrite,
            )
        data = result.to_dict()
        figures = plot_nn_study(data, out)
        data["figures"] = {k: p.name for k, p in figures.items()}
        data["elapsed_s"] = time.perf_counter() - start
        write_json(out / "study.json", data)
    _print_nn_summary(console, data)
    console.print(
        f"wrote {out / 'study.json'} and {len(figures)} figures in {data['elapsed_s']:.0f} s"
    )


def _print_nn_summary(console, data: dict) -> None:
    from rich.table import Table

    if "null" in data:
        table = Table(title="t_{A+B}(A+B) under the null (chi2_12 in brackets)")
        for col in ("N_A/N_B", "toys", "mean (12)", "50%", "84%", "97.5%", "KS p"):
            table.add_column(col, justify="right")
        for ratio, res in data["null"]["ratios"].items():
            pct = res["percentiles"]
            table.add_row(
                ratio,
                str(res["n"]),
                f"{res['mean']:.2f}±{res['mean_error']:.2f}",
                *(
                    f"{pct[q]['observed']:.2f} ({pct[q]['chi2']:.2f})"
                    for q in ("50", "84", "97.5")
                ),
                f"{res['ks_pvalue']:.2g}",
            )
        console.print(table)
    if "nplm" in data:
        table = Table(title="NPLM t_B(A) under the null (chi2_12 mean 12)")
        for col in ("clipping", "N_A/N_B", "toys", "mean", "97.5% (23.34)", "inf"):
            table.add_column(col, justify="right")
        for clip, ratios in data["nplm"]["clipping"].items():
            for ratio, res in ratios.items():
                mean = res.get("mean", float("nan"))
                p975 = res.get("percentiles", {}).get("97.5", {}).get("observed")
                table.add_row(
                    clip,
                    ratio,
                    str(res["n"]),
                    f"{mean:.2f}",
                    "-" if p975 is None else f"{p975:.2f}",
                    f"{100 * res['infinite_fraction']:.0f}%",
                )
        console.print(table)
    if "sensitivity" in data:
        table = Table(title="median significance against the ideal Z_id")
        for col in ("signal", "Z_id", "n_signal", "Z (toy null)", "Z (chi2_12)"):
            table.add_column(col, justify="right")
        for signal, points in data["sensitivity"]["signals"].items():
            for p in points:
                bound = ">= " if p["z_limited_by_toys"] else ""
                table.add_row(
                    signal,
                    f"{p['z_ideal']:g}",
                    f"{p['n_signal']:.1f}",
                    f"{bound}{p['z']:.2f} ± {p['z_error']:.2f}",
                    f"{p['z_chi2']:.2f}",
                )
        console.print(table)
    if "lfuv" in data:
        if "skipped" in data["lfuv"]:
            console.print(f"LFUV part skipped: {data['lfuv']['skipped']}")
        else:
            table = Table(title="LFUV: median Z against BR(H -> tau e)")
            for col in ("lumi [1/fb]", "BR", "n_signal", "Z (toy null)", "Z (chi2_12)"):
                table.add_column(col, justify="right")
            for lumi, res in data["lfuv"]["lumis"].items():
                for p in res["points"]:
                    bound = ">= " if p["z_limited_by_toys"] else ""
                    table.add_row(
                        lumi,
                        f"{p['branching_ratio']:.3g}",
                        f"{p['n_signal']:.0f}",
                        f"{bound}{p['z']:.2f} ± {p['z_error']:.2f}",
                        f"{p['z_chi2']:.2f}",
                    )
            console.print(table)
    if "permutation" in data:
        for d in data["permutation"]["datasets"].values():
            console.print(
                f"S3 {d['n_signal']:g} events: representative t = "
                f"{d['representative_t']:.2f}, Z(permutations) = "
                f"{d['permutation']['z']:.2f}, Z(toy null) = {d['toy_null']['z']:.2f}, "
                f"Z(chi2_12) = {d['chi2']['z']:.2f}"
            )
