"""Reverse-mode automatic differentiation: grad mode, the graph record and the backward walk.

- :mod:`.grad_mode`: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``is_grad_enabled``,
  ``inference_mode``;
- :mod:`.graph`: :class:`Op` (one recorded operation, a node of the graph) and the
  iterative backward walk, ``run_backward``;
- :mod:`.higher`: ``grad`` and ``backward(create_graph=True)``, gradients of gradients;
- :mod:`.functional`: ``jacobian``, ``hessian``, ``vjp``, ``jvp``, ``hvp``.
- :mod:`.hooks`: tensor gradient hooks and ``queue_callback`` (run once at the end of backward);
- :mod:`.function`: :class:`Function`, PyTorch's custom autograd functions;
- :mod:`.anomaly_mode`: ``detect_anomaly``, ``set_detect_anomaly``.
"""

from __future__ import annotations

from . import graph, hooks
from .anomaly_mode import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .function import Function, FunctionCtx, once_differentiable
from .grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .graph import Op, retain, run_backward
from .higher import grad
from .hooks import RemovableHandle, queue_callback

__all__ = [
    "Function",
    "FunctionCtx",
    "Op",
    "RemovableHandle",
    "detect_anomaly",
    "enable_grad",
    "grad",
    "graph",
    "hooks",
    "inference_mode",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "no_grad",
    "once_differentiable",
    "queue_callback",
    "retain",
    "run_backward",
    "set_detect_anomaly",
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
