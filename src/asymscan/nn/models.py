"""The network family of Eq. (12) of Bressler et al., as stacked parameter vectors.

A network with ``d`` inputs, sigmoid hidden layers of the given widths and one linear output,

    f(x) = b_out + sum_alpha w_out^alpha sigma(w_alpha . x + b_alpha),      Eq. (12)

is described by one flat parameter vector. ``P`` networks are evaluated at once from a
``(P, n_params)`` tensor, on a shared ``(N, d)`` sample or on per-network ``(P, N, d)`` samples
(unequal sample sizes are padded, and the padding given zero weight in the losses).
The layout of the vector is, layer by layer, the weight matrix ``(out, in)`` row-major, then
the bias ``(out,)``; for the paper's 1-4-1 network that is ``w_1..w_4, b_1..b_4, w_out^1..4,
b_out``: 13 parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from ..errors import ConfigError, ShapeError

__all__ = ("Network",)


@dataclass(frozen=True)
class Network:
    """A fully connected network of Eq. (12): ``d`` inputs, sigmoid ``hidden`` layers, 1 output.

    Parameters
    ----------
    d
        Number of inputs (observables).
    hidden
        Widths of the hidden layers; ``(4,)`` is the papers' choice. Deeper or wider networks
        by passing more or larger entries.

    Examples
    --------
    >>> Network(1).n_params
    13
    """

    d: int = 1
    hidden: tuple[int, ...] = (4,)

    def __post_init__(self) -> None:
        if not isinstance(self.d, int) or self.d < 1:
            msg = f"d must be a positive integer (number of inputs), got {self.d!r}"
            raise ConfigError(msg)
        hidden = tuple(self.hidden)
        if not hidden or any(not isinstance(h, int) or h < 1 for h in hidden):
            msg = f"hidden must be a non-empty tuple of positive integers, got {self.hidden!r}"
            raise ConfigError(msg)
        object.__setattr__(self, "hidden", hidden)

    @property
    def layers(self) -> tuple[tuple[int, int], ...]:
        """``(n_in, n_out)`` of every layer, the output layer last."""
        sizes = (self.d, *self.hidden, 1)
        return tuple(pairwise(sizes))

    @property
    def n_params(self) -> int:
        """Length of the flat parameter vector (13 for the 1-4-1 network)."""
        return sum(i * o + o for i, o in self.layers)

    def weight_mask(self) -> Any:
        """Boolean tensor ``(n_params,)``: True for weights, False for biases (for clipping)."""
        torch = _torch()
        parts = []
        for i, o in self.layers:
            parts += [
                torch.ones(i * o, dtype=torch.bool),
                torch.zeros(o, dtype=torch.bool),
            ]
        return torch.cat(parts)

    def __call__(self, params: Any, x: Any) -> Any:
        """Evaluate ``P`` networks: ``params (P, n_params)``, ``x (N, d)`` or ``(P, N, d)`` -> ``(P, N)``.

        A single parameter vector ``(n_params,)`` gives ``(N,)``.
        """
        torch = _torch()
        single = params.ndim == 1
        if single:
            params = params[None]
            if x.ndim == 3:
                msg = "a single parameter vector needs x of shape (N, d)"
                raise ShapeError(msg)
        if params.shape[-1] != self.n_params:
            msg = f"params has {params.shape[-1]} entries per network, expected {self.n_params}"
            raise ShapeError(msg)
        if x.shape[-1] != self.d:
            msg = f"x has {x.shape[-1]} observables, the network expects d={self.d}"
            raise ShapeError(msg)
        p = params.shape[0]
        h = x if x.ndim == 3 else x.expand(p, *x.shape)
        pos = 0
        n_layers = len(self.layers)
        for k, (i, o) in enumerate(self.layers):
            w = params[:, pos : pos + i * o].reshape(p, o, i)
            pos += i * o
            b = params[:, pos : pos + o]
            pos += o
            h = torch.baddbmm(b[:, None, :], h, w.transpose(1, 2))
            if k < n_layers - 1:
                h = torch.sigmoid(h)
        out = h[..., 0]
        return out[0] if single else out

    def init(
        self,
        n: int,
        *,
        generator: Any = None,
        scale: float = 1.0,
        bias_scale: float = 0.0,
        dtype: Any = None,
    ) -> Any:
        """``n`` random parameter vectors: Glorot-uniform weights times ``scale``.

        Biases are normal with standard deviation ``bias_scale`` (zero by default). Glorot-uniform
        kernels and zero biases are the Keras defaults used by the NPLM code.
        """
        torch = _torch()
        dtype = torch.float64 if dtype is None else dtype
        parts = []
        for i, o in self.layers:
            limit = scale * (6.0 / (i + o)) ** 0.5
            u = torch.rand(n, i * o, generator=generator, dtype=dtype)
            bias = bias_scale * torch.randn(n, o, generator=generator, dtype=dtype)
            parts += [(2.0 * u - 1.0) * limit, bias]
        return torch.cat(parts, dim=1)


def _torch() -> Any:
    from .._optional import require

    return require("torch")
