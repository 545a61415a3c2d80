"""Where work items run, and the one loop that runs them.

Work items are pure functions of their inputs (toy shards seeded by ``SeedSequence.spawn``), so
results are identical whichever executor runs them (DESIGN.md, "Scale out on Dask"): in this
process, a local process pool, or an existing Dask cluster (:func:`executor`).
:func:`run_items` is the one submit-and-collect loop: it keeps a bounded number of items in
flight, reports progress as each finishes, saves each finished item through a
:class:`~asymscan.checkpoint.Checkpointer` (so an interrupted run keeps it and a resumed one
skips it), and on Ctrl-C cancels what has not started and raises :class:`Interrupted`.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import (
    FIRST_COMPLETED,
    Executor,
    Future,
    ProcessPoolExecutor,
    wait,
)
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ._optional import require
from .errors import AsymscanError, ConfigError

if TYPE_CHECKING:
    from .checkpoint import Checkpointer

__all__ = ("InlineExecutor", "Interrupted", "executor", "run_items")


class InlineExecutor(Executor):
    """Runs each submitted call at once, in this process."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as err:  # noqa: BLE001 (delivered through the future)
            future.set_exception(err)
        return future


class Interrupted(AsymscanError):
    """A run stopped by Ctrl-C (SIGINT); the finished items were kept."""

    def __init__(self, message: str, done: int, total: int) -> None:
        super().__init__(message)
        self.done = done
        self.total = total


def _watch_parent(parent: int) -> None:
    """In a worker: ignore Ctrl-C (the parent handles it) and exit when the parent dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="asymscan-parent-watch", daemon=True).start()


@contextmanager
def executor(
    workers: int | None = None, scheduler: str | None = None
) -> Iterator[Executor]:
    """An executor: ``scheduler`` (a Dask address) > ``workers`` > 1 processes > in-process.

    Local worker processes ignore Ctrl-C (the parent stops the run and keeps what finished)
    and exit by themselves within a second when the parent dies, even by SIGKILL.
    """
    if scheduler is not None and workers is not None:
        msg = "give either workers (a local process pool) or scheduler (a Dask cluster), not both"
        raise ConfigError(msg)
    if scheduler is not None:
        distributed = require("distributed")
        with distributed.Client(scheduler) as client:
            yield client.get_executor()
    elif workers is not None and workers > 1:
        pool = ProcessPoolExecutor(
            max_workers=workers, initializer=_watch_parent, initargs=(os.getpid(),)
        )
        try:
            yield pool
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    elif workers is not None and workers < 1:
        msg = f"workers must be >= 1, got {workers}"
        raise ConfigError(msg)
    else:
        yield InlineExecutor()


def _in_flight(pool: Executor, n: int) -> int:
    """How many items to keep submitted: one at a time in-process (each is saved before the
    next starts), two per worker in a process pool, all of them on a Dask cluster."""
    if isinstance(pool, InlineExecutor):
        return 1
    workers = getattr(pool, "_max_workers", None)
    return max(1, 2 * workers) if isinstance(workers, int) else max(n, 1)


def run_items(
    func: Callable[[Any], Any],
    items: Sequence[Any],
    *,
    executor: Executor | None = None,
    progress: Callable[[int, int], None] | None = None,
    checkpoint: Checkpointer | None = None,
    what: str = "items",
) -> list[Any]:
    """``[func(item) for item in items]``, run on ``executor``, in item order.

    Parameters
    ----------
    func
        A pure, picklable (module-level) function of one item.
    items
        The work items.
    executor
        Where they run (:func:`executor`); default in this process.
    progress
        Called as ``progress(done, total)`` at the start and as each item finishes.
    checkpoint
        Items already saved there are loaded instead of run; each item that finishes is
        saved there at once (atomically), under its index.
    what
        What the items are, for messages ("toy shards").

    Raises
    ------
    Interrupted
        On Ctrl-C: items not started are cancelled, the finished ones are kept (and saved),
        and the message says how many and how to resume.
    """
    pool = executor or InlineExecutor()
    n = len(items)
    results: list[Any] = [None] * n
    todo = []
    for i in range(n):
        saved = None if checkpoint is None else checkpoint.load(i)
        if saved is None:
            todo.append(i)
        else:
            results[i] = saved
    done = n - len(todo)
    if progress:
        progress(done, n)
    pending = iter(todo)
    flying: dict[Future, int] = {}
    limit = _in_flight(pool, len(todo))
    try:
        while True:
            while len(flying) < limit:
                i = next(pending, None)
                if i is None:
                    break
                flying[pool.submit(func, items[i])] = i
            if not flying:
                break
            finished, _ = wait(list(flying), return_when=FIRST_COMPLETED)
            for future in finished:
                i = flying.pop(future)
                results[i] = future.result()
                if checkpoint is not None:
                    checkpoint.save(i, results[i])
                done += 1
                if progress:
                    progress(done, n)
    except KeyboardInterrupt:
        for future in flying:
            future.cancel()
        where = "" if checkpoint is None else f", saved in {checkpoint.directory}"
        again = "" if checkpoint is None else "; run again with --resume to continue"
        msg = f"interrupted: {done} of {n} {what} finished{where}{again}"
        raise Interrupted(msg, done, n) from None
    return results
