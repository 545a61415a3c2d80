r"""The generic N_sigma test statistic of two binned samples, Eqs. (1)-(2) of Birman et al. 2022.

With systematic uncertainties described by K Gaussian nuisances, the statistic is normalised by
its standard deviation under the symmetry including them (:func:`nsigma`, ``shifts``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from .._arrays import (
    as_binned,
    as_shifts,
    as_variance,
    bin_shape,
    broadcast_batch,
    check_same_binning,
    resolve_ndim,
)

__all__ = ("BinTerms", "NsigmaResult", "bin_terms", "nsigma")


@dataclass(frozen=True)
class NsigmaResult:
    """N_sigma of a pair of histograms (batched over leading axes).

    Attributes
    ----------
    nsigma
        The statistic, Eq. (1); standard normal under the symmetry when every bin has
        enough entries (>= 25, Sec. 2). Positive when B is in excess. With systematic shifts it
        is ``N_sys = nsigma_stat / sqrt(1 + sum_k sys_shift_k^2)`` (see :func:`nsigma`).
    n_bins
        M, the number of bins that entered the sum.
    n_empty
        Bins left out because their combined variance is zero (no entries in A nor B).
    nsigma_stat
        Eq. (1) with statistical uncertainties only; equal to ``nsigma`` without shifts.
    sys_shift
        ``(K, ...)``: s_k, the shift of ``nsigma_stat`` caused by a +1 sigma pull of nuisance k
        (the systematic part); an empty first axis without shifts.
    """

    nsigma: np.ndarray
    n_bins: np.ndarray
    n_empty: np.ndarray
    nsigma_stat: np.ndarray
    sys_shift: np.ndarray

    def __float__(self) -> float:
        return float(self.nsigma)


class BinTerms(NamedTuple):
    """Per-bin pieces of Eq. (1), as returned by :func:`bin_terms`.

    Attributes
    ----------
    terms
        ``(B_i - A_i)/sigma_i``, zero where ``sigma_i = 0``; shape ``(*batch, *bins)``.
    used
        The mask ``sigma_i > 0`` (bins entering M), or None when every bin has entries.
    entries
        ``A + B`` per bin when requested, else None.
    ndim
        The number of bin axes.
    shift_terms
        ``delta_ik / sigma_i`` with shape ``(K, *batch, *bins)`` (zero where ``sigma_i = 0``), or
        None without shifts (or with K = 0).
    """

    terms: np.ndarray
    used: np.ndarray | None
    entries: np.ndarray | None
    ndim: int
    shift_terms: np.ndarray | None


def bin_terms(
    b: Any,
    a: Any,
    *,
    var_b: Any = None,
    var_a: Any = None,
    shifts: Any = None,
    ndim: int | None = None,
    max_ndim: int | None = None,
    entries: bool = False,
) -> BinTerms:
    """Per-bin pieces of Eq. (1): ``(B - A)/sqrt(var)``, the mask ``var > 0``, the entries ``A + B``.

    Inputs are validated (finite, non-negative Poisson counts, matching bin shapes); the batch
    axes broadcast, those of ``shifts`` (``(K, ..., *bins)``) included. Returns a
    :class:`BinTerms` ``(terms, used, entries, ndim, shift_terms)``; ``used`` is None when every
    bin has entries, ``entries`` is None unless requested, ``shift_terms`` (``delta/sigma``) is
    None without shifts.
    """
    weighted = var_a is not None or var_b is not None
    hb = as_binned(b, "b", nonnegative=not weighted)
    ha = as_binned(a, "a", nonnegative=not weighted)
    check_same_binning(hb, ha, ("b", "a"))
    nd = resolve_ndim(ndim, hb.values, ha.values, max_ndim=max_ndim)
    bins = bin_shape(nd, {"b": hb.values, "a": ha.values})
    delta = None if shifts is None else as_shifts(shifts, nd, bins)
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
    shift_terms = None
    if delta is not None:
        batch = terms.shape[: terms.ndim - nd]
        delta, full = broadcast_batch(delta, batch, nd)
        if delta.shape[0] > 0:
            if full != batch:  # the shifts carry more batch axes than the counts
                shape = (*full, *bins)
                terms = np.broadcast_to(terms, shape)
                used = None if used is None else np.broadcast_to(used, shape)
                total = None if total is None else np.broadcast_to(total, shape)
            sig = np.broadcast_to(sigma, terms.shape)
            shift_terms = np.divide(
                delta,
                sig,
                out=np.zeros((delta.shape[0], *terms.shape)),
                where=sig > 0,
            )
    return BinTerms(terms, used, total, nd, shift_terms)


def nsigma(
    b: Any,
    a: Any,
    *,
    var_b: Any = None,
    var_a: Any = None,
    shifts: Any = None,
    ndim: int | None = None,
) -> NsigmaResult:
    r"""N_sigma(B, A), Eq. (1) of Birman et al. 2022, optionally with systematic uncertainties.

    .. math:: N_\sigma(B, A) = \frac{1}{\sqrt{M}} \sum_i \frac{B_i - A_i}{\sqrt{\sigma_{A_i}^2 + \sigma_{B_i}^2}}

    **Systematics.** With K Gaussian nuisances the symmetric null is
    :math:`B_i - A_i = \sigma_i \epsilon_i + \sum_k \theta_k \delta_{ik}` with
    :math:`\epsilon_i, \theta_k \sim N(0, 1)` independent, :math:`\sigma_i^2 = \sigma_{A_i}^2 +
    \sigma_{B_i}^2` as in Eq. (1), and :math:`\delta_{ik}` (``shifts``) the change of the
    expected :math:`B_i - A_i` for a +1 sigma pull of nuisance k. Then
    :math:`\sum_i t_i`, :math:`t_i = (B_i - A_i)/\sigma_i`, has variance
    :math:`M + \sum_k W_k^2` with :math:`W_k = \sum_i \delta_{ik}/\sigma_i` (the
    :math:`\epsilon` give M, nuisance k gives :math:`W_k^2`), so the statistic standardised
    with the systematics is

    .. math:: N_{sys} = \frac{\sum_i t_i}{\sqrt{M + \sum_k W_k^2}}
              = \frac{N_\sigma}{\sqrt{1 + \sum_k s_k^2}}, \qquad s_k = W_k / \sqrt{M},

    with :math:`s_k` the shift of Eq. (1) caused by a +1 sigma pull of nuisance k. Sums run over
    the bins with :math:`\sigma_i > 0`, like M. Without ``shifts`` (or with K = 0) the result
    is exactly Eq. (1).

    Parameters
    ----------
    b, a
        Bin contents of the tested sample B and the reference A: arrays whose last ``ndim``
        axes are bins (leading axes are batch axes: toys, selections; they broadcast), or
        hist/UHI histograms (weighted storage supplies the variances).
    var_b, var_a
        Variances of the bin contents (sum of squared weights). Without them the Poisson form,
        Eq. (2), is used: sigma^2 = counts.
    shifts
        Systematic shifts delta of B - A, shape ``(K, ..., *bins)``: one entry per nuisance
        along the first axis, then batch axes broadcasting against those of ``b`` and ``a``
        (e.g. ``(K, n_toys, *bins)``), then the bins. Default None: statistical only.
    ndim
        Number of trailing bin axes; default: all axes of the smaller input.

    Returns
    -------
    NsigmaResult
        ``.nsigma`` (N_sys with shifts) and, per batch entry, ``.n_bins`` (M), ``.n_empty``
        (the bins left out because their combined variance is zero), ``.nsigma_stat`` (Eq. 1)
        and ``.sys_shift`` (s_k, first axis k). N_sigma is NaN where no bin is left.

    References
    ----------
    Birman et al., Eur. Phys. J. C 82 (2022) 508, Eqs. (1)-(2).

    Examples
    --------
    >>> import numpy as np
    >>> round(float(nsigma(np.array([110.0, 100.0]), np.array([90.0, 100.0]))), 4)
    1.0

    One nuisance shifting B - A by 10 in both bins (s = 1: the statistic's variance doubles):

    >>> res = nsigma([110.0, 100.0], [90.0, 100.0], shifts=[[10.0, 10.0]])
    >>> [round(float(x), 4) for x in (res.nsigma, res.nsigma_stat, res.sys_shift[0])]
    [0.7071, 1.0, 1.0]
    """
    terms, used, _, nd, shift_terms = bin_terms(
        b, a, var_b=var_b, var_a=var_a, shifts=shifts, ndim=ndim
    )
    axes = tuple(range(-nd, 0))
    n_total = int(np.prod(terms.shape[-nd:]))
    batch = terms.shape[:-nd]
    m = np.full(batch, n_total) if used is None else used.sum(axis=axes)
    total = terms.sum(axis=axes)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.where(m > 0, total / np.sqrt(np.maximum(m, 1)), np.nan)
        if shift_terms is None:
            value = stat
            shift = np.zeros((0, *batch))
        else:
            w = shift_terms.sum(axis=axes)
            var = m + (w * w).sum(axis=0)
            value = np.where(m > 0, total / np.sqrt(np.maximum(var, 1)), np.nan)
            shift = np.where(m > 0, w / np.sqrt(np.maximum(m, 1)), np.nan)
    return NsigmaResult(
        nsigma=value, n_bins=m, n_empty=n_total - m, nsigma_stat=stat, sys_shift=shift
    )
