"""Optimizers and learning-rate schedulers with PyTorch's names, defaults and update rules.

``OPTIMIZERS`` is the one table from an optimizer's name to its class; the CLI
and the scikit-learn estimators resolve names through :func:`get_optimizer`.
:class:`LBFGS` is not in it: its ``step`` needs a closure, which the training
loop behind the CLI does not pass.
"""

from __future__ import annotations

from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .lbfgs import LBFGS
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .sgd import SGD

#: Optimizer names (lower case) to classes.
OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "adam": Adam,
    "adamw": AdamW,
    "rmsprop": RMSprop,
    "adagrad": Adagrad,
    "nadam": NAdam,
    "radam": RAdam,
    "adamax": Adamax,
    "adadelta": Adadelta,
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
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "LBFGS",
    "NAdam",
    "Optimizer",
    "RAdam",
    "RMSprop",
    "get_optimizer",
    "lr_scheduler",
]
