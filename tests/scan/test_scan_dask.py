"""Toy shards on a Dask cluster (a LocalCluster on loopback) give the same results as locally."""

from __future__ import annotations

import numpy as np
import pytest
from scan_factories import make_config, make_events

from asymscan.execution import executor
from asymscan.scan import build_cells, scan_cells

distributed = pytest.importorskip("distributed")


def test_dask_cluster_gives_identical_results(rng):
    cfg = make_config(toys=120)
    cells = build_cells([make_events(4000, rng)], cfg)
    local = scan_cells(cells, cfg)
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
            processes=True,
        ) as cluster,
        executor(scheduler=cluster.scheduler_address) as pool,
    ):
        remote = scan_cells(cells, cfg, executor=pool)
    np.testing.assert_array_equal(local.toys, remote.toys)
    assert local.to_dict()["global"] == remote.to_dict()["global"]
    assert local.regions == remote.regions


def test_workers_and_scheduler_are_exclusive():
    from asymscan import ConfigError

    with (
        pytest.raises(ConfigError, match="not both"),
        executor(workers=2, scheduler="tcp://127.0.0.1:1"),
    ):
        pass
