"""The rules for option values, shared by the Python API and the command line.

Two kinds of option, one rule each:

- **Names** (``activation='leaky_relu'``, ``--loss cross-entropy``): every string
  option has one registry table beside the things it names
  (:data:`retrograd.nn.activation.ACTIVATIONS`, :data:`retrograd.nn.loss.LOSSES`,
  :data:`retrograd.optim.OPTIMIZERS`, :data:`retrograd.metrics.METRICS`),
  and every caller resolves a name with :func:`lookup`, which ignores
  case, surrounding spaces and the difference between ``-`` and ``_``. So
  ``'leaky-relu'``, ``'LEAKY_RELU'`` and ``'Leaky-ReLU'`` are one name, in
  :func:`retrograd.pipeline.train` and in ``retrograd train`` alike.
- **Numbers** (``lr``, ``epochs``, ``val_split``, ...): :data:`NUMERIC` holds one
  :class:`Range` per option; :func:`retrograd.pipeline.train` checks its
  arguments with it and the command line's options parse through it, so both
  accept exactly the same values.

To adopt a registry elsewhere (the scikit-learn estimators, ``explain``,
``fit(metric=...)``, which still compare names exactly):
replace a membership test ``name in TABLE`` with ``key = lookup(TABLE, name,
'option')``, which returns the table's own spelling of the name, and use ``key``
from there on.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["NUMERIC", "OptionError", "Range", "check_number", "lookup", "normalize_name"]

V = TypeVar("V")


def normalize_name(name: str) -> str:
    """Two spellings of a name are equal in this form: stripped, lower case, ``_`` for ``-``."""
    return name.strip().lower().replace("-", "_")


def lookup(table: Mapping[str, V], name: Any, option: str) -> str:
    """The key of ``table`` that ``name`` spells (case, spaces and ``-``/``_`` ignored).

    Parameters
    ----------
    table : mapping of str
        A registry table; its keys are the canonical spellings.
    name : str
        The name as the user wrote it.
    option : str
        What the name is for (``'activation'``, ``'loss'``), for the messages.

    Returns
    -------
    str
        The key itself, e.g. ``'leaky_relu'`` for ``'Leaky-ReLU'``; read the
        value with ``table[key]``.

    Raises
    ------
    TypeError
        If ``name`` is not a str.
    ValueError
        If no key matches; the message lists the valid names.
    """
    if not isinstance(name, str):
        raise TypeError(f"{option} must be a name (str), got {type(name).__name__}: {name!r}")
    wanted = normalize_name(name)
    for key in table:
        if normalize_name(key) == wanted:
            return key
    raise ValueError(f"unknown {option} {name!r}; expected one of {', '.join(map(repr, table))}")


class OptionError(ValueError):
    """An option value that the rules refuse; ``option`` is the option's name (``'lr'``)."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(message)
        self.option = option


# ---------------------------------------------------------------- numeric constraints


@dataclass(frozen=True)
class Range:
    """The values a numeric option accepts: its kind and its bounds.

    Parameters
    ----------
    kind : {int, float}
        ``int`` accepts integers only; ``float`` accepts any real number (ints
        too). Booleans are never numbers here; nan and infinity never pass.
    low, high : float, optional
        The bounds; None for none.
    low_open, high_open : bool, default=False
        Whether the bound itself is excluded.
    """

    kind: type
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def describe(self) -> str:
        """The accepted values in words, e.g. ``'a number > 0'`` or ``'an int in [0, 10)'``."""
        what = "an int" if self.kind is int else "a number"
        if self.low is not None and self.high is not None:
            left = "(" if self.low_open else "["
            right = ")" if self.high_open else "]"
            return f"{what} in {left}{_num(self.low)}, {_num(self.high)}{right}"
        if self.kind is float:  # an unbounded side would let infinity in
            what = "a finite number"
        if self.low is not None:
            return f"{what} {'>' if self.low_open else '>='} {_num(self.low)}"
        if self.high is not None:
            return f"{what} {'<' if self.high_open else '<='} {_num(self.high)}"
        return f"a finite {what.split()[-1]}"

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` is of the kind and within the bounds."""
        kind = numbers.Integral if self.kind is int else numbers.Real
        if isinstance(value, bool) or not isinstance(value, kind):
            return False
        if not math.isfinite(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or (value < self.high if self.high_open else value <= self.high)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


#: The numeric options of :func:`retrograd.pipeline.train` and ``retrograd train``/``explain``.
NUMERIC: dict[str, Range] = {
    "lr": Range(float, low=0, low_open=True),
    # torch accepts any momentum >= 0, but from 1 on the velocity never decays: no run converges
    "momentum": Range(float, low=0, high=1, high_open=True),
    "weight_decay": Range(float, low=0),
    "dropout": Range(float, low=0, high=1, high_open=True),
    "val_split": Range(float, low=0, high=1, high_open=True),
    "test_split": Range(float, low=0, high=1, high_open=True),
    "tol": Range(float, low=0),
    "label_smoothing": Range(float, low=0, high=1),  # CrossEntropyLoss's, as torch's range
    "batch_size": Range(int, low=1),
    "epochs": Range(int, low=1),
    "patience": Range(int, low=1),
    "hidden": Range(int, low=1),  # each layer's width
    "channels": Range(int, low=1),  # each convolution's output channels (--arch cnn)
    "kernel": Range(int, low=1),  # the convolutions' kernel size (--arch cnn)
    "seed": Range(int, low=0, high=2**32, high_open=True),
    "blas_threads": Range(int, low=1),
    "steps": Range(int, low=1),
    "sample": Range(int, low=0),
}


def check_number(value: Any, option: str) -> Any:
    """``value`` as int or float if ``NUMERIC[option]`` accepts it; ValueError if not.

    Parameters
    ----------
    value : int or float
    option : str
        A key of :data:`NUMERIC`; it names the option in the message.

    Raises
    ------
    ValueError
        Naming the option, the value and the accepted range.
    """
    rule = NUMERIC[option]
    if not rule.accepts(value):
        raise ValueError(f"{option} must be {rule.describe()}, got {value!r}")
    return rule.kind(value)
