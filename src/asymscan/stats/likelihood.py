"""Profile-likelihood discovery statistics q0 with a known signal shape (Birman et al. 2022, Sec. 2).

``q0_known_background`` is L1, Eq. (3): B ~ Poisson(T + mu S) with the background T known.
``q0_two_sample`` is L2, Eq. (4): B ~ Poisson(b + mu S), A ~ Poisson(b), with one background
parameter per bin profiled in closed form. Both are signed as in Eq. (6) and fitted in mu for
every toy at once by a bracketed Newton iteration (the profile log-likelihood is concave in mu).
``q0_two_sample`` optionally adds systematic uncertainties as Gaussian-constrained nuisances,
profiled by a damped Newton iteration inside the fit of mu.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.special import xlogy

from .._arrays import (
    as_binned,
    as_shifts,
    bin_shape,
    broadcast_batch,
    check_finite,
    resolve_ndim,
)
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
    theta
        ``(..., K)``: the fitted nuisances (in units of their prior sigma) of the fit with mu
        free; an empty last axis without systematics.
    theta_null
        ``(..., K)``: the fitted nuisances of the background-only fit (mu = 0).
    """

    q0: np.ndarray
    z: np.ndarray
    mu_hat: np.ndarray
    theta: np.ndarray
    theta_null: np.ndarray


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


def _result(
    delta: np.ndarray,
    mu: np.ndarray,
    batch: tuple[int, ...],
    theta: np.ndarray | None = None,
    theta_null: np.ndarray | None = None,
) -> Q0Result:
    two_delta = np.maximum(2.0 * delta, 0.0)
    sign = np.where(mu < 0, -1.0, 1.0)
    q0 = (sign * two_delta).reshape(batch)
    z = (sign * np.sqrt(two_delta)).reshape(batch)
    none = np.zeros((*batch, 0))
    return Q0Result(
        q0=q0,
        z=z,
        mu_hat=mu.reshape(batch),
        theta=none if theta is None else theta.reshape(*batch, -1),
        theta_null=none if theta_null is None else theta_null.reshape(*batch, -1),
    )


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


#: Half-width (in counts) of the rounding of |u| in bins empty in both samples whose expected
#: excess depends on the nuisances: their profiled log-likelihood, -|u|, has a kink at u = 0;
#: -sqrt(u^2 + eps^2) + eps differs from it by less than eps and is smooth for Newton's method.
_KINK_EPS = 1e-9


def _bin_loglik(
    a: np.ndarray, b: np.ndarray, u: np.ndarray, kink: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-bin profiled log L2 at the excess ``u`` of B's mean, and its first two u-derivatives.

    The log-likelihood is relative to the saturated model (minus half the Poisson deviance of
    both samples), so its sum stays of the order of the number of bins.
    """
    bkg, mean_b = _profile_background(a, b, u)
    with np.errstate(divide="ignore", invalid="ignore"):
        ell = -(
            (mean_b - b + xlogy(b, np.where(b > 0, b / mean_b, 1.0)))
            + (bkg - a + xlogy(a, np.where(a > 0, a / bkg, 1.0)))
        )
        g = np.where(
            mean_b > 0, b / mean_b - 1.0, np.where(bkg > 0, 1.0 - a / bkg, 0.0)
        )
        # d2l/du2 = -1 / (m^2/B + b^2/A), with x/0 = inf for x > 0 and 0/0 = 0.
        rb = np.where(b > 0, mean_b**2 / b, np.where(mean_b > 0, np.inf, 0.0))
        ra = np.where(a > 0, bkg**2 / a, np.where(bkg > 0, np.inf, 0.0))
        h = np.where(rb + ra > 0, -1.0 / (rb + ra), 0.0)
    if kink is not None:
        r = np.sqrt(u * u + _KINK_EPS**2)
        ell = np.where(kink, _KINK_EPS - r, ell)
        g = np.where(kink, -u / r, g)
        h = np.where(kink, -(_KINK_EPS**2) / r**3, h)
    return ell, g, h


def _rows(x: np.ndarray | None, idx: np.ndarray) -> np.ndarray | None:
    """Rows ``idx`` of a batch-first array, or the array itself when it has a single row."""
    return x if x is None or x.shape[0] == 1 else x[idx]


def _fit_nuisances(
    a: np.ndarray,
    b: np.ndarray,
    s: np.ndarray,
    d: np.ndarray,
    kink: np.ndarray | None,
    mu: np.ndarray,
    theta: np.ndarray,
    *,
    maxiter: int = 100,
) -> tuple[np.ndarray, ...]:
    """Maximise ``F(theta) = sum_i l_i(mu S_i + d_i . theta) - |theta|^2 / 2`` row by row.

    ``b`` has one row per problem, ``a``, ``s``, ``d`` (``(rows, bins, K)``) and ``kink`` one or
    as many. F is strongly concave (Hessian <= -1): Newton steps, each taken in full when F
    still rises at its end (a test on the gradient, free of the rounding of F) or rises enough
    (Armijo), else shortened to the maximum of F along it (a bracketed 1-D Newton search on
    the directional derivative, which also lands on the rounded kinks of empty bins). A row is
    done when the Newton decrement (twice the predicted gain) is negligible, or nothing is
    gained along the Newton direction. Returns ``theta, F, g, h, H``: the optimum, F there, the
    per-bin derivatives of l and the Hessian of F.
    """
    theta = np.array(theta, dtype=float)
    n, k = theta.shape
    eye = np.eye(k)

    def evaluate(rows: np.ndarray, th: np.ndarray) -> tuple[np.ndarray, ...]:
        dr = _rows(d, rows)
        u = mu[rows, None] * _rows(s, rows) + (dr @ th[:, :, None])[..., 0]
        ell, g, h = _bin_loglik(_rows(a, rows), b[rows], u, _rows(kink, rows))
        grad = (g[:, None, :] @ dr)[:, 0] - th
        return ell.sum(axis=1) - 0.5 * (th * th).sum(axis=1), grad, g, h

    def accept(rows: np.ndarray, th: np.ndarray, result: tuple) -> None:
        theta[rows] = th
        value[rows], grad[rows], g[rows], h[rows] = result

    value, grad, g, h = evaluate(np.arange(n), theta)
    tol = np.broadcast_to(1e-24 * (1.0 + (a + b).sum(axis=1)), (n,))
    active = np.ones(n, dtype=bool)
    for _ in range(maxiter):
        rows = np.nonzero(active)[0]
        if rows.size == 0:
            break
        dr = _rows(d, rows)
        hess = np.swapaxes(dr * h[rows, :, None], 1, 2) @ dr - eye
        step = np.linalg.solve(hess, -grad[rows, :, None])[:, :, 0]
        dec = (grad[rows] * step).sum(axis=1)
        done = dec <= tol[rows]
        active[rows[done]] = False
        rows, step, dec = rows[~done], step[~done], dec[~done]
        if rows.size == 0:
            break
        full = evaluate(rows, theta[rows] + step)
        slope1 = (full[1] * step).sum(axis=1)
        ok = (slope1 >= 0) | (full[0] >= value[rows] + 1e-4 * dec)
        accept(rows[ok], theta[rows[ok]] + step[ok], tuple(x[ok] for x in full))
        rows, step, dec, slope1 = rows[~ok], step[~ok], dec[~ok], slope1[~ok]
        if rows.size == 0:
            continue

        def slope(t: np.ndarray, idx: tuple, rows=rows, step=step) -> tuple:
            r, p = rows[idx[0]], step[idx[0]]
            _, gr, _, hr = evaluate(r, theta[r] + t[:, None] * p)
            dp = _rows(d, r) @ p[:, :, None]  # (rows, bins, 1)
            curv = (hr * dp[..., 0] ** 2).sum(axis=1) - (p * p).sum(axis=1)
            return (gr * p).sum(axis=1), curv

        zero = np.zeros(rows.size)
        t = newton_decreasing(slope, zero, zero + 1.0, dec / (dec - slope1))
        # t = 0: nothing is gained along the Newton direction, the row is at its optimum
        moved = t > 0
        active[rows[~moved]] = False
        rows, th = rows[moved], theta[rows[moved]] + t[moved, None] * step[moved]
        accept(rows, th, evaluate(rows, th))
    hess = np.swapaxes(d * h[:, :, None], 1, 2) @ d - eye
    return theta, value, g, h, hess


def _q0_two_sample_sys(
    bv: np.ndarray, av: np.ndarray, sig: np.ndarray, shifts: np.ndarray, nd: int
) -> Q0Result:
    """q0 of L2 with Gaussian-constrained nuisances (see :func:`q0_two_sample`)."""
    bins = bin_shape(nd, {"b": bv, "a": av, "s": sig})
    batch = np.broadcast_shapes(*(v.shape[: v.ndim - nd] for v in (bv, av, sig)))
    shifts, batch = broadcast_batch(shifts, batch, nd)
    n_k, n_bins = shifts.shape[0], int(np.prod(bins))
    bb, aa, ss = (
        np.broadcast_to(v, (*batch, *bins)).reshape(-1, n_bins) for v in (bv, av, sig)
    )
    if any(n > 1 for n in shifts.shape[1 : shifts.ndim - nd]):
        dd = np.broadcast_to(shifts, (n_k, *batch, *bins)).reshape(n_k, -1, n_bins)
    else:
        dd = shifts.reshape(n_k, 1, n_bins)
    # bins where neither the signal nor a nuisance moves B's mean add a constant: left out
    cols = np.nonzero((ss > 0).any(axis=0) | (dd != 0).any(axis=(0, 1)))[0]
    bb, aa, ss = bb[:, cols], aa[:, cols], ss[:, cols]
    d = np.ascontiguousarray(np.moveaxis(dd[:, :, cols], 0, -1))  # (rows, bins, K)
    kink = (aa == 0) & (bb == 0) & (d != 0).any(axis=-1)
    kink = kink if kink.any() else None
    n = bb.shape[0]
    theta0, f0, *_ = _fit_nuisances(
        aa, bb, ss, d, kink, np.zeros(n), np.zeros((n, n_k))
    )
    theta = theta0.copy()

    def grad(mu: np.ndarray, idx: tuple) -> tuple[np.ndarray, np.ndarray]:
        rows = idx[0]
        S, D = _rows(ss, rows), _rows(d, rows)
        th, _, g, h, hess = _fit_nuisances(
            _rows(aa, rows), bb[rows], S, D, _rows(kink, rows), mu, theta[rows]
        )
        theta[rows] = th
        # the profile's curvature in mu: the Schur complement of the nuisances' block
        cross = ((h * S)[:, None, :] @ D)[:, 0]
        schur = (cross * np.linalg.solve(hess, cross[:, :, None])[:, :, 0]).sum(axis=1)
        return (S * g).sum(axis=1), (h * S * S).sum(axis=1) - schur

    # At the optimum sum(m) + sum(b) = sum(A) + sum(B) - |theta|^2 (stationarity under a common
    # rescaling of all means and of theta), so |mu sum(S) + theta . sum(delta)| <= N and
    # |theta| <= sqrt(N), N = sum(A + B): a bracket that contains mu_hat (one count of margin
    # covers the rounding of the kinks).
    total = (np.broadcast_to(aa, bb.shape) + bb).sum(axis=1)
    tilt = np.sqrt((np.broadcast_to(d.sum(axis=1), (n, n_k)) ** 2).sum(axis=1))
    stot = np.broadcast_to(ss, bb.shape).sum(axis=1)
    hi = (total + np.sqrt(total + 1.0) * tilt + 1.0) / stot
    mu = newton_decreasing(grad, -hi, hi, 0.0)
    theta, f1, *_ = _fit_nuisances(aa, bb, ss, d, kink, mu, theta)
    return _result(f1 - f0, mu, batch, theta, theta0)


def q0_two_sample(
    b: Any, a: Any, s: Any, *, shifts: Any = None, ndim: int | None = None
) -> Q0Result:
    r"""Signed q0 of B against the reference sample A, likelihood L2 (Eq. 4).

    .. math:: L2_\mu = \prod_i \mathrm{Poisson}(B_i \mid b_i + \mu S_i)\,\mathrm{Poisson}(A_i \mid b_i)

    Each bin's background ``b_i`` is profiled in closed form (a quadratic); only ``mu`` is
    fitted, for all batch entries at once.

    **Systematics.** With ``shifts`` (delta, K nuisances) B's mean gains
    :math:`\sum_k \theta_k \delta_{ik}` and each nuisance a standard normal constraint:

    .. math:: L2_\mu = \prod_i \mathrm{Poisson}(B_i \mid b_i + u_i)\,
              \mathrm{Poisson}(A_i \mid b_i) \prod_k \phi(\theta_k), \qquad
              u_i = \mu S_i + \sum_k \theta_k \delta_{ik}.

    For given :math:`(\mu, \theta)` the per-bin excess :math:`u_i` (of either sign) plays the
    role of :math:`\mu S_i`, so :math:`b_i` is still profiled in closed form (with
    :math:`b_i \ge 0` and :math:`b_i + u_i \ge 0`, which keeps every expected count
    non-negative for any :math:`(\mu, \theta)`). The profile
    :math:`F(\mu, \theta) = \sum_i \ell_i(u_i) - |\theta|^2 / 2` is concave (strongly in
    :math:`\theta`): :math:`\theta` is profiled by damped Newton steps
    (gradient :math:`\sum_i \ell_i' \delta_i - \theta`, Hessian
    :math:`\sum_i \ell_i'' \delta_i \delta_i^T - 1`), inside the bracketed Newton fit of
    :math:`\mu` whose derivative is :math:`\sum_i \ell_i' S_i` and curvature the Schur
    complement :math:`F_{\mu\mu} - F_{\mu\theta} F_{\theta\theta}^{-1} F_{\theta\mu}`; the
    background-only fit profiles :math:`\theta` at :math:`\mu = 0`. Bins empty in both samples
    whose mean moves with :math:`\theta` contribute :math:`-|u_i|`, rounded to
    :math:`-\sqrt{u_i^2 + \epsilon^2} + \epsilon` with :math:`\epsilon = 10^{-9}` (log L
    changes by less than :math:`\epsilon` per bin).

    Parameters
    ----------
    b, a
        Tested and reference counts; leading axes are batch axes, the last ``ndim`` are bins.
    s
        The signal shape.
    shifts
        Systematic shifts delta of B's expected counts relative to A's for a +1 sigma pull of
        each of K Gaussian nuisances: shape ``(K, ..., *bins)``, batch axes in the middle
        broadcasting against those of ``b``, ``a``, ``s``. Default None (or K = 0): Eq. (4) as
        printed, computed exactly as without the argument.
    ndim
        Number of bin axes; default all axes of the smallest input.

    Returns
    -------
    Q0Result
        With the fitted nuisances ``theta`` (mu free) and ``theta_null`` (mu = 0).

    References
    ----------
    Birman et al., Eur. Phys. J. C 82 (2022) 508, Eqs. (4)-(6), (8), (11).
    """
    hb, ha = as_binned(b, "b"), as_binned(a, "a")
    sig = _signal(s)
    nd = resolve_ndim(ndim, hb.values, ha.values, sig)
    if shifts is not None:
        bins = bin_shape(nd, {"b": hb.values, "a": ha.values, "s": sig})
        delta = as_shifts(shifts, nd, bins)
        if delta.shape[0] > 0:
            return _q0_two_sample_sys(hb.values, ha.values, sig, delta, nd)
        batch = np.broadcast_shapes(
            *(v.shape[: v.ndim - nd] for v in (hb.values, ha.values, sig))
        )
        broadcast_batch(delta, batch, nd)  # validates the batch axes of an empty K
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
