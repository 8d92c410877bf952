"""Reverse-mode automatic differentiation: grad mode, the graph record and the backward walk.

- :mod:`.grad_mode`: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``is_grad_enabled``;
- :mod:`.graph`: :class:`Op` (one recorded operation, a node of the graph) and the
  iterative backward walk, ``run_backward``.
"""

from __future__ import annotations

from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .graph import Op, retain, run_backward

__all__ = [
    "Op",
    "enable_grad",
    "is_grad_enabled",
    "no_grad",
    "retain",
    "run_backward",
    "set_grad_enabled",
]
