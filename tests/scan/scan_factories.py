"""Small synthetic e-mu-like datasets and configurations for the scan tests."""

from __future__ import annotations

import numpy as np

from asymscan.config import config_from_dict


def make_events(
    n: int, rng: np.random.Generator, *, signal: int = 0
) -> dict[str, np.ndarray]:
    """Symmetric background (label a fair coin), plus ``signal`` events in B near m = 125."""
    ev = {
        "flav": np.where(rng.random(n) < 0.5, 11, 13),
        "m": rng.exponential(50, n) + 20,
        "pt": rng.exponential(30, n) + 10,
        "nj": rng.poisson(1.0, n),
    }
    if signal:
        extra = {
            "flav": np.full(signal, 13),
            "m": rng.normal(125, 4, signal),
            "pt": rng.uniform(30, 60, signal),
            "nj": rng.poisson(1.0, signal),
        }
        ev = {k: np.concatenate([ev[k], extra[k]]) for k in ev}
    return ev


def make_config(**scan):
    settings = {
        "dims": [1, 2],
        "min_entries": 25,
        "toys": 50,
        "seed": 1,
        "top": 5,
    } | scan
    return config_from_dict(
        {
            "data": {"paths": ["events.parquet"]},
            "symmetry": {"name": "e-mu vs mu-e", "a": "flav == 11", "b": "flav == 13"},
            "selections": [
                {
                    "name": "jets",
                    "categories": {"0j": "nj == 0", "1j": "nj == 1", "2j+": "nj >= 2"},
                }
            ],
            "observables": [
                {"name": "m", "bins": 28, "range": [30.0, 170.0]},
                {"name": "pt", "bins": 13, "range": [10.0, 140.0]},
            ],
            "scan": settings,
        }
    )
