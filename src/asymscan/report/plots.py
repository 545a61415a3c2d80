"""Plots of the binned sensitivity study (Figs. 1-5 of Birman et al. 2022), matplotlib + mplhep."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import matplotlib as mpl
import numpy as np
from scipy import stats

from ..files import atomic_path
from ..studies.binned import TESTS, BinnedStudy

__all__ = ("figure", "plot_binned_study")

_COLOURS = {
    "nsigma_full": "#7a7a7a",
    "nsigma_window": "#1f77b4",
    "q0_L1": "#d62728",
    "q0_L2": "#2ca02c",
}


@contextmanager
def figure(
    path: Path,
    *,
    ncols: int = 1,
    nrows: int = 1,
    width: float = 7.0,
    height_ratios: tuple[float, ...] | None = None,
    sharex: bool | None = None,
) -> Iterator:
    """A figure in the mplhep style, saved atomically to ``path`` and closed.

    Yields ``(fig, axes)`` with ``axes`` a 2-D array ``[row][column]``; rows share their x
    axis unless ``sharex`` is False.
    """
    mpl.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import mplhep as hep

    with plt.style.context(hep.style.ROOT):
        fig, axes = plt.subplots(
            nrows,
            ncols,
            figsize=(width * ncols, 6 if nrows == 1 else 7.5),
            squeeze=False,
            sharex=nrows > 1 if sharex is None else sharex,
            gridspec_kw={"height_ratios": height_ratios} if height_ratios else None,
        )
        try:
            yield fig, axes
            fig.tight_layout()
            with atomic_path(path) as tmp:
                fig.savefig(tmp, dpi=110, format="png")
        finally:
            plt.close(fig)


def _bands(ax) -> None:
    """The symmetric hypothesis' 1 and 2 sigma bands around zero, as in Figs. 3 and 5."""
    ax.axhspan(-2, 2, color="#fff176", zorder=0, label=r"$\pm 2\sigma$ (symmetric)")
    ax.axhspan(-1, 1, color="#a5d6a7", zorder=0, label=r"$\pm 1\sigma$ (symmetric)")


def plot_templates(study: BinnedStudy, path: Path) -> None:
    """Fig. 1: the background template T and the signal template S (2-D) or their profiles (1-D)."""
    import mplhep as hep

    with figure(path, ncols=2, width=6.5) as (_fig, axes):
        for ax, values, title in zip(
            axes[0],
            (study.background, study.signal),
            ("background T", "signal S (normalised)"),
            strict=True,
        ):
            if values.ndim == 2:
                edges = [np.arange(n + 1) for n in values.shape]
                hep.hist2dplot(values, *edges, ax=ax)
                ax.set_ylabel("bin (axis 1)")
            elif values.ndim == 1:
                hep.histplot(values, np.arange(values.size + 1), ax=ax)
                ax.set_ylabel("entries")
            else:
                hep.hist2dplot(
                    values.sum(axis=2),
                    *[np.arange(n + 1) for n in values.shape[:2]],
                    ax=ax,
                )
                ax.set_ylabel("bin (axis 1), summed over axis 2")
            ax.set_xlabel("bin (axis 0)")
            ax.set_title(title)
        if study.signal.ndim >= 2:
            w = study.window
            axes[0][1].add_patch(
                mpl.patches.Rectangle(
                    (w[0, 0], w[1, 0]),
                    w[0, 1] - w[0, 0],
                    w[1, 1] - w[1, 0],
                    fill=False,
                    ec="red",
                    lw=2,
                )
            )


def plot_pdfs(study: BinnedStudy, path: Path) -> None:
    """Fig. 2: distributions of Z under the symmetric and asymmetric hypotheses, per test."""
    with figure(path, width=8.0) as (_fig, axes):
        ax = axes[0][0]
        lo = min(min(v.min() for v in study.toys_null.values()), -4.5)
        hi = max(max(v.max() for v in study.toys_signal.values()), 8.0)
        bins = np.linspace(lo, hi, 120)
        for key, label in TESTS.items():
            c = _COLOURS[key]
            ax.hist(
                study.toys_null[key],
                bins,
                density=True,
                histtype="step",
                ls="--",
                color=c,
            )
            ax.hist(
                study.toys_signal[key],
                bins,
                density=True,
                histtype="step",
                color=c,
                label=label,
            )
        x = np.linspace(lo, hi, 400)
        ax.plot(x, stats.norm.pdf(x), color="k", lw=1, label="standard normal")
        ax.set_xlabel("Z")
        ax.set_ylabel("probability density")
        ax.set_title(
            f"dashed: symmetric, solid: injected $Z^{{{study.method}}}_{{inj}}={study.z_inject:g}$"
            f" ({study.settings.get('n_toys', '?')} toys)",
            fontsize=13,
        )
        ax.legend(fontsize=12, loc="upper left")


def plot_window_sizes(study: BinnedStudy, path: Path) -> None:
    """Fig. 3: Asimov N_sigma of the best square window against its size, with q0 for reference."""
    with figure(path) as (_fig, axes):
        ax = axes[0][0]
        _bands(ax)
        ax.plot(
            study.window_sizes,
            study.window_z,
            "o-",
            color=_COLOURS["nsigma_window"],
            label=TESTS["nsigma_window"],
        )
        for key in ("q0_L1", "q0_L2"):
            ax.axhline(
                study.asimov_z[key],
                color=_COLOURS[key],
                ls="--",
                label=f"{TESTS[key]} (Asimov)",
            )
        ax.set_xlabel(
            "window size k (k x k bins)"
            if study.background.ndim == 2
            else "window size k"
        )
        ax.set_ylabel("Asimov Z")
        ax.set_ylim(
            -2.5, 1.5 * max(study.asimov_z["q0_L1"], np.nanmax(study.window_z), 2.0)
        )
        ax.legend(fontsize=11, ncol=2, loc="upper right")


def plot_roc(study: BinnedStudy, path: Path) -> None:
    """Fig. 4: ROC curves of the four tests, with their AUC."""
    aucs = study.auc()
    with figure(path) as (_fig, axes):
        ax = axes[0][0]
        for key, (fpr, tpr) in study.roc().items():
            ax.plot(
                fpr,
                tpr,
                color=_COLOURS[key],
                label=f"{TESTS[key]}: AUC = {aucs[key]:.3f}",
            )
        ax.plot([0, 1], [0, 1], color="k", lw=0.8, ls=":")
        ax.set_xlabel("false-positive rate (symmetric)")
        ax.set_ylabel("true-positive rate (asymmetric)")
        ax.legend(fontsize=12, loc="lower right")


def plot_injection(study: BinnedStudy, path: Path) -> None:
    """Fig. 5: Asimov Z of each test against the injected significance."""
    with figure(path) as (_fig, axes):
        ax = axes[0][0]
        _bands(ax)
        for key, label in TESTS.items():
            style = "s--" if key == "nsigma_window" else "o-"
            ax.plot(
                study.injected_z,
                study.injected_asimov[key],
                style,
                ms=4,
                color=_COLOURS[key],
                label=label,
            )
        ax.set_xlabel(f"injected significance $Z^{{{study.method}}}_{{inj}}$")
        ax.set_ylabel("Asimov Z")
        top = max(np.nanmax(v) for v in study.injected_asimov.values())
        ax.set_ylim(-2.5, 1.45 * max(top, 2.0))
        ax.legend(fontsize=11, ncol=2, loc="upper left")


def plot_binned_study(study: BinnedStudy, out: str | Path) -> dict[str, Path]:
    """Write the five figures of the study as PNG files in ``out``; returns their paths by name."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    figures = {
        "templates": (plot_templates, "fig1_templates.png"),
        "pdfs": (plot_pdfs, "fig2_pdfs.png"),
        "window_sizes": (plot_window_sizes, "fig3_window_size.png"),
        "roc": (plot_roc, "fig4_roc.png"),
        "injection": (plot_injection, "fig5_injection.png"),
    }
    paths = {}
    for name, (plot, filename) in figures.items():
        paths[name] = out / filename
        plot(study, paths[name])
    return paths
