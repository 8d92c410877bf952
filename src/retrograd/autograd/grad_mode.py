"""Grad mode: whether operations are recorded for backward (``no_grad``, ``enable_grad``)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class _GradMode:
    enabled = True
    inference = False  # inside inference_mode(): new tensors are marked as inference tensors
    anomaly = False  # set_detect_anomaly(True): nodes keep their forward's traceback


class DecoratingContext:
    """A context manager that is also a decorator: each call runs inside a fresh copy.

    A fresh copy per call (from :meth:`fresh`), not ``self``, so that recursive and
    concurrent calls of the decorated function each restore their own previous mode.
    """

    def fresh(self) -> DecoratingContext:
        """A new context manager with this one's arguments."""
        raise NotImplementedError(f"{type(self).__name__} must define fresh()")

    def __enter__(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define __enter__()")

    def __exit__(self, *exc: object) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define __exit__()")

    def __call__(self, func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.fresh():
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


def is_grad_enabled() -> bool:
    """Return True when operations are being recorded for backward."""
    return _GradMode.enabled


class set_grad_enabled(DecoratingContext):  # noqa: N801 - PyTorch's name
    """Context manager and decorator that turns recording on or off.

    Parameters
    ----------
    mode : bool
        True records operations, False records nothing.
    """

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self.prev: list[bool] = []

    def __enter__(self) -> None:
        self.prev.append(_GradMode.enabled)
        _GradMode.enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        _GradMode.enabled = self.prev.pop()

    def fresh(self) -> set_grad_enabled:
        """A new ``set_grad_enabled`` of this mode (each decorated call enters its own)."""
        return set_grad_enabled(self.mode)


class no_grad(set_grad_enabled):  # noqa: N801 - PyTorch's name
    """Record nothing inside: as ``with retrograd.no_grad():`` or ``@retrograd.no_grad()``."""

    def __init__(self) -> None:
        super().__init__(False)


class enable_grad(set_grad_enabled):  # noqa: N801 - PyTorch's name
    """Record operations again inside a ``no_grad`` block."""

    def __init__(self) -> None:
        super().__init__(True)


class inference_mode(DecoratingContext):  # noqa: N801 - PyTorch's name
    """Like :class:`no_grad`, and tensors made inside are inference tensors (``is_inference()``).

    Use as ``with retrograd.inference_mode():`` or as the decorator
    ``@retrograd.inference_mode()``. ``inference_mode(False)`` does nothing.

    Parameters
    ----------
    mode : bool, default=True
        Whether to enter inference mode.
    """

    def __init__(self, mode: bool = True) -> None:
        self.mode = bool(mode)
        self.prev: list[tuple[bool, bool]] = []

    def __enter__(self) -> None:
        self.prev.append((_GradMode.enabled, _GradMode.inference))
        if self.mode:
            _GradMode.enabled, _GradMode.inference = False, True

    def __exit__(self, *exc: object) -> None:
        _GradMode.enabled, _GradMode.inference = self.prev.pop()

    def fresh(self) -> inference_mode:
        """A new ``inference_mode`` of this mode (each decorated call enters its own)."""
        return inference_mode(self.mode)


def is_inference_mode_enabled() -> bool:
    """Return True inside :class:`inference_mode`."""
    return _GradMode.inference
