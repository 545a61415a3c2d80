"""The events a scan reads: its files as work items on an executor, or columns in memory.

The scan and its neural follow-up read the same events the same way: :func:`map_events`
applies a per-chunk function to every chunk, where the chunk is read (on the executor's
workers for files) and in file order, so results do not depend on the executor.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Executor
from typing import Any

import numpy as np

from ..config import Config
from ..data.io import WorkItem, read_item, work_items
from ..execution import iter_items

__all__ = ("Events", "map_events", "memory_chunks")

Events = Mapping[str, Any] | Iterable[Mapping[str, Any]]
"""Columns in memory: a mapping of arrays, a pandas DataFrame, or an iterable of such chunks."""


def memory_chunks(events: Events, config: Config) -> Iterable[Mapping[str, Any]]:
    """Chunks of in-memory columns: one mapping or DataFrame (only the columns the
    configuration reads are kept) or the given chunks as they are."""
    if isinstance(events, Mapping) or hasattr(events, "columns"):
        return [{c: np.asarray(events[c]) for c in config.columns() if _has(events, c)}]
    return events


def _has(events: Any, column: str) -> bool:
    try:
        return column in events
    except TypeError:
        return False


def _read_item_then(
    item: WorkItem, config: Config, func: Callable[..., Any], args: tuple
) -> Any:
    """Read one work item and apply ``func`` to it (runs on a worker)."""
    chunk = read_item(item, config.columns(), tree=config.data.tree)
    return func(chunk, config, *args)


def map_events(
    func: Callable[..., Any],
    config: Config,
    events: Events | None = None,
    *,
    args: tuple = (),
    executor: Executor | None = None,
    chunk_size: int = 1_000_000,
) -> Iterator[Any]:
    """``func(chunk, config, *args)`` for every chunk of events, in order.

    Parameters
    ----------
    func
        A pure, picklable (module-level) function of one chunk of columns.
    config
        The configuration: its files, tree and columns.
    events
        Columns in memory (processed here, chunk by chunk); None: read ``config.data.paths``
        as work items of about ``chunk_size`` events, each read and processed on ``executor``.
    args
        Further arguments of ``func``.
    executor
        Where the work items run; default in-process.
    chunk_size
        Events per work item.
    """
    if events is None:
        items = work_items(
            config.data.paths, tree=config.data.tree, chunk_size=chunk_size
        )
        read_then = functools.partial(
            _read_item_then, config=config, func=func, args=args
        )
        return iter_items(read_then, items, executor=executor, what="chunks of events")
    return (func(chunk, config, *args) for chunk in memory_chunks(events, config))
