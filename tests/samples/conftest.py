"""Synthetic e-mu pool files, in the exact format the generator writes (``run._write_pool``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from asymscan.generate import COLUMNS, PROCESSES, DetectorConfig, ShardResult
from asymscan.generate.run import _write_pool

_INT_COLUMNS = {
    "event": np.int64,
    "lead_flavour": np.int8,
    "lep1_charge": np.int8,
    "lep2_charge": np.int8,
    "n_jets": np.int16,
    "n_bjets": np.int16,
}


def write_pool(
    out: Path,
    name: str,
    n_selected: int,
    sigma_selected_fb: float,
    *,
    n_shards: int = 2,
    rng: np.random.Generator | int = 0,
    fixed: dict[str, float] | None = None,
) -> Path:
    """Write ``<out>/<name>.parquet``: ``n_selected`` events, ``sigma_selected_fb`` per unit BR.

    Columns are random (``lead_flavour`` 11 or 13 with equal odds) unless given in ``fixed``.
    The events are split over ``n_shards`` shards, each numbering its events from 0.
    """
    gen = np.random.default_rng(rng)
    n_gen_shard = 10 * max(n_selected, 1)
    # sigma_selected_fb = sigma_pb * 1e3 * n_selected / n_generated (tau, Higgs factors 1)
    sigma_pb = sigma_selected_fb / 1e3 * n_shards * n_gen_shard / max(n_selected, 1)
    sizes = [
        n_selected // n_shards + (i < n_selected % n_shards) for i in range(n_shards)
    ]
    shards = []
    for i, n in enumerate(sizes):
        cols: dict[str, np.ndarray] = {}
        for key in COLUMNS:
            if key == "event":
                cols[key] = np.arange(n, dtype=np.int64) * 3  # unique within the shard
            elif key == "lead_flavour":
                cols[key] = gen.choice(np.array([11, 13], dtype=np.int8), n)
            elif key in ("lep1_charge", "lep2_charge"):
                cols[key] = gen.choice(np.array([-1, 1], dtype=np.int8), n)
            elif key in _INT_COLUMNS:
                cols[key] = gen.integers(0, 4, n).astype(_INT_COLUMNS[key])
            else:
                cols[key] = gen.uniform(0.0, 200.0, n)
            if fixed and key in fixed:
                cols[key] = np.full(n, fixed[key], dtype=cols[key].dtype)
        shards.append(
            ShardResult(
                process=name,
                shard=i,
                n_generated=n_gen_shard,
                columns=cols,
                sigma_pb=sigma_pb,
                sigma_err_pb=0.0,
                n_tried=n_gen_shard,
                n_accepted=n_gen_shard,
                tau_factor=1.0,
                tau_table_events=[n_gen_shard],
                higgs_open_fraction=1.0,
                pythia_seed=i,
                pythia_version="8.317",
                seconds=0.0,
                cpu_seconds=0.0,
            )
        )
    out.mkdir(parents=True, exist_ok=True)
    return _write_pool(out, PROCESSES[name], shards, 1, DetectorConfig()).path


PoolWriter = Callable[..., Path]


@pytest.fixture(scope="session")
def pool_writer() -> PoolWriter:
    return write_pool


#: name -> (events, sigma_selected_fb): every pool holds 100 fb^-1 (signal: at BR = 1).
STANDARD_POOLS = {
    "ttbar": (4000, 40.0),
    "ww": (2000, 20.0),
    "dy_tautau": (3000, 30.0),
    "ggh_ww": (500, 5.0),
    "vbfh_ww": (200, 2.0),
    "ggh_tautau": (300, 3.0),
    "vbfh_tautau": (100, 1.0),
    "ggh_taumu": (1000, 10.0),
    "vbfh_taumu": (400, 4.0),
    "ggh_taue": (1000, 10.0),
    "vbfh_taue": (400, 4.0),
}


@pytest.fixture(scope="session")
def standard_pools(tmp_path_factory) -> Path:
    """Every pool, each holding 100 fb^-1 worth of events (signal pools: at BR = 1)."""
    out = tmp_path_factory.mktemp("pools")
    for i, (name, (n, sigma)) in enumerate(STANDARD_POOLS.items()):
        write_pool(out, name, n, sigma, rng=i)
    return out
