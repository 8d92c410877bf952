"""The ``retrograd`` command line: train a network, then evaluate, predict with and inspect it.

``retrograd train`` (no option needed: it trains on ``digits``) writes a run
folder; ``evaluate``, ``predict`` and ``info`` read the model file in it;
``explain`` shows one training step number by number; ``datasets`` lists the
named data sets. See ``docs/cli.md``.

Errors are part of the interface: every user error (a bad option value, an
unknown data set, a malformed file, a feature count that does not match the
model) ends with a short ``Error: ...`` on stderr and exit status 2, never a
traceback. A loss that stops being finite ends with status 1, and Ctrl-C during
training keeps the checkpoint of the last completed epoch (status 130).

Option values are checked by the rules the Python API uses
(:mod:`retrograd.options`): names through the registry tables, numbers through
one table of ranges, so the CLI and the API accept exactly the same values.

Where things are:

- ``__init__`` (here): the command group :func:`main`, and which commands it has.
- ``cmd_train``, ``cmd_model`` (``evaluate``, ``predict``, ``info``),
  ``cmd_explain``, ``cmd_datasets``: one module per command family.
- ``params``: the option types (names, numbers, layer sizes).
- ``inputs``: reading data sets, model files and CSV files.
- ``run_folder``: the files ``train`` writes and the ``--force``/``--resume`` rules.
- ``plots``: the PNG figures.
- ``text``: aligned tables for the terminal.
- ``errors``: usage errors, exit statuses, and errors on MPI ranks.
"""

from __future__ import annotations

import click

from .. import __version__
from .cmd_datasets import datasets
from .cmd_explain import explain
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


for command in (train, evaluate, predict, info, explain, datasets):
    main.add_command(command)
