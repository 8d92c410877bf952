"""The command group ``retrograd`` and its commands (see :mod:`retrograd.cli`)."""

from __future__ import annotations

import click

from .. import __version__
from .cmd_datasets import datasets
from .cmd_explain import explain
from .cmd_export import export
from .cmd_model import evaluate, info, predict
from .cmd_train import train
from .errors import EXIT_INTERRUPTED, Commands, UsageFailure
from .plots import plot_curves
from .run_folder import (
    CHECKPOINT_FILE,
    CURVES_FILE,
    METRICS_FILE,
    METRICS_FORMAT,
    MODEL_FILE,
    RUN_FILE,
    RUN_FILES,
    RUN_FORMAT,
    TRAIN_OPTIONS,
)

__all__ = [
    "CHECKPOINT_FILE",
    "CURVES_FILE",
    "EXIT_INTERRUPTED",
    "METRICS_FILE",
    "METRICS_FORMAT",
    "MODEL_FILE",
    "RUN_FILE",
    "RUN_FILES",
    "RUN_FORMAT",
    "TRAIN_OPTIONS",
    "UsageFailure",
    "main",
    "plot_curves",
]


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
