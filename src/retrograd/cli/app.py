"""The command group ``retrograd`` and its commands (see :mod:`retrograd.cli`)."""

from __future__ import annotations

import click

from .. import __version__
from .cmd_datasets import datasets
from .cmd_explain import explain
from .cmd_export import export
from .cmd_model import evaluate, info, predict
from .cmd_train import train
from .errors import Commands

__all__ = ["main"]


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="retrograd")
def main() -> None:
    """Train neural networks on NumPy and use them: retrograd's command line.

    Start with `retrograd train`: with no option it trains a network on the
    digits data set and writes the model, its metrics and its learning curves
    into runs/digits-<timestamp>/.
    """


for command in (train, evaluate, predict, info, export, explain, datasets):
    main.add_command(command)
