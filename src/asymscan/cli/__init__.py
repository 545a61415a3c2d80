"""The ``asymscan`` command line. Sub-command modules import the library lazily."""

from __future__ import annotations

import click

from .._version import __version__
from .generate import generate
from .nn import test
from .scan import demo, merge, scan
from .study import study

__all__ = ("cli", "main")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="asymscan")
def cli() -> None:
    """asymscan: data-directed searches for new physics from Standard-Model symmetries."""


cli.add_command(study)
cli.add_command(generate)
cli.add_command(scan)
cli.add_command(demo)
cli.add_command(merge)
cli.add_command(test)


def main() -> None:
    """Entry point of the ``asymscan`` console script."""
    cli()
