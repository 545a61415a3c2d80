"""``asymscan study ...``: sensitivity studies reproducing the papers' figures."""

from __future__ import annotations

import time
from pathlib import Path

import click

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

    from ..errors import AsymscanError
    from ..report import write_json
    from ..report.plots import plot_binned_study
    from ..studies import TESTS, binned_study, preset_templates
    from ..templates import load_templates

    console = Console()
    start = time.perf_counter()
    try:
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
    except AsymscanError as err:
        raise click.ClickException(str(err)) from err

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
