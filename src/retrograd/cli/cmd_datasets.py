"""``retrograd datasets``: the named data sets ``--data`` accepts."""

from __future__ import annotations

import click

from ..data import DATASETS
from .text import echo_lines, table


@click.command()
def datasets() -> None:
    """List the named data sets that --data accepts."""
    rows = [["name", "task", "description"]]
    rows += [[info.name, info.task, info.description] for info in DATASETS.values()]
    echo_lines(table(rows, "lll"))
    click.echo(
        "\nYour own data works too: --data FILE.csv [--target COLUMN], FILE.npz, or a folder"
    )
    click.echo("of MNIST-style IDX files.")
