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

import sys
from typing import Any, NoReturn

#: The import names of the packages the ``cli`` extra installs.
_CLI_PACKAGES = ("click", "tqdm", "matplotlib", "sklearn", "scipy", "safetensors")

try:
    from .app import main
    from .errors import EXIT_INTERRUPTED, UsageFailure
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
except ModuleNotFoundError as _missing:  # a core-only install: say what to install
    if (_missing.name or "").partition(".")[0] not in _CLI_PACKAGES:
        raise
    _MISSING = _missing.name

    def main(*args: Any, **kwargs: Any) -> NoReturn:  # type: ignore[misc]
        """Say which extra the command line needs, and exit with status 1."""
        sys.stderr.write(
            f"Error: the retrograd command needs the package {_MISSING!r}, which is not "
            "installed; install the command line with: pip install 'retrograd[cli]'\n"
        )
        raise SystemExit(1)


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
