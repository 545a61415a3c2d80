"""The exponential toy model of Bressler et al., Sec. III A: background b0 and signals S1-S3.

``b0(x) = exp(-x)`` (Eq. 25); S1 and S3 are narrow Gaussians in the tail (6.4) and the bulk
(1.6) with sigma 0.16 (Eqs. 26, 28); S2 = x^2 exp(-x)/2 is a broad excess (Eq. 27, a Gamma(3)
density). Samples A and B share the background; a signal is added to A only. Sample sizes are
Poisson-fluctuated, as in the paper's toys.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import integrate, stats

from .errors import ConfigError, DataError

__all__ = (
    "SIGNALS",
    "ExponentialSample",
    "background_pdf",
    "ideal_significance",
    "ideal_symmetrized_score",
    "sample_exponential",
    "signal_pdf",
)

SignalName = Literal["S1", "S2", "S3"]

#: The signals of Eqs. (26)-(28) as scipy distributions.
SIGNALS = {
    "S1": stats.norm(6.4, 0.16),
    "S2": stats.gamma(3.0),
    "S3": stats.norm(1.6, 0.16),
}
_BACKGROUND = stats.expon()
#: Points where the integrands change fast (the resonances), for the quadrature.
_PEAKS = {"S1": (6.4,), "S2": (), "S3": (1.6,)}


def _signal(name: str):
    if name not in SIGNALS:
        msg = f"unknown signal {name!r}; choose one of {sorted(SIGNALS)}"
        raise ConfigError(msg)
    return SIGNALS[name]


def background_pdf(x: np.ndarray) -> np.ndarray:
    """b0(x) = exp(-x) for x >= 0, Eq. (25)."""
    return _BACKGROUND.pdf(x)


def signal_pdf(name: SignalName, x: np.ndarray) -> np.ndarray:
    """S1, S2 or S3 of Eqs. (26)-(28)."""
    return _signal(name).pdf(x)


@dataclass(frozen=True)
class ExponentialSample:
    """One toy: the events of A and B (shape ``(n, 1)``) and how many signal events A holds."""

    a: np.ndarray
    b: np.ndarray
    n_signal: int


def sample_exponential(
    n_a: float,
    n_b: float,
    *,
    signal: SignalName | None = None,
    n_signal: float = 0.0,
    rng: np.random.Generator | int | None = None,
) -> ExponentialSample:
    """Draw A and B: Poisson(``n_a``) and Poisson(``n_b``) background events from b0, plus
    Poisson(``n_signal``) events of ``signal`` added to A (Sec. III A)."""
    if min(n_a, n_b) <= 0 or n_signal < 0:
        msg = (
            f"expected sizes must be positive (n_a={n_a}, n_b={n_b}) and n_signal >= 0"
        )
        raise DataError(msg)
    if n_signal > 0 and signal is None:
        msg = "n_signal > 0 needs a signal shape: 'S1', 'S2' or 'S3'"
        raise ConfigError(msg)
    gen = np.random.default_rng(rng)
    a = _BACKGROUND.rvs(size=gen.poisson(n_a), random_state=gen)
    b = _BACKGROUND.rvs(size=gen.poisson(n_b), random_state=gen)
    k = 0
    if signal is not None and n_signal > 0:
        k = int(gen.poisson(n_signal))
        a = np.concatenate([a, _signal(signal).rvs(size=k, random_state=gen)])
        gen.shuffle(a)
    return ExponentialSample(a=a[:, None], b=b[:, None], n_signal=k)


def _integral(func: Callable[[float], float], peaks: tuple[float, ...]) -> float:
    """integral of ``func`` over [0, inf), split at the resonances for an accurate quadrature."""
    edges = [0.0]
    for p in peaks:
        edges += [p - 1.0, p - 0.3, p + 0.3, p + 1.0]
    edges += [max(edges) + 20.0, 60.0]
    edges = sorted({e for e in edges if e >= 0})
    total = 0.0
    for lo, hi in itertools.pairwise(edges):
        total += integrate.quad(func, lo, hi, epsabs=1e-10, epsrel=1e-10, limit=200)[0]
    return (
        total + integrate.quad(func, edges[-1], np.inf, epsabs=1e-10, epsrel=1e-10)[0]
    )


def ideal_significance(n_b: float, n_s: float, signal: SignalName) -> float:
    """Z_id of Eq. (30): sqrt(q0) of the ideal analysis, background and signal shapes known.

    ``n_b`` and ``n_s`` are the expected background and signal events in sample A.
    """
    if n_b <= 0 or n_s < 0:
        msg = f"need n_b > 0 and n_s >= 0, got n_b={n_b}, n_s={n_s}"
        raise DataError(msg)
    s = _signal(signal)

    def integrand(x: float) -> float:
        nb, ns = n_b * np.exp(-x), n_s * s.pdf(x)
        return (nb + ns) * np.log1p(ns / nb) if nb > 0 else 0.0

    q0 = 2.0 * (-n_s + _integral(integrand, _PEAKS[signal]))
    return float(np.sqrt(max(q0, 0.0)))


def ideal_symmetrized_score(
    n_b_a: float, n_b_b: float, n_s: float, signal: SignalName
) -> float:
    """The ideal t_{A+B}(A+B) (App. C): the corrected Eq. (22) at its exact optimum on expected data.

    With expected densities n_A(x) = N_b^A b0 + N_s S, n_B(x) = N_b^B b0 and n = n_A + n_B, the
    minimum of the loss is at e^f = N n_A / (N_A n), e^g = N n_B / (N_B n) (N_A, N_B, N the
    expected totals), and

        t = 2 [ integral n_A log(N n_A / (N_A n)) + integral n_B log(N n_B / (N_B n)) ],

    twice the information the label carries about x. It keeps the normalisation free, like
    Eq. (C2); for N_B >> N_A it tends to Eq. (29) with the total of A profiled.
    """
    if min(n_b_a, n_b_b) <= 0 or n_s < 0:
        msg = f"need n_b_a, n_b_b > 0 and n_s >= 0, got {n_b_a}, {n_b_b}, {n_s}"
        raise DataError(msg)
    s = _signal(signal)
    big_a, big_b = n_b_a + n_s, n_b_b

    def integrand(x: float) -> float:
        b0 = np.exp(-x)
        if b0 == 0.0:
            return 0.0
        na, nb = n_b_a * b0 + n_s * s.pdf(x), n_b_b * b0
        n = na + nb
        # log(N na / (N_A n)) = log1p((N_B na - N_A nb) / (N_A n)), likewise for B: no
        # cancellation when one sample dominates.
        d = big_b * na - big_a * nb
        return na * np.log1p(d / (big_a * n)) + nb * np.log1p(-d / (big_b * n))

    return float(2.0 * _integral(integrand, _PEAKS[signal]))
