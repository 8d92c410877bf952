"""Activation modules: thin wrappers around :mod:`retrograd.functional`, with PyTorch's reprs.

Each takes an input of any shape and returns one of the same shape. The
``inplace`` flag that PyTorch's versions accept is kept for compatibility (and
shown in the repr), but the result is always a new tensor: retrograd does not
modify tensors that autograd may need.
"""

from __future__ import annotations

import warnings

from .. import ops
from ..tensor import Tensor, apply_op
from . import functional as F
from .module import Module


def _inplace_repr(inplace: bool, first: bool = False) -> str:
    if not inplace:
        return ""
    return "inplace=True" if first else ", inplace=True"


class ReLU(Module):
    """``max(x, 0)`` elementwise (gradient 0 at 0, as PyTorch).

    Parameters
    ----------
    inplace : bool, default=False
        Accepted for compatibility; the output is always a new tensor.
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        if type(input) is Tensor:  # the common case, without F.relu's conversion
            return apply_op(ops.ReLU, input)
        return F.relu(input)

    def extra_repr(self) -> str:
        return _inplace_repr(self.inplace, first=True)


class LeakyReLU(Module):
    """``x if x > 0 else negative_slope * x`` elementwise.

    Parameters
    ----------
    negative_slope : float, default=0.01
    inplace : bool, default=False
        Accepted for compatibility; the output is always a new tensor.
    """

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + _inplace_repr(self.inplace)


class ELU(Module):
    """``x if x > 0 else alpha * (exp(x) - 1)`` elementwise.

    Parameters
    ----------
    alpha : float, default=1.0
    inplace : bool, default=False
        Accepted for compatibility; the output is always a new tensor.
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.elu(input, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + _inplace_repr(self.inplace)


class GELU(Module):
    """Gaussian error linear unit ``x * Phi(x)``.

    Parameters
    ----------
    approximate : {'none', 'tanh'}, default='none'
        'tanh' uses ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``.
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Sigmoid(Module):
    """``1 / (1 + exp(-x))`` elementwise, stable for inputs of any magnitude."""

    def forward(self, input: Tensor) -> Tensor:
        return F.sigmoid(input)


class Tanh(Module):
    """Hyperbolic tangent elementwise."""

    def forward(self, input: Tensor) -> Tensor:
        return F.tanh(input)


class Softplus(Module):
    """``log(1 + exp(beta * x)) / beta`` elementwise; linear where ``beta * x > threshold``.

    Parameters
    ----------
    beta : float, default=1.0
    threshold : float, default=20.0
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, input: Tensor) -> Tensor:
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


def _softmax_dim(dim: int | None, ndim: int, name: str) -> int:
    """PyTorch's legacy rule for ``dim=None``: 0 for 0-, 1- and 3-D inputs, else 1."""
    if dim is not None:
        return dim
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. "
        "Change the call to include dim=X as an argument.",
        stacklevel=3,
    )
    return 0 if ndim in (0, 1, 3) else 1


class Softmax(Module):
    """``exp(x) / sum(exp(x))`` along ``dim``.

    Parameters
    ----------
    dim : int, optional
        The dimension that sums to 1. None picks one with PyTorch's deprecated
        rule (and warns); always pass it.
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.softmax(input, _softmax_dim(self.dim, input.ndim, "softmax"))

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """``x - logsumexp(x)`` along ``dim``; stable for inputs of any magnitude.

    Parameters
    ----------
    dim : int, optional
        See :class:`Softmax`.
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.log_softmax(input, _softmax_dim(self.dim, input.ndim, "log_softmax"))

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


# ---------------------------------------------------------------- the registry of names

from .linear import Identity  # noqa: E402  (this block is self-contained; may move up)

#: Activation names to module classes: the one table behind every ``activation=`` string
#: option (``retrograd.pipeline``, ``retrograd train --activation``, model files). Resolve
#: a user's spelling with ``retrograd.options.lookup(ACTIVATIONS, name, "activation")``.
ACTIVATIONS: dict[str, type[Module]] = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "elu": ELU,
    "gelu": GELU,
    "tanh": Tanh,
    "sigmoid": Sigmoid,
    "softplus": Softplus,
    "identity": Identity,
}
