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

from asymscan.checkpoint import DOCUMENTS, Checkpointer, CheckpointMismatch, Checkpoints
from asymscan.errors import DataError
from asymscan.execution import (
    InlineExecutor,
    Interrupted,
    executor,
    iter_items,
    report,
    run_items,
)


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


def _reporting(x: int) -> int:
    for step in range(3):
        report((x, step))
    time.sleep(0.3)  # a worker's messages leave before its result
    return x


@pytest.mark.parametrize("workers", [None, 2])
def test_reports_from_inside_items_reach_the_caller(workers):
    messages, results = [], []
    with executor(workers) as pool:
        got = run_items(
            _reporting,
            list(range(5)),
            executor=pool,
            on_report=messages.append,
            on_result=lambda i, r: results.append((i, r)),
        )
    assert got == list(range(5))
    assert sorted(results) == [(i, i) for i in range(5)]
    every = [(x, s) for x in range(5) for s in range(3)]
    if workers is None:  # in-process: at once, in order
        assert messages == every
    else:  # from the workers, through the pool's queue
        assert sorted(messages) == every


def test_on_result_sees_loaded_items_first(tmp_path):
    stamp = {"run": 1}
    run_items(_square, [0, 1], checkpoint=Checkpointer(tmp_path, stamp))
    seen = []
    run_items(
        _square,
        [0, 1, 2],
        checkpoint=Checkpointer(tmp_path, {"run": 1}, resume=True),
        on_result=lambda i, r: seen.append((i, int(r[0]))),
    )
    assert seen == [(0, 0), (1, 1), (2, 4)]


class _Tracked:
    """Counts the items started, to see how far a lazy run goes ahead of its reader."""

    def __init__(self) -> None:
        self.started = 0

    def __call__(self, x: int) -> int:
        self.started += 1
        return x * x


def test_iter_items_is_lazy_and_ordered():
    func = _Tracked()
    results = iter_items(func, list(range(6)))
    assert func.started == 0
    assert next(results) == 0
    assert func.started == 1  # in-process: one item at a time, as the reader asks
    assert list(results) == [1, 4, 9, 16, 25]
    with executor(2) as pool:
        assert list(iter_items(_square, list(range(9)), executor=pool)) == [
            np.array([x * x]) for x in range(9)
        ]


def test_iter_items_ctrl_c_names_what_finished():
    with pytest.raises(Interrupted, match=r"interrupted: 2 of 5 chunks finished"):
        list(iter_items(_StopAt(2), list(range(5)), what="chunks"))


def test_documents_and_several_folders(tmp_path):
    a = Checkpointer(tmp_path / "a", {"pool": "a"}, codec=DOCUMENTS)
    b = Checkpointer(tmp_path / "b", {"pool": "b"}, codec=DOCUMENTS)
    both = Checkpoints([(a, 0), (a, 1), (b, 0)])
    assert both.directory == tmp_path
    got = run_items(lambda x: {"x": x, "nan": float("nan")}, [1, 2, 3], checkpoint=both)
    assert (tmp_path / "b" / "item_000000.json").exists()
    assert b.load(0)["x"] == 3
    assert np.isnan(a.load(1)["nan"])  # NaN survives the round trip
    assert [g["x"] for g in got] == [1, 2, 3]


def test_items_without_a_stamp_are_not_resumed(tmp_path):
    Checkpointer(tmp_path, {"data": "a"}).save(0, [1.0])
    (tmp_path / "checkpoint.json").unlink()
    with pytest.raises(CheckpointMismatch, match=r"no checkpoint\.json.*--overwrite"):
        Checkpointer(tmp_path, {"data": "a"}, resume=True)
    assert Checkpointer(tmp_path, {"data": "a"}, overwrite=True).saved() == []


def test_one_submit_and_collect_loop_in_the_package():
    """Every module runs its work through execution.run_items / iter_items."""
    import re
    from pathlib import Path

    import asymscan

    loop = re.compile(
        r"\.submit\(|as_completed\(|executor\.map\(|ProcessPoolExecutor\("
    )
    root = Path(asymscan.__file__).parent
    found = {
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if loop.search(path.read_text())
    }
    assert found == {"execution.py"}
