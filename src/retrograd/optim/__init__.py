"""Optimizers and learning-rate schedulers with PyTorch's names, defaults and update rules.

``OPTIMIZERS`` is the one table from an optimizer's name to its class; the CLI
and the scikit-learn estimators resolve names through :func:`get_optimizer`.
"""

from __future__ import annotations

from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

#: Optimizer names (lower case) to classes.
OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "adam": Adam,
    "adamw": AdamW,
    "rmsprop": RMSprop,
    "adagrad": Adagrad,
}


def get_optimizer(name: str) -> type[Optimizer]:
    """The optimizer class called ``name``, e.g. ``'Adam'`` -> :class:`Adam`.

    Case, surrounding spaces and ``-``/``_`` are ignored
    (:func:`retrograd.options.lookup`, the rule of every string option).

    Parameters
    ----------
    name : str
        A key of :data:`OPTIMIZERS`.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones).
    """
    from ..options import lookup  # a stdlib-only module: no cycle, imported here to keep one block

    return OPTIMIZERS[lookup(OPTIMIZERS, name, "optimizer")]


__all__ = [
    "OPTIMIZERS",
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "Optimizer",
    "RMSprop",
    "get_optimizer",
    "lr_scheduler",
]
