"""Grad mode: whether operations are recorded for backward (``no_grad``, ``enable_grad``)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class _GradMode:
    enabled = True


def is_grad_enabled() -> bool:
    """Return True when operations are being recorded for backward."""
    return _GradMode.enabled


class set_grad_enabled:  # noqa: N801 - PyTorch's name
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

    def __call__(self, func: F) -> F:
        mode = self.mode

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(mode):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(set_grad_enabled):  # noqa: N801 - PyTorch's name
    """Record nothing inside: as ``with retrograd.no_grad():`` or ``@retrograd.no_grad()``."""

    def __init__(self) -> None:
        super().__init__(False)


class enable_grad(set_grad_enabled):  # noqa: N801 - PyTorch's name
    """Record operations again inside a ``no_grad`` block."""

    def __init__(self) -> None:
        super().__init__(True)
