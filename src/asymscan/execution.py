"""Where work items run, and the one loop that runs them.

Work items are pure functions of their inputs (toy shards seeded by ``SeedSequence.spawn``), so
results are identical whichever executor runs them (DESIGN.md, "Scale out on Dask"): in this
process, a local process pool, or an existing Dask cluster (:func:`executor`).
One submit-and-collect loop keeps a bounded number of items in flight and, on Ctrl-C, cancels
what has not started. :func:`run_items` collects every result: it reports progress as each
finishes and saves it through a :class:`~asymscan.checkpoint.Checkpointer` (so an interrupted
run keeps it and a resumed one skips it), raising :class:`Interrupted` on Ctrl-C.
:func:`iter_items` yields the results lazily in item order, for folds over chunks of events.
Inside an item, :func:`report` passes a message (progress within the item) back to the
caller's ``on_report``, in this process or from a local worker process.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
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
from contextlib import closing, contextmanager
from typing import TYPE_CHECKING, Any

from ._optional import require
from .errors import AsymscanError, ConfigError

if TYPE_CHECKING:
    from .checkpoint import Checkpointer, Checkpoints

__all__ = (
    "InlineExecutor",
    "Interrupted",
    "executor",
    "iter_items",
    "report",
    "run_items",
)

#: In this process, while :func:`run_items` runs items here: its ``on_report``.
_handler: Callable[[Any], None] | None = None
#: In a local worker process: the queue to the parent's :func:`run_items`.
_channel: Any = None


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


def report(message: Any) -> None:
    """From inside a work item: hand ``message`` to the ``on_report`` of :func:`run_items`.

    Delivered at once in-process, within a fraction of a second from a local worker
    process, and dropped on a Dask cluster (whose progress is counted in items).
    """
    if _handler is not None:
        _handler(message)
    elif _channel is not None:
        _channel.put(message)


def _init_worker(parent: int, channel: Any) -> None:
    """In a worker: ignore Ctrl-C (the parent handles it), exit when the parent dies, and
    send :func:`report` messages to the parent through ``channel``."""
    global _handler, _channel
    _handler, _channel = None, channel  # a forked worker inherits the parent's handler
    channel.cancel_join_thread()  # messages are progress: never block the worker's exit
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
        channel = multiprocessing.get_context().Queue()
        pool = _LocalPool(
            max_workers=workers,
            initializer=_init_worker,
            initargs=(os.getpid(), channel),
        )
        pool.reports = channel
        try:
            yield pool
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            channel.close()
            channel.cancel_join_thread()
    elif workers is not None and workers < 1:
        msg = f"workers must be >= 1, got {workers}"
        raise ConfigError(msg)
    else:
        yield InlineExecutor()


class _LocalPool(ProcessPoolExecutor):
    """A local process pool with the queue its workers :func:`report` through."""

    reports: Any = None


def _drain(channel: Any, on_report: Callable[[Any], None] | None) -> None:
    while True:
        try:
            message = channel.get_nowait()
        except (queue.Empty, OSError, ValueError):
            return
        if on_report is not None:
            on_report(message)


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
    checkpoint: Checkpointer | Checkpoints | None = None,
    on_result: Callable[[int, Any], None] | None = None,
    on_report: Callable[[Any], None] | None = None,
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
    on_result
        Called in this process as ``on_result(index, result)`` for every item: first for
        those loaded from ``checkpoint`` (in order), then as each finishes (and is saved).
    on_report
        Called in this process with every message an item sends with :func:`report`.
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
            if on_result:
                on_result(i, saved)
    done = n - len(todo)
    if progress:
        progress(done, n)
    try:
        with closing(
            _results(func, items, todo, pool, on_report, ordered=False)
        ) as run:
            for i, result in run:
                results[i] = result
                if checkpoint is not None:
                    checkpoint.save(i, result)
                if on_result:
                    on_result(i, result)
                done += 1
                if progress:
                    progress(done, n)
    except KeyboardInterrupt:
        where = "" if checkpoint is None else f", saved in {checkpoint.directory}"
        again = "" if checkpoint is None else "; run again with --resume to continue"
        msg = f"interrupted: {done} of {n} {what} finished{where}{again}"
        raise Interrupted(msg, done, n) from None
    return results


def iter_items(
    func: Callable[[Any], Any],
    items: Sequence[Any],
    *,
    executor: Executor | None = None,
    what: str = "items",
) -> Iterator[Any]:
    """``func(item)`` for each item, run on ``executor`` and yielded lazily in item order.

    At most a few items run ahead of the one the caller waits for, so the results held at
    once stay bounded (a fold over chunks of events keeps its memory). On Ctrl-C, raises
    :class:`Interrupted` after cancelling what has not started.
    """
    pool = executor or InlineExecutor()
    done = 0
    try:
        with closing(
            _results(func, items, range(len(items)), pool, None, ordered=True)
        ) as run:
            for _, result in run:
                yield result
                done += 1
    except KeyboardInterrupt:
        msg = f"interrupted: {done} of {len(items)} {what} finished"
        raise Interrupted(msg, done, len(items)) from None


def _results(
    func: Callable[[Any], Any],
    items: Sequence[Any],
    todo: Sequence[int],
    pool: Executor,
    on_report: Callable[[Any], None] | None,
    *,
    ordered: bool,
) -> Iterator[tuple[int, Any]]:
    """The one submit-and-collect loop: ``(i, func(items[i]))`` for ``i`` in ``todo``, as
    they finish (``ordered``: in the order of ``todo``, running at most the in-flight limit
    ahead of the next one). Closing it cancels the items not started."""
    global _handler
    channel = getattr(pool, "reports", None)
    limit = _in_flight(pool, len(todo))
    flying: dict[Future, int] = {}
    ready: dict[int, Any] = {}
    head = submitted = 0  # positions in todo: the next to yield, the next to submit
    outer, _handler = _handler, on_report
    try:
        while head < len(todo):
            while (
                submitted < len(todo)
                and len(flying) < limit
                and (not ordered or submitted < head + limit)
            ):
                flying[pool.submit(func, items[todo[submitted]])] = submitted
                submitted += 1
            timeout = None if channel is None else 0.2
            finished, _ = wait(list(flying), timeout, return_when=FIRST_COMPLETED)
            if channel is not None:
                _drain(channel, on_report)
            for future in finished:
                ready[flying.pop(future)] = future.result()
            while ready and (head in ready or not ordered):
                position = head if ordered else next(iter(ready))
                yield todo[position], ready.pop(position)
                head += 1
    finally:
        for future in flying:
            future.cancel()
        _handler = outer
