"""``retrograd.nn.functional``: activations, layers and losses as functions.

The counterpart of ``torch.nn.functional``; import it as PyTorch code does,
``import retrograd.nn.functional as F`` (``retrograd.functional`` is the same
module under a shorter path). Each function validates its inputs at the
boundary, with a message that names the function, what came and what was
expected, then applies one op of :mod:`retrograd.ops`:

- activations: :func:`sigmoid`, :func:`tanh`, :func:`softmax`,
  :func:`log_softmax` (the same functions as ``retrograd.sigmoid`` etc.),
  :func:`relu`, :func:`leaky_relu`, :func:`elu`, :func:`gelu`, :func:`softplus`,
  :func:`silu`, :func:`mish`, :func:`hardtanh`, :func:`logsigmoid`,
  :func:`softsign`, :func:`prelu` (``inplace=`` accepted where PyTorch has it;
  the result is always a new tensor);
- layers: :func:`linear`, :func:`dropout`, :func:`batch_norm`, :func:`layer_norm`,
  :func:`embedding`, :func:`one_hot`, :func:`normalize`, :func:`pad`;
- convolution and pooling: :func:`conv1d`,
  :func:`conv2d`, :func:`conv_transpose1d`, :func:`conv_transpose2d`,
  :func:`max_pool1d`, :func:`max_pool2d`, :func:`avg_pool1d`, :func:`avg_pool2d`,
  the adaptive pools and :func:`dropout2d`;
- losses, regression: :func:`mse_loss`, :func:`l1_loss`, :func:`huber_loss`,
  :func:`smooth_l1_loss`; classification: :func:`cross_entropy` (from logits),
  :func:`nll_loss` (from log-probabilities), :func:`binary_cross_entropy` (from
  probabilities), :func:`binary_cross_entropy_with_logits` and :func:`kl_div`.
  Each loss is one fused op followed, where it is not fused in, by the
  reduction; only cross-entropy with class-probability targets and
  :func:`kl_div` are composed from engine ops, which also gives the target its
  gradient.

This module imports the engine only (ops, tensor, autograd, backend, and the
stdlib-only _docstrings); the layer modules of :mod:`retrograd.nn` import it,
never the other way round.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

from .. import ops
from .._backend import FLOAT_DTYPES, ndarray, xp
from .._docstrings import fill_doc
from ..autograd import Op, is_grad_enabled, no_grad
from ..random import Generator, get_rng
from ..tensor import Tensor, apply_op, to_tensor, wrap_array
from ..tensor_functions import log_softmax, sigmoid, softmax, tanh, where
from ..validation import is_int, is_real

_INT64 = xp.dtype(xp.int64)

__all__ = [
    "REDUCTIONS",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "conv1d",
    "conv2d",
    "conv_transpose1d",
    "conv_transpose2d",
    "cross_entropy",
    "dropout",
    "dropout2d",
    "elu",
    "embedding",
    "gelu",
    "hardtanh",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "layer_norm",
    "leaky_relu",
    "linear",
    "log_softmax",
    "logsigmoid",
    "max_pool1d",
    "max_pool2d",
    "mish",
    "mse_loss",
    "nll_loss",
    "normalize",
    "one_hot",
    "pad",
    "prelu",
    "relu",
    "sigmoid",
    "silu",
    "smooth_l1_loss",
    "softmax",
    "softplus",
    "softsign",
    "tanh",
]

# ---------------------------------------------------------------- activations


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """Elementwise ``max(x, 0)``; the gradient at 0 is 0, as PyTorch.

    Parameters
    ----------
    input : Tensor
    inplace : bool, default=False
        Accepted for PyTorch compatibility: the result is the same, but it is a new
        tensor (``input`` is left unchanged and no memory is saved).
    """
    return apply_op(ops.ReLU, to_tensor(input))


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """Elementwise ``x if x > 0 else negative_slope * x``.

    Parameters
    ----------
    input : Tensor
    negative_slope : float, default=0.01
    inplace : bool, default=False
        Accepted; the result is a new tensor (see :func:`relu`).
    """
    return apply_op(ops.LeakyReLU, to_tensor(input), negative_slope=float(negative_slope))


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """Elementwise ``x if x > 0 else alpha * (exp(x) - 1)``.

    Parameters
    ----------
    input : Tensor
    alpha : float, default=1.0
    inplace : bool, default=False
        Accepted; the result is a new tensor (see :func:`relu`).
    """
    return apply_op(ops.ELU, to_tensor(input), alpha=float(alpha))


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit ``x * Phi(x)``.

    Parameters
    ----------
    input : Tensor
    approximate : {'none', 'tanh'}, default='none'
        'tanh' uses ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``.
    """
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu(): approximate must be 'none' or 'tanh', got {approximate!r}")
    return apply_op(ops.GELU, to_tensor(input), approximate=approximate)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """Elementwise ``log(1 + exp(beta * x)) / beta``, linear where ``beta * x > threshold``.

    Parameters
    ----------
    input : Tensor
    beta : float, default=1.0
    threshold : float, default=20.0
    """
    return apply_op(ops.Softplus, to_tensor(input), beta=float(beta), threshold=float(threshold))


# ---------------------------------------------------------------- layers


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
        return apply_op(ops.Linear, input, weight, bias, has_bias=True)
    return apply_op(ops.Linear, input, weight, has_bias=False)


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
        Accepted for PyTorch compatibility: the result is the same, but always a new
        tensor (no memory is saved).
    generator : Generator, optional
        Source of the mask; default the global generator.

    Returns
    -------
    Tensor of the same shape as ``input``
    """
    _check_tensor(input, "dropout")
    if not is_real(p) or not 0.0 <= p <= 1.0:
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
    return apply_op(ops.Dropout, input, mask=mask)


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
        mean, var = running_mean.array, running_var.array
        return apply_op(ops.BatchNorm, input, *params, mean=mean, var=var, batch=False, **flags)
    n = input.array.size // c
    if n <= 1:
        raise ValueError(
            f"batch_norm(): expected more than 1 value per channel when training, "
            f"got input of shape {input.shape}"
        )
    axes = (0, *range(2, input.ndim))
    x = input.array
    mean = x.mean(axis=axes)
    xc = x - xp.expand_dims(mean, axes)
    var = (xc * xc).mean(axis=axes)
    with no_grad():
        if running_mean is not None:
            rm = running_mean.array
            rm[...] = (1 - momentum) * rm + momentum * mean
        if running_var is not None:
            rv = running_var.array
            rv[...] = (1 - momentum) * rv + momentum * var * (n / (n - 1))
    return apply_op(ops.BatchNorm, input, *params, mean=mean, var=var, batch=True, **flags)


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
    return apply_op(
        ops.LayerNorm,
        input,
        *params,
        has_weight=weight is not None,
        has_bias=bias is not None,
        eps=float(eps),
        ndims=k,
    )


# ---------------------------------------------------------------- the reduction registry

#: The ``reduction`` option of every loss, function and module alike: each name and how it
#: reduces a tensor of per-element losses. The fused classification ops implement the same
#: three names (their 'mean' divides by the summed class weights instead of the count).
REDUCTIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "none": lambda loss: loss,
    "mean": lambda loss: loss.mean(),
    "sum": lambda loss: loss.sum(),
}


def _check_reduction(reduction: Any, op: str) -> str:
    """Return ``reduction`` if it names an entry of :data:`REDUCTIONS`, else raise."""
    if not isinstance(reduction, str) or reduction not in REDUCTIONS:
        names = ", ".join(repr(name) for name in REDUCTIONS)
        raise ValueError(f"{op}(): reduction must be one of {names}; got {reduction!r}")
    return reduction


def legacy_reduction(
    size_average: bool | None, reduce: bool | None, reduction: str, op: str
) -> str:
    """Map PyTorch's deprecated ``size_average``/``reduce`` flags to a reduction, as it does."""
    if size_average is None and reduce is None:
        return _check_reduction(reduction, op)
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    reduction = ("mean" if size_average else "sum") if reduce else "none"
    warnings.warn(
        f"{op}(): size_average and reduce are deprecated, please use reduction='{reduction}' "
        "instead.",
        UserWarning,
        stacklevel=3,
    )
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    return REDUCTIONS[reduction](loss)


# ---------------------------------------------------------------- validation at the boundary


def _float_input(input: Any, op: str, what: str = "input") -> Tensor:
    t = to_tensor(input)
    if t.array.dtype not in FLOAT_DTYPES:
        raise TypeError(
            f"{op}(): {what} must be a floating point tensor (float32 or float64), "
            f"got dtype {t.dtype}"
        )
    return t


def _same_shape(input: Tensor, target: Tensor, op: str) -> None:
    if target.shape != input.shape:
        raise ValueError(
            f"{op}(): target shape {target.shape} must be the same as input shape "
            f"{input.shape}; broadcasting them would silently compute a different loss. "
            "Reshape one of them (e.g. input.squeeze(-1) or target.unsqueeze(-1))."
        )


def _regression_pair(input: Any, target: Any, op: str) -> tuple[Tensor, Tensor]:
    """A float input and a target of its shape; integer targets are promoted, as PyTorch."""
    input = _float_input(input, op)
    target = to_tensor(target)
    _same_shape(input, target, op)
    if target.dtype.kind != "f":
        target = target.to(input.dtype)
    return input, target


def _binary_pair(input: Any, target: Any, op: str) -> tuple[Tensor, Tensor]:
    input = _float_input(input, op)
    target = to_tensor(target)
    if target.dtype.kind != "f":
        raise TypeError(
            f"{op}(): target must be a floating point tensor of probabilities, got dtype "
            f"{target.dtype}; convert integer labels with target.float()"
        )
    _same_shape(input, target, op)
    return input, target


def _constant(weight: Any, dtype: Any, op: str, name: str) -> ndarray:
    """The array of a weight that receives no gradient (as in PyTorch), in ``dtype``."""
    w = _float_input(weight, op, name)
    if w.requires_grad and is_grad_enabled():
        raise RuntimeError(
            f"{op}(): {name} receives no gradient (as in PyTorch), so it cannot require grad; "
            f"pass {name}.detach()"
        )
    return w.array.astype(dtype, copy=False)


def _broadcast_weight(weight: Any, input: Tensor, op: str, name: str) -> ndarray | None:
    if weight is None:
        return None
    w = _constant(weight, input.dtype, op, name)
    try:
        fits = xp.broadcast_shapes(w.shape, input.shape) == input.shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(
            f"{op}(): {name} of shape {w.shape} must broadcast to the input shape {input.shape}"
        )
    return w


def _class_input(input: Any, op: str) -> tuple[Tensor, int]:
    """A float input of shape (C,), (N, C) or (N, C, d1, ...) and its class axis."""
    input = _float_input(input, op)
    ndim = input.array.ndim
    if ndim == 0:
        raise ValueError(
            f"{op}(): input must have shape (C,), (N, C) or (N, C, d1, ...) with C classes, "
            "got a 0-d tensor"
        )
    axis = 0 if ndim == 1 else 1
    if input.array.shape[axis] == 0:
        raise ValueError(f"{op}(): input of shape {input.shape} has no classes (C = 0)")
    return input, axis


def _index_shape(input: Tensor, axis: int) -> tuple[int, ...]:
    shape = input.array.shape
    return shape[:axis] + shape[axis + 1 :]


def _class_indices(
    input: Tensor, target: Tensor, axis: int, ignore_index: int, op: str, probs_ok: bool
) -> tuple[ndarray, bool]:
    """Check class-index targets against ``input``.

    Returns them as an int64 array, and whether any of them equals ``ignore_index``.
    """
    shape = input.array.shape
    expected = _index_shape(input, axis)
    n_classes = shape[axis]
    also = f", or class probabilities of shape {shape}" if probs_ok else ""
    t = target.array
    if t.dtype.kind not in "iu":
        raise TypeError(
            f"{op}(): class-index targets must be integers (int64) of shape {expected}{also}; "
            f"got dtype {target.dtype} of shape {target.shape}"
            + ("; convert with target.long()" if t.dtype.kind == "f" else "")
        )
    if t.shape != expected:
        batch = ""
        if t.ndim and expected and t.shape[0] != expected[0]:
            batch = f" (input batch size {expected[0]}, target batch size {t.shape[0]})"
        raise ValueError(
            f"{op}(): for input of shape {shape}, class-index targets must have shape "
            f"{expected}{also}; got target of shape {target.shape}{batch}"
        )
    if t.dtype != _INT64:
        t = t.astype(_INT64)  # before comparing: uint8 cannot hold ignore_index=-100
    if not t.size:
        return t, False
    # NOTE: the usual case, every target a class, is decided by a min and a max; then only
    # an ignore_index inside [0, C) needs a pass over the targets to be looked for.
    if xp.minimum.reduce(t, axis=None) >= 0 and xp.maximum.reduce(t, axis=None) < n_classes:
        return t, 0 <= ignore_index < n_classes and bool((t == ignore_index).any())
    bad = (t != ignore_index) & ((t < 0) | (t >= n_classes))
    if bad.any():
        raise ValueError(
            f"{op}(): target holds class index {t[bad].flat[0]}, out of range for "
            f"{n_classes} classes: expected 0 to {n_classes - 1} (or ignore_index={ignore_index})"
        )
    return t, True  # some target is outside [0, C) and not bad: it is ignore_index


def _class_weight(weight: Any, input: Tensor, axis: int, op: str) -> ndarray | None:
    if weight is None:
        return None
    w = _constant(weight, input.dtype, op, "weight")
    n_classes = input.shape[axis]
    if w.shape != (n_classes,):
        raise ValueError(
            f"{op}(): weight must hold one value per class, shape ({n_classes},); "
            f"got shape {w.shape}"
        )
    return w


def _check_ignore_index(ignore_index: Any, op: str) -> int:
    if type(ignore_index) is int:  # the usual case, without is_int's abstract-class check
        return ignore_index
    if not is_int(ignore_index):
        raise TypeError(f"{op}(): ignore_index must be an int, got {ignore_index!r}")
    return int(ignore_index)


# ---------------------------------------------------------------- regression losses

#: Docstring fields the loss functions and the loss modules of :mod:`retrograd.nn.loss`
#: share, filled in by :func:`loss_doc` (``{name}`` in a docstring becomes the text).
LOSS_DOCS: dict[str, str] = {
    "legacy": """size_average, reduce : bool, optional
        Deprecated (see ``reduction``), as in PyTorch.""",
    "pair": """input : Tensor of shape (*), floating point
    target : Tensor of shape (*)
        The same shape as ``input`` (a different shape is an error, not a
        broadcast). Integer targets are promoted to ``input``'s dtype.""",
    "weight": """weight : Tensor of shape (*), optional
        Per-element weights; with them 'mean' is ``sum(w * loss) / sum(w)``.""",
    "returns": """Returns
    -------
    Tensor
        A scalar, or shape (*) for ``reduction='none'``.""",
    "shape": """Shape
    -----
    input : (*), target : (*) the same shape; output : scalar, or (*) for 'none'.""",
    "class_weight": """weight : Tensor of shape (C,), optional
        A weight per class, registered as a buffer.""",
    "broadcast_weight": """weight : Tensor, optional
        Broadcastable to the input's shape, registered as a buffer.""",
}

#: Fills a loss's docstring fields from :data:`LOSS_DOCS`.
loss_doc = fill_doc(**LOSS_DOCS)


def _weighted(
    loss: Tensor, weight: Any, input: Tensor, reduction: str, op: str, mean_by_weight: bool
) -> Tensor:
    """Reduce ``loss`` after PyTorch's optional per-element ``weight`` (of input's shape)."""
    if weight is None:
        return _reduce(loss, reduction)
    w = to_tensor(weight)
    if w.shape != input.shape:
        raise ValueError(
            f"{op}(): weight shape {w.shape} must be the same as input shape {input.shape}"
        )
    loss = loss * w
    if reduction == "mean" and mean_by_weight:
        return loss.sum() / w.sum()
    return _reduce(loss, reduction)


def _regression_loss(
    function: type[Op],
    input: Any,
    target: Any,
    reduction: str,
    weight: Any,
    op: str,
    mean_by_weight: bool = True,
    **params: float,
) -> Tensor:
    """Validate the pair, apply the elementwise loss ``function``, weigh and reduce it."""
    input, target = _regression_pair(input, target, op)
    loss = apply_op(function, input, target, **params)
    return _weighted(loss, weight, input, reduction, op, mean_by_weight)


@loss_doc
def mse_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """Mean squared error ``(input - target)**2``, the loss for regression.

    Parameters
    ----------
    {pair}
    {legacy}
    reduction : {'mean', 'sum', 'none'}, default='mean'
        'none' returns the loss per element, shape (*).
    {weight}

    {returns}
    """
    reduction = legacy_reduction(size_average, reduce, reduction, "mse_loss")
    return _regression_loss(ops.SquaredError, input, target, reduction, weight, "mse_loss")


@loss_doc
def l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """Mean absolute error ``|input - target|``; its gradient is ``sign`` (0 at 0).

    Parameters
    ----------
    {pair}
    {legacy}
    reduction : {'mean', 'sum', 'none'}, default='mean'
    {weight}

    {returns}
    """
    reduction = legacy_reduction(size_average, reduce, reduction, "l1_loss")
    return _regression_loss(ops.AbsoluteError, input, target, reduction, weight, "l1_loss")


@loss_doc
def huber_loss(
    input: Tensor,
    target: Tensor,
    reduction: str = "mean",
    delta: float = 1.0,
    weight: Tensor | None = None,
) -> Tensor:
    """Huber loss: ``0.5 d**2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``.

    ``d = input - target``. Quadratic near 0 and linear beyond ``delta``, so
    outliers pull with a bounded gradient ``±delta``.

    Parameters
    ----------
    {pair}
    reduction : {'mean', 'sum', 'none'}, default='mean'
    delta : float, default=1.0
        Where the loss turns linear; must be positive.
    weight : Tensor of shape (*), optional
        Per-element weights; with them 'mean' is ``mean(w * loss)`` (as PyTorch).

    {returns}
    """
    reduction = _check_reduction(reduction, "huber_loss")
    if not delta > 0:
        raise ValueError(f"huber_loss(): delta must be positive, got {delta!r}")
    return _regression_loss(
        ops.Huber, input, target, reduction, weight, "huber_loss", False, delta=float(delta)
    )


@loss_doc
def smooth_l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """Smooth L1: ``0.5 d**2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta``.

    ``d = input - target``. It equals ``huber_loss(delta=beta) / beta``, and
    :func:`l1_loss` when ``beta == 0``.

    Parameters
    ----------
    {pair}
    {legacy}
    reduction : {'mean', 'sum', 'none'}, default='mean'
    beta : float, default=1.0
        Where the loss turns linear; must be non-negative.

    {returns}
    """
    op = "smooth_l1_loss"
    reduction = legacy_reduction(size_average, reduce, reduction, op)
    if not beta >= 0:
        raise ValueError(f"smooth_l1_loss(): beta must be non-negative, got {beta!r}")
    if beta == 0:
        return _regression_loss(ops.AbsoluteError, input, target, reduction, None, op)
    return _regression_loss(ops.SmoothL1, input, target, reduction, None, op, beta=float(beta))


# ---------------------------------------------------------------- classification losses


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy between logits and targets, the loss for classification.

    With class-index targets ``t`` the loss of a sample is
    ``-w[t] * log_softmax(input)[t]``, computed in one fused op whose gradient
    is ``(softmax(input) - onehot(t)) * w[t] / denom``. With class-probability
    targets ``q`` it is ``-sum_c w[c] q[c] log_softmax(input)[c]``. The
    log-softmax subtracts the maximum first, so logits of ±1e4 give finite
    losses and gradients.

    Parameters
    ----------
    input : Tensor of shape (C,), (N, C) or (N, C, d1, ...), floating point
        Unnormalised logits; the class dimension is 1 (0 for a 1-D input).
    target : Tensor
        Either class indices, integer, of shape (), (N,) or (N, d1, ...), each
        in ``[0, C)`` or equal to ``ignore_index``; or class probabilities,
        floating point, of ``input``'s shape.
    weight : Tensor of shape (C,), optional
        A weight per class (receives no gradient, as in PyTorch).
    size_average, reduce : bool, optional
        Deprecated (see ``reduction``), as in PyTorch.
    ignore_index : int, default=-100
        Class-index targets equal to it contribute neither loss nor gradient,
        and do not count in the mean. Must be negative with probability targets.
    reduction : {'mean', 'sum', 'none'}, default='mean'
        For class indices 'mean' divides by the summed weights ``w[t]`` of the
        non-ignored targets (their number without ``weight``); for
        probabilities it divides by the number of samples ``N * d1 * ...``.
        'none' returns shape (), (N,) or (N, d1, ...).
    label_smoothing : float, default=0.0
        In ``[0, 1]``: the target becomes ``(1 - eps) * target + eps / C``.
        With class weights, the smoothing term of a sample is
        ``-sum_c w[c] log_softmax(input)[c] * eps / C`` (PyTorch's choice),
        and 'mean' still divides by the summed ``w[t]``.

    Returns
    -------
    Tensor
        A scalar, or one loss per sample for ``reduction='none'``.
    """
    op = "cross_entropy"
    reduction = legacy_reduction(size_average, reduce, reduction, op)
    ignore_index = _check_ignore_index(ignore_index, op)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}(): label_smoothing must be in [0, 1], got {label_smoothing!r}")
    input, axis = _class_input(input, op)
    target = to_tensor(target)
    w = _class_weight(weight, input, axis, op)
    if target.array.shape == input.array.shape:
        return _cross_entropy_probs(
            input, target, axis, w, ignore_index, reduction, label_smoothing
        )
    t, ignored = _class_indices(input, target, axis, ignore_index, op, probs_ok=True)
    return _cross_entropy_indices(
        input, t, ignored, axis, w, ignore_index, reduction, label_smoothing
    )


def _cross_entropy_indices(
    input: Tensor,
    target: ndarray,
    ignored: bool,
    axis: int,
    weight: ndarray | None,
    ignore_index: int,
    reduction: str,
    label_smoothing: float,
) -> Tensor:
    """Cross-entropy with (validated) class-index targets: one fused op.

    ``ignored``: some target equals ``ignore_index`` (``_class_indices`` found out).

    :class:`~retrograd.ops.CrossEntropy` covers every option. SPEED: the plain case of
    training, (N, C) logits with nothing to weigh, smooth or ignore, takes
    :class:`~retrograd.ops.SoftmaxCrossEntropy`, the same loss in fewer array passes:
    18 against 47 microseconds for a batch of 32 (about 6% of the step of
    ``bench/mlp.py``'s MLP), 61 against 107 for 512.
    """
    if (
        weight is None
        and not label_smoothing
        and reduction != "none"
        and not ignored
        and input.array.ndim == 2
        and input.array.shape[0] > 0
    ):
        return apply_op(ops.SoftmaxCrossEntropy, input, target=target, mean=reduction == "mean")
    return apply_op(
        ops.CrossEntropy,
        input,
        target=target,
        weight=weight,
        ignore_index=ignore_index,
        reduction=reduction,
        axis=axis,
        label_smoothing=float(label_smoothing),
    )


def _cross_entropy_probs(
    input: Tensor,
    target: Tensor,
    axis: int,
    weight: ndarray | None,
    ignore_index: int,
    reduction: str,
    label_smoothing: float,
) -> Tensor:
    """Cross-entropy with class-probability targets, composed from engine ops.

    The target receives a gradient too, as in PyTorch.
    """
    op = "cross_entropy"
    if target.dtype.kind != "f":
        raise TypeError(
            f"{op}(): a target of the input's shape {input.shape} holds class probabilities "
            f"and must be floating point, got dtype {target.dtype}; class indices have shape "
            f"{_index_shape(input, axis)}"
        )
    if ignore_index >= 0:
        raise ValueError(
            f"{op}(): ignore_index={ignore_index} is not supported with class-probability "
            "targets (it applies to class indices only)"
        )
    if label_smoothing:
        target = target * (1 - label_smoothing) + label_smoothing / input.shape[axis]
    prod = input.log_softmax(axis) * target
    if weight is not None:
        shape = [1] * input.ndim
        shape[axis] = weight.shape[0]
        prod = prod * Tensor(weight.reshape(shape))
    # 'mean' divides by the number of samples, which is what mean() over them does.
    return _reduce(-prod.sum(axis), reduction)


@loss_doc
def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood ``-w[t] * input[t]`` of log-probabilities ``input``.

    ``nll_loss(log_softmax(x, 1), t)`` equals ``cross_entropy(x, t)``; prefer
    the latter, which fuses the two.

    Parameters
    ----------
    input : Tensor of shape (C,), (N, C) or (N, C, d1, ...), floating point
        Log-probabilities; the class dimension is 1 (0 for a 1-D input).
    target : Tensor of shape (), (N,) or (N, d1, ...), integer
        Class indices in ``[0, C)``, or ``ignore_index``.
    weight : Tensor of shape (C,), optional
        A weight per class (receives no gradient, as in PyTorch).
    {legacy}
    ignore_index : int, default=-100
        Targets equal to it contribute neither loss nor gradient, nor count in the mean.
    reduction : {'mean', 'sum', 'none'}, default='mean'
        'mean' divides by the summed weights ``w[t]`` of the non-ignored targets.

    Returns
    -------
    Tensor
        A scalar, or the target's shape for ``reduction='none'``.
    """
    op = "nll_loss"
    reduction = legacy_reduction(size_average, reduce, reduction, op)
    ignore_index = _check_ignore_index(ignore_index, op)
    input, axis = _class_input(input, op)
    t, _ = _class_indices(input, to_tensor(target), axis, ignore_index, op, probs_ok=False)
    w = _class_weight(weight, input, axis, op)
    return apply_op(
        ops.NLL,
        input,
        target=t,
        weight=w,
        ignore_index=ignore_index,
        reduction=reduction,
        axis=axis,
    )


@loss_doc
def binary_cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Binary cross-entropy ``-w (y log x + (1 - y) log(1 - x))`` of probabilities ``x``.

    Both logarithms are clamped at -100, as PyTorch does, so ``x = 0`` with
    ``y = 1`` costs 100 rather than infinity. Prefer
    :func:`binary_cross_entropy_with_logits` on logits: it is exact where
    ``sigmoid`` rounds to 0 or 1.

    Parameters
    ----------
    input : Tensor of shape (*), floating point
        Probabilities in ``[0, 1]``.
    target : Tensor of shape (*), floating point
        The same shape as ``input``, values in ``[0, 1]``. It receives a gradient.
    weight : Tensor, optional
        Broadcastable to the input's shape, e.g. (*) or (C,) (no gradient, as in PyTorch).
    {legacy}
    reduction : {'mean', 'sum', 'none'}, default='mean'
        'mean' divides by the number of elements.

    Returns
    -------
    Tensor
        A scalar, or shape (*) for ``reduction='none'``.
    """
    op = "binary_cross_entropy"
    reduction = legacy_reduction(size_average, reduce, reduction, op)
    input, target = _binary_pair(input, target, op)
    for name, t, hint in (
        ("input", input, " (apply sigmoid first, or use binary_cross_entropy_with_logits)"),
        ("target", target, ""),
    ):
        outside = ~((t.array >= 0) & (t.array <= 1))  # NaN counts as outside
        if outside.any():
            raise ValueError(
                f"{op}(): every element of {name} must lie in [0, 1]{hint}; "
                f"got {t.array[outside].flat[0]}"
            )
    w = _broadcast_weight(weight, input, op, "weight")
    return _reduce(apply_op(ops.BinaryCrossEntropy, input, target, weight=w), reduction)


@loss_doc
def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """Binary cross-entropy of ``sigmoid(input)``, fused and stable for any logit.

    The loss per element is ``w ((1 - y) x - (1 + (p - 1) y) log sigmoid(x))``,
    which is ``-w (p y log sigmoid(x) + (1 - y) log(1 - sigmoid(x)))`` with
    ``log sigmoid(x) = min(x, 0) - log1p(exp(-|x|))``: finite, with PyTorch's
    gradients, for logits of magnitude 1e4.

    Parameters
    ----------
    input : Tensor of shape (*), floating point
        Logits.
    target : Tensor of shape (*), floating point
        The same shape as ``input``, usually in ``[0, 1]``. It receives a gradient.
    weight : Tensor, optional
        Broadcastable to the input's shape (no gradient, as in PyTorch).
    {legacy}
    reduction : {'mean', 'sum', 'none'}, default='mean'
        'mean' divides by the number of elements.
    pos_weight : Tensor, optional
        The weight ``p`` of positive examples, broadcastable to the input's
        shape; usually (C,), one per class, ``num_negative / num_positive``
        (no gradient, as in PyTorch).

    Returns
    -------
    Tensor
        A scalar, or shape (*) for ``reduction='none'``.
    """
    op = "binary_cross_entropy_with_logits"
    reduction = legacy_reduction(size_average, reduce, reduction, op)
    input, target = _binary_pair(input, target, op)
    w = _broadcast_weight(weight, input, op, "weight")
    pw = _broadcast_weight(pos_weight, input, op, "pos_weight")
    loss = apply_op(ops.BinaryCrossEntropyWithLogits, input, target, weight=w, pos_weight=pw)
    return _reduce(loss, reduction)


# ---------------------------------------------------------------- more of torch.nn.functional


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """Elementwise ``x * sigmoid(x)`` (also called swish).

    Parameters
    ----------
    input : Tensor
    inplace : bool, default=False
        Accepted; the result is a new tensor (see :func:`relu`).
    """
    return apply_op(ops.SiLU, _float_input(input, "silu"))


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """Elementwise ``x * tanh(softplus(x))``.

    Parameters
    ----------
    input : Tensor
    inplace : bool, default=False
        Accepted; the result is a new tensor (see :func:`relu`).
    """
    return apply_op(ops.Mish, _float_input(input, "mish"))


def hardtanh(
    input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
) -> Tensor:
    """Elementwise ``clamp(x, min_val, max_val)``; the gradient is 0 at and beyond the bounds.

    Parameters
    ----------
    input : Tensor
    min_val : float, default=-1.0
    max_val : float, default=1.0
        Must be greater than ``min_val``.
    inplace : bool, default=False
        Accepted; the result is a new tensor (see :func:`relu`).
    """
    if not min_val < max_val:
        raise ValueError(
            f"hardtanh(): min_val cannot be greater than max_val, got {min_val} and {max_val}"
        )
    t = _float_input(input, "hardtanh")
    return apply_op(ops.Hardtanh, t, lo=float(min_val), hi=float(max_val))


def logsigmoid(input: Tensor) -> Tensor:
    """Elementwise ``log(sigmoid(x))``, finite for large ``|x|``."""
    return apply_op(ops.LogSigmoid, _float_input(input, "logsigmoid"))


def softsign(input: Tensor) -> Tensor:
    """Elementwise ``x / (1 + |x|)``."""
    return apply_op(ops.Softsign, _float_input(input, "softsign"))


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """Elementwise ``x if x > 0 else weight * x``, ``weight`` per channel (dim 1).

    Parameters
    ----------
    input : Tensor of shape (N, C, *) or (N,)
    weight : Tensor of shape (1,) or (C,)
    """
    _check_tensor(input, "prelu")
    _check_tensor(weight, "prelu", "weight")
    _check_same_dtype("prelu", input, weight=weight)
    channels = input.shape[1] if input.ndim >= 2 else 1
    if weight.ndim != 1 or weight.shape[0] not in (1, channels):
        raise ValueError(
            f"prelu(): weight must have shape (1,) or ({channels},) for an input of shape "
            f"{input.shape} (one slope per channel, dim 1), got {weight.shape}"
        )
    return apply_op(ops.PReLU, input, weight)


def _index_array(input: Any, op: str, what: str = "input") -> ndarray:
    """The integer array of an index tensor (int32/int64/uint8 ...), else a TypeError."""
    arr = input.array if isinstance(input, Tensor) else xp.asarray(input)
    if arr.dtype.kind not in "iu":
        raise TypeError(
            f"{op}(): {what} must be a tensor of integer indices (int64 or int32), "
            f"got dtype {arr.dtype}"
        )
    return arr


def one_hot(input: Tensor, num_classes: int = -1) -> Tensor:
    """Encode integer class indices as one-hot vectors, as ``torch.nn.functional.one_hot``.

    Parameters
    ----------
    input : Tensor of integers, any shape
        Class indices, each in ``[0, num_classes)``.
    num_classes : int, default=-1
        The length of each vector; -1 infers ``input.max() + 1``.

    Returns
    -------
    Tensor of int64, shape ``(*input.shape, num_classes)``
    """
    idx = _index_array(input, "one_hot")
    if not is_int(num_classes) or num_classes < -1:
        raise ValueError(f"one_hot(): num_classes must be an int >= -1, got {num_classes!r}")
    if idx.size and idx.min() < 0:
        raise RuntimeError(f"one_hot(): class values must be non-negative, got {int(idx.min())}")
    if num_classes == -1:
        if idx.size == 0:
            raise RuntimeError("one_hot(): cannot infer the number of classes of an empty tensor")
        num_classes = int(idx.max()) + 1
    elif idx.size and idx.max() >= num_classes:
        raise RuntimeError(
            f"one_hot(): class values must be smaller than num_classes={num_classes}, "
            f"got {int(idx.max())}"
        )
    out = (idx[..., None] == xp.arange(num_classes)).astype(xp.int64)
    return Tensor(out)


def _embedding_renorm(weight: Tensor, idx: ndarray, max_norm: float, norm_type: float) -> None:
    """Scale, in place, the rows of ``weight`` read by ``idx`` whose norm exceeds ``max_norm``.

    PyTorch's ``embedding_renorm_``: ``row *= max_norm / (norm + 1e-7)``, outside autograd.
    """
    rows = xp.unique(idx)
    w = weight.array
    norms = xp.linalg.norm(w[rows], ord=norm_type, axis=1)
    big = norms > max_norm
    if big.any():
        scale = (max_norm / (norms[big] + 1e-7)).astype(w.dtype)
        w[rows[big]] *= scale[:, None]


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Look up rows of ``weight`` by integer index, as ``torch.nn.functional.embedding``.

    The backward adds each output row's gradient into the row it was read from.

    Parameters
    ----------
    input : Tensor of integers, any shape
        Row indices in ``[0, num_embeddings)``.
    weight : Tensor of shape (num_embeddings, embedding_dim)
    padding_idx : int, optional
        This row gets no gradient (negative counts from the end).
    max_norm : float, optional
        Rows read whose ``norm_type``-norm exceeds it are rescaled to norm
        ``max_norm`` first, in place in ``weight`` (as PyTorch).
    norm_type : float, default=2.0
        The p of the norm for ``max_norm``.
    scale_grad_by_freq : bool, default=False
        Divide each row's gradient by how often its index occurs in ``input``.
    sparse : bool, default=False
        Sparse gradients are not supported: True raises.

    Returns
    -------
    Tensor of shape ``(*input.shape, embedding_dim)``
    """
    _check_tensor(weight, "embedding", "weight")
    if weight.ndim != 2:
        raise ValueError(
            f"embedding(): weight must be 2-D (num_embeddings, embedding_dim), got {weight.shape}"
        )
    if sparse:
        raise NotImplementedError(
            "embedding(): sparse=True is not supported: retrograd has no sparse gradients; "
            "use sparse=False (the gradient is a dense array of the weight's shape)"
        )
    idx = _index_array(input, "embedding")
    rows = weight.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= rows):
        bad = int(idx.min()) if idx.min() < 0 else int(idx.max())
        raise IndexError(
            f"embedding(): index out of range in self: got {bad}, "
            f"expected indices in [0, {rows}) for a weight of shape {weight.shape}"
        )
    padding_idx = _padding_index(padding_idx, rows, "embedding")
    if max_norm is not None:
        _embedding_renorm(weight, idx, float(max_norm), float(norm_type))
    return apply_op(
        ops.Embedding,
        weight,
        indices=idx.astype(xp.intp, copy=False),
        padding_idx=padding_idx,
        scale_grad_by_freq=bool(scale_grad_by_freq),
    )


def _padding_index(padding_idx: int | None, rows: int, op: str) -> int | None:
    """``padding_idx`` as a non-negative row, or None; PyTorch's range check."""
    if padding_idx is None:
        return None
    if not is_int(padding_idx):
        raise TypeError(f"{op}(): padding_idx must be an int, got {padding_idx!r}")
    if not -rows <= padding_idx < rows:
        raise ValueError(
            f"{op}(): padding_idx must be within num_embeddings: got {padding_idx} "
            f"for {rows} embeddings"
        )
    return padding_idx + rows if padding_idx < 0 else int(padding_idx)


def normalize(
    input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: None = None
) -> Tensor:
    """Divide ``input`` by its ``p``-norm along ``dim``: ``x / max(||x||_p, eps)``.

    Parameters
    ----------
    input : Tensor
    p : float, default=2.0
        The exponent of the norm, a positive finite number.
    dim : int, default=1
    eps : float, default=1e-12
        The smallest denominator (avoids dividing by zero).
    out : None
        Not supported; must be None.
    """
    if out is not None:
        raise TypeError("normalize(): out= is not supported; use the returned tensor")
    t = _float_input(input, "normalize")
    if not is_real(p) or not 0 < p < float("inf"):
        raise ValueError(f"normalize(): p must be a positive finite number, got {p!r}")
    ndim = max(t.ndim, 1)
    if not -ndim <= dim < ndim:
        raise IndexError(
            f"normalize(): dim {dim} is out of range for a tensor of {t.ndim} dimensions"
        )
    return apply_op(ops.Normalize, t, p=float(p), axis=dim % ndim, eps=float(eps))


#: F.pad's modes: the ones other than 'constant' pad at most the last 3 dimensions.
PAD_MODES = ("constant", "reflect", "replicate", "circular")


def pad(
    input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None
) -> Tensor:
    """Pad ``input``, last dimension first, as ``torch.nn.functional.pad``.

    Parameters
    ----------
    input : Tensor
    pad : sequence of int, even length
        ``(left, right)`` for the last dimension, then ``(top, bottom)`` for the
        one before, and so on. In 'constant' mode negative amounts crop; the
        other modes take non-negative amounts only (NotImplementedError).
    mode : {'constant', 'reflect', 'replicate', 'circular'}, default='constant'
        'constant' fills with ``value`` and pads any number of dimensions; the
        others pad the last 1 to 3 dimensions of a batched (or unbatched) input:
        'reflect' mirrors without repeating the edge (amount < size), 'replicate'
        repeats the edge, 'circular' wraps around (amount <= size).
    value : float, optional
        The fill value of 'constant' mode (default 0).
    """
    _check_tensor(input, "pad")
    if mode not in PAD_MODES:
        raise NotImplementedError(
            f"pad(): mode {mode!r} is not supported; supported: {', '.join(PAD_MODES)}"
        )
    amounts = list(pad)
    if len(amounts) % 2 or len(amounts) > 2 * input.ndim:
        raise ValueError(
            f"pad(): pad must have an even length of at most 2 * input.ndim = {2 * input.ndim}, "
            f"got {tuple(amounts)} for an input of shape {input.shape}"
        )
    if any(isinstance(a, bool) or int(a) != a for a in amounts):
        raise TypeError(f"pad(): pad amounts must be integers, got {tuple(amounts)}")
    k = len(amounts) // 2
    pads = [(0, 0)] * (input.ndim - k) + [
        (int(amounts[2 * i]), int(amounts[2 * i + 1])) for i in reversed(range(k))
    ]
    if mode == "constant":
        for (lo, hi), n in zip(pads, input.shape, strict=True):
            if max(-lo, 0) + max(-hi, 0) > n:
                raise ValueError(
                    f"pad(): padding {tuple(amounts)} crops more than the input {input.shape}"
                )
        fill = 0.0 if value is None else value
        return apply_op(ops.Pad, input, pads=tuple(pads), mode=mode, value=fill)
    if value is not None and value != 0:
        raise ValueError(f"pad(): value= is only used by mode='constant', got mode={mode!r}")
    if k > 3 or input.ndim not in (k + 1, k + 2):
        raise NotImplementedError(
            f"pad(): mode {mode!r} pads the last 1 to 3 dimensions of a {k + 1}-D (unbatched) "
            f"or {k + 2}-D (batched) input; got {k} padded dimensions for shape {input.shape}"
        )
    if min(min(p) for p in pads) < 0:
        raise NotImplementedError(
            f"pad(): negative amounts (cropping) are supported in mode 'constant' only, "
            f"got {tuple(amounts)} with mode={mode!r}; crop with slicing first"
        )
    for (lo, hi), n in zip(pads, input.shape, strict=True):
        # PyTorch's limits: reflect < size, circular <= size, replicate any (size > 0).
        limit = {"reflect": n - 1, "circular": n}.get(mode, max(lo, hi) if n else 0)
        if max(lo, hi) > limit:
            raise ValueError(
                f"pad(): mode {mode!r} needs amounts below the size of each padded dimension "
                "for 'reflect', at most the size for 'circular', a non-empty dimension for "
                f"'replicate'; got {tuple(amounts)} for shape {input.shape}"
            )
    return apply_op(ops.Pad, input, pads=tuple(pads), mode=mode, value=0.0)


def kl_div(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """Kullback-Leibler divergence ``target * (log(target) - input)``, ``input`` in log space.

    Composed from engine ops, so ``target`` gets a gradient too when it needs one.
    ``0 * log 0`` counts as 0, as PyTorch.

    Parameters
    ----------
    input : Tensor
        Log-probabilities.
    target : Tensor of the same shape
        Probabilities, or log-probabilities when ``log_target=True``.
    size_average, reduce : bool, optional
        Deprecated (PyTorch's); use ``reduction``.
    reduction : {'mean', 'batchmean', 'sum', 'none'}, default='mean'
        'mean' averages over every element (PyTorch's default, which is not the
        divergence; it warns); 'batchmean' divides the sum by ``input.shape[0]``,
        the mathematical KL divergence per sample.
    log_target : bool, default=False
    """
    x = _float_input(input, "kl_div")
    t = _float_input(target, "kl_div", "target")
    _same_shape(x, t, "kl_div")
    if reduction == "batchmean":
        if size_average is not None or reduce is not None:
            reduction = legacy_reduction(size_average, reduce, "mean", "kl_div")
    else:
        reduction = legacy_reduction(size_average, reduce, reduction, "kl_div")
    if log_target:
        loss = t.exp() * (t - x)
    else:
        positive = t.array > 0
        safe = where(positive, t, 1.0)
        loss = where(positive, t * safe.log(), 0.0) - t * x
    if reduction == "batchmean":
        return loss.sum() / (x.shape[0] if x.ndim else 1)
    if reduction == "mean":
        warnings.warn(
            "kl_div(): reduction='mean' divides the total loss by both the batch size and the "
            "support size; 'batchmean' divides only by the batch size, and aligns with the "
            "KL div math definition.",
            UserWarning,
            stacklevel=2,
        )
    return _reduce(loss, reduction)


# ---------------------------------------------------------------- convolution and pooling
# Arguments as PyTorch takes them (int or tuple) become the 2-D form the ops take
# (1-D calls get a leading height of 1); each function records one op of
# retrograd.ops.conv or retrograd.ops.pool.

IntOr = int | Sequence[int]


def _ints(value: Any, d: int, name: str, op: str, low: int = 1) -> tuple[int, ...]:
    """``value`` (an int or ``d`` ints, each >= ``low``) as a tuple of ``d`` ints."""
    items = (value,) * d if is_int(value) else value
    try:
        items = tuple(items)
    except TypeError:
        raise TypeError(
            f"{op}(): {name} must be an int or a tuple of {d} ints, got {value!r}"
        ) from None
    if len(items) == 1 and d > 1:
        items = items * d
    if len(items) != d or any(not is_int(v) for v in items):
        raise TypeError(f"{op}(): {name} must be an int or a tuple of {d} ints, got {value!r}")
    if any(v < low for v in items):
        raise ValueError(f"{op}(): {name} must be >= {low}, got {value!r}")
    return items


def _pair(values: tuple[int, ...], fill: int) -> tuple[int, int]:
    """A 1-D argument with ``fill`` put in front for the height of 1."""
    return (fill, values[0]) if len(values) == 1 else (values[0], values[1])


def _batched_input(input: Any, d: int, op: str) -> tuple[Tensor, bool]:
    """Check ``input`` is a float Tensor of d+2 (batched) or d+1 dims; give it d+2 dims.

    Returns the batched input and whether it came unbatched (see :func:`_unbatched`).
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): input must be a Tensor, got {type(input).__name__}")
    if input.ndim not in (d + 1, d + 2):
        want = "(N, C, L) or (C, L)" if d == 1 else "(N, C, H, W) or (C, H, W)"
        raise ValueError(f"{op}(): expected an input of shape {want}, got {tuple(input.shape)}")
    if input.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{op}(): expected a floating point input, got dtype {input.dtype}")
    unbatched = input.ndim == d + 1
    return (input.unsqueeze(0) if unbatched else input), unbatched


def _unbatched(out: Tensor, unbatched: bool) -> Tensor:
    return out.squeeze(0) if unbatched else out


# ---------------------------------------------------------------- convolutions


def _conv_input(
    op: str, input: Any, weight: Any, bias: Any, groups: int, d: int, transposed: bool
) -> tuple[Tensor, bool]:
    """The batched input and whether it came unbatched, after checking it, weight and bias."""
    input, unbatched = _batched_input(input, d, op)
    if not isinstance(weight, Tensor):
        raise TypeError(f"{op}(): weight must be a Tensor, got {type(weight).__name__}")
    if weight.ndim != d + 2:
        layout = "(in, out/groups, *kernel)" if transposed else "(out, in/groups, *kernel)"
        raise ValueError(f"{op}(): weight must be {d + 2}-D {layout}, got {tuple(weight.shape)}")
    if not is_int(groups) or groups < 1:
        raise ValueError(f"{op}(): groups must be a positive int, got {groups!r}")
    c = input.shape[1]
    if transposed:
        if weight.shape[0] != c:
            raise ValueError(
                f"{op}(): input of shape {tuple(input.shape)} has {c} channels but weight of "
                f"shape {tuple(weight.shape)} expects {weight.shape[0]} (weight.shape[0])"
            )
        if c % groups:
            raise ValueError(f"{op}(): groups={groups} does not divide the {c} input channels")
        out = weight.shape[1] * groups
    else:
        if weight.shape[0] % groups:
            raise ValueError(
                f"{op}(): groups={groups} does not divide the {weight.shape[0]} output channels "
                f"of weight {tuple(weight.shape)}"
            )
        if c != weight.shape[1] * groups:
            raise ValueError(
                f"{op}(): input of shape {tuple(input.shape)} has {c} channels but weight of "
                f"shape {tuple(weight.shape)} with groups={groups} expects "
                f"{weight.shape[1] * groups} (weight.shape[1] * groups)"
            )
        out = weight.shape[0]
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.dtype != input.dtype:
            raise TypeError(
                f"{op}(): input has dtype {input.dtype} but {name} has dtype {t.dtype}; "
                "cast one of them (e.g. model.double() or x.float())"
            )
    if bias is not None:
        if not isinstance(bias, Tensor):
            raise TypeError(f"{op}(): bias must be a Tensor, got {type(bias).__name__}")
        if tuple(bias.shape) != (out,):
            raise ValueError(f"{op}(): bias must have shape ({out},), got {tuple(bias.shape)}")
    return input, unbatched


def _apply_conv(
    function: type[Op],
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    unbatched: bool,
    params: dict[str, Any],
) -> Tensor:
    """Record the (transposed) convolution ``function``; no bias is no third input."""
    if bias is not None:
        out = apply_op(function, x, weight, bias, has_bias=True, **params)
    else:
        out = apply_op(function, x, weight, has_bias=False, **params)
    return _unbatched(out, unbatched)


def _conv(
    op: str,
    d: int,
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: IntOr,
    padding: IntOr | str,
    dilation: IntOr,
    groups: int,
) -> Tensor:
    x, unbatched = _conv_input(op, input, weight, bias, groups, d, transposed=False)
    s = _ints(stride, d, "stride", op)
    dil = _ints(dilation, d, "dilation", op)
    kernel = tuple(weight.shape[2:])
    if isinstance(padding, str):
        if padding == "valid":
            pads = [(0, 0)] * d
        elif padding == "same":
            if any(v != 1 for v in s):
                raise ValueError(
                    f"{op}(): padding='same' is not supported for strided convolutions"
                )
            # As PyTorch: the odd element of an even total goes at the end.
            pads = [
                (dk * (k - 1) // 2, dk * (k - 1) - dk * (k - 1) // 2)
                for k, dk in zip(kernel, dil, strict=True)
            ]
        else:
            raise ValueError(f"{op}(): padding must be 'same', 'valid' or ints, got {padding!r}")
    else:
        pads = [(p, p) for p in _ints(padding, d, "padding", op, low=0)]
    spatial = tuple(x.shape[2:])
    for size, (lo, hi), k, dk, name in zip(
        spatial, pads, kernel, dil, "HW"[-d:] if d == 2 else "L", strict=True
    ):
        if size + lo + hi < dk * (k - 1) + 1:
            raise ValueError(
                f"{op}(): input of shape {tuple(input.shape)}, padded to {size + lo + hi} along "
                f"{name}, is smaller than the (dilated) kernel {dk * (k - 1) + 1} of weight "
                f"{tuple(weight.shape)}"
            )
    pad2 = ((0, 0), pads[0]) if d == 1 else (pads[0], pads[1])
    params = dict(stride=_pair(s, 1), padding=pad2, dilation=_pair(dil, 1), groups=groups)
    return _apply_conv(ops.Conv, x, weight, bias, unbatched, params)


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntOr = 1,
    padding: IntOr | str = 0,
    dilation: IntOr = 1,
    groups: int = 1,
) -> Tensor:
    """1-D cross-correlation, as ``torch.nn.functional.conv1d``.

    Parameters
    ----------
    input : Tensor of shape (N, C_in, L) or (C_in, L)
    weight : Tensor of shape (C_out, C_in/groups, k)
    bias : Tensor of shape (C_out,), optional
    stride, dilation : int or (int,), default=1
    padding : int, (int,), 'valid' or 'same', default=0
        Zeros on both ends; 'same' (stride 1 only) keeps the length.
    groups : int, default=1
        Split the channels into groups convolved separately.

    Returns
    -------
    Tensor of shape (N, C_out, L_out), ``L_out = (L + 2p - d(k-1) - 1) // s + 1``.
    """
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntOr = 1,
    padding: IntOr | str = 0,
    dilation: IntOr = 1,
    groups: int = 1,
) -> Tensor:
    """2-D cross-correlation, as ``torch.nn.functional.conv2d``.

    One node: the forward and each gradient are one batched matrix product
    over the copied windows (see :mod:`retrograd.ops.conv`).

    Parameters
    ----------
    input : Tensor of shape (N, C_in, H, W) or (C_in, H, W)
    weight : Tensor of shape (C_out, C_in/groups, kh, kw)
    bias : Tensor of shape (C_out,), optional
    stride, dilation : int or (int, int), default=1
    padding : int, (int, int), 'valid' or 'same', default=0
        Zeros on both sides of each dimension; 'same' (stride 1 only) keeps
        the size, the odd element of an even total at the end as PyTorch.
    groups : int, default=1
        Split the channels into groups convolved separately.

    Returns
    -------
    Tensor of shape (N, C_out, OH, OW), ``OH = (H + 2p - d(kh-1) - 1) // s + 1``.
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def _conv_transpose(
    op: str,
    d: int,
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: IntOr,
    padding: IntOr,
    output_padding: IntOr,
    groups: int,
    dilation: IntOr,
) -> Tensor:
    x, unbatched = _conv_input(op, input, weight, bias, groups, d, transposed=True)
    s = _ints(stride, d, "stride", op)
    dil = _ints(dilation, d, "dilation", op)
    p = _ints(padding, d, "padding", op, low=0)
    op_ = _ints(output_padding, d, "output_padding", op, low=0)
    for a, sa, da in zip(op_, s, dil, strict=True):
        if a >= sa and a >= da:
            raise ValueError(
                f"{op}(): output_padding {op_} must be smaller than stride {s} or dilation {dil}"
            )
    for size, k, sa, da, pa, a in zip(x.shape[2:], weight.shape[2:], s, dil, p, op_, strict=True):
        if (size - 1) * sa - 2 * pa + da * (k - 1) + a + 1 <= 0:
            raise ValueError(
                f"{op}(): input of shape {tuple(input.shape)} with weight {tuple(weight.shape)}, "
                f"stride {s}, padding {p} and dilation {dil} gives an empty output"
            )
    pad2 = ((0, 0), (p[0], p[0])) if d == 1 else ((p[0], p[0]), (p[1], p[1]))
    params = dict(
        stride=_pair(s, 1),
        padding=pad2,
        output_padding=_pair(op_, 0),
        dilation=_pair(dil, 1),
        groups=groups,
    )
    return _apply_conv(ops.ConvTranspose, x, weight, bias, unbatched, params)


def conv_transpose1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntOr = 1,
    padding: IntOr = 0,
    output_padding: IntOr = 0,
    groups: int = 1,
    dilation: IntOr = 1,
) -> Tensor:
    """1-D transposed convolution, as ``torch.nn.functional.conv_transpose1d``.

    See :func:`conv_transpose2d`; ``input`` (N, C_in, L), ``weight`` (C_in, C_out/groups, k).
    """
    return _conv_transpose(
        "conv_transpose1d",
        1,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntOr = 1,
    padding: IntOr = 0,
    output_padding: IntOr = 0,
    groups: int = 1,
    dilation: IntOr = 1,
) -> Tensor:
    """2-D transposed convolution (the adjoint of :func:`conv2d`), as PyTorch's.

    Parameters
    ----------
    input : Tensor of shape (N, C_in, H, W) or (C_in, H, W)
    weight : Tensor of shape (C_in, C_out/groups, kh, kw)
    bias : Tensor of shape (C_out,), optional
    stride, dilation : int or (int, int), default=1
    padding : int or (int, int), default=0
        Rows/columns cropped from each side of the full output.
    output_padding : int or (int, int), default=0
        Extra rows/columns at the end; smaller than stride or dilation.
    groups : int, default=1

    Returns
    -------
    Tensor of shape (N, C_out, OH, OW), ``OH = (H-1)s - 2p + d(kh-1) + output_padding + 1``.
    """
    return _conv_transpose(
        "conv_transpose2d",
        2,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )


# ---------------------------------------------------------------- pooling

#: Docstring fields the 2-D pooling functions and the modules of :mod:`retrograd.nn.pooling`
#: share, filled in by :func:`pool_doc`.
POOL_DOCS: dict[str, str] = {
    "max_window": """kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Default ``kernel_size``.
    padding : int or (int, int), default=0
        Implicit -inf on both sides, at most half the kernel.
    dilation : int or (int, int), default=1""",
    "avg_window": """kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Default ``kernel_size``.
    padding : int or (int, int), default=0
        Implicit zeros on both sides, at most half the kernel.
    ceil_mode : bool, default=False
        Round the output size up.""",
}

#: Fills a pooling docstring's fields from :data:`POOL_DOCS`.
pool_doc = fill_doc(**POOL_DOCS)


def _pool_size(
    op: str, size: int, k: int, s: int, p: int, dk: int, ceil_mode: bool, shape: Any
) -> int:
    """PyTorch's pooled length; in ceil mode the last window must start inside the input."""
    span = dk * (k - 1) + 1
    num = size + 2 * p - span
    out = (-(-num // s) if ceil_mode else num // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    if out < 1:
        raise ValueError(
            f"{op}(): input of shape {tuple(shape)} is too small for kernel {k} with "
            f"padding {p} and dilation {dk}: output size would be {out}"
        )
    return out


def _pool_args(
    op: str,
    d: int,
    x: Tensor,
    kernel_size: IntOr,
    stride: IntOr | None,
    padding: IntOr,
    dilation: IntOr,
    ceil_mode: bool,
    shape: tuple[int, ...],
) -> tuple[Any, ...]:
    """Pooling arguments as tuples, the output size, and the pooling op's window arguments.

    The window's padding is ``(top/left, bottom/right)`` per spatial axis, with a leading
    ``(0, 0)`` for the 1-D case (the ops pool over two axes, a sequence being one row).
    """
    k = _ints(kernel_size, d, "kernel_size", op)
    s = (
        k
        if stride is None or (not isinstance(stride, int) and len(stride) == 0)
        else _ints(stride, d, "stride", op)
    )
    p = _ints(padding, d, "padding", op, low=0)
    dil = _ints(dilation, d, "dilation", op)
    for pa, ka in zip(p, k, strict=True):
        if pa > ka // 2:
            raise ValueError(
                f"{op}(): padding should be at most half of the kernel size, got padding {p} "
                f"and kernel_size {k}"
            )
    out = tuple(
        _pool_size(op, n, ka, sa, pa, da, ceil_mode, shape)
        for n, ka, sa, pa, da in zip(x.shape[2:], k, s, p, dil, strict=True)
    )
    # Bottom/right padding: enough for the last window (ceil mode may need more than p).
    hi = tuple(
        max(pa, (o - 1) * sa + da * (ka - 1) + 1 - n - pa)
        for n, o, ka, sa, pa, da in zip(x.shape[2:], out, k, s, p, dil, strict=True)
    )
    pads = ((0, 0), (p[0], hi[0])) if d == 1 else ((p[0], hi[0]), (p[1], hi[1]))
    window = dict(kernel=_pair(k, 1), stride=_pair(s, 1), padding=pads, out_size=_pair(out, 1))
    return k, s, p, dil, out, window


def _max_pool(
    op: str,
    d: int,
    input: Tensor,
    kernel_size: IntOr,
    stride: IntOr | None,
    padding: IntOr,
    dilation: IntOr,
    ceil_mode: bool,
    return_indices: bool,
) -> Tensor | tuple[Tensor, Tensor]:
    x, unbatched = _batched_input(input, d, op)
    *_, dil, _, window = _pool_args(
        op, d, x, kernel_size, stride, padding, dilation, ceil_mode, input.shape
    )
    sink: list[Any] | None = [] if return_indices else None
    y = apply_op(ops.MaxPool, x, dilation=_pair(dil, 1), sink=sink, **window)
    y = _unbatched(y, unbatched)
    if sink is None:
        return y
    idx = sink[0][0] if unbatched else sink[0]
    return y, wrap_array(idx)


def max_pool1d(
    input: Tensor,
    kernel_size: IntOr,
    stride: IntOr | None = None,
    padding: IntOr = 0,
    dilation: IntOr = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """1-D max pooling, as ``torch.nn.functional.max_pool1d``; see :func:`max_pool2d`."""
    return _max_pool(
        "max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


@pool_doc
def max_pool2d(
    input: Tensor,
    kernel_size: IntOr,
    stride: IntOr | None = None,
    padding: IntOr = 0,
    dilation: IntOr = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """2-D max pooling, as ``torch.nn.functional.max_pool2d``.

    The gradient of each window goes to its first maximum (PyTorch's choice at ties).

    Parameters
    ----------
    input : Tensor of shape (N, C, H, W) or (C, H, W)
    {max_window}
    ceil_mode : bool, default=False
        Round the output size up (a last window may overhang the input).
    return_indices : bool, default=False
        Also return the int64 indices of the maxima in each flattened H*W plane.

    Returns
    -------
    Tensor of shape (N, C, OH, OW), and the indices of that shape with ``return_indices``.
    """
    return _max_pool(
        "max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def _avg_pool(
    op: str,
    d: int,
    input: Tensor,
    kernel_size: IntOr,
    stride: IntOr | None,
    padding: IntOr,
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: int | None,
) -> Tensor:
    if divisor_override is not None:
        raise NotImplementedError(
            f"{op}(): divisor_override is not supported (got {divisor_override!r}); divide the "
            "sum yourself: avg_pool(x) * count / divisor"
        )
    x, unbatched = _batched_input(input, d, op)
    k, s, p, _, out, window = _pool_args(
        op, d, x, kernel_size, stride, padding, 1, ceil_mode, input.shape
    )
    divs = [
        ops.pool.avg_divisor(n, o, ka, sa, pa, count_include_pad)
        for n, o, ka, sa, pa in zip(x.shape[2:], out, k, s, p, strict=True)
    ]
    divisor = divs[0][None, :] if d == 1 else divs[0][:, None] * divs[1][None, :]
    y = apply_op(ops.AvgPool, x, divisor=divisor, **window)
    return _unbatched(y, unbatched)


def avg_pool1d(
    input: Tensor,
    kernel_size: IntOr,
    stride: IntOr | None = None,
    padding: IntOr = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """1-D average pooling, as ``torch.nn.functional.avg_pool1d``; see :func:`avg_pool2d`."""
    return _avg_pool(
        "avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None
    )


@pool_doc
def avg_pool2d(
    input: Tensor,
    kernel_size: IntOr,
    stride: IntOr | None = None,
    padding: IntOr = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """2-D average pooling, as ``torch.nn.functional.avg_pool2d``.

    Parameters
    ----------
    input : Tensor of shape (N, C, H, W) or (C, H, W)
    {avg_window}
    count_include_pad : bool, default=True
        Count the padding zeros in the divisor (never the overhang of ``ceil_mode``).
    divisor_override : None
        Not supported: anything but None raises NotImplementedError.

    Returns
    -------
    Tensor of shape (N, C, OH, OW)
    """
    return _avg_pool(
        "avg_pool2d",
        2,
        input,
        kernel_size,
        stride,
        padding,
        ceil_mode,
        count_include_pad,
        divisor_override,
    )


def _adaptive_size(output_size: Any, x: Tensor, d: int, op: str) -> tuple[int, ...]:
    if output_size is None or isinstance(output_size, int):
        items: tuple[Any, ...] = (output_size,) * d
    else:
        items = tuple(output_size)
    if len(items) != d:
        raise ValueError(f"{op}(): output_size must be an int or {d} ints, got {output_size!r}")
    # None keeps that dimension's input size, as PyTorch.
    sizes = tuple(int(x.shape[2 + i]) if v is None else v for i, v in enumerate(items))
    if any(not is_int(v) or v < 1 for v in sizes):
        raise ValueError(f"{op}(): output_size must be positive ints, got {output_size!r}")
    for n in x.shape[2:]:
        if n < 1:
            raise ValueError(f"{op}(): input of shape {tuple(x.shape)} has an empty dimension")
    return sizes


def _adaptive_avg(op: str, d: int, input: Tensor, output_size: Any) -> Tensor:
    x, unbatched = _batched_input(input, d, op)
    out = _adaptive_size(output_size, x, d, op)
    y = apply_op(ops.AdaptiveAvgPool, x, out_size=_pair(out, 1))
    return _unbatched(y, unbatched)


def adaptive_avg_pool1d(input: Tensor, output_size: int | Sequence[int]) -> Tensor:
    """1-D adaptive average pooling, as ``torch.nn.functional.adaptive_avg_pool1d``."""
    return _adaptive_avg("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input: Tensor, output_size: int | Sequence[int | None]) -> Tensor:
    """2-D adaptive average pooling, as ``torch.nn.functional.adaptive_avg_pool2d``.

    Output cell i of a dimension of size n averages the input's
    ``[floor(i*n/out), ceil((i+1)*n/out))``; both directions are matrix products.

    Parameters
    ----------
    input : Tensor of shape (N, C, H, W) or (C, H, W)
    output_size : int or (int or None, int or None)
        None keeps that dimension's size.

    Returns
    -------
    Tensor of shape (N, C, *output_size)
    """
    return _adaptive_avg("adaptive_avg_pool2d", 2, input, output_size)


def _adaptive_max(
    op: str, d: int, input: Tensor, output_size: Any, return_indices: bool
) -> Tensor | tuple[Tensor, Tensor]:
    x, unbatched = _batched_input(input, d, op)
    out = _adaptive_size(output_size, x, d, op)
    sink: list[Any] | None = [] if return_indices else None
    y = _unbatched(apply_op(ops.AdaptiveMaxPool, x, out_size=_pair(out, 1), sink=sink), unbatched)
    if sink is None:
        return y
    return y, wrap_array(sink[0][0] if unbatched else sink[0])


def adaptive_max_pool1d(
    input: Tensor, output_size: int | Sequence[int], return_indices: bool = False
) -> Tensor | tuple[Tensor, Tensor]:
    """1-D adaptive max pooling, as ``torch.nn.functional.adaptive_max_pool1d``."""
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(
    input: Tensor, output_size: int | Sequence[int | None], return_indices: bool = False
) -> Tensor | tuple[Tensor, Tensor]:
    """2-D adaptive max pooling, as ``torch.nn.functional.adaptive_max_pool2d``.

    Windows as :func:`adaptive_avg_pool2d`'s; the gradient goes to each window's
    first maximum. ``return_indices`` also returns the int64 flat indices of
    the maxima in each H*W plane.
    """
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)


# ---------------------------------------------------------------- channel dropout


def dropout2d(
    input: Tensor,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    generator: Generator | None = None,
) -> Tensor:
    """Zero whole channels with probability ``p``, scaling the rest by ``1/(1-p)``.

    As ``torch.nn.functional.dropout2d``: one draw per (sample, channel) of an
    (N, C, H, W) input; a 3-D input is taken as (N, C, L), as PyTorch does.
    The mask comes from the default generator (or ``generator``).

    Parameters
    ----------
    input : Tensor of shape (N, C, H, W) or (N, C, L)
    p : float, default=0.5
    training : bool, default=True
        False returns ``input`` unchanged.
    inplace : bool, default=False
        Accepted for PyTorch compatibility; the result is a new tensor.
    generator : Generator, optional

    Returns
    -------
    Tensor of the same shape as ``input``
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"dropout2d(): input must be a Tensor, got {type(input).__name__}")
    if not is_real(p) or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p!r}")
    if input.ndim not in (3, 4):
        raise ValueError(
            f"dropout2d(): expected an input of shape (N, C, H, W) or (N, C, L), got "
            f"{tuple(input.shape)}"
        )
    if not training or p == 0.0:
        return input
    if input.dtype not in FLOAT_DTYPES:
        raise TypeError(f"dropout2d(): expected a floating point input, got dtype {input.dtype}")
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    dtype = input.dtype
    if p == 1.0:
        mask = xp.zeros(shape, dtype=dtype)
    else:
        keep = get_rng(generator).random(shape, dtype=dtype) >= p
        mask = keep * xp.asarray(1.0 / (1.0 - p), dtype=dtype)
    # ops.Dropout multiplies by the broadcast mask; its gradient g*mask has g's shape.
    return apply_op(ops.Dropout, input, mask=mask)
