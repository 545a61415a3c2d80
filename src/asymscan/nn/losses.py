"""Losses of the neural likelihood-ratio tests of Bressler et al., on torch tensors.

Every loss takes the network outputs at the events, per-event weights (``None`` for unit
weights) and sums over the last axis, so leading axes batch many problems at once; padded
events carry zero weight and drop out. The test statistic is ``t = -2 min loss``.

- :func:`nplm_loss`: Eq. (11), the NPLM loss of sample A against the reference sample B.
- :func:`symmetrized_loss`: Eq. (22) as corrected in ``papers/ERRATA.md``, returned as its A
  and B parts, Eqs. (23)-(24) (equivalently (D2)-(D3)): each is an NPLM loss whose reference is
  the pooled sample A+B, normalised to N_A (resp. N_B).
- :func:`delta_loss` and :func:`delta_statistic`: the cross-entropy of Sec. VI A and the
  statistic t^delta of Eq. (34); :func:`to_sigma_delta` / :func:`from_sigma_delta` change
  between (f, g) and (Sigma, delta) of Eqs. (31)-(32).
- :func:`pointwise_loss`: the two per-event forms that all of the above reduce to, used by the
  batched fitters.
"""

from __future__ import annotations

import math
from typing import Any, Literal

__all__ = (
    "delta_loss",
    "delta_statistic",
    "from_sigma_delta",
    "nplm_loss",
    "pointwise_loss",
    "symmetrized_loss",
    "to_sigma_delta",
)

Kind = Literal["poisson", "logistic"]


def _torch() -> Any:
    from .._optional import require

    return require("torch")


def _weights(w: Any, like: Any) -> Any:
    torch = _torch()
    if w is None:
        return torch.ones_like(like)
    return torch.as_tensor(w, dtype=like.dtype, device=like.device).expand_as(like)


def pointwise_loss(kind: Kind, f: Any, u: Any, v: Any) -> Any:
    """Sum over the last axis of a per-event loss with weights ``u`` and ``v``.

    ``"poisson"``: ``u (e^f - 1) - v f`` (extended likelihood, Eq. 11: ``u`` reference weights
    scaled to the expected yield, ``v`` data weights); convex in ``f``, minimal at
    ``e^f = v/u``, unbounded below where ``v > 0 = u``.
    ``"logistic"``: ``u softplus(-2 f) + v softplus(2 f)`` = ``-u log sigma(2f) - v log(1 -
    sigma(2f))`` (cross-entropy of Sec. VI A with ``f = delta``, ``u`` A-weights, ``v`` B-weights).
    """
    torch = _torch()
    if kind == "poisson":
        return (u * torch.expm1(f) - v * f).sum(-1)
    if kind == "logistic":
        sp = torch.nn.functional.softplus
        return (u * sp(-2.0 * f) + v * sp(2.0 * f)).sum(-1)
    msg = f"kind must be 'poisson' or 'logistic', got {kind!r}"
    raise ValueError(msg)


def nplm_loss(
    f_data: Any,
    f_ref: Any,
    *,
    w_data: Any = None,
    w_ref: Any = None,
    n_expected: Any = None,
) -> Any:
    """NPLM loss of Eq. (11): ``N_A/N_B sum_B w (e^f - 1) - sum_A w f``.

    Parameters
    ----------
    f_data, f_ref
        Network outputs at the events of A (data) and of B (reference), ``(..., N_A)`` and
        ``(..., N_B)``.
    w_data, w_ref
        Per-event weights (default 1). ``N_B`` is the sum of the reference weights.
    n_expected
        ``N_A(H0)``: the expected yield of A. ``None`` (default) uses the observed sum of the
        data weights, the MLE when N_A is a free parameter of the null (Sec. III B); a fixed
        number reproduces the original NPLM (Appendix B).

    Returns
    -------
    The loss, shape ``(...)``; ``t_B(A) = -2 min loss``.
    """
    torch = _torch()
    w_data = _weights(w_data, f_data)
    w_ref = _weights(w_ref, f_ref)
    n_b = w_ref.sum(-1)
    n_a = w_data.sum(-1) if n_expected is None else n_expected
    n_a = torch.as_tensor(n_a, dtype=f_ref.dtype, device=f_ref.device)
    scale = (n_a / n_b)[..., None]
    return (scale * w_ref * torch.expm1(f_ref)).sum(-1) - (w_data * f_data).sum(-1)


def symmetrized_loss(
    f_a: Any,
    f_b: Any,
    g_a: Any,
    g_b: Any,
    *,
    w_a: Any = None,
    w_b: Any = None,
) -> tuple[Any, Any]:
    """The two parts of the symmetrized loss, Eq. (22) as corrected in ``papers/ERRATA.md``.

    ``loss_A = N_A/N sum_{A+B} w (e^f - 1) - sum_A w f`` (Eq. 23 / D2) and
    ``loss_B = N_B/N sum_{A+B} w (e^g - 1) - sum_B w g`` (Eq. 24 / D3), with ``N_A``, ``N_B``
    the observed (weighted) sizes and ``N = N_A + N_B``. Each is :func:`nplm_loss` with the
    pooled sample as reference; both are bounded below and zero at ``f = g = 0``.

    Parameters
    ----------
    f_a, f_b
        ``f`` at the events of A and of B; ``g_a``, ``g_b`` likewise for ``g``.
    w_a, w_b
        Per-event weights (default 1).

    Returns
    -------
    ``(loss_A, loss_B)``; ``t_{A+B}(A+B) = -2 (min loss_A + min loss_B)``.
    """
    torch = _torch()
    w_a = _weights(w_a, f_a)
    w_b = _weights(w_b, f_b)
    n_a = w_a.sum(-1)
    n_b = w_b.sum(-1)
    w_pool = torch.cat([w_a, w_b], dim=-1)
    loss_a = nplm_loss(
        f_a, torch.cat([f_a, f_b], -1), w_data=w_a, w_ref=w_pool, n_expected=n_a
    )
    loss_b = nplm_loss(
        g_b, torch.cat([g_a, g_b], -1), w_data=w_b, w_ref=w_pool, n_expected=n_b
    )
    return loss_a, loss_b


def delta_loss(delta_a: Any, delta_b: Any, *, w_a: Any = None, w_b: Any = None) -> Any:
    """Cross-entropy of Sec. VI A: ``-sum_A w log sigma(2 delta) - sum_B w log(1 - sigma(2 delta))``."""
    return pointwise_loss(
        "logistic", delta_a, _weights(w_a, delta_a), 0.0 * delta_a
    ) + (pointwise_loss("logistic", delta_b, 0.0 * delta_b, _weights(w_b, delta_b)))


def delta_null(n_a: Any, n_b: Any) -> Any:
    """Cross-entropy at the null, ``delta`` constant: ``-N_A log(N_A/N) - N_B log(N_B/N)``."""
    torch = _torch()
    n_a = torch.as_tensor(n_a, dtype=torch.float64)
    n_b = torch.as_tensor(n_b, dtype=torch.float64)
    n = n_a + n_b
    return -(torch.xlogy(n_a, n_a / n) + torch.xlogy(n_b, n_b / n))


def delta_statistic(
    delta_a: Any, delta_b: Any, *, w_a: Any = None, w_b: Any = None
) -> Any:
    """t^delta of Eq. (34) at given ``delta``: ``2 sum_A w log(N sigma(2 delta)/N_A) + 2 sum_B w log(N (1 - sigma(2 delta))/N_B)``.

    Equal to ``2 (CE_null - CE(delta))`` (see :func:`delta_loss`); maximised over the network it
    is the statistic ``t^delta_{A+B}(A+B)``.
    """
    w_a = _weights(w_a, delta_a)
    w_b = _weights(w_b, delta_b)
    null = delta_null(w_a.sum(-1), w_b.sum(-1)).to(delta_a.dtype)
    return 2.0 * (null - delta_loss(delta_a, delta_b, w_a=w_a, w_b=w_b))


def to_sigma_delta(f: Any, g: Any, n_a: float, n_b: float) -> tuple[Any, Any]:
    """(Sigma, delta) of Eqs. (31)-(32) from (f, g): ``f' = f + log(N_A/N)``, ``g' = g + log(N_B/N)``."""
    n = n_a + n_b
    fp = f + math.log(n_a / n)
    gp = g + math.log(n_b / n)
    return 0.5 * (fp + gp), 0.5 * (fp - gp)


def from_sigma_delta(sigma: Any, delta: Any, n_a: float, n_b: float) -> tuple[Any, Any]:
    """Inverse of :func:`to_sigma_delta`: ``(f, g)`` from ``(Sigma, delta)``."""
    n = n_a + n_b
    return sigma + delta - math.log(n_a / n), sigma - delta - math.log(n_b / n)
