"""Loss modules: the functions of :mod:`retrograd.nn.functional` with their options stored.

Constructor arguments, their order and defaults are PyTorch's, including the
deprecated ``size_average`` and ``reduce``. Class weights (``weight``,
``pos_weight``) are buffers, as in PyTorch: they appear in ``state_dict()``,
follow ``.double()``, and receive no gradient. The ``reduction`` is checked
when the module is made, against the same table the functions use.
"""

from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from .module import Module


class _Loss(Module):
    """Base of the loss modules: holds the validated ``reduction``."""

    reduction: str

    def __init__(
        self,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        self.reduction = F.legacy_reduction(size_average, reduce, reduction, type(self).__name__)


class _WeightedLoss(_Loss):
    """Base of the loss modules with a ``weight`` buffer."""

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


@F.loss_doc
class MSELoss(_Loss):
    """Mean squared error ``(input - target)**2``; see :func:`retrograd.nn.functional.mse_loss`.

    Parameters
    ----------
    {legacy}
    reduction : {'mean', 'sum', 'none'}, default='mean'

    {shape}
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


@F.loss_doc
class L1Loss(_Loss):
    """Mean absolute error ``|input - target|``; see :func:`retrograd.nn.functional.l1_loss`.

    Parameters
    ----------
    {legacy}
    reduction : {'mean', 'sum', 'none'}, default='mean'

    {shape}
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


@F.loss_doc
class HuberLoss(_Loss):
    """Huber loss, quadratic below ``delta`` and linear above; see
    :func:`retrograd.nn.functional.huber_loss`.

    Parameters
    ----------
    reduction : {'mean', 'sum', 'none'}, default='mean'
    delta : float, default=1.0
        Where the loss turns linear; must be positive.

    {shape}
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


@F.loss_doc
class SmoothL1Loss(_Loss):
    """Smooth L1 loss, ``huber_loss(delta=beta) / beta``; see
    :func:`retrograd.nn.functional.smooth_l1_loss`.

    Parameters
    ----------
    {legacy}
    reduction : {'mean', 'sum', 'none'}, default='mean'
    beta : float, default=1.0
        Where the loss turns linear; 0 gives the L1 loss.

    {shape}
    """

    def __init__(
        self,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
        beta: float = 1.0,
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


@F.loss_doc
class CrossEntropyLoss(_WeightedLoss):
    """Cross-entropy from logits, the classification loss; see
    :func:`retrograd.nn.functional.cross_entropy`.

    Parameters
    ----------
    {class_weight}
    {legacy}
    ignore_index : int, default=-100
        Class-index targets equal to it are left out of the loss and the mean.
    reduction : {'mean', 'sum', 'none'}, default='mean'
        'mean' divides by the summed weights of the non-ignored targets.
    label_smoothing : float, default=0.0
        In [0, 1]; mixes the target with the uniform distribution.

    Shape
    -----
    input : (C,), (N, C) or (N, C, d1, ...) logits.
    target : class indices (), (N,) or (N, d1, ...), integer; or class
    probabilities of the input's shape, floating point.
    output : scalar, or (), (N,) or (N, d1, ...) for 'none'.
    """

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: bool | None = None,
        ignore_index: int = -100,
        reduce: bool | None = None,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(
            input,
            target,
            weight=self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )


@F.loss_doc
class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities; see :func:`retrograd.nn.functional.nll_loss`.

    Parameters
    ----------
    {class_weight}
    {legacy}
    ignore_index : int, default=-100
        Targets equal to it are left out of the loss and the mean.
    reduction : {'mean', 'sum', 'none'}, default='mean'
        'mean' divides by the summed weights of the non-ignored targets.

    Shape
    -----
    input : (C,), (N, C) or (N, C, d1, ...) log-probabilities.
    target : (), (N,) or (N, d1, ...) class indices, integer.
    output : scalar, or the target's shape for 'none'.
    """

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: bool | None = None,
        ignore_index: int = -100,
        reduce: bool | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.nll_loss(
            input,
            target,
            weight=self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
        )


@F.loss_doc
class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities.

    See :func:`retrograd.nn.functional.binary_cross_entropy`.

    Parameters
    ----------
    {broadcast_weight}
    {legacy}
    reduction : {'mean', 'sum', 'none'}, default='mean'

    Shape
    -----
    input : (*) probabilities in [0, 1]; target : (*) the same shape, floating
    point; output : scalar, or (*) for 'none'.
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


@F.loss_doc
class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of ``sigmoid(input)``, fused and stable; see
    :func:`retrograd.nn.functional.binary_cross_entropy_with_logits`.

    Parameters
    ----------
    {broadcast_weight}
    {legacy}
    reduction : {'mean', 'sum', 'none'}, default='mean'
    pos_weight : Tensor, optional
        The weight of positive examples, broadcastable to the input's shape
        (usually (C,)), registered as a buffer.

    Shape
    -----
    input : (*) logits; target : (*) the same shape, floating point; output :
    scalar, or (*) for 'none'.
    """

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
        pos_weight: Tensor | None = None,
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(
            input,
            target,
            weight=self.weight,
            reduction=self.reduction,
            pos_weight=self.pos_weight,
        )


__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "HuberLoss",
    "L1Loss",
    "MSELoss",
    "NLLLoss",
    "SmoothL1Loss",
]


class KLDivLoss(_Loss):
    """Kullback-Leibler divergence ``target * (log(target) - input)``, ``input`` log-probabilities.

    See :func:`retrograd.nn.functional.kl_div`.

    Parameters
    ----------
    size_average, reduce : bool, optional
        Deprecated (PyTorch's); use ``reduction``.
    reduction : {'mean', 'batchmean', 'sum', 'none'}, default='mean'
        'batchmean' (the sum divided by the batch size) is the divergence per sample.
    log_target : bool, default=False
        ``target`` holds log-probabilities.
    """

    def __init__(
        self,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
        log_target: bool = False,
    ) -> None:
        if reduction == "batchmean" and size_average is None and reduce is None:
            super().__init__(reduction="mean")
            self.reduction = "batchmean"
        else:
            super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


# ---------------------------------------------------------------- the registry of names

from typing import NamedTuple  # noqa: E402  (this block is self-contained; may move up)


class LossEntry(NamedTuple):
    """One row of :data:`LOSSES`: the loss module's class and the task whose targets it takes."""

    cls: type[Module]
    task: str  # 'classification' (class indices) or 'regression' (values)


#: Loss names to their module class and task: the one table behind every ``loss=`` string
#: option (``retrograd.pipeline``, ``retrograd train --loss``, ``retrograd explain --loss``).
#: Resolve a user's spelling with ``retrograd.options.lookup(LOSSES, name, "loss")``.
LOSSES: dict[str, LossEntry] = {
    "cross-entropy": LossEntry(CrossEntropyLoss, "classification"),
    "mse": LossEntry(MSELoss, "regression"),
    "l1": LossEntry(L1Loss, "regression"),
    "huber": LossEntry(HuberLoss, "regression"),
    "smooth-l1": LossEntry(SmoothL1Loss, "regression"),
}
