"""The binned sensitivity study of Birman et al. 2022, Sec. 4 (Figs. 2-5).

Given a background template T and a signal shape S, a signal is injected with the strength that
gives significance ``z_inject`` on Asimov data (Eq. 9). The four tests -- N_sigma on the full
histogram, N_sigma on the best window, q0^L1 and q0^L2 -- are then compared on Asimov data and
on Poisson toys under the symmetric (A vs B) and asymmetric (A vs B + mu S) hypotheses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .. import templates
from .._version import __version__
from ..calibrate.toys import poisson_toys
from ..errors import DataError, ShapeError
from ..stats import (
    auc,
    inject_strength,
    nsigma,
    q0_known_background,
    q0_two_sample,
    roc_curve,
    scan_windows,
)
from ..templates import template_pair

__all__ = ("PRESETS", "TESTS", "BinnedStudy", "binned_study", "preset_templates")

log = logging.getLogger(__name__)

#: The tests compared, in the paper's order, with their labels.
TESTS = {
    "nsigma_full": r"$N_\sigma$ (full histogram)",
    "nsigma_window": r"$N_\sigma$ (best window)",
    "q0_L1": r"$q_0^{L1}$",
    "q0_L2": r"$q_0^{L2}$",
}


def _higgs_lfv() -> tuple[np.ndarray, np.ndarray]:
    from ..samples import higgs_lfv_templates

    return higgs_lfv_templates()


#: Template presets: name -> (description, factory returning (background, signal)).
PRESETS: dict[str, tuple[str, Callable[[], tuple[np.ndarray, np.ndarray]]]] = {
    "flat": (
        "flat 28x28 background, 1e4 entries per bin; flat 6x6 signal in the centre (Sec. 4)",
        lambda: (templates.flat((28, 28), 1e4), templates.rectangle((28, 28), 6)),
    ),
    "flat-gaussian": (
        "flat 28x28 background, 1e4 entries per bin; 2-D Gaussian signal, sigma = 2 bins",
        lambda: (
            templates.flat((28, 28), 1e4),
            templates.gaussian((28, 28), sigma=2.0),
        ),
    ),
    "flat-100": (
        "flat 28x28 background, 100 entries per bin; flat 6x6 signal in the centre (Sec. 3)",
        lambda: (templates.flat((28, 28), 100.0), templates.rectangle((28, 28), 6)),
    ),
    "higgs-lfv": (
        "Higgs LFV (Sec. 3, Fig. 1): SM e-mu pools at 40 fb^-1 + 25/bin; H -> tau mu",
        _higgs_lfv,
    ),
}


def preset_templates(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The ``(background, signal)`` templates of a named preset (see ``PRESETS``)."""
    if name not in PRESETS:
        msg = f"unknown preset {name!r}; choose one of {sorted(PRESETS)}"
        raise DataError(msg)
    return PRESETS[name][1]()


@dataclass
class BinnedStudy:
    """Every number of the study; ``to_dict`` gives the JSON written by the CLI.

    Attributes
    ----------
    background, signal
        The templates T and S (S normalised to unit sum).
    mu_inject
        Injected signal strength (events), from Eq. (10) or (11).
    window
        The best-suited window, ``[start, stop)`` per axis, chosen on Asimov data among square
        windows (Fig. 3), or given by the user.
    asimov_z
        Z of each test on the Asimov data A = T, B = T + mu S.
    window_sizes, window_z
        Asimov N_sigma of the best square window of each size k (Fig. 3).
    toys_null, toys_signal
        Z of each test per toy, symmetric and asymmetric hypotheses (Fig. 2).
    injected_z, injected_asimov
        Asimov Z of each test against the injected significance (Fig. 5).
    """

    background: np.ndarray
    signal: np.ndarray
    z_inject: float
    method: str
    mu_inject: float
    window: np.ndarray
    asimov_z: dict[str, float]
    window_sizes: np.ndarray
    window_z: np.ndarray
    toys_null: dict[str, np.ndarray]
    toys_signal: dict[str, np.ndarray]
    injected_z: np.ndarray
    injected_asimov: dict[str, np.ndarray]
    settings: dict[str, Any] = field(default_factory=dict)

    def auc(self) -> dict[str, float]:
        """Area under the ROC curve of each test (Fig. 4)."""
        return {k: auc(self.toys_null[k], self.toys_signal[k]) for k in TESTS}

    def roc(self, points: int = 200) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """ROC curve ``(fpr, tpr)`` of each test, thinned to about ``points`` thresholds."""
        return {
            k: roc_curve(self.toys_null[k], self.toys_signal[k], points=points)
            for k in TESTS
        }

    def to_dict(self) -> dict[str, Any]:
        """Every number of the study as plain JSON types."""

        def moments(z: np.ndarray) -> dict[str, float]:
            n = z.size
            return {
                "mean": float(z.mean()),
                "std": float(z.std(ddof=1)),
                "mean_error": float(z.std(ddof=1) / np.sqrt(n)),
                "quantiles_16_50_84": [
                    float(q) for q in np.quantile(z, [0.16, 0.5, 0.84])
                ],
            }

        aucs = self.auc()
        rocs = self.roc()
        return {
            "version": __version__,
            "settings": self.settings,
            "z_inject": self.z_inject,
            "injection_method": self.method,
            "mu_inject": self.mu_inject,
            "signal_fraction": self.mu_inject / float(self.background.sum()),
            "window": {
                "start": self.window[:, 0].tolist(),
                "stop": self.window[:, 1].tolist(),
                "signal_fraction": self._window_signal_fraction(),
            },
            "asimov_z": self.asimov_z,
            "toys": {
                k: {
                    "null": moments(self.toys_null[k]),
                    "signal": moments(self.toys_signal[k]),
                    "auc": aucs[k],
                    "roc": {"fpr": rocs[k][0].tolist(), "tpr": rocs[k][1].tolist()},
                }
                for k in TESTS
            },
            "window_size_scan": {
                "size": self.window_sizes.tolist(),
                "asimov_nsigma": self.window_z.tolist(),
            },
            "injection_scan": {
                "z_inject": self.injected_z.tolist(),
                **{k: v.tolist() for k, v in self.injected_asimov.items()},
            },
        }

    def _window_signal_fraction(self) -> float:
        sl = tuple(slice(int(a), int(b)) for a, b in self.window)
        t, s = self.background[sl].sum(), self.mu_inject * self.signal[sl].sum()
        return float(s / t)


def _window_slice(window: np.ndarray) -> tuple[slice, ...]:
    return (Ellipsis, *(slice(int(a), int(b)) for a, b in window))


def _statistics(
    b: np.ndarray,
    a: np.ndarray,
    t: np.ndarray,
    s: np.ndarray,
    window: np.ndarray,
    nd: int,
) -> dict[str, np.ndarray]:
    """Z of the four tests for (batched) B against A (N_sigma, L2) or against T (L1)."""
    sl = _window_slice(window)
    return {
        "nsigma_full": nsigma(b, a, ndim=nd).nsigma,
        "nsigma_window": nsigma(b[sl], a[sl], ndim=nd).nsigma,
        "q0_L1": q0_known_background(b, t, s, ndim=nd).z,
        "q0_L2": q0_two_sample(b, a, s, ndim=nd).z,
    }


def binned_study(
    background: Any,
    signal: Any,
    *,
    z_inject: float = 5.0,
    method: Literal["L1", "L2"] = "L1",
    n_toys: int = 20000,
    rng: np.random.Generator | int | None = None,
    window: Any = None,
    injected_z: Any = None,
    progress: Callable[[str], None] | None = None,
) -> BinnedStudy:
    """Run the sensitivity study of Sec. 4 (Figs. 2-5 of Birman et al. 2022).

    Parameters
    ----------
    background
        Template T (expected counts per bin; array or hist/UHI histogram), 1-3 bin axes.
    signal
        Signal shape S (normalised here to unit sum).
    z_inject
        Significance of the injected signal on Asimov data with ``method`` (the paper uses 5
        with L1).
    method
        ``"L1"`` (Eq. 10) or ``"L2"`` (Eq. 11) to define the injected strength.
    n_toys
        Toy pairs per hypothesis (20000 in the paper).
    rng
        Generator or seed for the toys.
    window
        ``[[start, stop], ...]`` per axis for the windowed N_sigma; default: the best square
        window on Asimov data (Fig. 3).
    injected_z
        Injected significances for Fig. 5 (default 0.5, 1.0, ..., 7.0).
    progress
        Called with a short description before each step.

    Returns
    -------
    BinnedStudy
    """
    step = progress or (lambda _msg: None)
    t, s = template_pair(background, signal)
    if not 1 <= t.ndim <= 3:
        msg = f"templates must have 1 to 3 axes, got {t.ndim}"
        raise ShapeError(msg)
    nd = t.ndim
    gen = np.random.default_rng(rng)

    step("injected signal strength")
    mu = float(inject_strength(t, s, z_inject, method=method))
    a_asimov, b_asimov = t, t + mu * s

    step("window-size scan on Asimov data")
    scan = scan_windows(b_asimov, a_asimov, sizes="square")
    sizes = np.arange(1, min(t.shape) + 1)
    window_z = np.array([scan.best_per_size[(k - 1,) * nd] for k in sizes])
    if window is None:
        k_best = int(sizes[np.nanargmax(window_z)])
        wmap = scan.map(k_best)
        start = np.unravel_index(int(np.nanargmax(wmap)), wmap.shape)
        win = np.array([[st, st + k_best] for st in start])
    else:
        win = np.asarray(window, dtype=int).reshape(nd, 2)
        if (
            (win[:, 0] < 0).any()
            or (win[:, 1] > np.array(t.shape)).any()
            or (win[:, 1] <= win[:, 0]).any()
        ):
            msg = f"window {win.tolist()} does not fit the templates of shape {t.shape}"
            raise ShapeError(msg)
    asimov_z = {
        k: float(v) for k, v in _statistics(b_asimov, a_asimov, t, s, win, nd).items()
    }
    log.info("mu_inject=%.6g, window=%s, Asimov Z=%s", mu, win.tolist(), asimov_z)

    step(f"{n_toys} toys, symmetric and asymmetric hypotheses")
    toys = poisson_toys(t, s, mu, n=n_toys, rng=gen)
    null = _statistics(toys.b, toys.a, t, s, win, nd)
    alt = _statistics(toys.b_signal, toys.a, t, s, win, nd)

    step("Asimov significance against the injected signal")
    zs = (
        np.arange(0.5, 7.01, 0.5)
        if injected_z is None
        else np.asarray(injected_z, dtype=float)
    )
    if zs.ndim != 1 or zs.size == 0:
        msg = "injected_z must be a non-empty 1-D list of significances"
        raise DataError(msg)
    mus = inject_strength(t, s, zs, method=method)
    b_inj = t + mus.reshape(-1, *([1] * nd)) * s
    injected = _statistics(b_inj, np.broadcast_to(t, b_inj.shape), t, s, win, nd)

    return BinnedStudy(
        background=t,
        signal=s,
        z_inject=float(z_inject),
        method=method,
        mu_inject=mu,
        window=win,
        asimov_z=asimov_z,
        window_sizes=sizes,
        window_z=window_z,
        toys_null=null,
        toys_signal=alt,
        injected_z=zs,
        injected_asimov=injected,
        settings={
            "n_toys": int(n_toys),
            "shape": list(t.shape),
            "fluctuate_signal": False,
        },
    )
