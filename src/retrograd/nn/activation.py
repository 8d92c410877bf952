"""Activation modules: thin wrappers around :mod:`retrograd.functional`, with PyTorch's reprs.

Each takes an input of any shape and returns one of the same shape. The
``inplace`` flag that PyTorch's versions accept is kept for compatibility (and
shown in the repr): the result has the same values, but it is always a new
tensor (the input is left unchanged, so no memory is saved): retrograd does not
modify tensors that autograd may need.
"""

from __future__ import annotations

import warnings
from typing import Any

from .. import ops
from ..tensor import Tensor, apply_op
from . import functional as F
from .module import Module
from .parameter import check_device, check_size, empty_parameter


def _inplace_repr(inplace: bool, first: bool = False) -> str:
    if not inplace:
        return ""
    return "inplace=True" if first else ", inplace=True"


class _InplaceOnly(Module):
    """Base of the activations whose only option is PyTorch's ``inplace``.

    Parameters
    ----------
    inplace : bool, default=False
        Accepted for compatibility; the output is always a new tensor.
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def extra_repr(self) -> str:
        return _inplace_repr(self.inplace, first=True)


class ReLU(_InplaceOnly):
    """``max(x, 0)`` elementwise (gradient 0 at 0, as PyTorch); ``inplace`` is accepted."""

    def forward(self, input: Tensor) -> Tensor:
        if type(input) is Tensor:  # the common case, without F.relu's conversion
            return apply_op(ops.ReLU, input)
        return F.relu(input)


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


class _SoftmaxNd(Module):
    """What Softmax and LogSoftmax share; each names its functional as ``_function``."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        fn = self._function
        return fn(input, _softmax_dim(self.dim, input.ndim, fn.__name__))

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_SoftmaxNd):
    """``exp(x) / sum(exp(x))`` along ``dim``.

    Parameters
    ----------
    dim : int, optional
        The dimension that sums to 1. None picks one with PyTorch's deprecated
        rule (and warns); always pass it.
    """

    _function = staticmethod(F.softmax)


class LogSoftmax(_SoftmaxNd):
    """``x - logsumexp(x)`` along ``dim``; stable for inputs of any magnitude.

    Parameters
    ----------
    dim : int, optional
        See :class:`Softmax`.
    """

    _function = staticmethod(F.log_softmax)


class SiLU(_InplaceOnly):
    """``x * sigmoid(x)`` elementwise (swish); ``inplace`` is accepted."""

    def forward(self, input: Tensor) -> Tensor:
        return F.silu(input)


class Mish(_InplaceOnly):
    """``x * tanh(softplus(x))`` elementwise; ``inplace`` is accepted."""

    def forward(self, input: Tensor) -> Tensor:
        return F.mish(input)


class Hardtanh(Module):
    """``clamp(x, min_val, max_val)`` elementwise; gradient 0 at and beyond the bounds.

    Parameters
    ----------
    min_val : float, default=-1.0
    max_val : float, default=1.0
        Must be greater than ``min_val``.
    inplace : bool, default=False
        Accepted for compatibility; the output is always a new tensor.
    """

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        if not min_val < max_val:
            raise ValueError(
                f"Hardtanh: min_val must be less than max_val, got {min_val} and {max_val}"
            )
        self.min_val = min_val
        self.max_val = max_val
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.hardtanh(input, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}" + _inplace_repr(self.inplace)


class LogSigmoid(Module):
    """``log(sigmoid(x))`` elementwise, finite for large ``|x|``."""

    def forward(self, input: Tensor) -> Tensor:
        return F.logsigmoid(input)


class Softsign(Module):
    """``x / (1 + |x|)`` elementwise."""

    def forward(self, input: Tensor) -> Tensor:
        return F.softsign(input)


class PReLU(Module):
    """``x if x > 0 else a * x`` with a learned slope ``a`` (one, or one per channel).

    Parameters
    ----------
    num_parameters : int, default=1
        1 (one slope shared by all channels) or the number of channels (dim 1).
    init : float, default=0.25
        The initial slope.
    device : {None, 'cpu'}, optional
    dtype : dtype, optional

    Attributes
    ----------
    weight : Parameter of shape (num_parameters,)
    """

    def __init__(
        self, num_parameters: int = 1, init: float = 0.25, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__()
        check_device(device, "PReLU")
        self.num_parameters = check_size(num_parameters, "num_parameters", "PReLU", positive=True)
        self.init = init
        self.weight = empty_parameter((self.num_parameters,), dtype, "PReLU")
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Set every slope to ``init``."""
        self.weight.array[...] = self.init

    def forward(self, input: Tensor) -> Tensor:
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


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
    "silu": SiLU,
    "mish": Mish,
    "hardtanh": Hardtanh,
    "prelu": PReLU,
    "logsigmoid": LogSigmoid,
    "softsign": Softsign,
    "identity": Identity,
}
