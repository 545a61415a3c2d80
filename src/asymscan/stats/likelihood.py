"""Profile-likelihood discovery statistics q0 with a known signal shape (Birman et al. 2022, Sec. 2).

``q0_known_background`` is L1, Eq. (3): B ~ Poisson(T + mu S) with the background T known.
``q0_two_sample`` is L2, Eq. (4): B ~ Poisson(b + mu S), A ~ Poisson(b), with one background
parameter per bin profiled in closed form. Both are signed as in Eq. (6) and fitted in mu for
every toy at once by a bracketed Newton iteration (the profile log-likelihood is concave in mu).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.special import xlogy

from .._arrays import as_binned, bin_shape, check_finite, resolve_ndim
from ..errors import DataError
from ._solve import newton_decreasing

__all__ = (
    "Q0Result",
    "asimov_q0",
    "inject_strength",
    "q0_known_background",
    "q0_two_sample",
)


@dataclass(frozen=True)
class Q0Result:
    """A signed discovery statistic, batched over the leading axes.

    Attributes
    ----------
    q0
        Eq. (6): ``-2 ln lambda(0)`` when ``mu_hat >= 0``, ``+2 ln lambda(0)`` otherwise.
    z
        ``sign(q0) * sqrt(|q0|)``, Eq. (8): standard normal under the background-only hypothesis.
    mu_hat
        The maximum-likelihood signal strength (number of signal events, S being normalised).
    """

    q0: np.ndarray
    z: np.ndarray
    mu_hat: np.ndarray


def _signal(s: Any) -> np.ndarray:
    sig = (
        np.asarray(s, dtype=float)
        if not hasattr(s, "axes")
        else as_binned(s, "s").values
    )
    check_finite(sig, "signal template s")
    if (sig < 0).any():
        msg = f"signal template s has negative entries (minimum {sig.min():g}); it must be >= 0"
        raise DataError(msg)
    if not (sig > 0).any():
        msg = "signal template s has no positive entry: there is no signal shape to test for"
        raise DataError(msg)
    return sig


def _flatten(
    nd: int, arrays: dict[str, np.ndarray]
) -> tuple[tuple[int, ...], list[np.ndarray]]:
    """Broadcast batch axes, flatten bins: returns the batch shape and (N, K) arrays."""
    bins = bin_shape(nd, arrays)
    batch = np.broadcast_shapes(*(v.shape[: v.ndim - nd] for v in arrays.values()))
    k = int(np.prod(bins))
    flat = [np.broadcast_to(v, (*batch, *bins)).reshape(-1, k) for v in arrays.values()]
    return batch, flat


def _signal_bins(s: np.ndarray) -> np.ndarray:
    """Columns where the signal can be non-zero (all, if the template itself is batched)."""
    return np.nonzero((s > 0).any(axis=0))[0]


def _result(delta: np.ndarray, mu: np.ndarray, batch: tuple[int, ...]) -> Q0Result:
    two_delta = np.maximum(2.0 * delta, 0.0)
    sign = np.where(mu < 0, -1.0, 1.0)
    q0 = (sign * two_delta).reshape(batch)
    z = (sign * np.sqrt(two_delta)).reshape(batch)
    return Q0Result(q0=q0, z=z, mu_hat=mu.reshape(batch))


def q0_known_background(b: Any, t: Any, s: Any, *, ndim: int | None = None) -> Q0Result:
    r"""Signed q0 of B against a known background template T, likelihood L1 (Eq. 3).

    .. math:: L1_\mu = \prod_i \mathrm{Poisson}(B_i \mid T_i + \mu S_i)

    The signal strength is free in sign (Eq. 6); the Poisson means must stay non-negative.

    Parameters
    ----------
    b
        Tested counts; leading axes are batch axes (toys), the last ``ndim`` are bins.
    t
        The background template (expected counts), positive wherever ``s`` is.
    s
        The signal shape (normalised or not; ``mu`` counts events of ``s``'s normalisation).
    ndim
        Number of bin axes; default all axes of the smallest input.

    Returns
    -------
    Q0Result

    References
    ----------
    Birman et al., Eur. Phys. J. C 82 (2022) 508, Eqs. (3), (5), (6), (8).
    """
    hb, ht = as_binned(b, "b"), as_binned(t, "t (background template)")
    sig = _signal(s)
    nd = resolve_ndim(ndim, hb.values, ht.values, sig)
    batch, (bb, tt, ss) = _flatten(nd, {"b": hb.values, "t": ht.values, "s": sig})
    if ((ss > 0) & (tt <= 0)).any():
        msg = (
            "background template t is zero in bins where the signal s is positive; q0 with a "
            "known background is undefined there (add a floor, as Sec. 3 adds 25 entries per bin)"
        )
        raise DataError(msg)
    if ((tt <= 0) & (ss <= 0) & (bb > 0)).any():
        msg = "b has entries in bins where both t and s are zero: impossible under L1 for any mu"
        raise DataError(msg)
    cols = _signal_bins(ss)
    bb, tt, ss = bb[:, cols], tt[:, cols], ss[:, cols]
    srows = ss.shape[0] > 1
    trows = tt.shape[0] > 1

    def rows(x: np.ndarray, many: bool, idx: tuple) -> np.ndarray:
        return x[idx[0]] if many else x

    def grad(mu: np.ndarray, idx: tuple) -> tuple[np.ndarray, np.ndarray]:
        B, T, S = bb[idx[0]], rows(tt, trows, idx), rows(ss, srows, idx)
        lam = T + mu[:, None] * S
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(B > 0, B / lam, 0.0)
        return (S * (r - 1.0)).sum(axis=1), -(
            r * r / np.where(B > 0, B, 1.0) * S * S
        ).sum(axis=1)

    stot = np.broadcast_to(ss, bb.shape).sum(axis=1)
    with np.errstate(divide="ignore"):
        lo = -np.min(np.where(ss > 0, tt / np.where(ss > 0, ss, 1.0), np.inf), axis=1)
    lo = np.broadcast_to(lo, stot.shape)
    hi = bb.sum(axis=1) / stot
    mu = newton_decreasing(grad, lo, hi, np.zeros_like(stot))
    lam = tt + mu[:, None] * ss
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = (xlogy(bb, np.where(bb > 0, lam / tt, 1.0)) - mu[:, None] * ss).sum(
            axis=1
        )
    return _result(delta, mu, batch)


def _profile_background(
    a: np.ndarray, b: np.ndarray, u: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-bin MLE of the background b (and of B's mean m = b + u) at fixed signal u = mu S.

    Roots of 2 b^2 + (2u - A - B) b - A u = 0 (and the mirrored equation for m), taken in the
    form that avoids cancellation; at the boundaries (A = 0 or B = 0) this gives the
    constrained maximum exactly (b = 0 or m = 0).
    """
    n = a + b
    disc = np.where(u >= 0, (n - 2 * u) ** 2 + 8 * a * u, (n + 2 * u) ** 2 - 8 * b * u)
    root = np.sqrt(disc)
    p, q = n - 2 * u, n + 2 * u
    with np.errstate(divide="ignore", invalid="ignore"):
        bkg = np.where(p >= 0, (p + root) / 4, -2 * a * u / (p - root))
        mean_b = np.where(q >= 0, (q + root) / 4, 2 * b * u / (q - root))
    return bkg, mean_b


def q0_two_sample(b: Any, a: Any, s: Any, *, ndim: int | None = None) -> Q0Result:
    r"""Signed q0 of B against the reference sample A, likelihood L2 (Eq. 4).

    .. math:: L2_\mu = \prod_i \mathrm{Poisson}(B_i \mid b_i + \mu S_i)\,\mathrm{Poisson}(A_i \mid b_i)

    Each bin's background ``b_i`` is profiled in closed form (a quadratic); only ``mu`` is
    fitted, for all batch entries at once.

    Parameters
    ----------
    b, a
        Tested and reference counts; leading axes are batch axes, the last ``ndim`` are bins.
    s
        The signal shape.
    ndim
        Number of bin axes; default all axes of the smallest input.

    Returns
    -------
    Q0Result

    References
    ----------
    Birman et al., Eur. Phys. J. C 82 (2022) 508, Eqs. (4)-(6), (8), (11).
    """
    hb, ha = as_binned(b, "b"), as_binned(a, "a")
    sig = _signal(s)
    nd = resolve_ndim(ndim, hb.values, ha.values, sig)
    batch, (bb, aa, ss) = _flatten(nd, {"b": hb.values, "a": ha.values, "s": sig})
    cols = _signal_bins(ss)
    bb, aa, ss = bb[:, cols], aa[:, cols], ss[:, cols]
    arows, srows = aa.shape[0] > 1, ss.shape[0] > 1

    def grad(mu: np.ndarray, idx: tuple) -> tuple[np.ndarray, np.ndarray]:
        B = bb[idx[0]]
        A = aa[idx[0]] if arows else aa
        S = ss[idx[0]] if srows else ss
        u = mu[:, None] * S
        bkg, mean_b = _profile_background(A, B, u)
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.where(
                mean_b > 0,
                S * (B / mean_b - 1.0),
                np.where(bkg > 0, S * (1.0 - A / bkg), 0.0),
            )
            # d2l/dmu2 = -S^2 / (m^2/B + b^2/A), with x/0 = inf for x > 0 and 0/0 = 0.
            rb = np.where(B > 0, mean_b**2 / B, np.where(mean_b > 0, np.inf, 0.0))
            ra = np.where(A > 0, bkg**2 / A, np.where(bkg > 0, np.inf, 0.0))
            h = np.where(rb + ra > 0, -S * S / (rb + ra), 0.0)
        return g.sum(axis=1), h.sum(axis=1)

    aa_full = np.broadcast_to(aa, bb.shape)
    stot = np.broadcast_to(ss, bb.shape).sum(axis=1)
    mu = newton_decreasing(
        grad, -aa_full.sum(axis=1) / stot, bb.sum(axis=1) / stot, 0.0
    )
    bkg, mean_b = _profile_background(aa_full, bb, mu[:, None] * ss)
    half = 0.5 * (aa_full + bb)
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = (
            xlogy(bb, np.where(bb > 0, mean_b / half, 1.0))
            + xlogy(aa_full, np.where(aa_full > 0, bkg / half, 1.0))
            - (mean_b + bkg - 2 * half)
        ).sum(axis=1)
    return _result(delta, mu, batch)


def asimov_q0(
    t: Any, s: Any, mu: Any, *, method: Literal["L1", "L2"] = "L1"
) -> np.ndarray:
    """q0 of the Asimov data A = T, B = T + mu S, in closed form: the left sides of Eqs. (10)-(11).

    ``mu`` may be an array; the result has its shape.
    """
    tt = as_binned(t, "t (background template)").values.ravel()
    ss = _signal(s).ravel()
    if tt.shape != ss.shape:
        msg = f"t and s have different numbers of bins ({tt.size} and {ss.size})"
        raise DataError(msg)
    return _asimov(tt, ss, np.asarray(mu, dtype=float), method)[0]


def _asimov(t: np.ndarray, s: np.ndarray, mu: np.ndarray, method: str):
    keep = s > 0
    if (t[keep] <= 0).any():
        msg = "background template t is zero in bins where the signal s is positive"
        raise DataError(msg)
    t, s = t[keep], s[keep]
    u = np.multiply.outer(mu, s)
    if method == "L1":
        q = 2 * ((t + u) * np.log1p(u / t) - u).sum(axis=-1)
        dq = 2 * (s * np.log1p(u / t)).sum(axis=-1)
    elif method == "L2":
        q = 2 * ((t + u) * np.log1p(u / (2 * t + u)) - t * np.log1p(u / (2 * t))).sum(
            axis=-1
        )
        dq = 2 * (s * np.log1p(u / (2 * t + u))).sum(axis=-1)
    else:
        msg = f"method must be 'L1' or 'L2', got {method!r}"
        raise DataError(msg)
    return q, dq


def inject_strength(
    t: Any, s: Any, z: Any, *, method: Literal["L1", "L2"] = "L1"
) -> np.ndarray:
    """Signal strength mu_inj that gives significance ``z`` on Asimov data, Eqs. (9)-(11).

    Solves ``q0(T + mu S, T, S) = z**2`` with q0 from L1 (Eq. 10, background known) or L2
    (Eq. 11, background from both samples). With ``s`` normalised to one, ``mu`` is the
    number of signal events.

    Parameters
    ----------
    t
        Background template (expected counts per bin), positive wherever ``s`` is.
    s
        Signal template, non-negative with at least one positive entry.
    z
        Target significance(s), > 0; an array gives an array of strengths.
    method
        ``"L1"`` or ``"L2"``.
    """
    tt = as_binned(t, "t (background template)").values.ravel()
    ss = _signal(s).ravel()
    if tt.shape != ss.shape:
        msg = f"t and s have different numbers of bins ({tt.size} and {ss.size})"
        raise DataError(msg)
    zz = np.asarray(z, dtype=float)
    check_finite(zz, "z")
    if (zz <= 0).any():
        msg = f"z must be > 0 (a significance to inject), got {zz.min():g}"
        raise DataError(msg)
    target = np.ravel(zz) ** 2
    _asimov(tt, ss, np.zeros(1), method)  # validates t and method before the search
    hi = np.ones_like(target)
    while (low := _asimov(tt, ss, hi, method)[0] < target).any():
        hi = np.where(low, 2 * hi, hi)

    def fun(mu: np.ndarray, idx: tuple) -> tuple[np.ndarray, np.ndarray]:
        q, dq = _asimov(tt, ss, mu, method)
        return target[idx] - q, -dq

    mu = newton_decreasing(fun, np.zeros_like(target), hi, 0.5 * hi)
    return mu.reshape(zz.shape)
