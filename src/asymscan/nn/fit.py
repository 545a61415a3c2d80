"""Batched fits of many small networks at once: a converged second-order fit and the papers' Adam.

A *problem* is one network ``f`` and one per-event loss (:func:`.losses.pointwise_loss`) with
weights ``u``, ``v`` on a set of events ``x``. ``P`` problems (toys, permutations, the A and B
halves of a symmetrized test, ...) are stacked: ``x (N, d)`` shared or ``(P, N, d)``, ``u``,
``v`` of shape ``(P, N)``, unequal sizes padded with zero weights. Each fitter treats all
problems (and all starts) in one computation, never one Python iteration per problem.

- :func:`fit_newton` (the fast default): damped Newton with the exact Hessian (``torch.func``:
  ``vmap`` of ``hessian``) in float64, eigenvalue-regularised (saddle-free) and with a
  Levenberg-Marquardt line of damping levels tried together; several random starts per problem,
  the best kept; converged at a KKT point (Newton decrement below ``ftol``, projected
  gradient below ``gtol``). Weight clipping / a weight bound is a box constraint, handled by
  projected Newton with an epsilon-active set; the bound is what gives the symmetrized losses
  a defined optimum. For ``d = 1`` the events can be aggregated into fine bins
  (:func:`bin_events`, ``bins=``) so that an iteration costs ``O(bins)``.
- :func:`fit_adam`: the protocol of Bressler et al. Sec. III B (and of the NPLM code): full-batch
  Adam, learning rate 1e-3, a fixed number of epochs (5e5 in the papers), weights clipped after
  every step when clipping is asked for.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any

from .losses import Kind, pointwise_loss
from .models import Network

__all__ = ("FitResult", "bin_events", "fit_adam", "fit_newton")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FitResult:
    """Best fit of every problem.

    Attributes
    ----------
    params
        ``(P, n_params)`` best parameters.
    loss
        ``(P,)`` loss at ``params``.
    converged
        ``(P,)`` bool: the Newton decrement of the best start fell below ``ftol`` (always False
        for Adam, which runs a fixed number of epochs).
    n_iter
        Iterations (Newton) or epochs (Adam) run.
    kkt
        ``(P,)`` projected-gradient norm (max over parameters, in units of the loss) at
        ``params`` of the problem the optimiser saw (the binned one with ``bins``); ``None`` for
        Adam.
    binned_loss
        ``(P,)`` loss of the binned problem at ``params`` when the fit was binned, else ``None``;
        ``loss`` is then always the exact (unbinned) loss at ``params``.
    history
        Adam with ``checkpoints``: ``(len(checkpoints), P)`` loss of the best start after each
        checkpoint's number of epochs; else ``None``.
    """

    params: Any
    loss: Any
    converged: Any
    n_iter: int
    kkt: Any = None
    binned_loss: Any = None
    history: Any = None


def _torch() -> Any:
    from .._optional import require

    return require("torch")


def _problem_loss(net: Network, kind: Kind):
    def loss(theta: Any, x: Any, u: Any, v: Any) -> Any:
        return pointwise_loss(kind, net(theta, x), u, v)

    return loss


def _batched_loss(net: Network, kind: Kind, theta: Any, x: Any, u: Any, v: Any) -> Any:
    return pointwise_loss(kind, net(theta, x), u, v)


def _repeat(x: Any, u: Any, v: Any, n_starts: int) -> tuple[Any, Any, Any]:
    """Stack ``n_starts`` copies of every problem: problem-major, start-minor."""
    if x.ndim == 3:
        x = x.repeat_interleave(n_starts, dim=0)
    return x, u.repeat_interleave(n_starts, dim=0), v.repeat_interleave(n_starts, dim=0)


def _starts(
    net: Network, n_problems: int, n_starts: int, generator: Any, dtype: Any
) -> Any:
    """Start 0 is ``f = 0`` (the null); the others random, with sharper sigmoids as they go.

    ``generator`` is one ``torch.Generator`` for all problems, or a sequence of one per
    problem (the same object may serve several problems: they draw in turn), so that a
    problem's starts do not depend on the batch it is fitted in.
    """
    torch = _torch()
    theta = torch.zeros(n_problems, n_starts, net.n_params, dtype=dtype)
    if n_starts > 1:
        scales = torch.linspace(1.0, 4.0, n_starts - 1, dtype=dtype)
        if isinstance(generator, list | tuple):
            if len(generator) != n_problems:
                msg = f"{len(generator)} generators for {n_problems} problems"
                raise ValueError(msg)
            rnd = torch.stack(
                [
                    net.init(n_starts - 1, generator=g, bias_scale=1.5, dtype=dtype)
                    for g in generator
                ]
            )
        else:
            rnd = net.init(
                n_problems * (n_starts - 1),
                generator=generator,
                bias_scale=1.5,
                dtype=dtype,
            ).reshape(n_problems, n_starts - 1, -1)
        theta[:, 1:] = rnd * scales[None, :, None]
    return theta.reshape(n_problems * n_starts, -1)


def _pick_best(
    theta: Any, loss: Any, conv: Any, n_problems: int, n_starts: int
) -> tuple:
    torch = _torch()
    loss_ps = loss.reshape(n_problems, n_starts)
    key = torch.where(torch.isnan(loss_ps), torch.inf, loss_ps)
    best = key.argmin(dim=1)
    rows = torch.arange(n_problems, device=best.device) * n_starts + best
    return theta[rows], loss[rows], conv[rows]


def _dloss(kind: Kind, f: Any, u: Any, v: Any) -> tuple[Any, Any]:
    """First and second derivatives of the per-event loss with respect to ``f``."""
    torch = _torch()
    if kind == "poisson":
        ue = u * torch.exp(f)
        return ue - v, ue
    sp, sm = torch.sigmoid(2.0 * f), torch.sigmoid(-2.0 * f)
    return 2.0 * (v * sp - u * sm), 4.0 * (u + v) * sp * sm


def _flat_order(net: Network) -> Any:
    """Permutation from the unit-major order used by :func:`_grad_hess_1layer` to the flat layout.

    Unit-major: for each hidden unit ``h``, its ``d`` input weights and its bias; then the ``H``
    output weights; then the output bias.
    """
    torch = _torch()
    d, hid = net.d, net.hidden[0]
    w = torch.arange(hid * d).reshape(hid, d)
    b = hid * d + torch.arange(hid)
    unit = torch.cat([w, b[:, None]], dim=1).reshape(-1)
    rest = torch.arange(hid * d + hid, net.n_params)
    return torch.cat([unit, rest])


def _grad_hess_1layer(
    net: Network, kind: Kind, theta: Any, x: Any, u: Any, v: Any
) -> tuple:
    """Exact gradient and Hessian of the loss of a one-hidden-layer network, in closed form.

    With ``z = W x + b``, ``s = sigma(z)``, ``f = a . s + c``: the Jacobian of ``f`` and the
    non-zero second derivatives of ``f`` (unit-diagonal blocks ``a_h s''_h [x,1][x,1]^T`` and
    cross terms ``s'_h [x,1]`` with ``a_h``) give ``H = J^T diag(l'') J + sum_i l'_i d2f_i``.
    """
    torch = _torch()
    p = theta.shape[0]
    d, hid = net.d, net.hidden[0]
    order = _flat_order(net).to(theta.device)
    w = theta[:, : hid * d].reshape(p, hid, d)
    b = theta[:, hid * d : hid * d + hid]
    a = theta[:, hid * d + hid : hid * d + 2 * hid]
    c = theta[:, -1]
    xx = x if x.ndim == 3 else x.expand(p, *x.shape)
    s = torch.sigmoid(torch.baddbmm(b[:, None, :], xx, w.transpose(1, 2)))  # (P, N, H)
    f = (s * a[:, None, :]).sum(-1) + c[:, None]
    l1, l2 = _dloss(kind, f, u, v)
    s1 = s * (1.0 - s)
    s2 = s1 * (1.0 - 2.0 * s)
    n_ev = xx.shape[1]
    xt = torch.cat([xx, torch.ones_like(xx[..., :1])], dim=-1)  # (P, N, d+1)
    jw = (s1 * a[:, None, :])[..., None] * xt[:, :, None, :]  # (P, N, H, d+1)
    jac = torch.cat([jw.reshape(p, n_ev, -1), s, torch.ones_like(s[..., :1])], dim=-1)
    g_u = torch.bmm(l1[:, None, :], jac)[:, 0]
    h_u = torch.bmm((jac * l2[..., None]).transpose(1, 2), jac)
    m = hid * (d + 1)
    xt_t = xt.transpose(1, 2)  # (P, d+1, N)
    # sum_i l'_i a_h s''_ih xt_i xt_i^T for every unit h: (P, d+1, H, d+1)
    cx = ((l1[..., None] * s2)[..., None] * xt[:, :, None, :]).reshape(p, n_ev, -1)
    blocks = torch.bmm(xt_t, cx).reshape(p, d + 1, hid, d + 1) * a[:, None, :, None]
    cross = torch.bmm(xt_t, l1[..., None] * s1)  # (P, d+1, H): sum_i l'_i s'_ih xt_i
    for h in range(hid):
        sl = slice(h * (d + 1), (h + 1) * (d + 1))
        h_u[:, sl, sl] += blocks[:, :, h, :]
        h_u[:, sl, m + h] += cross[:, :, h]
        h_u[:, m + h, sl] += cross[:, :, h]
    g = torch.empty_like(g_u)
    g[:, order] = g_u
    hess = torch.empty_like(h_u)
    hess[:, order[:, None], order[None, :]] = h_u
    return g, hess


def bin_events(x: Any, u: Any, v: Any, bins: int) -> tuple[Any, Any, Any]:
    """Aggregate the events of ``P`` one-dimensional problems into ``bins`` fine bins of ``x``.

    The bin edges of every problem are the union of ``bins // 2`` equal-count (quantile) bins
    and ``bins - bins // 2`` equal-width bins of its events with non-zero weight (padding
    never moves them), so that no bin holds more
    than ``2 N / bins`` events or is wider than ``2 (x_max - x_min) / bins``. Every bin becomes
    two weighted points: the ``u``-weight sum ``U_k`` at the ``u``-weighted mean of ``x`` in the
    bin and the ``v``-weight sum ``V_k`` at the ``v``-weighted mean. Since the per-event loss is
    ``u a(f(x)) + v b(f(x))``, the binned loss equals the exact one up to the within-bin
    variance of ``x`` times the curvature of ``a(f(x))`` (resp. ``b(f(x))``): the first-order
    term cancels exactly at the weighted means. A Newton iteration then costs ``O(bins)``.

    Parameters
    ----------
    x
        ``(N, 1)`` shared or ``(P, N, 1)`` events.
    u, v
        ``(P, N)`` weights (zero-weight padding is allowed).
    bins
        Number of bins (>= 4).

    Returns
    -------
    ``x (P, 2 K, 1)``, ``u (P, 2 K)``, ``v (P, 2 K)`` with ``K = bins - 1``; empty bins carry zero
    weight.
    """
    torch = _torch()
    if x.shape[-1] != 1:
        msg = f"binning needs one observable (d = 1), got d = {x.shape[-1]}"
        raise ValueError(msg)
    if int(bins) < 4:
        msg = f"bins must be an integer >= 4 or None, got {bins!r}"
        raise ValueError(msg)
    bins = int(bins)
    p, n = u.shape
    xx = (x if x.ndim == 3 else x.expand(p, *x.shape))[..., 0].contiguous()
    # edges from the events that carry weight: zero-weight padding never moves them
    used = (u + v) > 0
    srt, order = torch.where(used, xx, torch.inf).sort(dim=1)
    count = used.gather(1, order).cumsum(
        1
    )  # (P, N): weighted events up to each position
    n_used = count[:, -1:].clamp_min(1)
    n_q = bins // 2
    n_w = bins - n_q
    target = torch.arange(1, n_q, device=x.device) * n_used / n_q  # (P, n_q - 1)
    qi = torch.searchsorted(count, target.ceil().to(count.dtype).clamp_min(1))
    lo = srt[:, :1]
    hi = srt.gather(1, n_used - 1)
    frac = torch.linspace(0.0, 1.0, n_w + 1, dtype=x.dtype, device=x.device)[1:-1]
    edges = torch.cat(
        [srt.gather(1, qi.clamp(max=n - 1)), lo + (hi - lo) * frac], dim=1
    )
    edges = edges.sort(dim=1).values
    k = edges.shape[1] + 1
    idx = torch.searchsorted(edges, xx)  # (P, N) in [0, k - 1]
    zeros = torch.zeros(p, k, dtype=u.dtype, device=u.device)
    sum_u = zeros.scatter_add(1, idx, u)
    sum_v = zeros.scatter_add(1, idx, v)
    xu = zeros.scatter_add(1, idx, u * xx)
    xv = zeros.scatter_add(1, idx, v * xx)
    xu = torch.where(sum_u > 0, xu / sum_u.clamp_min(1e-300), 0.0)
    xv = torch.where(sum_v > 0, xv / sum_v.clamp_min(1e-300), 0.0)
    xb = torch.cat([xu, xv], dim=1)[..., None]
    ub = torch.cat([sum_u, torch.zeros_like(sum_v)], dim=1)
    vb = torch.cat([torch.zeros_like(sum_u), sum_v], dim=1)
    return xb, ub, vb


def fit_newton(
    net: Network,
    x: Any,
    u: Any,
    v: Any,
    *,
    kind: Kind = "poisson",
    n_starts: int = 8,
    clip: float | None = None,
    max_iter: int = 500,
    ftol: float = 1e-11,
    gtol: float = 1e-7,
    bins: int | None = None,
    generator: Any = None,
    init: Any = None,
    chunk_size: int | None = None,
    force_autodiff: bool = False,
    callback: Any = None,
    prune: tuple[int, int] | None = None,
) -> FitResult:
    """Converged fit of ``P`` problems, ``n_starts`` starts each, best start kept.

    With ``clip`` the problem is a minimisation over the box ``|w| <= clip`` on every weight
    (biases free), solved by projected Newton: weights at the bound whose gradient pushes
    outwards are held fixed, the step is taken in the others and projected back into the box.
    A start has converged at a KKT point: the Newton decrement is below
    ``ftol * (1 + |loss|)``, the largest projected-gradient component below
    ``gtol * (1 + sum(u + v))`` and the reduced Hessian positive semi-definite.

    Without ``clip`` the losses of Eqs. (11) and (22) have in general no stationary optimum on
    realistic samples: Newton keeps sharpening sigmoid steps between neighbouring events
    (weights without bound) and the loss keeps creeping down with the iteration cap, so that
    ``converged`` is then rarely True. :func:`.statistics.symmetrized_test` therefore fits with
    a weight bound by default.

    Parameters
    ----------
    net
        The network family.
    x
        Events, ``(N, d)`` shared by all problems or ``(P, N, d)``.
    u, v
        Per-event weights of the loss, ``(P, N)`` (see :func:`.losses.pointwise_loss`).
    kind
        ``"poisson"`` (NPLM-type losses) or ``"logistic"`` (cross-entropy).
    n_starts
        Starts per problem: ``f = 0`` and ``n_starts - 1`` random ones.
    clip
        Box constraint ``|w| <= clip`` on the weights (not the biases): the NPLM weight
        clipping, and the bound that makes the symmetrized fits well posed.
    max_iter, ftol, gtol
        Newton iterations at most, and the convergence tolerances (loss in units of events).
    bins
        ``None``: exact. An integer (``d = 1`` only): the optimiser works on the events
        aggregated into ``bins`` fine bins (:func:`bin_events`), so that an iteration costs
        ``O(bins)`` instead of ``O(N)``; the best start is then chosen, and ``loss`` reported,
        with the exact loss at the binned optimum (a feasible point of the exact problem, so
        ``-2 loss`` never exceeds the exact optimum's ``t``).
    generator
        ``torch.Generator`` for the random starts, or a list of one per problem.
    init
        Optional extra starting points ``(P, n_params)``, fitted as one more start.
    chunk_size
        Problems per ``vmap`` chunk for the Hessian (bounds the memory for large samples).
    force_autodiff
        Use ``torch.func`` (``vmap`` of ``grad`` and ``hessian``) even for one hidden layer,
        where closed-form derivatives are used by default; deeper networks always use it.
    prune
        ``(iteration, keep)``: after ``iteration`` iterations only the ``keep`` best starts of
        every problem go on (successive halving: many cheap starts explore, few converge);
        the others are dropped (with ``bins``, their exact loss is not even computed).
    callback
        Called after every iteration as ``callback(iteration, loss)`` with the current loss of
        every start, ``(P, n_starts)`` (of the binned problem with ``bins``); for monitoring.
    """
    torch = _torch()
    from torch.func import grad, hessian, vmap

    dtype = u.dtype
    n_problems = u.shape[0]
    x_full, u_full, v_full = x, u, v
    if bins is not None:
        x, u, v = bin_events(x, u, v, bins)
    theta = _starts(net, n_problems, n_starts, generator, dtype).to(u.device)
    if init is not None:
        theta = torch.cat(
            [theta.reshape(n_problems, n_starts, -1), init.to(theta)[:, None]], dim=1
        ).reshape(n_problems * (n_starts + 1), -1)
        n_starts += 1
    xs, us, vs = _repeat(x, u, v, n_starts)
    mask = net.weight_mask().to(u.device) if clip is not None else None
    if clip is not None:
        theta = torch.where(mask, theta.clamp(-clip, clip), theta)

    analytic = len(net.hidden) == 1 and not force_autodiff
    one = _problem_loss(net, kind)
    x_dim = 0 if xs.ndim == 3 else None
    grad_fn = vmap(grad(one), in_dims=(0, x_dim, 0, 0), chunk_size=chunk_size)
    hess_fn = vmap(hessian(one), in_dims=(0, x_dim, 0, 0), chunk_size=chunk_size)

    def loss_at(th: Any, idx: Any) -> Any:
        xx = xs[idx] if xs.ndim == 3 else xs
        with torch.no_grad():
            return _batched_loss(net, kind, th, xx, us[idx], vs[idx])

    m = theta.shape[0]
    n = net.n_params
    loss = loss_at(theta, torch.arange(m))
    gscale = 1.0 + (us + vs).sum(1)
    mu = torch.full((m,), 1e-3, dtype=dtype, device=u.device)
    active = torch.isfinite(loss)
    conv = torch.zeros(m, dtype=torch.bool, device=u.device)
    kkt = torch.full((m,), torch.inf, dtype=dtype, device=u.device)
    n_small = torch.zeros(m, dtype=torch.long, device=u.device)
    kept = torch.ones(m, dtype=torch.bool, device=u.device)  # starts not pruned
    levels = torch.tensor([1.0, 1e2, 1e4, 1e7], dtype=dtype, device=u.device)
    n_steps = 0
    for it in range(1, max_iter + 2):
        idx = torch.nonzero(active).squeeze(1)
        if idx.numel() == 0:
            break
        th = theta[idx]
        xx = xs[idx] if xs.ndim == 3 else xs
        if analytic:
            g, h = _grad_hess_1layer(net, kind, th, xx, us[idx], vs[idx])
        else:
            with warnings.catch_warnings():
                # torch.func's forward mode goes through torch.jit.script, deprecated in 2.13
                warnings.filterwarnings(
                    "ignore", "`torch.jit.script`", DeprecationWarning
                )
                g = grad_fn(th, xx, us[idx], vs[idx])
                h = hess_fn(th, xx, us[idx], vs[idx])
        h = 0.5 * (h + h.transpose(1, 2))
        if clip is not None:
            # epsilon-active set (Bertsekas' projected Newton): weights within eps of the bound
            # and pushed outwards are held at the bound; eps shrinks with the KKT residual
            resid = torch.where(mask, th - (th - g).clamp(-clip, clip), g).abs()
            eps = resid.amax(1, keepdim=True).clamp(max=1e-2 * clip)
            at_bound = mask & (th.abs() >= clip - eps) & (th.sign() * g < 0)
            free = ~at_bound
            g = g * free
            ff = free[:, :, None] & free[:, None, :]
            h = torch.where(ff, h, torch.diag_embed(free.logical_not().to(dtype)))
        bad = ~(torch.isfinite(g).all(1) & torch.isfinite(h).all((1, 2)))
        g = torch.where(bad[:, None], 0.0, g)
        h = torch.where(
            bad[:, None, None], torch.eye(n, dtype=dtype, device=u.device), h
        )
        pg = g.abs().amax(1)
        kkt[idx] = torch.where(bad, torch.inf, pg)
        e, vec = torch.linalg.eigh(h)
        scale = e.abs().amax(1, keepdim=True).clamp_min(1e-300)
        absd = e.abs().clamp_min(1e-14 * scale)
        gv = (vec.transpose(1, 2) @ g[:, :, None])[..., 0]
        decrement = 0.5 * (gv**2 / absd).sum(1)
        done = (
            (decrement <= ftol * (1.0 + loss[idx].abs()))
            & (pg <= gtol * gscale[idx])
            & (e[:, 0] >= -1e-8 * scale[:, 0])
        )
        conv[idx] = done & ~bad
        if it > max_iter:  # last pass only measured the KKT conditions
            break
        n_steps = it
        done |= bad
        # candidate steps for several damping levels, evaluated together
        lam = mu[idx][:, None] * levels[None, :] * scale  # (k, L)
        steps = -(
            vec[:, None]
            @ (gv[:, None, :] / (absd[:, None, :] + lam[..., None]))[..., None]
        )
        cand = th[:, None, :] + steps[..., 0]
        if clip is not None:
            cand = torch.where(mask, cand.clamp(-clip, clip), cand)
            cand = torch.where(at_bound[:, None], clip * th.sign()[:, None], cand)
        n_lev = levels.numel()
        cand_flat = cand.reshape(-1, n)
        idx_rep = idx.repeat_interleave(n_lev)
        new_loss = loss_at(cand_flat, idx_rep).reshape(-1, n_lev)
        new_loss = torch.where(torch.isnan(new_loss), torch.inf, new_loss)
        best_new, best_lev = new_loss.min(1)
        accept = (best_new <= loss[idx]) & ~done
        gain = torch.where(accept, loss[idx] - best_new, 0.0)
        small = gain <= ftol * (1.0 + loss[idx].abs())
        n_small[idx] = torch.where(accept & small, n_small[idx] + 1, 0 * n_small[idx])
        rows = torch.arange(idx.numel(), device=u.device)
        theta[idx] = torch.where(accept[:, None], cand[rows, best_lev], th)
        loss[idx] = torch.where(accept, best_new, loss[idx])
        mu_new = torch.where(
            accept, mu[idx] * levels[best_lev] / 10.0, mu[idx] * levels[-1] * 10.0
        ).clamp(1e-15, 1e15)
        mu[idx] = mu_new
        stalled = (~accept & ~done & (mu[idx] >= 1e15)) | (n_small[idx] >= 5)
        diverged = loss[idx] < -1e250
        active[idx] = ~(done | stalled | diverged)
        if prune is not None and it == prune[0] and prune[1] < n_starts:
            key = torch.where(torch.isnan(loss), torch.inf, loss)
            rank = key.reshape(n_problems, n_starts).argsort(1).argsort(1)
            kept = (rank < prune[1]).reshape(-1)
            active &= kept
        if callback is not None:
            callback(it, loss.reshape(n_problems, n_starts).clone())
    log.debug(
        "fit_newton: %d problems x %d starts, %d iterations",
        n_problems,
        n_starts,
        n_steps,
    )
    binned_loss = None
    if bins is not None:
        binned_loss = loss
        loss = _exact_loss(net, kind, theta, x_full, u_full, v_full, n_starts, kept)
    rows = _best_rows(loss, n_problems, n_starts)
    return FitResult(
        params=theta[rows],
        loss=loss[rows],
        converged=conv[rows],
        n_iter=n_steps,
        kkt=kkt[rows],
        binned_loss=None if binned_loss is None else binned_loss[rows],
    )


def _exact_loss(
    net: Network,
    kind: Kind,
    theta: Any,
    x: Any,
    u: Any,
    v: Any,
    n_starts: int,
    kept: Any,
) -> Any:
    """Exact loss of the ``kept`` starts (problem-major), a few at a time; inf for the others
    (pruned starts are out of the race)."""
    torch = _torch()
    out = torch.full((theta.shape[0],), torch.inf, dtype=u.dtype, device=u.device)
    todo = torch.nonzero(kept).squeeze(1)
    step = max(1, 2_000_000 // max(1, u.shape[1]))
    with torch.no_grad():
        for lo in range(0, todo.numel(), step):
            rows = todo[lo : lo + step]
            prob = rows // n_starts
            xx = x[prob] if x.ndim == 3 else x
            out[rows] = _batched_loss(net, kind, theta[rows], xx, u[prob], v[prob])
    return out


def _best_rows(loss: Any, n_problems: int, n_starts: int) -> Any:
    torch = _torch()
    loss_ps = loss.reshape(n_problems, n_starts)
    key = torch.where(torch.isnan(loss_ps), torch.inf, loss_ps)
    best = key.argmin(dim=1)
    return torch.arange(n_problems, device=best.device) * n_starts + best


def fit_adam(
    net: Network,
    x: Any,
    u: Any,
    v: Any,
    *,
    kind: Kind = "poisson",
    epochs: int = 500_000,
    lr: float = 1e-3,
    clip: float | None = None,
    n_starts: int = 1,
    generator: Any = None,
    init: Any = None,
    checkpoints: tuple[int, ...] = (),
) -> FitResult:
    """The papers' protocol: full-batch Adam (``lr`` 1e-3) for a fixed number of ``epochs``.

    All problems and starts are one stacked parameter tensor; Adam acts element-wise, so this is
    exactly independent Adam runs. The initialisation is the Keras default of the NPLM code
    (Glorot-uniform weights, zero biases) unless ``init`` ``(P, n_params)`` is given. With
    ``clip``, the weights are clipped to ``[-clip, clip]`` after every step. The loss after
    each number of epochs in ``checkpoints`` is kept in ``history`` (Fig. 7 of Bressler et al.).
    """
    torch = _torch()
    dtype = u.dtype
    n_problems = u.shape[0]
    if init is not None:
        theta = init.to(dtype=dtype, device=u.device).repeat_interleave(n_starts, dim=0)
    else:
        theta = net.init(n_problems * n_starts, generator=generator, dtype=dtype).to(
            u.device
        )
    xs, us, vs = _repeat(x, u, v, n_starts)
    mask = net.weight_mask().to(u.device) if clip is not None else None
    theta = theta.clone().requires_grad_(True)
    opt = torch.optim.Adam([theta], lr=lr)
    marks = sorted({int(c) for c in checkpoints if 0 < int(c) <= int(epochs)})
    history = []
    for epoch in range(1, int(epochs) + 1):
        opt.zero_grad(set_to_none=True)
        total = _batched_loss(net, kind, theta, xs, us, vs).sum()
        total.backward()
        opt.step()
        if clip is not None:
            with torch.no_grad():
                theta.copy_(torch.where(mask, theta.clamp(-clip, clip), theta))
        if len(history) < len(marks) and epoch == marks[len(history)]:
            with torch.no_grad():
                now = _batched_loss(net, kind, theta, xs, us, vs)
            history.append(_pick_best(theta, now, now, n_problems, n_starts)[1])
    with torch.no_grad():
        theta = theta.detach()
        loss = _batched_loss(net, kind, theta, xs, us, vs)
    conv = torch.zeros(theta.shape[0], dtype=torch.bool, device=u.device)
    best = _pick_best(theta, loss, conv, n_problems, n_starts)
    return FitResult(
        params=best[0],
        loss=best[1],
        converged=best[2],
        n_iter=int(epochs),
        history=torch.stack(history) if history else None,
    )
