"""Loss functions with PyTorch's names, signatures and semantics.

Regression: :func:`mse_loss`, :func:`l1_loss`, :func:`huber_loss`,
:func:`smooth_l1_loss`. Classification: :func:`cross_entropy` (from logits),
:func:`nll_loss` (from log-probabilities), :func:`binary_cross_entropy` (from
probabilities) and :func:`binary_cross_entropy_with_logits`.

Each loss is one fused op (a :class:`~retrograd.autograd.Function` with forward
and backward side by side) followed, where it is not fused in, by the
reduction; only cross-entropy with class-probability targets is composed from
engine ops (``log_softmax``, ``*``, ``sum``), which also gives the target its
gradient. Inputs are validated here, at the boundary, so that a target of the
wrong shape, dtype or class range fails with a message that says what was
expected and what came, instead of broadcasting into a wrong loss.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from ._backend import FLOAT_DTYPES, ndarray, xp
from .autograd import is_grad_enabled
from .ops.loss import (
    NLL,
    AbsoluteError,
    BinaryCrossEntropy,
    BinaryCrossEntropyWithLogits,
    CrossEntropy,
    Huber,
    SmoothL1,
    SoftmaxCrossEntropy,
    SquaredError,
)
from .tensor import Tensor, _apply, _as_tensor

_INT64 = xp.dtype(xp.int64)

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


def _legacy_reduction(
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
    t = _as_tensor(input)
    if t.dtype not in FLOAT_DTYPES:
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
    target = _as_tensor(target)
    _same_shape(input, target, op)
    if target.dtype.kind != "f":
        target = target.to(input.dtype)
    return input, target


def _binary_pair(input: Any, target: Any, op: str) -> tuple[Tensor, Tensor]:
    input = _float_input(input, op)
    target = _as_tensor(target)
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
    return w.data.astype(dtype, copy=False)


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
    if input.ndim == 0:
        raise ValueError(
            f"{op}(): input must have shape (C,), (N, C) or (N, C, d1, ...) with C classes, "
            "got a 0-d tensor"
        )
    axis = 0 if input.ndim == 1 else 1
    if input.shape[axis] == 0:
        raise ValueError(f"{op}(): input of shape {input.shape} has no classes (C = 0)")
    return input, axis


def _index_shape(input: Tensor, axis: int) -> tuple[int, ...]:
    return input.shape[:axis] + input.shape[axis + 1 :]


def _class_indices(
    input: Tensor, target: Tensor, axis: int, ignore_index: int, op: str, probs_ok: bool
) -> ndarray:
    """Check class-index targets against ``input``; return them as an int64 array."""
    expected = _index_shape(input, axis)
    n_classes = input.shape[axis]
    also = f", or class probabilities of shape {input.shape}" if probs_ok else ""
    t = target.data
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
            f"{op}(): for input of shape {input.shape}, class-index targets must have shape "
            f"{expected}{also}; got target of shape {target.shape}{batch}"
        )
    t = t.astype(xp.int64, copy=False)  # before comparing: uint8 cannot hold ignore_index=-100
    if not t.size or (t.min() >= 0 and t.max() < n_classes):  # two passes for the usual case
        return t
    bad = (t != ignore_index) & ((t < 0) | (t >= n_classes))
    if bad.any():
        raise ValueError(
            f"{op}(): target holds class index {t[bad].flat[0]}, out of range for "
            f"{n_classes} classes: expected 0 to {n_classes - 1} (or ignore_index={ignore_index})"
        )
    return t


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
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, xp.integer)):
        raise TypeError(f"{op}(): ignore_index must be an int, got {ignore_index!r}")
    return int(ignore_index)


# ---------------------------------------------------------------- regression losses


def _weighted(
    loss: Tensor, weight: Any, input: Tensor, reduction: str, op: str, mean_by_weight: bool
) -> Tensor:
    """Reduce ``loss`` after PyTorch's optional per-element ``weight`` (of input's shape)."""
    if weight is None:
        return _reduce(loss, reduction)
    w = _as_tensor(weight)
    if w.shape != input.shape:
        raise ValueError(
            f"{op}(): weight shape {w.shape} must be the same as input shape {input.shape}"
        )
    loss = loss * w
    if reduction == "mean" and mean_by_weight:
        return loss.sum() / w.sum()
    return _reduce(loss, reduction)


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
    input : Tensor of shape (*), floating point
    target : Tensor of shape (*)
        The same shape as ``input`` (a different shape is an error, not a
        broadcast). Integer targets are promoted to ``input``'s dtype.
    size_average, reduce : bool, optional
        Deprecated (see ``reduction``), as in PyTorch.
    reduction : {'mean', 'sum', 'none'}, default='mean'
        'none' returns the loss per element, shape (*).
    weight : Tensor of shape (*), optional
        Per-element weights; with them 'mean' is ``sum(w * loss) / sum(w)``.

    Returns
    -------
    Tensor
        A scalar, or shape (*) for ``reduction='none'``.
    """
    reduction = _legacy_reduction(size_average, reduce, reduction, "mse_loss")
    input, target = _regression_pair(input, target, "mse_loss")
    loss = _apply(SquaredError, input, target)
    return _weighted(loss, weight, input, reduction, "mse_loss", mean_by_weight=True)


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
    input : Tensor of shape (*), floating point
    target : Tensor of shape (*)
        The same shape as ``input``. Integer targets are promoted.
    size_average, reduce : bool, optional
        Deprecated (see ``reduction``), as in PyTorch.
    reduction : {'mean', 'sum', 'none'}, default='mean'
    weight : Tensor of shape (*), optional
        Per-element weights; with them 'mean' is ``sum(w * loss) / sum(w)``.

    Returns
    -------
    Tensor
        A scalar, or shape (*) for ``reduction='none'``.
    """
    reduction = _legacy_reduction(size_average, reduce, reduction, "l1_loss")
    input, target = _regression_pair(input, target, "l1_loss")
    loss = _apply(AbsoluteError, input, target)
    return _weighted(loss, weight, input, reduction, "l1_loss", mean_by_weight=True)


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
    input : Tensor of shape (*), floating point
    target : Tensor of shape (*)
        The same shape as ``input``. Integer targets are promoted.
    reduction : {'mean', 'sum', 'none'}, default='mean'
    delta : float, default=1.0
        Where the loss turns linear; must be positive.
    weight : Tensor of shape (*), optional
        Per-element weights; with them 'mean' is ``mean(w * loss)`` (as PyTorch).

    Returns
    -------
    Tensor
        A scalar, or shape (*) for ``reduction='none'``.
    """
    reduction = _check_reduction(reduction, "huber_loss")
    if not delta > 0:
        raise ValueError(f"huber_loss(): delta must be positive, got {delta!r}")
    input, target = _regression_pair(input, target, "huber_loss")
    loss = _apply(Huber, input, target, delta=float(delta))
    return _weighted(loss, weight, input, reduction, "huber_loss", mean_by_weight=False)


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
    input : Tensor of shape (*), floating point
    target : Tensor of shape (*)
        The same shape as ``input``. Integer targets are promoted.
    size_average, reduce : bool, optional
        Deprecated (see ``reduction``), as in PyTorch.
    reduction : {'mean', 'sum', 'none'}, default='mean'
    beta : float, default=1.0
        Where the loss turns linear; must be non-negative.

    Returns
    -------
    Tensor
        A scalar, or shape (*) for ``reduction='none'``.
    """
    reduction = _legacy_reduction(size_average, reduce, reduction, "smooth_l1_loss")
    if not beta >= 0:
        raise ValueError(f"smooth_l1_loss(): beta must be non-negative, got {beta!r}")
    input, target = _regression_pair(input, target, "smooth_l1_loss")
    if beta == 0:
        return _reduce(_apply(AbsoluteError, input, target), reduction)
    return _reduce(_apply(SmoothL1, input, target, beta=float(beta)), reduction)


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
    if (
        type(input) is Tensor
        and type(target) is Tensor
        and weight is None
        and size_average is None
        and reduce is None
        and not label_smoothing
        and (reduction == "mean" or reduction == "sum")
    ):
        # The common case, checked in a few comparisons; anything unusual (ignored or
        # out-of-range targets, other shapes or dtypes) goes on to the full validation.
        x, t = input.data, target.data
        n_classes = x.shape[-1] if x.ndim == 2 else 0
        if (
            n_classes
            and t.dtype == _INT64
            and t.shape == (x.shape[0],)
            and x.shape[0] > 0
            and x.dtype in FLOAT_DTYPES
            and type(ignore_index) is int
            and not 0 <= ignore_index < n_classes
            # one pass for 0 <= t < C: a negative int64 seen as uint64 is above any C
            and xp.maximum.reduce(t.view(xp.uint64)) < n_classes
        ):
            return _apply(SoftmaxCrossEntropy, input, target=t, mean=reduction == "mean")
    op = "cross_entropy"
    reduction = _legacy_reduction(size_average, reduce, reduction, op)
    ignore_index = _check_ignore_index(ignore_index, op)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}(): label_smoothing must be in [0, 1], got {label_smoothing!r}")
    input, axis = _class_input(input, op)
    target = _as_tensor(target)
    w = _class_weight(weight, input, axis, op)
    if target.shape == input.shape:
        return _cross_entropy_probs(
            input, target, axis, w, ignore_index, reduction, label_smoothing
        )
    t = _class_indices(input, target, axis, ignore_index, op, probs_ok=True)
    if (
        w is None
        and not label_smoothing
        and reduction != "none"
        and input.ndim == 2
        and input.shape[0] > 0
        and not (t == ignore_index).any()
    ):
        return _apply(SoftmaxCrossEntropy, input, target=t, mean=reduction == "mean")
    return _apply(
        CrossEntropy,
        input,
        target=t,
        weight=w,
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
    size_average, reduce : bool, optional
        Deprecated (see ``reduction``), as in PyTorch.
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
    reduction = _legacy_reduction(size_average, reduce, reduction, op)
    ignore_index = _check_ignore_index(ignore_index, op)
    input, axis = _class_input(input, op)
    t = _class_indices(input, _as_tensor(target), axis, ignore_index, op, probs_ok=False)
    w = _class_weight(weight, input, axis, op)
    return _apply(
        NLL, input, target=t, weight=w, ignore_index=ignore_index, reduction=reduction, axis=axis
    )


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
    size_average, reduce : bool, optional
        Deprecated (see ``reduction``), as in PyTorch.
    reduction : {'mean', 'sum', 'none'}, default='mean'
        'mean' divides by the number of elements.

    Returns
    -------
    Tensor
        A scalar, or shape (*) for ``reduction='none'``.
    """
    op = "binary_cross_entropy"
    reduction = _legacy_reduction(size_average, reduce, reduction, op)
    input, target = _binary_pair(input, target, op)
    for name, t, hint in (
        ("input", input, " (apply sigmoid first, or use binary_cross_entropy_with_logits)"),
        ("target", target, ""),
    ):
        outside = ~((t.data >= 0) & (t.data <= 1))  # NaN counts as outside
        if outside.any():
            raise ValueError(
                f"{op}(): every element of {name} must lie in [0, 1]{hint}; "
                f"got {t.data[outside].flat[0]}"
            )
    w = _broadcast_weight(weight, input, op, "weight")
    return _reduce(_apply(BinaryCrossEntropy, input, target, weight=w), reduction)


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
    size_average, reduce : bool, optional
        Deprecated (see ``reduction``), as in PyTorch.
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
    reduction = _legacy_reduction(size_average, reduce, reduction, op)
    input, target = _binary_pair(input, target, op)
    w = _broadcast_weight(weight, input, op, "weight")
    pw = _broadcast_weight(pos_weight, input, op, "pos_weight")
    loss = _apply(BinaryCrossEntropyWithLogits, input, target, weight=w, pos_weight=pw)
    return _reduce(loss, reduction)


__all__ = [
    "REDUCTIONS",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "huber_loss",
    "l1_loss",
    "mse_loss",
    "nll_loss",
    "smooth_l1_loss",
]
