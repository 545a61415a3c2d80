"""The generic N_sigma test statistic of two binned samples, Eqs. (1)-(2) of Birman et al. 2022."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._arrays import (
    as_binned,
    as_variance,
    bin_shape,
    check_same_binning,
    resolve_ndim,
)

__all__ = ("NsigmaResult", "bin_terms", "nsigma")


@dataclass(frozen=True)
class NsigmaResult:
    """N_sigma of a pair of histograms (batched over leading axes).

    Attributes
    ----------
    nsigma
        The statistic, Eq. (1); standard normal under the symmetry when every bin has
        enough entries (>= 25, Sec. 2). Positive when B is in excess.
    n_bins
        M, the number of bins that entered the sum.
    n_empty
        Bins left out because their combined variance is zero (no entries in A nor B).
    """

    nsigma: np.ndarray
    n_bins: np.ndarray
    n_empty: np.ndarray

    def __float__(self) -> float:
        return float(self.nsigma)


def bin_terms(
    b: Any,
    a: Any,
    *,
    var_b: Any = None,
    var_a: Any = None,
    ndim: int | None = None,
    max_ndim: int | None = None,
    entries: bool = False,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, int]:
    """Per-bin pieces of Eq. (1): ``(B - A)/sqrt(var)``, the mask ``var > 0``, the entries ``A + B``.

    Inputs are validated (finite, non-negative Poisson counts, matching bin shapes); the batch
    axes broadcast. Returns ``(terms, used, entries, ndim)``; ``used`` is None when every bin
    has entries, ``entries`` is None unless requested.
    """
    weighted = var_a is not None or var_b is not None
    hb = as_binned(b, "b", nonnegative=not weighted)
    ha = as_binned(a, "a", nonnegative=not weighted)
    check_same_binning(hb, ha, ("b", "a"))
    nd = resolve_ndim(ndim, hb.values, ha.values, max_ndim=max_ndim)
    bin_shape(nd, {"b": hb.values, "a": ha.values})
    vb = hb.variances if var_b is None else as_variance(var_b, "var_b", hb.values)
    va = ha.variances if var_a is None else as_variance(var_a, "var_a", ha.values)
    vb = hb.values if vb is None else vb
    va = ha.values if va is None else va
    sigma = np.sqrt(va + vb)
    terms = hb.values - ha.values
    if sigma.min() > 0:
        used = None
        terms = terms / sigma
    else:
        used = np.broadcast_to(sigma > 0, terms.shape)
        terms = np.divide(terms, sigma, out=np.zeros(terms.shape), where=used)
    total = np.broadcast_to(ha.values + hb.values, terms.shape) if entries else None
    return terms, used, total, nd


def nsigma(
    b: Any,
    a: Any,
    *,
    var_b: Any = None,
    var_a: Any = None,
    ndim: int | None = None,
) -> NsigmaResult:
    r"""N_sigma(B, A), Eq. (1) of Birman et al. 2022.

    .. math:: N_\sigma(B, A) = \frac{1}{\sqrt{M}} \sum_i \frac{B_i - A_i}{\sqrt{\sigma_{A_i}^2 + \sigma_{B_i}^2}}

    Parameters
    ----------
    b, a
        Bin contents of the tested sample B and the reference A: arrays whose last ``ndim``
        axes are bins (leading axes are batch axes: toys, selections; they broadcast), or
        hist/UHI histograms (weighted storage supplies the variances).
    var_b, var_a
        Variances of the bin contents (sum of squared weights). Without them the Poisson form,
        Eq. (2), is used: sigma^2 = counts.
    ndim
        Number of trailing bin axes; default: all axes of the smaller input.

    Returns
    -------
    NsigmaResult
        ``.nsigma`` and, per batch entry, ``.n_bins`` (M) and ``.n_empty``, the bins left out
        because their combined variance is zero. N_sigma is NaN where no bin is left.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(nsigma(np.array([110.0, 100.0]), np.array([90.0, 100.0]))), 4)
    0.7071
    """
    terms, used, _, nd = bin_terms(b, a, var_b=var_b, var_a=var_a, ndim=ndim)
    axes = tuple(range(-nd, 0))
    n_total = int(np.prod(terms.shape[-nd:]))
    m = np.full(terms.shape[:-nd], n_total) if used is None else used.sum(axis=axes)
    total = terms.sum(axis=axes)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(m > 0, total / np.sqrt(np.maximum(m, 1)), np.nan)
    return NsigmaResult(nsigma=value, n_bins=m, n_empty=n_total - m)
