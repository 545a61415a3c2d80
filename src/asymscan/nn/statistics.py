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
from collections.abc import Callable, Sequence
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

__all__ = (
    "FitOptions",
    "NNTestResult",
    "PooledStatistic",
    "delta_test",
    "nplm_test",
    "pooled_tests",
    "symmetrized_test",
)

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
    t_history
        Paper protocol with ``checkpoints``: ``t`` after each number of epochs.
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
    t_history: dict[int, float] | None = None


def _events(x: Any, name: str, d: int | None = None, min_events: int = 2) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        msg = f"{name} must have shape (N,) or (N, d), got shape {arr.shape}"
        raise ShapeError(msg)
    if arr.shape[0] < min_events:
        verb = "is" if min_events == 1 else "are"
        msg = f"{name} has {arr.shape[0]} event(s); at least {min_events} {verb} needed"
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

    def weights(self, w: np.ndarray) -> Any:
        torch = require("torch")
        return torch.as_tensor(w, dtype=self.dtype, device=self.device)

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
    net: Network,
    x: Any,
    u: Any,
    v: Any,
    generators: list[Any],
    options: FitOptions,
    *,
    kind: Kind,
    clip: float | None,
) -> FitResult:
    """Fit the stacked problems (tensors), with one ``torch.Generator`` per problem."""
    torch = require("torch")
    if options.fit == "paper":
        init = torch.cat(
            [net.init(1, generator=g, dtype=u.dtype) for g in generators]
        ).to(u.device)
        return fit_adam(
            net,
            x,
            u,
            v,
            kind=kind,
            epochs=options.epochs,
            lr=options.lr,
            clip=clip,
            init=init,
            checkpoints=options.checkpoints,
        )
    return fit_newton(
        net,
        x,
        u,
        v,
        kind=kind,
        n_starts=options.n_starts,
        prune=options.prune,
        clip=clip,
        generator=generators,
        max_iter=options.max_iter,
        bins=_bins(options.bins, (x.shape[-2], x.shape[-1])),
    )


AUTO_BINS_ABOVE = 10_000
"""``bins="auto"`` bins one-dimensional fast fits with more events than this."""

AUTO_BINS = 512
"""Number of fine bins of ``bins="auto"``."""

DEFAULT_WEIGHT_BOUND = 30.0
"""Default bound on every network weight of the symmetrized and delta fast fits, in units of
the standardised inputs (see :func:`symmetrized_test`)."""


@dataclass(frozen=True)
class FitOptions:
    """Options of the symmetrized and cross-entropy fits (:func:`symmetrized_test`).

    Attributes
    ----------
    hidden
        Hidden layer widths of the network, ``(4,)`` as in the papers.
    fit
        ``"fast"``: batched multi-start projected Newton to a KKT point
        (:func:`.fit.fit_newton`); ``"paper"``: full-batch Adam, ``lr``, ``epochs``, unbounded
        (:func:`.fit.fit_adam`).
    n_starts, prune, max_iter
        Fast fit: starts per problem (``f = 0`` and random ones, the best kept), pruned to
        the ``prune[1]`` best after ``prune[0]`` iterations (``None``: never), and the
        iteration limit.
    weight_bound
        Fast fit: ``|w| <= weight_bound`` on every weight, in standardised input units;
        ``None``: unbounded.
    bins
        Fast fit of one-dimensional samples: ``None`` fits the events exactly; an integer
        aggregates them into that many fine bins (:func:`.fit.bin_events`), an iteration then
        costs ``O(bins)`` and ``t`` is the exact loss at the binned optimum; ``"auto"``:
        ``AUTO_BINS`` (512) bins above ``AUTO_BINS_ABOVE`` (1e4) pooled events, exact below.
    epochs, lr
        Of the paper protocol (5e5 and 1e-3 in the papers).
    checkpoints
        Paper protocol: numbers of epochs after which ``t`` is recorded
        (``NNTestResult.t_history``), as in Fig. 7.
    standardize
        Fit in standardised inputs (default: True for the fast fit).
    rng
        Seed or ``numpy.random.Generator`` for the starts.
    device
        Torch device; ``"cuda"`` needs an available GPU.
    """

    hidden: int | tuple[int, ...] = (4,)
    fit: FitMethod = "fast"
    n_starts: int = 32
    prune: tuple[int, int] | None = (30, 8)
    max_iter: int = 300
    weight_bound: float | None = DEFAULT_WEIGHT_BOUND
    bins: int | Literal["auto"] | None = "auto"
    epochs: int = 500_000
    lr: float = 1e-3
    checkpoints: tuple[int, ...] = ()
    standardize: bool | None = None
    rng: Any = None
    device: Any = "cpu"

    def __post_init__(self) -> None:
        for name in ("n_starts", "max_iter", "epochs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                msg = f"{name} must be a positive integer, got {value!r}"
                raise ConfigError(msg)
        prune = self.prune
        if prune is not None and not (
            isinstance(prune, tuple)
            and len(prune) == 2
            and all(isinstance(k, int) and k >= 1 for k in prune)
        ):
            msg = f"prune must be None or (iteration, keep), two positive integers, got {prune!r}"
            raise ConfigError(msg)


def _bins(bins: Any, shape: tuple[int, ...]) -> int | None:
    if bins is None:
        return None
    if isinstance(bins, str):
        if bins != "auto":
            msg = f"bins must be 'auto', None or an integer >= 4, got {bins!r}"
            raise ConfigError(msg)
        return AUTO_BINS if shape[1] == 1 and shape[0] > AUTO_BINS_ABOVE else None
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
    **options: Any,
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
        ``|w| <= weight_clipping`` on all network weights (9 in the papers), for both fits;
        ``None``: none. The loss is unbounded without it where A has events far from any of
        B: ``t`` is then huge or ``inf`` and ``converged`` False.
    options
        The fields of :class:`FitOptions` (``hidden``, ``fit``, ``n_starts``, ``prune``,
        ``max_iter``, ``bins``, ``epochs``, ``lr``, ``standardize``, ``rng``, ``device``), but
        not ``weight_bound``: the bound of this test is ``weight_clipping``. ``standardize``
        defaults to True for the fast fit without clipping, False otherwise (the clipping
        bound is in the inputs' units).

    Returns
    -------
    NNTestResult
        ``parts = {"t_B(A)": t}``, ``functions = {"f": f}``.
    """
    if "weight_bound" in options:
        msg = "nplm_test bounds the weights with weight_clipping, not weight_bound"
        raise ConfigError(msg)
    opts = _options(options)
    fit, rng = opts.fit, opts.rng
    hidden = _check_options(fit, opts.hidden, weight_clipping)
    xa = _events(x_data, "x_data")
    xb = _events(x_ref, "x_ref", xa.shape[1])
    wa = _event_weights(w_data, len(xa), "w_data")
    wb = _event_weights(w_ref, len(xb), "w_ref")
    if n_expected is not None and not (math.isfinite(n_expected) and n_expected > 0):
        msg = f"n_expected must be a positive finite number or None, got {n_expected!r}"
        raise DataError(msg)
    standardize = opts.standardize
    if standardize is None:
        standardize = fit == "fast" and weight_clipping is None
    setup = _setup(np.concatenate([xa, xb]), hidden, standardize, opts.device)
    n_a = float(wa.sum()) if n_expected is None else float(n_expected)
    n_b = float(wb.sum())
    u = np.concatenate([np.zeros(len(xa)), n_a / n_b * wb])[None]
    v = np.concatenate([wa, np.zeros(len(xb))])[None]
    x = np.concatenate([xa, xb])
    res = _run(
        setup.net,
        setup.tensor(x),
        setup.weights(u),
        setup.weights(v),
        [_generator(rng)],
        opts,
        kind="poisson",
        clip=weight_clipping,
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


@dataclass(frozen=True)
class _Pair:
    """Two samples pooled: events, weights, the A label, and the (weighted) sizes."""

    x: np.ndarray
    w: np.ndarray
    in_a: np.ndarray
    n_a: float
    n_b: float


def _pooled(x_a: Any, x_b: Any, w_a: Any, w_b: Any, min_events: int = 2) -> _Pair:
    xa = _events(x_a, "x_a", min_events=min_events)
    xb = _events(x_b, "x_b", xa.shape[1], min_events)
    wa = _event_weights(w_a, len(xa), "w_a")
    wb = _event_weights(w_b, len(xb), "w_b")
    return _Pair(
        x=np.concatenate([xa, xb]),
        w=np.concatenate([wa, wb]),
        in_a=np.concatenate([np.ones(len(xa)), np.zeros(len(xb))]),
        n_a=float(wa.sum()),
        n_b=float(wb.sum()),
    )


def _loss_weights(pair: _Pair, kind: Kind) -> tuple[np.ndarray, np.ndarray]:
    """``u``, ``v`` of the problems of one pair: f and g with the pooled reference weighted
    N_A/N and N_B/N ("poisson", Eqs. 23-24), or one cross-entropy problem ("logistic")."""
    w, in_a = pair.w, pair.in_a
    if kind == "poisson":
        n = pair.n_a + pair.n_b
        return (
            np.stack([pair.n_a / n * w, pair.n_b / n * w]),
            np.stack([w * in_a, w * (1.0 - in_a)]),
        )
    return (w * in_a)[None], (w * (1.0 - in_a))[None]


@dataclass(frozen=True)
class _PairFits:
    setups: list[_Setup]
    fit: FitResult
    per_pair: int
    standardize: bool
    checkpoints: tuple[int, ...] = ()


def _fit_pairs(pairs: list[_Pair], kind: Kind, options: FitOptions) -> _PairFits:
    """Fit the symmetrized ("poisson": f and g per pair) or cross-entropy ("logistic": delta)
    problems of several pooled pairs in one stacked computation, pair-major.

    Each pair is standardised on its own and draws its starts from its own generator, so its
    result does not depend on the other pairs of the batch; unequal sizes are padded with
    zero-weight events.
    """
    torch = require("torch")
    hidden = _check_options(options.fit, options.hidden, None)
    _check_bound(options.weight_bound)
    standardize = options.standardize
    if standardize is None:
        standardize = options.fit == "fast"
    setups = [_setup(p.x, hidden, standardize, options.device) for p in pairs]
    weights = [_loss_weights(p, kind) for p in pairs]
    per_pair = weights[0][0].shape[0]
    n_max = max(len(p.x) for p in pairs)
    d = pairs[0].x.shape[1]
    if any(p.x.shape[1] != d for p in pairs):
        msg = "all pairs of a batch need the same number of observables"
        raise ShapeError(msg)

    if len(pairs) == 1:
        x = setups[0].tensor(pairs[0].x)
    else:
        x = torch.zeros(len(pairs), n_max, d, dtype=setups[0].dtype)
        for i, (setup, pair) in enumerate(zip(setups, pairs, strict=True)):
            x[i, : len(pair.x)] = setup.tensor(pair.x)
        x = x.to(setups[0].device).repeat_interleave(per_pair, dim=0)
    u = np.zeros((len(pairs) * per_pair, n_max))
    v = np.zeros_like(u)
    for i, (uu, vv) in enumerate(weights):
        u[i * per_pair : (i + 1) * per_pair, : uu.shape[1]] = uu
        v[i * per_pair : (i + 1) * per_pair, : vv.shape[1]] = vv
    generators = [g for _ in pairs for g in [_generator(options.rng)] * per_pair]
    res = _run(
        setups[0].net,
        x,
        setups[0].weights(u),
        setups[0].weights(v),
        generators,
        options,
        kind=kind,
        clip=options.weight_bound if options.fit == "fast" else None,
    )
    return _PairFits(setups, res, per_pair, standardize, tuple(options.checkpoints))


def _symmetrized_result(fits: _PairFits, k: int, pair: _Pair) -> NNTestResult:
    setup, res = fits.setups[k], fits.fit
    i_f, i_g = 2 * k, 2 * k + 1
    t_a = _t_from_loss(res.loss[i_f])
    t_b = _t_from_loss(res.loss[i_g])
    t = t_a + t_b
    dof = setup.net.n_params - 1
    p, z = _chi2(t, dof)
    f = setup.function(res.params[i_f])
    g = setup.function(res.params[i_g])
    n_a, n_b = pair.n_a, pair.n_b

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
        converged=bool(res.converged[i_f]) and bool(res.converged[i_g]),
        n_a=n_a,
        n_b=n_b,
        method="symmetrized",
        fit=res_fit_name(res),
        functions={"f": f, "g": g, "sigma": sigma, "delta": delta},
        params={
            "f": res.params[i_f].cpu().numpy(),
            "g": res.params[i_g].cpu().numpy(),
        },
        standardized=fits.standardize,
        t_history=_history(fits, lambda h: -2.0 * (h[:, i_f] + h[:, i_g])),
    )


def _history(fits: _PairFits, t_of: Callable[[np.ndarray], np.ndarray]) -> Any:
    hist = fits.fit.history
    if hist is None:
        return None
    marks = sorted({int(c) for c in fits.checkpoints if 0 < int(c) <= fits.fit.n_iter})
    return dict(zip(marks, t_of(hist.cpu().numpy()).tolist(), strict=True))


def _delta_result(fits: _PairFits, k: int, pair: _Pair) -> NNTestResult:
    setup, res = fits.setups[k], fits.fit
    t = 2.0 * (float(delta_null(pair.n_a, pair.n_b)) - float(res.loss[k]))
    dof = setup.net.n_params - 1
    p, z = _chi2(t, dof)
    return NNTestResult(
        t=t,
        parts={"t_delta": t},
        dof=dof,
        p_value=p,
        z=z,
        converged=bool(res.converged[k]),
        n_a=pair.n_a,
        n_b=pair.n_b,
        method="delta",
        fit=res_fit_name(res),
        functions={"delta": setup.function(res.params[k])},
        params={"delta": res.params[k].cpu().numpy()},
        standardized=fits.standardize,
        t_history=_history(
            fits, lambda h: 2.0 * (float(delta_null(pair.n_a, pair.n_b)) - h[:, k])
        ),
    )


def res_fit_name(res: FitResult) -> str:
    return "fast" if res.kkt is not None else "paper"


_KINDS: dict[str, tuple[Kind, Callable[[_PairFits, int, _Pair], NNTestResult]]] = {
    "symmetrized": ("poisson", _symmetrized_result),
    "delta": ("logistic", _delta_result),
}


def pooled_tests(
    method: Literal["symmetrized", "delta"],
    pairs: Sequence[tuple[Any, Any]],
    *,
    weights: Sequence[tuple[Any, Any]] | None = None,
    batch_size: int = 16,
    options: FitOptions | None = None,
) -> list[NNTestResult]:
    """Many symmetrized (Eq. 22) or cross-entropy (Eq. 34) tests fitted together.

    ``pairs`` are ``(x_a, x_b)`` samples (toys, permutations, ...); they are fitted
    ``batch_size`` at a time in one stacked computation (all problems, all starts). Each pair
    is the same problem as in :func:`symmetrized_test` / :func:`delta_test` on the pair alone
    with the same options (standardised alone, zero-weight padding that changes nothing, its
    own starts from ``rng``: an integer seed gives every pair the same starts). Results
    agree to rounding, which depends on the batch's shape and can occasionally steer the
    non-convex fit of a pair to another local optimum; for a fixed ``batch_size`` they are
    reproducible.
    """
    return _pooled_tests(method, pairs, weights, batch_size, options, 2)


def _pooled_tests(
    method: Literal["symmetrized", "delta"],
    pairs: Sequence[tuple[Any, Any]],
    weights: Sequence[tuple[Any, Any]] | None,
    batch_size: int,
    options: FitOptions | None,
    min_events: int,
) -> list[NNTestResult]:
    """:func:`pooled_tests`, with samples of at least ``min_events`` events."""
    if method not in _KINDS:
        msg = f"method must be 'symmetrized' or 'delta', got {method!r}"
        raise ConfigError(msg)
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int)
        or batch_size < 1
    ):
        msg = f"batch_size must be a positive integer, got {batch_size!r}"
        raise ConfigError(msg)
    options = FitOptions() if options is None else options
    kind, make = _KINDS[method]
    if weights is None:
        weights = [(None, None)] * len(pairs)
    if len(weights) != len(pairs):
        msg = f"{len(weights)} weight pairs for {len(pairs)} sample pairs"
        raise ShapeError(msg)
    out: list[NNTestResult] = []
    for lo in range(0, len(pairs), batch_size):
        chunk = [
            _pooled(xa, xb, wa, wb, min_events)
            for (xa, xb), (wa, wb) in zip(
                pairs[lo : lo + batch_size], weights[lo : lo + batch_size], strict=True
            )
        ]
        fits = _fit_pairs(chunk, kind, options)
        out += [make(fits, k, pair) for k, pair in enumerate(chunk)]
    return out


def symmetrized_test(
    x_a: Any,
    x_b: Any,
    *,
    w_a: Any = None,
    w_b: Any = None,
    **options: Any,
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
    Many tests (toys, permutations) are fitted together by :func:`pooled_tests`.

    ``options`` are the fields of :class:`FitOptions`: ``hidden``, ``fit``, ``n_starts``,
    ``prune``, ``max_iter``, ``weight_bound``, ``bins``, ``epochs``, ``lr``, ``checkpoints``,
    ``standardize``, ``rng``, ``device``. The result's ``functions`` hold ``f`` and ``g`` and the (Sigma, delta)
    parameterisation of Sec. VI A (Eqs. 31-32), ``sigma`` and ``delta``.
    """
    return pooled_tests(
        "symmetrized", [(x_a, x_b)], weights=[(w_a, w_b)], options=_options(options)
    )[0]


def delta_test(
    x_a: Any,
    x_b: Any,
    *,
    w_a: Any = None,
    w_b: Any = None,
    **options: Any,
) -> NNTestResult:
    """The cross-entropy statistic t^delta_{A+B}(A+B) of Eq. (34) (Sec. VI A).

    ``delta`` (a network of Eq. 12) gives the label probability ``sigma(2 delta)`` of A; ``t =
    2 (CE_null - min CE)``, ``CE = -sum_A w log sigma(2 delta) - sum_B w log(1 - sigma(2 delta))``,
    ``CE_null = -N_A log(N_A/N) - N_B log(N_B/N)`` (delta constant). ``dof = n_params - 1``.
    ``options`` (:class:`FitOptions`) as :func:`symmetrized_test`; ``functions = {"delta": ...}``.
    """
    return pooled_tests(
        "delta", [(x_a, x_b)], weights=[(w_a, w_b)], options=_options(options)
    )[0]


def _options(options: dict[str, Any]) -> FitOptions:
    try:
        return FitOptions(**options)
    except TypeError as err:
        names = ", ".join(FitOptions.__dataclass_fields__)
        msg = f"{err}; the fit options are: {names}"
        raise ConfigError(msg) from None


@dataclass(frozen=True)
class PooledStatistic:
    """``t`` of the symmetrized or cross-entropy test as a function of two samples.

    Picklable (it runs on process pools and Dask), and with :meth:`many` for the batched
    fits used by :func:`asymscan.calibrate.permutation_null` and
    :func:`~asymscan.calibrate.toy_null`. Weighted events: ``statistic(x_a, x_b, w_a=...,
    w_b=...)`` and ``many(pairs, weights=[(w_a, w_b), ...])``, one weight per event, as
    :func:`symmetrized_test` takes them.

    Attributes
    ----------
    method
        ``"symmetrized"`` (Eq. 22) or ``"delta"`` (Eq. 34).
    options
        The fit options.
    batch_size
        Pairs fitted together.
    threads
        Torch threads of the process that runs the fits (``None``: leave as is); small fits
        run fastest on one.
    """

    method: Literal["symmetrized", "delta"] = "symmetrized"
    options: FitOptions = field(default_factory=FitOptions)
    batch_size: int = 16
    threads: int | None = None

    def __call__(
        self, x_a: Any, x_b: Any, *, w_a: Any = None, w_b: Any = None
    ) -> float:
        """``t`` of one pair, with optional per-event weights (as :meth:`many`)."""
        return float(self.many([(x_a, x_b)], weights=[(w_a, w_b)])[0])

    def many(
        self,
        pairs: Sequence[tuple[Any, Any]],
        weights: Sequence[tuple[Any, Any]] | None = None,
    ) -> np.ndarray:
        """``t`` of every ``(x_a, x_b)`` pair, each with its ``(w_a, w_b)`` weights if given.

        A pair whose A or B has no events (or only zero weights), as a relabelling with
        label-dependent weights can draw (:func:`asymscan.calibrate.permutation_null`), has
        ``t = 0`` without a fit: that is the statistic's exact value (with ``N_A = 0`` the
        loss of ``f`` is 0 for every ``f`` and that of ``g`` is minimal at ``g = 0``; the
        cross-entropy is that of the null). A sample of one event is fitted.
        """
        weights = _weight_pairs(weights, len(pairs))
        t = np.zeros(len(pairs))
        fitted = [
            k
            for k, ((xa, xb), (wa, wb)) in enumerate(zip(pairs, weights, strict=True))
            if not (_vacuous(xa, wa) or _vacuous(xb, wb))
        ]
        if fitted:
            results = self.results(
                [pairs[k] for k in fitted], weights=[weights[k] for k in fitted]
            )
            t[fitted] = [r.t for r in results]
        return t

    def results(
        self,
        pairs: Sequence[tuple[Any, Any]],
        weights: Sequence[tuple[Any, Any]] | None = None,
    ) -> list[NNTestResult]:
        """The full result of every ``(x_a, x_b)`` pair (each sample needs an event, and
        weights as :func:`symmetrized_test` takes them)."""
        if self.threads is not None:
            require("torch").set_num_threads(self.threads)
        return _pooled_tests(
            self.method,
            pairs,
            _weight_pairs(weights, len(pairs)),
            self.batch_size,
            self.options,
            1,
        )


def _weight_pairs(
    weights: Sequence[tuple[Any, Any]] | None, n: int
) -> list[tuple[Any, Any]]:
    if weights is None:
        return [(None, None)] * n
    if len(weights) != n:
        msg = f"{len(weights)} weight pairs for {n} sample pairs"
        raise ShapeError(msg)
    return list(weights)


def _vacuous(x: Any, w: Any) -> bool:
    """No events, or only zero weights."""
    if len(np.asarray(x)) == 0:
        return True
    return w is not None and bool(np.all(np.asarray(w, dtype=float) == 0))
