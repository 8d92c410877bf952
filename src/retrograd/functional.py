"""``retrograd.functional``: activations (and, built on them, losses) as functions.

The counterpart of ``torch.nn.functional``; import it as ``import retrograd.functional as F``.
"""

from __future__ import annotations

from .functions import (
    elu,
    gelu,
    leaky_relu,
    log_softmax,
    relu,
    sigmoid,
    softmax,
    softplus,
    tanh,
)

__all__ = [
    "elu",
    "gelu",
    "leaky_relu",
    "log_softmax",
    "relu",
    "sigmoid",
    "softmax",
    "softplus",
    "tanh",
]
