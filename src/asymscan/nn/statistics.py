"""Neural likelihood-ratio tests of two event samples (Bressler et al., Eqs. 11, 22-24, 34).

- :func:`nplm_test`: the original NPLM statistic t_B(A) of Eq. (11), A tested against the
  reference sample B, with optional weight clipping and N_A fixed or fitted (Sec. III B, App. B).
- :func:`symmetrized_test`: t_{A+B}(A+B), Eq. (22) as corrected in ``papers/ERRATA.md``: the sum
  of t_{A+B}(A) and t_{A+B}(B), Eqs. (23)-(24), each against the pooled sample; no clipping.
- :func:`delta_test`: the cross-entropy statistic t^delta_{A+B}(A+B) of Eq. (34) (Sec. VI A).

Each returns an :class:`NNTestResult` with the statistic, its parts, the degrees of freedom,
the asymptotic chi2 p-value and Z, and the fitted functions as callables.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .._arrays import check_finite
from .._optional import require
from ..calibrate.empirical import asymptotic_p
from ..errors import ConfigError, DataError, ShapeError
from .fit import FitResult, fit_adam, fit_newton
from .losses import Kind, delta_null, to_sigma_delta
from .models import Network

__all__ = ("NNTestResult", "delta_test", "nplm_test", "symmetrized_test")

FitMethod = Literal["fast", "paper"]


@dataclass(frozen=True)
class NNTestResult:
    """Result of a neural likelihood-ratio test.

    Attributes
    ----------
    t
        The test statistic.
    parts
        Its parts by name, e.g. ``{"t_A+B(A)": ..., "t_A+B(B)": ...}`` (they sum to ``t``).
    dof
        Degrees of freedom of the asymptotic chi2 (Sec. III B).
    p_value, z
        ``chi2_dof`` survival function at ``t`` and the one-sided significance.
    converged
        Whether every fit converged (fast fit); always False for the fixed-epoch paper protocol.
    functions
        Fitted functions by name (``"f"``, ``"g"``, ``"sigma"``, ``"delta"``): each maps events
        ``(M,)`` or ``(M, d)`` to a numpy array ``(M,)``, for plotting.
    params
        Fitted parameter vectors by function name (in standardised input units if
        ``standardized``).
    """

    t: float
    parts: dict[str, float]
    dof: int
    p_value: float
    z: float
    converged: bool
    n_a: float
    n_b: float
    method: str
    fit: str
    functions: dict[str, Callable[[Any], np.ndarray]] = field(repr=False)
    params: dict[str, np.ndarray] = field(repr=False)
    standardized: bool = False


def _events(x: Any, name: str, d: int | None = None) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        msg = f"{name} must have shape (N,) or (N, d), got shape {arr.shape}"
        raise ShapeError(msg)
    if arr.shape[0] < 2:
        msg = f"{name} has {arr.shape[0]} event(s); at least 2 are needed"
        raise DataError(msg)
    if arr.shape[1] < 1:
        msg = f"{name} has no observables (shape {arr.shape})"
        raise ShapeError(msg)
    if d is not None and arr.shape[1] != d:
        msg = f"{name} has {arr.shape[1]} observables, the other sample has {d}"
        raise ShapeError(msg)
    check_finite(arr, name)
    return arr


def _event_weights(w: Any, n: int, name: str) -> np.ndarray:
    if w is None:
        return np.ones(n)
    arr = np.asarray(w, dtype=float)
    if arr.shape != (n,):
        msg = f"{name} must have shape ({n},), one weight per event, got {arr.shape}"
        raise ShapeError(msg)
    check_finite(arr, name)
    if (arr < 0).any():
        msg = (
            f"{name} has {int((arr < 0).sum())} negative weight(s), first {arr[arr < 0][0]}; "
            "the likelihoods need weights >= 0"
        )
        raise DataError(msg)
    if arr.sum() <= 0:
        msg = f"{name} sums to {arr.sum()}; a sample needs a positive total weight"
        raise DataError(msg)
    return arr


def _device(device: Any) -> Any:
    torch = require("torch")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        msg = f"device must be 'cpu', 'cuda' or 'cuda:N', got {device!r}"
        raise ConfigError(msg) from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        msg = (
            f"device {device!r} requested, but torch.cuda.is_available() is False "
            "(no CUDA GPU or a CPU-only torch build); use device='cpu'"
        )
        raise ConfigError(msg)
    return dev


def _generator(rng: Any) -> Any:
    torch = require("torch")
    seed = int(np.random.default_rng(rng).integers(2**62))
    return torch.Generator().manual_seed(seed)


def _check_options(fit: str, hidden: Any, weight_clipping: Any) -> tuple[int, ...]:
    if fit not in ("fast", "paper"):
        msg = f"fit must be 'fast' or 'paper', got {fit!r}"
        raise ConfigError(msg)
    if weight_clipping is not None and not (
        isinstance(weight_clipping, int | float) and weight_clipping > 0
    ):
        msg = f"weight_clipping must be a positive number or None, got {weight_clipping!r}"
        raise ConfigError(msg)
    hidden = (hidden,) if isinstance(hidden, int) else tuple(hidden)
    return hidden


@dataclass(frozen=True)
class _Setup:
    net: Network
    mean: np.ndarray
    std: np.ndarray
    device: Any
    dtype: Any

    def tensor(self, x: np.ndarray) -> Any:
        torch = require("torch")
        return torch.as_tensor(
            (x - self.mean) / self.std, dtype=self.dtype, device=self.device
        )

    def function(self, params: Any) -> Callable[[Any], np.ndarray]:
        torch = require("torch")
        theta = params.detach().clone()
        net = self.net

        def f(x: Any) -> np.ndarray:
            arr = np.asarray(x, dtype=float)
            arr = arr[:, None] if arr.ndim == 1 else arr
            with torch.no_grad():
                return net(theta, self.tensor(arr)).cpu().numpy()

        return f


def _setup(
    x_all: np.ndarray, hidden: tuple[int, ...], standardize: bool, device: Any
) -> _Setup:
    torch = require("torch")
    d = x_all.shape[1]
    if standardize:
        mean = x_all.mean(axis=0)
        std = x_all.std(axis=0)
        std = np.where(std > 0, std, 1.0)
    else:
        mean, std = np.zeros(d), np.ones(d)
    return _Setup(Network(d, hidden), mean, std, _device(device), torch.float64)


def _run(
    setup: _Setup,
    x: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    *,
    kind: Kind,
    fit: str,
    clip: float | None,
    n_starts: int,
    epochs: int,
    lr: float,
    rng: Any,
    max_iter: int,
    bins: Any = None,
) -> FitResult:
    torch = require("torch")
    xt = setup.tensor(x)
    ut = torch.as_tensor(u, dtype=setup.dtype, device=setup.device)
    vt = torch.as_tensor(v, dtype=setup.dtype, device=setup.device)
    gen = _generator(rng)
    if fit == "paper":
        return fit_adam(
            setup.net,
            xt,
            ut,
            vt,
            kind=kind,
            epochs=epochs,
            lr=lr,
            clip=clip,
            generator=gen,
        )
    return fit_newton(
        setup.net,
        xt,
        ut,
        vt,
        kind=kind,
        n_starts=n_starts,
        clip=clip,
        generator=gen,
        max_iter=max_iter,
        bins=_bins(bins, x.shape),
    )


AUTO_BINS_ABOVE = 50_000
"""``bins="auto"`` bins one-dimensional fast fits with more events than this (4096 bins)."""

DEFAULT_WEIGHT_BOUND = 30.0
"""Default bound on every network weight of the symmetrized and delta fast fits, in units of
the standardised inputs (see :func:`symmetrized_test`)."""


def _bins(bins: Any, shape: tuple[int, ...]) -> int | None:
    if bins is None:
        return None
    if isinstance(bins, str):
        if bins != "auto":
            msg = f"bins must be 'auto', None or an integer >= 4, got {bins!r}"
            raise ConfigError(msg)
        return 4096 if shape[1] == 1 and shape[0] > AUTO_BINS_ABOVE else None
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 4:
        msg = f"bins must be 'auto', None or an integer >= 4, got {bins!r}"
        raise ConfigError(msg)
    if shape[1] != 1:
        msg = f"bins needs one observable (d = 1), the samples have d = {shape[1]}"
        raise ConfigError(msg)
    return bins


def _check_bound(bound: Any) -> None:
    if bound is not None and not (
        isinstance(bound, int | float) and not isinstance(bound, bool) and bound > 0
    ):
        msg = f"weight_bound must be a positive number or None, got {bound!r}"
        raise ConfigError(msg)


def _chi2(t: float, dof: int) -> tuple[float, float]:
    p, z = asymptotic_p(t, dof)
    return float(p), float(z)


def _t_from_loss(loss: Any) -> float:
    value = float(loss)
    if not math.isfinite(value) or value < -1e250:
        return math.inf
    return -2.0 * value


def nplm_test(
    x_data: Any,
    x_ref: Any,
    *,
    w_data: Any = None,
    w_ref: Any = None,
    n_expected: float | None = None,
    weight_clipping: float | None = None,
    hidden: int | tuple[int, ...] = (4,),
    fit: FitMethod = "fast",
    n_starts: int = 8,
    max_iter: int = 500,
    bins: int | Literal["auto"] | None = "auto",
    epochs: int = 500_000,
    lr: float = 1e-3,
    standardize: bool | None = None,
    rng: Any = None,
    device: Any = "cpu",
) -> NNTestResult:
    """The NPLM test statistic t_B(A) of Eq. (11) of Bressler et al. (after D'Agnolo & Wulzer).

    ``t = -2 min_f [ N_A(H0)/N_B sum_{x in B} w (e^f(x) - 1) - sum_{x in A} w f(x) ]`` with ``f``
    the network of Eq. (12).

    Parameters
    ----------
    x_data, x_ref
        Samples A (tested) and B (reference), ``(N,)`` or ``(N, d)``.
    w_data, w_ref
        Per-event weights (>= 0), default 1.
    n_expected
        ``N_A(H0)`` fixed to this value (original NPLM, Appendix B; ``dof = n_params``), or
        ``None``: fitted, i.e. the observed (weighted) size of A (Sec. III B; ``dof = n_params - 1``).
    weight_clipping
        ``|w| <= weight_clipping`` on all network weights (9 in the papers); ``None``: none. The
        loss is unbounded without it where A has events far from any of B: ``t`` is then huge
        or ``inf`` and ``converged`` False.
    hidden
        Hidden layer widths of the network, ``(4,)`` as in the papers.
    fit
        ``"fast"``: batched multi-start Newton to convergence (:func:`.fit.fit_newton`);
        ``"paper"``: full-batch Adam, ``lr``, ``epochs`` (:func:`.fit.fit_adam`).
    n_starts, max_iter
        Starts and iteration limit of the fast fit.
    bins
        Fast fit of one-dimensional samples only: ``None`` fits the events exactly; an integer
        aggregates them into that many fine bins of ``x`` (:func:`.fit.bin_events`) so that a
        Newton iteration costs ``O(bins)``, and ``t`` is the exact loss at the binned optimum
        (never above the exact optimum's). ``"auto"``: 4096 bins above
        ``AUTO_BINS_ABOVE`` (5e4) pooled events, exact below.
    epochs, lr
        Of the paper protocol (5e5 and 1e-3 in the papers).
    standardize
        Fit in standardised inputs (same function family). Default: True for the fast fit
        without clipping; False otherwise (clipping bounds depend on the input units).
    rng
        Seed or ``numpy.random.Generator`` for the starts.
    device
        Torch device; ``"cuda"`` needs an available GPU.

    Returns
    -------
    NNTestResult
        ``parts = {"t_B(A)": t}``, ``functions = {"f": f}``.
    """
    hidden = _check_options(fit, hidden, weight_clipping)
    xa = _events(x_data, "x_data")
    xb = _events(x_ref, "x_ref", xa.shape[1])
    wa = _event_weights(w_data, len(xa), "w_data")
    wb = _event_weights(w_ref, len(xb), "w_ref")
    if n_expected is not None and not (math.isfinite(n_expected) and n_expected > 0):
        msg = f"n_expected must be a positive finite number or None, got {n_expected!r}"
        raise DataError(msg)
    if standardize is None:
        standardize = fit == "fast" and weight_clipping is None
    setup = _setup(np.concatenate([xa, xb]), hidden, standardize, device)
    n_a = float(wa.sum()) if n_expected is None else float(n_expected)
    n_b = float(wb.sum())
    u = np.concatenate([np.zeros(len(xa)), n_a / n_b * wb])[None]
    v = np.concatenate([wa, np.zeros(len(xb))])[None]
    res = _run(
        setup,
        np.concatenate([xa, xb]),
        u,
        v,
        kind="poisson",
        fit=fit,
        clip=weight_clipping,
        n_starts=n_starts,
        epochs=epochs,
        lr=lr,
        rng=rng,
        max_iter=max_iter,
        bins=bins,
    )
    t = _t_from_loss(res.loss[0])
    dof = setup.net.n_params - (1 if n_expected is None else 0)
    p, z = _chi2(t, dof)
    return NNTestResult(
        t=t,
        parts={"t_B(A)": t},
        dof=dof,
        p_value=p,
        z=z,
        converged=bool(res.converged.all()) and math.isfinite(t),
        n_a=float(wa.sum()),
        n_b=n_b,
        method="nplm",
        fit=fit,
        functions={"f": setup.function(res.params[0])},
        params={"f": res.params[0].cpu().numpy()},
        standardized=standardize,
    )


def _pooled(x_a: Any, x_b: Any, w_a: Any, w_b: Any) -> tuple:
    xa = _events(x_a, "x_a")
    xb = _events(x_b, "x_b", xa.shape[1])
    wa = _event_weights(w_a, len(xa), "w_a")
    wb = _event_weights(w_b, len(xb), "w_b")
    x = np.concatenate([xa, xb])
    in_a = np.concatenate([np.ones(len(xa)), np.zeros(len(xb))])
    w = np.concatenate([wa, wb])
    return x, w, in_a, float(wa.sum()), float(wb.sum())


def _fit_pooled(
    x_a: Any,
    x_b: Any,
    w_a: Any,
    w_b: Any,
    *,
    kind: Kind,
    hidden: Any,
    fit: FitMethod,
    n_starts: int,
    max_iter: int,
    weight_bound: float | None,
    bins: Any,
    epochs: int,
    lr: float,
    standardize: bool | None,
    rng: Any,
    device: Any,
) -> tuple:
    """Validate, pool A u B and fit: the symmetrized ("poisson", f and g: one problem per
    sample, pooled reference weights N_A/N and N_B/N) or the cross-entropy ("logistic", delta)
    loss. Returns ``(setup, fit result, N_A, N_B, standardize)``."""
    hidden = _check_options(fit, hidden, None)
    _check_bound(weight_bound)
    x, w, in_a, n_a, n_b = _pooled(x_a, x_b, w_a, w_b)
    if standardize is None:
        standardize = fit == "fast"
    setup = _setup(x, hidden, standardize, device)
    if kind == "poisson":
        n = n_a + n_b
        u = np.stack([n_a / n * w, n_b / n * w])
        v = np.stack([w * in_a, w * (1.0 - in_a)])
    else:
        u = (w * in_a)[None]
        v = (w * (1.0 - in_a))[None]
    res = _run(
        setup,
        x,
        u,
        v,
        kind=kind,
        fit=fit,
        clip=weight_bound if fit == "fast" else None,
        n_starts=n_starts,
        epochs=epochs,
        lr=lr,
        rng=rng,
        max_iter=max_iter,
        bins=bins,
    )
    return setup, res, n_a, n_b, standardize


def symmetrized_test(
    x_a: Any,
    x_b: Any,
    *,
    w_a: Any = None,
    w_b: Any = None,
    hidden: int | tuple[int, ...] = (4,),
    fit: FitMethod = "fast",
    n_starts: int = 8,
    max_iter: int = 500,
    weight_bound: float | None = DEFAULT_WEIGHT_BOUND,
    bins: int | Literal["auto"] | None = "auto",
    epochs: int = 500_000,
    lr: float = 1e-3,
    standardize: bool | None = None,
    rng: Any = None,
    device: Any = "cpu",
) -> NNTestResult:
    """The symmetrized statistic t_{A+B}(A+B) of Eq. (22) (as corrected in ``papers/ERRATA.md``).

    ``t = t_{A+B}(A) + t_{A+B}(B)`` (Eqs. 23-24, D2-D3), with
    ``t_{A+B}(A) = -2 min_f [ N_A/N sum_{A+B} w (e^f - 1) - sum_A w f ]`` and likewise for B with
    ``g``; ``N_A``, ``N_B`` are the observed (weighted) sizes and ``N = N_A + N_B``. The loss is
    bounded below, so no weight clipping is needed (Sec. II B). Asymptotically chi2 with
    ``n_params - 1`` = 12 degrees of freedom under the null (Sec. III B).

    The fast fit is a minimisation over a compact weight set. Bounded below is not enough for
    a well-posed fit: on realistic samples the unconstrained loss has no stationary optimum
    (Newton keeps sharpening sigmoid steps between neighbouring events, the weights grow
    without bound and ``t`` creeps up with the iteration cap, the "overfit" solutions of
    Appendix D and Fig. 10). With ``weight_bound`` every weight (hidden and output, not the
    biases) is bounded, ``|w| <= weight_bound`` in standardised input units (a sigmoid is then
    no sharper than ``std / weight_bound``), and the fit is projected Newton to a KKT point
    (:func:`.fit.fit_newton`), several starts, best kept. The default 30 leaves the weights
    that Adam reaches in the papers' protocol at 1e4-3e4 epochs (up to ~12 at N = 2e4) well
    inside the box; ``None`` is the unbounded problem. The paper protocol is never bounded.

    Parameters are those of :func:`nplm_test`, and ``weight_bound`` (fast fit only). The result's ``functions`` hold ``f`` and ``g``
    and the (Sigma, delta) parameterisation of Sec. VI A (Eqs. 31-32), ``sigma`` and ``delta``.
    """
    setup, res, n_a, n_b, standardize = _fit_pooled(
        x_a,
        x_b,
        w_a,
        w_b,
        kind="poisson",
        hidden=hidden,
        fit=fit,
        n_starts=n_starts,
        max_iter=max_iter,
        weight_bound=weight_bound,
        bins=bins,
        epochs=epochs,
        lr=lr,
        standardize=standardize,
        rng=rng,
        device=device,
    )
    t_a = _t_from_loss(res.loss[0])
    t_b = _t_from_loss(res.loss[1])
    t = t_a + t_b
    dof = setup.net.n_params - 1
    p, z = _chi2(t, dof)
    f = setup.function(res.params[0])
    g = setup.function(res.params[1])

    def sigma(xx: Any) -> np.ndarray:
        return to_sigma_delta(f(xx), g(xx), n_a, n_b)[0]

    def delta(xx: Any) -> np.ndarray:
        return to_sigma_delta(f(xx), g(xx), n_a, n_b)[1]

    return NNTestResult(
        t=t,
        parts={"t_A+B(A)": t_a, "t_A+B(B)": t_b},
        dof=dof,
        p_value=p,
        z=z,
        converged=bool(res.converged.all()),
        n_a=n_a,
        n_b=n_b,
        method="symmetrized",
        fit=fit,
        functions={"f": f, "g": g, "sigma": sigma, "delta": delta},
        params={"f": res.params[0].cpu().numpy(), "g": res.params[1].cpu().numpy()},
        standardized=standardize,
    )


def delta_test(
    x_a: Any,
    x_b: Any,
    *,
    w_a: Any = None,
    w_b: Any = None,
    hidden: int | tuple[int, ...] = (4,),
    fit: FitMethod = "fast",
    n_starts: int = 8,
    max_iter: int = 500,
    weight_bound: float | None = DEFAULT_WEIGHT_BOUND,
    bins: int | Literal["auto"] | None = "auto",
    epochs: int = 500_000,
    lr: float = 1e-3,
    standardize: bool | None = None,
    rng: Any = None,
    device: Any = "cpu",
) -> NNTestResult:
    """The cross-entropy statistic t^delta_{A+B}(A+B) of Eq. (34) (Sec. VI A).

    ``delta`` (a network of Eq. 12) gives the label probability ``sigma(2 delta)`` of A; ``t =
    2 (CE_null - min CE)``, ``CE = -sum_A w log sigma(2 delta) - sum_B w log(1 - sigma(2 delta))``,
    ``CE_null = -N_A log(N_A/N) - N_B log(N_B/N)`` (delta constant). ``dof = n_params - 1``.
    Parameters (``weight_bound`` included) as :func:`symmetrized_test`; ``functions =
    {"delta": ...}``.
    """
    setup, res, n_a, n_b, standardize = _fit_pooled(
        x_a,
        x_b,
        w_a,
        w_b,
        kind="logistic",
        hidden=hidden,
        fit=fit,
        n_starts=n_starts,
        max_iter=max_iter,
        weight_bound=weight_bound,
        bins=bins,
        epochs=epochs,
        lr=lr,
        standardize=standardize,
        rng=rng,
        device=device,
    )
    t = 2.0 * (float(delta_null(n_a, n_b)) - float(res.loss[0]))
    dof = setup.net.n_params - 1
    p, z = _chi2(t, dof)
    return NNTestResult(
        t=t,
        parts={"t_delta": t},
        dof=dof,
        p_value=p,
        z=z,
        converged=bool(res.converged.all()),
        n_a=n_a,
        n_b=n_b,
        method="delta",
        fit=fit,
        functions={"delta": setup.function(res.params[0])},
        params={"delta": res.params[0].cpu().numpy()},
        standardized=standardize,
    )
