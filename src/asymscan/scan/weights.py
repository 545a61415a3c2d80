"""Per-event weights of a scan: detector corrections for each label, and their systematics.

A symmetry is never exact in a detector: electrons and muons, say, are found with different
efficiencies. The configuration corrects with two weights per event (``[symmetry] weight_a``
and ``weight_b``): the weight the event carries if it is in A, and the weight the *same* event
would carry if its labels were swapped, both times ``data.weight`` when that is set. When the
efficiency maps are right, an event of the symmetric underlying sample is seen in A with
probability proportional to its efficiency there, 1/w_a, so

    P(A | the event was seen) = (1/w_a) / (1/w_a + 1/w_b) = w_b / (w_a + w_b),

which is the exact null that the label-exchange toys draw (:mod:`asymscan.calibrate.exchange`),
and E[sum_B w_b - sum_A w_a] = 0 in every bin.

A systematic (``[[systematics]]``) evaluates the weights again with one correction's string
input ``nominal`` replaced by ``up``, then ``down``; its shift per event is half the difference,
a Gaussian nuisance theta ~ N(0, 1) moving every weight by ``theta * shift`` (linear
interpolation). Events with the same bins everywhere and the same weights and shifts are
exchangeable, so they are compressed into one unit, as unweighted events are.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DataError

if TYPE_CHECKING:
    from ..config import Config
    from ..data.corrections import Corrections

__all__ = ("UnitWeights", "check_weights", "event_weights", "is_weighted")

log = logging.getLogger(__name__)

#: Smallest weight a nuisance pull can leave (a pulled efficiency stays below infinity).
_FLOOR = 1e-12

#: Largest weight magnitude accepted: the sums of squared weights (the variances) must stay
#: finite, or the bin's term (B - A)/sigma becomes 0 or NaN.
MAX_WEIGHT = 1e150


@dataclass(frozen=True)
class UnitWeights:
    """The weights of the units of a weighted scan.

    Attributes
    ----------
    a, b
        ``(n_units,)``: the weight of each of the unit's events if it is in A, and if it is in B.
    shift_a, shift_b
        ``(K, n_units)``: the change of those weights for a +1 sigma pull of each systematic.
    systematics
        The K systematics' names.
    label_dependent
        True when the weights depend on the label (``weight_a``/``weight_b`` given): the toys
        then relabel each event with probability w_b / (w_a + w_b); otherwise they keep N_A
        and each event's weight (the hypergeometric permutation null).
    """

    a: np.ndarray
    b: np.ndarray
    shift_a: np.ndarray
    shift_b: np.ndarray
    systematics: tuple[str, ...]
    label_dependent: bool

    @classmethod
    def from_columns(
        cls, columns: np.ndarray, systematics: tuple[str, ...], label_dependent: bool
    ) -> UnitWeights:
        """From the ``(n_units, 2 + 2K)`` columns of :func:`event_weights`."""
        k = len(systematics)
        return cls(
            a=columns[:, 0],
            b=columns[:, 1],
            shift_a=columns[:, 2 : 2 + k].T,
            shift_b=columns[:, 2 + k : 2 + 2 * k].T,
            systematics=systematics,
            label_dependent=label_dependent,
        )

    @property
    def n_systematics(self) -> int:
        return len(self.systematics)

    def probability_a(self, theta: np.ndarray | None = None) -> np.ndarray:
        """P(A) = w_b / (w_a + w_b) per unit, ``(n_units,)``; with nuisance pulls ``theta``
        of shape ``(K, n_toys)``, the weights are moved by ``theta @ shift`` first and the
        result is ``(n_units, n_toys)``."""
        if theta is None or self.n_systematics == 0:
            p = self.b / (self.a + self.b)
            return p if theta is None else np.repeat(p[:, None], theta.shape[1], 1)
        wa = (
            self.shift_a.T @ theta
        )  # in place from here: (units x toys) arrays are large
        wa += self.a[:, None]
        np.maximum(wa, _FLOOR, out=wa)
        wb = self.shift_b.T @ theta
        wb += self.b[:, None]
        np.maximum(wb, _FLOOR, out=wb)
        wa += wb
        return np.divide(wb, wa, out=wb)


def is_weighted(config: Config) -> bool:
    """Whether the scan's events carry weights (``data.weight`` or ``weight_a``/``weight_b``)."""
    return config.data.weight is not None or config.symmetry.weight_a is not None


def _values(
    expr: Any,
    columns: Mapping[str, np.ndarray],
    n: int,
    corrections: Corrections | None,
    where: str,
) -> np.ndarray:
    value = np.asarray(expr.evaluate(columns, corrections=corrections), dtype=float)
    value = value if value.shape == (n,) else np.broadcast_to(value, (n,))
    bad = ~np.isfinite(value)
    if bad.any():
        msg = (
            f"{where} = {expr.text!r} is NaN or infinite for {int(bad.sum())} event(s)"
        )
        raise DataError(msg)
    return value


def _label_weights(
    columns: Mapping[str, np.ndarray],
    config: Config,
    n: int,
    corrections: Corrections | None,
) -> tuple[np.ndarray, np.ndarray]:
    """(w_a, w_b) per event: data.weight times weight_a / weight_b."""
    sym = config.symmetry
    base = (
        np.ones(n)
        if config.data.weight is None
        else _values(config.data.weight, columns, n, corrections, "data.weight")
    )
    if sym.weight_a is None:
        return base, base
    wa = base * _values(sym.weight_a, columns, n, corrections, "symmetry.weight_a")
    wb = base * _values(sym.weight_b, columns, n, corrections, "symmetry.weight_b")
    return wa, wb


def event_weights(
    columns: Mapping[str, np.ndarray], config: Config, n: int
) -> np.ndarray | None:
    """Per event ``[w_a, w_b, shift_a (K), shift_b (K)]``, shape ``(n, 2 + 2K)``; None when
    the scan is unweighted (no ``data.weight``, no ``weight_a``/``weight_b``).

    ``shift = (w(up) - w(down)) / 2`` for each ``[[systematics]]`` entry, in config order.

    Raises
    ------
    DataError
        Non-finite weights, or weights above :data:`MAX_WEIGHT` in magnitude; with
        label-dependent weights, weights that are not positive (an event must be observable
        under both labels for P(A) = w_b / (w_a + w_b) to exist). Totals of zero are
        refused on the whole scan, by :func:`check_weights`.
    """
    if not is_weighted(config):
        return None
    sym = config.symmetry
    corrections = config.load_corrections()
    wa, wb = _label_weights(columns, config, n, corrections)
    for name, w in (("a", wa), ("b", wb)):
        huge = np.abs(w) > MAX_WEIGHT
        if huge.any():
            msg = (
                f"the weight in {name.upper()} ({_weight_text(config, name)}) is larger than "
                f"{MAX_WEIGHT:g} in magnitude for {int(huge.sum())} event(s) (largest "
                f"{float(np.abs(w).max()):g}): its square would overflow the variance of "
                "its bin; rescale the weights"
            )
            raise DataError(msg)
    if sym.weight_a is not None:
        for name, w in (("a", wa), ("b", wb)):
            bad = int((w <= 0).sum())
            if bad:
                msg = (
                    f"the weight of {bad} event(s) in {name.upper()} (data.weight x "
                    f"symmetry.weight_{name}) is zero or negative; label-dependent weights "
                    "must be positive (1 / efficiency)"
                )
                raise DataError(msg)
    shifts_a, shifts_b = [], []
    for syst in config.systematics:
        pulled = [
            _label_weights(
                columns,
                config,
                n,
                corrections.varied(syst.correction, syst.nominal, value),
            )
            for value in (syst.up, syst.down)
        ]
        shifts_a.append((pulled[0][0] - pulled[1][0]) / 2)
        shifts_b.append((pulled[0][1] - pulled[1][1]) / 2)
    return np.column_stack([wa, wb, *shifts_a, *shifts_b])


def _weight_text(config: Config, label: str) -> str:
    """The expression(s) giving the weight of sample ``label`` ("a" or "b"), for messages."""
    parts = []
    if config.data.weight is not None:
        parts.append(f"data.weight = {config.data.weight.text!r}")
    extra = getattr(config.symmetry, f"weight_{label}")
    if extra is not None:
        parts.append(f"symmetry.weight_{label} = {extra.text!r}")
    return " x ".join(parts)


def check_weights(
    weights: UnitWeights | None,
    multiplicity: np.ndarray,
    n_a: np.ndarray,
    config: Config,
) -> None:
    """Refuse weights that leave sample A or B without weight; log negative weights.

    Called on the whole scan (every chunk merged): a chunk may legitimately hold only events
    of weight zero, the scan may not.

    Parameters
    ----------
    weights
        The units' weights (:attr:`asymscan.scan.cells.EventCells.weights`); None: unweighted,
        nothing to check.
    multiplicity, n_a
        Events per unit, and those of them in sample A.
    config
        The configuration, whose weight expressions the messages name.

    Raises
    ------
    DataError
        The events of A (or of B) have a total weight of zero (e.g. ``data.weight = "0 * m"``):
        every bin would have variance 0 and the scan would test nothing.
    """
    if weights is None:
        return
    m = np.asarray(multiplicity, dtype=np.int64)
    in_a = np.asarray(n_a, dtype=np.int64)
    samples = {"A": (weights.a, in_a), "B": (weights.b, m - in_a)}
    for name, (w, events) in samples.items():
        n = int(events.sum())
        total = float(events @ w)
        if n and total == 0.0:
            zero = int(events[w == 0].sum())
            other = "B" if name == "A" else "A"
            w_o, e_o = samples[other]
            msg = (
                f"the total weight of {name} is zero: {_weight_text(config, name.lower())} "
                f"gives weight 0 to {zero} of its {n} event(s) (total weight of {other}: "
                f"{float(e_o @ w_o):g} over {int(e_o.sum())} event(s)); every bin would have "
                "variance 0 and nothing would be tested"
            )
            raise DataError(msg)
    # label-dependent weights are positive (event_weights refuses the others)
    if not weights.label_dependent:
        negative = weights.a < 0
        if negative.any():
            log.warning(
                "%d event(s) have a negative weight (%s): %d in A, %d in B; they are kept, "
                "each subtracting from its bin",
                int(m[negative].sum()),
                _weight_text(config, "a"),
                int(in_a[negative].sum()),
                int((m - in_a)[negative].sum()),
            )
