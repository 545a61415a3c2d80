"""Ctrl-C part-way through a PYTHIA production keeps the finished shards; --resume finishes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import psutil
import pytest

from asymscan.generate import generate_emu, read_pool

pytest.importorskip("pythia8mc")
pytest.importorskip("fastjet")

POOL = "vbfh_tautau"
ARGS = ["--processes", POOL, "--events", "240", "--shard-size", "20", "--seed", "4"]


def _generate(tmp_path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "asymscan", "generate", "emu", *ARGS, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
    )


@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_keeps_finished_shards_and_resume_completes(tmp_path, workers):
    shards = tmp_path / "shards"
    extra = ["--workers", workers, "--shard-dir", str(shards), "--out", "out"]
    proc = _generate(tmp_path, *extra)
    children = psutil.Process(proc.pid)
    start = time.monotonic()
    while len(list((shards / POOL).glob("item_*.parquet"))) < 2:
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() - start < 120, "no shard finished"
        time.sleep(0.05)
    workers_of_run = children.children(recursive=True)
    proc.send_signal(signal.SIGINT)
    stopped = time.monotonic()
    output, _ = proc.communicate(timeout=30)
    assert time.monotonic() - stopped < 5, output
    assert proc.returncode == 130, output
    assert "--resume" in output
    kept = sorted((shards / POOL).glob("item_*.parquet"))
    assert 2 <= len(kept) < 12
    assert not (tmp_path / "out" / f"{POOL}.parquet").exists()
    time.sleep(1.5)  # the workers notice within a second that their parent is gone
    assert not [p for p in workers_of_run if p.is_running() and p.status() != "zombie"]

    resumed = _generate(tmp_path, *extra, "--resume")
    output, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, output
    plain = generate_emu(
        tmp_path / "plain", POOL, n_events=240, shard_size=20, seed=4, workers=2
    )
    got, meta = read_pool(tmp_path / "out" / f"{POOL}.parquet")
    want, want_meta = read_pool(plain[POOL].path)
    assert len(meta["shards"]) == 12
    for key in want:
        np.testing.assert_array_equal(got[key], want[key])
    assert meta["sigma_pythia_pb"] == want_meta["sigma_pythia_pb"]
    assert os.listdir(tmp_path / "out") == [f"{POOL}.parquet"]
