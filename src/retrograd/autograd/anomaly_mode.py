"""Anomaly detection: find the forward operation whose backward produced NaN.

While anomaly mode is on, every recorded node keeps the traceback of the line
that ran its forward, and its backward is checked for NaN; a NaN raises a
RuntimeError that names the node and shows that traceback. While it is off
(the default) nothing is recorded or checked, so training runs at full speed.
"""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable
from typing import Any

from .._backend import xp
from .grad_mode import DecoratingContext, _GradMode
from .graph import Op


def is_anomaly_enabled() -> bool:
    """Return True while anomaly detection is on."""
    return _GradMode.anomaly


class set_detect_anomaly:  # noqa: N801 - PyTorch's name
    """Turn anomaly detection on or off: at once, or for a ``with`` block.

    ``retrograd.autograd.set_detect_anomaly(True)`` turns it on for good;
    ``with set_detect_anomaly(True):`` only inside the block.

    Parameters
    ----------
    mode : bool
        True records each op's forward traceback and checks every backward for NaN.
    check_nan : bool, default=True
        Whether a NaN gradient raises (False keeps only the tracebacks).
    """

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.prev = (_GradMode.anomaly, _CheckNan.enabled)
        _GradMode.anomaly = bool(mode)
        _CheckNan.enabled = bool(check_nan)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        _GradMode.anomaly, _CheckNan.enabled = self.prev


class detect_anomaly(DecoratingContext):  # noqa: N801 - PyTorch's name
    """Anomaly detection inside a ``with`` block or a decorated function.

    Examples
    --------
    >>> x = retrograd.tensor([0.0], requires_grad=True)
    >>> with retrograd.autograd.detect_anomaly():
    ...     y = x.sqrt() * 0.0           # sqrt'(0) = inf, and inf * 0 = nan
    ...     y.sum().backward()           # doctest: +SKIP
    RuntimeError: Function 'SqrtBackward0' returned nan values in its 0th output ...
    """

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan
        self.prev: list[tuple[bool, bool]] = []

    def __enter__(self) -> None:
        self.prev.append((_GradMode.anomaly, _CheckNan.enabled))
        _GradMode.anomaly, _CheckNan.enabled = True, self.check_nan

    def __exit__(self, *exc: object) -> None:
        _GradMode.anomaly, _CheckNan.enabled = self.prev.pop()

    def fresh(self) -> detect_anomaly:
        """A new ``detect_anomaly`` with this ``check_nan`` (each decorated call enters its own)."""
        return detect_anomaly(self.check_nan)


class _CheckNan:
    enabled = True


def record(node: Op) -> None:
    """Keep the forward's traceback on ``node`` and check its backward for NaN.

    Called for each recorded node while anomaly mode is on. The instance attribute
    ``backward`` shadows the class's method for this node only.
    NOTE: it refers back to the node (a cycle), broken when backward releases the
    node; anomaly mode is for debugging, where that memory does not matter.
    """
    node.forward_trace = "".join(traceback.format_stack()[:-2])
    node.backward = functools.partial(_checked_backward, node, type(node).backward)


def _checked_backward(node: Op, backward: Callable[..., Any], grad: Any) -> Any:
    trace = node.__dict__.get("forward_trace", "")
    in_grads = backward(node, grad)
    if _CheckNan.enabled:
        for i, g in enumerate(in_grads):
            if g is not None and xp.isnan(xp.asarray(g)).any():
                raise RuntimeError(
                    f"Function '{node.name}' returned nan values in its {i}th output: the "
                    f"backward of the forward operation {type(node).__name__} produced NaN.\n"
                    f"The forward operation was called at (most recent call last):\n{trace}"
                )
    return in_grads
