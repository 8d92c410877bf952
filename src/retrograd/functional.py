"""``retrograd.functional``: activations, layers (and, built on them, losses) as functions.

The counterpart of ``torch.nn.functional``; import it as ``import retrograd.functional as F``
(or, as in PyTorch, ``import retrograd.nn.functional as F``).
"""

from __future__ import annotations

from collections.abc import Sequence

from . import ops
from ._backend import FLOAT_DTYPES, xp
from .autograd import no_grad
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
from .losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    l1_loss,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
)
from .random import Generator, get_rng
from .tensor import Tensor, _apply

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "huber_loss",
    "l1_loss",
    "mse_loss",
    "nll_loss",
    "smooth_l1_loss",
    "batch_norm",
    "dropout",
    "elu",
    "gelu",
    "layer_norm",
    "leaky_relu",
    "linear",
    "log_softmax",
    "relu",
    "sigmoid",
    "softmax",
    "softplus",
    "tanh",
]


def _check_tensor(x: object, op: str, name: str = "input") -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): {name} must be a Tensor, got {type(x).__name__}")


def _check_same_dtype(op: str, input: Tensor, **params: Tensor | None) -> None:
    if input.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{op}(): expected a floating point input, got dtype {input.dtype}")
    for name, p in params.items():
        if p is not None and p.dtype != input.dtype:
            raise TypeError(
                f"{op}(): input has dtype {input.dtype} but {name} has dtype {p.dtype}; "
                "cast one of them (e.g. model.double() or x.float())"
            )


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """Affine map ``input @ weight.T + bias``, as ``torch.nn.functional.linear``.

    One fused node: its backward is ``(g @ W, g.T @ x, g.sum(0))`` over ``x``
    flattened to 2-D.

    Parameters
    ----------
    input : Tensor of shape (*, in_features)
    weight : Tensor of shape (out_features, in_features)
    bias : Tensor of shape (out_features,), optional

    Returns
    -------
    Tensor of shape (*, out_features)
    """
    _check_tensor(input, "linear")
    _check_tensor(weight, "linear", "weight")
    if bias is not None:
        _check_tensor(bias, "linear", "bias")
    _check_same_dtype("linear", input, weight=weight, bias=bias)
    if weight.ndim != 2:
        raise ValueError(f"linear(): weight must be 2-D (out, in), got shape {weight.shape}")
    if input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"linear(): input of shape {input.shape} does not match weight of shape "
            f"{weight.shape}: the last input dimension must be in_features={weight.shape[1]}"
        )
    if bias is not None:
        if bias.shape != (weight.shape[0],):
            raise ValueError(
                f"linear(): bias must have shape ({weight.shape[0]},), got {bias.shape}"
            )
        return _apply(ops.Linear, input, weight, bias, has_bias=True)
    return _apply(ops.Linear, input, weight, has_bias=False)


def dropout(
    input: Tensor,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    generator: Generator | None = None,
) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1/(1-p)``.

    The mask comes from the default generator (or ``generator``), so
    :func:`retrograd.manual_seed` reproduces it. The values differ from
    PyTorch's for the same seed (a different random stream), but the
    distribution is the same.

    Parameters
    ----------
    input : Tensor of any shape
    p : float, default=0.5
        Probability of zeroing an element, in [0, 1].
    training : bool, default=True
        False returns ``input`` unchanged.
    inplace : bool, default=False
        Accepted for PyTorch compatibility; the result is always a new tensor.
    generator : Generator, optional
        Source of the mask; default the global generator.

    Returns
    -------
    Tensor of the same shape as ``input``
    """
    _check_tensor(input, "dropout")
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p!r}")
    if not training or p == 0.0:
        return input
    if input.dtype not in FLOAT_DTYPES:
        raise TypeError(f"dropout(): expected a floating point input, got dtype {input.dtype}")
    dtype = input.dtype
    if p == 1.0:
        mask = xp.zeros(input.shape, dtype=dtype)
    else:
        keep = get_rng(generator).random(input.shape, dtype=dtype) >= p
        mask = keep * xp.asarray(1.0 / (1.0 - p), dtype=dtype)
    return _apply(ops.Dropout, input, mask=mask)


def _as_param(x: Tensor | None, name: str, size: int, op: str) -> None:
    if x is None:
        return
    _check_tensor(x, op, name)
    if x.shape != (size,):
        raise ValueError(f"{op}(): {name} must have shape ({size},), got {x.shape}")


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalisation over every dimension but 1, as ``torch.nn.functional.batch_norm``.

    In training, each channel is normalised with the batch's mean and biased
    variance, and the running statistics (when given) are updated in place:
    ``running = (1 - momentum) * running + momentum * batch_stat``, where the
    variance is the unbiased one (times ``n/(n-1)``), as PyTorch. Otherwise
    the running statistics normalise. ``weight`` and ``bias`` then scale and
    shift each channel.

    Parameters
    ----------
    input : Tensor of shape (N, C) or (N, C, L) (any ``(N, C, *)``)
    running_mean, running_var : Tensor of shape (C,) or None
        Required when ``training`` is False.
    weight, bias : Tensor of shape (C,), optional
    training : bool, default=False
        Use (and update) batch statistics.
    momentum : float, default=0.1
        Weight of the new batch statistic in the running average.
    eps : float, default=1e-5
        Added to the variance before the square root.

    Returns
    -------
    Tensor of the same shape as ``input``
    """
    _check_tensor(input, "batch_norm")
    if input.ndim < 2:
        raise ValueError(f"batch_norm(): expected an input of shape (N, C, *), got {input.shape}")
    _check_same_dtype("batch_norm", input, weight=weight, bias=bias)
    c = input.shape[1]
    for name, t in (
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ):
        _as_param(t, name, c, "batch_norm")
    params = [t for t in (weight, bias) if t is not None]
    flags = {"has_weight": weight is not None, "has_bias": bias is not None, "eps": float(eps)}
    if not training:
        if running_mean is None or running_var is None:
            raise ValueError(
                "batch_norm(): running_mean and running_var are required when training=False"
            )
        mean, var = running_mean.data, running_var.data
        return _apply(ops.BatchNorm, input, *params, mean=mean, var=var, batch=False, **flags)
    n = input.data.size // c
    if n <= 1:
        raise ValueError(
            f"batch_norm(): expected more than 1 value per channel when training, "
            f"got input of shape {input.shape}"
        )
    axes = (0, *range(2, input.ndim))
    x = input.data
    mean = x.mean(axis=axes)
    xc = x - xp.expand_dims(mean, axes)
    var = (xc * xc).mean(axis=axes)
    with no_grad():
        if running_mean is not None:
            rm = running_mean.data
            rm[...] = (1 - momentum) * rm + momentum * mean
        if running_var is not None:
            rv = running_var.data
            rv[...] = (1 - momentum) * rv + momentum * var * (n / (n - 1))
    return _apply(ops.BatchNorm, input, *params, mean=mean, var=var, batch=True, **flags)


def layer_norm(
    input: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dimensions, as PyTorch's ``layer_norm``.

    Each row is shifted to mean 0 and scaled to (biased) variance 1, then
    multiplied by ``weight`` and shifted by ``bias`` elementwise.

    Parameters
    ----------
    input : Tensor of shape (*, *normalized_shape)
    normalized_shape : int or tuple of int
    weight, bias : Tensor of shape normalized_shape, optional
    eps : float, default=1e-5
        Added to the variance before the square root.

    Returns
    -------
    Tensor of the same shape as ``input``
    """
    _check_tensor(input, "layer_norm")
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or input.shape[input.ndim - k :] != shape or input.ndim < k:
        raise ValueError(
            f"layer_norm(): input of shape {input.shape} does not end with normalized_shape {shape}"
        )
    _check_same_dtype("layer_norm", input, weight=weight, bias=bias)
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.shape != shape:
            raise ValueError(f"layer_norm(): {name} must have shape {shape}, got {t.shape}")
    params = [t for t in (weight, bias) if t is not None]
    return _apply(
        ops.LayerNorm,
        input,
        *params,
        has_weight=weight is not None,
        has_bias=bias is not None,
        eps=float(eps),
        ndims=k,
    )
