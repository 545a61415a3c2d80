"""The one runner and the one checkpointer: order, resume, interruption, orphaned workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import psutil
import pytest

from asymscan.checkpoint import Checkpointer, CheckpointMismatch
from asymscan.errors import DataError
from asymscan.execution import InlineExecutor, Interrupted, executor, run_items


def _square(x: int) -> np.ndarray:
    return np.array([x * x])


class _StopAt:
    """A function that raises KeyboardInterrupt (as Ctrl-C would) at one item."""

    def __init__(self, stop: int) -> None:
        self.stop = stop
        self.calls: list[int] = []

    def __call__(self, x: int) -> np.ndarray:
        self.calls.append(x)
        if x == self.stop:
            raise KeyboardInterrupt
        return _square(x)


def test_results_in_item_order_on_every_executor():
    want = [[x * x] for x in range(7)]
    for workers in (None, 2):
        with executor(workers) as pool:
            got = run_items(_square, list(range(7)), executor=pool)
        assert [list(g) for g in got] == want


def test_progress_moves_as_items_finish():
    seen = []
    run_items(_square, list(range(4)), progress=lambda d, n: seen.append((d, n)))
    assert seen == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]


def test_checkpoint_saves_each_item_and_resume_skips_them(tmp_path):
    stamp = {"data": "abc", "items": 5}
    with pytest.raises(
        Interrupted, match=r"interrupted: 3 of 5 items finished, saved in"
    ):
        run_items(_StopAt(3), list(range(5)), checkpoint=Checkpointer(tmp_path, stamp))
    assert Checkpointer(tmp_path, stamp, resume=True).saved() == [0, 1, 2]
    again = _StopAt(-1)
    got = run_items(
        again, list(range(5)), checkpoint=Checkpointer(tmp_path, stamp, resume=True)
    )
    assert again.calls == [3, 4]  # the finished items were loaded, not run again
    assert [int(g[0]) for g in got] == [0, 1, 4, 9, 16]


def test_a_mismatched_stamp_names_what_differs(tmp_path):
    Checkpointer(tmp_path, {"data": "a", "seed": 1}).save(0, [1.0])
    with pytest.raises(CheckpointMismatch, match=r"different: data\)"):
        Checkpointer(tmp_path, {"data": "b", "seed": 1}, resume=True)


def test_finished_items_are_never_deleted_without_being_asked(tmp_path):
    Checkpointer(tmp_path, {"data": "a"}).save(0, [1.0])
    (tmp_path / "mine.txt").write_text("not the checkpointer's")
    with pytest.raises(
        DataError, match=r"holds 1 finished item.*--resume.*--overwrite"
    ):
        Checkpointer(tmp_path, {"data": "b"})
    fresh = Checkpointer(tmp_path, {"data": "b"}, overwrite=True)
    assert fresh.saved() == []
    assert (tmp_path / "mine.txt").exists()


def test_inline_executor_lets_ctrl_c_through():
    future = InlineExecutor().submit(_square, 3)
    assert future.result()[0] == 9
    with pytest.raises(KeyboardInterrupt):
        InlineExecutor().submit(_StopAt(1), 1)


_SLOW_RUN = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from asymscan.checkpoint import Checkpointer
    from asymscan.execution import Interrupted, executor, run_items

    def slow(x):
        time.sleep(0.4)
        return np.array([x])

    if __name__ == "__main__":
        workers = int(sys.argv[2]) or None
        try:
            with executor(workers) as pool:
                print("children", *[p for p in getattr(pool, "_processes", {}) or []], flush=True)
                run_items(slow, list(range(200)), executor=pool,
                          checkpoint=Checkpointer(sys.argv[1], {"run": 1}))
        except Interrupted as err:
            print(err, flush=True)
            sys.exit(130)
    """
)


def _start(tmp_path, workers: int) -> subprocess.Popen:
    script = tmp_path / "slow_run.py"
    script.write_text(_SLOW_RUN)
    return subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "ckpt"), str(workers)],
        stdout=subprocess.PIPE,
        text=True,
    )


def _wait_for_items(folder, n: int, timeout: float = 60) -> None:
    start = time.monotonic()
    while len(list(folder.glob("item_*.npy"))) < n:
        assert time.monotonic() - start < timeout, "no items finished"
        time.sleep(0.1)


@pytest.mark.parametrize("workers", [0, 2])
def test_ctrl_c_stops_within_seconds_and_keeps_finished_items(tmp_path, workers):
    proc = _start(tmp_path, workers)
    _wait_for_items(tmp_path / "ckpt", 3)
    children = psutil.Process(proc.pid).children(recursive=True)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert time.monotonic() - sent < 5
    assert proc.returncode == 130
    assert "interrupted:" in out
    assert "--resume" in out
    saved = len(list((tmp_path / "ckpt").glob("item_*.npy")))
    assert 3 <= saved < 200
    time.sleep(1.5)
    assert not [c for c in children if c.is_running() and c.status() != "zombie"]


def test_workers_exit_when_their_parent_is_killed(tmp_path):
    proc = _start(tmp_path, 2)
    _wait_for_items(tmp_path / "ckpt", 2)
    children = psutil.Process(proc.pid).children(recursive=True)
    assert children
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stdout.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(
        c.is_running() and c.status() != "zombie" for c in children
    ):
        time.sleep(0.2)
    assert not [c for c in children if c.is_running() and c.status() != "zombie"]
