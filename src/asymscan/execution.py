"""Where work items run: in this process, a process pool, or an existing Dask cluster.

Work items are pure functions of their inputs (toy shards seeded by ``SeedSequence.spawn``), so
results are identical whichever executor runs them (DESIGN.md, "Scale out on Dask").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

from ._optional import require
from .errors import ConfigError

__all__ = ("InlineExecutor", "executor")


class InlineExecutor(Executor):
    """Runs each submitted call at once, in this process."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as err:  # noqa: BLE001 (delivered through the future)
            future.set_exception(err)
        return future


@contextmanager
def executor(
    workers: int | None = None, scheduler: str | None = None
) -> Iterator[Executor]:
    """An executor: ``scheduler`` (a Dask address) > ``workers`` > 1 processes > in-process."""
    if scheduler is not None and workers is not None:
        msg = "give either workers (a local process pool) or scheduler (a Dask cluster), not both"
        raise ConfigError(msg)
    if scheduler is not None:
        distributed = require("distributed")
        with distributed.Client(scheduler) as client:
            yield client.get_executor()
    elif workers is not None and workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            yield pool
    elif workers is not None and workers < 1:
        msg = f"workers must be >= 1, got {workers}"
        raise ConfigError(msg)
    else:
        yield InlineExecutor()
