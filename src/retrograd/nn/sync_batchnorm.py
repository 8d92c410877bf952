"""``SyncBatchNorm``: batch normalisation over the global batch of a data-parallel job.

Each rank holds a share of every global batch. Plain :class:`BatchNorm1d`
would normalise each share with its own statistics, so K ranks would train a
different model from one process (and a share of one row could not be
normalised at all). :class:`SyncBatchNorm` sums the shares' statistics over
the ranks, so that every rank normalises with the mean and variance one
process computes on the whole batch, in the forward pass and in the
backward pass, as ``torch.nn.SyncBatchNorm``.

The gradient convention is :class:`~retrograd.distributed.DistributedDataParallel`'s:
rank ``r`` backpropagates the mean loss over its ``n_r`` rows, and the
ranks' gradients are averaged with weights ``n_r / N``. With ``gh = g * w``
and ``f = n_r / N``, the backward pass sums ``f * sum(gh)`` and
``f * sum(gh * xhat)`` over the ranks (one Allreduce) into ``S1`` and ``S2``,
the sums one process would see; then, in rank ``r``'s units::

    dx = invstd * gh - invstd / n_r * (S1 + xhat * S2)

which for one rank is BatchNorm's ``invstd/m * (m*gh - sum(gh) - xhat*sum(gh*xhat))``.
Weight and bias gradients are the rank's own sums; the DDP weighting then
makes them the global ones.

The ranks come from :data:`default_group`, which :mod:`retrograd.distributed`
sets to the ranks of its :func:`~retrograd.distributed.init` (this module
sits below it and does not import it). In one process (or before ``init``)
it is ``BatchNorm1d``, to the bit. In evaluation mode it uses the running statistics, which
are the same on every rank (they follow the global batch statistics).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from .._backend import ndarray
from ..autograd import no_grad
from ..tensor import Tensor, apply_op
from .batchnorm import BatchNorm1d
from .module import Module

__all__ = ["SyncBatchNorm", "default_group"]


class _OneProcess:
    """The group of a single process: a sum over the ranks is the values themselves."""

    size = 1

    @staticmethod
    def all_sum(values: Any) -> np.ndarray:
        return np.asarray(values, dtype=np.float64)


#: What SyncBatchNorm sums over: ``size`` and ``all_sum(values) -> float64 array``.
#: ``retrograd.distributed`` replaces it with the ranks of its ``init()``.
default_group: Any = _OneProcess()


class _SyncBatchNormOp(ops.BatchNorm):
    """BatchNorm with global batch statistics; the backward pass sums over the ranks.

    ``local`` and ``total`` are this rank's and every rank's elements per channel.
    """

    local: int
    total: int

    def backward(self, g: ndarray) -> tuple[ndarray | None, ...]:
        if default_group.size == 1:  # one process: BatchNorm's arithmetic, to the last bit
            return super().backward(g)
        xhat, invstd, axes = self.xhat, self.invstd, self.axes
        gx = None
        if self.needs[0]:
            gh = g * self.w.reshape(self.bshape) if self.has_weight else g
            f = self.local / self.total
            c = xhat.shape[1]
            local = np.concatenate([gh.sum(axis=axes) * f, (gh * xhat).sum(axis=axes) * f])
            sums = default_group.all_sum(local).astype(xhat.dtype, copy=False)
            s1, s2 = sums[:c].reshape(self.bshape), sums[c:].reshape(self.bshape)
            gx = invstd * gh - (invstd / max(self.local, 1)) * (s1 + xhat * s2)
        # The weight's and bias's gradients are this rank's sums (DDP weighs and adds them).
        grads: list[ndarray | None] = [gx]
        if self.has_weight:
            grads.append((g * xhat).sum(axis=axes) if self.needs[1] else None)
        if self.has_bias:
            grads.append(g.sum(axis=axes) if self.needs[len(grads)] else None)
        return tuple(grads)

    def backward_graph(self, g: Any) -> tuple[Any, ...]:
        if default_group.size > 1:  # the recorded gradient would use this rank's rows alone
            raise NotImplementedError(
                "SyncBatchNorm: backward(create_graph=True) over several ranks is not "
                f"supported (the group has {default_group.size} ranks); use BatchNorm1d there"
            )
        return super().backward_graph(g)


class SyncBatchNorm(BatchNorm1d):
    """``BatchNorm1d`` whose training statistics are those of the global batch over all ranks.

    As ``torch.nn.SyncBatchNorm``: the same parameters, buffers and state
    dict as :class:`BatchNorm1d`; in training each forward call sums the
    ranks' per-channel sums (two Allreduces: the mean, then the centred
    squares) and the backward call one more. Every rank must call it the
    same number of times, a rank with no rows included. Running statistics
    are updated with the global mean and unbiased variance, so they stay
    equal on every rank.

    Parameters
    ----------
    num_features, eps, momentum, affine, track_running_stats
        As :class:`BatchNorm1d`; so are the keywords ``device``, ``dtype`` and ``bias``.
    process_group : None
        Accepted for PyTorch compatibility; the group is every rank of
        :func:`retrograd.distributed.init`.

    Shape
    -----
    input (N, C) or (N, C, L) -> output of the same shape; N may be 0 on some ranks.
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        process_group: Any = None,
        **kwargs: Any,
    ) -> None:
        if process_group is not None:
            raise ValueError(
                "SyncBatchNorm: process_group must be None (every rank of the job); "
                f"got {process_group!r}"
            )
        super().__init__(num_features, eps, momentum, affine, track_running_stats, **kwargs)

    def forward(self, input: Tensor) -> Tensor:
        if not self.training:
            return super().forward(input)
        self._check_input(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats:
            self.num_batches_tracked.array[...] += 1
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked.array)
        x = input.array
        c = x.shape[1]
        axes = (0, *range(2, x.ndim))
        local = x.size // c
        if default_group.size == 1:  # BatchNorm1d's arithmetic, to the last bit
            total = local
            mean = x.mean(axis=axes) if total > 1 else None
        else:  # the sums of every rank's rows, in float64, then the two-pass variance
            first = default_group.all_sum([*x.sum(axis=axes).tolist(), local])
            total = int(first[-1])
            mean = (first[:c] / total).astype(x.dtype)
        if total <= 1:
            raise ValueError(
                f"{self!r}: expected more than 1 value per channel over all ranks when "
                f"training, got {total} (this rank's input has shape {tuple(input.shape)})"
            )
        xc = x - np.expand_dims(mean, axes)
        if default_group.size == 1:
            var = (xc * xc).mean(axis=axes)
        else:
            var = (default_group.all_sum((xc * xc).sum(axis=axes)) / total).astype(x.dtype)
        if self.track_running_stats:
            with no_grad():
                rm, rv = self.running_mean.array, self.running_var.array
                rm[...] = (1 - factor) * rm + factor * mean
                rv[...] = (1 - factor) * rv + factor * var * (total / (total - 1))
        params = [t for t in (self.weight, self.bias) if t is not None]
        return apply_op(
            _SyncBatchNormOp,
            input,
            *params,
            mean=mean,
            var=var,
            batch=True,
            has_weight=self.weight is not None,
            has_bias=self.bias is not None,
            eps=float(self.eps),
            local=local,
            total=total,
        )

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group: Any = None) -> Module:
        """``module`` with every ``BatchNorm1d`` in it replaced by an equal ``SyncBatchNorm``.

        As PyTorch's: the parameters and buffers are carried over (the same
        Tensors), and so is the training mode. Containers are changed in place
        and returned; a ``BatchNorm1d`` given itself gives its replacement.
        """
        out = module
        if isinstance(module, BatchNorm1d) and not isinstance(module, SyncBatchNorm):
            out = cls(
                module.num_features,
                module.eps,
                module.momentum,
                module.affine,
                module.track_running_stats,
                process_group,
                bias=module.bias is not None or not module.affine,
            )
            for name, p in module.named_parameters(recurse=False):
                setattr(out, name, p)
            for name, b in module.named_buffers(recurse=False):
                out._buffers[name] = b
            out.train(module.training)
        for name, child in list(module._modules.items()):
            if child is not None:
                out._modules[name] = cls.convert_sync_batchnorm(child, process_group)
        return out
