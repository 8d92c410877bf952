"""Reverse-mode automatic differentiation: grad mode, the graph record and the backward walk.

- :mod:`.grad_mode`: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``is_grad_enabled``;
- :mod:`.graph`: :class:`Op` (one recorded operation, a node of the graph) and the
  iterative backward walk, ``run_backward``;
- :mod:`.higher`: ``grad`` and ``backward(create_graph=True)``, gradients of gradients;
- :mod:`.functional`: ``jacobian``, ``hessian``, ``vjp``, ``jvp``, ``hvp``.
"""

from __future__ import annotations

from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .graph import Op, retain, run_backward
from .higher import grad

__all__ = [
    "Op",
    "enable_grad",
    "grad",
    "is_grad_enabled",
    "no_grad",
    "retain",
    "run_backward",
    "set_grad_enabled",
]


def __getattr__(name: str) -> object:
    # Loaded on first use: they import the Tensor class, which imports this package.
    import importlib

    if name == "functional":
        return importlib.import_module(f"{__name__}.functional")
    if name in ("gradcheck", "gradgradcheck"):  # retrograd.gradcheck is also a function's name
        return getattr(importlib.import_module("retrograd.gradcheck"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
