r"""Extrapolated global p-value of a scan's largest |N_sigma|, beyond the reach of toys.

A global p-value counted from n label-exchange toys, (k + 1)/(n + 1), cannot go below
1/(n + 1): Z = 5 would need ~1e7 toys. This module estimates the tail directly, by rare-event
simulation of a Gaussian model of the scan (Adler, Blanchet & Liu 2012).

**The Gaussian model.** Under the symmetry, a label-exchange toy is a number of events of A per
unit (:mod:`asymscan.calibrate.exchange`). The model replaces it by a Gaussian vector with the
same mean and covariance:

* unweighted events, or weights that do not depend on the label (the permutation null,
  multivariate hypergeometric at the observed N_A): mean ``f n_u`` and covariance
  ``s (diag(n) - n n^T / N)`` with ``f = N_A / N`` and ``s = f (1 - f) N / (N - 1)``, drawn as
  independent Gaussians projected onto the fixed total;
* label-dependent weights (each event in A with probability ``p = w_b / (w_a + w_b)``):
  independent units with mean ``n_u p_u`` and variance ``n_u p_u (1 - p_u)``.

Every per-bin term ``t_i = (B_i - A_i) / sigma_i`` of the scan (Eq. 1 of Birman et al. 2022) is
then written as ``t_i = t_i(mu) + sum_u g_iu (a_u - mu_u)``, and every window statistic
``N_W = sum_{i in W} t_i / sqrt(M_W)`` is an affine function of the units. Without label-dependent
weights this is exact: B - A is linear in the units and the variance per bin (the events, or the
sum of the squared weights, in the bin) does not depend on the labels, so the window vector is
exactly Gaussian with the toys' mean and covariance. With label-dependent weights the variance
per bin depends on the labels, and ``t_i`` is **linearised around the mean** (first order in
``a - mu``; the estimate is that of the linearised statistics, method ``"... linearised"``).
Normalised scans (``normalize="total"`` or ``"selection"``) and systematic nuisances are not
supported: :class:`TailNotSupported` is raised, and the caller falls back to toys.

The model keeps the first two moments of the exact null but not its discreteness. Against 1e7
label-exchange toys (``tests/calibrate/brute_force_tail.json``, ``scripts/brute_force_tail.py``)
the exact linear model is accurate or conservative: Z within 0.04 of the toys' down to p = 1e-6
for a 1-D histogram of 20,000 events, lower by 0.1-0.18 at p = 1e-4 ... 1e-6 when windows with
few events (near ``min_entries``) dominate (a 2-D histogram, a sparse 1-D one): the binomial
lattice of their counts has lighter, more clustered tails than the Gaussian. The linearised
model (label-dependent weights) is *anti*-conservative by ~0.1 in Z (0.07-0.14 between p =
1e-2 and 1e-6 in the test layout): the skew of ``d / sqrt(v)`` is lost.

**The estimator** (Adler, Blanchet & Liu, Ann. Appl. Probab. 22 (2012) 1167). For a
Gaussian vector ``Z_W`` of the tested windows and threshold u,

.. math:: P(\max_W |Z_W| \ge u) = \sum_W P(|Z_W| \ge u)\,
          E_Q\left[\frac{1}{\#\{W' : |Z_{W'}| \ge u\}}\right],

with Q the mixture: pick window W with probability proportional to ``P(|Z_W| >= u)``, draw
``Z_W`` from its law conditioned on ``|Z_W| >= u`` (a two-sided truncated normal), and the units
from their law conditioned on ``Z_W`` (a rank-one shift, ``a = a' + Sigma beta_W (z - Z'_W) /
(beta_W^T Sigma beta_W)``). The count is at least one, so the estimate never exceeds the
Bonferroni sum and its relative error stays bounded as u grows. Each sample costs one scan of
every window, like one toy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from scipy import sparse, special

from ..errors import AsymscanError, ConfigError, DataError
from ..stats.significance import z_from_p
from ..stats.windows import count_windows_above
from .exchange import BATCH_ELEMENTS

if TYPE_CHECKING:
    from ..scan.cells import EventCells

__all__ = ("GaussianTail", "TailEstimate", "TailNotSupported", "extrapolated_p")

log = logging.getLogger(__name__)

Normalize = Literal["none", "total", "selection"]

#: Samples drawn from one spawned seed: the result depends on the seed, not on ``batch``.
BLOCK = 32

#: A window whose statistic has a standard deviation below this (relative to the diagonal
#: part of its variance) is constant under the null, e.g. all events of an unweighted scan.
_CONSTANT = 1e-10

_REFERENCE = "Adler, Blanchet & Liu, Ann. Appl. Probab. 22 (2012) 1167"


class TailNotSupported(AsymscanError, NotImplementedError):
    """The scan uses an option the extrapolated tail does not model; calibrate with toys."""


@dataclass(frozen=True)
class TailEstimate:
    """The extrapolated global p-value of a threshold on the largest |N_sigma| of a scan.

    ``np.asarray(estimate)`` is the p-value.

    Attributes
    ----------
    p_value
        P(max over tested windows of |N_sigma| >= threshold) in the scan's Gaussian model.
    p_value_error
        Its Monte-Carlo standard error (from the spread of the ``n_samples`` samples).
    z
        One-sided significance of ``p_value`` (:func:`~asymscan.stats.significance.z_from_p`,
        the convention of every Z in asymscan).
    method
        How the number was obtained, in words (the model, exact or linearised).
    n_samples
        Importance samples drawn.
    bonferroni
        Sum over the tested windows of P(|N_sigma| >= threshold), capped at 1: an upper bound
        of ``p_value`` that needs no sampling.
    threshold
        The threshold u on |N_sigma|.
    n_windows
        Windows tested (those the scan tests: at least ``min_entries`` events and a bin with
        entries).
    """

    p_value: float
    p_value_error: float
    z: float
    method: str
    n_samples: int
    bonferroni: float
    threshold: float
    n_windows: int

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self.p_value, dtype=dtype)

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain Python numbers and strings (for ``results.json``)."""
        return {
            "p_value": self.p_value,
            "p_value_error": self.p_value_error,
            "z": self.z,
            "method": self.method,
            "n_samples": self.n_samples,
            "bonferroni": self.bonferroni,
            "threshold": self.threshold,
            "n_windows": self.n_windows,
        }


@dataclass(frozen=True)
class _Model:
    """The Gaussian model of the units and the per-bin terms, affine in the units.

    ``t = t0 + coef @ (a - mean)``; ``var`` the units' variances; with ``fixed_total`` the
    units are projected onto ``sum(a) = N_A`` (covariance ``diag(var) - scale n n^T / N``).
    """

    mean: np.ndarray
    var: np.ndarray
    multiplicity: np.ndarray
    fixed_total: bool
    scale: float
    coef: sparse.csc_matrix
    t0: np.ndarray
    used: np.ndarray
    exact: bool

    @property
    def method(self) -> str:
        if self.fixed_total:
            null = "multivariate-hypergeometric moments of the permutation null"
        else:
            null = "Bernoulli moments of the relabelling with P(A) = w_b/(w_a + w_b)"
        kind = (
            "exact linear" if self.exact else "N_sigma terms linearised around the mean"
        )
        return (
            f"extrapolated: importance sampling of the scan's Gaussian model ({null}; "
            f"{kind}), {_REFERENCE}"
        )

    def terms(self, deviation: np.ndarray) -> np.ndarray:
        """Per-bin terms ``(n_samples, n_bins)`` for unit deviations ``(n_units, n_samples)``."""
        return self.t0 + np.asarray(self.coef @ deviation).T


def _model(cells: EventCells, normalize: str) -> _Model:
    if normalize != "none":
        msg = (
            f"the extrapolated tail does not model normalize={normalize!r} (the ratio of the "
            "totals makes every window depend on the whole selection); use the toys, or "
            "normalize='none'"
        )
        raise TailNotSupported(msg)
    w = cells.weights
    if w is not None and w.n_systematics:
        msg = (
            f"the extrapolated tail does not model systematic nuisances ({w.n_systematics}: "
            f"{', '.join(w.systematics)}); use the toys"
        )
        raise TailNotSupported(msg)
    n = cells.multiplicity.astype(float)
    total = float(n.sum())
    dependent = w is not None and w.label_dependent
    if dependent:
        p = w.b / (w.a + w.b)
        mean, var, scale = n * p, n * p * (1 - p), 0.0
    else:
        f = float(cells.n_a.sum()) / total
        scale = f * (1 - f) * total / (total - 1) if total > 1 else 0.0
        mean, var = n * f, n * scale
    d0, v0, _ = cells.differences(mean)
    v0 = np.asarray(v0, dtype=float)
    used = v0 > 0
    root = np.sqrt(np.where(used, v0, 1.0))
    t0 = np.where(used, d0 / root, 0.0)
    # B - A = start - cells @ ((w_a + w_b) a), var = start + cells @ ((w_a^2 - w_b^2) a)
    wa = np.ones_like(n) if w is None else w.a
    wb = np.ones_like(n) if w is None else w.b
    c = cells.cells.tocsc()
    rows = c.indices
    cols = np.repeat(np.arange(cells.n_units), np.diff(c.indptr))
    g = -(wa + wb)[cols] / root[rows]
    # the variance's slope: zero unless the weights depend on the label
    slope = wa**2 - wb**2
    linear = not slope.any()
    if not linear:  # d(d / sqrt(v)) = dd / sqrt(v) - d dv / (2 v^1.5)
        g -= d0[rows] * slope[cols] / (2 * root[rows] ** 3)
    g = np.where(used[rows], g, 0.0)
    coef = sparse.csc_matrix((g, rows, c.indptr), shape=c.shape)
    return _Model(
        mean=mean,
        var=var,
        multiplicity=n,
        fixed_total=not dependent,
        scale=scale / total if total > 0 else 0.0,
        coef=coef,
        t0=t0,
        used=used,
        exact=linear,
    )


@dataclass(frozen=True)
class _Windows:
    """Every tested window: its histogram, ``[lo, hi)`` per axis (padded to 3 axes), bins with
    entries, and the mean and standard deviation of its statistic in the model."""

    hist: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    m: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    constant: np.ndarray
    offset: np.ndarray
    strides: np.ndarray


def _prefix(x: np.ndarray) -> np.ndarray:
    out = np.pad(x.astype(float), [(1, 0)] * x.ndim)
    for axis in range(x.ndim):
        np.cumsum(out, axis=axis, out=out)
    return out


def _window_sum(table: np.ndarray, lo: list, hi: list) -> np.ndarray:
    """Window sums from a summed-area table, by inclusion-exclusion over the 2^d corners."""
    nd = table.ndim
    out = np.zeros(lo[0].shape)
    for corner in range(2**nd):
        picks = [(corner >> j) & 1 for j in range(nd)]
        sign = (-1) ** (nd - sum(picks))
        index = tuple(hi[j] if picks[j] else lo[j] for j in range(nd))
        out += sign * table[index]
    return out


def _windows(cells: EventCells, model: _Model, min_entries: float) -> _Windows:
    per_bin = {
        "e": cells.entries,
        "m": model.used.astype(float),
        "t": model.t0,
        "q": np.asarray(model.coef.power(2) @ model.var),
    }
    if model.fixed_total:
        per_bin["r"] = np.asarray(model.coef @ model.multiplicity)
    parts: dict[str, list[np.ndarray]] = {
        k: [] for k in ("hist", "lo", "hi", "m", "mean", "var", "diag")
    }
    for h in cells.histograms:
        tables = {k: _prefix(h.bins(v)) for k, v in per_bin.items()}
        pairs = [np.triu_indices(n + 1, 1) for n in h.shape]
        grid = np.meshgrid(*(np.arange(p[0].size) for p in pairs), indexing="ij")
        lo = [pairs[j][0][grid[j].ravel()] for j in range(h.ndim)]
        hi = [pairs[j][1][grid[j].ravel()] for j in range(h.ndim)]
        sums = {k: _window_sum(t, lo, hi) for k, t in tables.items()}
        tested = sums["m"] > 0.5
        if min_entries > 0:
            tested &= sums["e"] >= min_entries
        m = sums["m"][tested]
        var = sums["q"][tested]
        if model.fixed_total:
            var = var - model.scale * sums["r"][tested] ** 2
        parts["hist"].append(np.full(m.size, h.index, dtype=np.int64))
        pad = [np.zeros(m.size, dtype=np.int64)] * (3 - h.ndim)
        parts["lo"].append(np.stack([x[tested] for x in lo] + pad, axis=1))
        parts["hi"].append(np.stack([x[tested] for x in hi] + [p + 1 for p in pad], 1))
        parts["m"].append(m)
        parts["mean"].append(sums["t"][tested] / np.sqrt(m))
        parts["var"].append(var / m)
        parts["diag"].append(sums["q"][tested] / m)
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    constant = cat["var"] <= _CONSTANT * np.maximum(cat["diag"], 1e-300)
    strides = np.ones((len(cells.histograms), 3), dtype=np.int64)
    for h in cells.histograms:
        shape = (*h.shape, *(1,) * (3 - h.ndim))
        strides[h.index] = [shape[1] * shape[2], shape[2], 1]
    return _Windows(
        hist=cat["hist"],
        lo=cat["lo"],
        hi=cat["hi"],
        m=cat["m"],
        mean=cat["mean"],
        sd=np.sqrt(np.where(constant, 1.0, cat["var"])),
        constant=constant,
        offset=np.array([h.offset for h in cells.histograms], dtype=np.int64),
        strides=strides,
    )


def _tails(windows: _Windows, u: float) -> tuple[np.ndarray, np.ndarray]:
    """P(Z_W >= u) and P(Z_W <= -u) per tested window (0 for constant windows)."""
    up = special.ndtr((windows.mean - u) / windows.sd)
    down = special.ndtr((-u - windows.mean) / windows.sd)
    up[windows.constant] = 0.0
    down[windows.constant] = 0.0
    return up, down


def _window_bins(
    windows: _Windows, chosen: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Global bin index and sample index of every bin of the chosen windows, and sizes."""
    lo, hi = windows.lo[chosen], windows.hi[chosen]
    width = hi - lo
    size = width.prod(axis=1)
    sample = np.repeat(np.arange(chosen.size), size)
    j = np.arange(size.sum()) - np.repeat(np.cumsum(size) - size, size)
    strides = windows.strides[windows.hist[chosen]]
    index = windows.offset[windows.hist[chosen]][sample]
    for axis in (2, 1, 0):
        w = width[sample, axis]
        index = index + (lo[sample, axis] + j % w) * strides[sample, axis]
        j = j // w
    return index, sample, size


def _draw(
    model: _Model,
    windows: _Windows,
    cumulative: np.ndarray,
    up: np.ndarray,
    down: np.ndarray,
    seeds: list[np.random.SeedSequence],
    sizes: list[int],
) -> np.ndarray:
    """Unit deviations ``a - mean``, ``(n_units, n)``, from the mixture Q for the blocks."""
    choice, side, level, xi = [], [], [], []
    for seed, k in zip(seeds, sizes, strict=True):
        rng = np.random.default_rng(seed)
        choice.append(rng.random(k))
        side.append(rng.random(k))
        level.append(1.0 - rng.random(k))  # in (0, 1]
        xi.append(rng.standard_normal((model.mean.size, k)))
    total = cumulative[-1]
    chosen = np.searchsorted(cumulative, np.concatenate(choice) * total, side="right")
    chosen = np.minimum(chosen, cumulative.size - 1)
    m, sd = windows.mean[chosen], windows.sd[chosen]
    p_up, p_down = up[chosen], down[chosen]
    upper = np.concatenate(side) * (p_up + p_down) < p_up
    v = np.concatenate(level)
    # two-sided truncated normal: the excess beyond u (or -u) by inversion in the tail
    z = np.where(
        upper,
        m - sd * special.ndtri(v * p_up),
        m + sd * special.ndtri(v * p_down),
    )
    x = np.concatenate(xi, axis=1) * np.sqrt(model.var)[:, None]
    if model.fixed_total:  # the permutation null keeps N_A: project onto sum(a) = N_A
        n = model.multiplicity
        x -= n[:, None] * (x.sum(axis=0) / n.sum())
    bins, sample, size = _window_bins(windows, chosen)
    scale = np.repeat(1.0 / np.sqrt(windows.m[chosen]), size)
    selector = sparse.csc_matrix(
        (scale, (bins, sample)), shape=(model.coef.shape[0], chosen.size)
    )
    beta = (model.coef.T @ selector).toarray()  # (units, samples): dZ_W / da
    current = m + np.einsum("us,us->s", beta, x)
    n = model.multiplicity
    along = n @ beta if model.fixed_total else None
    beta *= model.var[
        :, None
    ]  # Sigma beta, in place: (units x samples) arrays are large
    if along is not None:
        beta -= (model.scale * n)[:, None] * along[None, :]
    beta *= ((z - current) / sd**2)[None, :]
    x += beta
    return x


def _counts(
    cells: EventCells,
    model: _Model,
    deviation: np.ndarray,
    u: float,
    min_entries: float,
) -> np.ndarray:
    """Tested windows with |N_sigma| >= u in the model, per sample."""
    terms = model.terms(deviation)
    used = model.used.astype(float)
    count = np.zeros(terms.shape[0], dtype=np.int64)
    for h in cells.histograms:
        c, _ = count_windows_above(
            h.bins(terms),
            np.zeros(h.shape),
            u,
            var_b=h.bins(used),
            entries=h.bins(cells.entries),
            min_entries=min_entries,
            ndim=h.ndim,
            two_sided=True,
        )
        count += c
    return count


def _seed_sequence(seed: Any) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(seed.integers(0, 2**63, size=4).tolist())
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        return np.random.SeedSequence(int(seed))
    msg = f"seed must be a non-negative int, a numpy SeedSequence or Generator, got {seed!r}"
    raise ConfigError(msg)


def extrapolated_p(
    cells: EventCells,
    threshold: float,
    *,
    min_entries: float,
    normalize: Normalize = "none",
    n_samples: int = 1000,
    seed: int | np.random.SeedSequence | np.random.Generator,
    batch: int | None = None,
) -> TailEstimate:
    r"""Global p-value of ``max |N_sigma| >= threshold`` over a scan, by rare-event simulation.

    The tail probability of the scan's largest |N_sigma| over every tested window of every
    histogram, in the Gaussian model of the label-exchange null (module docstring), estimated
    with the mixture importance sampler of Adler, Blanchet & Liu (2012): ``p =
    sum_W P(|Z_W| >= u) E_Q[1 / #{W': |Z_W'| >= u}]``. Its relative error is bounded however
    small p is, so a few hundred samples resolve Z = 5 or more; each costs one scan of every
    window, like one toy.

    Parameters
    ----------
    cells
        The scan's event cells (:func:`asymscan.scan.build_cells`).
    threshold
        u, e.g. the observed maximum |N_sigma|; finite and >= 0.
    min_entries
        Windows with fewer events are not tested (as in
        :func:`~asymscan.calibrate.exchange.max_abs_nsigma`).
    normalize
        Only ``"none"`` is modelled; other values raise :class:`TailNotSupported`.
    n_samples
        Importance samples; the error is their standard error (with a single sample it is
        set to p itself).
    seed
        The randomness: a seed, :class:`numpy.random.SeedSequence` or Generator. Samples are
        drawn in blocks of :data:`BLOCK` from spawned seeds, so the result does not depend on
        ``batch``.
    batch
        Samples scanned at once (memory ~ ``batch x max(units, bins)`` floats); default from
        :data:`~asymscan.calibrate.exchange.BATCH_ELEMENTS`.

    Returns
    -------
    TailEstimate
        p-value, its Monte-Carlo error, Z, method, samples and the Bonferroni bound.

    Raises
    ------
    ConfigError
        ``threshold`` not finite or negative, ``n_samples`` < 1, ``batch`` < 1, a bad seed.
    DataError
        No window is tested (every window below ``min_entries`` events).
    TailNotSupported
        ``normalize`` other than ``"none"``, or systematic nuisances: calibrate with toys.

    References
    ----------
    R. J. Adler, J. H. Blanchet, J. Liu, "Efficient Monte Carlo for high excursions of
    Gaussian random fields", Ann. Appl. Probab. 22 (2012) 1167 (the mixture change of
    measure for the maximum of a finite Gaussian vector).

    Examples
    --------
    One 1-D histogram of 4000 events, at a threshold far beyond its toys:

    >>> import numpy as np
    >>> from asymscan.config import config_from_dict
    >>> from asymscan.scan import build_cells
    >>> rng = np.random.default_rng(1)
    >>> events = {"flav": rng.choice([11, 13], 4000), "m": rng.uniform(0, 1, 4000)}
    >>> config = config_from_dict({
    ...     "data": {"paths": ["events.parquet"]},
    ...     "symmetry": {"name": "s", "a": "flav == 11", "b": "flav == 13"},
    ...     "observables": [{"name": "m", "bins": 20, "range": [0.0, 1.0]}],
    ...     "scan": {"dims": [1], "min_entries": 25}})
    >>> cells = build_cells([events], config)
    >>> tail = extrapolated_p(cells, 5.0, min_entries=25, n_samples=200, seed=1)
    >>> bool(tail.p_value < tail.bonferroni), bool(1e-6 < tail.p_value < 1e-4)
    (True, True)
    """
    tail = GaussianTail(cells, min_entries=min_entries, normalize=normalize)
    return tail.p_value(threshold, n_samples=n_samples, seed=seed, batch=batch)


class GaussianTail:
    """The Gaussian model of a scan's null and its tested windows, built once for several
    thresholds (:func:`extrapolated_p` for one).

    Raises
    ------
    DataError
        No window is tested (every window below ``min_entries`` events).
    TailNotSupported
        ``normalize`` other than ``"none"``, or systematic nuisances: calibrate with toys.
    """

    def __init__(
        self, cells: EventCells, *, min_entries: float, normalize: Normalize = "none"
    ) -> None:
        self.cells = cells
        self.min_entries = min_entries
        self.model = _model(cells, normalize)
        self.windows = _windows(cells, self.model, min_entries)
        if self.windows.m.size == 0:
            msg = (
                f"no window is tested: every window of the {len(cells.histograms)} "
                f"histogram(s) has fewer than min_entries = {min_entries:g} events or "
                "none; lower min_entries"
            )
            raise DataError(msg)

    def p_value(
        self,
        threshold: float,
        *,
        n_samples: int = 1000,
        seed: int | np.random.SeedSequence | np.random.Generator,
        batch: int | None = None,
    ) -> TailEstimate:
        """The estimate at ``threshold`` (the arguments of :func:`extrapolated_p`)."""
        cells, model, windows = self.cells, self.model, self.windows
        min_entries = self.min_entries
        u = float(threshold)
        if not np.isfinite(u) or u < 0:
            msg = f"threshold must be a finite number >= 0 (a maximum |N_sigma|), got {threshold!r}"
            raise ConfigError(msg)
        if int(n_samples) != n_samples or n_samples < 1:
            msg = f"n_samples must be a positive integer, got {n_samples!r}"
            raise ConfigError(msg)
        if batch is not None and (int(batch) != batch or batch < 1):
            msg = f"batch must be a positive integer or None, got {batch!r}"
            raise ConfigError(msg)
        root = _seed_sequence(seed)
        n_samples = int(n_samples)
        n_windows = int(windows.m.size)

        def result(
            p: float, err: float, bonferroni: float, method: str, drawn: int = 0
        ) -> TailEstimate:
            return TailEstimate(
                p_value=p,
                p_value_error=err,
                z=float(z_from_p(p)),
                method=method,
                n_samples=drawn,
                bonferroni=min(bonferroni, 1.0),
                threshold=u,
                n_windows=n_windows,
            )

        if (windows.constant & (np.abs(windows.mean) >= u)).any():
            return result(
                1.0, 0.0, 1.0, "a window's N_sigma is constant and >= threshold"
            )
        up, down = _tails(windows, u)
        cumulative = np.cumsum(up + down)
        bonferroni = float(cumulative[-1])
        if bonferroni == 0.0:  # below the smallest double: nothing to sample
            return result(0.0, 0.0, 0.0, "every window's tail underflows")

        sizes = [BLOCK] * (n_samples // BLOCK) + (
            [n_samples % BLOCK] if n_samples % BLOCK else []
        )
        seeds = root.spawn(len(sizes))
        if batch is None:
            batch = BATCH_ELEMENTS // max(cells.n_units, cells.n_bins, 1)
        per_batch = max(1, int(batch) // BLOCK)
        weights = []
        for start in range(0, len(sizes), per_batch):
            part = slice(start, start + per_batch)
            deviation = _draw(
                model, windows, cumulative, up, down, seeds[part], sizes[part]
            )
            count = _counts(cells, model, deviation, u, min_entries)
            if (count == 0).any():  # the chosen window fell below u by rounding
                log.debug(
                    "%d samples counted no window; counted as one", (count == 0).sum()
                )
            weights.append(bonferroni / np.maximum(count, 1))
        w = np.concatenate(weights)
        p = float(w.mean())
        err = float(w.std(ddof=1) / np.sqrt(w.size)) if w.size > 1 else p
        log.info(
            "extrapolated p(max |N_sigma| >= %g) = %.3g +- %.2g over %d windows (Bonferroni %.3g)",
            u,
            p,
            err,
            n_windows,
            bonferroni,
        )
        return result(min(p, 1.0), err, bonferroni, model.method, n_samples)
