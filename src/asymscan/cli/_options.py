"""Options and error handling shared by the sub-commands."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click

__all__ = ("execution_options", "library_errors", "resume_options")

F = TypeVar("F", bound=Callable[..., Any])


def execution_options(
    what: str, default_workers: int | None = None
) -> Callable[[F], F]:
    """``--workers N`` (a local process pool) and ``--scheduler ADDRESS`` (a Dask cluster)
    for running ``what``."""

    def decorate(command: F) -> F:
        command = click.option(
            "--scheduler",
            default=None,
            metavar="ADDRESS",
            help=f"Run {what} on an existing Dask cluster (tcp://host:port).",
        )(command)
        default = "" if default_workers is None else f"  [default: {default_workers}]"
        return click.option(
            "--workers",
            type=click.IntRange(min=1),
            default=None,
            help=f"Run {what} on a local pool of N processes.{default}",
        )(command)

    return decorate


def resume_options(what: str) -> Callable[[F], F]:
    """``--resume`` and ``--overwrite`` for the finished ``what`` of an earlier run."""

    def decorate(command: F) -> F:
        command = click.option(
            "--overwrite",
            is_flag=True,
            help=f"Discard the outputs and the finished {what} of an earlier run.",
        )(command)
        return click.option(
            "--resume",
            is_flag=True,
            help=f"Continue an interrupted run from its finished {what} (its data and "
            "settings must match).",
        )(command)

    return decorate


@contextmanager
def library_errors(console: Any) -> Iterator[None]:
    """The library's errors as a clean message; Ctrl-C as its message and exit status 130."""
    from ..errors import AsymscanError
    from ..execution import Interrupted

    try:
        yield
    except Interrupted as err:
        console.print(str(err))
        raise SystemExit(130) from None
    except (AsymscanError, ModuleNotFoundError) as err:
        raise click.ClickException(str(err)) from err
