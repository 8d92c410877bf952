"""``retrograd datasets``: the named data sets ``--data`` accepts."""

from __future__ import annotations

import click

from ..data import DATASETS, mnist1d_available
from .text import echo_lines, table


@click.command()
def datasets() -> None:
    """List the named data sets that --data accepts."""
    rows = [["name", "task", "description"]]
    rows += [[info.name, info.task, info.description] for info in DATASETS.values()]
    echo_lines(table(rows, "lll"))
    if not mnist1d_available():
        click.echo("\nmnist1d is not installed here: pip install 'retrograd[mnist1d]' to use it.")
    click.echo(
        "\nYour own data works too: --data FILE.csv [--target COLUMN], FILE.npz, or a folder"
    )
    click.echo("of MNIST-style IDX files.")
