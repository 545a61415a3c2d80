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
    """The maximum |N_sigma| of the toys (log scale), and the global p-value beside them.

    Left: the toys' distribution with the observed maximum. Right: P(max >= x) from the toys,
    which cannot go below 1/(n + 1), with the extrapolated global p-value of the observed
    maximum (and its error) and the Bonferroni bound where they were computed.
    """
    toys = np.sort(result.toys)
    observed = result.max_abs_nsigma
    tail = getattr(result, "extrapolated", None)
    with figure(path, ncols=2, width=6.5, sharex=False) as (_fig, axes):
        left, right = axes[0]
        if toys.size:
            left.hist(
                toys,
                bins=min(60, max(10, toys.size // 20)),
                histtype="stepfilled",
                color="#a5d6a7",
                label=f"{toys.size} toys",
            )
            left.set_yscale("log")
            n = toys.size
            survival = (n - np.arange(n) + 1) / (n + 1)  # (k + 1)/(n + 1) at each toy
            right.step(toys, survival, where="post", color="#2e7d32", label="toys")
            right.axhline(
                1 / (n + 1), color="#2e7d32", ls=":", lw=1, label="toys' floor 1/(n+1)"
            )
        for ax in (left, right):
            ax.axvline(
                observed, color="#d62728", lw=2, label=f"observed {observed:.2f}"
            )
        points = sorted(
            (
                abs(r["nsigma"]),
                r["global_p_extrapolated"],
                r["global_p_extrapolated_error"],
            )
            for r in result.regions
            if r.get("global_p_extrapolated")
        )
        if len(points) > 1:  # the extrapolated tail at the regions' |N_sigma|
            x, y, e = (np.array(v) for v in zip(*points, strict=True))
            right.errorbar(
                x,
                y,
                yerr=[np.minimum(e, 0.99 * y), e],
                fmt="s--",
                mfc="none",
                color="#555555",
                capsize=3,
                lw=1,
                label="extrapolated at the regions",
            )
        if tail is not None:
            right.errorbar(
                [tail.threshold],
                [tail.p_value],
                yerr=[
                    [min(tail.p_value_error, 0.99 * tail.p_value)],
                    [tail.p_value_error],
                ],
                fmt="o",
                color="k",
                capsize=4,
                label=f"extrapolated p = {tail.p_value:.2g} (Z = {tail.z:.2f})",
            )
            if 0 < tail.bonferroni < 1:
                right.plot(
                    [tail.threshold],
                    [tail.bonferroni],
                    "v",
                    color="#7a7a7a",
                    label=f"Bonferroni bound {tail.bonferroni:.2g}",
                )
        right.set_yscale("log")
        p, err = result.p_value
        if np.isfinite(p):
            left.set_title(f"toys: global p = {p:.3g} ± {err:.2g}", fontsize=14)
        right.set_title("P(max $|N_\\sigma|$ ≥ x)", fontsize=14)
        left.set_xlabel(r"max $|N_\sigma|$ over all windows")
        right.set_xlabel(r"x = max $|N_\sigma|$")
        left.set_ylabel("toys")
        right.set_ylabel("global p-value")
        left.legend(loc="upper right", fontsize=11, framealpha=0.9)
        right.legend(loc="lower left", fontsize=10, framealpha=0.9)


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
