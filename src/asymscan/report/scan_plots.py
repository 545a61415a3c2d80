"""Plots of a data-directed scan: significance maps, A vs B comparisons, the toys' maximum."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib as mpl
import numpy as np

from ..calibrate.exchange import histogram_inputs
from .plots import figure

if TYPE_CHECKING:
    from ..scan.layout import Histogram
    from ..scan.run import ScanResult

__all__ = ("plot_region", "plot_scan", "plot_toys")


def _bin_significance(a: np.ndarray, b: np.ndarray, var_a, var_b) -> np.ndarray:
    """Per-bin (B - A)/sigma, Eq. (1) for one bin; NaN where the bin is empty."""
    var = (a + b) if var_a is None else (var_a + var_b)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(var > 0, (b - a) / np.sqrt(var), np.nan)


def _plain(text: str) -> str:
    """``text`` as matplotlib shows it literally: every ``$`` escaped, so no mathtext.

    Matplotlib typesets a string with an even number of unescaped ``$`` as mathtext, where
    ``_``, ``^`` and ``\\`` are commands and an unknown command makes ``savefig`` raise; a
    string whose every ``$`` is written ``\\$`` is plain text, shown exactly as given.
    """
    return str(text).replace("$", r"\$")


def _title(region: dict) -> str:
    """The region's rank, selection, N_sigma and global p, as plain text (no mathtext)."""
    sel = ", ".join(f"{k}={v}" for k, v in region["selection"].items()) or "inclusive"
    gp = "n/a" if region["global_p"] is None else f"{region['global_p']:.3g}"
    return (
        f"#{region['rank']}: {_plain(sel)}, N\N{GREEK SMALL LETTER SIGMA} = "
        f"{region['nsigma']:+.2f}, global p = {gp}"
    )


def plot_region(result: ScanResult, region: dict, path: Path) -> None:
    """A region: 1-D, A and B with a (B - A)/sigma panel; 2-D, the per-bin significance map."""
    import mplhep as hep

    h: Histogram = result.cells.histograms[region["histogram"]]
    cells = result.cells
    inputs = histogram_inputs(
        cells, cells.sums(cells.n_a), h, result.config.scan.normalize
    )
    a, b, var_a, var_b = (inputs[k] for k in ("a", "b", "var_a", "var_b"))
    sig = _bin_significance(a, b, var_a, var_b)
    window = [region["window"][o] for o in h.observables]
    if h.ndim == 1:
        with figure(path, nrows=2, height_ratios=(3, 1)) as (_fig, axes):
            top, bottom = axes[0][0], axes[1][0]
            edges = h.edges[0]
            err_a = np.sqrt(a if var_a is None else var_a)
            err_b = np.sqrt(b if var_b is None else var_b)
            hep.histplot(a, edges, yerr=err_a, ax=top, label="A", color="#1f77b4")
            hep.histplot(b, edges, yerr=err_b, ax=top, label="B", color="#d62728")
            hep.histplot(sig, edges, ax=bottom, histtype="fill", color="#7a7a7a")
            for ax in (top, bottom):
                ax.axvspan(*window[0], color="#fff176", alpha=0.5, zorder=0)
            top.set_ylabel("events" if cells.weights is None else "corrected events")
            top.legend()
            top.set_title(_title(region), fontsize=12)
            bottom.set_ylabel(r"$(B-A)/\sigma$")
            bottom.axhline(0, color="k", lw=0.8)
            bottom.set_xlabel(_plain(h.observables[0]))
    else:
        sig2 = sig if h.ndim == 2 else np.nansum(sig, axis=2) / np.sqrt(h.shape[2])
        with figure(path, width=8.5) as (_fig, axes):
            ax = axes[0][0]
            lim = max(
                3.0, float(np.nanmax(np.abs(sig2))) if np.isfinite(sig2).any() else 3.0
            )
            art = hep.hist2dplot(
                sig2, h.edges[0], h.edges[1], ax=ax, cmap="RdBu_r", cmin=-lim, cmax=lim
            )
            art.cbar.set_label(r"$(B-A)/\sigma$ per bin")
            (x0, x1), (y0, y1) = window[0], window[1]
            ax.add_patch(
                mpl.patches.Rectangle(
                    (x0, y0), x1 - x0, y1 - y0, fill=False, ec="k", lw=2
                )
            )
            ax.set_xlabel(_plain(h.observables[0]))
            ax.set_ylabel(_plain(h.observables[1]))
            ax.set_title(
                _title(region) + ("" if h.ndim == 2 else " (summed over axis 3)"),
                fontsize=12,
            )


def plot_toys(result: ScanResult, path: Path) -> None:
    """The maximum |N_sigma| of the label-exchange toys, with the observed maximum."""
    with figure(path) as (_fig, axes):
        ax = axes[0][0]
        toys = result.toys
        if toys.size:
            ax.hist(
                toys,
                bins=min(60, max(10, toys.size // 20)),
                histtype="stepfilled",
                color="#a5d6a7",
                label=f"{toys.size} label-exchange toys",
            )
        ax.axvline(
            result.max_abs_nsigma,
            color="#d62728",
            lw=2,
            label=f"observed {result.max_abs_nsigma:.2f}",
        )
        p, err = result.p_value
        if np.isfinite(p):
            ax.set_title(f"global p = {p:.3g} ± {err:.2g}", fontsize=13)
        ax.set_xlabel(r"maximum $|N_\sigma|$ over all windows and histograms")
        ax.set_ylabel("toys")
        ax.legend()


def plot_scan(
    result: ScanResult, out: str | Path, *, regions: int = 10
) -> dict[str, Path]:
    """Write the toys' plot and one plot per top region into ``out``; returns paths by name."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"toys": out / "toys.png"}
    plot_toys(result, paths["toys"])
    for region in result.regions[:regions]:
        name = f"region_{region['rank']:02d}"
        paths[name] = out / f"{name}.png"
        plot_region(result, region, paths[name])
    return paths
