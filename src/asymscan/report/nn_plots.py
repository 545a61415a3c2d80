"""Plots of the neural-test study (Figs. 1, 2, 4, 6 and 7 of Bressler et al.), from its JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from .plots import figure

__all__ = ("plot_nn_study",)

_CHI2 = "#7a7a7a"
_TOYS = "#7b3294"
_PERM = "#f2b705"
_SIGNALS = {"S1": "#1f77b4", "S2": "#2ca02c", "S3": "#d62728"}


def _chi2_curve(ax, dof: int, hi: float) -> None:
    x = np.linspace(0.0, hi, 400)
    ax.plot(x, stats.chi2(dof).pdf(x), color=_CHI2, lw=2, label=rf"$\chi^2_{{{dof}}}$")


def _hist(ax, t: list[float], bins: np.ndarray, **kwargs: Any) -> None:
    values = np.asarray(t, dtype=float)
    values = values[np.isfinite(values)]
    ax.hist(values, bins=bins, density=True, histtype="step", lw=2, **kwargs)


def plot_null(part: dict[str, Any], dof: int, path: Path) -> None:
    """Fig. 2: t_{A+B}(A+B) under the null for each N_A/N_B, against chi2_dof."""
    ratios = part["ratios"]
    with figure(path, ncols=len(ratios), width=6.0) as (_, axes):
        for ax, (ratio, res) in zip(axes[0], ratios.items(), strict=True):
            hi = max(3.0 * dof, float(np.nanmax(res["t"])) * 1.05)
            bins = np.linspace(0.0, hi, 31)
            _hist(ax, res["t"], bins, color=_TOYS, label=f"{res['n']} toys")
            _chi2_curve(ax, dof, hi)
            ax.set_xlabel(r"$t_{A+B}(A+B)$")
            ax.set_ylabel("density")
            ax.set_title(
                rf"$N_A/N_B = {ratio}$, $N_A = {res['n_a']:.3g}$, $N_B = {res['n_b']:.3g}$",
                fontsize=14,
            )
            ax.text(
                0.97,
                0.6,
                f"mean {res['mean']:.2f} ± {res['mean_error']:.2f}\n"
                f"KS p = {res['ks_pvalue']:.2g}",
                transform=ax.transAxes,
                ha="right",
                fontsize=13,
            )
            ax.legend(fontsize=12)


def plot_nplm(part: dict[str, Any], dof: int, path: Path) -> None:
    """Fig. 1: NPLM t_B(A) under the null; a row per weight clipping, a column per ratio."""
    rows = part["clipping"]
    n_cols = max(len(r) for r in rows.values())
    with figure(path, ncols=n_cols, nrows=len(rows), width=6.0, sharex=False) as (
        _,
        axes,
    ):
        for axes_row, (clip, ratios) in zip(axes, rows.items(), strict=True):
            for ax, (ratio, res) in zip(axes_row, ratios.items(), strict=False):
                t = np.asarray(res["t"], dtype=float)
                finite = t[np.isfinite(t)]
                # the range of the bulk; the far tail (no clipping) goes to the last bin
                hi = max(3.0 * dof, 1.05 * float(np.percentile(finite, 90)))
                over = int((t > hi).sum())
                _hist(
                    ax,
                    np.minimum(t, hi * 0.999).tolist(),
                    np.linspace(0.0, hi, 31),
                    color=_TOYS,
                    label=f"toys ({over} > {hi:.0f} in the last bin)",
                )
                _chi2_curve(ax, dof, hi)
                ax.set_title(
                    rf"clip {clip}, $N_A/N_B = {ratio}$; mean {res['mean']:.1f}; "
                    f"inf: {100 * res['infinite_fraction']:.0f}%",
                    fontsize=13,
                )
                ax.set_xlabel(r"$t_B(A)$")
                ax.legend(fontsize=10)


def plot_sensitivity(part: dict[str, Any], path: Path) -> None:
    """Fig. 4: median measured Z against the ideal Z_id of Eq. (30), per signal."""
    with figure(path, width=7.5) as (_, axes):
        ax = axes[0][0]
        top = 1.0
        for signal, points in part["signals"].items():
            colour = _SIGNALS.get(signal, "black")
            zid = np.array([p["z_ideal"] for p in points])
            z = np.array([p["z"] for p in points])
            err = np.array([p["z_error"] for p in points])
            limited = np.array([p["z_limited_by_toys"] for p in points])
            ax.errorbar(zid, z, yerr=err, color=colour, marker="o", label=f"{signal}")
            if limited.any():
                ax.plot(zid[limited], z[limited], "^", color=colour, ms=11, mfc="none")
            zc = np.array([p["z_chi2"] for p in points])
            ax.plot(zid, zc, "--", color=colour, label=rf"{signal}, $\chi^2_{{12}}$")
            top = max(top, float(np.nanmax(np.r_[zid, z, zc])))
        ax.plot([0, top], [0, top], ":", color=_CHI2, label="$Z = Z_{id}$")
        ax.set_xlabel(r"ideal $Z_{id}$ (Eq. 30)")
        ax.set_ylabel(r"median $Z$ of $t_{A+B}(A+B)$")
        ax.set_title(
            rf"$N_A = N_B = {part['n_a']:.3g}$; null from {part['null_toys']} toys "
            r"($\triangle$: bound)",
            fontsize=13,
        )
        ax.legend(fontsize=11)


def plot_permutation(part: dict[str, Any], null_t: list[float], path: Path) -> None:
    """Fig. 6: toy null; permutations of a representative data set without / with signal."""
    datasets = part["datasets"]
    every = np.concatenate(
        [null_t] + [d["permutation"]["t"] + d["datasets_t"] for d in datasets.values()]
    )
    hi = float(np.nanmax(every[np.isfinite(every)])) * 1.05
    bins = np.linspace(0.0, hi, 31)
    with figure(path, ncols=1 + len(datasets), width=6.0) as (_, axes):
        ax = axes[0][0]
        _hist(ax, null_t, bins, color=_TOYS, label="null toys")
        ax.set_title(rf"null, $N_A = N_B = {part['n_a']:.3g}$", fontsize=14)
        for ax, d in zip(axes[0][1:], datasets.values(), strict=True):
            _hist(ax, d["permutation"]["t"], bins, color=_PERM, label="permutations")
            if d["n_signal"] > 0:
                _hist(ax, d["datasets_t"], bins, color=_TOYS, label="signal data sets")
            counts, edges = np.histogram(null_t, bins=bins, density=True)
            centres = 0.5 * (edges[1:] + edges[:-1])
            ax.plot(centres, counts, "k.", ms=8, label="null toys")
            perm = d["permutation"]
            # above every permutation: the p-value is the smallest possible, Z a lower bound
            bound = (
                ">=" if perm["p_value"] <= 1.0 / (len(perm["t"]) + 1) + 1e-12 else "="
            )
            ax.axvline(
                d["representative_t"],
                color="black",
                lw=2,
                label=f"observed: Z_perm {bound} {perm['z']:.2f}",
            )
            ax.set_title(f"S3, {d['n_signal']:g} expected signal events", fontsize=14)
        for ax in axes[0]:
            ax.set_xlabel(r"$t_{A+B}(A+B)$")
            ax.set_ylabel("density")
            ax.legend(fontsize=11)


def plot_lfuv(part: dict[str, Any], path: Path) -> None:
    """Fig. 5: median significance against BR(H -> tau e), per luminosity (chi2 dashed)."""
    colours = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd")
    with figure(path, width=7.5) as (_, axes):
        ax = axes[0][0]
        for colour, (lumi, res) in zip(colours, part["lumis"].items(), strict=False):
            br = 100 * np.array([p["branching_ratio"] for p in res["points"]])
            z = np.array([p["z"] for p in res["points"]])
            err = np.array([p["z_error"] for p in res["points"]])
            ax.errorbar(
                br, z, yerr=err, marker="o", color=colour, label=f"{lumi} fb$^{{-1}}$"
            )
            zc = [p["z_chi2"] for p in res["points"]]
            ax.plot(br, zc, "--", color=colour)
        ax.axhline(2.0, color=_CHI2, ls=":", lw=1.5)
        ax.plot([], [], "k--", label=r"$\chi^2_{12}$")
        ax.set_xlabel(r"BR($H \to \tau e$) [%]")
        ax.set_ylabel(r"median $Z$ of $t_{A+B}(A+B)$")
        ax.set_title(r"e-leading $e\mu$ events, collinear mass", fontsize=14)
        ax.legend(fontsize=11)


def plot_epochs(part: dict[str, Any], path: Path) -> None:
    """Fig. 7: percentiles of t against Adam epochs; chi2 (dashed) and the fast fit (dotted)."""
    epochs = np.array(part["epochs"], dtype=float)
    colours = ("#1f77b4", "#ff7f0e", "#d62728")
    with figure(path, width=7.5) as (_, axes):
        ax = axes[0][0]
        for q, colour in zip(part["chi2"], colours, strict=False):
            values = [part["percentiles"][str(int(e))][q] for e in epochs]
            ax.plot(epochs, values, "o-", color=colour, label=f"{q}% (Adam)")
            ax.axhline(part["chi2"][q], ls="--", color=colour)
            ax.axhline(part["fast"][q], ls=":", color=colour, lw=2)
        ax.plot([], [], "k--", label=r"$\chi^2_{12}$")
        ax.plot([], [], "k:", label="fast fit")
        ax.set_xscale("log")
        # Adam starts from a random network (f != 0): t is very negative for the first
        # epochs; the interesting range is that of chi2 and of the converged fit
        top = 1.15 * max(max(part["chi2"].values()), max(part["fast"].values()))
        ax.set_ylim(-5.0, top)
        ax.set_xlabel("epochs (full-batch Adam, lr = {:g})".format(part["lr"]))
        ax.set_ylabel(r"percentile of $t_{A+B}(A+B)$")
        ax.set_title(rf"$N_A = N_B = {part['n_a']:.3g}$", fontsize=14)
        ax.legend(fontsize=11)


def plot_nn_study(
    data: dict[str, Any], out: str | Path, dof: int = 12
) -> dict[str, Path]:
    """Write the figures of the parts present in ``data`` (:meth:`NNStudy.to_dict`) to ``out``."""
    out = Path(out)
    written: dict[str, Path] = {}
    if "null" in data:
        written["null"] = out / "fig2_null.png"
        plot_null(data["null"], dof, written["null"])
    if "nplm" in data:
        written["nplm"] = out / "fig1_nplm_null.png"
        plot_nplm(data["nplm"], dof, written["nplm"])
    if "sensitivity" in data:
        written["sensitivity"] = out / "fig4_sensitivity.png"
        plot_sensitivity(data["sensitivity"], written["sensitivity"])
    if "permutation" in data:
        written["permutation"] = out / "fig6_permutation.png"
        plot_permutation(
            data["permutation"], data["permutation"]["null_t"], written["permutation"]
        )
    if "lfuv" in data and "lumis" in data["lfuv"]:
        written["lfuv"] = out / "fig5_lfuv.png"
        plot_lfuv(data["lfuv"], written["lfuv"])
    if "epochs" in data:
        written["epochs"] = out / "fig7_epochs.png"
        plot_epochs(data["epochs"], written["epochs"])
    return written
