"""The top-level functions of the ``retrograd`` namespace: ``retrograd.exp(x)`` beside ``x.exp()``.

As in PyTorch (``torch.add``, ``torch.exp``, ``torch.sum``, ...): each one is the
function form of a :class:`~retrograd.tensor.Tensor` method or operator, and
accepts anything :func:`~retrograd.tensor.to_tensor` converts. ``matmul``,
``where``, ``clamp``, ``cat`` and ``stack`` are defined beside the Tensor in
:mod:`retrograd.tensor` (its methods call them) and re-exported here. The
functions of layers, activations with options and losses are in
:mod:`retrograd.nn.functional`.
"""

from __future__ import annotations

from typing import Any

from .tensor import (
    MaxResult,
    Tensor,
    cat,
    clamp,
    matmul,
    stack,
    to_tensor,
    where,
)


def add(input: Any, other: Any) -> Tensor:
    """Elementwise ``input + other`` with broadcasting."""
    return to_tensor(input) + other


def sub(input: Any, other: Any) -> Tensor:
    """Elementwise ``input - other`` with broadcasting."""
    return to_tensor(input) - other


def mul(input: Any, other: Any) -> Tensor:
    """Elementwise ``input * other`` with broadcasting."""
    return to_tensor(input) * other


def div(input: Any, other: Any) -> Tensor:
    """Elementwise true division ``input / other`` with broadcasting."""
    return to_tensor(input) / other


def pow(input: Any, exponent: Any) -> Tensor:
    """Elementwise ``input ** exponent``; a constant exponent never gives a NaN gradient."""
    if isinstance(input, Tensor):
        return input**exponent
    return to_tensor(exponent).__rpow__(input)


def neg(input: Tensor) -> Tensor:
    """Elementwise ``-input``."""
    return -to_tensor(input)


def abs(input: Tensor) -> Tensor:
    """Elementwise absolute value; gradient ``sign(x)`` (0 at 0)."""
    return to_tensor(input).abs()


def exp(input: Tensor) -> Tensor:
    """Elementwise ``e ** x``."""
    return to_tensor(input).exp()


def log(input: Tensor) -> Tensor:
    """Elementwise natural logarithm."""
    return to_tensor(input).log()


def sqrt(input: Tensor) -> Tensor:
    """Elementwise square root."""
    return to_tensor(input).sqrt()


def sin(input: Tensor) -> Tensor:
    """Elementwise sine."""
    return to_tensor(input).sin()


def cos(input: Tensor) -> Tensor:
    """Elementwise cosine."""
    return to_tensor(input).cos()


def tanh(input: Tensor) -> Tensor:
    """Elementwise hyperbolic tangent."""
    return to_tensor(input).tanh()


def sigmoid(input: Tensor) -> Tensor:
    """Elementwise logistic function ``1 / (1 + exp(-x))``, finite for any x."""
    return to_tensor(input).sigmoid()


def relu(input: Tensor) -> Tensor:
    """Elementwise ``max(x, 0)``; the gradient at 0 is 0, as PyTorch."""
    return to_tensor(input).relu()


def maximum(input: Tensor, other: Any) -> Tensor:
    """Elementwise maximum; where they tie, each input gets half the gradient (as PyTorch)."""
    return to_tensor(input).maximum(other)


def minimum(input: Tensor, other: Any) -> Tensor:
    """Elementwise minimum; where they tie, each input gets half the gradient (as PyTorch)."""
    return to_tensor(input).minimum(other)


def softmax(input: Tensor, dim: int) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim``, computed after subtracting the max."""
    return to_tensor(input).softmax(dim)


def log_softmax(input: Tensor, dim: int) -> Tensor:
    """``x - logsumexp(x)`` along ``dim``; finite for inputs of magnitude 1e4."""
    return to_tensor(input).log_softmax(dim)


def sum(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Sum over all elements or over ``dim`` (int or tuple)."""
    return to_tensor(input).sum(dim, keepdim)


def mean(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Mean over all elements or over ``dim`` (int or tuple)."""
    return to_tensor(input).mean(dim, keepdim)


def var(
    input: Tensor,
    dim: Any = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: float | None = None,
) -> Tensor:
    """Variance over ``dim`` with Bessel's ``correction`` (default 1)."""
    return to_tensor(input).var(dim, unbiased, keepdim, correction=correction)


def std(
    input: Tensor,
    dim: Any = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: float | None = None,
) -> Tensor:
    """Standard deviation over ``dim`` with Bessel's ``correction`` (default 1)."""
    return to_tensor(input).std(dim, unbiased, keepdim, correction=correction)


def amax(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Largest value over ``dim``; ties share the gradient evenly."""
    return to_tensor(input).amax(dim, keepdim)


def amin(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Smallest value over ``dim``; ties share the gradient evenly."""
    return to_tensor(input).amin(dim, keepdim)


def max(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor | MaxResult:
    """Largest value overall, or ``(values, indices)`` along ``dim``."""
    return to_tensor(input).max(dim, keepdim)


def min(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor | MaxResult:
    """Smallest value overall, or ``(values, indices)`` along ``dim``."""
    return to_tensor(input).min(dim, keepdim)


def logsumexp(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    """``log(sum(exp(x)))`` over ``dim``, stable for any magnitude."""
    return to_tensor(input).logsumexp(dim, keepdim)


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the largest value (the first of ties)."""
    return to_tensor(input).argmax(dim, keepdim)


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the smallest value (the first of ties)."""
    return to_tensor(input).argmin(dim, keepdim)


def reshape(input: Tensor, shape: Any) -> Tensor:
    """The same values in a new shape."""
    return to_tensor(input).reshape(shape)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dimensions ``start_dim`` to ``end_dim``."""
    return to_tensor(input).flatten(start_dim, end_dim)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dimensions."""
    return to_tensor(input).transpose(dim0, dim1)


def permute(input: Tensor, dims: Any) -> Tensor:
    """Reorder the dimensions."""
    return to_tensor(input).permute(dims)


def squeeze(input: Tensor, dim: Any = None) -> Tensor:
    """Remove dimensions of size 1."""
    return to_tensor(input).squeeze(dim)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a dimension of size 1."""
    return to_tensor(input).unsqueeze(dim)


def _compare(name: str):  # type: ignore[no-untyped-def]
    def fn(input: Any, other: Any) -> Tensor:
        return getattr(to_tensor(input), name)(other)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise comparison ``{name}``, a bool tensor with no gradient."
    return fn


eq = _compare("eq")
ne = _compare("ne")
lt = _compare("lt")
le = _compare("le")
gt = _compare("gt")
ge = _compare("ge")

__all__ = [
    "abs", "add", "amax", "amin", "argmax", "argmin", "cat", "clamp", "cos", "div",
    "eq", "exp", "flatten", "ge", "gt", "le", "log", "log_softmax",
    "logsumexp", "lt", "matmul", "max", "maximum", "mean", "min", "minimum", "mul", "ne",
    "neg", "permute", "pow", "relu", "reshape", "sigmoid", "sin", "softmax",
    "sqrt", "squeeze", "stack", "std", "sub", "sum", "tanh", "transpose", "unsqueeze", "var",
    "where",
]  # fmt: skip
