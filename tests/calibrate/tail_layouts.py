"""Small scan layouts on which the extrapolated tail is checked against brute-force toys.

Shared by ``tests/calibrate/test_tail.py`` and ``scripts/brute_force_tail.py`` (which stores
the brute-force figures in ``tests/calibrate/brute_force_tail.json``): a layout is rebuilt
identically from its name, so the stored toys and the test describe the same events.
"""

from __future__ import annotations

import numpy as np

from asymscan.config import config_from_dict
from asymscan.scan import build_cells
from asymscan.scan.cells import EventCells

__all__ = ("LAYOUTS", "brute_force_maxima", "layout_cells")

_JETS = {
    "name": "jets",
    "categories": {"0j": "nj == 0", "1j": "nj == 1", "2j+": "nj >= 2"},
}
_M = {"name": "m", "bins": 40, "range": [20.0, 220.0]}

#: name -> events, seed, fraction of A, observables, dims, selections, and weights: ``weight``
#: (data.weight, label-independent) or ``weights`` (weight_a, weight_b: label-dependent)
LAYOUTS: dict[str, dict] = {
    "1d": {"n": 20000, "seed": 11, "obs": [_M], "dims": [1]},
    "2d": {
        "n": 20000,
        "seed": 12,
        "obs": [
            {"name": "m", "bins": 12, "range": [20.0, 200.0]},
            {"name": "pt", "bins": 10, "range": [10.0, 110.0]},
        ],
        "dims": [2],
    },
    "selections": {
        "n": 20000,
        "seed": 13,
        "obs": [{"name": "m", "bins": 30, "range": [20.0, 200.0]}],
        "dims": [1],
        "selections": [_JETS],
    },
    "unbalanced": {
        "n": 8000,
        "seed": 14,
        "fraction": 0.4,
        "obs": [{"name": "m", "bins": 30, "range": [20.0, 200.0]}],
        "dims": [1],
        "selections": [_JETS],
    },
    "low": {
        "n": 1500,
        "seed": 15,
        "obs": [{"name": "m", "bins": 30, "range": [20.0, 200.0]}],
        "dims": [1],
    },
    "reweighted": {
        "n": 6000,
        "seed": 17,
        "obs": [{"name": "m", "bins": 30, "range": [20.0, 200.0]}],
        "dims": [1],
        "weight": "where(pt < 30, 0.7, where(pt < 60, 1.0, 1.6))",
    },
    "weighted": {
        "n": 6000,
        "seed": 16,
        "obs": [{"name": "m", "bins": 30, "range": [20.0, 200.0]}],
        "dims": [1],
        "weights": (
            "where(pt < 25, 1.1, where(pt < 45, 1.3, 1.6))",
            "where(pt < 25, 2.5, where(pt < 45, 1.8, 1.2))",
        ),
    },
}


def _events(spec: dict) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(spec["seed"])
    n = spec["n"]
    return {
        "flav": np.where(rng.random(n) < spec.get("fraction", 0.5), 11, 13),
        "m": rng.exponential(50, n) + 20,
        "pt": rng.exponential(30, n) + 10,
        "nj": rng.poisson(1.0, n),
    }


def layout_cells(name: str, *, min_entries: float = 25) -> EventCells:
    """The cells of layout ``name`` (deterministic)."""
    spec = LAYOUTS[name]
    data = {
        "data": {"paths": ["events.parquet"]},
        "symmetry": {"name": "s", "a": "flav == 11", "b": "flav == 13"},
        "selections": spec.get("selections", []),
        "observables": spec["obs"],
        "scan": {"dims": spec["dims"], "min_entries": min_entries},
    }
    if "weight" in spec:  # the same for A and B: the permutation null, weighted sums
        data["data"]["weight"] = spec["weight"]
    if "weights" in spec:
        data["symmetry"]["weight_a"], data["symmetry"]["weight_b"] = spec["weights"]
    return build_cells([_events(spec)], config_from_dict(data))


def brute_force_maxima(
    cells: EventCells,
    n_toys: int,
    seed: int,
    *,
    min_entries: float = 25,
    batch: int | None = None,
) -> np.ndarray:
    """Largest |N_sigma| of ``n_toys`` label-exchange toys (the package's statistic).

    Unweighted scans draw the multivariate hypergeometric with numpy's "marginals" method (the
    law of :func:`~asymscan.calibrate.exchange.exchange_counts`, whose "count" method costs
    O(events) per toy); weighted ones use :func:`~asymscan.calibrate.exchange.relabel_counts`.
    """
    from asymscan.calibrate.exchange import max_abs_nsigma, relabel_counts

    rng = np.random.default_rng(seed)
    batch = batch or max(1, min(20000, 10_000_000 // cells.n_units))
    out = []
    dependent = cells.weights is not None and cells.weights.label_dependent
    for start in range(0, n_toys, batch):
        k = min(batch, n_toys - start)
        if dependent:
            counts = relabel_counts(cells, k, rng)
        else:
            counts = rng.multivariate_hypergeometric(
                cells.multiplicity, int(cells.n_a.sum()), size=k, method="marginals"
            ).T
        out.append(max_abs_nsigma(cells, counts, min_entries=min_entries)[0])
    return np.concatenate(out)
